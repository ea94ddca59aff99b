//! OCPI 2.2.1 `CDR`: building one from a priced session, crediting one, and a strict parser.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::Serialize;

use crate::engine::price_session_periods;
use crate::error::PriceError;
use crate::json::{self, ocpi_enum, Obj, ParseError, Parsed, Value};
use crate::limits::{
    MAX_CHARGING_PERIODS, MAX_DIMENSIONS_PER_PERIOD, MAX_SIGNED_VALUES, MAX_TARIFFS_PER_CDR,
};
use crate::period::{Kind, Period};
use crate::pricing::{ms_to_hours, wh_to_kwh};
use crate::rounding::RoundingRule;
use crate::session::ClosedSession;
use crate::tariff::{Price, Tariff};

ocpi_enum! {
    /// OCPI `AuthMethod`.
    AuthMethod {
        /// Authorisation request to the eMSP.
        AuthRequest = "AUTH_REQUEST",
        /// A command (StartSession, ReserveNow).
        Command = "COMMAND",
        /// Whitelist, no request to the eMSP.
        Whitelist = "WHITELIST",
    }
}

ocpi_enum! {
    /// OCPI `TokenType`.
    TokenType {
        /// One-time ad-hoc user.
        AdHocUser = "AD_HOC_USER",
        /// App user.
        AppUser = "APP_USER",
        /// Other.
        Other = "OTHER",
        /// RFID card.
        Rfid = "RFID",
    }
}

ocpi_enum! {
    /// OCPI `CdrDimensionType`.
    CdrDimensionType {
        /// Average current (sessions only).
        Current = "CURRENT",
        /// Energy, kWh.
        Energy = "ENERGY",
        /// Energy exported (sessions only).
        EnergyExport = "ENERGY_EXPORT",
        /// Energy imported (sessions only).
        EnergyImport = "ENERGY_IMPORT",
        /// Maximum current, A.
        MaxCurrent = "MAX_CURRENT",
        /// Minimum current, A.
        MinCurrent = "MIN_CURRENT",
        /// Maximum power, kW.
        MaxPower = "MAX_POWER",
        /// Minimum power, kW.
        MinPower = "MIN_POWER",
        /// Parking time, hours.
        ParkingTime = "PARKING_TIME",
        /// Average power (sessions only).
        Power = "POWER",
        /// Reservation time, hours.
        ReservationTime = "RESERVATION_TIME",
        /// State of charge (sessions only).
        StateOfCharge = "STATE_OF_CHARGE",
        /// Charging time, hours.
        Time = "TIME",
    }
}

/// OCPI `CdrToken`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CdrToken {
    /// Country of the eMSP owning the token.
    pub country_code: String,
    /// Party id of the eMSP owning the token.
    pub party_id: String,
    /// Token uid.
    pub uid: String,
    /// Token type.
    #[serde(rename = "type")]
    pub token_type: TokenType,
    /// Contract id.
    pub contract_id: String,
}

impl CdrToken {
    fn read(
        value: &Value<'_>,
        path: &str,
        unknown: &mut Vec<String>,
    ) -> Result<CdrToken, ParseError> {
        let mut obj = Obj::new(value, path)?;
        let token = CdrToken {
            country_code: obj.req("country_code", json::ci_string(2))?,
            party_id: obj.req("party_id", json::ci_string(3))?,
            uid: obj.req("uid", json::ci_string(36))?,
            token_type: obj.req("type", TokenType::read)?,
            contract_id: obj.req("contract_id", json::ci_string(36))?,
        };
        obj.finish(unknown);
        Ok(token)
    }
}

/// OCPI `GeoLocation` (coordinates as the decimal strings OCPI uses).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GeoLocation {
    /// Latitude.
    pub latitude: String,
    /// Longitude.
    pub longitude: String,
}

