//! Splitting a closed session into charging periods.
//!
//! 1. The samples cut the session into intervals; energy is linear inside each (constant power
//!    `ΔWh / Δt`), and the current holds from one sample to the next. An interval with energy is
//!    charging; an interval without energy is parking once energy has flowed, and charging
//!    (connection set-up) before that. Time before the first and after the last sample has no
//!    energy.
//! 2. Each interval is cut again wherever a restriction of the tariff can change its verdict:
//!    local times of day named by `start_time`/`end_time`, local midnight (dates and weekdays),
//!    daylight-saving transitions, `min_duration`/`max_duration` from plug-in, and the instants
//!    the cumulative energy reaches `min_kwh`/`max_kwh` (interpolated, rounded up to the
//!    millisecond; the energy is split exactly at the threshold).
//! 3. Adjacent pieces of the same kind that select the same price components for every
//!    dimension are merged; what is left are the CDR's charging periods.

use chrono::{LocalResult, NaiveDateTime, Offset, TimeZone};
use chrono_tz::Tz;
use rust_decimal::prelude::ToPrimitive;
use rust_decimal::Decimal;

use crate::error::PriceError;
use crate::period::{utc, Context, Kind, Matcher, Period, Selection, Span};
use crate::session::ClosedSession;
use crate::tariff::{Tariff, TariffDimensionType, TimeOfDay};

/// Where a tariff can change its mind, collected once per tariff.
#[derive(Debug)]
struct CutPlan {
    /// Local times of day at which some restriction flips.
    local_edges: Vec<TimeOfDay>,
    /// Session durations (ms from plug-in) at which some restriction flips.
    session_durations_ms: Vec<i64>,
    /// Reservation durations (ms from reservation start) at which some restriction flips.
    reservation_durations_ms: Vec<i64>,
    /// Cumulative energies (Wh) at which some restriction flips.
    energy_thresholds_wh: Vec<Decimal>,
}

impl CutPlan {
    fn new(tariff: &Tariff) -> CutPlan {
        let mut plan = CutPlan {
            local_edges: Vec::new(),
            session_durations_ms: Vec::new(),
            reservation_durations_ms: Vec::new(),
            energy_thresholds_wh: Vec::new(),
        };
        for r in tariff
            .elements
            .iter()
            .filter_map(|e| e.restrictions.as_ref())
        {
            if r.uses_local_time() {
                plan.local_edges.push(TimeOfDay::MIDNIGHT);
            }
            plan.local_edges.extend(r.start_time);
            plan.local_edges.extend(r.end_time);
            let durations = match r.reservation {
                Some(_) => &mut plan.reservation_durations_ms,
                None => &mut plan.session_durations_ms,
            };
            for seconds in [r.min_duration, r.max_duration].into_iter().flatten() {
                durations.push(i64::try_from(seconds.saturating_mul(1000)).unwrap_or(i64::MAX));
            }
            if r.reservation.is_none() {
                for kwh in [r.min_kwh, r.max_kwh].into_iter().flatten() {
                    if let Some(wh) = kwh.checked_mul(Decimal::ONE_THOUSAND) {
                        plan.energy_thresholds_wh.push(wh);
                    }
                }
            }
        }
        plan.local_edges.sort_unstable();
        plan.local_edges.dedup();
        plan.session_durations_ms.sort_unstable();
        plan.session_durations_ms.dedup();
        plan.reservation_durations_ms.sort_unstable();
        plan.reservation_durations_ms.dedup();
        plan.energy_thresholds_wh.sort_unstable();
        plan.energy_thresholds_wh.dedup();
        plan
    }

    /// Instants strictly inside `from_ms..to_ms` where a time restriction may flip.
    fn time_cuts(&self, tz: Tz, from_ms: i64, to_ms: i64, durations_ms: &[i64]) -> Vec<i64> {
        let mut cuts = Vec::new();
        if !self.local_edges.is_empty() {
            local_cuts(tz, from_ms, to_ms, &self.local_edges, &mut cuts);
        }
        for d in durations_ms {
            if let Some(at) = from_ms.checked_add(*d) {
                if from_ms < at && at < to_ms {
                    cuts.push(at);
                }
            }
        }
        cuts.sort_unstable();
        cuts.dedup();
        cuts
    }
}

