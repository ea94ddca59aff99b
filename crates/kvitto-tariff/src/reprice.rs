//! Pricing the charging periods of an existing CDR (`kvitto tariff price --tariff T --cdr C`).
//!
//! Each OCPI charging period becomes a [`Period`]; restrictions are evaluated at its start, as
//! the CPO was required to start a new period whenever the price components in effect changed.
//! What the CDR does not say is derived conservatively:
//!
//! * cumulative energy and elapsed time from the earlier periods;
//! * power from `MIN_POWER`/`MAX_POWER`, else the average `ENERGY / TIME`, else zero when the
//!   period has no energy, else unknown (an error if a power restriction must be evaluated);
//! * current from `MIN_CURRENT`/`MAX_CURRENT`, else zero when there is no energy, else unknown;
//! * the local time from the caller's time zone (`CdrLocation` has none);
//! * a reservation expired when the CDR has reservation time but no session volumes.
//!
//! Hours are read back to the millisecond (`hours × 3 600 000`, rounded half-up).

use chrono_tz::Tz;
use rust_decimal::prelude::ToPrimitive;
use rust_decimal::Decimal;

use crate::breakdown::{Breakdown, Totals};
use crate::cdr::{Cdr, CdrDimensionType};
use crate::error::PriceError;
use crate::limits::{MAX_SESSION_ENERGY_WH, MAX_SESSION_MS};
use crate::period::{Kind, Period, Span};
use crate::pricing::{self, GroupResult, Volumes};
use crate::rounding::RoundingRule;
use crate::split::local_time;
use crate::tariff::Tariff;

/// Options for pricing an existing CDR.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CdrPricing {
    /// The location's time zone, for time-of-day and date restrictions.
    pub time_zone: Tz,
    /// The rounding rule; `None` uses [`RoundingRule::for_currency`] of the CDR's currency.
    pub rounding: Option<RoundingRule>,
}

impl Default for CdrPricing {
    fn default() -> Self {
        CdrPricing {
            time_zone: Tz::UTC,
            rounding: None,
        }
    }
}

fn hours_to_ms(hours: Decimal) -> Option<i64> {
    hours
        .checked_mul(Decimal::from(3_600_000))?
        .round_dp_with_strategy(0, rust_decimal::RoundingStrategy::MidpointAwayFromZero)
        .to_i64()
}

fn periods_of(cdr: &Cdr, tz: Tz) -> Result<Vec<Period>, PriceError> {
    let source = cdr.charging_periods();
    let cdr_end_ms = cdr.end_date_time().timestamp_millis();
    let mut out: Vec<Period> = Vec::with_capacity(source.len());
    let mut energy_before = Decimal::ZERO;
    let mut session_start: Option<i64> = None;
    let mut reservation_start: Option<i64> = None;
    for (index, cp) in source.iter().enumerate() {
        let start_ms = cp.start_date_time.timestamp_millis();
        let end_ms = source
            .get(index + 1)
            .map_or(cdr_end_ms, |next| next.start_date_time.timestamp_millis());
        if end_ms < start_ms || start_ms > cdr_end_ms {
            return Err(PriceError::PeriodsNotOrdered { period: index });
        }
        for d in &cp.dimensions {
            if d.volume.is_sign_negative() && !d.volume.is_zero() {
                return Err(PriceError::NegativeVolume {
                    period: index,
                    dimension: d.dimension_type.as_str().to_owned(),
                });
            }
        }
        let volume = |t| cp.volume(t);
        let too_large = |t: CdrDimensionType| PriceError::VolumeTooLarge {
            period: index,
            dimension: t.as_str().to_owned(),
        };
        // Bounded like a session, so sums over many periods cannot overflow.
        let ms = |t| -> Result<i64, PriceError> {
            match volume(t).map(hours_to_ms) {
                None => Ok(0),
                Some(Some(ms)) if ms <= MAX_SESSION_MS => Ok(ms),
                Some(_) => Err(too_large(t)),
            }
        };
        let energy_kwh = volume(CdrDimensionType::Energy);
        let energy_wh = energy_kwh
            .unwrap_or(Decimal::ZERO)
            .checked_mul(Decimal::ONE_THOUSAND)
            .filter(|wh| *wh <= Decimal::from(MAX_SESSION_ENERGY_WH))
            .ok_or_else(|| too_large(CdrDimensionType::Energy))?;
        let time_ms = ms(CdrDimensionType::Time)?;
        let parking_ms = ms(CdrDimensionType::ParkingTime)?;
        let reservation_ms = ms(CdrDimensionType::ReservationTime)?;
        let has_reservation = volume(CdrDimensionType::ReservationTime).is_some();
        let has_session = energy_kwh.is_some()
            || volume(CdrDimensionType::Time).is_some()
            || volume(CdrDimensionType::ParkingTime).is_some()
            || !has_reservation;
        if has_session && session_start.is_none() {
            session_start = Some(start_ms);
        }
        if has_reservation && reservation_start.is_none() {
            reservation_start = Some(start_ms);
        }
        let no_energy = energy_wh.is_zero() && (energy_kwh.is_some() || time_ms == 0);
        let span = |min: CdrDimensionType, max: CdrDimensionType| match (volume(min), volume(max)) {
            (Some(a), Some(b)) => Some(Span {
                min: a.min(b),
                max: a.max(b),
            }),
            (Some(v), None) | (None, Some(v)) => Some(Span::point(v)),
            (None, None) => None,
        };
        let power_kw = span(CdrDimensionType::MinPower, CdrDimensionType::MaxPower).or_else(|| {
            if no_energy {
                Some(Span::point(Decimal::ZERO))
            } else if energy_kwh.is_some() && time_ms > 0 {
                // kW = kWh / h = kWh × 3 600 000 / ms.
                energy_kwh
                    .and_then(|kwh| kwh.checked_mul(Decimal::from(3_600_000)))
                    .and_then(|x| x.checked_div(Decimal::from(time_ms)))
                    .map(Span::point)
            } else {
                None
            }
        });
        let current_a = span(CdrDimensionType::MinCurrent, CdrDimensionType::MaxCurrent)
            .or_else(|| no_energy.then(|| Span::point(Decimal::ZERO)));
        out.push(Period {
            start_ms,
            end_ms,
            local_start: local_time(tz, start_ms),
            kind: Kind::FromCdr,
            energy_wh,
            time_ms,
            parking_ms,
            reservation_ms,
            energy_before_wh: energy_before,
            session_elapsed_ms: session_start.map_or(0, |s| start_ms - s),
            reservation_elapsed_ms: reservation_start.map_or(0, |s| start_ms - s),
            power_kw,
            current_a,
            has_session,
            has_reservation,
        });
        energy_before = energy_before
            .checked_add(energy_wh)
            .ok_or(PriceError::Overflow)?;
    }
    Ok(out)
}

