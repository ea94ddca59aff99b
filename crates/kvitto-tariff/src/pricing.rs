//! Pricing periods under a tariff: component selection, `step_size`, VAT, min/max price, rounding.
//!
//! The algorithm, for one tariff and its periods in time order (see `specs/billing.md`):
//!
//! 1. **Selection.** For every period and dimension, the first element (in tariff order) whose
//!    restrictions match and that has a component of that dimension prices it. Session volumes
//!    (energy, charging time, parking time) only see elements without a `reservation`
//!    restriction; reservation time only sees elements with one (`RESERVATION_EXPIRES` only when
//!    the reservation expired). `TIME` prices charging time and reservation time; `PARKING_TIME`
//!    prices parking time.
//! 2. **FLAT.** Once for the session and once for the reservation: in the first period of that
//!    phase in which some element with a `FLAT` component applies.
//! 3. **step_size** (OCPI 2.2.1 bug-fix text, mod_cdrs "step_size"): applied once per session at
//!    the end, to the total billed volume of a dimension group, using the step of the component
//!    that priced the group's last billed volume; the rounded-up extra is billed on that last
//!    line at its price. Groups: `ENERGY`; `TIME` and `PARKING_TIME` together, where the step is
//!    applied to parking when any parking time was billed and to charging time otherwise;
//!    reservation time on its own.
//! 4. **Money.** Each line costs `price × billed volume` (per kWh, per hour, or once), and
//!    `× (1 + vat/100)` including VAT; a component without `vat` has no VAT applicable, so its
//!    amount including VAT equals the amount excluding it. Sums are exact (see `money`).
//! 5. **Caps.** The exact totals are clamped: excl. VAT to `min_price.excl_vat` /
//!    `max_price.excl_vat`, incl. VAT to `min_price.incl_vat` / `max_price.incl_vat`, each
//!    independently and only if given; min first, then max (so max wins if they contradict).
//!    Sub-totals per dimension are not clamped.
//! 6. **Rounding** per the contract's [`RoundingRule`].

use chrono_tz::Tz;
use rust_decimal::Decimal;

use crate::breakdown::{
    Breakdown, BreakdownLine, CapAdjustment, LineDimension, PriceCap, Quantity, Totals,
};
use crate::error::PriceError;
use crate::money::{Exact, ENERGY_WH_FACTOR, FLAT_FACTOR, TIME_MS_FACTOR};
use crate::period::{Context, Matcher, Period, Selection};
use crate::rounding::{RoundingRule, RoundingScope};
use crate::tariff::{Price, Tariff, TariffDimensionType};

/// One priced line: a dimension in a period.
#[derive(Debug, Clone)]
pub(crate) struct Line {
    pub(crate) period: usize,
    pub(crate) dimension: LineDimension,
    pub(crate) selection: Selection,
    pub(crate) volume: Quantity,
    pub(crate) billed: Quantity,
    pub(crate) step_applied: bool,
    pub(crate) excl: Exact,
    pub(crate) incl: Exact,
}

/// Sub-totals, in the order fixed, energy, time, parking, reservation.
const FIXED: usize = 0;
const ENERGY: usize = 1;
const TIME: usize = 2;
const PARKING: usize = 3;
const RESERVATION: usize = 4;

/// The result of pricing one tariff's periods.
#[derive(Debug)]
pub(crate) struct GroupResult<'t> {
    pub(crate) tariff: &'t Tariff,
    pub(crate) lines: Vec<Line>,
    pub(crate) categories: [(Exact, Exact); 5],
    pub(crate) total: (Exact, Exact),
    pub(crate) adjustments: Vec<(PriceCap, Exact, Exact)>,
}

impl LineDimension {
    fn tariff_dimension(self) -> TariffDimensionType {
        match self {
            LineDimension::Flat | LineDimension::ReservationFlat => TariffDimensionType::Flat,
            LineDimension::Energy => TariffDimensionType::Energy,
            LineDimension::Time | LineDimension::ReservationTime => TariffDimensionType::Time,
            LineDimension::ParkingTime => TariffDimensionType::ParkingTime,
        }
    }

