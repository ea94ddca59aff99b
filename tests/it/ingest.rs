//! Forged, replayed, reordered and malformed readings against the real binary: each rejected with
//! its code, and nothing of them stored.

use ed25519_dalek::SigningKey;
use kvitto_core::ReadingKind;

use crate::common::*;

#[tokio::test]
async fn bad_readings_are_rejected_and_store_nothing() {
    let mut node = TestNode::init();
    node.start();
    let client = reqwest::Client::new();
    let t0 = now_ms() - 3_600_000;
    let mut charger = new_charger();
    register(&client, &node, &charger, t0).await;
    let start = charger.start(t0 + 1_000);
    let (status, _) = post(&client, &node, std::slice::from_ref(&start))
        .await
        .unwrap();
    assert_eq!(status, 200);
    let size_before = get(&client, &node, "/v1/status", false).await.1["size"]
        .as_u64()
        .unwrap();

    let forged = charger
        .peek(ReadingKind::Intermediate, t0 + 60_000, 100)
        .sign(&SigningKey::from_bytes(&[0x42; 32]));
    let mut skipped = charger.clone();
    let _lost = skipped.meter(t0 + 60_000, 100);
    let reordered = skipped.meter(t0 + 120_000, 100);
    let mut truncated = start.encode();
    truncated.pop();
    let mut bad_kind = charger
        .peek(ReadingKind::Intermediate, t0 + 60_000, 0)
        .encode()
        .to_vec();
    bad_kind[57] = 9;

    let cases: Vec<(&str, Vec<u8>, u16, &str)> = vec![
        ("forged", forged.encode(), 422, "bad_signature"),
        ("replayed", start.encode(), 409, "replayed_reading"),
        ("reordered", reordered.encode(), 422, "counter_gap"),
        ("truncated", truncated, 400, "malformed_reading"),
        (
            "unknown kind",
            {
                let mut b = bad_kind;
                b.extend_from_slice(&[0; 64]);
                b
            },
            400,
            "malformed_reading",
        ),
    ];
    for (name, body, want_status, want_code) in cases {
        let response = client
            .post(format!("{}/v1/readings", node.url()))
            .header("content-type", "application/octet-stream")
            .body(body)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        let value: serde_json::Value = response.json().await.unwrap();
        assert_eq!(
            (status, value["error"]["code"].as_str().unwrap()),
            (want_status, want_code),
            "{name}: {value}"
        );
        let message = value["error"]["message"].as_str().unwrap();
        assert!(
            message.len() > 10 && !message.ends_with('.'),
            "{name}: the message should be a clear sentence: {message:?}"
        );
    }
    let (_, status) = get(&client, &node, "/v1/status", false).await;
    assert_eq!(
        status["size"].as_u64().unwrap(),
        size_before,
        "no rejected reading reached the log"
    );
    let (_, state) = get(
        &client,
        &node,
        &format!("/v1/chargers/{}", charger.key_id()),
        true,
    )
    .await;
    assert_eq!(
        state["last"]["counter"], 1,
        "no rejected reading reached the charger state"
    );
    // The genuine next reading is still accepted: rejections changed nothing.
    let next = charger.stop(t0 + 60_000, 100);
    let (status, value) = post(&client, &node, &[next]).await.unwrap();
    assert_eq!(status, 200, "{value}");
    node.stop();
    node.verify_log();
}

/// Keys and the admin token never appear in what the node prints, even at debug level.
#[tokio::test]
async fn secrets_are_never_logged() {
    let mut node = TestNode::init();
    let log_file = node.dir.join("node.log");
    node.start_logging_to(&log_file);
    let client = reqwest::Client::new();
    let mut charger = new_charger();
    register(&client, &node, &charger, now_ms() - 60_000).await;
    let (status, _) = post(&client, &node, &[charger.start(now_ms() - 30_000)])
        .await
        .unwrap();
    assert_eq!(status, 200);
    let wrong = client
        .get(format!("{}/v1/chargers/{}", node.url(), charger.key_id()))
        .bearer_auth("not-the-token-at-all")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status().as_u16(), 403);
    node.stop();
    let printed = std::fs::read_to_string(&log_file).unwrap();
    assert!(
        printed.contains("node started"),
        "debug logging was on: {printed}"
    );
    let log_key = std::fs::read_to_string(node.dir.join("keys/log.key")).unwrap();
    // PRIVATE+KEY+<name>+<key id>+<base64 key>; the base64 may itself contain '+'.
    let secret_part = log_key.trim().splitn(5, '+').nth(4).unwrap().to_string();
    let p2p_key = std::fs::read_to_string(node.dir.join("keys/p2p.key")).unwrap();
    for (name, secret) in [
        ("admin token", node.token.as_str()),
        ("log key", secret_part.as_str()),
        ("peer key", p2p_key.trim()),
    ] {
        assert!(secret.len() >= 32, "{name} looks too short to be a key");
        assert!(
            !printed.contains(secret),
            "the {name} appears in the node's output"
        );
    }
}
