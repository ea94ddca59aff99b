//! `kvitto-tariff`: the OCPI 2.2.1 tariff engine of the kvitto settlement node.
//!
//! **What it is for.** Turning a closed charging session, given as the meter's samples, into a
//! price and an OCPI 2.2.1 CDR under an OCPI tariff; re-pricing the charging periods of an
//! existing CDR; explaining a price line by line for a driver's receipt; and linting tariffs.
//! It covers every tariff dimension (`ENERGY`, `FLAT`, `TIME`, `PARKING_TIME`, reservation time),
//! every restriction (local time windows across midnight and daylight-saving changes, dates,
//! weekdays, kWh, current, power, duration, reservations), `step_size` as the OCPI 2.2.1 bug-fix
//! text defines it, VAT per component, `min_price`/`max_price`, and a rounding rule that is an
//! explicit, per-contract input (see [`rounding`]). The algorithm is specified in
//! `specs/billing.md` precisely enough to re-implement to the cent.
//!
//! **What it is not for.** It does no IO: no files, no network, no clock (times are arguments),
//! no storage, no async runtime. It does not verify meter signatures (signed readings are carried
//! into the CDR as the caller encoded them), does not choose which tariff applies to a session
//! (the caller passes it, possibly via [`TariffSet::for_counterparty`]), does not price energy fed
//! back to the grid, and does not speak OCPI's HTTP modules.
//!
//! Money is [`rust_decimal::Decimal`] at the OCPI boundary and exact inside (see `money`); the
//! ledger gets integer minor units ([`Totals::total_incl_vat_minor`]). JSON numbers are read from
//! their text, never through `f64`.
//!
//! # Entry points
//!
//! * [`parse_tariff`], [`parse_cdr`]: strict parsers; errors name the field by path, unknown
//!   fields are returned.
//! * [`SessionInput::validate`] → [`ClosedSession`]; then [`price_session`] → [`Totals`],
//!   [`explain`] → [`Breakdown`] (a receipt via `Display`), [`Cdr::from_session`] → [`Cdr`].
//! * [`Cdr::credit`]: the credit CDR for a CDR.
//! * [`price_cdr_periods`] / [`explain_cdr`]: price an existing CDR's periods.
//! * [`lint`]: static checks of a tariff.
//! * [`TariffSet`]: one tariff id with per-eMSP variants.

mod breakdown;
mod cdr;
mod engine;
mod error;
mod json;
pub mod limits;
mod lint;
mod money;
mod period;
mod pricing;
mod reprice;
pub mod rounding;
mod session;
mod split;
mod tariff;
mod tariff_set;

pub use breakdown::{
    Breakdown, BreakdownLine, CapAdjustment, LineDimension, PriceCap, Quantity, Totals,
};
pub use cdr::{
    parse_cdr, AuthMethod, Cdr, CdrContext, CdrDimension, CdrDimensionType, CdrError, CdrLocation,
    CdrToken, ChargingPeriod, GeoLocation, SignedData, SignedValue, TokenType,
};
pub use engine::{explain, price_session};
pub use error::PriceError;
pub use json::{OpaqueJson, ParseError, Parsed};
pub use lint::{lint, LintFinding, LintKind, Severity};
pub use reprice::{explain_cdr, price_cdr_periods, CdrPricing};
pub use rounding::{RoundingMode, RoundingRule, RoundingScope, UnknownCurrency};
pub use session::{ClosedSession, MeterSample, Reservation, SessionError, SessionInput};
pub use tariff::{
    parse_tariff, DayOfWeek, DisplayText, Price, PriceComponent, ReservationRestrictionType,
    Tariff, TariffDimensionType, TariffElement, TariffRestrictions, TariffType, TimeOfDay,
};
pub use tariff_set::{InvalidPartyId, PartyId, TariffSet, TariffSetError};
