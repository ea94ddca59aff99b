//! OCPI 2.2.1 `Tariff` and its parts, with a strict parser.
//!
//! Values are constructed only by [`parse_tariff`], so every `Tariff` in memory satisfies the
//! rules of the specification that can be checked field by field (step sizes, time and date
//! formats, enum spellings, non-empty lists). Rules that relate fields to each other, such as
//! `min_kwh < max_kwh`, are reported by [`crate::lint`] instead, because OCPI does not forbid
//! them and real tariffs contain them.

use std::fmt;

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::Serialize;

use crate::json::{self, ocpi_enum, Obj, OpaqueJson, ParseError, Parsed, Value};
use crate::limits::{
    MAX_ALT_TEXTS, MAX_DAYS_OF_WEEK, MAX_ELEMENTS, MAX_PRICE_COMPONENTS, MAX_UNIT_PRICE,
    MAX_VAT_PERCENT,
};

ocpi_enum! {
    /// OCPI `TariffType`: which kind of session a tariff is meant for.
    TariffType {
        /// Payment at the charge point (card terminal).
        AdHocPayment = "AD_HOC_PAYMENT",
        /// Charging preference CHEAP.
        ProfileCheap = "PROFILE_CHEAP",
        /// Charging preference FAST.
        ProfileFast = "PROFILE_FAST",
        /// Charging preference GREEN.
        ProfileGreen = "PROFILE_GREEN",
        /// RFID without preference, or preference REGULAR.
        Regular = "REGULAR",
    }
}

ocpi_enum! {
    /// OCPI `TariffDimensionType`: what a price component prices.
    TariffDimensionType {
        /// Energy, priced per kWh; `step_size` in Wh.
        Energy = "ENERGY",
        /// A fixed fee, once per session.
        Flat = "FLAT",
        /// Time not charging, priced per hour; `step_size` in seconds.
        ParkingTime = "PARKING_TIME",
        /// Time charging (or reserved, under a reservation restriction), priced per hour;
        /// `step_size` in seconds.
        Time = "TIME",
    }
}

ocpi_enum! {
    /// OCPI `DayOfWeek`.
    DayOfWeek {
        /// Monday.
        Monday = "MONDAY",
        /// Tuesday.
        Tuesday = "TUESDAY",
        /// Wednesday.
        Wednesday = "WEDNESDAY",
        /// Thursday.
        Thursday = "THURSDAY",
        /// Friday.
        Friday = "FRIDAY",
        /// Saturday.
        Saturday = "SATURDAY",
        /// Sunday.
        Sunday = "SUNDAY",
    }
}

impl DayOfWeek {
    /// The OCPI day for a chrono weekday.
    pub fn from_weekday(day: chrono::Weekday) -> DayOfWeek {
        match day {
            chrono::Weekday::Mon => DayOfWeek::Monday,
            chrono::Weekday::Tue => DayOfWeek::Tuesday,
            chrono::Weekday::Wed => DayOfWeek::Wednesday,
            chrono::Weekday::Thu => DayOfWeek::Thursday,
            chrono::Weekday::Fri => DayOfWeek::Friday,
            chrono::Weekday::Sat => DayOfWeek::Saturday,
            chrono::Weekday::Sun => DayOfWeek::Sunday,
        }
    }
}

ocpi_enum! {
    /// OCPI `ReservationRestrictionType`.
    ReservationRestrictionType {
        /// The element prices a reservation (whether or not it expires).
        Reservation = "RESERVATION",
        /// The element prices a reservation that expired without a charging session.
        ReservationExpires = "RESERVATION_EXPIRES",
    }
}

/// OCPI `Price`: an amount excluding and (optionally) including VAT.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Price {
    /// Amount excluding VAT.
    #[serde(serialize_with = "json::write_decimal")]
    pub excl_vat: Decimal,
    /// Amount including VAT, when known.
    #[serde(
        serialize_with = "json::write_opt_decimal",
        skip_serializing_if = "Option::is_none"
    )]
    pub incl_vat: Option<Decimal>,
}

