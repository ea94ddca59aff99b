//! Every worked example of EXPECTED.md, with sessions built from the prose of mod_tariffs.asciidoc
//! and mod_cdrs.asciidoc.

use kvitto_tariff::{parse_cdr, price_cdr_periods, CdrPricing, LineDimension, Quantity};

use crate::support::{check, dec, expired_reservation, line, lines, minutes, read, Case, Plan};

/// "This tariff will result in costs of € 5.00 (excl. VAT) or € 5.50 (incl. VAT) when 20 kWh are
/// charged."
#[test]
fn tariff_8_simple_025_per_kwh() {
    check(Case {
        name: "tariff_8 20 kWh",
        tariff: "tariff_8_simple_025kwh.json",
        session: Plan::at("2019-02-04 10:00")
            .charge(minutes(120), 20_000)
            .session(),
        excl: "5.00",
        incl: Some("5.50"),
    });
}

#[test]
fn tariff_9_start_fee() {
    check(Case {
        name: "tariff_9 20 kWh",
        tariff: "tariff_9_025kwh_start.json",
        session: Plan::at("2019-02-04 10:00")
            .charge(minutes(120), 20_000)
            .session(),
        excl: "5.50",
        incl: Some("6.10"),
    });
}

#[test]
fn tariff_12_min_price() {
    check(Case {
        name: "tariff_12 20 kWh",
        tariff: "tariff_12_025kwh_min_price.json",
        session: Plan::at("2019-02-04 10:00")
            .charge(minutes(120), 20_000)
            .session(),
        excl: "5.00",
        incl: Some("5.50"),
    });
    // "if less than 2 kWh is charged, € 0.50 (excl. VAT) or € 0.55 (incl. VAT) will be billed."
    let b = check(Case {
        name: "tariff_12 1.5 kWh",
        tariff: "tariff_12_025kwh_min_price.json",
        session: Plan::at("2019-02-04 10:00")
            .charge(minutes(20), 1_500)
            .session(),
        excl: "0.50",
        incl: Some("0.55"),
    });
    // The energy line itself stays at 1.5 kWh × 0.25; the cap raises only the total.
    assert_eq!(b.totals.total_energy_cost.excl_vat, dec("0.38"));
    assert_eq!(b.adjustments.len(), 1);
    assert_eq!(b.adjustments[0].excl_vat, dec("0.125"));
}

/// 20 kWh, then "parked for 40 minutes after the session ended", parking billed per 15 min.
#[test]
fn tariff_10_parking_and_start_fee() {
    let b = check(Case {
        name: "tariff_10 20 kWh + 40 min parking",
        tariff: "tariff_10_025kwh_parking_start.json",
        session: Plan::at("2019-02-04 10:00")
            .charge(minutes(120), 20_000)
            .park(minutes(40))
            .session(),
        excl: "7.00",
        incl: Some("7.90"),
    });
    let parking = line(&b, LineDimension::ParkingTime);
    assert_eq!(parking.volume, Quantity::Duration { ms: 40 * 60_000 });
    assert_eq!(
        parking.billed_volume,
        Quantity::Duration { ms: 45 * 60_000 }
    );
    assert!(parking.step_rounding_applied);
}

/// Max price 10.00 / 11.00; the tariff ends 2019-06-30, so the sessions are in June 2019.
#[test]
fn tariff_6_max_price() {
    check(Case {
        name: "tariff_6 50 kWh",
        tariff: "tariff_6_025kwh_start_max_price.json",
        session: Plan::at("2019-06-03 10:00")
            .charge(minutes(300), 50_000)
            .session(),
        excl: "10.00",
        incl: Some("11.00"),
    });
    check(Case {
        name: "tariff_6 30 kWh",
        tariff: "tariff_6_025kwh_start_max_price.json",
        session: Plan::at("2019-06-03 10:00")
            .charge(minutes(180), 30_000)
            .session(),
        excl: "8.00",
        incl: Some("8.85"),
    });
}

#[test]
fn tariff_6_is_not_active_after_its_end_date() {
    let tariff = crate::support::tariff("tariff_6_025kwh_start_max_price.json");
    let session = Plan::at("2019-07-01 10:00")
        .charge(minutes(60), 10_000)
        .session();
    let rounding = kvitto_tariff::RoundingRule::for_currency("EUR").unwrap();
    let err = kvitto_tariff::price_session(&tariff, &session, &rounding).unwrap_err();
    assert!(
        matches!(err, kvitto_tariff::PriceError::TariffNotActive { .. }),
        "{err}"
    );
}

