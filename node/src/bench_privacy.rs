//! `kvitto bench privacy`: what the privacy design costs per session, against the bare
//! Bulletproofs prove and verify calls measured in the same run on the same machine.
//!
//! Four figures, each with its baseline:
//! - the bare aggregated range proof over one session's two amounts (`prove_ranges` and
//!   `verify_ranges`, m = 2), one call at a time on one core;
//! - sealing a session as the sequencer does it (`custody::seal_session`: price, commitments and
//!   range proof, identity, sealed evidence) on an in-memory store;
//! - closing sessions through a real node over HTTP (signed readings in, priced, committed,
//!   sealed, appended with a sync'd group commit, acknowledged);
//! - verifying the drivers' receipts of those sessions offline (`kvitto_receipt::verify`).
//!
//! It prints figures and ratios; nothing here asserts a time.

use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use kvitto_core::entry::SessionRecord;
use kvitto_core::reading::{session_readings_digest, SignedReading};
use kvitto_privacy::{
    prove_ranges, verify_ranges, AmountCommitment, AmountOpening, AmountRangeProof, DriverSecret,
    SessionContext,
};
use kvitto_receipt::{Receipt, Trust};
use kvitto_service::custody::{self, CloseContext, Closing, TokenInput};
use kvitto_store::{Batch, LogStore, MemoryStore};
use rand_core::OsRng;
use serde_json::json;

use crate::client::Client;
use crate::simulate::{self, SimulateOptions};

/// An OCPI 2.2.1 energy tariff (0.25 EUR/kWh, 10 % VAT): the conformance suite's simple one.
const TARIFF_JSON: &str = r#"{"country_code":"SE","party_id":"BEN","id":"BENCH-ENERGY","currency":"EUR","elements":[{"price_components":[{"type":"ENERGY","price":0.25,"vat":10.0,"step_size":1}]}],"last_updated":"2018-12-17T11:16:55Z"}"#;
const TARIFF_ID: &str = "BENCH-ENERGY";
/// The node's default time zone (`kvitto.toml`), for the in-memory seal.
const TIME_ZONE: chrono_tz::Tz = chrono_tz::Europe::Stockholm;
/// The one driver every benchmarked session belongs to.
const TOKEN_UID: &str = "BENCH0001";
const CONTRACT_ID: &str = "SE-BEN-C00000001-0";
/// Client tasks closing sessions at once, as `kvitto bench ingest` runs 64 chargers.
const CLIENTS_MAX: usize = 64;
const MAX_POWER_W: u32 = 22_000;
/// How long to wait for a checkpoint to cover every session before fetching receipts.
const RECEIPTS_WAIT: Duration = Duration::from_secs(30);

#[derive(Debug, Clone)]
pub struct PrivacyOptions {
    /// Sessions closed and receipts verified; also the iterations of each bare call.
    pub sessions: usize,
}

#[derive(Debug, serde::Serialize)]
pub struct PrivacyReport {
    /// `dev` or `release`: absolute figures of a dev build are not release figures.
    pub profile: &'static str,
    pub cores: usize,
    /// The 1-minute load average before the in-process figures and after the last one.
    pub load_average_start: Option<f64>,
    pub load_average_end: Option<f64>,
    pub sessions: usize,
    /// Signed readings per session (start and stop), all sent in one request.
    pub readings_per_session: usize,
    pub range_proof_bytes: usize,
    /// Bare `prove_ranges`, m = 2, one core; median of `sessions` calls.
    pub bare_prove_us: f64,
    /// Bare `verify_ranges`, m = 2, one core; median of `sessions` calls.
    pub bare_verify_us: f64,
    /// `custody::seal_session` on a `LogStore<MemoryStore>`, one core; median.
    pub seal_us: f64,
    pub seal_over_prove: f64,
    /// Closing sessions over HTTP on a RocksDB node, wall time.
    pub close_sessions_per_second: f64,
    pub close_us: f64,
    pub close_latency_ms_p50: f64,
    pub close_latency_ms_p99: f64,
    /// `close_us / bare_prove_us`: sealing runs on the one sequencer thread.
    pub close_over_prove: f64,
    /// `close_us × cores / bare_prove_us`: the machine's time per session against the proof.
    pub close_core_time_over_prove: f64,
    pub receipts: usize,
    pub receipt_bytes_mean: usize,
    /// Building and serving the receipts over the driver route, per receipt.
    pub receipt_fetch_us: f64,
    /// `kvitto_receipt::verify` with the embedded policy, one core; median.
    pub receipt_verify_us: f64,
    pub receipt_verify_over_bare_verify: f64,
    /// `bare_verify_us / receipt_verify_us`.
    pub range_proof_share_of_receipt_verify: f64,
}