fn offset_seconds(tz: Tz, ms: i64) -> i32 {
    tz.offset_from_utc_datetime(&utc(ms).naive_utc())
        .fix()
        .local_minus_utc()
}

pub(crate) fn local_time(tz: Tz, ms: i64) -> NaiveDateTime {
    utc(ms).with_timezone(&tz).naive_local()
}

/// Pushes the instants in `from_ms..to_ms` (exclusive) where the local clock shows one of
/// `edges`, and every UTC-offset change (daylight saving) in between: across a change the local
/// clock jumps, which can enter or leave a window without showing its edge.
fn local_cuts(tz: Tz, from_ms: i64, to_ms: i64, edges: &[TimeOfDay], cuts: &mut Vec<i64>) {
    const PROBE_MS: i64 = 3_600_000;
    let mut probe = from_ms;
    while probe < to_ms {
        let next = probe.saturating_add(PROBE_MS).min(to_ms);
        let before = offset_seconds(tz, probe);
        if offset_seconds(tz, next) != before {
            // Binary search for the first millisecond with the new offset.
            let (mut lo, mut hi) = (probe, next);
            while hi - lo > 1 {
                let mid = lo + (hi - lo) / 2;
                if offset_seconds(tz, mid) == before {
                    lo = mid;
                } else {
                    hi = mid;
                }
            }
            if from_ms < hi && hi < to_ms {
                cuts.push(hi);
            }
        }
        probe = next;
    }
    let first_day = local_time(tz, from_ms).date();
    let first_day = first_day.pred_opt().unwrap_or(first_day);
    let last_day = local_time(tz, to_ms).date();
    let last_day = last_day.succ_opt().unwrap_or(last_day);
    let mut day = first_day;
    loop {
        for edge in edges {
            let local = day.and_time(edge.to_naive());
            let instants = match tz.from_local_datetime(&local) {
                LocalResult::Single(t) => [Some(t), None],
                LocalResult::Ambiguous(a, b) => [Some(a), Some(b)],
                // The clock skips this time; the offset change found above is the cut.
                LocalResult::None => [None, None],
            };
            for t in instants.into_iter().flatten() {
                let ms = t.timestamp_millis();
                if from_ms < ms && ms < to_ms {
                    cuts.push(ms);
                }
            }
        }
        match day.succ_opt() {
            Some(next) if next <= last_day => day = next,
            _ => break,
        }
    }
}

/// A stretch between two consecutive samples (or the session edges), before cutting.
#[derive(Debug)]
struct Interval {
    start_ms: i64,
    end_ms: i64,
    /// Cumulative session energy at the start and end, Wh.
    energy_start_wh: u64,
    energy_end_wh: u64,
    current_a: Option<Decimal>,
    kind: Kind,
}

fn intervals(session: &ClosedSession) -> Vec<Interval> {
    let start_ms = session.start().timestamp_millis();
    let end_ms = session.end().timestamp_millis();
    let samples = session.samples();
    let base_wh = samples.first().map_or(0, |s| s.energy_wh);
    // (time, cumulative energy, current holding from this point)
    let mut points: Vec<(i64, u64, Option<Decimal>)> = Vec::with_capacity(samples.len() + 2);
    match samples.first() {
        Some(first) if first.time.timestamp_millis() == start_ms => {}
        _ => points.push((start_ms, 0, None)),
    }
    for s in samples {
        points.push((
            s.time.timestamp_millis(),
            s.energy_wh - base_wh,
            s.current_a,
        ));
    }
    let last_energy = points.last().map_or(0, |p| p.1);
    if points.last().is_none_or(|p| p.0 < end_ms) {
        points.push((end_ms, last_energy, None));
    }
    let mut has_charged = false;
    points
        .windows(2)
        .map(|w| {
            let (a, b) = (w[0], w[1]);
            let kind = if b.1 > a.1 {
                has_charged = true;
                Kind::Charging
            } else if has_charged {
                Kind::Parking
            } else {
                Kind::Charging
            };
            Interval {
                start_ms: a.0,
                end_ms: b.0,
                energy_start_wh: a.1,
                energy_end_wh: b.1,
                current_a: a.2,
                kind,
            }
        })
        .collect()
}