impl Price {
    /// Reads a tariff's `Price`: amounts between zero and [`MAX_UNIT_PRICE`].
    pub(crate) fn read(
        value: &Value<'_>,
        path: &str,
        unknown: &mut Vec<String>,
    ) -> Result<Price, ParseError> {
        Price::read_amounts(value, path, unknown, json::non_negative(MAX_UNIT_PRICE))
    }

    /// Reads a `Price` that may be negative (a credit CDR's total).
    pub(crate) fn read_signed(
        value: &Value<'_>,
        path: &str,
        unknown: &mut Vec<String>,
    ) -> Result<Price, ParseError> {
        Price::read_amounts(value, path, unknown, json::decimal)
    }

    /// The one shape of a `Price` object; `amount` reads both amounts and decides their range.
    fn read_amounts(
        value: &Value<'_>,
        path: &str,
        unknown: &mut Vec<String>,
        amount: impl Fn(&Value<'_>, &str) -> Result<Decimal, ParseError>,
    ) -> Result<Price, ParseError> {
        let mut obj = Obj::new(value, path)?;
        let price = Price {
            excl_vat: obj.req("excl_vat", &amount)?,
            incl_vat: obj.opt("incl_vat", &amount)?,
        };
        obj.finish(unknown);
        Ok(price)
    }
}

/// OCPI `DisplayText`: a text in one language.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DisplayText {
    /// ISO 639-1 language code.
    pub language: String,
    /// The text, at most 512 characters.
    pub text: String,
}

impl DisplayText {
    fn read(
        value: &Value<'_>,
        path: &str,
        unknown: &mut Vec<String>,
    ) -> Result<DisplayText, ParseError> {
        let mut obj = Obj::new(value, path)?;
        let language = obj.req("language", json::text(2))?;
        if language.len() != 2 {
            return Err(ParseError::field(
                json::join(path, "language"),
                "expected an ISO 639-1 language code of two letters",
            ));
        }
        let text = obj.req("text", json::text(512))?;
        obj.finish(unknown);
        Ok(DisplayText { language, text })
    }
}

/// A time of day in a restriction, `HH:MM` in the location's local time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TimeOfDay {
    minutes: u16,
}

impl TimeOfDay {
    /// Midnight, `00:00`.
    pub const MIDNIGHT: TimeOfDay = TimeOfDay { minutes: 0 };

    /// `hour:minute`; `None` unless `hour < 24` and `minute < 60`.
    pub fn new(hour: u16, minute: u16) -> Option<TimeOfDay> {
        (hour < 24 && minute < 60).then_some(TimeOfDay {
            minutes: hour * 60 + minute,
        })
    }

    /// Minutes since midnight, `0..1440`.
    pub fn minutes(self) -> u16 {
        self.minutes
    }

    /// The chrono time.
    pub fn to_naive(self) -> chrono::NaiveTime {
        // Cannot fail: `minutes < 1440` by construction, so the hour is below 24.
        chrono::NaiveTime::from_hms_opt(
            u32::from(self.minutes / 60),
            u32::from(self.minutes % 60),
            0,
        )
        .unwrap_or(chrono::NaiveTime::MIN)
    }

    fn parse(s: &str) -> Option<TimeOfDay> {
        let b = s.as_bytes();
        if b.len() != 5
            || b[2] != b':'
            || !b
                .iter()
                .enumerate()
                .all(|(i, c)| i == 2 || c.is_ascii_digit())
        {
            return None;
        }
        let digit = |i: usize| u16::from(b[i] - b'0');
        TimeOfDay::new(digit(0) * 10 + digit(1), digit(3) * 10 + digit(4))
    }

    fn read(value: &Value<'_>, path: &str) -> Result<TimeOfDay, ParseError> {
        let s = json::string(value, path)?;
        TimeOfDay::parse(&s).ok_or_else(|| {
            ParseError::field(
                path,
                "expected a 24h time of day like 13:30 (00:00 to 23:59)",
            )
        })
    }
}

