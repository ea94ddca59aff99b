//! `kvitto bench catchup` and `kvitto bench witness`: replication and witnessing over libp2p on
//! loopback, with the raw limits measured in the same run on the same cores. They print figures
//! and ratios; nothing here asserts a time.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use kvitto_core::entry::Entry;
use kvitto_core::reading::SignedReading;
use kvitto_core::NetworkId;
use kvitto_ledger::{IngestConfig, Ledger, MemoryArchive, ReplayItem};
use kvitto_store::{LogStore, RocksStore};
use serde_json::Value;

use crate::client::Client;
use crate::config::NodeDir;
use crate::simulate::{self, SimulateOptions};
use crate::testnet::{self, TestnetOptions};

/// Entries a mirror asks for per request (`kvitto_replica::limits::ENTRIES_PER_REQUEST_MAX`).
const REPLAY_CHUNK: usize = kvitto_replica::limits::ENTRIES_PER_REQUEST_MAX;
/// The catch-up rate the network design aims at.
const AIM_ENTRIES_PER_SECOND: f64 = 50_000.0;
const MAX_POWER_W: u32 = 22_000;

/// `n` consecutive loopback ports that are free now, from a random base.
fn free_ports(n: usize) -> u16 {
    loop {
        let base = 20_000 + rand::random::<u16>() % 30_000;
        let all_free =
            (0..n as u16).all(|i| std::net::TcpListener::bind(("127.0.0.1", base + i)).is_ok());
        if all_free {
            return base;
        }
    }
}

fn init_testnet(dir: &Path, nodes: usize, network: &str) -> Result<Vec<testnet::TestnetNode>> {
    let http_port_base = free_ports(nodes);
    let mut p2p_port_base = free_ports(nodes);
    while p2p_port_base.abs_diff(http_port_base) < nodes as u16 {
        p2p_port_base = free_ports(nodes);
    }
    let (_, nodes) = testnet::init(&TestnetOptions {
        dir: dir.to_path_buf(),
        nodes,
        network: network.into(),
        hosts: vec![std::net::Ipv4Addr::LOCALHOST.into()],
        http_port_base,
        p2p_port_base,
        quorum: None,
    })?;
    Ok(nodes)
}

fn admin_client(node: &testnet::TestnetNode) -> Result<Client> {
    let token = crate::keyfile::read_secret(&NodeDir(node.dir.clone()).admin_token())?;
    Client::new(&node.http, Some(token.to_string()))
}

/// The status entry of log `id` on a node.
async fn log_status(client: &Client, id: &str) -> Result<Value> {
    let status: Value = client.get_json("/v1/status").await?;
    status["logs"]
        .as_array()
        .and_then(|logs| logs.iter().find(|l| l["id"] == id))
        .cloned()
        .with_context(|| format!("{} does not serve {id}", client.base()))
}

fn u64_of(value: &Value, field: &str) -> u64 {
    value[field].as_u64().unwrap_or(0)
}

/// Polls `client` every `every` until log `id` satisfies `done`; the moment it did.
async fn wait_for(
    client: &Client,
    id: &str,
    every: Duration,
    timeout: Duration,
    done: impl Fn(&Value) -> bool,
) -> Result<Instant> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Ok(log) = log_status(client, id).await {
            if done(&log) {
                return Ok(Instant::now());
            }
        }
        if Instant::now() > deadline {
            bail!("{} did not reach the awaited state of {id}", client.base());
        }
        tokio::time::sleep(every).await;
    }
}

/// A node running in this process.
struct InProcess {
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<Result<()>>,
}

impl InProcess {
    async fn start(dir: &Path) -> Result<InProcess> {
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let node = crate::node::start(dir, None, async {
            let _ = stopped.await;
        })
        .await
        .with_context(|| format!("starting the node in {}", dir.display()))?;
        Ok(InProcess {
            stop,
            task: tokio::spawn(node.run()),
        })
    }

    async fn stop(self) -> Result<()> {
        let _ = self.stop.send(());
        self.task.await?
    }
}

#[derive(Debug, Clone)]
pub struct CatchupOptions {
    pub chargers: usize,
    pub sessions_per_charger: usize,
    pub intermediate_readings: usize,
    pub batch: usize,
}

