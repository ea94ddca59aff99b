//! Starting a node: open the store, load the keys, start the sequencer and serve HTTP.

use std::future::Future;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use kvitto_core::NetworkId;
use kvitto_http::{AdminToken, AppState, LogInfo, LogKind};
use kvitto_ledger::IngestConfig;
use kvitto_service::{
    CheckpointSigner, LogSet, PeerBoard, SequencerConfig, ServedLog, SystemClock, WitnessBoard,
};
use kvitto_store::{LogStore, RocksStore};
use kvitto_tlog::checkpoint::Checkpoint;
use kvitto_tlog::cosignature::CosignatureSigner;
use kvitto_tlog::note::{Ed25519Signer, Ed25519Verifier};
use kvitto_tlog::Hash;
use tokio::net::TcpListener;

use crate::config::{NodeConfig, NodeDir};
use crate::keyfile;

/// Signs checkpoints with the log's C2SP note key.
struct NoteSigner {
    origin: String,
    signer: Ed25519Signer,
}

impl CheckpointSigner for NoteSigner {
    fn origin(&self) -> &str {
        &self.origin
    }

    fn sign(&self, size: u64, root: &Hash) -> Vec<u8> {
        // The origin was validated when the key was loaded, and the root comes from our own tree,
        // so building and signing the checkpoint cannot fail.
        match Checkpoint::new(self.origin.clone(), size, *root, Vec::new())
            .and_then(|c| Ok(c.sign(&self.signer)?))
        {
            Ok(note) => note.to_string().into_bytes(),
            Err(e) => {
                tracing::error!("cannot sign checkpoint: {e}");
                std::process::exit(70)
            }
        }
    }
}

/// Loads the log's signing key from the node directory.
pub fn load_log_signer(dir: &NodeDir) -> Result<Ed25519Signer> {
    let text = keyfile::read_secret(&dir.log_key())?;
    Ed25519Signer::parse(&text)
        .map_err(|e| anyhow::anyhow!("log key {}: {e}", dir.log_key().display()))
}

/// Everything `kvitto node` runs, bound and ready.
pub struct Node {
    pub addr: SocketAddr,
    pub info: LogInfo,
    serve: std::pin::Pin<Box<dyn Future<Output = Result<()>> + Send>>,
}

impl Node {
    /// Serves until the shutdown future given to [`start`] resolves, then waits for the sequencer
    /// to finish its last group commit.
    pub async fn run(self) -> Result<()> {
        self.serve.await
    }
}

