//! The results of pricing: OCPI totals, and a line-by-line breakdown for receipts.

use std::fmt;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use rust_decimal::Decimal;
use serde::Serialize;

use crate::json;
use crate::pricing::{ms_to_hours, wh_to_kwh};
use crate::rounding::RoundingRule;
use crate::tariff::Price;

/// The OCPI totals of a priced session or CDR, rounded per the [`RoundingRule`].
///
/// Serialises to JSON with the OCPI field names (plus `currency`); every cost has `excl_vat` and
/// `incl_vat`. The integer minor-unit amounts are for the ledger and are not serialised.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Totals {
    /// ISO 4217 currency.
    pub currency: String,
    /// Total cost after `min_price`/`max_price`.
    pub total_cost: Price,
    /// `FLAT` components of the session (not of the reservation).
    pub total_fixed_cost: Price,
    /// Energy delivered, kWh (measured, not step-rounded).
    #[serde(serialize_with = "json::write_decimal")]
    pub total_energy: Decimal,
    /// Cost of `ENERGY` components.
    pub total_energy_cost: Price,
    /// Session duration (charging and parking), hours.
    #[serde(serialize_with = "json::write_decimal")]
    pub total_time: Decimal,
    /// Cost of `TIME` components while charging.
    pub total_time_cost: Price,
    /// Time plugged in without charging, hours.
    #[serde(serialize_with = "json::write_decimal")]
    pub total_parking_time: Decimal,
    /// Cost of `PARKING_TIME` components.
    pub total_parking_cost: Price,
    /// Cost of reservation elements (their `FLAT` and `TIME`).
    pub total_reservation_cost: Price,
    /// `total_cost.excl_vat` in minor units (cents for EUR).
    #[serde(skip)]
    pub total_excl_vat_minor: i64,
    /// `total_cost.incl_vat` in minor units.
    #[serde(skip)]
    pub total_incl_vat_minor: i64,
}

impl Totals {
    /// The totals as OCPI JSON.
    pub fn to_json(&self) -> String {
        // Cannot fail: all fields serialise to valid JSON.
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// Which dimension a breakdown line prices.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum LineDimension {
    /// Session `FLAT` fee.
    Flat,
    /// `ENERGY`.
    Energy,
    /// `TIME` while charging.
    Time,
    /// `PARKING_TIME`.
    ParkingTime,
    /// Reservation `FLAT` fee.
    ReservationFlat,
    /// Reservation `TIME`.
    ReservationTime,
}

impl LineDimension {
    fn label(self) -> &'static str {
        match self {
            LineDimension::Flat => "Flat fee",
            LineDimension::Energy => "Energy",
            LineDimension::Time => "Charging time",
            LineDimension::ParkingTime => "Parking time",
            LineDimension::ReservationFlat => "Reservation fee",
            LineDimension::ReservationTime => "Reservation time",
        }
    }
}

/// A volume in the unit the engine counts it in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Quantity {
    /// A fee charged once.
    Once,
    /// Energy in Wh.
    Energy {
        /// Watt-hours.
        wh: Decimal,
    },
    /// Time in milliseconds.
    Duration {
        /// Milliseconds.
        ms: i64,
    },
}

impl Quantity {
    /// The volume in OCPI units: 1, kWh, or hours.
    pub fn in_ocpi_units(self) -> Decimal {
        match self {
            Quantity::Once => Decimal::ONE,
            Quantity::Energy { wh } => wh_to_kwh(wh),
            Quantity::Duration { ms } => ms_to_hours(ms),
        }
    }
}

impl fmt::Display for Quantity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Quantity::Once => f.write_str("1"),
            Quantity::Energy { wh } => write!(f, "{:.3} kWh", wh_to_kwh(wh)),
            Quantity::Duration { ms } => {
                let s = ms / 1000;
                write!(f, "{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)?;
                if ms % 1000 != 0 {
                    write!(f, ".{:03}", ms % 1000)?;
                }
                Ok(())
            }
        }
    }
}

/// One line of a breakdown: a dimension priced in one charging period.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BreakdownLine {
    /// The tariff that priced it.
    pub tariff_id: String,
    /// Period start.
    #[serde(serialize_with = "json::write_datetime")]
    pub period_start: DateTime<Utc>,
    /// Period end.
    #[serde(serialize_with = "json::write_datetime")]
    pub period_end: DateTime<Utc>,
    /// The dimension.
    pub dimension: LineDimension,
    /// Index of the tariff element used.
    pub element_index: usize,
    /// Index of the price component in that element.
    pub component_index: usize,
    /// Measured volume.
    pub volume: Quantity,
    /// Billed volume, after `step_size` (equal to `volume` unless the step was applied here).
    pub billed_volume: Quantity,
    /// The component's `step_size`.
    pub step_size: u32,
    /// True when `step_size` rounding added volume to this line.
    pub step_rounding_applied: bool,
    /// Price per unit excl. VAT.
    pub unit_price: Decimal,
    /// VAT percentage; `None` when VAT is not applicable.
    pub vat_percent: Option<Decimal>,
    /// Cost excl. VAT: exact, or rounded under [`crate::RoundingScope::PerLine`].
    pub excl_vat: Decimal,
    /// Cost incl. VAT, likewise.
    pub incl_vat: Decimal,
}