#[derive(Debug, serde::Serialize)]
pub struct CatchupReport {
    pub cores: usize,
    /// Session entries node 2 caught up on (after the charger registrations).
    pub entries: u64,
    /// Signed readings behind them.
    pub readings: u64,
    /// Node 2 started, and its mirror reached node 1's checkpoint.
    pub seconds: f64,
    pub entries_per_second: f64,
    pub readings_per_second: f64,
    /// The same, for the registrations only (a few entries, no readings): what a restart costs
    /// before entries move (start, dial, identify, the mirror's first checkpoint poll). It varies
    /// from about 0.1 s to over 2 s: the mirror polls the owner every 2 s and its first poll
    /// often precedes the connection. `seconds` includes such a delay too.
    pub join_seconds: f64,
    /// Response bytes node 2 received while catching up (the replica's fetches).
    pub response_bytes: u64,
    /// In-process `Ledger::replay_batch` over the same entries, in chunks of one request.
    pub replay_entries_per_second: f64,
    pub replay_readings_per_second: f64,
    /// Bare `verify_strict` on every core.
    pub verify_readings_per_second: f64,
    pub ratio_catchup_replay: f64,
    /// Replay readings/s over bare verification readings/s.
    pub ratio_replay_verify: f64,
    pub aim_entries_per_second: f64,
    pub aim_reached: bool,
    /// What bare verification allows at this many readings per entry.
    pub verify_bound_entries_per_second: f64,
}

/// Fills node 1's log with node 2 stopped, then times node 2 catching up over libp2p.
pub async fn catchup(options: CatchupOptions) -> Result<CatchupReport> {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let dir = tempfile::tempdir()?;
    let network = "bench-catchup";
    let nodes = init_testnet(dir.path(), 2, network)?;
    let log_id = crate::config::log_id_of(&nodes[0].operator);
    let node1 = InProcess::start(&nodes[0].dir).await?;
    let client = admin_client(&nodes[0])?;
    let observer = Client::new(&nodes[1].http, None)?;

    let sim = SimulateOptions {
        network: network.into(),
        chargers: options.chargers,
        sessions_per_charger: options.sessions_per_charger,
        intermediate_readings: options.intermediate_readings,
        batch: options.batch,
        max_power_w: MAX_POWER_W,
        tariff_id: None,
        show_progress: false,
    };
    let now = kvitto_service::Clock::now_ms(&kvitto_service::SystemClock);
    let start_ms = now.saturating_sub(
        simulate::history_span_ms(sim.sessions_per_charger, sim.intermediate_readings) + 60_000,
    );
    let mut chargers = simulate::register_chargers(&client, &sim, start_ms).await?;
    let covered = |l: &Value| u64_of(l, "checkpoint_size") == u64_of(l, "size");
    let poll = Duration::from_millis(20);
    let long = Duration::from_secs(600);
    wait_for(&client, &log_id, poll, long, covered).await?;
    let registered = u64_of(&log_status(&client, &log_id).await?, "size");

    // The cost of joining: node 2 catches up on the registrations alone.
    let started = Instant::now();
    let node2 = InProcess::start(&nodes[1].dir).await?;
    let reached = |size: u64| move |l: &Value| u64_of(l, "checkpoint_size") >= size;
    let join_seconds = (wait_for(&observer, &log_id, poll, long, reached(registered)).await?
        - started)
        .as_secs_f64();
    node2.stop().await?;

    // Sign everything, and measure bare verification, before filling node 1.
    let (per_charger, keys) = crate::bench::sign_sessions(&mut chargers, &sim, start_ms);
    let all: Vec<SignedReading> = per_charger.iter().flatten().cloned().collect();

    let mut tasks = tokio::task::JoinSet::new();
    for readings in per_charger {
        let client = client.clone();
        let batch = sim.batch.max(1);
        tasks.spawn(async move {
            for chunk in readings.chunks(batch) {
                client.post_readings(chunk).await?;
            }
            anyhow::Ok(())
        });
    }
    while let Some(result) = tasks.join_next().await {
        result.context("bench task")??;
    }
    wait_for(&client, &log_id, poll, long, covered).await?;
    let size = u64_of(&log_status(&client, &log_id).await?, "checkpoint_size");

    let started = Instant::now();
    let node2 = InProcess::start(&nodes[1].dir).await?;
    let seconds =
        (wait_for(&observer, &log_id, poll, long, reached(size)).await? - started).as_secs_f64();
    // The status page's counters are refreshed every two seconds.
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    let status: Value = observer.get_json("/v1/status").await?;
    let response_bytes = u64_of(&status["net"], "response_bytes_received");
    node2.stop().await?;
    node1.stop().await?;

    // The raw limits, with the nodes stopped; best of a few runs, as other load on the
    // machine only ever slows them down.
    let key_of = |r: &SignedReading| keys[&r.reading.key_id];
    let chunks = load_chunks(&NodeDir(nodes[0].dir.clone()).db(), registered, size)?;
    let origin = crate::config::NodeConfig::load(&nodes[0].dir)?.origin();
    // Interleaved, so both see the same moments of whatever else runs on the machine.
    let mut verify_readings_per_second = 0.0f64;
    let mut replay_seconds = f64::INFINITY;
    let mut replayed_readings = 0;
    for _ in 0..LIMIT_RUNS {
        let rate = crate::bench::bare_verify(&all, &key_of, cores);
        verify_readings_per_second = verify_readings_per_second.max(rate);
        let (seconds, readings) = replay(
            chunks.clone(),
            NetworkId::of_name(network),
            &origin,
            registered,
        )?;
        replay_seconds = replay_seconds.min(seconds);
        replayed_readings = readings;
    }
    let entries = size - registered;
    let readings = all.len() as u64;
    let replay_entries_per_second = entries as f64 / replay_seconds;
    let replay_readings_per_second = replayed_readings as f64 / replay_seconds;
    let entries_per_second = entries as f64 / seconds;
    let readings_per_entry = readings as f64 / entries.max(1) as f64;
    Ok(CatchupReport {
        cores,
        entries,
        readings,
        seconds,
        entries_per_second,
        readings_per_second: readings as f64 / seconds,
        join_seconds,
        response_bytes,
        replay_entries_per_second,
        replay_readings_per_second,
        verify_readings_per_second,
        ratio_catchup_replay: entries_per_second / replay_entries_per_second,
        ratio_replay_verify: replay_readings_per_second / verify_readings_per_second,
        aim_entries_per_second: AIM_ENTRIES_PER_SECOND,
        aim_reached: entries_per_second >= AIM_ENTRIES_PER_SECOND,
        verify_bound_entries_per_second: verify_readings_per_second / readings_per_entry,
    })
}