/// OCPI `CdrLocation`. Connector enums are kept as their OCPI strings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CdrLocation {
    /// Location id.
    pub id: String,
    /// Display name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Street address.
    pub address: String,
    /// City.
    pub city: String,
    /// Postal code.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub postal_code: Option<String>,
    /// State.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    /// ISO 3166 alpha-3 country.
    pub country: String,
    /// Coordinates.
    pub coordinates: GeoLocation,
    /// EVSE uid.
    pub evse_uid: String,
    /// EVSE id.
    pub evse_id: String,
    /// Connector id.
    pub connector_id: String,
    /// OCPI `ConnectorType`.
    pub connector_standard: String,
    /// OCPI `ConnectorFormat`.
    pub connector_format: String,
    /// OCPI `PowerType`.
    pub connector_power_type: String,
}

impl CdrLocation {
    fn read(
        value: &Value<'_>,
        path: &str,
        unknown: &mut Vec<String>,
    ) -> Result<CdrLocation, ParseError> {
        let mut obj = Obj::new(value, path)?;
        let location = CdrLocation {
            id: obj.req("id", json::ci_string(36))?,
            name: obj.opt("name", json::text(255))?,
            address: obj.req("address", json::text(45))?,
            city: obj.req("city", json::text(45))?,
            postal_code: obj.opt("postal_code", json::text(10))?,
            state: obj.opt("state", json::text(20))?,
            country: obj.req("country", json::text(3))?,
            coordinates: obj.req("coordinates", |v, p| {
                let mut c = Obj::new(v, p)?;
                let coordinates = GeoLocation {
                    latitude: c.req("latitude", json::text(10))?,
                    longitude: c.req("longitude", json::text(11))?,
                };
                c.finish(unknown);
                Ok(coordinates)
            })?,
            evse_uid: obj.req("evse_uid", json::ci_string(36))?,
            evse_id: obj.req("evse_id", json::ci_string(48))?,
            connector_id: obj.req("connector_id", json::ci_string(36))?,
            connector_standard: obj.req("connector_standard", json::ci_string(64))?,
            connector_format: obj.req("connector_format", json::ci_string(64))?,
            connector_power_type: obj.req("connector_power_type", json::ci_string(64))?,
        };
        obj.finish(unknown);
        Ok(location)
    }
}

/// OCPI `CdrDimension`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CdrDimension {
    /// The dimension.
    #[serde(rename = "type")]
    pub dimension_type: CdrDimensionType,
    /// Volume in the dimension's unit.
    #[serde(serialize_with = "json::write_decimal")]
    pub volume: Decimal,
}

/// OCPI `ChargingPeriod`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChargingPeriod {
    /// Start; a period ends where the next starts (the last at the CDR end).
    #[serde(serialize_with = "json::write_datetime")]
    pub start_date_time: DateTime<Utc>,
    /// Volumes.
    pub dimensions: Vec<CdrDimension>,
    /// The tariff priced in this period; none means no tariff applies.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tariff_id: Option<String>,
}

impl ChargingPeriod {
    fn read(
        value: &Value<'_>,
        path: &str,
        unknown: &mut Vec<String>,
    ) -> Result<ChargingPeriod, ParseError> {
        let mut obj = Obj::new(value, path)?;
        let period = ChargingPeriod {
            start_date_time: obj.req("start_date_time", json::datetime)?,
            dimensions: obj.req("dimensions", |v, p| {
                json::non_empty_array(v, p, MAX_DIMENSIONS_PER_PERIOD, |v, p| {
                    let mut d = Obj::new(v, p)?;
                    let dimension = CdrDimension {
                        dimension_type: d.req("type", CdrDimensionType::read)?,
                        volume: d.req("volume", json::decimal)?,
                    };
                    d.finish(unknown);
                    Ok(dimension)
                })
            })?,
            tariff_id: obj.opt("tariff_id", json::ci_string(36))?,
        };
        obj.finish(unknown);
        Ok(period)
    }

    /// The sum of the volumes of one dimension type, if present.
    pub fn volume(&self, dimension_type: CdrDimensionType) -> Option<Decimal> {
        self.dimensions
            .iter()
            .filter(|d| d.dimension_type == dimension_type)
            .map(|d| d.volume)
            .reduce(|a, b| a + b)
    }
}

