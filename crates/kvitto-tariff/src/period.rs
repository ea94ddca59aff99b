//! Charging periods as the pricing core sees them, and the restriction matcher.
//!
//! Both ways into the engine end here: a session from meter samples is split into [`Period`]s
//! (see `split`), and an existing CDR's `charging_periods` are read into [`Period`]s (see
//! `reprice`). Restrictions are evaluated once per period, at its start; the splitter guarantees
//! that nothing price-relevant changes inside a period it makes.

use chrono::{DateTime, Datelike, NaiveDateTime, NaiveTime, Utc};
use rust_decimal::Decimal;

use crate::error::PriceError;
use crate::tariff::{
    DayOfWeek, ReservationRestrictionType, Tariff, TariffDimensionType, TariffRestrictions,
    TimeOfDay,
};

/// A closed range of a quantity observed during a period (power in kW or current in A).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Span {
    pub(crate) min: Decimal,
    pub(crate) max: Decimal,
}

impl Span {
    pub(crate) fn point(value: Decimal) -> Span {
        Span {
            min: value,
            max: value,
        }
    }

    pub(crate) fn union(self, other: Span) -> Span {
        Span {
            min: self.min.min(other.min),
            max: self.max.max(other.max),
        }
    }
}

/// What a period made from samples contains.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// Energy flows, or the session has not drawn energy yet.
    Charging,
    /// Plugged in, no energy, after charging has happened.
    Parking,
    /// Reserved, before the session.
    Reservation,
    /// Read from a CDR: any mix of dimensions.
    FromCdr,
}

/// One period: `start_ms..end_ms` with its volumes and the facts restrictions look at.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Period {
    pub(crate) start_ms: i64,
    pub(crate) end_ms: i64,
    /// Wall-clock time at the start, in the location's time zone.
    pub(crate) local_start: NaiveDateTime,
    pub(crate) kind: Kind,
    pub(crate) energy_wh: Decimal,
    pub(crate) time_ms: i64,
    pub(crate) parking_ms: i64,
    pub(crate) reservation_ms: i64,
    /// Energy consumed in the session before this period.
    pub(crate) energy_before_wh: Decimal,
    /// Time since the session started (plug-in).
    pub(crate) session_elapsed_ms: i64,
    /// Time since the reservation started.
    pub(crate) reservation_elapsed_ms: i64,
    /// Charging power during the period; `None` when unknown.
    pub(crate) power_kw: Option<Span>,
    /// Charging current during the period; `None` when unknown.
    pub(crate) current_a: Option<Span>,
    /// The period carries session volumes (energy, charging or parking time).
    pub(crate) has_session: bool,
    /// The period carries reservation time.
    pub(crate) has_reservation: bool,
}

impl Period {
    pub(crate) fn start(&self) -> DateTime<Utc> {
        utc(self.start_ms)
    }

    pub(crate) fn end(&self) -> DateTime<Utc> {
        utc(self.end_ms)
    }
}

pub(crate) fn utc(ms: i64) -> DateTime<Utc> {
    // Cannot fail for the instants the engine handles: they come from validated DateTimes
    // plus bounded durations, well inside chrono's range of ±262 000 years.
    DateTime::from_timestamp_millis(ms).unwrap_or_default()
}

/// Whether a lookup is for session volumes or for reservation volumes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Context {
    Session,
    Reservation { expired: bool },
}

/// The element and component that price a dimension in a period.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct Selection {
    pub(crate) element: usize,
    pub(crate) component: usize,
}

/// Is `t` inside the daily window `start..end`? `end == 00:00` means the end of the day; a
/// window whose end is before its start wraps past midnight; `start == end` is empty.
pub(crate) fn in_time_window(
    start: Option<TimeOfDay>,
    end: Option<TimeOfDay>,
    t: NaiveTime,
) -> bool {
    let end_minutes = |e: TimeOfDay| {
        if e == TimeOfDay::MIDNIGHT {
            1440
        } else {
            e.minutes()
        }
    };
    let from_start = |s: TimeOfDay| t >= s.to_naive();
    let until_end = |e: TimeOfDay| e == TimeOfDay::MIDNIGHT || t < e.to_naive();
    match (start, end) {
        (None, None) => true,
        (Some(s), None) => from_start(s),
        (None, Some(e)) => until_end(e),
        (Some(s), Some(e)) => match s.minutes().cmp(&end_minutes(e)) {
            std::cmp::Ordering::Less => from_start(s) && until_end(e),
            std::cmp::Ordering::Greater => from_start(s) || t < e.to_naive(),
            std::cmp::Ordering::Equal => false,
        },
    }
}

fn kwh_to_wh(kwh: Decimal) -> Decimal {
    kwh.checked_mul(Decimal::ONE_THOUSAND)
        .unwrap_or(Decimal::MAX)
}

fn seconds_to_ms(s: u64) -> i64 {
    i64::try_from(s.saturating_mul(1000)).unwrap_or(i64::MAX)
}