fn profile() -> &'static str {
    if cfg!(debug_assertions) {
        "dev"
    } else {
        "release"
    }
}

/// The 1-minute load average, where the system reports one: other processes share the cores.
fn load_average() -> Option<f64> {
    std::fs::read_to_string("/proc/loadavg")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

fn micros(elapsed: Duration, calls: usize) -> f64 {
    elapsed.as_secs_f64() * 1e6 / calls.max(1) as f64
}

/// The median of per-call times, in µs: robust to the odd call another process interrupted.
fn median_us(times: &mut [Duration]) -> f64 {
    times.sort();
    percentile_ms(times, 0.5) * 1000.0
}

fn percentile_ms(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i].as_secs_f64() * 1000.0
}

/// Bare range proofs over one session's two amounts (m = 2), ready to be proven and verified.
struct BareRanges {
    contexts: [SessionContext; 2],
    openings: Vec<[AmountOpening; 2]>,
    proofs: Vec<(Vec<AmountCommitment>, AmountRangeProof)>,
    proof_bytes: usize,
}

impl BareRanges {
    fn new(origin: &str, calls: usize) -> Result<Self> {
        let mut ids = [0u8; 32];
        rand_core::RngCore::fill_bytes(&mut OsRng, &mut ids);
        let (key_id, session_id) = ids.split_at(16);
        let ctx = SessionContext::new(origin, key_id.try_into()?, session_id.try_into()?)?;
        let openings = (0..calls)
            .map(|i| {
                let excl = 1_000 + i as u64;
                [
                    AmountOpening::new(excl, &ctx, &mut OsRng),
                    AmountOpening::new(excl * 11 / 10, &ctx, &mut OsRng),
                ]
            })
            .collect();
        let contexts = [ctx.clone(), ctx];
        // The vector generators are built on first use; that is start-up, not a call.
        let (warm, warm_proof) = prove_ranges(
            &contexts,
            &[
                AmountOpening::new(1, &contexts[0], &mut OsRng),
                AmountOpening::new(1, &contexts[0], &mut OsRng),
            ],
            &mut OsRng,
        )?;
        verify_ranges(&contexts, &warm, &warm_proof, &mut OsRng)?;
        Ok(BareRanges {
            contexts,
            openings,
            proofs: Vec::with_capacity(calls),
            proof_bytes: warm_proof.to_bytes().len(),
        })
    }

    /// Proves the `i`th pair; the time of the `prove_ranges` call.
    fn prove(&mut self, i: usize) -> Result<Duration> {
        let started = Instant::now();
        let proven = prove_ranges(&self.contexts, &self.openings[i], &mut OsRng)?;
        let took = started.elapsed();
        self.proofs.push(proven);
        Ok(took)
    }

    /// Verifies the `i`th proof; the time of the `verify_ranges` call.
    fn verify(&self, i: usize) -> Result<Duration> {
        let (commitments, proof) = &self.proofs[i];
        let started = Instant::now();
        verify_ranges(&self.contexts, commitments, proof, &mut OsRng)?;
        Ok(started.elapsed())
    }
}

/// The record the ledger appends when `readings` (start, …, stop) close a session.
fn session_record(readings: &[SignedReading]) -> Result<SessionRecord> {
    let (Some(first), Some(last)) = (readings.first(), readings.last()) else {
        bail!("a session without readings");
    };
    let (first, last) = (&first.reading, &last.reading);
    Ok(SessionRecord {
        session: first.session,
        key_id: first.key_id,
        first_counter: first.counter,
        last_counter: last.counter,
        start_ms: SessionRecord::coarse_start(first.timestamp_ms),
        stop_ms: SessionRecord::coarse_stop(last.timestamp_ms),
        energy_wh: SessionRecord::coarse_energy(last.register_wh - first.register_wh),
        reading_count: u32::try_from(readings.len())?,
        readings_digest: session_readings_digest(readings),
        tariff: None,
        privacy: None,
        counterparty: None,
        unknown_extensions: Default::default(),
    })
}