    fn category(self) -> usize {
        match self {
            LineDimension::Flat => FIXED,
            LineDimension::Energy => ENERGY,
            LineDimension::Time => TIME,
            LineDimension::ParkingTime => PARKING,
            LineDimension::ReservationFlat | LineDimension::ReservationTime => RESERVATION,
        }
    }
}

fn component(tariff: &Tariff, s: Selection) -> &crate::tariff::PriceComponent {
    &tariff.elements[s.element].price_components[s.component]
}

/// Applies `step_size` once to the lines of one dimension group.
fn apply_step(
    tariff: &Tariff,
    lines: &mut [Line],
    in_group: impl Fn(&Line) -> bool,
) -> Result<(), PriceError> {
    let indices: Vec<usize> = (0..lines.len()).filter(|&i| in_group(&lines[i])).collect();
    let Some(&last) = indices.last() else {
        return Ok(());
    };
    let step = component(tariff, lines[last].selection).step_size;
    match lines[last].volume {
        Quantity::Energy { .. } => {
            let total =
                indices
                    .iter()
                    .try_fold(Decimal::ZERO, |sum, &i| match lines[i].volume {
                        Quantity::Energy { wh } => sum.checked_add(wh).ok_or(PriceError::Overflow),
                        _ => Ok(sum),
                    })?;
            let step = Decimal::from(step.max(1));
            let billed = total
                .checked_div(step)
                .map(|blocks| blocks.ceil())
                .and_then(|blocks| blocks.checked_mul(step))
                .ok_or(PriceError::Overflow)?;
            let extra = billed - total;
            if extra > Decimal::ZERO {
                if let Quantity::Energy { wh } = lines[last].billed {
                    lines[last].billed = Quantity::Energy { wh: wh + extra };
                    lines[last].step_applied = true;
                }
            }
        }
        Quantity::Duration { .. } => {
            let total: i64 = indices
                .iter()
                .map(|&i| match lines[i].volume {
                    Quantity::Duration { ms } => ms,
                    _ => 0,
                })
                .try_fold(0i64, i64::checked_add)
                .ok_or(PriceError::Overflow)?;
            let step_ms = i64::from(step.max(1)) * 1000;
            let billed = total
                .checked_add(step_ms - 1)
                .map(|t| t / step_ms * step_ms)
                .ok_or(PriceError::Overflow)?;
            let extra = billed - total;
            if extra > 0 {
                if let Quantity::Duration { ms } = lines[last].billed {
                    lines[last].billed = Quantity::Duration { ms: ms + extra };
                    lines[last].step_applied = true;
                }
            }
        }
        Quantity::Once => {}
    }
    Ok(())
}

