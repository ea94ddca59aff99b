//! Edge cases: midnight, daylight saving in both directions, the last minute of a day, zero
//! energy, thresholds inside a sample interval, session validation, rounding rules.

use chrono::Duration;
use kvitto_tariff::{
    explain, parse_tariff, price_session, Cdr, CdrDimensionType, ClosedSession, MeterSample,
    PriceError, RoundingMode, RoundingRule, RoundingScope, SessionError, SessionInput, Tariff,
};

use crate::support::{context, dec, local, minutes, tariff, utc, Plan, BERLIN};

fn inline(elements: &str) -> Tariff {
    parse_tariff(&format!(
        r#"{{"country_code":"DE","party_id":"KVI","id":"EDGE","currency":"EUR","elements":{elements},
            "last_updated":"2024-01-01T00:00:00Z"}}"#
    ))
    .unwrap()
    .value
}

fn eur() -> RoundingRule {
    RoundingRule::for_currency("EUR").unwrap()
}

fn excl(tariff: &Tariff, session: &ClosedSession) -> String {
    price_session(tariff, session, &eur())
        .unwrap()
        .total_cost
        .excl_vat
        .to_string()
}

fn cdr_period_starts(tariff: &Tariff, session: &ClosedSession) -> Vec<String> {
    let cdr = Cdr::from_session(
        tariff,
        session,
        context("E1", utc("2025-01-01 00:00")),
        &eur(),
    )
    .unwrap();
    cdr.charging_periods()
        .iter()
        .map(|p| {
            p.start_date_time
                .with_timezone(&BERLIN)
                .format("%m-%d %H:%M:%S")
                .to_string()
        })
        .collect()
}

/// A night window 22:00-06:00 wraps past midnight; the midnight itself changes nothing.
#[test]
fn session_crossing_midnight_in_a_wrapping_window() {
    let t = inline(
        r#"[{"price_components":[{"type":"ENERGY","price":0.20,"vat":19,"step_size":1}],
             "restrictions":{"start_time":"22:00","end_time":"06:00"}},
            {"price_components":[{"type":"ENERGY","price":0.40,"vat":19,"step_size":1}]}]"#,
    );
    // 10 kW from 21:00 to 01:00: 10 kWh at 0.40, then 30 kWh at 0.20.
    let s = Plan::at("2024-03-05 21:00")
        .charge(Duration::hours(4), 40_000)
        .session();
    assert_eq!(excl(&t, &s), "10.00");
    assert_eq!(
        cdr_period_starts(&t, &s),
        ["03-05 21:00:00", "03-05 22:00:00"]
    );
}

/// `day_of_week` changes at local midnight.
#[test]
fn session_crossing_midnight_into_a_weekend_day() {
    let t = inline(
        r#"[{"price_components":[{"type":"TIME","price":1.00,"step_size":1}],
             "restrictions":{"day_of_week":["SATURDAY"]}},
            {"price_components":[{"type":"TIME","price":2.00,"step_size":1}]}]"#,
    );
    // Friday 23:30 to Saturday 00:30.
    let s = Plan::at("2024-03-01 23:30")
        .charge(minutes(60), 7_000)
        .session();
    assert_eq!(excl(&t, &s), "1.50");
    assert_eq!(
        cdr_period_starts(&t, &s),
        ["03-01 23:30:00", "03-02 00:00:00"]
    );
}

/// Berlin, 2024-03-31: at 01:00 UTC the clock jumps from 02:00 to 03:00. A session from 01:30 to
/// 03:30 local lasts one hour. The 02:15-02:45 window never occurs that night.
#[test]
fn daylight_saving_starts_in_march() {
    let t = inline(
        r#"[{"price_components":[{"type":"TIME","price":5.00,"step_size":1}],
             "restrictions":{"start_time":"02:15","end_time":"02:45"}},
            {"price_components":[{"type":"TIME","price":1.00,"step_size":1}],
             "restrictions":{"start_time":"00:00","end_time":"02:30"}},
            {"price_components":[{"type":"TIME","price":2.00,"step_size":1}]}]"#,
    );
    let s = Plan::from_utc(BERLIN, utc("2024-03-31 00:30"))
        .charge(minutes(60), 5_000)
        .session();
    let totals = price_session(&t, &s, &eur()).unwrap();
    assert_eq!(totals.total_time, dec("1"));
    // 30 min at 1.00 (01:30-02:00 CET), then 30 min at 2.00 (03:00-03:30 CEST).
    assert_eq!(totals.total_cost.excl_vat, dec("1.50"));
    assert_eq!(
        cdr_period_starts(&t, &s),
        ["03-31 01:30:00", "03-31 03:00:00"]
    );
}