fn token(driver_hex: &str) -> TokenInput {
    TokenInput {
        country_code: "SE".into(),
        party_id: "BEN".into(),
        uid: TOKEN_UID.into(),
        kind: "RFID".into(),
        contract_id: CONTRACT_ID.into(),
        visual_number: None,
        license_plate: None,
        driver: driver_hex.into(),
    }
}

/// Seals every session as the sequencer does at close, on an in-memory store with the driver's
/// token provisioned and each session authorised, alternating with the bare proofs so that both
/// share whatever else the machine is doing. The times of each `prove_ranges` and
/// `seal_session` call.
fn seal_in_memory(
    origin: &str,
    driver_hex: &str,
    sessions: &[Vec<SignedReading>],
    bare: &mut BareRanges,
) -> Result<(Vec<Duration>, Vec<Duration>)> {
    let store = LogStore::open(MemoryStore::new())?;
    let now_ms = kvitto_service::Clock::now_ms(&kvitto_service::SystemClock);
    let mut batch = Batch::default();
    custody::put_token(&store, &mut batch, token(driver_hex), now_ms, &mut OsRng)?;
    store.write(batch)?;
    let mut records = Vec::with_capacity(sessions.len());
    for readings in sessions {
        let record = session_record(readings)?;
        let mut batch = Batch::default();
        custody::authorize(&store, &mut batch, record.session, TOKEN_UID)?;
        store.write(batch)?;
        records.push(record);
    }
    let close = CloseContext {
        origin,
        time_zone: TIME_ZONE,
        now_ms,
    };
    let mut proving = Vec::with_capacity(sessions.len());
    let mut sealing = Vec::with_capacity(sessions.len());
    for (index, (record, readings)) in records.iter_mut().zip(sessions).enumerate() {
        proving.push(bare.prove(index)?);
        let mut batch = Batch::default();
        let started = Instant::now();
        custody::seal_session(
            &store,
            &mut batch,
            &close,
            Closing {
                index: index as u64,
                record,
                readings,
                tariff_json: Some(TARIFF_JSON),
            },
            &mut OsRng,
        )?;
        sealing.push(started.elapsed());
        if record.privacy.is_none() {
            bail!("seal_session left the record without its commitments");
        }
        store.write(batch)?;
    }
    Ok((proving, sealing))
}

/// Posts each session's readings in one request from at most [`CLIENTS_MAX`] tasks; the wall
/// time and every request's latency. Fails unless every session closed.
async fn close_over_http(
    client: &Client,
    sessions: &[Vec<SignedReading>],
) -> Result<(Duration, Vec<Duration>)> {
    let clients = sessions.len().clamp(1, CLIENTS_MAX);
    let per_client = sessions.len().div_ceil(clients);
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for chunk in sessions.chunks(per_client) {
        let client = client.clone();
        let chunk = chunk.to_vec();
        tasks.spawn(async move {
            let mut latencies = Vec::with_capacity(chunk.len());
            let mut closed = 0;
            for readings in &chunk {
                let sent = Instant::now();
                let answer = client.post_readings(readings).await?;
                latencies.push(sent.elapsed());
                closed += answer["closed_sessions"].as_array().map_or(0, Vec::len);
            }
            anyhow::Ok((latencies, closed))
        });
    }
    let mut latencies = Vec::with_capacity(sessions.len());
    let mut closed = 0;
    while let Some(result) = tasks.join_next().await {
        let (l, c) = result.context("bench task")??;
        latencies.extend(l);
        closed += c;
    }
    let wall = started.elapsed();
    if closed != sessions.len() {
        bail!("{closed} of {} sessions closed", sessions.len());
    }
    latencies.sort();
    Ok((wall, latencies))
}