/// Power of an interval in kW: `ΔWh × 3600 / Δms`.
fn power_kw(delta_wh: u64, duration_ms: i64) -> Decimal {
    if delta_wh == 0 || duration_ms <= 0 {
        return Decimal::ZERO;
    }
    Decimal::from(delta_wh)
        .checked_mul(Decimal::from(3600))
        .and_then(|x| x.checked_div(Decimal::from(duration_ms)))
        .unwrap_or(Decimal::MAX)
}

/// Cuts one interval into pieces at `time_cuts` and at energy thresholds.
fn cut_interval(
    interval: &Interval,
    time_cuts: &[i64],
    thresholds_wh: &[Decimal],
    out: &mut Vec<(i64, i64, Decimal, Decimal)>,
) {
    let (a, b) = (interval.start_ms, interval.end_ms);
    let e_a = Decimal::from(interval.energy_start_wh);
    let e_b = Decimal::from(interval.energy_end_wh);
    // Plain operators cannot overflow here: energies are below MAX_SESSION_ENERGY_WH and
    // durations below MAX_SESSION_MS, so every product stays under 10^17.
    let delta = e_b - e_a;
    let duration = Decimal::from(b - a);
    // (time, cumulative energy) at every cut, in order.
    let mut points: Vec<(i64, Decimal)> = Vec::new();
    let first = time_cuts.partition_point(|&t| t <= a);
    for &t in time_cuts[first..].iter().take_while(|&&t| t < b) {
        let energy = if delta.is_zero() {
            e_a
        } else {
            // Linear interpolation, kept to the milliwatt-hour (ties to even).
            (e_a + delta * Decimal::from(t - a) / duration).round_dp(3)
        };
        points.push((t, energy));
    }
    if !delta.is_zero() {
        for &k in thresholds_wh.iter().filter(|&&k| e_a < k && k < e_b) {
            // The crossing instant, rounded up so the energy has been reached by then.
            let offset = ((k - e_a) * duration / delta).ceil().to_i64().unwrap_or(0);
            points.push(((a + offset).clamp(a, b), k));
        }
    }
    points.sort();
    let mut previous = (a, e_a);
    for (t, energy) in points.into_iter().chain(std::iter::once((b, e_b))) {
        // Interpolated energies are rounded; keep them monotone and within the interval.
        let energy = energy.max(previous.1).min(e_b);
        if t > previous.0 || energy > previous.1 {
            out.push((previous.0, t, previous.1, energy));
        }
        previous = (t, energy);
    }
}

/// The price components that price a period's volumes (by kind: charging prices FLAT, ENERGY and
/// TIME; parking FLAT and PARKING_TIME; a reservation its FLAT and TIME). Periods are merged only
/// when these agree, which also guarantees that re-pricing the merged period from the CDR
/// selects the same components: restrictions evaluated at the merged start see the first
/// piece's facts, and power and current ranges widen only over pieces that matched alike.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Selections([Option<Selection>; 3]);

fn selections(tariff: &Tariff, period: &Period, expired: bool) -> Result<Selections, PriceError> {
    use TariffDimensionType::{Energy, Flat, ParkingTime, Time};
    let mut m = Matcher::new(tariff, period);
    let (ctx, dims) = match period.kind {
        Kind::Charging => (Context::Session, [Flat, Energy, Time]),
        Kind::Parking => (Context::Session, [Flat, ParkingTime, ParkingTime]),
        Kind::Reservation | Kind::FromCdr => (Context::Reservation { expired }, [Flat, Time, Time]),
    };
    Ok(Selections([
        m.select(ctx, dims[0])?,
        m.select(ctx, dims[1])?,
        m.select(ctx, dims[2])?,
    ]))
}