/// Prices one tariff's periods (in time order). `expired` tells whether the reservation expired.
pub(crate) fn price_group<'t>(
    tariff: &'t Tariff,
    periods: &[Period],
    expired: bool,
    rounding: &RoundingRule,
) -> Result<GroupResult<'t>, PriceError> {
    let mut lines: Vec<Line> = Vec::new();
    let mut session_flat = false;
    let mut reservation_flat = false;
    let reservation = Context::Reservation { expired };
    for (index, p) in periods.iter().enumerate() {
        let mut matcher = Matcher::new(tariff, p);
        let mut push =
            |dimension: LineDimension, selection: Option<Selection>, volume: Quantity| {
                if let Some(selection) = selection {
                    lines.push(Line {
                        period: index,
                        dimension,
                        selection,
                        volume,
                        billed: volume,
                        step_applied: false,
                        excl: Exact::ZERO,
                        incl: Exact::ZERO,
                    });
                    true
                } else {
                    false
                }
            };
        if p.has_reservation {
            if !reservation_flat {
                let s = matcher.select(reservation, TariffDimensionType::Flat)?;
                reservation_flat = push(LineDimension::ReservationFlat, s, Quantity::Once);
            }
            if p.reservation_ms > 0 {
                let s = matcher.select(reservation, TariffDimensionType::Time)?;
                push(
                    LineDimension::ReservationTime,
                    s,
                    Quantity::Duration {
                        ms: p.reservation_ms,
                    },
                );
            }
        }
        if p.has_session {
            if !session_flat {
                let s = matcher.select(Context::Session, TariffDimensionType::Flat)?;
                session_flat = push(LineDimension::Flat, s, Quantity::Once);
            }
            if p.energy_wh > Decimal::ZERO {
                let s = matcher.select(Context::Session, TariffDimensionType::Energy)?;
                push(
                    LineDimension::Energy,
                    s,
                    Quantity::Energy { wh: p.energy_wh },
                );
            }
            if p.time_ms > 0 {
                let s = matcher.select(Context::Session, TariffDimensionType::Time)?;
                push(LineDimension::Time, s, Quantity::Duration { ms: p.time_ms });
            }
            if p.parking_ms > 0 {
                let s = matcher.select(Context::Session, TariffDimensionType::ParkingTime)?;
                push(
                    LineDimension::ParkingTime,
                    s,
                    Quantity::Duration { ms: p.parking_ms },
                );
            }
        }
    }

    apply_step(tariff, &mut lines, |l| l.dimension == LineDimension::Energy)?;
    // TIME and PARKING_TIME share one step: on parking if any parking was billed, else on time.
    if lines
        .iter()
        .any(|l| l.dimension == LineDimension::ParkingTime)
    {
        apply_step(tariff, &mut lines, |l| {
            l.dimension == LineDimension::ParkingTime
        })?;
    } else {
        apply_step(tariff, &mut lines, |l| l.dimension == LineDimension::Time)?;
    }
    apply_step(tariff, &mut lines, |l| {
        l.dimension == LineDimension::ReservationTime
    })?;

    let mut categories = [(Exact::ZERO, Exact::ZERO); 5];
    for line in &mut lines {
        let c = component(tariff, line.selection);
        debug_assert_eq!(c.dimension, line.dimension.tariff_dimension());
        let (volume, factor) = match line.billed {
            Quantity::Once => (Decimal::ONE, FLAT_FACTOR),
            Quantity::Energy { wh } => (wh, ENERGY_WH_FACTOR),
            Quantity::Duration { ms } => (Decimal::from(ms), TIME_MS_FACTOR),
        };
        let (mut excl, mut incl) = Exact::line(c.price, volume, factor, c.vat)?;
        if rounding.scope == RoundingScope::PerLine {
            excl = Exact::from_amount(rounding.round(excl.to_amount()))?;
            incl = Exact::from_amount(rounding.round(incl.to_amount()))?;
        }
        line.excl = excl;
        line.incl = incl;
        let sum = &mut categories[line.dimension.category()];
        *sum = (sum.0.checked_add(excl)?, sum.1.checked_add(incl)?);
    }

    let mut total = (Exact::ZERO, Exact::ZERO);
    for (excl, incl) in categories {
        total = (total.0.checked_add(excl)?, total.1.checked_add(incl)?);
    }
    let mut adjustments = Vec::new();
    for (cap, price) in [
        (PriceCap::MinPrice, tariff.min_price),
        (PriceCap::MaxPrice, tariff.max_price),
    ] {
        let Some(price) = price else { continue };
        let clamped = clamp(cap, total, price)?;
        if clamped != total {
            adjustments.push((
                cap,
                clamped.0.checked_sub(total.0)?,
                clamped.1.checked_sub(total.1)?,
            ));
            total = clamped;
        }
    }
    Ok(GroupResult {
        tariff,
        lines,
        categories,
        total,
        adjustments,
    })
}

fn clamp(
    cap: PriceCap,
    (excl, incl): (Exact, Exact),
    bound: Price,
) -> Result<(Exact, Exact), PriceError> {
    let limit = |value: Exact, bound: Option<Decimal>| -> Result<Exact, PriceError> {
        let Some(bound) = bound else { return Ok(value) };
        let bound = Exact::from_amount(bound)?;
        Ok(match cap {
            PriceCap::MinPrice => value.max(bound),
            PriceCap::MaxPrice => value.min(bound),
        })
    };
    Ok((
        limit(excl, Some(bound.excl_vat))?,
        limit(incl, bound.incl_vat)?,
    ))
}

