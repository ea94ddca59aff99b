//! `kvitto bench ingest`: durable ingest throughput against bare Ed25519 verification, measured in
//! the same run on the same cores.

use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use kvitto_core::reading::SignedReading;

use crate::client::Client;
use crate::simulate::{self, SimulateOptions};

#[derive(Debug, Clone)]
pub struct BenchOptions {
    pub chargers: usize,
    pub sessions_per_charger: usize,
    pub intermediate_readings: usize,
    pub batch: usize,
}

#[derive(Debug, serde::Serialize)]
pub struct BenchReport {
    pub cores: usize,
    pub readings: usize,
    pub verify_per_second: f64,
    pub ingest_per_second: f64,
    pub request_latency_ms_p50: f64,
    pub request_latency_ms_p99: f64,
    pub ratio: f64,
}

/// Verifies every reading with the strict rule on `cores` threads; readings per second.
pub(crate) fn bare_verify(
    readings: &[SignedReading],
    key_of: &(dyn Fn(&SignedReading) -> ed25519_dalek::VerifyingKey + Sync),
    cores: usize,
) -> f64 {
    let started = Instant::now();
    std::thread::scope(|scope| {
        for chunk in readings.chunks(readings.len().div_ceil(cores).max(1)) {
            scope.spawn(move || {
                for r in chunk {
                    let ok = r.verify(&key_of(r)).is_ok();
                    std::hint::black_box(ok);
                }
            });
        }
    });
    readings.len() as f64 / started.elapsed().as_secs_f64()
}

/// Every charger's sessions, signed up front, and the chargers' verifying keys.
pub(crate) fn sign_sessions(
    chargers: &mut [kvitto_core::charger::SoftCharger],
    sim: &SimulateOptions,
    start_ms: u64,
) -> (
    Vec<Vec<SignedReading>>,
    std::collections::HashMap<kvitto_core::KeyId, ed25519_dalek::VerifyingKey>,
) {
    let per_charger = chargers
        .iter_mut()
        .map(|c| {
            simulate::session_readings(
                c,
                sim.sessions_per_charger,
                sim.intermediate_readings,
                sim.max_power_w,
                start_ms,
            )
        })
        .collect();
    let keys = chargers
        .iter()
        .map(|c| (c.key_id(), c.signing_key().verifying_key()))
        .collect();
    (per_charger, keys)
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i].as_secs_f64() * 1000.0
}

pub async fn ingest(options: BenchOptions) -> Result<BenchReport> {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let dir = tempfile::tempdir()?;
    let node_dir = dir.path().join("node");
    let network = "bench";
    crate::node::init(&node_dir, network, "SE*BEN", "127.0.0.1:0".parse()?)?;
    let token =
        crate::keyfile::read_secret(&crate::config::NodeDir(node_dir.clone()).admin_token())?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let node = crate::node::start(&node_dir, None, async {
        let _ = stopped.await;
    })
    .await?;
    let base = format!("http://{}", node.addr);
    let serving = tokio::spawn(node.run());
    let client = Client::new(&base, Some(token.to_string()))?;

    let sim = SimulateOptions {
        network: network.into(),
        chargers: options.chargers,
        sessions_per_charger: options.sessions_per_charger,
        intermediate_readings: options.intermediate_readings,
        batch: options.batch,
        max_power_w: 22_000,
        tariff_id: None,
        show_progress: false,
    };
    let now = kvitto_service::Clock::now_ms(&kvitto_service::SystemClock);
    let start_ms = now.saturating_sub(
        simulate::history_span_ms(sim.sessions_per_charger, sim.intermediate_readings) + 60_000,
    );
    let mut chargers = simulate::register_chargers(&client, &sim, start_ms).await?;
    // Sign everything before timing anything.
    let (per_charger, keys) = sign_sessions(&mut chargers, &sim, start_ms);
    let all: Vec<SignedReading> = per_charger.iter().flatten().cloned().collect();
    let key_of = |r: &SignedReading| keys[&r.reading.key_id];
    let verify_per_second = bare_verify(&all, &key_of, cores);

    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for readings in per_charger {
        let client = client.clone();
        let batch = sim.batch.max(1);
        tasks.spawn(async move {
            let mut latencies = Vec::new();
            for chunk in readings.chunks(batch) {
                let sent = Instant::now();
                client.post_readings(chunk).await?;
                latencies.push(sent.elapsed());
            }
            anyhow::Ok(latencies)
        });
    }
    let mut latencies = Vec::new();
    while let Some(result) = tasks.join_next().await {
        latencies.extend(result.context("bench task")??);
    }
    let ingest_per_second = all.len() as f64 / started.elapsed().as_secs_f64();
    latencies.sort();
    let _ = stop.send(());
    serving.await??;
    Ok(BenchReport {
        cores,
        readings: all.len(),
        verify_per_second,
        ingest_per_second,
        request_latency_ms_p50: percentile(&latencies, 0.50),
        request_latency_ms_p99: percentile(&latencies, 0.99),
        ratio: ingest_per_second / verify_per_second,
    })
}
