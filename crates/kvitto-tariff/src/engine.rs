//! Pricing a closed session: the entry points the node calls.

use crate::breakdown::{Breakdown, Totals};
use crate::error::PriceError;
use crate::period::Period;
use crate::pricing::{self, Volumes};
use crate::rounding::RoundingRule;
use crate::session::ClosedSession;
use crate::split;
use crate::tariff::Tariff;

/// Prices a closed session under a tariff and returns the OCPI totals.
pub fn price_session(
    tariff: &Tariff,
    session: &ClosedSession,
    rounding: &RoundingRule,
) -> Result<Totals, PriceError> {
    explain(tariff, session, rounding).map(|b| b.totals)
}

/// Prices a closed session under a tariff and returns the full breakdown (lines per charging
/// period and dimension, cap adjustments, totals), printable as a receipt.
pub fn explain(
    tariff: &Tariff,
    session: &ClosedSession,
    rounding: &RoundingRule,
) -> Result<Breakdown, PriceError> {
    price_session_periods(tariff, session, rounding).map(|(_, breakdown)| breakdown)
}

/// The charging periods of a session and its price.
pub(crate) fn price_session_periods(
    tariff: &Tariff,
    session: &ClosedSession,
    rounding: &RoundingRule,
) -> Result<(Vec<Period>, Breakdown), PriceError> {
    let start = session.cdr_start();
    if !tariff.is_active_at(start) {
        return Err(PriceError::TariffNotActive {
            tariff_id: tariff.id.clone(),
            at: start,
        });
    }
    let periods = split::session_periods(tariff, session)?;
    let group = pricing::price_group(tariff, &periods, session.is_expired_reservation(), rounding)?;
    let volumes = Volumes {
        energy_wh: session.energy_wh().into(),
        time_ms: (session.end() - session.start()).num_milliseconds(),
        parking_ms: periods.iter().map(|p| p.parking_ms).sum(),
    };
    let breakdown = pricing::assemble(
        &tariff.currency,
        session.time_zone(),
        *rounding,
        &[(group, &periods)],
        volumes,
    )?;
    Ok((periods, breakdown))
}