/// Which cap changed the total.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum PriceCap {
    /// `min_price` raised it.
    MinPrice,
    /// `max_price` lowered it.
    MaxPrice,
}

/// How much a cap changed a tariff's total (exact amounts).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CapAdjustment {
    /// The tariff whose cap applied.
    pub tariff_id: String,
    /// Which cap.
    pub cap: PriceCap,
    /// Change of the total excl. VAT.
    pub excl_vat: Decimal,
    /// Change of the total incl. VAT.
    pub incl_vat: Decimal,
}

/// A human-readable account of a price: every line, the caps, and the totals.
///
/// `Display` renders a receipt; times are shown in `time_zone`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Breakdown {
    /// Currency.
    pub currency: String,
    /// Time zone for display.
    #[serde(serialize_with = "write_tz")]
    pub time_zone: Tz,
    /// The rounding rule used.
    pub rounding: RoundingRule,
    /// Lines in time order.
    pub lines: Vec<BreakdownLine>,
    /// Changes made by `min_price`/`max_price`.
    pub adjustments: Vec<CapAdjustment>,
    /// The totals.
    pub totals: Totals,
}

fn write_tz<S: serde::Serializer>(tz: &Tz, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(tz.name())
}

/// An amount with at least the currency's digits, and at most three more (exact line amounts).
fn money(amount: Decimal, digits: u32) -> String {
    let mut shown = amount.round_dp(digits + 3).normalize();
    if shown.scale() < digits {
        shown.rescale(digits);
    }
    shown.to_string()
}

impl fmt::Display for Breakdown {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let digits = self.rounding.minor_unit_digits;
        writeln!(
            f,
            "Charging receipt ({}; times {}; rounding {})",
            self.currency,
            self.time_zone.name(),
            self.rounding
        )?;
        writeln!(
            f,
            "{:<23} {:<16} {:>13} {:>11} {:>26} {:>10} {:>6} {:>10}",
            "Period",
            "Dimension",
            "Volume",
            "Unit price",
            "Billed (step rounding)",
            "Excl. VAT",
            "VAT",
            "Incl. VAT"
        )?;
        for line in &self.lines {
            let start = line.period_start.with_timezone(&self.time_zone);
            let end = line.period_end.with_timezone(&self.time_zone);
            let period = format!(
                "{} {}-{}",
                start.format("%Y-%m-%d"),
                start.format("%H:%M"),
                end.format("%H:%M")
            );
            let unit = match line.volume {
                Quantity::Once => String::new(),
                Quantity::Energy { .. } => "/kWh".to_owned(),
                Quantity::Duration { .. } => "/h".to_owned(),
            };
            let billed = if line.step_rounding_applied {
                let step_unit = match line.volume {
                    Quantity::Energy { .. } => "Wh",
                    _ => "s",
                };
                format!(
                    "{} (step {} {step_unit})",
                    line.billed_volume, line.step_size
                )
            } else {
                line.billed_volume.to_string()
            };
            let vat = match line.vat_percent {
                Some(vat) => format!("{}%", vat.normalize()),
                None => "no VAT".to_owned(),
            };
            writeln!(
                f,
                "{:<23} {:<16} {:>13} {:>11} {:>26} {:>10} {:>6} {:>10}",
                period,
                line.dimension.label(),
                line.volume.to_string(),
                format!("{}{unit}", line.unit_price),
                billed,
                money(line.excl_vat, digits),
                vat,
                money(line.incl_vat, digits),
            )?;
        }
        for adjustment in &self.adjustments {
            let label = match adjustment.cap {
                PriceCap::MinPrice => "Minimum price",
                PriceCap::MaxPrice => "Maximum price",
            };
            writeln!(
                f,
                "{:<23} {:<16} {:>13} {:>11} {:>26} {:>10} {:>6} {:>10}",
                "",
                label,
                "",
                "",
                "",
                money(adjustment.excl_vat, digits),
                "",
                money(adjustment.incl_vat, digits),
            )?;
        }
        let t = &self.totals;
        write!(
            f,
            "{:<23} {:<16} {:>13} {:>11} {:>26} {:>10} {:>6} {:>10}",
            "Total",
            "",
            "",
            "",
            "",
            t.total_cost.excl_vat,
            "",
            t.total_cost
                .incl_vat
                .map(|d| d.to_string())
                .unwrap_or_default(),
        )
    }
}
