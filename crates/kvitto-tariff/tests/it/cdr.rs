//! Building CDRs, crediting them, re-pricing periods, receipts.

use kvitto_tariff::{
    explain, explain_cdr, parse_cdr, price_cdr_periods, Cdr, CdrError, CdrPricing, PriceError,
    RoundingRule,
};

use crate::support::{context, dec, minutes, read, tariff, utc, Plan, BERLIN};

fn eur() -> RoundingRule {
    RoundingRule::for_currency("EUR").unwrap()
}

fn monday_cdr() -> Cdr {
    let s = Plan::at("2019-02-04 09:30")
        .current(16)
        .charge(minutes(165), 11_000)
        .park(minutes(42))
        .session();
    Cdr::from_session(
        &tariff("tariff_4_complex.json"),
        &s,
        context("CDR-MON-1", utc("2019-02-04 12:00")),
        &eur(),
    )
    .unwrap()
}

#[test]
fn built_cdr_json_is_stable() {
    insta::assert_snapshot!("tariff_4_monday_cdr", monday_cdr().to_json_pretty());
}

#[test]
fn receipt_is_readable() {
    let s = Plan::at("2019-02-04 09:30")
        .current(16)
        .charge(minutes(165), 11_000)
        .park(minutes(42))
        .session();
    let b = explain(&tariff("tariff_4_complex.json"), &s, &eur()).unwrap();
    insta::assert_snapshot!("tariff_4_monday_receipt", b.to_string());
    let s = Plan::at("2019-02-04 16:35")
        .charge(minutes(35), 6_000)
        .session();
    let b = explain(&tariff("tariff_14_step_size.json"), &s, &eur()).unwrap();
    insta::assert_snapshot!("tariff_14_b_receipt", b.to_string());
}

#[test]
fn credit_cdr_negates_the_total_and_references_the_original() {
    let original = monday_cdr();
    let credit = original
        .credit("CDR-MON-1-C", utc("2019-02-05 08:00"))
        .unwrap();
    assert!(credit.is_credit());
    assert_eq!(credit.id(), "CDR-MON-1-C");
    assert_eq!(credit.credit_reference_id(), Some("CDR-MON-1"));
    assert_eq!(credit.total_cost().excl_vat, dec("-9.00"));
    assert_eq!(credit.total_cost().incl_vat, Some(dec("-10.30")));
    // "Only the values in the total_cost field SHALL contain the negative amounts."
    assert_eq!(credit.total_energy_cost(), original.total_energy_cost());
    assert_eq!(credit.charging_periods(), original.charging_periods());
    assert_eq!(credit.last_updated(), utc("2019-02-05 08:00"));
    // The credit CDR is valid OCPI and reads back identically.
    assert_eq!(parse_cdr(&credit.to_json()).unwrap().value, credit);
    assert!(credit
        .to_json()
        .contains(r#""total_cost":{"excl_vat":-9.00,"incl_vat":-10.30}"#));
    assert_eq!(
        credit.credit("X", utc("2019-02-06 08:00")),
        Err(CdrError::AlreadyCredit("CDR-MON-1-C".to_owned()))
    );
    assert!(matches!(
        original.credit("cdr-mon-1", utc("2019-02-06 08:00")),
        Err(CdrError::InvalidCreditId(_))
    ));
    assert!(matches!(
        original.credit(&"C".repeat(40), utc("2019-02-06 08:00")),
        Err(CdrError::InvalidCreditId(_))
    ));
}

#[test]
fn invalid_context_is_reported_by_path() {
    let s = Plan::at("2019-02-04 10:00")
        .charge(minutes(60), 5_000)
        .session();
    let mut ctx = context("CDR-X", utc("2019-02-04 12:00"));
    ctx.cdr_token.uid = "U".repeat(37);
    let err =
        Cdr::from_session(&tariff("tariff_8_simple_025kwh.json"), &s, ctx, &eur()).unwrap_err();
    let CdrError::Invalid(parse) = err else {
        panic!("{err}")
    };
    assert_eq!(parse.path(), Some("cdr_token.uid"));
}

/// A CDR whose periods switch tariffs is priced per embedded tariff; periods without
/// `tariff_id` are free; a missing tariff is an error; a given tariff overrides all.
#[test]
fn repricing_uses_embedded_tariffs_per_period() {
    let text = read("cdr_example.json");
    let two_periods = text.replacen(
        r#""charging_periods": [{"#,
        r#""charging_periods": [{
    "start_date_time": "2015-06-29T21:00:00Z",
    "dimensions": [{"type": "PARKING_TIME", "volume": 0.5}]
  }, {"#,
        1,
    );
    let cdr = parse_cdr(&two_periods).unwrap().value;
    let totals = price_cdr_periods(None, &cdr, &CdrPricing::default()).unwrap();
    assert_eq!(totals.total_cost.excl_vat, dec("4.00"));
    assert_eq!(totals.total_parking_time, dec("0.5"));

    let unknown = text.replacen(r#""tariff_id": "12""#, r#""tariff_id": "99""#, 1);
    let cdr = parse_cdr(&unknown).unwrap().value;
    assert_eq!(
        price_cdr_periods(None, &cdr, &CdrPricing::default()),
        Err(PriceError::UnknownTariff {
            period: 0,
            tariff_id: "99".to_owned()
        })
    );
    // Under a different tariff (0.25/kWh with a start fee) the same CDR has no energy to bill.
    let other = tariff("tariff_9_025kwh_start.json");
    let totals = price_cdr_periods(Some(&other), &cdr, &CdrPricing::default()).unwrap();
    assert_eq!(totals.total_cost.excl_vat, dec("0.50"));
    // A hostile volume is rejected, not summed into an overflow.
    let huge = text.replacen(r#""volume": 1.973"#, r#""volume": 1000000000000"#, 1);
    let cdr_huge = parse_cdr(&huge).unwrap().value;
    assert!(matches!(
        price_cdr_periods(None, &cdr_huge, &CdrPricing::default()),
        Err(PriceError::VolumeTooLarge { period: 0, .. })
    ));
    // Currency must match.
    let usd = read("tariff_9_025kwh_start.json").replace("EUR", "USD");
    let usd = kvitto_tariff::parse_tariff(&usd).unwrap().value;
    assert!(matches!(
        price_cdr_periods(Some(&usd), &cdr, &CdrPricing::default()),
        Err(PriceError::CurrencyMismatch { .. })
    ));
}

/// Re-pricing uses the location's time zone for time-of-day restrictions.
#[test]
fn repricing_a_built_cdr_needs_its_time_zone() {
    let s = Plan::at("2019-02-04 16:55")
        .charge(minutes(10), 2_000)
        .park(minutes(2))
        .session();
    let t = tariff("tariff_14_step_size.json");
    let cdr = Cdr::from_session(&t, &s, context("Z", utc("2019-02-05 00:00")), &eur()).unwrap();
    let berlin = CdrPricing {
        time_zone: BERLIN,
        rounding: None,
    };
    assert_eq!(
        price_cdr_periods(None, &cdr, &berlin)
            .unwrap()
            .total_cost
            .excl_vat,
        dec("0.55")
    );
    let b = explain_cdr(None, &cdr, &berlin).unwrap();
    assert_eq!(b.lines.len(), 3);
}