/// OCPI `SignedValue`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SignedValue {
    /// `Start`, `End`, `Intermediate`, …
    pub nature: String,
    /// Unencoded data.
    pub plain_data: String,
    /// Signed data, base64.
    pub signed_data: String,
}

/// OCPI `SignedData`: the meter's signed readings, as encoded by the caller.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SignedData {
    /// Encoding name, e.g. `OCMF`.
    pub encoding_method: String,
    /// Encoding version.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub encoding_method_version: Option<u32>,
    /// Public key, base64.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub public_key: Option<String>,
    /// The signed values, at least one.
    pub signed_values: Vec<SignedValue>,
    /// URL for the driver to check the data.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

impl SignedData {
    fn read(
        value: &Value<'_>,
        path: &str,
        unknown: &mut Vec<String>,
    ) -> Result<SignedData, ParseError> {
        let mut obj = Obj::new(value, path)?;
        let data = SignedData {
            encoding_method: obj.req("encoding_method", json::ci_string(36))?,
            encoding_method_version: obj
                .opt("encoding_method_version", |v, p| {
                    json::integer(v, p, 0, u64::from(u32::MAX))
                })?
                .and_then(|v| u32::try_from(v).ok()),
            public_key: obj.opt("public_key", json::text(512))?,
            signed_values: obj.req("signed_values", |v, p| {
                json::non_empty_array(v, p, MAX_SIGNED_VALUES, |v, p| {
                    let mut s = Obj::new(v, p)?;
                    let value = SignedValue {
                        nature: s.req("nature", json::ci_string(32))?,
                        plain_data: s.req("plain_data", json::text(5000))?,
                        signed_data: s.req("signed_data", json::text(5000))?,
                    };
                    s.finish(unknown);
                    Ok(value)
                })
            })?,
            url: obj.opt("url", json::text(512))?,
        };
        obj.finish(unknown);
        Ok(data)
    }
}

/// What a CDR needs beyond the session and the tariff: identities and the signed readings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CdrContext {
    /// Country of the CPO.
    pub country_code: String,
    /// Party id of the CPO.
    pub party_id: String,
    /// CDR id (at most 36 characters).
    pub id: String,
    /// OCPI session id.
    pub session_id: Option<String>,
    /// The token.
    pub cdr_token: CdrToken,
    /// How the session was authorised.
    pub auth_method: AuthMethod,
    /// The eMSP's authorisation reference.
    pub authorization_reference: Option<String>,
    /// The location.
    pub cdr_location: CdrLocation,
    /// Meter id.
    pub meter_id: Option<String>,
    /// Signed meter readings.
    pub signed_data: Option<SignedData>,
    /// Remark.
    pub remark: Option<String>,
    /// Invoice reference.
    pub invoice_reference_id: Option<String>,
    /// Home charging compensation flag.
    pub home_charging_compensation: Option<bool>,
    /// Creation time of the CDR (the core takes time as an argument).
    pub last_updated: DateTime<Utc>,
}

/// Why a CDR could not be built or credited.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CdrError {
    /// Pricing failed.
    #[error(transparent)]
    Price(#[from] PriceError),
    /// The CDR would violate OCPI (a context field too long, say); the path names the field.
    #[error("the CDR would not be valid OCPI: {0}")]
    Invalid(ParseError),
    /// The CDR would have more charging periods than the limit.
    #[error("the CDR would have {count} charging periods, more than the limit of {max}")]
    TooManyPeriods {
        /// Count.
        count: usize,
        /// Limit.
        max: usize,
    },
    /// A credit CDR cannot be credited again.
    #[error("CDR {0} is already a credit CDR")]
    AlreadyCredit(String),
    /// A credit CDR needs an id of its own.
    #[error("credit CDR id {0:?} must differ from the original's and be at most 39 printable ASCII characters")]
    InvalidCreditId(String),
    /// The built CDR did not read back identically (a bug in the engine).
    #[error("the built CDR does not read back identically")]
    RoundTrip,
}