/// Runs of the in-process limits (bare verification, replay); the best one counts.
const LIMIT_RUNS: usize = 3;

/// The entries `0..to` of the log stored at `db`, with the readings behind each session, in
/// request-sized chunks that do not straddle `from`, each with its first index.
fn load_chunks(db: &Path, from: u64, to: u64) -> Result<Vec<(u64, Vec<ReplayItem>)>> {
    let store = LogStore::open(RocksStore::open(db)?)?;
    let mut chunks = Vec::new();
    let mut start = 0;
    while start < to {
        let count = (to - start).min(REPLAY_CHUNK as u64).min(if start < from {
            from - start
        } else {
            u64::MAX
        });
        let mut items = Vec::new();
        for entry in store.entries(start, count as usize)? {
            let readings = match Entry::decode(&entry)? {
                Entry::SessionClosed(record) => {
                    store.readings(&record.key_id, record.first_counter, record.last_counter)?
                }
                _ => Vec::new(),
            };
            items.push(ReplayItem { entry, readings });
        }
        chunks.push((start, items));
        start += count;
    }
    Ok(chunks)
}

/// Replays `chunks` with a fresh ledger, timing those from index `from` on; seconds and
/// readings replayed in that time.
fn replay(
    chunks: Vec<(u64, Vec<ReplayItem>)>,
    network: NetworkId,
    origin: &str,
    from: u64,
) -> Result<(f64, u64)> {
    let mut ledger = Ledger::new(network, origin, IngestConfig::default());
    let mut archive = MemoryArchive::default();
    let mut seconds = 0.0;
    let mut readings = 0u64;
    for (start, items) in chunks {
        let timed = start >= from;
        let began = Instant::now();
        let effects = ledger
            .replay_batch(items, &archive)
            .map_err(|e| anyhow::anyhow!("replaying entry {}: {e}", e.index))?;
        archive.add(&effects);
        if timed {
            seconds += began.elapsed().as_secs_f64();
            readings += effects.readings.len() as u64;
        }
    }
    Ok((seconds, readings))
}