/// Session volumes reported in the totals (not what was billed).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Volumes {
    pub(crate) energy_wh: Decimal,
    pub(crate) time_ms: i64,
    pub(crate) parking_ms: i64,
}

/// Hours as OCPI reports them: `ms / 3 600 000`, rounded half-up to 10 decimals (so reading
/// them back and rounding to the millisecond is lossless).
pub(crate) fn ms_to_hours(ms: i64) -> Decimal {
    Decimal::from(ms)
        .checked_div(Decimal::from(3_600_000))
        .unwrap_or(Decimal::ZERO)
        .round_dp_with_strategy(10, rust_decimal::RoundingStrategy::MidpointAwayFromZero)
        .normalize()
}

pub(crate) fn wh_to_kwh(wh: Decimal) -> Decimal {
    wh.checked_div(Decimal::ONE_THOUSAND)
        .unwrap_or(Decimal::ZERO)
        .normalize()
}

/// Combines priced groups into the breakdown and the totals.
pub(crate) fn assemble(
    currency: &str,
    time_zone: Tz,
    rounding: RoundingRule,
    groups: &[(GroupResult<'_>, &[Period])],
    volumes: Volumes,
) -> Result<Breakdown, PriceError> {
    let mut categories = [(Exact::ZERO, Exact::ZERO); 5];
    let mut total = (Exact::ZERO, Exact::ZERO);
    let mut lines = Vec::new();
    let mut adjustments = Vec::new();
    let show = |amount: Exact| match rounding.scope {
        RoundingScope::PerLine => rounding.round(amount.to_amount()),
        RoundingScope::Totals => amount.to_amount(),
    };
    for (group, periods) in groups {
        for (sum, add) in categories.iter_mut().zip(group.categories) {
            *sum = (sum.0.checked_add(add.0)?, sum.1.checked_add(add.1)?);
        }
        total = (
            total.0.checked_add(group.total.0)?,
            total.1.checked_add(group.total.1)?,
        );
        for line in &group.lines {
            let c = component(group.tariff, line.selection);
            let period = &periods[line.period];
            lines.push(BreakdownLine {
                tariff_id: group.tariff.id.clone(),
                period_start: period.start(),
                period_end: period.end(),
                dimension: line.dimension,
                element_index: line.selection.element,
                component_index: line.selection.component,
                volume: line.volume,
                billed_volume: line.billed,
                step_size: c.step_size,
                step_rounding_applied: line.step_applied,
                unit_price: c.price,
                vat_percent: c.vat,
                excl_vat: show(line.excl),
                incl_vat: show(line.incl),
            });
        }
        for &(cap, excl, incl) in &group.adjustments {
            adjustments.push(CapAdjustment {
                tariff_id: group.tariff.id.clone(),
                cap,
                excl_vat: excl.to_amount(),
                incl_vat: incl.to_amount(),
            });
        }
    }
    lines.sort_by_key(|l| l.period_start);
    let price = |(excl, incl): (Exact, Exact)| Price {
        excl_vat: rounding.round(excl.to_amount()),
        incl_vat: Some(rounding.round(incl.to_amount())),
    };
    let total_cost = price(total);
    let minor = |amount: Decimal| rounding.to_minor_units(amount).ok_or(PriceError::Overflow);
    let totals = Totals {
        currency: currency.to_owned(),
        total_cost,
        total_fixed_cost: price(categories[FIXED]),
        total_energy: wh_to_kwh(volumes.energy_wh),
        total_energy_cost: price(categories[ENERGY]),
        total_time: ms_to_hours(volumes.time_ms),
        total_time_cost: price(categories[TIME]),
        total_parking_time: ms_to_hours(volumes.parking_ms),
        total_parking_cost: price(categories[PARKING]),
        total_reservation_cost: price(categories[RESERVATION]),
        total_excl_vat_minor: minor(total_cost.excl_vat)?,
        total_incl_vat_minor: minor(total_cost.incl_vat.unwrap_or(total_cost.excl_vat))?,
    };
    Ok(Breakdown {
        currency: currency.to_owned(),
        time_zone,
        rounding,
        lines,
        adjustments,
        totals,
    })
}