/// OCPI 2.2.1 `CDR`: an immutable value, built by [`Cdr::from_session`], [`Cdr::credit`] or
/// [`parse_cdr`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Cdr {
    country_code: String,
    party_id: String,
    id: String,
    #[serde(serialize_with = "json::write_datetime")]
    start_date_time: DateTime<Utc>,
    #[serde(serialize_with = "json::write_datetime")]
    end_date_time: DateTime<Utc>,
    #[serde(skip_serializing_if = "Option::is_none")]
    session_id: Option<String>,
    cdr_token: CdrToken,
    auth_method: AuthMethod,
    #[serde(skip_serializing_if = "Option::is_none")]
    authorization_reference: Option<String>,
    cdr_location: CdrLocation,
    #[serde(skip_serializing_if = "Option::is_none")]
    meter_id: Option<String>,
    currency: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    tariffs: Vec<Tariff>,
    charging_periods: Vec<ChargingPeriod>,
    #[serde(skip_serializing_if = "Option::is_none")]
    signed_data: Option<SignedData>,
    total_cost: Price,
    #[serde(skip_serializing_if = "Option::is_none")]
    total_fixed_cost: Option<Price>,
    #[serde(serialize_with = "json::write_decimal")]
    total_energy: Decimal,
    #[serde(skip_serializing_if = "Option::is_none")]
    total_energy_cost: Option<Price>,
    #[serde(serialize_with = "json::write_decimal")]
    total_time: Decimal,
    #[serde(skip_serializing_if = "Option::is_none")]
    total_time_cost: Option<Price>,
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "json::write_opt_decimal"
    )]
    total_parking_time: Option<Decimal>,
    #[serde(skip_serializing_if = "Option::is_none")]
    total_parking_cost: Option<Price>,
    #[serde(skip_serializing_if = "Option::is_none")]
    total_reservation_cost: Option<Price>,
    #[serde(skip_serializing_if = "Option::is_none")]
    remark: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    invoice_reference_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    credit: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    credit_reference_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    home_charging_compensation: Option<bool>,
    #[serde(serialize_with = "json::write_datetime")]
    last_updated: DateTime<Utc>,
}

/// OCPI dimensions for one period the engine made.
fn dimensions(p: &Period) -> Vec<CdrDimension> {
    let dim = |dimension_type, volume| CdrDimension {
        dimension_type,
        volume,
    };
    // Power and current are truncated to 6 decimals: for any threshold with at most 6 decimals,
    // `truncated >= threshold` and `truncated < threshold` decide as the exact value would, so
    // re-pricing this CDR selects the same components.
    let truncate = |d: Decimal| d.trunc_with_scale(6).normalize();
    match p.kind {
        Kind::Charging => {
            let mut out = vec![
                dim(CdrDimensionType::Energy, wh_to_kwh(p.energy_wh)),
                dim(CdrDimensionType::Time, ms_to_hours(p.time_ms)),
            ];
            if let Some(power) = p.power_kw {
                out.push(dim(CdrDimensionType::MinPower, truncate(power.min)));
                out.push(dim(CdrDimensionType::MaxPower, truncate(power.max)));
            }
            if let Some(current) = p.current_a {
                out.push(dim(CdrDimensionType::MinCurrent, truncate(current.min)));
                out.push(dim(CdrDimensionType::MaxCurrent, truncate(current.max)));
            }
            out
        }
        Kind::Parking => vec![dim(
            CdrDimensionType::ParkingTime,
            ms_to_hours(p.parking_ms),
        )],
        Kind::Reservation => vec![dim(
            CdrDimensionType::ReservationTime,
            ms_to_hours(p.reservation_ms),
        )],
        Kind::FromCdr => Vec::new(),
    }
}