/// Fetches the driver's receipts once a checkpoint covers all `expected` sessions; the receipts
/// as files hold them, and the time the last fetch took.
async fn fetch_receipts(
    client: &Client,
    secret: &DriverSecret,
    expected: usize,
) -> Result<(Vec<Vec<u8>>, Duration)> {
    let deadline = Instant::now() + RECEIPTS_WAIT;
    loop {
        let started = Instant::now();
        let (receipts, pending) = crate::receipt_cmd::fetch(client, secret).await?;
        let took = started.elapsed();
        if pending == 0 && receipts.len() == expected {
            let files = receipts
                .into_iter()
                .map(|v| {
                    let receipt: Receipt =
                        serde_json::from_value(v).context("the node sent a malformed receipt")?;
                    Ok(receipt.to_json().into_bytes())
                })
                .collect::<Result<Vec<_>>>()?;
            return Ok((files, took));
        }
        if Instant::now() >= deadline {
            bail!(
                "{} receipts and {pending} pending after {} s; expected {expected}",
                receipts.len(),
                RECEIPTS_WAIT.as_secs()
            );
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Verifies every receipt, alternating with the bare range proof verifications; the times of
/// each `verify_ranges` and `kvitto_receipt::verify` call. Fails if a receipt does not verify.
fn verify_receipts(files: &[Vec<u8>], bare: &BareRanges) -> Result<(Vec<Duration>, Vec<Duration>)> {
    let mut bare_times = Vec::with_capacity(files.len());
    let mut receipt_times = Vec::with_capacity(files.len());
    for (i, file) in files.iter().enumerate() {
        bare_times.push(bare.verify(i % bare.proofs.len().max(1))?);
        let started = Instant::now();
        let report = kvitto_receipt::verify(file, Trust::Embedded, &mut OsRng);
        receipt_times.push(started.elapsed());
        if !report.all_passed() {
            bail!("a receipt did not verify: {:?}", report.first_failure());
        }
    }
    Ok((bare_times, receipt_times))
}

pub async fn privacy(options: PrivacyOptions) -> Result<PrivacyReport> {
    let sessions = options.sessions.max(1);
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let dir = tempfile::tempdir()?;
    let node_dir = dir.path().join("node");
    let network = "bench";
    crate::node::init(&node_dir, network, "SE*BEN", "127.0.0.1:0".parse()?)?;
    let admin_token =
        crate::keyfile::read_secret(&crate::config::NodeDir(node_dir.clone()).admin_token())?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let node = crate::node::start(&node_dir, None, async {
        let _ = stopped.await;
    })
    .await?;
    let base = format!("http://{}", node.addr);
    let origin = node.info.origin.clone();
    let serving = tokio::spawn(node.run());
    let client = Client::new(&base, Some(admin_token.to_string()))?;

    // Tariffs cannot be backdated by more than a minute and readings may be at most five minutes
    // ahead of the node's clock, so every session is one charger's single five-minute session
    // that starts just after the tariff does.
    let now = kvitto_service::Clock::now_ms(&kvitto_service::SystemClock);
    let tariff: serde_json::Value = serde_json::from_str(TARIFF_JSON)?;
    let _: serde_json::Value = client
        .admin_post(
            "/v1/admin/tariffs",
            &json!({"tariff": tariff, "valid_from_ms": now - 50_000}),
        )
        .await
        .context("publishing the tariff")?;
    let sim = SimulateOptions {
        network: network.into(),
        chargers: sessions,
        sessions_per_charger: 1,
        intermediate_readings: 0,
        batch: 2,
        max_power_w: MAX_POWER_W,
        tariff_id: Some(TARIFF_ID.into()),
        show_progress: false,
    };
    let mut chargers = simulate::register_chargers(&client, &sim, now - 60_000).await?;
    let (per_session, _keys) = crate::bench::sign_sessions(&mut chargers, &sim, now - 40_000);
    let readings_per_session = per_session.first().map_or(0, Vec::len);

    let secret = DriverSecret::generate(&mut OsRng);
    let driver_hex = hex::encode(secret.public().to_bytes());
    let _: serde_json::Value = client
        .admin_put(
            "/v1/admin/tokens",
            &serde_json::to_value(token(&driver_hex))?,
        )
        .await
        .context("provisioning the driver's token")?;
    for readings in &per_session {
        let Some(first) = readings.first() else {
            bail!("a session without readings");
        };
        let _: serde_json::Value = client
            .admin_post(
                &format!("/v1/admin/sessions/{}/authorize", first.reading.session),
                &json!({"uid": TOKEN_UID}),
            )
            .await
            .context("authorising a session")?;
    }

    // In-process figures first, while the node is idle.
    let load_average_start = load_average();
    let (bare, mut prove_times, mut seal_times) = {
        let origin = origin.clone();
        let per_session = per_session.clone();
        let driver_hex = driver_hex.clone();
        tokio::task::spawn_blocking(move || {
            let mut bare = BareRanges::new(&origin, sessions)?;
            let (prove, seal) = seal_in_memory(&origin, &driver_hex, &per_session, &mut bare)?;
            anyhow::Ok((bare, prove, seal))
        })
        .await??
    };
    let bare_prove_us = median_us(&mut prove_times);
    let seal_us = median_us(&mut seal_times);

    let (wall, latencies) = close_over_http(&client, &per_session).await?;
    let close_us = micros(wall, sessions);

    let (files, fetch_took) = fetch_receipts(&client, &secret, sessions).await?;
    let receipt_bytes_mean = files.iter().map(Vec::len).sum::<usize>() / files.len().max(1);
    let receipts = files.len();
    let _ = stop.send(());
    serving.await??;
    let range_proof_bytes = bare.proof_bytes;
    let (mut bare_verify_times, mut receipt_times) =
        tokio::task::spawn_blocking(move || verify_receipts(&files, &bare)).await??;
    let bare_verify_us = median_us(&mut bare_verify_times);
    let receipt_verify_us = median_us(&mut receipt_times);
    let load_average_end = load_average();

    Ok(PrivacyReport {
        profile: profile(),
        cores,
        load_average_start,
        load_average_end,
        sessions,
        readings_per_session,
        range_proof_bytes,
        bare_prove_us,
        bare_verify_us,
        seal_us,
        seal_over_prove: seal_us / bare_prove_us,
        close_sessions_per_second: sessions as f64 / wall.as_secs_f64(),
        close_us,
        close_latency_ms_p50: percentile_ms(&latencies, 0.50),
        close_latency_ms_p99: percentile_ms(&latencies, 0.99),
        close_over_prove: close_us / bare_prove_us,
        close_core_time_over_prove: close_us * cores as f64 / bare_prove_us,
        receipts,
        receipt_bytes_mean,
        receipt_fetch_us: micros(fetch_took, receipts),
        receipt_verify_us,
        receipt_verify_over_bare_verify: receipt_verify_us / bare_verify_us,
        range_proof_share_of_receipt_verify: bare_verify_us / receipt_verify_us,
    })
}

/// The report as the command prints it.
pub fn text(r: &PrivacyReport) -> String {
    let mut out = String::new();
    let mut line = |s: String| {
        out.push_str(&s);
        out.push('\n');
    };
    line(format!(
        "build:                     {} profile{}",
        r.profile,
        if r.profile == "dev" {
            " (workspace opt-level 1, dependencies 2): compare the ratios, not absolute figures"
        } else {
            ""
        }
    ));
    let load = |l: Option<f64>| l.map_or("?".to_owned(), |l| format!("{l:.2}"));
    line(format!(
        "cores:                     {} (load average {} before, {} after)",
        r.cores,
        load(r.load_average_start),
        load(r.load_average_end)
    ));
    line(format!(
        "sessions:                  {} ({} signed readings each, one driver, an energy tariff)",
        r.sessions, r.readings_per_session
    ));
    line("per call: the median of one call per session on one core; bare calls alternate with the calls they are compared to".into());
    line(format!(
        "bare prove_ranges (m=2):   {:>8.0} µs ({} byte proof)",
        r.bare_prove_us, r.range_proof_bytes
    ));
    line(format!(
        "seal_session (memory):     {:>8.0} µs  {:>5.2} × bare prove",
        r.seal_us, r.seal_over_prove
    ));
    line(format!(
        "close over HTTP (RocksDB): {:>8.0} µs  {:>5.2} × bare prove per session of wall time ({:.0} sessions/s)",
        r.close_us, r.close_over_prove, r.close_sessions_per_second
    ));
    line(format!(
        "                                      {:>5.2} × bare prove in core time (wall × {} cores)",
        r.close_core_time_over_prove, r.cores
    ));
    line(format!(
        "close ack latency:         p50 {:.0} ms, p99 {:.0} ms ({} clients at once, one session per request)",
        r.close_latency_ms_p50, r.close_latency_ms_p99, r.sessions.clamp(1, CLIENTS_MAX)
    ));
    line(format!(
        "bare verify_ranges (m=2):  {:>8.0} µs",
        r.bare_verify_us
    ));
    line(format!(
        "receipt verify:            {:>8.0} µs  {:>5.2} × bare verify; the range proof is {:.0} % of it",
        r.receipt_verify_us,
        r.receipt_verify_over_bare_verify,
        r.range_proof_share_of_receipt_verify * 100.0
    ));
    line(format!(
        "receipt fetch (driver):    {:>8.0} µs per receipt over HTTP ({} receipts, {} bytes each on average)",
        r.receipt_fetch_us, r.receipts, r.receipt_bytes_mean
    ));
    out
}
