//! Properties of the engine over generated tariffs and sessions.

use chrono::Duration;
use kvitto_tariff::{
    parse_tariff, price_session, ClosedSession, MeterSample, RoundingRule, Tariff, Totals,
};
use proptest::prelude::*;
use rust_decimal::Decimal;

use crate::support::{local, tariff, Plan, BERLIN};

fn eur() -> RoundingRule {
    RoundingRule::for_currency("EUR").unwrap()
}

fn cents(c: u32) -> String {
    format!("{}.{:02}", c / 100, c % 100)
}

/// A component: (price in cents, step size, VAT percent or none).
type Component = (u32, u32, Option<u32>);

fn component() -> impl Strategy<Value = Option<Component>> {
    proptest::option::of((0u32..=500, 1u32..=3600, proptest::option::of(0u32..=25)))
}

/// A single unrestricted element with any of the four dimensions, and optional caps.
fn simple_tariff(
    flat: Option<Component>,
    energy: Option<Component>,
    time: Option<Component>,
    parking: Option<Component>,
    caps: Option<(u32, u32)>,
) -> Tariff {
    let mut components = Vec::new();
    for (name, c) in [
        ("FLAT", flat),
        ("ENERGY", energy),
        ("TIME", time),
        ("PARKING_TIME", parking),
    ] {
        if let Some((price, step, vat)) = c {
            let vat = vat.map(|v| format!(r#","vat":{v}"#)).unwrap_or_default();
            components.push(format!(
                r#"{{"type":"{name}","price":{}{vat},"step_size":{step}}}"#,
                cents(price)
            ));
        }
    }
    if components.is_empty() {
        components.push(r#"{"type":"FLAT","price":0,"step_size":0}"#.to_owned());
    }
    let caps = caps
        .map(|(min, max)| {
            format!(
                r#","min_price":{{"excl_vat":{},"incl_vat":{}}},"max_price":{{"excl_vat":{},"incl_vat":{}}}"#,
                cents(min),
                cents(min * 11 / 10),
                cents(max),
                cents(max * 11 / 10)
            )
        })
        .unwrap_or_default();
    let text = format!(
        r#"{{"country_code":"DE","party_id":"KVI","id":"P","currency":"EUR"{caps},
            "elements":[{{"price_components":[{}]}}],"last_updated":"2024-01-01T00:00:00Z"}}"#,
        components.join(",")
    );
    parse_tariff(&text).unwrap().value
}

fn session(charge_min: i64, energy_wh: u64, park_min: i64) -> ClosedSession {
    let plan = Plan::at("2024-03-05 10:00").charge(Duration::minutes(charge_min), energy_wh);
    if park_min > 0 {
        plan.park(Duration::minutes(park_min)).session()
    } else {
        plan.session()
    }
}

fn totals(t: &Tariff, s: &ClosedSession) -> Totals {
    price_session(t, s, &eur()).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1024, ..ProptestConfig::default() })]

    /// More energy or more time never costs less, for tariffs without caps or thresholds.
    ///
    /// One spec-conformant exception is excluded by construction: a session without parking
    /// rounds its charging time to the TIME step, while a session with billed parking rounds only
    /// the parking, so the first parking second can lower the price. Parking is therefore either
    /// present in both sessions or in neither.
    #[test]
    fn price_never_decreases_as_energy_or_time_grows(
        flat in component(), energy in component(), time in component(), parking in component(),
        charge_min in 1i64..=300, energy_wh in 1u64..=100_000, park_min in 0i64..=120,
        more_charge_min in 0i64..=120, more_wh in 0u64..=50_000, more_park_min in 0i64..=120,
    ) {
        let t = simple_tariff(flat, energy, time, parking, None);
        let more_park_min = if park_min == 0 { 0 } else { more_park_min };
        let base = totals(&t, &session(charge_min, energy_wh, park_min));
        let grown = totals(&t, &session(charge_min + more_charge_min, energy_wh + more_wh, park_min + more_park_min));
        prop_assert!(grown.total_cost.excl_vat >= base.total_cost.excl_vat, "{base:?} {grown:?}");
        prop_assert!(grown.total_cost.incl_vat >= base.total_cost.incl_vat, "{base:?} {grown:?}");
        // More energy alone, same times.
        let more_energy = totals(&t, &session(charge_min, energy_wh + more_wh, park_min));
        prop_assert!(more_energy.total_cost.excl_vat >= base.total_cost.excl_vat);
    }

    /// min_price ≤ total ≤ max_price, excl. and incl. VAT.
    #[test]
    fn caps_bound_the_total(
        flat in component(), energy in component(), time in component(), parking in component(),
        min in 0u32..=2_000, span in 0u32..=5_000,
        charge_min in 1i64..=300, energy_wh in 0u64..=100_000, park_min in 0i64..=120,
    ) {
        let t = simple_tariff(flat, energy, time, parking, Some((min, min + span)));
        let total = totals(&t, &session(charge_min, energy_wh, park_min)).total_cost;
        let (min_p, max_p) = (t.min_price().unwrap(), t.max_price().unwrap());
        prop_assert!(min_p.excl_vat <= total.excl_vat && total.excl_vat <= max_p.excl_vat, "{total:?}");
        let incl = total.incl_vat.unwrap();
        prop_assert!(min_p.incl_vat.unwrap() <= incl && incl <= max_p.incl_vat.unwrap(), "{total:?}");
    }

    /// Adding a sample on the straight line between two samples (same register slope, same
    /// current) changes nothing: not the price, not the totals.
    #[test]
    fn more_samples_on_the_same_line_do_not_change_the_price(
        which in 0usize..6,
        start_min in 0i64..2_880,
        stretches in proptest::collection::vec((1i64..=120, prop::sample::select(vec![0u64, 50, 100, 500, 800])), 1..6),
        split_at in 0usize..100,
        split_frac in 0.0f64..1.0,
    ) {
        let (name, amps) = [
            ("tariff_4_complex.json", 16),
            ("tariff_4_complex.json", 43),
            ("tariff_14_step_size.json", 0),
            ("tariffrestriction_example_max_power.json", 0),
            ("tariffrestriction_example_max_duration.json", 0),
            ("tariff_10_025kwh_parking_start.json", 0),
        ][which];
        let t = tariff(name);
        let start = local(BERLIN, "2019-02-04 00:00") + Duration::minutes(start_min);
        let mut plan = Plan::from_utc(BERLIN, start).current(amps);
        for &(minutes, wh_per_minute) in &stretches {
            plan = plan.charge(Duration::minutes(minutes), minutes as u64 * wh_per_minute);
        }
        let input = plan.input();
        // Insert a collinear sample at a whole minute strictly inside one interval.
        let i = split_at % (input.samples.len() - 1);
        let (a, b) = (input.samples[i], input.samples[i + 1]);
        let length_min = (b.time - a.time).num_minutes();
        prop_assume!(length_min >= 2);
        let k = 1 + ((length_min - 1) as f64 * split_frac) as i64 % (length_min - 1);
        let wh = a.energy_wh + (b.energy_wh - a.energy_wh) * k as u64 / length_min as u64;
        prop_assume!(((b.energy_wh - a.energy_wh) * k as u64).is_multiple_of(length_min as u64));
        let mut finer = input.clone();
        finer.samples.insert(i + 1, MeterSample { time: a.time + Duration::minutes(k), energy_wh: wh, current_a: a.current_a });
        let coarse = totals(&t, &input.validate().unwrap());
        let fine = totals(&t, &finer.validate().unwrap());
        prop_assert_eq!(coarse, fine);
    }
}

/// The exact totals stay exact: a thousand one-second periods at a price that makes each a
/// non-terminating fraction still add up to the same cents as one long period.
#[test]
fn many_small_periods_add_up_exactly() {
    let t = simple_tariff(None, None, Some((7, 1, Some(19))), None, None);
    let mut plan = Plan::at("2024-03-05 10:00");
    for _ in 0..1000 {
        plan = plan.charge(Duration::seconds(1), 1);
    }
    let many = totals(&t, &plan.session());
    let one = totals(
        &t,
        &Plan::at("2024-03-05 10:00")
            .charge(Duration::seconds(1000), 1000)
            .session(),
    );
    assert_eq!(many, one);
    // 1000 s at 0.07/h = 0.019444… → 0.02.
    assert_eq!(many.total_cost.excl_vat, Decimal::new(2, 2));
}
