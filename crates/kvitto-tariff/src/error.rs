//! Errors of the pricing functions.

use chrono::{DateTime, Utc};

use crate::rounding::UnknownCurrency;

/// Why a session or CDR could not be priced.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PriceError {
    /// The tariff's `start_date_time..=end_date_time` does not contain the session start.
    #[error("tariff {tariff_id} is not active at {at}")]
    TariffNotActive {
        /// The tariff.
        tariff_id: String,
        /// The session (or reservation) start.
        at: DateTime<Utc>,
    },
    /// The tariff and the CDR use different currencies.
    #[error("tariff currency {tariff} differs from CDR currency {cdr}")]
    CurrencyMismatch {
        /// Tariff currency.
        tariff: String,
        /// CDR currency.
        cdr: String,
    },
    /// A CDR period names a tariff that is neither given nor embedded in the CDR.
    #[error(
        "charging_periods[{period}] refers to tariff {tariff_id}, which the CDR does not embed"
    )]
    UnknownTariff {
        /// Index of the period.
        period: usize,
        /// The missing tariff id.
        tariff_id: String,
    },
    /// A restriction on current must be evaluated but the current is not known.
    #[error("the tariff restricts current, but the current at {at} is unknown (samples need current_a, CDR periods MIN_CURRENT/MAX_CURRENT)")]
    UnknownCurrent {
        /// Start of the period.
        at: DateTime<Utc>,
    },
    /// A restriction on power must be evaluated but the power is not known.
    #[error("the tariff restricts power, but the power at {at} is unknown (CDR periods need MIN_POWER/MAX_POWER or ENERGY and TIME)")]
    UnknownPower {
        /// Start of the period.
        at: DateTime<Utc>,
    },
    /// CDR periods are not in time order or lie after the CDR end.
    #[error("charging_periods[{period}] starts before the previous period or after the CDR end")]
    PeriodsNotOrdered {
        /// Index of the period.
        period: usize,
    },
    /// A CDR dimension has a negative volume (energy fed back is not priced).
    #[error("charging_periods[{period}] has a negative {dimension} volume")]
    NegativeVolume {
        /// Index of the period.
        period: usize,
        /// The dimension.
        dimension: String,
    },
    /// A CDR dimension's volume exceeds what one session can hold (31 days, 10 MWh).
    #[error(
        "charging_periods[{period}] has a {dimension} volume beyond the limits of one session"
    )]
    VolumeTooLarge {
        /// Index of the period.
        period: usize,
        /// The dimension.
        dimension: String,
    },
    /// The currency has no known minor unit.
    #[error(transparent)]
    UnknownCurrency(#[from] UnknownCurrency),
    /// Amounts left the range of exact decimal arithmetic.
    #[error("amount out of range for exact decimal arithmetic")]
    Overflow,
}

impl From<crate::money::Overflow> for PriceError {
    fn from(_: crate::money::Overflow) -> PriceError {
        PriceError::Overflow
    }
}