#[derive(Debug, Clone)]
pub struct WitnessOptions {
    pub nodes: Vec<usize>,
    pub rounds: usize,
}

#[derive(Debug, serde::Serialize)]
pub struct WitnessRow {
    pub nodes: usize,
    /// Cosignatures of other members the policy needs.
    pub quorum: usize,
    pub rounds: usize,
    pub converge_seconds: f64,
    /// From the session's acknowledgement to node 1's checkpoint covering it.
    pub checkpoint_ms_p50: f64,
    /// From that checkpoint to node 1 seeing it witnessed under the policy.
    pub witness_ms_p50: f64,
    pub witness_ms_p95: f64,
    pub witness_ms_max: f64,
    /// Per node and checkpoint (the counters' change over the rounds, divided by nodes and
    /// rounds): gossip payload bytes and messages received, and bytes published.
    pub gossip_received_bytes: f64,
    pub gossip_received_messages: f64,
    pub gossip_published_bytes: f64,
    /// Request and response bytes a node received per checkpoint (the mirrors' fetches).
    pub fetch_bytes: f64,
    /// Gossip payload bytes a node receives per second when no entry is written (periodic
    /// re-announcements), measured after the rounds; already included in the figures above.
    pub idle_gossip_received_bytes_per_second: f64,
}

/// Child `kvitto node` processes, killed when dropped.
struct Children(Vec<std::process::Child>);