/// Opens the node in `dir` and binds its listener. `shutdown` ends it gracefully.
pub async fn start(
    dir: &Path,
    listen: Option<SocketAddr>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<Node> {
    let config = NodeConfig::load(dir)?;
    let dir = NodeDir(dir.to_path_buf());
    let signer = load_log_signer(&dir)?;
    let verifier = signer.verifier();
    let admin = AdminToken::from_secret(&keyfile::read_secret(&dir.admin_token())?)
        .map_err(|e| anyhow::anyhow!("{}: {e}", dir.admin_token().display()))?;
    let origin = config.origin();
    if signer.name() != origin {
        anyhow::bail!(
            "the log key is named {:?} but the configuration's origin is {origin:?}",
            signer.name()
        );
    }
    let kv = RocksStore::open(&dir.db()).with_context(|| {
        format!(
            "opening the database in {} (is another kvitto process using it?)",
            dir.db().display()
        )
    })?;
    let store = Arc::new(LogStore::open(kv)?);
    let network = NetworkId::of_name(&config.network);
    let sequencer_config = SequencerConfig {
        ingest: IngestConfig {
            future_skew_ms_max: config.future_skew_ms_max,
            tariff_backdate_ms_max: config.tariff_backdate_ms_max,
            ..IngestConfig::default()
        },
        checkpoint_interval_ms: config.checkpoint_interval_ms,
        checkpoint_entries: config.checkpoint_entries,
        time_zone: config.tz()?,
        retention: config.retention.to_retention(),
        operator: Some(config.operator.clone()),
    };
    let check_verifier = verifier.clone();
    let (sequencer, view, sequencer_thread) = kvitto_service::Sequencer::start(
        store.clone(),
        network,
        Arc::new(NoteSigner {
            origin: origin.clone(),
            signer,
        }),
        Arc::new(SystemClock),
        sequencer_config,
        move |note| {
            let signed = Checkpoint::open(note, &check_verifier).ok()?;
            Some((signed.checkpoint.size(), *signed.checkpoint.root()))
        },
    )?;
    let log_id = config.log_id();
    let info = LogInfo {
        id: log_id.clone(),
        origin,
        verifier_key: verifier.to_string(),
        prefix: format!("/log/{log_id}"),
        operator: config.operator.clone(),
        kind: LogKind::Own,
    };
    let mut logs = LogSet::new(ServedLog {
        info: info.clone(),
        store: store.clone(),
        view: view.clone(),
        witness: WitnessBoard::default(),
    });
    let peers = PeerBoard::default();
    let network_task = match &config.membership {
        None => None,
        Some(_) => {
            Some(crate::network::join(&config, &dir, &verifier, &mut logs, peers.clone()).await?)
        }
    };
    let logs = Arc::new(logs);
    let mut evidence: Option<Arc<dyn kvitto_service::EvidenceSource>> = None;
    let mut custody_task = None;
    if let Some(joined) = &network_task {
        // Members' evidence requests, authorised by role in the replica, answered by custody.
        let (asks_tx, asks_rx) =
            tokio::sync::mpsc::channel(kvitto_service::limits::EVIDENCE_ASKS_QUEUE_LEN);
        custody_task = Some(tokio::spawn(crate::disclosure::serve(
            asks_rx,
            store.clone(),
            info.origin.clone(),
            sequencer.clone(),
        )));
        joined.start(logs.clone(), Some(asks_tx))?;
        evidence = Some(Arc::new(joined.evidence_source()));
    }
    // Receipts carry the network's policy; a node without a network trusts its own log alone.
    let membership = match &config.membership {
        Some(_) => Some(crate::network::load_membership(&config, &dir.0)?),
        None => None,
    };
    let policy = match &membership {
        Some(m) => m.policy_text().to_owned(),
        None => format!("log {verifier}\nquorum none\n"),
    };
    // Settlement: check statements addressed to this operator, answer disputes of its own, and
    // close periods when configured to.
    let settle_task = membership
        .as_ref()
        .and_then(|m| m.member_by_operator(&config.operator))
        .map(|member| {
            tokio::spawn(
                crate::settle_agent::Agent {
                    operator: config.operator.clone(),
                    origin: info.origin.clone(),
                    role: member.role,
                    logs: logs.clone(),
                    store: store.clone(),
                    sequencer: sequencer.clone(),
                    evidence: evidence.clone(),
                    policy: policy.clone(),
                    interval: Duration::from_millis(config.settlement.check_interval_ms.max(50)),
                    period_s: config.settlement.period_s,
                }
                .run(),
            )
        });
    let state = AppState {
        store,
        view,
        sequencer: sequencer.clone(),
        admin,
        log: info.clone(),
        logs,
        peers,
        network,
        time_zone: config.tz()?,
        policy,
        challenges: kvitto_http::Challenges::default(),
        evidence,
        // `kvitto audit --dir` writes its reports here; the regulator page serves them.
        audit_dir: Some(dir.0.join("audit")),
        // Running sums: each statement checks as its commitments arrive, not all at once.
        settlement: Arc::new(std::sync::Mutex::new(
            kvitto_service::settlement_index::SettlementIndex::with_running_sums(),
        )),
    };
    let listener = TcpListener::bind(listen.unwrap_or(config.http_listen))
        .await
        .with_context(|| format!("binding {}", listen.unwrap_or(config.http_listen)))?;
    let addr = listener.local_addr()?;
    // Checkpoints are due by time as well as by size: nudge the sequencer regularly.
    let ticker = sequencer.clone();
    let tick_every = Duration::from_millis((config.checkpoint_interval_ms / 4).max(50));
    let tick_task = tokio::spawn(async move {
        let mut interval = tokio::time::interval(tick_every);
        loop {
            interval.tick().await;
            ticker.tick();
        }
    });
    // Retention: erase people and amount openings whose period ended, at start and hourly.
    let expirer = sequencer.clone();
    let expire_task = tokio::spawn(async move {
        let mut interval = tokio::time::interval(Duration::from_secs(
            kvitto_service::limits::RETENTION_RUN_INTERVAL_S,
        ));
        loop {
            interval.tick().await;
            match expirer.expire().await {
                Ok(r) if r.people + r.amounts > 0 => {
                    tracing::info!(
                        people = r.people,
                        amounts = r.amounts,
                        "retention periods ended"
                    )
                }
                Ok(_) => {}
                Err(e) => tracing::warn!("retention run failed: {e}"),
            }
        }
    });
    drop(sequencer);
    let router = kvitto_http::router(state);
    let serve = async move {
        axum::serve(listener, router)
            .with_graceful_shutdown(shutdown)
            .await?;
        tick_task.abort();
        expire_task.abort();
        if let Some(task) = settle_task {
            task.abort();
            let _ = task.await;
        }
        if let Some(task) = custody_task {
            task.abort();
            let _ = task.await;
        }
        let _ = expire_task.await;
        let _ = tick_task.await;
        if let Some(joined) = network_task {
            joined.stop().await;
        }
        // All handles are gone now; the sequencer finishes its queue and stops.
        tokio::task::spawn_blocking(move || sequencer_thread.join())
            .await?
            .map_err(|_| anyhow::anyhow!("the sequencer thread panicked"))?;
        Ok(())
    };
    tracing::info!(%addr, log = %info.origin, "node started");
    Ok(Node {
        addr,
        info,
        serve: Box::pin(serve),
    })
}

/// The verifier of a node's log, from its directory.
pub fn log_verifier(dir: &Path) -> Result<Ed25519Verifier> {
    Ok(load_log_signer(&NodeDir(dir.to_path_buf()))?.verifier())
}

/// What `kvitto init` created.
#[derive(Debug, serde::Serialize)]
pub struct InitReport {
    pub dir: std::path::PathBuf,
    pub origin: String,
    pub verifier_key: String,
    pub peer_key_file: std::path::PathBuf,
    pub admin_token_file: std::path::PathBuf,
}

/// Creates a node directory: configuration, the log's note key, the libp2p identity key and the
/// admin token, each key in its own file with mode 0600. Refuses to touch an existing node.
pub fn init(
    dir: &Path,
    network: &str,
    operator: &str,
    http_listen: SocketAddr,
) -> Result<InitReport> {
    if dir.join(crate::config::CONFIG_FILE).exists() {
        anyhow::bail!(
            "{} already holds a node; refusing to overwrite its keys",
            dir.display()
        );
    }
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let config = NodeConfig::new(network, operator, http_listen)?;
    let nd = NodeDir(dir.to_path_buf());
    let signer = Ed25519Signer::generate(&config.origin(), &mut rand_core::OsRng)
        .map_err(|e| anyhow::anyhow!("log key name {:?}: {e}", config.origin()))?;
    keyfile::write_secret(&nd.log_key(), &signer.to_private_key_string())?;
    // The libp2p identity is a separate Ed25519 key, used by the network layer.
    keyfile::write_secret(&nd.p2p_key(), &keyfile::random_hex32())?;
    keyfile::write_secret(&nd.admin_token(), &keyfile::random_hex32())?;
    // The witness key cosigns other members' checkpoints; it is not the log key (C2SP
    // tlog-witness keeps the two apart).
    let witness = CosignatureSigner::generate(&config.witness_name(), &mut rand_core::OsRng)
        .map_err(|e| anyhow::anyhow!("witness key name {:?}: {e}", config.witness_name()))?;
    keyfile::write_secret(&nd.witness_key(), &witness.to_private_key_string())?;
    config.save(dir)?;
    Ok(InitReport {
        dir: dir.to_path_buf(),
        origin: config.origin(),
        verifier_key: signer.verifier().to_string(),
        peer_key_file: nd.p2p_key(),
        admin_token_file: nd.admin_token(),
    })
}