#[test]
fn tariff_1_two_euro_per_hour() {
    check(Case {
        name: "tariff_1 2.5 h",
        tariff: "tariff_1_simple_2hour.json",
        session: Plan::at("2019-02-04 10:00")
            .charge(minutes(150), 27_500)
            .session(),
        excl: "5.00",
        incl: Some("5.50"),
    });
}

/// "150 minutes (charging) + 42 minutes (parking) … € 11.25 (excl. VAT) or € 12.75 (incl. VAT)".
#[test]
fn tariff_13_time_and_parking() {
    let b = check(Case {
        name: "tariff_13 150 + 42 min",
        tariff: "tariff_13_simple_3hour_5parking.json",
        session: Plan::at("2019-02-04 10:00")
            .charge(minutes(150), 30_000)
            .park(minutes(42))
            .session(),
        excl: "11.25",
        incl: Some("12.75"),
    });
    // Charging time is not rounded: it is followed by parking, which takes the step.
    let time = line(&b, LineDimension::Time);
    assert!(!time.step_rounding_applied);
}

/// 2.5 h at 1.90/h with 5.2 % VAT: 4.75 excl., 4.997 incl., which rounds to the stated 5.00.
#[test]
fn tariff_2_alt_text() {
    check(Case {
        name: "tariff_2 2.5 h",
        tariff: "tariff_2_alt_text.json",
        session: Plan::at("2019-02-04 10:00")
            .charge(minutes(150), 10_000)
            .session(),
        excl: "4.75",
        incl: Some("5.00"),
    });
}

/// 20.45 kWh billed as 20.5 kWh (step 100 Wh): 5.125 → 5.13 needs half-up rounding.
#[test]
fn tariff_3_energy_step() {
    let b = check(Case {
        name: "tariff_3 20.45 kWh",
        tariff: "tariff_3_alt_url.json",
        session: Plan::at("2019-02-04 10:00")
            .charge(minutes(120), 20_450)
            .session(),
        excl: "5.63",
        incl: Some("6.24"),
    });
    assert_eq!(b.totals.total_energy_cost.excl_vat, dec("5.13"));
    assert_eq!(b.totals.total_energy_cost.incl_vat, Some(dec("5.64")));
    let energy = line(&b, LineDimension::Energy);
    assert_eq!(energy.billed_volume, Quantity::Energy { wh: dec("20500") });
}

/// Monday 09:30, 165 min at 16 A, then 42 min parking: 9.00 / 10.30. The incl. VAT lines are
/// 2.875 + 3.30 + 4.125; rounding each line would give 10.31, so totals are rounded, not lines.
#[test]
fn tariff_4_complex_monday() {
    let b = check(Case {
        name: "tariff_4 Monday",
        tariff: "tariff_4_complex.json",
        session: Plan::at("2019-02-04 09:30")
            .current(16)
            .charge(minutes(165), 11_000)
            .park(minutes(42))
            .session(),
        excl: "9.00",
        incl: Some("10.30"),
    });
    assert_eq!(b.totals.total_fixed_cost.incl_vat, Some(dec("2.88")));
    assert_eq!(b.totals.total_parking_cost.incl_vat, Some(dec("4.13")));
}

/// Saturday 13:30, 114 min at 43 A, then 71 min parking.
///
/// SPEC DISCREPANCY: the specification states 12.28 excl. / 13.861 incl. VAT, with a charging
/// time line of "114 minutes, 1.25 per hour, 2.28". But 114 min × 1.25 €/h = 2.375 €; 2.28 is
/// 114 min at 1.20 €/h, a figure the tariff does not contain. The other lines (2.50 flat, 75 min
/// parking at 6.00 = 7.50) agree. We follow the tariff and the algorithm: 12.375 excl. and
/// 13.975 incl. VAT exactly, 12.38 / 13.98 after default rounding. The stated 13.861 is also
/// unrounded, which the rounding rule handles by rounding totals to the minor unit.
#[test]
fn tariff_4_complex_saturday() {
    let b = check(Case {
        name: "tariff_4 Saturday",
        tariff: "tariff_4_complex.json",
        session: Plan::at("2019-02-09 13:30")
            .current(43)
            .charge(minutes(114), 49_000)
            .park(minutes(71))
            .session(),
        excl: "12.38",
        incl: Some("13.98"),
    });
    let time = line(&b, LineDimension::Time);
    assert_eq!(time.unit_price, dec("1.25"));
    assert_eq!(time.excl_vat, dec("2.375"));
    let parking = line(&b, LineDimension::ParkingTime);
    assert_eq!(
        parking.billed_volume,
        Quantity::Duration { ms: 75 * 60_000 }
    );
    assert_eq!(parking.excl_vat, dec("7.5"));
}