impl Cdr {
    /// Prices `session` under `tariff` and builds the CDR.
    ///
    /// The charging periods are the engine's periods (one per change of the price components in
    /// effect), each with `tariff_id`; charging periods carry `ENERGY`, `TIME`, `MIN_POWER`,
    /// `MAX_POWER` and, when the meter reported current, `MIN_CURRENT`/`MAX_CURRENT`, so
    /// [`crate::price_cdr_periods`] on the result reproduces the price. The tariff is embedded.
    /// `start_date_time` is the reservation start if there was one. The built CDR is serialised
    /// and parsed back with the strict parser before it is returned, so a context field that
    /// violates OCPI is reported by path.
    pub fn from_session(
        tariff: &Tariff,
        session: &ClosedSession,
        context: CdrContext,
        rounding: &RoundingRule,
    ) -> Result<Cdr, CdrError> {
        let (periods, breakdown) = price_session_periods(tariff, session, rounding)?;
        if periods.len() > MAX_CHARGING_PERIODS {
            return Err(CdrError::TooManyPeriods {
                count: periods.len(),
                max: MAX_CHARGING_PERIODS,
            });
        }
        if context.id.len() > 36 {
            return Err(CdrError::Invalid(ParseError::field(
                "id",
                "expected printable ASCII of at most 36 characters (39 only for credit CDRs)",
            )));
        }
        let charging_periods = periods
            .iter()
            .map(|p| ChargingPeriod {
                start_date_time: p.start(),
                dimensions: dimensions(p),
                tariff_id: Some(tariff.id.clone()),
            })
            .collect();
        let t = breakdown.totals;
        let cdr = Cdr {
            country_code: context.country_code,
            party_id: context.party_id,
            id: context.id,
            start_date_time: session.cdr_start(),
            end_date_time: session.end(),
            session_id: context.session_id,
            cdr_token: context.cdr_token,
            auth_method: context.auth_method,
            authorization_reference: context.authorization_reference,
            cdr_location: context.cdr_location,
            meter_id: context.meter_id,
            currency: tariff.currency.clone(),
            tariffs: vec![tariff.clone()],
            charging_periods,
            signed_data: context.signed_data,
            total_cost: t.total_cost,
            total_fixed_cost: Some(t.total_fixed_cost),
            total_energy: t.total_energy,
            total_energy_cost: Some(t.total_energy_cost),
            total_time: t.total_time,
            total_time_cost: Some(t.total_time_cost),
            total_parking_time: Some(t.total_parking_time),
            total_parking_cost: Some(t.total_parking_cost),
            total_reservation_cost: Some(t.total_reservation_cost),
            remark: context.remark,
            invoice_reference_id: context.invoice_reference_id,
            credit: None,
            credit_reference_id: None,
            home_charging_compensation: context.home_charging_compensation,
            last_updated: context.last_updated,
        };
        cdr.checked()
    }

    /// The credit CDR for this CDR (OCPI "Credit CDRs"): a copy with id `credit_id`,
    /// `credit = true`, `credit_reference_id` = this id, a new `last_updated`, and `total_cost`
    /// negated. As the specification says, only `total_cost` holds negative amounts; the other
    /// fields, including the per-dimension costs, stay as in the original.
    pub fn credit(&self, credit_id: &str, last_updated: DateTime<Utc>) -> Result<Cdr, CdrError> {
        if self.credit == Some(true) {
            return Err(CdrError::AlreadyCredit(self.id.clone()));
        }
        let printable = credit_id.bytes().all(|b| (0x20..0x7f).contains(&b));
        if credit_id.is_empty()
            || credit_id.len() > 39
            || !printable
            || credit_id.eq_ignore_ascii_case(&self.id)
        {
            return Err(CdrError::InvalidCreditId(credit_id.to_owned()));
        }
        let negate = |p: Price| Price {
            excl_vat: -p.excl_vat,
            incl_vat: p.incl_vat.map(|v| -v),
        };
        let mut credit = self.clone();
        credit.id = credit_id.to_owned();
        credit.credit = Some(true);
        credit.credit_reference_id = Some(self.id.clone());
        credit.total_cost = negate(self.total_cost);
        credit.last_updated = last_updated;
        credit.checked()
    }