/// Berlin, 2024-10-27: at 01:00 UTC the clock goes back from 03:00 to 02:00, so 02:30-03:00
/// happens twice and a two-hour session spends an hour in that window.
#[test]
fn daylight_saving_ends_in_october() {
    let t = inline(
        r#"[{"price_components":[{"type":"TIME","price":1.00,"step_size":1}],
             "restrictions":{"start_time":"02:30","end_time":"03:00"}},
            {"price_components":[{"type":"TIME","price":2.00,"step_size":1}]}]"#,
    );
    let s = Plan::from_utc(BERLIN, utc("2024-10-27 00:00"))
        .charge(minutes(120), 10_000)
        .session();
    let totals = price_session(&t, &s, &eur()).unwrap();
    assert_eq!(totals.total_time, dec("2"));
    assert_eq!(totals.total_cost.excl_vat, dec("3.00"));
    let b = explain(&t, &s, &eur()).unwrap();
    let cheap: Vec<_> = b
        .lines
        .iter()
        .filter(|l| l.unit_price == dec("1.00"))
        .map(|l| l.period_start.to_rfc3339())
        .collect();
    assert_eq!(
        cheap,
        ["2024-10-27T00:30:00+00:00", "2024-10-27T01:30:00+00:00"]
    );
}

/// A window 23:59-00:00 is the last minute of the day (`00:00` as end means end of day); energy
/// is interpolated inside the one sample interval that spans it.
#[test]
fn last_minute_of_the_day() {
    let t = inline(
        r#"[{"price_components":[{"type":"ENERGY","price":0.10,"step_size":1}],
             "restrictions":{"start_time":"23:59","end_time":"00:00"}},
            {"price_components":[{"type":"ENERGY","price":0.30,"step_size":1}]}]"#,
    );
    // 23:58:30 to 00:00:30 at 60 kW: 500 Wh at 0.30, 1000 Wh at 0.10, 500 Wh at 0.30.
    let s = Plan::in_zone(BERLIN, "2024-05-10 23:58:30")
        .charge(minutes(2), 2_000)
        .session();
    assert_eq!(excl(&t, &s), "0.40");
    assert_eq!(
        cdr_period_starts(&t, &s),
        ["05-10 23:58:30", "05-10 23:59:00", "05-11 00:00:00"]
    );
    // Entirely inside the last minute.
    let s = Plan::in_zone(BERLIN, "2024-05-10 23:59:10")
        .charge(Duration::seconds(40), 500)
        .session();
    assert_eq!(excl(&t, &s), "0.05");
}

/// No energy at all: the time counts as charging (nothing was charged, so nothing is parked
/// after charging); FLAT and min_price still apply.
#[test]
fn zero_energy_sessions() {
    let s = Plan::at("2024-03-05 10:00").park(minutes(30)).session();
    let totals = price_session(&tariff("tariff_10_025kwh_parking_start.json"), &s, &eur()).unwrap();
    assert_eq!(totals.total_cost.excl_vat, dec("0.50"));
    assert_eq!(totals.total_parking_time, dec("0"));
    assert_eq!(totals.total_energy, dec("0"));
    assert_eq!(excl(&tariff("tariff_12_025kwh_min_price.json"), &s), "0.50");
    assert_eq!(excl(&tariff("tariff_1_simple_2hour.json"), &s), "1.00");
    assert_eq!(excl(&tariff("tariff_8_simple_025kwh.json"), &s), "0.00");
    // No samples at all is the same as an unchanged register.
    let empty = SessionInput {
        start: local(BERLIN, "2024-03-05 10:00"),
        end: local(BERLIN, "2024-03-05 10:30"),
        samples: Vec::new(),
        time_zone: BERLIN,
        reservation: None,
    }
    .validate()
    .unwrap();
    assert_eq!(excl(&tariff("tariff_1_simple_2hour.json"), &empty), "1.00");
}

/// A pause in the middle is parking; charging again is charging time again, and the step goes to
/// the parking total.
#[test]
fn pause_in_the_middle_is_parking() {
    let s = Plan::at("2024-03-05 10:00")
        .charge(minutes(30), 5_000)
        .park(minutes(7))
        .charge(minutes(30), 5_000)
        .session();
    let b = explain(&tariff("tariff_13_simple_3hour_5parking.json"), &s, &eur()).unwrap();
    assert_eq!(b.totals.total_parking_time.round_dp(6), dec("0.116667"));
    // 60 min at 3.00 + 10 min (7 rounded to 5-minute steps) at 5.00.
    assert_eq!(b.totals.total_cost.excl_vat, dec("3.83"));
}

/// A kWh threshold inside one sample interval splits it at the interpolated instant.
#[test]
fn kwh_threshold_inside_a_sample_interval() {
    let t = inline(
        r#"[{"price_components":[{"type":"ENERGY","price":0.30,"step_size":1}],"restrictions":{"max_kwh":10}},
            {"price_components":[{"type":"ENERGY","price":0.10,"step_size":1}]}]"#,
    );
    let s = Plan::at("2024-03-05 10:00")
        .charge(minutes(60), 15_000)
        .session();
    assert_eq!(excl(&t, &s), "3.50");
    assert_eq!(
        cdr_period_starts(&t, &s),
        ["03-05 10:00:00", "03-05 10:40:00"]
    );
}

