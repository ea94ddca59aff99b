//! Parsing: every conformance example, the must-fail cases, unknown fields, round trips.

use kvitto_tariff::{parse_cdr, parse_tariff, ParseError, TariffDimensionType};

use crate::support::{conformance_dir, dec, read};

fn tariff_files() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(conformance_dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.starts_with("tariff") && n.ends_with(".json"))
        .collect();
    names.sort();
    names
}

/// Every tariff of the specification parses, with no unknown fields, and survives a round trip
/// through our serialiser. The one exception is `tariff_put_example.json`, which lacks the
/// required `last_updated` (card. 1 in the Tariff object table): strict parsing rejects it and
/// names the field.
#[test]
fn every_conformance_tariff_parses() {
    let names = tariff_files();
    assert_eq!(names.len(), 20, "{names:?}");
    for name in names {
        let text = read(&name);
        let parsed = parse_tariff(&text);
        if name == "tariff_put_example.json" {
            assert_eq!(
                parsed.unwrap_err().to_string(),
                "last_updated: missing required field",
            );
            continue;
        }
        let parsed = parsed.unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(
            parsed.unknown_fields.is_empty(),
            "{name}: {:?}",
            parsed.unknown_fields
        );
        let again = parse_tariff(&parsed.value.to_json()).unwrap();
        assert_eq!(again.value, parsed.value, "{name}");
    }
}

#[test]
fn tariff_fields_are_read_exactly() {
    let t = parse_tariff(&read("tariff_4_complex.json")).unwrap().value;
    assert_eq!(t.id(), "14");
    assert_eq!(t.elements().len(), 6);
    let c = &t.elements()[1].price_components()[0];
    assert_eq!(c.dimension(), TariffDimensionType::Time);
    assert_eq!(c.price(), dec("1.00"));
    assert_eq!(c.vat(), Some(dec("20.0")));
    assert_eq!(c.step_size(), 900);
    let r = t.elements()[4].restrictions().unwrap();
    assert_eq!(r.start_time().unwrap().to_string(), "09:00");
    assert_eq!(r.day_of_week().unwrap().len(), 5);
    // The free-of-charge tariff has a FLAT component with step_size 0, which OCPI allows.
    let free = parse_tariff(&read("tariff_5_free_of_charge.json"))
        .unwrap()
        .value;
    assert_eq!(free.elements()[0].price_components()[0].step_size(), 0);
    assert_eq!(free.elements()[0].price_components()[0].vat(), None);
}

#[test]
fn cdr_example_parses_and_round_trips() {
    let parsed = parse_cdr(&read("cdr_example.json")).unwrap();
    assert!(
        parsed.unknown_fields.is_empty(),
        "{:?}",
        parsed.unknown_fields
    );
    let cdr = parsed.value;
    assert_eq!(cdr.id(), "12345");
    assert_eq!(cdr.total_energy(), dec("15.342"));
    assert_eq!(cdr.charging_periods()[0].tariff_id.as_deref(), Some("12"));
    assert_eq!(
        cdr.tariffs()[0].elements()[0].price_components()[0].step_size(),
        300
    );
    let again = parse_cdr(&cdr.to_json()).unwrap();
    assert_eq!(again.value, cdr);
}

/// A minimal valid tariff with `patch` spliced in, for must-fail cases.
fn with(patch: &str) -> String {
    format!(
        r#"{{"country_code":"DE","party_id":"KVI","id":"T1","currency":"EUR",
            "elements":[{{"price_components":[{{"type":"ENERGY","price":0.25,"step_size":1}}]}},
                        {{"price_components":[{{"type":"TIME","price":1,"step_size":60}}]}}],
            "last_updated":"2024-01-01T00:00:00Z"{patch}}}"#
    )
}

fn error_of(text: &str) -> String {
    match parse_tariff(text) {
        Ok(parsed) => panic!("expected an error, parsed {:?}", parsed.value),
        Err(e) => e.to_string(),
    }
}

