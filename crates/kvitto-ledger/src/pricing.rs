//! Pricing a closed session from its signed readings and the tariff published on the log.
//!
//! This is the computation anyone holding the readings can redo: the readings' timestamps and
//! registers become meter samples (start reading = plug-in, stop reading = plug-out), and the
//! tariff is the JSON of the `tariff_published` entry the session record names.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use kvitto_core::reading::SignedReading;
use kvitto_tariff::{explain, parse_tariff, Breakdown, MeterSample, RoundingRule, SessionInput};
use thiserror::Error;

#[derive(Debug, Error)]
pub enum PricingError {
    #[error("the session has {0} readings; pricing needs at least a start and a stop")]
    TooFewReadings(usize),
    #[error("reading timestamp {0} ms is out of range")]
    BadTime(u64),
    #[error("the published tariff does not parse: {0}")]
    Tariff(String),
    #[error("the session cannot be priced: {0}")]
    Session(String),
}

fn time(ms: u64) -> Result<DateTime<Utc>, PricingError> {
    i64::try_from(ms)
        .ok()
        .and_then(DateTime::from_timestamp_millis)
        .ok_or(PricingError::BadTime(ms))
}

/// The price and its line-by-line breakdown, under the tariff's currency rounding rule.
pub fn price_readings(
    readings: &[SignedReading],
    tariff_json: &str,
    time_zone: Tz,
) -> Result<Breakdown, PricingError> {
    let (Some(first), Some(last)) = (readings.first(), readings.last()) else {
        return Err(PricingError::TooFewReadings(readings.len()));
    };
    if readings.len() < 2 {
        return Err(PricingError::TooFewReadings(readings.len()));
    }
    let tariff = parse_tariff(tariff_json)
        .map_err(|e| PricingError::Tariff(e.to_string()))?
        .value;
    let samples = readings
        .iter()
        .map(|r| {
            Ok(MeterSample {
                time: time(r.reading.timestamp_ms)?,
                energy_wh: r.reading.register_wh,
                current_a: None,
            })
        })
        .collect::<Result<Vec<_>, PricingError>>()?;
    let input = SessionInput {
        start: time(first.reading.timestamp_ms)?,
        end: time(last.reading.timestamp_ms)?,
        samples,
        time_zone,
        reservation: None,
    };
    let session = input
        .validate()
        .map_err(|e| PricingError::Session(e.to_string()))?;
    let rounding = RoundingRule::for_currency(tariff.currency())
        .map_err(|e| PricingError::Tariff(e.to_string()))?;
    explain(&tariff, &session, &rounding).map_err(|e| PricingError::Session(e.to_string()))
}