impl fmt::Display for TimeOfDay {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02}:{:02}", self.minutes / 60, self.minutes % 60)
    }
}

impl Serialize for TimeOfDay {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

fn write_date<S: serde::Serializer>(d: &Option<NaiveDate>, s: S) -> Result<S::Ok, S::Error> {
    match d {
        Some(d) => s.collect_str(&d.format("%Y-%m-%d")),
        None => s.serialize_none(),
    }
}

/// OCPI `TariffRestrictions`: when a tariff element applies. All set fields must match (AND).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct TariffRestrictions {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) start_time: Option<TimeOfDay>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) end_time: Option<TimeOfDay>,
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "write_date")]
    pub(crate) start_date: Option<NaiveDate>,
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "write_date")]
    pub(crate) end_date: Option<NaiveDate>,
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "json::write_opt_decimal"
    )]
    pub(crate) min_kwh: Option<Decimal>,
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "json::write_opt_decimal"
    )]
    pub(crate) max_kwh: Option<Decimal>,
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "json::write_opt_decimal"
    )]
    pub(crate) min_current: Option<Decimal>,
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "json::write_opt_decimal"
    )]
    pub(crate) max_current: Option<Decimal>,
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "json::write_opt_decimal"
    )]
    pub(crate) min_power: Option<Decimal>,
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "json::write_opt_decimal"
    )]
    pub(crate) max_power: Option<Decimal>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) min_duration: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) max_duration: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) day_of_week: Option<Vec<DayOfWeek>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) reservation: Option<ReservationRestrictionType>,
}

/// Largest restriction number accepted (kWh, A, kW).
const MAX_RESTRICTION_QUANTITY: i64 = 1_000_000_000;
/// Largest duration restriction accepted, in seconds (100 years).
const MAX_RESTRICTION_SECONDS: u64 = 100 * 366 * 86_400;

impl TariffRestrictions {
    /// `start_time`: the element applies from this local time of day.
    pub fn start_time(&self) -> Option<TimeOfDay> {
        self.start_time
    }
    /// `end_time`: the element applies until this local time of day (exclusive; `00:00` means
    /// the end of the day).
    pub fn end_time(&self) -> Option<TimeOfDay> {
        self.end_time
    }
    /// `start_date`: first local date (inclusive).
    pub fn start_date(&self) -> Option<NaiveDate> {
        self.start_date
    }
    /// `end_date`: last local date (exclusive).
    pub fn end_date(&self) -> Option<NaiveDate> {
        self.end_date
    }
    /// `min_kwh`: energy consumed so far, inclusive.
    pub fn min_kwh(&self) -> Option<Decimal> {
        self.min_kwh
    }
    /// `max_kwh`: energy consumed so far, exclusive.
    pub fn max_kwh(&self) -> Option<Decimal> {
        self.max_kwh
    }
    /// `min_current`: charging current in A, inclusive.
    pub fn min_current(&self) -> Option<Decimal> {
        self.min_current
    }
    /// `max_current`: charging current in A, exclusive.
    pub fn max_current(&self) -> Option<Decimal> {
        self.max_current
    }
    /// `min_power`: charging power in kW, inclusive.
    pub fn min_power(&self) -> Option<Decimal> {
        self.min_power
    }
    /// `max_power`: charging power in kW, exclusive.
    pub fn max_power(&self) -> Option<Decimal> {
        self.max_power
    }
    /// `min_duration`: session duration so far in seconds, inclusive.
    pub fn min_duration_s(&self) -> Option<u64> {
        self.min_duration
    }
    /// `max_duration`: session duration so far in seconds, exclusive.
    pub fn max_duration_s(&self) -> Option<u64> {
        self.max_duration
    }
    /// `day_of_week`: local days on which the element applies (`Some(empty)` never matches).
    pub fn day_of_week(&self) -> Option<&[DayOfWeek]> {
        self.day_of_week.as_deref()
    }
    /// `reservation`: the element prices a reservation rather than a charging session.
    pub fn reservation(&self) -> Option<ReservationRestrictionType> {
        self.reservation
    }