fn merge(into: &mut Period, next: &Period) {
    into.end_ms = next.end_ms;
    into.energy_wh += next.energy_wh;
    into.time_ms += next.time_ms;
    into.parking_ms += next.parking_ms;
    into.reservation_ms += next.reservation_ms;
    into.power_kw = into.power_kw.zip(next.power_kw).map(|(a, b)| a.union(b));
    into.current_a = into.current_a.zip(next.current_a).map(|(a, b)| a.union(b));
}

/// Splits a session into priced-ready periods: reservation periods first, then the session's.
pub(crate) fn session_periods(
    tariff: &Tariff,
    session: &ClosedSession,
) -> Result<Vec<Period>, PriceError> {
    let plan = CutPlan::new(tariff);
    let tz = session.time_zone();
    let expired = session.is_expired_reservation();
    let mut pieces: Vec<Period> = Vec::new();

    if let Some(r) = session.reservation() {
        let (from, to) = (r.start.timestamp_millis(), r.end.timestamp_millis());
        let cuts = plan.time_cuts(tz, from, to, &plan.reservation_durations_ms);
        let bounds: Vec<i64> = std::iter::once(from)
            .chain(cuts)
            .chain(std::iter::once(to))
            .collect();
        for w in bounds.windows(2) {
            pieces.push(Period {
                start_ms: w[0],
                end_ms: w[1],
                local_start: local_time(tz, w[0]),
                kind: Kind::Reservation,
                energy_wh: Decimal::ZERO,
                time_ms: 0,
                parking_ms: 0,
                reservation_ms: w[1] - w[0],
                energy_before_wh: Decimal::ZERO,
                session_elapsed_ms: 0,
                reservation_elapsed_ms: w[0] - from,
                power_kw: Some(Span::point(Decimal::ZERO)),
                current_a: Some(Span::point(Decimal::ZERO)),
                has_session: false,
                has_reservation: true,
            });
        }
    }

    if !expired {
        let (from, to) = (
            session.start().timestamp_millis(),
            session.end().timestamp_millis(),
        );
        let cuts = plan.time_cuts(tz, from, to, &plan.session_durations_ms);
        let mut raw = Vec::new();
        for interval in intervals(session) {
            raw.clear();
            cut_interval(&interval, &cuts, &plan.energy_thresholds_wh, &mut raw);
            let delta_wh = interval.energy_end_wh - interval.energy_start_wh;
            let power = power_kw(delta_wh, interval.end_ms - interval.start_ms);
            let current = if delta_wh == 0 {
                Some(Decimal::ZERO)
            } else {
                interval.current_a
            };
            for &(start_ms, end_ms, energy_start, energy_end) in &raw {
                let charging = interval.kind == Kind::Charging;
                pieces.push(Period {
                    start_ms,
                    end_ms,
                    local_start: local_time(tz, start_ms),
                    kind: interval.kind,
                    energy_wh: energy_end - energy_start,
                    time_ms: if charging { end_ms - start_ms } else { 0 },
                    parking_ms: if charging { 0 } else { end_ms - start_ms },
                    reservation_ms: 0,
                    energy_before_wh: energy_start,
                    session_elapsed_ms: start_ms - from,
                    reservation_elapsed_ms: 0,
                    power_kw: Some(Span::point(power)),
                    current_a: current.map(Span::point),
                    has_session: true,
                    has_reservation: false,
                });
            }
        }
    }

    let mut merged: Vec<(Period, Selections)> = Vec::with_capacity(pieces.len());
    for piece in pieces {
        let chosen = selections(tariff, &piece, expired)?;
        match merged.last_mut() {
            Some((last, last_chosen))
                if last.kind == piece.kind
                    && last.end_ms == piece.start_ms
                    && *last_chosen == chosen =>
            {
                merge(last, &piece);
            }
            _ => merged.push((piece, chosen)),
        }
    }
    Ok(merged.into_iter().map(|(p, _)| p).collect())
}