    /// Asserts on both sides of the wire: what we emit must pass our own strict parser unchanged.
    fn checked(self) -> Result<Cdr, CdrError> {
        let reparsed = parse_cdr(&self.to_json()).map_err(CdrError::Invalid)?;
        if reparsed.value != self || !reparsed.unknown_fields.is_empty() {
            return Err(CdrError::RoundTrip);
        }
        Ok(self)
    }

    /// The CDR as OCPI JSON.
    pub fn to_json(&self) -> String {
        // Cannot fail: all fields serialise to valid JSON.
        serde_json::to_string(self).unwrap_or_default()
    }

    /// The CDR as indented OCPI JSON.
    pub fn to_json_pretty(&self) -> String {
        // Cannot fail: all fields serialise to valid JSON.
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// Country of the CPO.
    pub fn country_code(&self) -> &str {
        &self.country_code
    }
    /// Party id of the CPO.
    pub fn party_id(&self) -> &str {
        &self.party_id
    }
    /// CDR id.
    pub fn id(&self) -> &str {
        &self.id
    }
    /// Start (reservation start, or plug-in).
    pub fn start_date_time(&self) -> DateTime<Utc> {
        self.start_date_time
    }
    /// End (plug-out).
    pub fn end_date_time(&self) -> DateTime<Utc> {
        self.end_date_time
    }
    /// OCPI session id.
    pub fn session_id(&self) -> Option<&str> {
        self.session_id.as_deref()
    }
    /// Token.
    pub fn cdr_token(&self) -> &CdrToken {
        &self.cdr_token
    }
    /// Authorisation method.
    pub fn auth_method(&self) -> AuthMethod {
        self.auth_method
    }
    /// Authorisation reference.
    pub fn authorization_reference(&self) -> Option<&str> {
        self.authorization_reference.as_deref()
    }
    /// Location.
    pub fn cdr_location(&self) -> &CdrLocation {
        &self.cdr_location
    }
    /// Meter id.
    pub fn meter_id(&self) -> Option<&str> {
        self.meter_id.as_deref()
    }
    /// Currency.
    pub fn currency(&self) -> &str {
        &self.currency
    }
    /// Embedded tariffs.
    pub fn tariffs(&self) -> &[Tariff] {
        &self.tariffs
    }
    /// Charging periods.
    pub fn charging_periods(&self) -> &[ChargingPeriod] {
        &self.charging_periods
    }
    /// Signed readings.
    pub fn signed_data(&self) -> Option<&SignedData> {
        self.signed_data.as_ref()
    }
    /// Total cost (negative in a credit CDR).
    pub fn total_cost(&self) -> Price {
        self.total_cost
    }
    /// Fixed cost.
    pub fn total_fixed_cost(&self) -> Option<Price> {
        self.total_fixed_cost
    }
    /// Energy, kWh.
    pub fn total_energy(&self) -> Decimal {
        self.total_energy
    }
    /// Energy cost.
    pub fn total_energy_cost(&self) -> Option<Price> {
        self.total_energy_cost
    }
    /// Duration, hours.
    pub fn total_time(&self) -> Decimal {
        self.total_time
    }
    /// Charging time cost.
    pub fn total_time_cost(&self) -> Option<Price> {
        self.total_time_cost
    }
    /// Parking time, hours.
    pub fn total_parking_time(&self) -> Option<Decimal> {
        self.total_parking_time
    }
    /// Parking cost.
    pub fn total_parking_cost(&self) -> Option<Price> {
        self.total_parking_cost
    }
    /// Reservation cost.
    pub fn total_reservation_cost(&self) -> Option<Price> {
        self.total_reservation_cost
    }
    /// Remark.
    pub fn remark(&self) -> Option<&str> {
        self.remark.as_deref()
    }
    /// Invoice reference.
    pub fn invoice_reference_id(&self) -> Option<&str> {
        self.invoice_reference_id.as_deref()
    }
    /// True for a credit CDR.
    pub fn is_credit(&self) -> bool {
        self.credit == Some(true)
    }
    /// The id of the CDR this one credits.
    pub fn credit_reference_id(&self) -> Option<&str> {
        self.credit_reference_id.as_deref()
    }
    /// Home charging compensation flag.
    pub fn home_charging_compensation(&self) -> Option<bool> {
        self.home_charging_compensation
    }
    /// Last update.
    pub fn last_updated(&self) -> DateTime<Utc> {
        self.last_updated
    }

    fn read(value: &Value<'_>, path: &str, unknown: &mut Vec<String>) -> Result<Cdr, ParseError> {
        let mut obj = Obj::new(value, path)?;
        let price = |obj: &mut Obj<'_, '_>, key: &str, unknown: &mut Vec<String>| {
            obj.opt(key, |v, p| Price::read_signed(v, p, unknown))
        };
        let cdr = Cdr {
            country_code: obj.req("country_code", json::ci_string(2))?,
            party_id: obj.req("party_id", json::ci_string(3))?,
            id: obj.req("id", json::ci_string(39))?,
            start_date_time: obj.req("start_date_time", json::datetime)?,
            end_date_time: obj.req("end_date_time", json::datetime)?,
            session_id: obj.opt("session_id", json::ci_string(36))?,
            cdr_token: obj.req("cdr_token", |v, p| CdrToken::read(v, p, unknown))?,
            auth_method: obj.req("auth_method", AuthMethod::read)?,
            authorization_reference: obj.opt("authorization_reference", json::ci_string(36))?,
            cdr_location: obj.req("cdr_location", |v, p| CdrLocation::read(v, p, unknown))?,
            meter_id: obj.opt("meter_id", json::text(255))?,
            currency: obj.req("currency", json::currency)?,
            tariffs: obj
                .opt("tariffs", |v, p| {
                    json::array(v, p, MAX_TARIFFS_PER_CDR, |v, p| {
                        Tariff::read(v, p, unknown)
                    })
                })?
                .unwrap_or_default(),
            charging_periods: obj.req("charging_periods", |v, p| {
                json::non_empty_array(v, p, MAX_CHARGING_PERIODS, |v, p| {
                    ChargingPeriod::read(v, p, unknown)
                })
            })?,
            signed_data: obj.opt("signed_data", |v, p| SignedData::read(v, p, unknown))?,
            total_cost: obj.req("total_cost", |v, p| Price::read_signed(v, p, unknown))?,
            total_fixed_cost: price(&mut obj, "total_fixed_cost", unknown)?,
            total_energy: obj.req("total_energy", json::decimal)?,
            total_energy_cost: price(&mut obj, "total_energy_cost", unknown)?,
            total_time: obj.req("total_time", json::decimal)?,
            total_time_cost: price(&mut obj, "total_time_cost", unknown)?,
            total_parking_time: obj.opt("total_parking_time", json::decimal)?,
            total_parking_cost: price(&mut obj, "total_parking_cost", unknown)?,
            total_reservation_cost: price(&mut obj, "total_reservation_cost", unknown)?,
            remark: obj.opt("remark", json::text(255))?,
            invoice_reference_id: obj.opt("invoice_reference_id", json::ci_string(39))?,
            credit: obj.opt("credit", json::boolean)?,
            credit_reference_id: obj.opt("credit_reference_id", json::ci_string(39))?,
            home_charging_compensation: obj.opt("home_charging_compensation", json::boolean)?,
            last_updated: obj.req("last_updated", json::datetime)?,
        };
        if cdr.credit == Some(true) && cdr.credit_reference_id.is_none() {
            return Err(ParseError::field(
                json::join(obj.path(), "credit_reference_id"),
                "required when credit is true",
            ));
        }
        obj.finish(unknown);
        Ok(cdr)
    }
}

/// Parses an OCPI 2.2.1 CDR strictly (including embedded tariffs); unknown fields are reported.
pub fn parse_cdr(text: &str) -> Result<Parsed<Cdr>, ParseError> {
    json::parse_strict(text, Cdr::read)
}