    /// True when no restriction is set, so the element always applies (outside reservations).
    pub fn is_empty(&self) -> bool {
        *self == TariffRestrictions::default()
    }

    /// True when a restriction depends on the local wall-clock time or date.
    pub(crate) fn uses_local_time(&self) -> bool {
        self.start_time.is_some()
            || self.end_time.is_some()
            || self.start_date.is_some()
            || self.end_date.is_some()
            || self.day_of_week.is_some()
    }

    fn read(
        value: &Value<'_>,
        path: &str,
        unknown: &mut Vec<String>,
    ) -> Result<TariffRestrictions, ParseError> {
        let mut obj = Obj::new(value, path)?;
        let quantity = json::non_negative(MAX_RESTRICTION_QUANTITY);
        let seconds = |v: &Value<'_>, p: &str| json::integer(v, p, 0, MAX_RESTRICTION_SECONDS);
        let restrictions = TariffRestrictions {
            start_time: obj.opt("start_time", TimeOfDay::read)?,
            end_time: obj.opt("end_time", TimeOfDay::read)?,
            start_date: obj.opt("start_date", json::date)?,
            end_date: obj.opt("end_date", json::date)?,
            min_kwh: obj.opt("min_kwh", &quantity)?,
            max_kwh: obj.opt("max_kwh", &quantity)?,
            min_current: obj.opt("min_current", &quantity)?,
            max_current: obj.opt("max_current", &quantity)?,
            min_power: obj.opt("min_power", &quantity)?,
            max_power: obj.opt("max_power", &quantity)?,
            min_duration: obj.opt("min_duration", seconds)?,
            max_duration: obj.opt("max_duration", seconds)?,
            day_of_week: obj.opt("day_of_week", |v, p| {
                json::array(v, p, MAX_DAYS_OF_WEEK, DayOfWeek::read)
            })?,
            reservation: obj.opt("reservation", ReservationRestrictionType::read)?,
        };
        obj.finish(unknown);
        Ok(restrictions)
    }
}

/// OCPI `PriceComponent`: the price of one dimension.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PriceComponent {
    #[serde(rename = "type")]
    pub(crate) dimension: TariffDimensionType,
    #[serde(serialize_with = "json::write_decimal")]
    pub(crate) price: Decimal,
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "json::write_opt_decimal"
    )]
    pub(crate) vat: Option<Decimal>,
    pub(crate) step_size: u32,
}

impl PriceComponent {
    /// The dimension priced (`type` in OCPI).
    pub fn dimension(&self) -> TariffDimensionType {
        self.dimension
    }
    /// Price per unit excluding VAT: per kWh, per hour, or per session for `FLAT`.
    pub fn price(&self) -> Decimal {
        self.price
    }
    /// VAT percentage; `None` means VAT is not applicable (not the same as 0 %).
    pub fn vat(&self) -> Option<Decimal> {
        self.vat
    }
    /// Billing block: Wh for `ENERGY`, seconds for `TIME` and `PARKING_TIME`; unused for `FLAT`.
    pub fn step_size(&self) -> u32 {
        self.step_size
    }

    fn read(
        value: &Value<'_>,
        path: &str,
        unknown: &mut Vec<String>,
    ) -> Result<PriceComponent, ParseError> {
        let mut obj = Obj::new(value, path)?;
        let dimension = obj.req("type", TariffDimensionType::read)?;
        let price = obj.req("price", json::non_negative(MAX_UNIT_PRICE))?;
        let vat = obj.opt("vat", json::non_negative(MAX_VAT_PERCENT))?;
        // FLAT has no unit for step_size, and the specification's own free-of-charge example
        // uses 0 there; every other dimension needs a block of at least one unit.
        let min_step = if dimension == TariffDimensionType::Flat {
            0
        } else {
            1
        };
        let step_size = obj.req("step_size", |v, p| {
            json::integer(v, p, min_step, u64::from(u32::MAX))
        })?;
        obj.finish(unknown);
        Ok(PriceComponent {
            dimension,
            price,
            vat,
            // Cannot fail: `integer` was bounded by `u32::MAX`.
            step_size: u32::try_from(step_size).unwrap_or(u32::MAX),
        })
    }
}

