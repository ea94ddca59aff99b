//! Every log a node serves: its own and the mirrors of other members' logs.
//!
//! The set is fixed at startup (membership decides it). Each [`ServedLog`] has its own store and
//! [`LogView`]; the HTTP layer serves all of them under the same tlog-tiles layout, so a client
//! can read any member's log from any node. The [`WitnessBoard`] of a log is what the
//! replication layer publishes about it: the latest checkpoint with the cosignatures collected so
//! far, the latest checkpoint witnessed under the policy, and any split view or mirror failure.

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};

use kvitto_store::{KvStore, LogStore};
use serde::Serialize;

use crate::view::LogView;

/// A log this node serves.
#[derive(Debug, Clone, Serialize)]
pub struct LogInfo {
    /// The URL path segment: `/log/{id}/`.
    pub id: String,
    /// The checkpoint origin line.
    pub origin: String,
    /// The C2SP note verifier key of the log.
    pub verifier_key: String,
    /// The URL prefix of the tlog-tiles layout.
    pub prefix: String,
    /// The operator (OCPI party id) that runs the log.
    pub operator: String,
    /// Whether this node runs the log or mirrors it.
    pub kind: LogKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LogKind {
    /// This node's own log: it sequences and signs it.
    Own,
    /// Another member's log, replicated and verified entry by entry.
    Mirror,
}

/// One served log.
pub struct ServedLog<S> {
    pub info: LogInfo,
    pub store: Arc<LogStore<S>>,
    pub view: LogView,
    pub witness: WitnessBoard,
}

impl<S> Clone for ServedLog<S> {
    fn clone(&self) -> Self {
        ServedLog {
            info: self.info.clone(),
            store: self.store.clone(),
            view: self.view.clone(),
            witness: self.witness.clone(),
        }
    }
}

/// The logs of a node by id, the node's own first in [`LogSet::own`].
pub struct LogSet<S> {
    own: String,
    logs: BTreeMap<String, ServedLog<S>>,
}

impl<S: KvStore> LogSet<S> {
    /// A set holding only the node's own log.
    pub fn new(own: ServedLog<S>) -> Self {
        let id = own.info.id.clone();
        let mut logs = BTreeMap::new();
        logs.insert(id.clone(), own);
        LogSet { own: id, logs }
    }

    /// Adds a mirror. Log ids are unique; a second log with an id already present is refused.
    pub fn add_mirror(&mut self, log: ServedLog<S>) -> Result<(), String> {
        if self.logs.contains_key(&log.info.id) {
            return Err(format!("two logs have the id {:?}", log.info.id));
        }
        self.logs.insert(log.info.id.clone(), log);
        Ok(())
    }

    pub fn own(&self) -> &ServedLog<S> {
        // The own log is inserted by the only constructor and never removed.
        &self.logs[&self.own]
    }

    pub fn get(&self, id: &str) -> Option<&ServedLog<S>> {
        self.logs.get(id)
    }

    pub fn by_origin(&self, origin: &str) -> Option<&ServedLog<S>> {
        self.logs.values().find(|log| log.info.origin == origin)
    }

    /// Every log, ordered by id.
    pub fn iter(&self) -> impl Iterator<Item = &ServedLog<S>> {
        self.logs.values()
    }
}

/// What the replication layer knows about one log, published for readers.
#[derive(Debug, Clone, Default, Serialize)]
pub struct WitnessInfo {
    /// The latest checkpoint this node holds for the log, with every valid cosignature of a
    /// policy witness collected for it so far.
    #[serde(skip)]
    pub cosigned: Option<Arc<String>>,
    pub cosigned_size: u64,
    /// Key names of the witnesses that cosigned [`WitnessInfo::cosigned`].
    pub cosigners: Vec<String>,
    /// The latest checkpoint that satisfies the network's trust policy.
    #[serde(skip)]
    pub witnessed: Option<Arc<String>>,
    pub witnessed_size: u64,
    /// Set once a split view of the log is proven; the log is then never cosigned again.
    pub split_view: Option<SplitViewInfo>,
    /// Why mirroring the log is stuck, if it is (an entry that fails verification, a peer that
    /// serves data not matching the signed checkpoint).
    pub mirror_error: Option<String>,
}

/// Proof that a log signed two checkpoints that cannot both be true.
#[derive(Debug, Clone, Serialize)]
pub struct SplitViewInfo {
    pub first_note: String,
    pub second_note: String,
    /// The canonical evidence encoding (`specs/witness.md`), base64.
    pub evidence: String,
}

/// Shared [`WitnessInfo`] of one log: written by the replication task, read by HTTP handlers.
#[derive(Debug, Clone, Default)]
pub struct WitnessBoard(Arc<RwLock<WitnessInfo>>);

impl WitnessBoard {
    pub fn get(&self) -> WitnessInfo {
        // A poisoned lock only means a panic elsewhere; the value is replaced whole.
        self.0.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    pub fn update(&self, update: impl FnOnce(&mut WitnessInfo)) {
        update(&mut self.0.write().unwrap_or_else(|e| e.into_inner()));
    }
}

/// A member peer as the network layer sees it, for status pages.
#[derive(Debug, Clone, Serialize)]
pub struct PeerView {
    pub operator: String,
    pub peer_id: String,
    pub connected: bool,
    pub rtt_ms: Option<u64>,
    /// Subscribed to the witness topic: gossip published here reaches it directly.
    pub subscribed: bool,
    pub last_error: Option<String>,
}

/// The network layer's traffic counters by name (messages and bytes sent and received).
pub type NetCounters = BTreeMap<&'static str, u64>;

/// The peers of the node and its traffic counters, refreshed by the replication task.
#[derive(Debug, Clone, Default)]
pub struct PeerBoard(Arc<RwLock<(Vec<PeerView>, NetCounters)>>);

impl PeerBoard {
    pub fn get(&self) -> Vec<PeerView> {
        self.0.read().unwrap_or_else(|e| e.into_inner()).0.clone()
    }

    pub fn set(&self, peers: Vec<PeerView>) {
        self.0.write().unwrap_or_else(|e| e.into_inner()).0 = peers;
    }

    /// The traffic counters; empty for a node outside any network.
    pub fn net(&self) -> NetCounters {
        self.0.read().unwrap_or_else(|e| e.into_inner()).1.clone()
    }

    pub fn set_net(&self, counters: NetCounters) {
        self.0.write().unwrap_or_else(|e| e.into_inner()).1 = counters;
    }
}
