//! Settlement on one CPO node: closing a period bills each roaming eMSP, and nobody for the
//! sessions the operator's own tokens authorised.

use serde_json::{json, Value};

use crate::common::*;
use crate::privacy::{admin, driver_keygen, priced_charger, provision, session, Driver};

/// An operator with both roles: its own drivers charging at its own chargers are not roaming,
/// so the period's statements go to the other eMSP only.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_period_bills_roaming_emsps_and_not_the_operator_itself() {
    let mut node = TestNode::init();
    node.start();
    let client = reqwest::Client::new();
    let work = tempfile::tempdir().unwrap();
    let (secret_file, pseudonym) = driver_keygen(work.path(), "roaming");
    let roaming = Driver {
        uid: "04AB0000000001",
        contract: "SE-EMP-C00000001-1",
        plate: "ROAM01",
        secret_file,
        pseudonym,
    };
    provision(&client, &node, &roaming).await;
    // The node's own party is SE*TST (`TestNode::init`).
    let (_, own_pseudonym) = driver_keygen(work.path(), "own");
    let (status, v) = admin(
        &client,
        &node,
        reqwest::Method::PUT,
        "/v1/admin/tokens",
        json!({
            "country_code": "SE", "party_id": "TST", "uid": "04AB0000000002", "type": "RFID",
            "contract_id": "SE-TST-C00000002-2", "driver": own_pseudonym,
        }),
    )
    .await;
    assert_eq!(status, 200, "{v}");
    let now = now_ms();
    let mut charger = priced_charger(&client, &node, now).await;
    // Sessions take 100 s on one charger; the second starts after the first stops (the node
    // accepts readings up to 5 minutes ahead).
    session(
        &client,
        &node,
        &mut charger,
        Some(roaming.uid),
        now - 45_000,
        8_000,
    )
    .await;
    session(
        &client,
        &node,
        &mut charger,
        Some("04AB0000000002"),
        now + 60_000,
        4_000,
    )
    .await;

    let (status, closed) = admin(
        &client,
        &node,
        reqwest::Method::POST,
        "/v1/admin/settlement/close",
        json!({"period_start_ms": now - 3_600_000, "period_end_ms": now + 300_000}),
    )
    .await;
    assert_eq!(status, 200, "{closed}");
    assert_eq!(
        closed["statements"].as_array().map(Vec::len),
        Some(1),
        "one statement, to SE*EMP: {closed}"
    );
    let overview: Value = fetch_json(&client, format!("{}/v1/settlement", node.url())).await;
    let statements = overview["periods"][0]["statements"].as_array().unwrap();
    let to: Vec<(&str, u64)> = statements
        .iter()
        .map(|s| (s["emsp"].as_str().unwrap(), s["sessions"].as_u64().unwrap()))
        .collect();
    assert_eq!(to, vec![("SE*EMP", 1)], "{overview}");
    assert_eq!(statements[0]["status"], "pending", "{overview}");
    assert!(
        statements[0].get("problem").is_none(),
        "the statement checks against the log: {overview}"
    );
}
