use kvitto_settle::export::{
    invoice_reconciliation_record, netting_from_csv, netting_from_json, netting_to_json,
    obligations_from_csv, obligations_to_csv, positions_to_csv, transfers_to_csv,
};
use kvitto_settle::{net, SettleError};

use crate::{owes, three_operators, A};

#[test]
fn obligations_round_trip_through_csv() {
    let mut obligations = three_operators();
    // Values a CSV writer must quote survive.
    obligations[0].statement.origin = "kvitto/test/\"quoted\", with comma".into();
    obligations[1].amount_minor = -42;
    obligations[2].amount_minor = i64::MIN;
    let text = obligations_to_csv(&obligations).unwrap();
    assert!(text.starts_with("origin,index,cpo,emsp,currency,amount_minor\n"));
    assert_eq!(obligations_from_csv(&text).unwrap(), obligations);
    // An empty export still has its header and reads back empty.
    let empty = obligations_to_csv(&[]).unwrap();
    assert_eq!(empty, "origin,index,cpo,emsp,currency,amount_minor\n");
    assert!(obligations_from_csv(&empty).unwrap().is_empty());
}

#[test]
fn netting_round_trips_through_csv() {
    let mut obligations = three_operators();
    obligations.push(owes(7, A, "SE*CCC", "EUR", 9));
    let netting = net("2026-11", &obligations).unwrap();
    let positions = positions_to_csv(&netting).unwrap();
    let transfers = transfers_to_csv(&netting).unwrap();
    assert_eq!(
        positions,
        "period,currency,party,net_minor\n\
         2026-11,EUR,SE*AAA,-9\n\
         2026-11,EUR,SE*CCC,9\n\
         2026-11,SEK,SE*AAA,120\n\
         2026-11,SEK,SE*BBB,10\n\
         2026-11,SEK,SE*CCC,-130\n"
    );
    assert_eq!(
        transfers,
        "period,currency,seq,from,to,amount_minor\n\
         2026-11,EUR,0,SE*AAA,SE*CCC,9\n\
         2026-11,SEK,0,SE*CCC,SE*AAA,120\n\
         2026-11,SEK,1,SE*CCC,SE*BBB,10\n"
    );
    let back = netting_from_csv("2026-11", &positions, &transfers).unwrap();
    assert_eq!(back, netting);
    back.check(&obligations).unwrap();
}

#[test]
fn csv_readers_refuse_what_they_cannot_place() {
    let netting = net("2026-11", &three_operators()).unwrap();
    let positions = positions_to_csv(&netting).unwrap();
    let transfers = transfers_to_csv(&netting).unwrap();
    assert_eq!(
        netting_from_csv("2026-12", &positions, &transfers),
        Err(SettleError::CsvRow {
            row: 2,
            reason: "period \"2026-11\", expected \"2026-12\"".into()
        })
    );
    let skipped = transfers.replace(",1,", ",2,");
    assert!(matches!(
        netting_from_csv("2026-11", &positions, &skipped),
        Err(SettleError::CsvRow { row: 3, .. })
    ));
    let renamed = positions.replace("net_minor", "net");
    assert!(matches!(
        netting_from_csv("2026-11", &renamed, &transfers),
        Err(SettleError::Csv(_))
    ));
    let not_a_number = "origin,index,cpo,emsp,currency,amount_minor\no,1,SE*AAA,SE*BBB,SEK,1.5\n";
    assert!(matches!(
        obligations_from_csv(not_a_number),
        Err(SettleError::CsvRow { row: 2, .. })
    ));
}

#[test]
fn netting_round_trips_through_json() {
    let netting = net("2026-11", &three_operators()).unwrap();
    let text = netting_to_json(&netting).unwrap();
    let value: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(value["period"], "2026-11");
    assert_eq!(value["currencies"][0]["currency"], "SEK");
    assert_eq!(value["currencies"][0]["positions"][0]["party"], "SE*AAA");
    assert_eq!(value["currencies"][0]["positions"][0]["net_minor"], 120);
    assert_eq!(value["currencies"][0]["transfers"][1]["from"], "SE*CCC");
    assert_eq!(value["currencies"][0]["transfers"][1]["to"], "SE*BBB");
    assert_eq!(value["currencies"][0]["transfers"][1]["amount_minor"], 10);
    assert_eq!(netting_from_json(&text).unwrap(), netting);
    let extra = text.replacen("\"period\"", "\"hidden\": 1, \"period\"", 1);
    assert!(matches!(
        netting_from_json(&extra),
        Err(SettleError::Json(_))
    ));
}

#[test]
fn ocpi_reconciliation_record_of_a_statement() {
    let obligation = owes(1, "SE*BBB", "SE*N01", "SEK", 100);
    let cdrs = vec!["CDR1".to_owned(), "CDR2".to_owned()];
    let record =
        invoice_reconciliation_record(&obligation, "IRR1", "INV-2026-11", &cdrs, 1_796_083_200_000)
            .unwrap();
    let json = serde_json::to_string(&record).unwrap();
    assert_eq!(
        json,
        r#"{"country_code":"SE","party_id":"N01","id":"IRR1","invoice_id":"INV-2026-11","cdrs":["CDR1","CDR2"],"last_updated":"2026-12-01T00:00:00Z"}"#
    );
    let ms =
        invoice_reconciliation_record(&obligation, "IRR1", "I", &cdrs, 1_796_083_200_123).unwrap();
    assert_eq!(ms.last_updated, "2026-12-01T00:00:00.123Z");

    let refused = |o: &kvitto_settle::Obligation, id: &str, cdrs: &[String]| {
        matches!(
            invoice_reconciliation_record(o, id, "INV", cdrs, 0),
            Err(SettleError::Ocpi(_))
        )
    };
    assert!(refused(&obligation, "IRR1", &[]));
    assert!(refused(&obligation, "IRR1", &["a".into(), "A".into()]));
    assert!(refused(&obligation, &"x".repeat(37), &cdrs));
    assert!(refused(&obligation, "IRR1", &["é".into()]));
    let not_ocpi = owes(1, "SE*BBB", "operator-1", "SEK", 1);
    assert!(refused(&not_ocpi, "IRR1", &cdrs));
}
