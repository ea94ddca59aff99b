//! Static checks of a tariff: elements that can never apply, contradictions, missing fallbacks.
//!
//! OCPI allows all of these, so they are findings, not parse errors.

use std::fmt;

use serde::Serialize;

use crate::tariff::{
    ReservationRestrictionType, Tariff, TariffDimensionType, TariffElement, TariffRestrictions,
    TimeOfDay,
};

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub enum Severity {
    /// Part of the tariff can never take effect, or caps contradict each other.
    Error,
    /// Likely a mistake, or a gap that makes something free.
    Warning,
    /// Advice.
    Info,
}

/// What kind of finding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum LintKind {
    /// The element's restrictions can never all hold.
    ImpossibleRestriction,
    /// An earlier element always wins for this dimension.
    Shadowed,
    /// A dimension is priced only under restrictions, with no unrestricted fallback.
    NoFallback,
    /// A component the element can never use (a second one of the same dimension, or a
    /// dimension reservations cannot have).
    UnusedComponent,
    /// A restriction that has no meaning where it is.
    MeaninglessRestriction,
    /// `min_price` above `max_price`, or validity that ends before it starts.
    Contradiction,
    /// A `step_size` other than 1 (OCPI 3.0 drops `step_size`).
    StepSize,
}

/// One finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LintFinding {
    /// Severity.
    pub severity: Severity,
    /// Kind.
    pub kind: LintKind,
    /// Path of the field or element concerned, e.g. `elements[2].restrictions`.
    pub path: String,
    /// Explanation.
    pub message: String,
}

impl fmt::Display for LintFinding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let severity = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "info",
        };
        write!(f, "{severity}: {}: {}", self.path, self.message)
    }
}

const SESSION_DIMENSIONS: [TariffDimensionType; 4] = [
    TariffDimensionType::Flat,
    TariffDimensionType::Energy,
    TariffDimensionType::Time,
    TariffDimensionType::ParkingTime,
];

/// Reasons the restrictions of one element can never all hold.
fn impossibilities(r: &TariffRestrictions) -> Vec<String> {
    let mut out = Vec::new();
    not_below("kwh", r.min_kwh, r.max_kwh, &mut out);
    not_below("power", r.min_power, r.max_power, &mut out);
    not_below("current", r.min_current, r.max_current, &mut out);
    not_below("duration", r.min_duration, r.max_duration, &mut out);
    if let (Some(start), Some(end)) = (r.start_date, r.end_date) {
        if start >= end {
            out.push(format!(
                "start_date {start} is not before end_date {end} (end_date is exclusive)"
            ));
        }
    }
    if r.day_of_week.as_ref().is_some_and(Vec::is_empty) {
        out.push("day_of_week is an empty list".to_owned());
    }
    if let (Some(start), Some(end)) = (r.start_time, r.end_time) {
        if start == end && start != TimeOfDay::MIDNIGHT {
            out.push(format!(
                "start_time and end_time are both {start}: the window is empty"
            ));
        }
    }
    for (name, zero) in [
        ("max_kwh", r.max_kwh.is_some_and(|v| v.is_zero())),
        ("max_power", r.max_power.is_some_and(|v| v.is_zero())),
        ("max_current", r.max_current.is_some_and(|v| v.is_zero())),
        ("max_duration", r.max_duration == Some(0)),
    ] {
        if zero {
            out.push(format!("{name} is 0 and is exclusive: nothing is below it"));
        }
    }
    out
}

/// Reports `min_{name}` when it is not below `max_{name}` (the maximum is exclusive, so nothing
/// lies between them).
fn not_below<T: Ord + fmt::Display>(
    name: &str,
    min: Option<T>,
    max: Option<T>,
    out: &mut Vec<String>,
) {
    if let (Some(min), Some(max)) = (min, max) {
        if min >= max {
            out.push(format!("min_{name} {min} is not below max_{name} {max}"));
        }
    }
}

/// True when the element applies to every period of its context (session, or reservations of
/// its kind): no restriction except possibly `reservation`.
fn always_applies(element: &TariffElement) -> bool {
    match &element.restrictions {
        None => true,
        Some(r) => {
            let without_reservation = TariffRestrictions {
                reservation: None,
                ..r.clone()
            };
            without_reservation.is_empty()
        }
    }
}

/// Does an always-applying `earlier` element cover every period where `later` could apply?
fn covers(earlier: &TariffElement, later: &TariffElement) -> bool {
    use ReservationRestrictionType::{Reservation, ReservationExpires};
    if earlier.restrictions == later.restrictions {
        return true;
    }
    if !always_applies(earlier) {
        return false;
    }
    matches!(
        (earlier.reservation(), later.reservation()),
        (None, None)
            | (Some(Reservation), Some(_))
            | (Some(ReservationExpires), Some(ReservationExpires))
    )
}

