//! Kill -9 at random points during ingest, many times: every acknowledged reading survives, and
//! the log verifies after each crash.

use std::time::Duration;

use kvitto_core::SignedReading;
use rand::Rng;

use crate::common::*;

/// A charger with a queue of pre-signed readings that it sends in order, resending after a
/// failure exactly as a real charger would.
struct Sender {
    readings: Vec<SignedReading>,
    next: usize,
    acked_counter: u64,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_readings_survive_sigkill() {
    let mut node = TestNode::init();
    node.start();
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    let t0 = now_ms() - kvitto_node::simulate::history_span_ms(60, 3) - 60_000;
    let mut senders = Vec::new();
    for _ in 0..4 {
        let mut charger = new_charger();
        register(&client, &node, &charger, t0).await;
        let readings = kvitto_node::simulate::session_readings(&mut charger, 60, 3, 22_000, t0);
        let key_id = charger.key_id();
        senders.push((
            key_id,
            Sender {
                readings,
                next: 0,
                acked_counter: 0,
            },
        ));
    }
    let mut rng = rand::thread_rng();
    let rounds = 20;
    for round in 0..rounds {
        let run_for = Duration::from_millis(rng.gen_range(50..400));
        let deadline = tokio::time::Instant::now() + run_for;
        // Push from every charger concurrently until the deadline, then SIGKILL mid-flight.
        let mut tasks = Vec::new();
        for (key_id, mut sender) in senders.drain(..) {
            let client = client.clone();
            let url = node.url();
            tasks.push(tokio::spawn(async move {
                while sender.next < sender.readings.len() && tokio::time::Instant::now() < deadline
                {
                    let batch_end = (sender.next + 3).min(sender.readings.len());
                    let batch = &sender.readings[sender.next..batch_end];
                    let body: Vec<u8> = batch.iter().flat_map(|r| r.encode()).collect();
                    let sent = client
                        .post(format!("{url}/v1/readings"))
                        .header("content-type", "application/octet-stream")
                        .body(body)
                        .send()
                        .await;
                    let Ok(response) = sent else { break };
                    let status = response.status().as_u16();
                    let Ok(value) = response.json::<serde_json::Value>().await else {
                        break;
                    };
                    match status {
                        200 => {}
                        // Stored before the crash but never acknowledged: the replay tells the
                        // charger it is durable. Skip past what the node already has.
                        409 if value["error"]["code"] == "replayed_reading" => {
                            // Batches are all or nothing, and the first reading of this batch is
                            // the one the node already has (a later one would fail with a gap).
                            let index = value["error"]["index"].as_u64().unwrap_or(0) as usize;
                            assert_eq!(index, 0, "{value}");
                            sender.next += 1;
                            sender.acked_counter = sender.readings[sender.next - 1].reading.counter;
                            continue;
                        }
                        other => panic!("unexpected answer {other}: {value}"),
                    }
                    sender.next = batch_end;
                    sender.acked_counter = sender.readings[batch_end - 1].reading.counter;
                }
                (key_id, sender)
            }));
        }
        tokio::time::sleep(run_for / 2).await;
        node.kill9();
        for task in tasks {
            senders.push(task.await.unwrap());
        }
        // The log verifies with the node down.
        node.verify_log();
        node.start();
        // Every acknowledged reading is there.
        for (key_id, sender) in &senders {
            let (status, charger) =
                get(&client, &node, &format!("/v1/chargers/{key_id}"), true).await;
            assert_eq!(status, 200, "{charger}");
            let stored = charger["last"]["counter"].as_u64().unwrap_or(0);
            assert!(stored >= sender.acked_counter, "round {round}: charger {key_id} acknowledged counter {} but only {stored} survived", sender.acked_counter);
        }
    }
    // Finish every charger's queue, then check the sessions and the log once more.
    for (key_id, sender) in &mut senders {
        // Resume from what the node has (a crash may have stored unacknowledged readings).
        let (_, charger) = get(&client, &node, &format!("/v1/chargers/{key_id}"), true).await;
        let stored = charger["last"]["counter"].as_u64().unwrap_or(0) as usize;
        for chunk in sender.readings[stored..].chunks(16) {
            let (status, value) = post(&client, &node, chunk).await.unwrap();
            assert_eq!(status, 200, "{value}");
        }
    }
    node.stop();
    let report = node.verify_log();
    assert_eq!(report["entry_types"]["session_closed"], 4 * 60, "{report}");
    assert_eq!(report["entry_types"]["charger_registered"], 4);
}