#[test]
fn must_fail_cases_name_the_field() {
    let replace = |from: &str, to: &str| with("").replacen(from, to, 1);
    let cases: Vec<(String, &str)> = vec![
        (
            replace(r#""price":1,"step_size":60"#, r#""price":1,"step_size":0"#),
            "elements[1].price_components[0].step_size: expected a positive integer",
        ),
        (
            replace(r#""step_size":60"#, r#""step_size":1.5"#),
            "elements[1].price_components[0].step_size: expected a positive integer",
        ),
        (
            replace(r#""step_size":60"#, r#""step_size":-60"#),
            "elements[1].price_components[0].step_size: expected a positive integer",
        ),
        (
            replace(r#""step_size":60"#, r#""step_size":"60""#),
            "elements[1].price_components[0].step_size: expected a positive integer, found a string",
        ),
        (
            replace(r#""price":0.25"#, r#""price":"0.25""#),
            "elements[0].price_components[0].price: expected a number, found a string",
        ),
        (
            replace(r#""price":0.25"#, r#""price":-0.25"#),
            "elements[0].price_components[0].price: expected a non-negative number",
        ),
        (
            replace(r#""type":"ENERGY""#, r#""type":"KWH""#),
            "elements[0].price_components[0].type: expected one of ENERGY, FLAT, PARKING_TIME, TIME, found \"KWH\"",
        ),
        (replace(r#""currency":"EUR","#, ""), "currency: missing required field"),
        (replace(r#""currency":"EUR""#, r#""currency":"eur""#), "currency: expected an ISO 4217 currency code like EUR"),
        (replace(r#""party_id":"KVI""#, r#""party_id":"KVIX""#), "party_id: expected printable ASCII of at most 3 characters"),
        (
            replace(r#""last_updated":"2024-01-01T00:00:00Z""#, r#""last_updated":"2024-01-01T00:00:00+01:00""#),
            "last_updated: expected a UTC timestamp like 2015-06-29T20:39:09Z",
        ),
        (
            with(r#","elements":[]"#).replacen(r#""elements":[{"#, r#""x_old_elements":[{"#, 1),
            "elements: expected a non-empty array",
        ),
        (
            replace(r#"[{"type":"ENERGY","price":0.25,"step_size":1}]"#, "[]"),
            "elements[0].price_components: expected a non-empty array",
        ),
        (
            replace(r#""step_size":1}]}"#, r#""step_size":1}],"restrictions":{"start_time":"24:00"}}"#),
            "elements[0].restrictions.start_time: expected a 24h time of day like 13:30 (00:00 to 23:59)",
        ),
        (
            replace(r#""step_size":1}]}"#, r#""step_size":1}],"restrictions":{"start_date":"2024-02-30"}}"#),
            "elements[0].restrictions.start_date: expected a date like 2015-12-24",
        ),
        (
            replace(r#""step_size":1}]}"#, r#""step_size":1}],"restrictions":{"day_of_week":["MONDAY","MON"]}}"#),
            "elements[0].restrictions.day_of_week[1]: expected one of MONDAY, TUESDAY, WEDNESDAY, THURSDAY, FRIDAY, SATURDAY, SUNDAY, found \"MON\"",
        ),
        (
            replace(r#""step_size":1}]}"#, r#""step_size":1}],"restrictions":{"max_duration":3600.5}}"#),
            "elements[0].restrictions.max_duration: expected a non-negative integer",
        ),
        (
            replace(r#""step_size":1}]}"#, r#""step_size":1}],"restrictions":{"reservation":"YES"}}"#),
            "elements[0].restrictions.reservation: expected one of RESERVATION, RESERVATION_EXPIRES, found \"YES\"",
        ),
        (with(r#","min_price":{"incl_vat":1}"#), "min_price.excl_vat: missing required field"),
        (with(r#","type":"REGULAR","type":"REGULAR""#), "type: duplicate field"),
        (with(r#","tariff_alt_text":[{"language":"eng","text":"x"}]"#), "tariff_alt_text[0].language: expected a string of at most 2 characters"),
        (
            replace(r#""price":0.25,"step_size":1"#, r#""price":0.25,"vat":-1,"step_size":1"#),
            "elements[0].price_components[0].vat: expected a non-negative number",
        ),
        (
            replace(r#""price":0.25"#, r#""price":0.12345678901234567890123456789"#),
            "elements[0].price_components[0].price: expected a number that fits in 28 significant decimal digits",
        ),
    ];
    for (text, expected) in cases {
        assert_eq!(error_of(&text), expected, "{text}");
    }
    assert!(error_of("{").starts_with("invalid JSON"));
    assert!(matches!(parse_tariff("[]"), Err(ParseError::Field { .. })));
}

#[test]
fn unknown_fields_are_tolerated_and_reported() {
    let text = with(r#","x_note":"hi","energy_mix":{"is_green_energy":true,"anything":[1,2.50]}"#)
        .replacen(r#""step_size":1}"#, r#""step_size":1,"x_discount":0.1}"#, 1)
        .replacen(
            r#""step_size":60}]}"#,
            r#""step_size":60}],"restrictions":{"x_zone":"A","max_kwh":50}}"#,
            1,
        );
    let parsed = parse_tariff(&text).unwrap();
    assert_eq!(
        parsed.unknown_fields,
        [
            "elements[0].price_components[0].x_discount",
            "elements[1].restrictions.x_zone",
            "x_note",
        ]
    );
    // energy_mix is opaque: kept verbatim (numbers included), not checked field by field.
    assert_eq!(
        parsed.value.energy_mix().unwrap().as_str(),
        r#"{"is_green_energy":true,"anything":[1,2.50]}"#
    );
    assert!(parsed.value.to_json().contains(r#""anything":[1,2.50]"#));
}

#[test]
fn numbers_never_pass_through_floating_point() {
    // 0.1 + 0.2 style values and a long mantissa survive exactly.
    let text = with("").replacen(r#""price":0.25"#, r#""price":0.30000000000000004441"#, 1);
    let t = parse_tariff(&text).unwrap().value;
    assert_eq!(
        t.elements()[0].price_components()[0].price().to_string(),
        "0.30000000000000004441"
    );
    assert!(t.to_json().contains(r#""price":0.30000000000000004441"#));
}

#[test]
fn cdr_must_fail_cases() {
    let cdr = read("cdr_example.json");
    let err = parse_cdr(&cdr.replacen(
        r#""auth_method": "WHITELIST","#,
        r#""auth_method": "PIN","#,
        1,
    ))
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "auth_method: expected one of AUTH_REQUEST, COMMAND, WHITELIST, found \"PIN\""
    );
    let err = parse_cdr(&cdr.replacen(
        "\"type\": \"TIME\",\n      \"volume\"",
        "\"type\": \"MINUTES\",\n      \"volume\"",
        1,
    ))
    .unwrap_err();
    assert_eq!(err.path(), Some("charging_periods[0].dimensions[0].type"));
    let err = parse_cdr(&cdr.replacen(r#""step_size": 300"#, r#""step_size": 0"#, 1)).unwrap_err();
    assert_eq!(
        err.to_string(),
        "tariffs[0].elements[0].price_components[0].step_size: expected a positive integer"
    );
    let err = parse_cdr(&cdr.replacen(
        r#""currency": "EUR","#,
        r#""currency": "EUR", "credit": true,"#,
        1,
    ))
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "credit_reference_id: required when credit is true"
    );
}