/// Switching elements #1: 16:55, 10 min charging and 2 min parking: 0.55 (no VAT in this tariff,
/// so incl. equals excl.). The parking minutes are rounded to 15 by the last parking component.
#[test]
fn tariff_14_step_size_case_a() {
    let b = check(Case {
        name: "tariff_14 (a)",
        tariff: "tariff_14_step_size.json",
        session: Plan::at("2019-02-04 16:55")
            .charge(minutes(10), 2_000)
            .park(minutes(2))
            .session(),
        excl: "0.55",
        incl: Some("0.55"),
    });
    let times = lines(&b, LineDimension::Time);
    assert_eq!(times.len(), 2);
    assert_eq!(times[0].excl_vat, dec("0.1"));
    assert_eq!(times[1].excl_vat, dec("0.2"));
}

/// Switching elements #2: 16:35, 35 min charging: 25 min at 1.20 before 17:00, and the total of
/// 35 min rounded to 45 by the last component's 15 min step, so 20 min at 2.40: 1.30.
#[test]
fn tariff_14_step_size_case_b() {
    let b = check(Case {
        name: "tariff_14 (b)",
        tariff: "tariff_14_step_size.json",
        session: Plan::at("2019-02-04 16:35")
            .charge(minutes(35), 6_000)
            .session(),
        excl: "1.30",
        incl: Some("1.30"),
    });
    let last = *lines(&b, LineDimension::Time).last().unwrap();
    assert_eq!(last.volume, Quantity::Duration { ms: 10 * 60_000 });
    assert_eq!(last.billed_volume, Quantity::Duration { ms: 20 * 60_000 });
}

/// Switching to free of charge: 19:40, 12 min charging, 20 min parking of which 8 before 20:00
/// are billable, rounded to 15: 0.48 + 0.25 = 0.73 (ocpi/ocpi#546 confirmed 0.73). The older
/// text this example replaced (ocpi/ocpi#396) rounded the whole session; we follow the bug-fix
/// text.
#[test]
fn tariff_14_step_size_case_c() {
    check(Case {
        name: "tariff_14 (c)",
        tariff: "tariff_14_step_size.json",
        session: Plan::at("2019-02-04 19:40")
            .charge(minutes(12), 2_000)
            .park(minutes(20))
            .session(),
        excl: "0.73",
        incl: Some("0.73"),
    });
}

/// "started 15 minutes after the reservation time, where the driver charges 20 kWh".
#[test]
fn tariff_15_reservation() {
    let b = check(Case {
        name: "tariff_15",
        tariff: "tariff_15_reservation_5_euro_per_hour.json",
        session: Plan::at("2019-02-04 10:15")
            .reserved_for(minutes(15))
            .charge(minutes(120), 20_000)
            .session(),
        excl: "6.75",
        incl: Some("7.60"),
    });
    assert_eq!(b.totals.total_reservation_cost.excl_vat, dec("1.25"));
    assert_eq!(b.totals.total_fixed_cost.excl_vat, dec("0.50"));
}

/// 13 minutes of reservation billed as 15 (step 300 s), plus a 2.00 reservation fee. (The
/// specification's breakdown labels the reservation time "Parking time"; the figures agree.)
#[test]
fn tariff_16_reservation_fee() {
    let b = check(Case {
        name: "tariff_16",
        tariff: "tariff_16_reservation_2_euro_fee_5_euro_per_hour.json",
        session: Plan::at("2019-02-04 10:13")
            .reserved_for(minutes(13))
            .charge(minutes(120), 20_000)
            .session(),
        excl: "8.75",
        incl: Some("10.00"),
    });
    assert_eq!(b.totals.total_reservation_cost.excl_vat, dec("3.25"));
    assert_eq!(b.totals.total_reservation_cost.incl_vat, Some(dec("3.90")));
}

