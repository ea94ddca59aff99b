//! `kvitto charger simulate`: software chargers that register on a node and push signed sessions.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use ed25519_dalek::SigningKey;
use indicatif::{ProgressBar, ProgressStyle};
use kvitto_core::charger::SoftCharger;
use kvitto_core::reading::SignedReading;
use kvitto_core::NetworkId;
use rand::Rng;
use serde_json::json;

use crate::client::Client;

/// What to simulate.
#[derive(Debug, Clone)]
pub struct SimulateOptions {
    pub network: String,
    pub chargers: usize,
    pub sessions_per_charger: usize,
    /// Intermediate readings between start and stop.
    pub intermediate_readings: usize,
    /// Readings per HTTP request.
    pub batch: usize,
    pub max_power_w: u32,
    pub tariff_id: Option<String>,
    pub show_progress: bool,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct SimulateReport {
    pub chargers: usize,
    pub sessions: u64,
    pub readings: u64,
    pub elapsed_ms: u64,
    pub readings_per_second: f64,
    pub log_size: u64,
}

/// Minutes between readings of a simulated session.
const READING_INTERVAL_MS: u64 = 5 * 60 * 1000;

/// Signed readings of `sessions` consecutive sessions on one charger, in order, ending before
/// `now_ms`. Energy per interval stays below the charger's maximum power.
pub fn session_readings(
    charger: &mut SoftCharger,
    sessions: usize,
    intermediate: usize,
    max_power_w: u32,
    start_ms: u64,
) -> Vec<SignedReading> {
    let mut rng = rand::thread_rng();
    let max_wh = u64::from(max_power_w) * READING_INTERVAL_MS / 3_600_000;
    let mut t = start_ms;
    let mut out = Vec::with_capacity(sessions * (intermediate + 2));
    for _ in 0..sessions {
        out.push(charger.start(t));
        for _ in 0..intermediate {
            t += READING_INTERVAL_MS;
            out.push(charger.meter(t, rng.gen_range(max_wh / 4..=max_wh * 9 / 10)));
        }
        t += READING_INTERVAL_MS;
        out.push(charger.stop(t, rng.gen_range(0..=max_wh / 2)));
        t += 2 * READING_INTERVAL_MS;
    }
    out
}

/// How long a charger's simulated history spans.
pub fn history_span_ms(sessions: usize, intermediate: usize) -> u64 {
    sessions as u64 * (intermediate as u64 + 3) * READING_INTERVAL_MS
}

/// Generates charger keys, registers them (admin token needed) and returns the chargers.
pub async fn register_chargers(
    client: &Client,
    options: &SimulateOptions,
    valid_from_ms: u64,
) -> Result<Vec<SoftCharger>> {
    let network = NetworkId::of_name(&options.network);
    let mut chargers = Vec::with_capacity(options.chargers);
    let suffix: u32 = rand::thread_rng().gen_range(0..1_000_000);
    for i in 0..options.chargers {
        let charger = SoftCharger::new(kvitto_core::keys::generate_signing_key(), network);
        let body = json!({
            "public_key": hex::encode(charger.public_key()),
            "evse_id": format!("SE*SIM*E{suffix:06}{i:05}"),
            "meter_serial": format!("SIM-{suffix:06}-{i:05}"),
            "max_power_w": options.max_power_w,
            "valid_from_ms": valid_from_ms,
            "tariff_id": options.tariff_id,
        });
        let _: serde_json::Value = client
            .admin_post("/v1/admin/chargers", &body)
            .await
            .context("registering a simulated charger")?;
        chargers.push(charger);
    }
    Ok(chargers)
}

/// Runs the simulation against a node.
pub async fn run(client: &Client, options: SimulateOptions) -> Result<SimulateReport> {
    run_with(client, options, None).await
}

/// Runs the simulation; with `authorize_uid`, every session of the first charger is authorised
/// by that (provisioned) token before its readings are pushed, as a charge point backend would.
pub async fn run_with(
    client: &Client,
    options: SimulateOptions,
    authorize_uid: Option<String>,
) -> Result<SimulateReport> {
    let now = kvitto_service::Clock::now_ms(&kvitto_service::SystemClock);
    let span = history_span_ms(options.sessions_per_charger, options.intermediate_readings);
    let start_ms = now.saturating_sub(span + 60_000);
    let chargers = register_chargers(client, &options, start_ms).await?;
    let per_charger = options.sessions_per_charger * (options.intermediate_readings + 2);
    let total = (per_charger * chargers.len()) as u64;
    let progress = if options.show_progress {
        let bar = ProgressBar::new(total);
        bar.set_style(
            ProgressStyle::with_template("{spinner} {elapsed_precise} [{bar:40}] {pos}/{len} readings ({per_sec}, eta {eta})")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        bar.enable_steady_tick(Duration::from_millis(200));
        bar
    } else {
        ProgressBar::hidden()
    };
    let sessions = Arc::new(AtomicU64::new(0));
    let log_size = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for (number, mut charger) in chargers.into_iter().enumerate() {
        let authorize_uid = authorize_uid.clone().filter(|_| number == 0);
        let client = client.clone();
        let options = options.clone();
        let progress = progress.clone();
        let sessions = sessions.clone();
        let log_size = log_size.clone();
        tasks.spawn(async move {
            let readings = session_readings(
                &mut charger,
                options.sessions_per_charger,
                options.intermediate_readings,
                options.max_power_w,
                start_ms,
            );
            if let Some(uid) = &authorize_uid {
                for start in readings
                    .iter()
                    .filter(|r| r.reading.kind == kvitto_core::ReadingKind::Start)
                {
                    let _: serde_json::Value = client
                        .admin_post(
                            &format!("/v1/admin/sessions/{}/authorize", start.reading.session),
                            &json!({ "uid": uid }),
                        )
                        .await
                        .context("authorising a simulated session")?;
                }
            }
            for batch in readings.chunks(options.batch.max(1)) {
                let receipt = client.post_readings(batch).await?;
                let closed = receipt["closed_sessions"].as_array().map_or(0, Vec::len) as u64;
                sessions.fetch_add(closed, Ordering::Relaxed);
                log_size.fetch_max(receipt["log_size"].as_u64().unwrap_or(0), Ordering::Relaxed);
                progress.inc(batch.len() as u64);
            }
            anyhow::Ok(())
        });
    }
    while let Some(result) = tasks.join_next().await {
        result.context("a simulated charger task failed")??;
    }
    progress.finish_and_clear();
    let elapsed = started.elapsed();
    Ok(SimulateReport {
        chargers: options.chargers,
        sessions: sessions.load(Ordering::Relaxed),
        readings: total,
        elapsed_ms: elapsed.as_millis() as u64,
        readings_per_second: total as f64 / elapsed.as_secs_f64().max(1e-9),
        log_size: log_size.load(Ordering::Relaxed),
    })
}

/// A deterministic charger key for tests and benches that need reproducible keys.
pub fn test_charger(seed: u8, network: &str) -> SoftCharger {
    SoftCharger::new(
        SigningKey::from_bytes(&[seed; 32]),
        NetworkId::of_name(network),
    )
}