/// OCPI `TariffElement`: price components that share restrictions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TariffElement {
    pub(crate) price_components: Vec<PriceComponent>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) restrictions: Option<TariffRestrictions>,
}

impl TariffElement {
    /// The price components, at least one.
    pub fn price_components(&self) -> &[PriceComponent] {
        &self.price_components
    }
    /// The restrictions, if any were given.
    pub fn restrictions(&self) -> Option<&TariffRestrictions> {
        self.restrictions.as_ref()
    }

    /// The first component of `dimension` in this element.
    pub fn component(&self, dimension: TariffDimensionType) -> Option<(usize, &PriceComponent)> {
        self.price_components
            .iter()
            .enumerate()
            .find(|(_, c)| c.dimension == dimension)
    }

    /// True when the element has no restrictions at all (an absent or empty object).
    pub fn is_unrestricted(&self) -> bool {
        self.restrictions
            .as_ref()
            .is_none_or(TariffRestrictions::is_empty)
    }

    /// The reservation restriction, if any.
    pub fn reservation(&self) -> Option<ReservationRestrictionType> {
        self.restrictions.as_ref().and_then(|r| r.reservation)
    }

    fn read(
        value: &Value<'_>,
        path: &str,
        unknown: &mut Vec<String>,
    ) -> Result<TariffElement, ParseError> {
        let mut obj = Obj::new(value, path)?;
        let price_components = obj.req("price_components", |v, p| {
            json::non_empty_array(v, p, MAX_PRICE_COMPONENTS, |v, p| {
                PriceComponent::read(v, p, unknown)
            })
        })?;
        let restrictions = obj.opt("restrictions", |v, p| {
            TariffRestrictions::read(v, p, unknown)
        })?;
        obj.finish(unknown);
        Ok(TariffElement {
            price_components,
            restrictions,
        })
    }
}

/// OCPI 2.2.1 `Tariff`.
///
/// Built only by [`parse_tariff`] (or [`Tariff::from_json`]); immutable afterwards.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Tariff {
    pub(crate) country_code: String,
    pub(crate) party_id: String,
    pub(crate) id: String,
    pub(crate) currency: String,
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub(crate) tariff_type: Option<TariffType>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(crate) tariff_alt_text: Vec<DisplayText>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) tariff_alt_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) min_price: Option<Price>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) max_price: Option<Price>,
    pub(crate) elements: Vec<TariffElement>,
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "json::write_opt_datetime"
    )]
    pub(crate) start_date_time: Option<DateTime<Utc>>,
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "json::write_opt_datetime"
    )]
    pub(crate) end_date_time: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) energy_mix: Option<OpaqueJson>,
    #[serde(serialize_with = "json::write_datetime")]
    pub(crate) last_updated: DateTime<Utc>,
}

impl Tariff {
    /// Parses an OCPI 2.2.1 tariff; see [`parse_tariff`].
    pub fn from_json(text: &str) -> Result<Parsed<Tariff>, ParseError> {
        parse_tariff(text)
    }

    /// The tariff as OCPI JSON. Unknown fields seen while parsing are not kept.
    pub fn to_json(&self) -> String {
        // Cannot fail: every field serialises to valid JSON (decimals and opaque parts were
        // produced by the parser or by `Decimal::to_string`).
        serde_json::to_string(self).unwrap_or_default()
    }