/// Prices a CDR's charging periods and returns the breakdown.
///
/// With `tariff`, every period is priced under it, whatever its `tariff_id` says (this answers
/// "what would this CDR cost under T?"). Without, each period is priced under the embedded tariff
/// its `tariff_id` names, and periods without `tariff_id` are free (OCPI: "no Tariff is relevant
/// during this period"). Each tariff's periods are priced as one group: FLAT, `step_size` and
/// min/max price apply per tariff, as OCPI does not carry `step_size` across a tariff switch.
pub fn explain_cdr(
    tariff: Option<&Tariff>,
    cdr: &Cdr,
    options: &CdrPricing,
) -> Result<Breakdown, PriceError> {
    let rounding = match options.rounding {
        Some(rule) => rule,
        None => RoundingRule::for_currency(cdr.currency())?,
    };
    let periods = periods_of(cdr, options.time_zone)?;
    // Which tariff prices which period.
    let mut groups: Vec<(&Tariff, Vec<Period>)> = Vec::new();
    for (index, (period, cp)) in periods.iter().zip(cdr.charging_periods()).enumerate() {
        let chosen = match (tariff, &cp.tariff_id) {
            (Some(t), _) => t,
            (None, None) => continue,
            (None, Some(id)) => cdr
                .tariffs()
                .iter()
                .find(|t| t.id.eq_ignore_ascii_case(id))
                .ok_or_else(|| PriceError::UnknownTariff {
                    period: index,
                    tariff_id: id.clone(),
                })?,
        };
        match groups.iter_mut().find(|(t, _)| std::ptr::eq(*t, chosen)) {
            Some((_, group)) => group.push(period.clone()),
            None => groups.push((chosen, vec![period.clone()])),
        }
    }
    let expired =
        periods.iter().any(|p| p.has_reservation) && !periods.iter().any(|p| p.has_session);
    let mut priced: Vec<(GroupResult<'_>, &[Period])> = Vec::with_capacity(groups.len());
    for (t, group) in &groups {
        if t.currency != cdr.currency() {
            return Err(PriceError::CurrencyMismatch {
                tariff: t.currency.clone(),
                cdr: cdr.currency().to_owned(),
            });
        }
        if !t.is_active_at(cdr.start_date_time()) {
            return Err(PriceError::TariffNotActive {
                tariff_id: t.id.clone(),
                at: cdr.start_date_time(),
            });
        }
        priced.push((
            pricing::price_group(t, group, expired, &rounding)?,
            group.as_slice(),
        ));
    }
    let time_ms: i64 = periods.iter().map(|p| p.time_ms + p.parking_ms).sum();
    let volumes = Volumes {
        energy_wh: periods.iter().map(|p| p.energy_wh).sum(),
        // The session duration: charging plus parking time when the CDR reports them; else (only
        // energy, say) from the first session period to the CDR end; zero for a reservation alone.
        time_ms: if periods.iter().any(|p| p.time_ms > 0 || p.parking_ms > 0) {
            time_ms
        } else {
            periods
                .iter()
                .find(|p| p.has_session)
                .map_or(0, |p| cdr.end_date_time().timestamp_millis() - p.start_ms)
        },
        parking_ms: periods.iter().map(|p| p.parking_ms).sum(),
    };
    pricing::assemble(
        cdr.currency(),
        options.time_zone,
        rounding,
        &priced,
        volumes,
    )
}

/// Prices a CDR's charging periods and returns the OCPI totals; see [`explain_cdr`].
pub fn price_cdr_periods(
    tariff: Option<&Tariff>,
    cdr: &Cdr,
    options: &CdrPricing,
) -> Result<Totals, PriceError> {
    explain_cdr(tariff, cdr, options).map(|b| b.totals)
}
