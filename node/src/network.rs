//! Joining the roaming network: the membership, the libp2p layer and the replica.

use std::path::Path;
use std::sync::{Arc, Mutex};

use anyhow::{bail, Context, Result};
use kvitto_core::NetworkId;
use kvitto_net::membership::Membership;
use kvitto_net::{NetConfig, NetEvent, NetHandle, NetLimits};
use kvitto_replica::mirror::Mirror;
use kvitto_replica::ReplicaConfig;
use kvitto_service::{LogSet, PeerBoard};
use kvitto_store::{LogStore, RocksStore};
use kvitto_tlog::cosignature::CosignatureSigner;
use kvitto_tlog::note::Ed25519Verifier;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::config::{NodeConfig, NodeDir};
use crate::keyfile;

/// A node that joined the network: the libp2p task is running; the replica starts once the
/// set of served logs is complete.
pub struct Joined {
    net: NetHandle,
    membership: Arc<Membership>,
    pending: Mutex<Option<Pending>>,
    replica: Mutex<Option<JoinHandle<()>>>,
}

struct Pending {
    events: mpsc::Receiver<NetEvent>,
    membership: Arc<Membership>,
    mirrors: Vec<Mirror<RocksStore>>,
    witness: CosignatureSigner,
    peers: PeerBoard,
}

/// Loads and checks the membership (pinned hash, this node's entry), opens the mirror of every
/// other member's log, adds them to `logs`, and starts the network layer.
pub async fn join(
    config: &NodeConfig,
    dir: &NodeDir,
    log_verifier: &Ed25519Verifier,
    logs: &mut LogSet<RocksStore>,
    peers: PeerBoard,
) -> Result<Joined> {
    let membership = load_membership(config, &dir.0)?;
    let origin = config.origin();
    let me = membership
        .member_by_origin(&origin)
        .with_context(|| format!("the membership has no member with origin {origin}"))?;
    if me.log_key.to_string() != log_verifier.to_string() {
        bail!("the membership lists another log key for {origin} than this node's");
    }
    let witness = CosignatureSigner::parse(&keyfile::read_secret(&dir.witness_key())?)
        .map_err(|e| anyhow::anyhow!("{}: {e}", dir.witness_key().display()))?;
    if me.witness_key.to_string() != witness.verifier().to_string() {
        bail!("the membership lists another witness key for {origin} than this node's");
    }
    let keypair = load_keypair(dir)?;
    if keypair.public().to_peer_id() != me.peer_id {
        bail!(
            "the membership lists peer id {} for {origin}, this node's key is {}",
            me.peer_id,
            keypair.public().to_peer_id()
        );
    }
    let network = NetworkId::of_name(&config.network);
    let mirrors = kvitto_replica::open_mirrors(&membership, &origin, network, |id| {
        let path = dir.mirror_db(id);
        let kv = RocksStore::open(&path).map_err(kvitto_replica::ReplicaError::Store)?;
        Ok(LogStore::open(kv)?)
    })?;
    for mirror in &mirrors {
        logs.add_mirror(mirror.log.clone())
            .map_err(|e| anyhow::anyhow!(e))?;
    }
    let listen = config
        .p2p_listen
        .as_deref()
        .context("p2p_listen is not set")?
        .parse()
        .context("p2p_listen is not a multiaddr")?;
    let membership = Arc::new(membership);
    let (net, events) = kvitto_net::spawn(NetConfig {
        keypair,
        listen: vec![listen],
        membership: membership.clone(),
        limits: NetLimits::default(),
    })
    .context("starting the network layer")?;
    tracing::info!(
        peer_id = %net.local_peer_id(),
        members = membership.members().len(),
        membership = %membership.digest_hex(),
        "joined the network"
    );
    Ok(Joined {
        net,
        membership: membership.clone(),
        pending: Mutex::new(Some(Pending {
            events,
            membership,
            mirrors,
            witness,
            peers,
        })),
        replica: Mutex::new(None),
    })
}

impl Joined {
    /// How this node asks other members' operators for evidence.
    pub fn evidence_source(&self) -> crate::disclosure::NetEvidence {
        crate::disclosure::NetEvidence {
            net: self.net.clone(),
            membership: self.membership.clone(),
        }
    }

    /// Starts replication over the complete set of served logs; evidence requests from members
    /// go to `evidence`.
    pub fn start(
        &self,
        logs: Arc<LogSet<RocksStore>>,
        evidence: Option<tokio::sync::mpsc::Sender<kvitto_replica::EvidenceAsk>>,
    ) -> Result<()> {
        let Some(pending) = self
            .pending
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take()
        else {
            return Ok(());
        };
        let config = ReplicaConfig {
            membership: pending.membership,
            logs,
            mirrors: pending.mirrors,
            witness_signer: pending.witness,
            peers: pending.peers,
            evidence,
        };
        let replica = kvitto_replica::start(config, self.net.clone())?;
        let task = tokio::spawn(replica.run(pending.events));
        *self.replica.lock().unwrap_or_else(|e| e.into_inner()) = Some(task);
        Ok(())
    }

    pub async fn stop(self) {
        self.net.shutdown().await;
        let task = self
            .replica
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        if let Some(task) = task {
            task.abort();
            let _ = task.await;
        }
    }
}

/// The membership named by the configuration, refused unless its SHA-256 is the pinned one.
pub fn load_membership(config: &NodeConfig, dir: &Path) -> Result<Membership> {
    let (path, pinned) = match (&config.membership, &config.membership_sha256) {
        (Some(path), Some(pinned)) => (path, pinned),
        (None, None) => bail!("this node has no membership configured"),
        (Some(_), None) => {
            bail!("kvitto.toml names a membership but no membership_sha256 to pin it")
        }
        (None, Some(_)) => bail!("kvitto.toml pins membership_sha256 but names no membership file"),
    };
    let path = dir.join(path);
    let membership = Membership::load(&path)
        .map_err(|e| anyhow::anyhow!("membership {}: {e}", path.display()))?;
    if !membership.digest_hex().eq_ignore_ascii_case(pinned) {
        bail!(
            "membership {} has SHA-256 {}, but the configuration pins {pinned}; \
             check the new file with the other operators, then update membership_sha256",
            path.display(),
            membership.digest_hex()
        );
    }
    Ok(membership)
}

/// The node's libp2p identity from its key file (a 32-byte Ed25519 seed, hex).
pub fn load_keypair(dir: &NodeDir) -> Result<kvitto_net::Keypair> {
    let seed = keyfile::seed_from_hex(&keyfile::read_secret(&dir.p2p_key())?)?;
    let mut bytes = *seed;
    kvitto_net::Keypair::ed25519_from_bytes(&mut bytes)
        .map_err(|e| anyhow::anyhow!("{}: {e}", dir.p2p_key().display()))
}