    /// ISO 3166 alpha-2 country code of the CPO owning the tariff.
    pub fn country_code(&self) -> &str {
        &self.country_code
    }
    /// Party id of the CPO owning the tariff.
    pub fn party_id(&self) -> &str {
        &self.party_id
    }
    /// Tariff id.
    pub fn id(&self) -> &str {
        &self.id
    }
    /// ISO 4217 currency.
    pub fn currency(&self) -> &str {
        &self.currency
    }
    /// OCPI `type`.
    pub fn tariff_type(&self) -> Option<TariffType> {
        self.tariff_type
    }
    /// Alternative texts.
    pub fn tariff_alt_text(&self) -> &[DisplayText] {
        &self.tariff_alt_text
    }
    /// Alternative URL.
    pub fn tariff_alt_url(&self) -> Option<&str> {
        self.tariff_alt_url.as_deref()
    }
    /// Minimum session price.
    pub fn min_price(&self) -> Option<Price> {
        self.min_price
    }
    /// Maximum session price.
    pub fn max_price(&self) -> Option<Price> {
        self.max_price
    }
    /// The elements, at least one.
    pub fn elements(&self) -> &[TariffElement] {
        &self.elements
    }
    /// When the tariff becomes active.
    pub fn start_date_time(&self) -> Option<DateTime<Utc>> {
        self.start_date_time
    }
    /// When the tariff stops being active.
    pub fn end_date_time(&self) -> Option<DateTime<Utc>> {
        self.end_date_time
    }
    /// The energy mix, kept as opaque JSON.
    pub fn energy_mix(&self) -> Option<&OpaqueJson> {
        self.energy_mix.as_ref()
    }
    /// Last update.
    pub fn last_updated(&self) -> DateTime<Utc> {
        self.last_updated
    }

    /// True when `at` lies within `start_date_time..=end_date_time`.
    pub fn is_active_at(&self, at: DateTime<Utc>) -> bool {
        self.start_date_time.is_none_or(|start| start <= at)
            && self.end_date_time.is_none_or(|end| at <= end)
    }

    pub(crate) fn read(
        value: &Value<'_>,
        path: &str,
        unknown: &mut Vec<String>,
    ) -> Result<Tariff, ParseError> {
        let mut obj = Obj::new(value, path)?;
        let tariff = Tariff {
            country_code: obj.req("country_code", json::ci_string(2))?,
            party_id: obj.req("party_id", json::ci_string(3))?,
            id: obj.req("id", json::ci_string(36))?,
            currency: obj.req("currency", json::currency)?,
            tariff_type: obj.opt("type", TariffType::read)?,
            tariff_alt_text: obj
                .opt("tariff_alt_text", |v, p| {
                    json::array(v, p, MAX_ALT_TEXTS, |v, p| DisplayText::read(v, p, unknown))
                })?
                .unwrap_or_default(),
            tariff_alt_url: obj.opt("tariff_alt_url", json::text(255))?,
            min_price: obj.opt("min_price", |v, p| Price::read(v, p, unknown))?,
            max_price: obj.opt("max_price", |v, p| Price::read(v, p, unknown))?,
            elements: obj.req("elements", |v, p| {
                json::non_empty_array(v, p, MAX_ELEMENTS, |v, p| {
                    TariffElement::read(v, p, unknown)
                })
            })?,
            start_date_time: obj.opt("start_date_time", json::datetime)?,
            end_date_time: obj.opt("end_date_time", json::datetime)?,
            energy_mix: obj.opt("energy_mix", json::opaque)?,
            last_updated: obj.req("last_updated", json::datetime)?,
        };
        obj.finish(unknown);
        Ok(tariff)
    }
}

/// Parses an OCPI 2.2.1 tariff strictly.
///
/// Every field is checked against the specification; the first violation is returned as an error
/// naming the field by path. Unknown fields are accepted and listed in
/// [`Parsed::unknown_fields`]. Numbers are read from their JSON text, never through `f64`.
pub fn parse_tariff(text: &str) -> Result<Parsed<Tariff>, ParseError> {
    json::parse_strict(text, Tariff::read)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_of_day_parses_24h_with_leading_zeros() {
        assert_eq!(TimeOfDay::parse("00:00"), Some(TimeOfDay::MIDNIGHT));
        assert_eq!(
            TimeOfDay::parse("23:59").map(TimeOfDay::minutes),
            Some(1439)
        );
        for bad in ["24:00", "7:30", "07:60", "07-30", "07:3a"] {
            assert_eq!(TimeOfDay::parse(bad), None, "{bad}");
        }
    }
}