/// Does an element with restrictions `r` apply to period `p` in context `ctx`?
pub(crate) fn element_applies(
    r: Option<&TariffRestrictions>,
    p: &Period,
    ctx: Context,
) -> Result<bool, PriceError> {
    let reservation = r.and_then(TariffRestrictions::reservation);
    let context_ok = match (reservation, ctx) {
        (None, Context::Session) => true,
        (Some(ReservationRestrictionType::Reservation), Context::Reservation { .. }) => true,
        (
            Some(ReservationRestrictionType::ReservationExpires),
            Context::Reservation { expired },
        ) => expired,
        _ => false,
    };
    let Some(r) = r else {
        return Ok(context_ok);
    };
    if !context_ok {
        return Ok(false);
    }
    let date = p.local_start.date();
    if r.start_date.is_some_and(|d| date < d) || r.end_date.is_some_and(|d| date >= d) {
        return Ok(false);
    }
    if let Some(days) = &r.day_of_week {
        if !days.contains(&DayOfWeek::from_weekday(date.weekday())) {
            return Ok(false);
        }
    }
    if !in_time_window(r.start_time, r.end_time, p.local_start.time()) {
        return Ok(false);
    }
    let (elapsed_ms, energy_before_wh) = match ctx {
        Context::Session => (p.session_elapsed_ms, p.energy_before_wh),
        Context::Reservation { .. } => (p.reservation_elapsed_ms, Decimal::ZERO),
    };
    if r.min_duration
        .is_some_and(|s| elapsed_ms < seconds_to_ms(s))
        || r.max_duration
            .is_some_and(|s| elapsed_ms >= seconds_to_ms(s))
    {
        return Ok(false);
    }
    if r.min_kwh.is_some_and(|k| energy_before_wh < kwh_to_wh(k))
        || r.max_kwh.is_some_and(|k| energy_before_wh >= kwh_to_wh(k))
    {
        return Ok(false);
    }
    if r.min_power.is_some() || r.max_power.is_some() {
        let power = p
            .power_kw
            .ok_or(PriceError::UnknownPower { at: p.start() })?;
        if r.min_power.is_some_and(|x| power.min < x) || r.max_power.is_some_and(|x| power.max >= x)
        {
            return Ok(false);
        }
    }
    if r.min_current.is_some() || r.max_current.is_some() {
        let current = p
            .current_a
            .ok_or(PriceError::UnknownCurrent { at: p.start() })?;
        if r.min_current.is_some_and(|x| current.min < x)
            || r.max_current.is_some_and(|x| current.max >= x)
        {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Finds, per dimension, the first element that applies and has a component for it; caches
/// each element's verdict for the period.
pub(crate) struct Matcher<'t, 'p> {
    tariff: &'t Tariff,
    period: &'p Period,
    session: Vec<Option<bool>>,
    reservation: Vec<Option<bool>>,
}

impl<'t, 'p> Matcher<'t, 'p> {
    pub(crate) fn new(tariff: &'t Tariff, period: &'p Period) -> Self {
        let n = tariff.elements.len();
        Matcher {
            tariff,
            period,
            session: vec![None; n],
            reservation: vec![None; n],
        }
    }

    pub(crate) fn select(
        &mut self,
        ctx: Context,
        dimension: TariffDimensionType,
    ) -> Result<Option<Selection>, PriceError> {
        for (index, element) in self.tariff.elements.iter().enumerate() {
            let Some((component, _)) = element.component(dimension) else {
                continue;
            };
            let cache = match ctx {
                Context::Session => &mut self.session[index],
                Context::Reservation { .. } => &mut self.reservation[index],
            };
            let applies = match *cache {
                Some(verdict) => verdict,
                None => {
                    let verdict = element_applies(element.restrictions.as_ref(), self.period, ctx)?;
                    *cache = Some(verdict);
                    verdict
                }
            };
            if applies {
                return Ok(Some(Selection {
                    element: index,
                    component,
                }));
            }
        }
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(h: u32, m: u32) -> NaiveTime {
        NaiveTime::from_hms_opt(h, m, 0).unwrap()
    }
    fn tod(h: u16, m: u16) -> Option<TimeOfDay> {
        TimeOfDay::new(h, m)
    }

    #[test]
    fn windows_wrap_past_midnight_and_end_at_midnight() {
        // 22:00-06:00 wraps.
        assert!(in_time_window(tod(22, 0), tod(6, 0), t(23, 30)));
        assert!(in_time_window(tod(22, 0), tod(6, 0), t(0, 0)));
        assert!(in_time_window(tod(22, 0), tod(6, 0), t(5, 59)));
        assert!(!in_time_window(tod(22, 0), tod(6, 0), t(6, 0)));
        assert!(!in_time_window(tod(22, 0), tod(6, 0), t(12, 0)));
        // 20:00-00:00 runs to the end of the day.
        assert!(in_time_window(tod(20, 0), tod(0, 0), t(23, 59)));
        assert!(!in_time_window(tod(20, 0), tod(0, 0), t(0, 0)));
        // 00:00-17:00.
        assert!(in_time_window(tod(0, 0), tod(17, 0), t(0, 0)));
        assert!(!in_time_window(tod(0, 0), tod(17, 0), t(17, 0)));
        // An end alone of 00:00 is the whole day; equal start and end is empty.
        assert!(in_time_window(None, tod(0, 0), t(13, 0)));
        assert!(!in_time_window(tod(8, 0), tod(8, 0), t(8, 0)));
    }
}
