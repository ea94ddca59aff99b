//! A regulator audits one session of another operator after disclosure: the operator's custody
//! gives the evidence only to a regulator (and logs it) or to the session's own eMSP, the
//! regulator checks the bundle against its own mirror of the ledger and verifies the rebuilt
//! receipt under its own policy, and the disclosure on the log names no person.

use kvitto_core::entry::Entry;
use serde_json::{json, Value};

use crate::common::*;
use crate::network::{Testnet, NETWORK as TESTNET};
use crate::privacy::{entry_bundle, files_under};

async fn post_json(client: &reqwest::Client, url: &str, token: &str, body: Value) -> (u16, Value) {
    let r = client
        .post(url)
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
}

fn token_of(net: &Testnet, i: usize) -> String {
    std::fs::read_to_string(net.node_dir(i).join("keys/admin.token"))
        .unwrap()
        .trim()
        .to_owned()
}

/// The entries of node 1's log as node `i` serves them.
async fn entries(client: &reqwest::Client, net: &Testnet, i: usize) -> Vec<Entry> {
    let checkpoint = client
        .get(format!("{}/log/se-n01/checkpoint", net.url(i)))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let size: u64 = checkpoint.lines().nth(1).unwrap().parse().unwrap();
    let mut out = Vec::new();
    for n in 0..=size / 256 {
        let width = if n == size / 256 { size % 256 } else { 256 };
        if width == 0 {
            continue;
        }
        let suffix = if width == 256 {
            String::new()
        } else {
            format!(".p/{width}")
        };
        let body = client
            .get(format!(
                "{}/log/se-n01/tile/entries/{n:03}{suffix}",
                net.url(i)
            ))
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        out.extend(
            entry_bundle(&body)
                .iter()
                .map(|e| Entry::decode(e).unwrap()),
        );
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_regulator_audits_a_disclosed_session_and_only_authorised_members_get_evidence() {
    // Node 1 a CPO, node 2 an eMSP (SE*N02), node 3 a CPO, node 4 the regulator.
    let mut net = Testnet::init(4);
    for i in 0..4 {
        net.start(i);
    }
    let client = reqwest::Client::new();
    let cpo = token_of(&net, 0);
    let now = now_ms();
    let tariff: Value =
        serde_json::from_str(&std::fs::read_to_string(crate::common::tariff_file()).unwrap())
            .unwrap();
    let (status, v) = post_json(
        &client,
        &format!("{}/v1/admin/tariffs", net.url(0)),
        &cpo,
        json!({"tariff": tariff, "valid_from_ms": now - 50_000}),
    )
    .await;
    assert_eq!(status, 200, "{v}");
    let mut charger = kvitto_core::charger::SoftCharger::new(
        kvitto_core::keys::generate_signing_key(),
        kvitto_core::NetworkId::of_name(TESTNET),
    );
    let (status, v) = post_json(&client, &format!("{}/v1/admin/chargers", net.url(0)), &cpo, json!({
        "public_key": hex::encode(charger.public_key()), "evse_id": "SE*N01*E1", "meter_serial": "M-1",
        "max_power_w": 350_000, "valid_from_ms": now - 60_000, "tariff_id": tariff["id"],
    })).await;
    assert_eq!(status, 200, "{v}");
    // A driver of eMSP SE*N02 charges at node 1's charger.
    let driver = kvitto_privacy::DriverSecret::generate(&mut rand_core::OsRng);
    let r = client
        .put(format!("{}/v1/admin/tokens", net.url(0)))
        .bearer_auth(&cpo)
        .json(&json!({
            "country_code": "SE", "party_id": "N02", "uid": "04C0FFEE112233", "type": "RFID",
            "contract_id": "SE-N02-C00000042-7", "license_plate": "KVT123",
            "driver": hex::encode(driver.public().to_bytes()),
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let start = charger.start(now - 40_000);
    let session = start.reading.session;
    let url0 = net.url(0);
    let node0 = TestNodeRef { url: url0.clone() };
    node0.post(&client, &[start]).await;
    let (status, v) = post_json(
        &client,
        &format!("{url0}/v1/admin/sessions/{session}/authorize"),
        &cpo,
        json!({"uid": "04C0FFEE112233"}),
    )
    .await;
    assert_eq!(status, 200, "{v}");
    node0
        .post(
            &client,
            &[
                charger.meter(now + 10_000, 4_000),
                charger.stop(now + 60_000, 4_000),
            ],
        )
        .await;
    let (converged, report) = net.check(&[0, 1, 2, 3], 60);
    assert!(converged, "{report}");

    // The regulator asks for the session: verified under its own policy, bundle bound to the
    // ledger, and the token is what it learns.
    let regulator = token_of(&net, 3);
    let body = json!({"log": "se-n01", "session": session.to_string(), "case_ref": "case 2026/17"});
    let mut audit = Value::Null;
    for _ in 0..50 {
        let (status, v) = post_json(
            &client,
            &format!("{}/v1/admin/disclosures", net.url(3)),
            &regulator,
            body.clone(),
        )
        .await;
        if status == 200 {
            audit = v;
            break;
        }
        assert_eq!(status, 409, "only 'not yet witnessed' may be retried: {v}");
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    assert_eq!(audit["verified"], json!(true), "{audit:#}");
    assert_eq!(audit["checks"].as_array().unwrap().len(), 14);
    assert_eq!(audit["bundle"]["token"]["uid"], json!("04C0FFEE112233"));
    assert_eq!(
        audit["receipt"]["summary"]["total_incl_vat"],
        json!("2.20"),
        "{:#}",
        audit["receipt"]["summary"]
    );

    // The disclosure is on node 1's log, naming the regulator and the case, not the person.
    let mut logged = Vec::new();
    for _ in 0..50 {
        logged = entries(&client, &net, 0)
            .await
            .into_iter()
            .filter_map(|e| match e {
                Entry::EvidenceDisclosed(d) => Some(d),
                _ => None,
            })
            .collect();
        if !logged.is_empty() {
            break;
        }
        // Served once the next checkpoint covers it.
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(logged.len(), 1, "{logged:?}");
    assert_eq!(logged[0].session, session);
    assert_eq!(logged[0].recipient, "SE*N04");
    assert_eq!(logged[0].case_ref, "case 2026/17");

    // The session's eMSP may have it too (not logged); another CPO may not.
    let (status, v) = post_json(
        &client,
        &format!("{}/v1/admin/disclosures", net.url(1)),
        &token_of(&net, 1),
        body.clone(),
    )
    .await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["verified"], json!(true));
    let (status, v) = post_json(
        &client,
        &format!("{}/v1/admin/disclosures", net.url(2)),
        &token_of(&net, 2),
        body.clone(),
    )
    .await;
    assert_eq!(
        (status, v["error"]["code"].as_str()),
        (502, Some("disclosure_refused")),
        "{v}"
    );
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("not_authorised"),
        "{v}"
    );
    // Nobody may ask for their own log this way, and unknown logs are named.
    let (status, v) = post_json(
        &client,
        &format!("{}/v1/admin/disclosures", net.url(0)),
        &cpo,
        body.clone(),
    )
    .await;
    assert_eq!(
        (status, v["error"]["code"].as_str()),
        (422, Some("own_log")),
        "{v}"
    );
    let entries_after = entries(&client, &net, 0).await;
    assert_eq!(
        entries_after
            .iter()
            .filter(|e| matches!(e, Entry::EvidenceDisclosed(_)))
            .count(),
        1,
        "refused and eMSP requests log nothing"
    );

    // Every mirror accepts the disclosure entry and stays in step.
    let (converged, report) = net.check(&[0, 1, 2, 3], 60);
    assert!(converged, "{report}");
    for i in 1..4 {
        let text = client
            .get(format!("{}/v1/status", net.url(i)))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(
            !text.contains("mirror_error\":\""),
            "node {}: {text}",
            i + 1
        );
        // Mirrors and their APIs hold nothing personal.
        for needle in ["04C0FFEE112233", "SE-N02-C00000042-7", "KVT123"] {
            assert!(!text.contains(needle));
        }
    }
    // Nothing personal is stored on any node but the serving operator's: the other nodes' files
    // (their mirrors of node 1's log, their own logs, their custody) hold none of it, not even the
    // regulator and the eMSP, who were shown the bundle but do not keep it. Node 1 does (the scan
    // can see it).
    let holds = |i: usize, needle: &[u8]| {
        files_under(&net.node_dir(i))
            .iter()
            .any(|(_, bytes)| bytes.windows(needle.len()).any(|w| w == needle))
    };
    assert!(
        holds(0, b"04C0FFEE112233"),
        "node 1 keeps the token in custody"
    );
    for i in 1..4 {
        for needle in ["04C0FFEE112233", "SE-N02-C00000042-7", "KVT123"] {
            assert!(
                !holds(i, needle.as_bytes()),
                "node {} stores {needle}",
                i + 1
            );
        }
    }
}

/// Posting readings to a node by URL.
struct TestNodeRef {
    url: String,
}

impl TestNodeRef {
    async fn post(&self, client: &reqwest::Client, readings: &[kvitto_core::SignedReading]) {
        let body: Vec<u8> = readings.iter().flat_map(|r| r.encode()).collect();
        let r = client
            .post(format!("{}/v1/readings", self.url))
            .header("content-type", "application/octet-stream")
            .body(body)
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        assert_eq!(status, 200, "{}", r.text().await.unwrap());
    }
}