#[test]
fn tariff_17_reservation_with_expiry_fee() {
    check(Case {
        name: "tariff_17 used",
        tariff: "tariff_17_reservation_with_expire_fee.json",
        session: Plan::at("2019-02-04 10:22")
            .reserved_for(minutes(22))
            .charge(minutes(120), 20_000)
            .session(),
        excl: "6.50",
        incl: Some("7.30"),
    });
    // Expired after the reserved hour: the expiry fee plus the full hour, no start fee.
    check(Case {
        name: "tariff_17 expired",
        tariff: "tariff_17_reservation_with_expire_fee.json",
        session: expired_reservation("2019-02-04 10:00", minutes(60)),
        excl: "6.00",
        incl: Some("7.20"),
    });
}

#[test]
fn tariff_18_reservation_with_expiry_time() {
    check(Case {
        name: "tariff_18 used",
        tariff: "tariff_18_reservation_with_expire_time.json",
        session: Plan::at("2019-02-04 10:22")
            .reserved_for(minutes(22))
            .charge(minutes(120), 20_000)
            .session(),
        excl: "7.00",
        incl: Some("7.90"),
    });
    check(Case {
        name: "tariff_18 expired",
        tariff: "tariff_18_reservation_with_expire_time.json",
        session: expired_reservation("2019-02-04 10:00", minutes(90)),
        excl: "9.00",
        incl: Some("10.80"),
    });
}

/// 1 kWh at 6 kW, 40 kWh at 48 kW, 0.5 kWh at 4 kW: 0.20 + 20.00 + 0.10 = 20.30 excl. VAT
/// (24.36 incl. 20 % VAT, which the specification does not state).
#[test]
fn max_power_restriction() {
    let b = check(Case {
        name: "max_power",
        tariff: "tariffrestriction_example_max_power.json",
        session: Plan::at("2019-02-04 10:00")
            .charge(minutes(10), 1_000)
            .charge(minutes(50), 40_000)
            .charge(minutes(7) + chrono::Duration::seconds(30), 500)
            .session(),
        excl: "20.30",
        incl: Some("24.36"),
    });
    let prices: Vec<_> = b.lines.iter().map(|l| l.unit_price.to_string()).collect();
    assert_eq!(prices, ["0.20", "0.50", "0.20"]);
}

/// 40 minutes; 5 kWh in the first 30 (free), 1.2 kWh in the last 10 at 0.25: 0.30 excl. VAT.
#[test]
fn max_duration_restriction() {
    check(Case {
        name: "max_duration",
        tariff: "tariffrestriction_example_max_duration.json",
        session: Plan::at("2019-02-04 10:00")
            .charge(minutes(30), 5_000)
            .charge(minutes(10), 1_200)
            .session(),
        excl: "0.30",
        incl: Some("0.36"),
    });
}

/// The example CDR: TIME 2 EUR/h, step 300 s, 1.973 h charged, billed 2 h: 4.00 / 4.40, priced
/// from its charging periods and embedded tariff.
#[test]
fn cdr_example_reprices() {
    let cdr = parse_cdr(&read("cdr_example.json")).unwrap().value;
    let totals = price_cdr_periods(None, &cdr, &CdrPricing::default()).unwrap();
    assert_eq!(totals.total_cost.excl_vat, dec("4.00"));
    assert_eq!(totals.total_cost.incl_vat, Some(dec("4.40")));
    assert_eq!(totals.total_time_cost, cdr.total_time_cost().unwrap());
    assert_eq!(totals.total_time, dec("1.973"));
    assert_eq!(totals.total_cost, cdr.total_cost());
    // The same with the tariff given explicitly.
    let tariff = &cdr.tariffs()[0];
    let explicit = price_cdr_periods(Some(tariff), &cdr, &CdrPricing::default()).unwrap();
    assert_eq!(explicit, totals);
    insta::assert_snapshot!(totals.to_json(), @r#"{"currency":"EUR","total_cost":{"excl_vat":4.00,"incl_vat":4.40},"total_fixed_cost":{"excl_vat":0.00,"incl_vat":0.00},"total_energy":0,"total_energy_cost":{"excl_vat":0.00,"incl_vat":0.00},"total_time":1.973,"total_time_cost":{"excl_vat":4.00,"incl_vat":4.40},"total_parking_time":0,"total_parking_cost":{"excl_vat":0.00,"incl_vat":0.00},"total_reservation_cost":{"excl_vat":0.00,"incl_vat":0.00}}"#);
}
