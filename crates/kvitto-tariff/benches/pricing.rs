//! Sessions priced per second, for a simple and a complex tariff.
//!
//! Run with `cargo bench -p kvitto-tariff --bench pricing`; criterion prints the time per session
//! and the throughput in sessions per second (`thrpt`, elem/s).

// A benchmark with a broken fixture should stop loudly.
#![allow(clippy::unwrap_used)]

use std::hint::black_box;
use std::time::Duration as StdDuration;

use chrono::{Duration, TimeZone, Utc};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use kvitto_tariff::{
    parse_cdr, parse_tariff, price_cdr_periods, price_session, CdrPricing, ClosedSession,
    MeterSample, RoundingRule, SessionInput, Tariff,
};
use rust_decimal::Decimal;

const BERLIN: chrono_tz::Tz = chrono_tz::Europe::Berlin;

fn conformance(name: &str) -> String {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/conformance/ocpi-2.2.1");
    std::fs::read_to_string(dir.join(name)).unwrap()
}

/// Peak and off-peak energy, cheaper energy after 30 kWh, a surcharge above 50 kW, charging time
/// after the first hour, weekday and Saturday parking windows, a weekend rate, and caps.
const COMPLEX: &str = r#"{
  "country_code": "DE", "party_id": "KVI", "id": "COMPLEX", "currency": "EUR",
  "min_price": {"excl_vat": 1.00, "incl_vat": 1.19},
  "max_price": {"excl_vat": 150.00, "incl_vat": 178.50},
  "elements": [
    {"price_components": [{"type": "FLAT", "price": 0.99, "vat": 19, "step_size": 1}]},
    {"price_components": [{"type": "ENERGY", "price": 0.69, "vat": 19, "step_size": 1}],
     "restrictions": {"min_power": 50}},
    {"price_components": [{"type": "ENERGY", "price": 0.29, "vat": 19, "step_size": 1}],
     "restrictions": {"min_kwh": 30}},
    {"price_components": [{"type": "ENERGY", "price": 0.39, "vat": 19, "step_size": 1}],
     "restrictions": {"day_of_week": ["SATURDAY", "SUNDAY"]}},
    {"price_components": [{"type": "ENERGY", "price": 0.49, "vat": 19, "step_size": 1}],
     "restrictions": {"start_time": "07:00", "end_time": "22:00"}},
    {"price_components": [{"type": "ENERGY", "price": 0.35, "vat": 19, "step_size": 1}]},
    {"price_components": [{"type": "TIME", "price": 1.20, "vat": 19, "step_size": 60}],
     "restrictions": {"min_duration": 3600}},
    {"price_components": [{"type": "PARKING_TIME", "price": 6.00, "vat": 19, "step_size": 300}],
     "restrictions": {"start_time": "08:00", "end_time": "20:00",
                      "day_of_week": ["MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY"]}},
    {"price_components": [{"type": "PARKING_TIME", "price": 3.00, "vat": 19, "step_size": 300}],
     "restrictions": {"start_time": "10:00", "end_time": "16:00", "day_of_week": ["SATURDAY"]}}
  ],
  "last_updated": "2024-01-01T00:00:00Z"
}"#;

/// 20 kWh in two hours, a sample every 10 minutes.
fn simple_session() -> ClosedSession {
    let start = Utc.with_ymd_and_hms(2024, 3, 5, 9, 0, 0).unwrap();
    let samples = (0..=12)
        .map(|i| MeterSample {
            time: start + Duration::minutes(10 * i),
            energy_wh: 100_000 + 1_667 * i as u64,
            current_a: None,
        })
        .collect();
    SessionInput {
        start,
        end: start + Duration::minutes(120),
        samples,
        time_zone: BERLIN,
        reservation: None,
    }
    .validate()
    .unwrap()
}

/// Friday 18:00 to Saturday 18:00 with a sample every minute: power swinging between 3 and
/// 60 kW for six hours, then parked for the rest of the day.
fn complex_session() -> ClosedSession {
    let start = Utc.with_ymd_and_hms(2024, 3, 1, 17, 0, 0).unwrap();
    let mut energy_wh = 5_000_000u64;
    let samples = (0..=1440)
        .map(|minute| {
            if (1..=360).contains(&minute) {
                energy_wh += [50, 1_000, 300, 700][(minute as usize / 17) % 4];
            }
            MeterSample {
                time: start + Duration::minutes(minute),
                energy_wh,
                current_a: Some(Decimal::from(16)),
            }
        })
        .collect();
    SessionInput {
        start,
        end: start + Duration::minutes(1440),
        samples,
        time_zone: BERLIN,
        reservation: None,
    }
    .validate()
    .unwrap()
}

fn bench(c: &mut Criterion) {
    let simple: Tariff = parse_tariff(&conformance("tariff_9_025kwh_start.json"))
        .unwrap()
        .value;
    let complex: Tariff = parse_tariff(COMPLEX).unwrap().value;
    let ocpi_complex: Tariff = parse_tariff(&conformance("tariff_4_complex.json"))
        .unwrap()
        .value;
    let rounding = RoundingRule::for_currency("EUR").unwrap();
    let short = simple_session();
    let long = complex_session();
    let cdr = parse_cdr(&conformance("cdr_example.json")).unwrap().value;

    let mut group = c.benchmark_group("price_session");
    group
        .throughput(Throughput::Elements(1))
        .sample_size(20)
        .warm_up_time(StdDuration::from_secs(1))
        .measurement_time(StdDuration::from_secs(3));
    group.bench_function("simple tariff, 2 h, 13 samples", |b| {
        b.iter(|| price_session(black_box(&simple), black_box(&short), &rounding).unwrap())
    });
    group.bench_function("OCPI complex tariff_4, 24 h, 1441 samples", |b| {
        b.iter(|| price_session(black_box(&ocpi_complex), black_box(&long), &rounding).unwrap())
    });
    group.bench_function("complex tariff (9 elements), 24 h, 1441 samples", |b| {
        b.iter(|| price_session(black_box(&complex), black_box(&long), &rounding).unwrap())
    });
    group.bench_function("re-price cdr_example periods", |b| {
        b.iter(|| price_cdr_periods(None, black_box(&cdr), &CdrPricing::default()).unwrap())
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
