//! A session pushed through the node is priced from its signed readings and the tariff published
//! on the log, and anyone holding the readings can redo the computation to the cent.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use kvitto_core::entry::Entry;
use kvitto_core::reading::SignedReading;
use serde_json::{json, Value};

use crate::common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn price_is_recomputable_from_the_log_and_the_readings() {
    let mut node = TestNode::init();
    node.start();
    let client = reqwest::Client::new();
    let now = now_ms();

    // The OCPI example tariff 8: 0.25 EUR/kWh excl. VAT, 10 % VAT; the spec prices 20 kWh at
    // 5.00 / 5.50.
    let tariff_text = std::fs::read_to_string(crate::common::tariff_file()).unwrap();
    let tariff: Value = serde_json::from_str(&tariff_text).unwrap();
    let response = client
        .post(format!("{}/v1/admin/tariffs", node.url()))
        .bearer_auth(&node.token)
        .json(&json!({"tariff": tariff, "valid_from_ms": now - 1_000}))
        .send()
        .await
        .unwrap();
    assert!(
        response.status().is_success(),
        "{}",
        response.text().await.unwrap()
    );

    // A DC charger (350 kW) delivers 20 kWh in four minutes.
    let mut charger = new_charger();
    let body = json!({
        "public_key": hex::encode(charger.public_key()), "evse_id": "SE*TST*E2", "meter_serial": "M-2",
        "max_power_w": 350_000, "valid_from_ms": now - 60_000, "tariff_id": tariff["id"],
    });
    let response = client
        .post(format!("{}/v1/admin/chargers", node.url()))
        .bearer_auth(&node.token)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success());
    let readings = vec![
        charger.start(now),
        charger.meter(now + 120_000, 10_000),
        charger.stop(now + 240_000, 10_000),
    ];
    let session = readings[0].reading.session;
    let (status, value) = post(&client, &node, &readings).await.unwrap();
    assert_eq!(status, 200, "{value}");

    let (status, price) = get(
        &client,
        &node,
        &format!("/v1/sessions/{session}/price"),
        true,
    )
    .await;
    assert_eq!(status, 200, "{price}");
    assert_eq!(
        price["totals"]["total_cost"],
        json!({"excl_vat": 5.00, "incl_vat": 5.50}),
        "{price}"
    );
    assert!(
        price["breakdown"].as_str().unwrap().contains("ENERGY")
            || price["breakdown"]
                .as_str()
                .unwrap()
                .to_lowercase()
                .contains("energy")
    );

    // Redo it from public data plus the readings: the record and the tariff come from the log's
    // entry bundles, the readings from the operator, and nothing else is trusted.
    let record_index = price["record_index"].as_u64().unwrap();
    let tariff_index = price["tariff"]["index"].as_u64().unwrap();
    let mut entries = Vec::new();
    for _ in 0..50 {
        let status: Value = fetch_json(&client, format!("{}/v1/status", node.url())).await;
        if status["checkpoint_size"].as_u64().unwrap() > record_index {
            let size = status["checkpoint_size"].as_u64().unwrap();
            let bundle = client
                .get(format!(
                    "{}/log/se-tst/tile/entries/000.p/{size}",
                    node.url()
                ))
                .send()
                .await
                .unwrap()
                .bytes()
                .await
                .unwrap();
            // This test checks pricing, not the tile format (plain_http_client.rs decodes bundles
            // from scratch), so it uses the log's own bundle decoder.
            let id = kvitto_tlog::tiles::BundleId::new(0, size as u16).unwrap();
            entries = kvitto_tlog::tiles::decode_bundle(id, &bundle)
                .unwrap()
                .into_iter()
                .map(<[u8]>::to_vec)
                .collect();
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let Entry::SessionClosed(record) = Entry::decode(&entries[record_index as usize]).unwrap()
    else {
        panic!("not a record")
    };
    let tariff_ref = record.tariff.expect("the record names its tariff");
    assert_eq!(tariff_ref.index, tariff_index);
    assert_eq!(
        tariff_ref.leaf_hash,
        kvitto_tlog::merkle::leaf_hash(&entries[tariff_index as usize]).0,
        "the named tariff is that entry"
    );
    let Entry::TariffPublished(publication) =
        Entry::decode(&entries[tariff_index as usize]).unwrap()
    else {
        panic!("not a tariff")
    };
    let published: Value = serde_json::from_str(&publication.tariff_json).unwrap();
    assert_eq!(published, tariff, "the log holds the tariff as published");

    let (_, session_view) = get(&client, &node, &format!("/v1/sessions/{session}"), true).await;
    let served: Vec<SignedReading> = session_view["readings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| SignedReading::decode(&B64.decode(r.as_str().unwrap()).unwrap()).unwrap())
        .collect();
    let key = ed25519_dalek::VerifyingKey::from_bytes(&charger.public_key()).unwrap();
    for r in &served {
        r.verify(&key)
            .expect("each reading carries the charger's signature");
    }
    assert_eq!(
        kvitto_core::reading::session_readings_digest(&served),
        record.readings_digest,
        "the readings are the ones the record binds"
    );
    let recomputed = kvitto_ledger::pricing::price_readings(
        &served,
        &publication.tariff_json,
        chrono_tz::Europe::Stockholm,
    )
    .unwrap();
    assert_eq!(
        serde_json::to_value(&recomputed.totals).unwrap(),
        price["totals"]
    );
    node.stop();
}
