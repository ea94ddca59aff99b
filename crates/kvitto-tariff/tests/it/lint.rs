//! Tariff lint and per-counterparty variants.

use std::collections::BTreeMap;

use kvitto_tariff::{
    lint, parse_tariff, price_session, LintKind, PartyId, RoundingRule, Severity, Tariff, TariffSet,
};

use crate::support::{dec, minutes, read, tariff, Plan};

fn inline(extra: &str, elements: &str) -> Tariff {
    parse_tariff(&format!(
        r#"{{"country_code":"DE","party_id":"KVI","id":"L","currency":"EUR"{extra},"elements":{elements},
            "last_updated":"2024-01-01T00:00:00Z"}}"#
    ))
    .unwrap()
    .value
}

fn findings(t: &Tariff) -> Vec<String> {
    lint(t).iter().map(ToString::to_string).collect()
}

#[test]
fn clean_tariffs_have_no_findings() {
    for name in [
        "tariff_8_simple_025kwh.json",
        "tariff_9_025kwh_start.json",
        "tariff_12_025kwh_min_price.json",
    ] {
        assert_eq!(findings(&tariff(name)), Vec::<String>::new(), "{name}");
    }
}

#[test]
fn shadowed_elements_are_found() {
    let t = inline(
        "",
        r#"[{"price_components":[{"type":"ENERGY","price":0.25,"step_size":1}]},
            {"price_components":[{"type":"ENERGY","price":0.10,"step_size":1}],"restrictions":{"start_time":"22:00"}},
            {"price_components":[{"type":"ENERGY","price":0.30,"step_size":1},{"type":"TIME","price":1,"step_size":1}]}]"#,
    );
    assert_eq!(
        findings(&t),
        [
            "warning: elements[1]: the element never applies: ENERGY by elements[0]",
            "warning: elements[2]: its ENERGY component is never used: elements[0] always prices ENERGY first",
        ]
    );
}

#[test]
fn impossible_restrictions_are_errors() {
    let t = inline(
        "",
        r#"[{"price_components":[{"type":"ENERGY","price":0.10,"step_size":1}],
             "restrictions":{"min_kwh":20,"max_kwh":10,"start_date":"2024-05-01","end_date":"2024-05-01","day_of_week":[]}},
            {"price_components":[{"type":"ENERGY","price":0.25,"step_size":1}]}]"#,
    );
    assert_eq!(
        findings(&t),
        [
            "error: elements[0].restrictions: the element never applies: min_kwh 20 is not below max_kwh 10",
            "error: elements[0].restrictions: the element never applies: start_date 2024-05-01 is not before end_date 2024-05-01 (end_date is exclusive)",
            "error: elements[0].restrictions: the element never applies: day_of_week is an empty list",
        ]
    );
    // Pricing agrees with the lint: the element never applies.
    let s = Plan::at("2024-05-01 10:00")
        .charge(minutes(60), 4_000)
        .session();
    let totals = price_session(&t, &s, &RoundingRule::for_currency("EUR").unwrap()).unwrap();
    assert_eq!(totals.total_cost.excl_vat, dec("1.00"));
}

#[test]
fn contradictions_and_missing_fallbacks() {
    let t = inline(
        r#","min_price":{"excl_vat":5},"max_price":{"excl_vat":4}"#,
        r#"[{"price_components":[{"type":"ENERGY","price":0.20,"step_size":1},{"type":"TIME","price":1,"step_size":1}],
             "restrictions":{"reservation":"RESERVATION"}},
            {"price_components":[{"type":"ENERGY","price":0.20,"step_size":1}],"restrictions":{"max_power":22}}]"#,
    );
    let found = lint(&t);
    let kinds: Vec<(Severity, LintKind)> = found.iter().map(|f| (f.severity, f.kind)).collect();
    assert_eq!(
        kinds,
        [
            (Severity::Error, LintKind::Contradiction),
            (Severity::Error, LintKind::UnusedComponent),
            (Severity::Warning, LintKind::NoFallback),
        ],
        "{found:#?}"
    );
    assert_eq!(found[1].path, "elements[0].price_components[0]");
    assert!(found[2]
        .message
        .starts_with("ENERGY is priced only by restricted elements"));
}

#[test]
fn conformance_tariffs_lint_as_expected() {
    // The complex tariff prices charging time and parking only under restrictions: outside them
    // they are free, which the specification intends here but which is worth a warning.
    let t = tariff("tariff_4_complex.json");
    let no_fallback: Vec<String> = lint(&t)
        .into_iter()
        .filter(|f| f.kind == LintKind::NoFallback)
        .map(|f| f.message.split(' ').next().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(no_fallback, ["TIME", "PARKING_TIME"]);
    // Every conformance tariff lints without panicking, and none has an impossible element.
    for name in std::fs::read_dir(crate::support::conformance_dir()).unwrap() {
        let name = name.unwrap().file_name().into_string().unwrap();
        if !name.starts_with("tariff") || name == "tariff_put_example.json" {
            continue;
        }
        let t = parse_tariff(&read(&name)).unwrap().value;
        assert!(
            lint(&t)
                .iter()
                .all(|f| f.kind != LintKind::ImpossibleRestriction),
            "{name}"
        );
    }
}

#[test]
fn tariff_set_picks_the_counterparty_variant() {
    let default = tariff("tariff_8_simple_025kwh.json");
    let cheaper = parse_tariff(&read("tariff_8_simple_025kwh.json").replace("0.25", "0.20"))
        .unwrap()
        .value;
    let tnm = PartyId::new("nl", "tnm").unwrap();
    let set = TariffSet::new(
        default.clone(),
        BTreeMap::from([(tnm.clone(), cheaper.clone())]),
    )
    .unwrap();
    assert_eq!(
        set.for_counterparty(&PartyId::new("NL", "TNM").unwrap()),
        &cheaper
    );
    assert_eq!(
        set.for_counterparty(&PartyId::new("DE", "ABC").unwrap()),
        &default
    );
    assert_eq!(tnm.to_string(), "NL/TNM");

    let other_id = parse_tariff(&read("tariff_9_025kwh_start.json"))
        .unwrap()
        .value;
    assert!(TariffSet::new(default, BTreeMap::from([(tnm, other_id)])).is_err());
    assert!(PartyId::new("NLD", "TNM").is_err());
}