#[test]
fn current_restrictions_need_current_readings() {
    let s = Plan::at("2019-02-04 09:30")
        .charge(minutes(60), 5_000)
        .session();
    let err = price_session(&tariff("tariff_4_complex.json"), &s, &eur()).unwrap_err();
    assert!(matches!(err, PriceError::UnknownCurrent { .. }), "{err}");
}

#[test]
fn built_cdrs_carry_power_and_current() {
    let s = Plan::at("2019-02-04 09:30")
        .current(16)
        .charge(minutes(60), 4_000)
        .session();
    let cdr = Cdr::from_session(
        &tariff("tariff_4_complex.json"),
        &s,
        context("E2", utc("2020-01-01 00:00")),
        &eur(),
    )
    .unwrap();
    let p = &cdr.charging_periods()[0];
    assert_eq!(p.volume(CdrDimensionType::MaxPower), Some(dec("4")));
    assert_eq!(p.volume(CdrDimensionType::MaxCurrent), Some(dec("16")));
    assert_eq!(p.volume(CdrDimensionType::Energy), Some(dec("4")));
    assert_eq!(p.volume(CdrDimensionType::Time), Some(dec("1")));
}

#[test]
fn invalid_sessions_are_rejected() {
    let base = || {
        Plan::at("2024-03-05 10:00")
            .charge(minutes(30), 5_000)
            .charge(minutes(30), 5_000)
            .input()
    };
    let mut s = base();
    s.samples[2].energy_wh = s.samples[1].energy_wh - 1;
    assert!(matches!(
        s.validate(),
        Err(SessionError::RegisterDecreased { index: 2, .. })
    ));
    let mut s = base();
    s.samples.swap(1, 2);
    assert!(matches!(
        s.validate(),
        Err(SessionError::SamplesNotOrdered { index: 2, .. })
    ));
    let mut s = base();
    s.samples[2].time += minutes(1);
    assert!(matches!(
        s.validate(),
        Err(SessionError::SampleOutsideSession { index: 2, .. })
    ));
    let mut s = base();
    s.end = s.start;
    assert!(matches!(
        s.validate(),
        Err(SessionError::EndNotAfterStart { .. })
    ));
    let mut s = base();
    s.samples[1].time += Duration::microseconds(1);
    assert!(matches!(
        s.validate(),
        Err(SessionError::SubMillisecond { .. })
    ));
    let mut s = base();
    s.end = s.start + Duration::days(40);
    assert!(matches!(s.validate(), Err(SessionError::TooLong { .. })));
    let mut s = base();
    s.samples[1].current_a = Some(dec("-1"));
    assert!(matches!(
        s.validate(),
        Err(SessionError::NegativeCurrent { index: 1 })
    ));
    let mut s = base();
    s.samples.push(MeterSample {
        time: s.end,
        energy_wh: s.samples[2].energy_wh,
        current_a: None,
    });
    assert!(matches!(
        s.validate(),
        Err(SessionError::SamplesNotOrdered { index: 3, .. })
    ));
    let s = Plan::at("2024-03-05 10:00")
        .reserved_for(minutes(10))
        .charge(minutes(10), 100)
        .input();
    let mut expired = s.clone();
    expired.reservation.as_mut().unwrap().expired = true;
    assert_eq!(
        expired.validate(),
        Err(SessionError::ExpiredReservationWithSession)
    );
    let mut late = s;
    late.reservation.as_mut().unwrap().end += minutes(1);
    assert!(matches!(
        late.validate(),
        Err(SessionError::InvalidReservation { .. })
    ));
}

#[test]
fn rounding_rules_are_configurable() {
    let t = tariff("tariff_3_alt_url.json");
    let s = Plan::at("2019-02-04 10:00")
        .charge(minutes(120), 20_450)
        .session();
    let half_even = RoundingRule {
        mode: RoundingMode::HalfEven,
        ..eur()
    };
    let totals = price_session(&t, &s, &half_even).unwrap();
    // 5.625 excl. is a tie: half-even gives 5.62 where half-up gives 5.63.
    assert_eq!(totals.total_cost.excl_vat, dec("5.62"));
    assert_eq!(totals.total_excl_vat_minor, 562);

    let monday = Plan::at("2019-02-04 09:30")
        .current(16)
        .charge(minutes(165), 11_000)
        .park(minutes(42))
        .session();
    let per_line = RoundingRule {
        scope: RoundingScope::PerLine,
        ..eur()
    };
    let totals = price_session(&tariff("tariff_4_complex.json"), &monday, &per_line).unwrap();
    // 2.88 + 3.30 + 4.13: per-line rounding is why the default rounds totals only.
    assert_eq!(totals.total_cost.incl_vat, Some(dec("10.31")));
    assert_eq!(totals.total_incl_vat_minor, 1031);

    let yen = RoundingRule::for_currency("JPY").unwrap();
    let totals = price_session(&t, &s, &yen).unwrap();
    assert_eq!(totals.total_cost.excl_vat.to_string(), "6");
    assert_eq!(totals.total_excl_vat_minor, 6);
}
