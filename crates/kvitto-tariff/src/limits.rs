//! Every bound the engine enforces, in one place.
//!
//! A tariff or CDR that exceeds one of these is rejected with an error, never truncated. The
//! bounds are far above anything a real charge point produces; they exist so that a hostile or
//! broken peer cannot make the engine allocate or compute without limit.

/// Largest OCPI JSON document (tariff or CDR) the parsers accept, in bytes.
pub const MAX_JSON_BYTES: usize = 1 << 20;

/// Deepest nesting of JSON objects and arrays the parsers accept.
pub const MAX_JSON_DEPTH: usize = 16;

/// Tariff elements per tariff (hourly prices for a week are 168).
pub const MAX_ELEMENTS: usize = 1024;

/// Price components per tariff element (OCPI has four dimensions).
pub const MAX_PRICE_COMPONENTS: usize = 16;

/// Entries in `tariff_alt_text`.
pub const MAX_ALT_TEXTS: usize = 64;

/// Entries in a restriction's `day_of_week` list.
pub const MAX_DAYS_OF_WEEK: usize = 7;

/// Tariffs embedded in one CDR.
pub const MAX_TARIFFS_PER_CDR: usize = 16;

/// Charging periods in one CDR, parsed or built.
pub const MAX_CHARGING_PERIODS: usize = 200_000;

/// Dimensions in one charging period.
pub const MAX_DIMENSIONS_PER_PERIOD: usize = 32;

/// Signed values in a CDR's `signed_data`.
pub const MAX_SIGNED_VALUES: usize = 100_000;

/// Meter samples in one session.
pub const MAX_SAMPLES: usize = 100_000;

/// Longest session (plug-in to plug-out): 31 days.
pub const MAX_SESSION_MS: i64 = 31 * 24 * 3_600_000;

/// Longest reservation: 7 days.
pub const MAX_RESERVATION_MS: i64 = 7 * 24 * 3_600_000;

/// Largest energy in one session: 10 MWh.
pub const MAX_SESSION_ENERGY_WH: u64 = 10_000_000;

/// Largest unit price (and min/max price) accepted in a tariff, in currency units.
pub const MAX_UNIT_PRICE: i64 = 1_000_000;

/// Largest VAT percentage accepted in a price component.
pub const MAX_VAT_PERCENT: i64 = 100;

// Money is accumulated as `price × volume × factor` before a single division (see `money`).
// Keep those products below 10^24 so at least four of rust_decimal's 28 digits remain for the
// fractional digits of price, volume and VAT, and the sums stay exact.
const _: () = assert!(
    (MAX_SESSION_MS as i128) * (MAX_UNIT_PRICE as i128) * (100 + MAX_VAT_PERCENT as i128)
        < 10i128.pow(24)
);
const _: () = assert!(
    (MAX_SESSION_ENERGY_WH as i128)
        * 3_600
        * (MAX_UNIT_PRICE as i128)
        * (100 + MAX_VAT_PERCENT as i128)
        < 10i128.pow(24)
);
// Every sample interval can become at least one charging period.
const _: () = assert!(MAX_SAMPLES < MAX_CHARGING_PERIODS);
const _: () = assert!(MAX_RESERVATION_MS <= MAX_SESSION_MS);