impl Drop for Children {
    fn drop(&mut self) {
        for child in &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn spawn_node(exe: &Path, dir: &Path, log: PathBuf) -> Result<std::process::Child> {
    let log = std::fs::File::create(log)?;
    std::process::Command::new(exe)
        .args(["--log", "warn", "node", "--dir"])
        .arg(dir)
        .stdin(std::process::Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        .spawn()
        .with_context(|| format!("starting {}", exe.display()))
}

fn percentile_ms(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i].as_secs_f64() * 1000.0
}

/// Every node's traffic counters, as their status pages show them.
async fn counters(clients: &[Client]) -> Result<Vec<Value>> {
    let mut all = Vec::new();
    for client in clients {
        let status: Value = client.get_json("/v1/status").await?;
        all.push(status["net"].clone());
    }
    Ok(all)
}

/// The change of counter `name` summed over nodes, divided by nodes.
fn per_node(before: &[Value], after: &[Value], names: &[&str]) -> f64 {
    let total: u64 = before
        .iter()
        .zip(after)
        .map(|(b, a)| {
            names
                .iter()
                .map(|n| u64_of(a, n).saturating_sub(u64_of(b, n)))
                .sum::<u64>()
        })
        .sum();
    total as f64 / before.len().max(1) as f64
}

/// The status page's counters are refreshed every two seconds: waiting this long makes them
/// current.
const COUNTERS_SETTLE: Duration = Duration::from_millis(2_300);

pub async fn witness(options: WitnessOptions) -> Result<Vec<WitnessRow>> {
    let exe = std::env::current_exe().context("finding the kvitto executable")?;
    let mut rows = Vec::new();
    for &n in &options.nodes {
        rows.push(witness_one(&exe, n, options.rounds.max(1)).await?);
    }
    Ok(rows)
}

async fn witness_one(exe: &Path, n: usize, rounds: usize) -> Result<WitnessRow> {
    let dir = tempfile::tempdir()?;
    let network = "bench-witness";
    let nodes = init_testnet(dir.path(), n, network)?;
    // What `testnet init` chooses without --quorum.
    let quorum = (2 * (n - 1)).div_ceil(3).max(1);
    let mut children = Children(Vec::new());
    for (i, node) in nodes.iter().enumerate() {
        let log = dir.path().join(format!("node{}.log", i + 1));
        children.0.push(spawn_node(exe, &node.dir, log)?);
    }
    let clients: Vec<Client> = nodes
        .iter()
        .map(|node| Client::new(&node.http, None))
        .collect::<Result<_>>()?;
    let started = Instant::now();
    let deadline = started + Duration::from_secs(180);
    loop {
        if let Ok(c) = testnet::convergence(&clients).await {
            if c.converged {
                break;
            }
        }
        if Instant::now() > deadline {
            bail!(
                "the {n} nodes did not converge within 180 s (logs in {})",
                dir.path().display()
            );
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let converge_seconds = started.elapsed().as_secs_f64();

    let client = admin_client(&nodes[0])?;
    let log_id = crate::config::log_id_of(&nodes[0].operator);
    let intermediate = 8;
    let span = simulate::history_span_ms(1, intermediate);
    let now = kvitto_service::Clock::now_ms(&kvitto_service::SystemClock);
    let first_ms = now.saturating_sub(span * rounds as u64 + 60_000);
    let sim = SimulateOptions {
        network: network.into(),
        chargers: 1,
        sessions_per_charger: 1,
        intermediate_readings: intermediate,
        batch: intermediate + 2,
        max_power_w: MAX_POWER_W,
        tariff_id: None,
        show_progress: false,
    };
    let mut charger = simulate::register_chargers(&client, &sim, first_ms)
        .await?
        .pop()
        .context("no charger registered")?;
    let poll = Duration::from_millis(10);
    let long = Duration::from_secs(120);
    let size = u64_of(&log_status(&client, &log_id).await?, "size");
    wait_for(&client, &log_id, poll, long, |l| {
        u64_of(l, "witnessed_size") >= size
    })
    .await?;

    tokio::time::sleep(COUNTERS_SETTLE).await;
    let before = counters(&clients).await?;
    let mut to_checkpoint = Vec::new();
    let mut to_witnessed = Vec::new();
    for round in 0..rounds {
        let readings = simulate::session_readings(
            &mut charger,
            1,
            intermediate,
            MAX_POWER_W,
            first_ms + span * round as u64,
        );
        let receipt = client.post_readings(&readings).await?;
        let acked = Instant::now();
        let size = match receipt["log_size"].as_u64() {
            Some(size) => size,
            None => u64_of(&log_status(&client, &log_id).await?, "size"),
        };
        let checkpointed = wait_for(&client, &log_id, poll, long, |l| {
            u64_of(l, "checkpoint_size") >= size
        })
        .await?;
        let witnessed = wait_for(&client, &log_id, poll, long, |l| {
            u64_of(l, "witnessed_size") >= size
        })
        .await?;
        to_checkpoint.push(checkpointed - acked);
        to_witnessed.push(witnessed - checkpointed);
    }
    tokio::time::sleep(COUNTERS_SETTLE).await;
    let after = counters(&clients).await?;
    let idle = Duration::from_secs(6);
    tokio::time::sleep(idle).await;
    let idle_after = counters(&clients).await?;
    drop(children);

    to_checkpoint.sort();
    to_witnessed.sort();
    let per_round = |names: &[&str]| per_node(&before, &after, names) / rounds as f64;
    Ok(WitnessRow {
        nodes: n,
        quorum,
        rounds,
        converge_seconds,
        checkpoint_ms_p50: percentile_ms(&to_checkpoint, 0.5),
        witness_ms_p50: percentile_ms(&to_witnessed, 0.5),
        witness_ms_p95: percentile_ms(&to_witnessed, 0.95),
        witness_ms_max: percentile_ms(&to_witnessed, 1.0),
        gossip_received_bytes: per_round(&["gossip_received_bytes"]),
        gossip_received_messages: per_round(&["gossip_received"]),
        gossip_published_bytes: per_round(&["gossip_published_bytes"]),
        fetch_bytes: per_round(&["request_bytes_received", "response_bytes_received"]),
        idle_gossip_received_bytes_per_second: per_node(
            &after,
            &idle_after,
            &["gossip_received_bytes"],
        ) / idle.as_secs_f64(),
    })
}