/// Checks a tariff statically. Findings:
///
/// * errors: restrictions that can never all hold (`min_kwh >= max_kwh` and the like for power,
///   current and duration, `start_date >= end_date`, an empty `day_of_week`, `start_time ==
///   end_time`, an exclusive maximum of 0), components a reservation element cannot use,
///   `min_price` above `max_price`, validity that ends before it starts;
/// * warnings: elements or components shadowed by an earlier element that always applies (or
///   has identical restrictions), dimensions with no unrestricted fallback (they become free
///   when no restricted element applies), energy/power/current restrictions on reservation
///   elements, a second component of one dimension in an element;
/// * info: `step_size` other than 1, duplicate days.
pub fn lint(tariff: &Tariff) -> Vec<LintFinding> {
    let mut findings = Vec::new();
    let mut push = |severity, kind, path: String, message: String| {
        findings.push(LintFinding {
            severity,
            kind,
            path,
            message,
        });
    };

    if let (Some(min), Some(max)) = (tariff.min_price, tariff.max_price) {
        let incl = min.incl_vat.zip(max.incl_vat).is_some_and(|(a, b)| a > b);
        if min.excl_vat > max.excl_vat || incl {
            push(
                Severity::Error,
                LintKind::Contradiction,
                "min_price".to_owned(),
                "min_price is above max_price; max_price wins".to_owned(),
            );
        }
    }
    if let (Some(start), Some(end)) = (tariff.start_date_time, tariff.end_date_time) {
        if start >= end {
            push(
                Severity::Error,
                LintKind::Contradiction,
                "start_date_time".to_owned(),
                "the tariff is never active: start_date_time is not before end_date_time"
                    .to_owned(),
            );
        }
    }

    for (i, element) in tariff.elements.iter().enumerate() {
        let path = format!("elements[{i}]");
        if let Some(r) = &element.restrictions {
            for reason in impossibilities(r) {
                push(
                    Severity::Error,
                    LintKind::ImpossibleRestriction,
                    format!("{path}.restrictions"),
                    format!("the element never applies: {reason}"),
                );
            }
            if r.reservation.is_some()
                && (r.min_kwh.is_some()
                    || r.max_kwh.is_some()
                    || r.min_power.is_some()
                    || r.max_power.is_some()
                    || r.min_current.is_some()
                    || r.max_current.is_some())
            {
                push(
                    Severity::Warning,
                    LintKind::MeaninglessRestriction,
                    format!("{path}.restrictions"),
                    "energy, power and current are zero during a reservation".to_owned(),
                );
            }
            if let Some(days) = &r.day_of_week {
                if days.iter().enumerate().any(|(k, d)| days[..k].contains(d)) {
                    push(
                        Severity::Info,
                        LintKind::MeaninglessRestriction,
                        format!("{path}.restrictions.day_of_week"),
                        "a day is listed twice".to_owned(),
                    );
                }
            }
        }
        for (k, c) in element.price_components.iter().enumerate() {
            let cpath = format!("{path}.price_components[{k}]");
            if element.component(c.dimension).map(|(first, _)| first) != Some(k) {
                push(
                    Severity::Warning,
                    LintKind::UnusedComponent,
                    cpath.clone(),
                    format!(
                        "a second {} component in one element is never used; the first wins",
                        c.dimension
                    ),
                );
            }
            if element.reservation().is_some()
                && !matches!(
                    c.dimension,
                    TariffDimensionType::Flat | TariffDimensionType::Time
                )
            {
                push(
                    Severity::Error,
                    LintKind::UnusedComponent,
                    cpath.clone(),
                    format!(
                        "a reservation element can only have FLAT and TIME; {} is never used",
                        c.dimension
                    ),
                );
            }
            if c.dimension != TariffDimensionType::Flat && c.step_size != 1 {
                push(
                    Severity::Info,
                    LintKind::StepSize,
                    format!("{cpath}.step_size"),
                    "OCPI 3.0 drops step_size and OCPI advises 1 for forward compatibility"
                        .to_owned(),
                );
            }
        }
        // Shadowing: every dimension of this element is already decided by an earlier element.
        let dims: Vec<TariffDimensionType> = SESSION_DIMENSIONS
            .into_iter()
            .filter(|d| element.component(*d).is_some())
            .collect();
        let shadowed: Vec<(TariffDimensionType, usize)> = dims
            .iter()
            .filter_map(|&d| {
                tariff.elements[..i]
                    .iter()
                    .position(|earlier| earlier.component(d).is_some() && covers(earlier, element))
                    .map(|j| (d, j))
            })
            .collect();
        if !shadowed.is_empty() && shadowed.len() == dims.len() {
            let by: Vec<String> = shadowed
                .iter()
                .map(|(d, j)| format!("{d} by elements[{j}]"))
                .collect();
            push(
                Severity::Warning,
                LintKind::Shadowed,
                path.clone(),
                format!("the element never applies: {}", by.join(", ")),
            );
        } else {
            for (d, j) in shadowed {
                push(
                    Severity::Warning,
                    LintKind::Shadowed,
                    path.clone(),
                    format!(
                        "its {d} component is never used: elements[{j}] always prices {d} first"
                    ),
                );
            }
        }
    }

    for d in SESSION_DIMENSIONS {
        let session_elements = || tariff.elements.iter().filter(|e| e.reservation().is_none());
        let restricted =
            session_elements().any(|e| !e.is_unrestricted() && e.component(d).is_some());
        let fallback = session_elements().any(|e| e.is_unrestricted() && e.component(d).is_some());
        if restricted && !fallback {
            push(
                Severity::Warning,
                LintKind::NoFallback,
                "elements".to_owned(),
                format!(
                    "{d} is priced only by restricted elements and no unrestricted element follows them: \
                     whenever none applies, {d} is free"
                ),
            );
        }
    }
    findings
}
