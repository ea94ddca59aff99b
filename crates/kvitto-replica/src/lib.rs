//! Replication and witnessing: how a node mirrors, verifies and cosigns every member's log.
//!
//! The replica runs beside the sequencer, on the network layer ([`kvitto_net`]):
//!
//! - **Gossip** carries checkpoints (a log's own, and witnesses' cosigned copies) and split-view
//!   evidence, as [`kvitto_witness::Message`]s. Each message is verified before it is accepted,
//!   and only accepted messages are forwarded: a checkpoint must carry a valid signature of a
//!   member's log, evidence must convict the log.
//! - **Fetching** ([`protocol`]): each mirror pulls entries, with the readings behind every
//!   session record, from the log's operator or any member that mirrors it, and answers the
//!   same requests for every log it serves ([`server`]).
//! - **Mirroring** ([`mirror`]): fetched entries are replayed through the ledger's rules
//!   (signatures, registrations, counters, chains, tariff references) and written only once they
//!   are proven to be a prefix of a checkpoint the log signed.
//! - **Witnessing**: once a mirror holds every entry of a checkpoint, the node's
//!   [`kvitto_witness::Witness`] cosigns it if it is consistent with the last one it cosigned,
//!   persists its state, and gossips the cosigned note. Cosignatures from every witness are
//!   merged per checkpoint; the latest checkpoint that satisfies the membership's
//!   tlog-policy is the log's *witnessed* checkpoint, which receipts are proven against.
//! - **Split views**: two signed checkpoints of one log that cannot both be true (same size,
//!   different roots; or a smaller one that is not a prefix of a larger one) become evidence.
//!   The node stores it, gossips it, flags the log and never cosigns it again.
//!
//! The rules are those of the seeded simulation in `kvitto_witness::sim`; `specs/network.md`
//! describes the protocol.

pub mod limits;
pub mod mirror;
pub mod protocol;
pub mod server;

mod book;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use kvitto_core::NetworkId;
use kvitto_ledger::IngestConfig;
use kvitto_net::membership::Membership;
use kvitto_net::{NetEvent, NetHandle, PeerId, Verdict};
use kvitto_service::{LogSet, PeerBoard, PeerView, ServedLog, SplitViewInfo};
use kvitto_store::{Batch, KvStore, META_OWN_SPLIT_VIEW, META_WITNESS_PREFIX};
use kvitto_tlog::cosignature::CosignatureSigner;
use kvitto_tlog::merkle::consistency_proof;
use kvitto_tlog::note::{Ed25519Verifier, Note, Verifier as _};
use kvitto_witness::{ConsistencyProof, LogState, Message, Outcome, SplitView, Witness};
use tokio::sync::{mpsc, watch};

use crate::book::Book;
use crate::limits::{
    COMMIT_CHUNK_BYTES, COMMIT_CHUNK_ENTRIES, ENTRIES_PER_REQUEST_MAX, EVENT_QUEUE_LEN,
    OWN_CHECKPOINT_POLL_MS, PULL_INTERVAL_MS,
};
use crate::mirror::{Mirror, MirrorError, Target};
use crate::protocol::{Request, Response};

#[derive(Debug, thiserror::Error)]
pub enum ReplicaError {
    #[error("membership: {0}")]
    Membership(String),
    #[error("witness state: {0}")]
    Witness(String),
    #[error(transparent)]
    Mirror(#[from] MirrorError),
    #[error("storage: {0}")]
    Store(#[from] kvitto_store::StoreError),
}

/// Opens the mirror of every other member's log; `open_store` gives each log's store.
pub fn open_mirrors<S: KvStore>(
    membership: &Membership,
    own_origin: &str,
    network: NetworkId,
    mut open_store: impl FnMut(&str) -> Result<kvitto_store::LogStore<S>, ReplicaError>,
) -> Result<Vec<Mirror<S>>, ReplicaError> {
    let mut mirrors = Vec::new();
    for member in membership.members() {
        if member.origin == own_origin {
            continue;
        }
        let id = log_id(&member.operator);
        let store = Arc::new(open_store(&id)?);
        let info = kvitto_service::LogInfo {
            prefix: format!("/log/{id}"),
            id,
            origin: member.origin.clone(),
            verifier_key: member.log_key.to_string(),
            operator: member.operator.clone(),
            kind: kvitto_service::LogKind::Mirror,
        };
        let log = ServedLog {
            info,
            store,
            view: kvitto_service::LogView::new(
                kvitto_service::Published {
                    size: 0,
                    root: kvitto_tlog::merkle::EMPTY_ROOT,
                    checkpoint: None,
                    checkpoint_size: 0,
                },
                HashMap::new(),
            ),
            witness: Default::default(),
        };
        mirrors.push(Mirror::open(
            log,
            member.log_key.clone(),
            network,
            IngestConfig::default(),
        )?);
    }
    Ok(mirrors)
}

/// The URL path segment of an operator's log: the party id, lower-cased, `*` as `-`.
pub fn log_id(operator: &str) -> String {
    operator.replace('*', "-").to_ascii_lowercase()
}

/// What the replica needs to run.
pub struct ReplicaConfig<S: KvStore> {
    pub membership: Arc<Membership>,
    pub logs: Arc<LogSet<S>>,
    pub mirrors: Vec<Mirror<S>>,
    /// This node's witness key; its name and key must be this member's `witness_key`.
    pub witness_signer: CosignatureSigner,
    pub peers: PeerBoard,
    /// Where requests for this node's evidence bundles go (its custody answers them); `None`
    /// answers every such request with `unavailable`.
    pub evidence: Option<mpsc::Sender<EvidenceAsk>>,
}

/// A member asks this node, the operator of a log, for one session's evidence bundle. The
/// replica checked that the request names this node's own log and that the requester is a
/// regulator or an eMSP; the node's custody decides the rest and answers.
pub struct EvidenceAsk {
    /// The requester's operator id, as the membership names it.
    pub requester: String,
    pub role: kvitto_net::membership::Role,
    pub session: [u8; 16],
    pub case_ref: String,
    pub reply: tokio::sync::oneshot::Sender<Response>,
}

/// Messages from the sync tasks to the main loop.
enum Internal {
    /// The mirror holds every entry of `target` and verified them.
    Synced { origin: String, target: Target },
    /// A checkpoint fetched by polling, handled like a gossiped one.
    Pulled { note: Vec<u8>, source: PeerId },
    /// Entries served by `source` did not lead to `target`'s root.
    Mismatch {
        origin: String,
        target: Target,
        source: PeerId,
        owner: PeerId,
    },
    /// A consistency proof from the witness's latest checkpoint to `target`, fetched after a
    /// mismatch (empty if none could be fetched).
    MismatchProof {
        origin: String,
        target: Target,
        source: PeerId,
        hashes: Vec<kvitto_tlog::Hash>,
    },
    /// Mirroring is stuck: an entry fails verification, or storage failed.
    Failed { origin: String, reason: String },
}

/// Runs replication until the network's event stream ends.
/// Restores the witness state and the collected cosignatures, publishes them for readers, and
/// spawns one sync task per mirror. Call it before serving HTTP, so what was witnessed before a
/// restart is served at once. Needs a tokio runtime.
pub fn start<S: KvStore>(
    config: ReplicaConfig<S>,
    net: NetHandle,
) -> Result<Replica<S>, ReplicaError> {
    let membership = config.membership;
    let own = config.logs.own().clone();
    let policy = membership.policy().clone();
    let others: Vec<Ed25519Verifier> = membership
        .members()
        .iter()
        .filter(|m| m.origin != own.info.origin)
        .map(|m| m.log_key.clone())
        .collect();
    let mut states = Vec::new();
    for (origin, bytes) in own.store.meta_with_prefix(META_WITNESS_PREFIX)? {
        let origin = String::from_utf8_lossy(&origin).into_owned();
        if !others.iter().any(|v| v.name() == origin) {
            // A member that left: its witness state stays on disk, unused.
            tracing::info!(%origin, "witness state of a log no longer in the membership is kept but not followed");
            continue;
        }
        states.push(LogState::decode(&bytes).map_err(|e| ReplicaError::Witness(e.to_string()))?);
    }
    let witness = Witness::restore(config.witness_signer, others, states).map_err(|e| {
        ReplicaError::Witness(format!(
            "{e} (a log key changed in the membership? its stored witness state and mirror \
             belong to the old key: archive them before following the new one)"
        ))
    })?;
    let (internal_tx, internal_rx) = mpsc::channel(EVENT_QUEUE_LEN);
    let main_tx = internal_tx.clone();
    let mut targets = HashMap::new();
    let mut owners: HashMap<PeerId, Vec<Arc<tokio::sync::Notify>>> = HashMap::new();
    for mirror in config.mirrors {
        let origin = mirror.log.info.origin.clone();
        let owner = membership
            .member_by_origin(&origin)
            .map(|m| m.peer_id)
            .ok_or_else(|| ReplicaError::Membership(format!("{origin} is not a member")))?;
        let (tx, rx) = watch::channel(None);
        targets.insert(origin.clone(), tx);
        let connected = Arc::new(tokio::sync::Notify::new());
        owners.entry(owner).or_default().push(connected.clone());
        tokio::spawn(sync_task(
            mirror,
            owner,
            connected,
            net.clone(),
            rx,
            internal_tx.clone(),
        ));
    }
    let own_evidence = match own.store.meta(META_OWN_SPLIT_VIEW)? {
        None => None,
        Some(bytes) => {
            let evidence = SplitView::decode(&bytes)
                .map_err(|e| ReplicaError::Witness(format!("stored evidence: {e}")))?;
            own.witness
                .update(|w| w.split_view = Some(split_view_info(&evidence)));
            Some(evidence)
        }
    };
    let mut books = HashMap::new();
    for log in config.logs.iter() {
        let book = Book::restore(log, &policy);
        if let Some(state) = witness.state(&log.info.origin) {
            if let Some(evidence) = state.split_view() {
                log.witness
                    .update(|w| w.split_view = Some(split_view_info(evidence)));
            }
        }
        books.insert(log.info.origin.clone(), book);
    }
    let main = Main {
        net,
        membership,
        logs: config.logs,
        own,
        policy,
        witness,
        books,
        targets,
        owners,
        internal_tx: main_tx,
        own_evidence,
        peers: config.peers,
        own_gossiped: 0,
        published: HashMap::new(),
        evidence: config.evidence,
    };
    Ok(Replica {
        main,
        internal: internal_rx,
    })
}

/// A started replica, ready to [`Replica::run`].
pub struct Replica<S: KvStore> {
    main: Main<S>,
    internal: mpsc::Receiver<Internal>,
}

impl<S: KvStore> Replica<S> {
    /// Runs replication until the network's event stream ends.
    pub async fn run(mut self, mut events: mpsc::Receiver<NetEvent>) {
        self.main.run(&mut events, self.internal).await;
    }
}

struct Main<S: KvStore> {
    net: NetHandle,
    membership: Arc<Membership>,
    logs: Arc<LogSet<S>>,
    own: ServedLog<S>,
    policy: kvitto_tlog::policy::Policy,
    witness: Witness,
    books: HashMap<String, Book>,
    targets: HashMap<String, watch::Sender<Option<(Target, PeerId)>>>,
    /// Wakes the sync tasks of the logs a member runs when it connects, so they poll at once.
    owners: HashMap<PeerId, Vec<Arc<tokio::sync::Notify>>>,
    internal_tx: mpsc::Sender<Internal>,
    /// Evidence that the node's own log showed a split view, if any.
    own_evidence: Option<SplitView>,
    peers: PeerBoard,
    own_gossiped: u64,
    /// Content ids of messages this node published, and when.
    published: HashMap<[u8; 32], std::time::Instant>,
    evidence: Option<mpsc::Sender<EvidenceAsk>>,
}

/// Who asked for evidence, and where the question goes.
struct EvidenceRoute {
    own_origin: String,
    requester: Option<kvitto_net::membership::Member>,
    to: Option<mpsc::Sender<EvidenceAsk>>,
}

impl EvidenceRoute {
    /// Authorises the request by the requester's membership role, then lets custody answer.
    async fn ask(self, origin: &str, session: [u8; 16], case_ref: String) -> Response {
        use kvitto_net::membership::Role;
        if origin != self.own_origin {
            return Response::error(
                "not_operator",
                "evidence is only given by the log's own operator",
            );
        }
        let Some(member) = self.requester else {
            return Response::error("not_authorised", "the requester is not a member");
        };
        if !matches!(member.role, Role::Regulator | Role::Emsp | Role::Both) {
            return Response::error(
                "not_authorised",
                format!(
                    "a {} member may not receive evidence; only regulators and the session's eMSP may",
                    member.role.as_str()
                ),
            );
        }
        let Some(to) = self.to else {
            return Response::error("unavailable", "this node does not give out evidence");
        };
        let (reply, answer) = tokio::sync::oneshot::channel();
        let ask = EvidenceAsk {
            requester: member.operator.clone(),
            role: member.role,
            session,
            case_ref,
            reply,
        };
        if to.send(ask).await.is_err() {
            return Response::error("unavailable", "the node's custody has stopped");
        }
        match tokio::time::timeout(
            Duration::from_millis(limits::EVIDENCE_ANSWER_TIMEOUT_MS),
            answer,
        )
        .await
        {
            Ok(Ok(response)) => response,
            _ => Response::error("unavailable", "the node's custody did not answer in time"),
        }
    }
}

impl<S: KvStore> Main<S> {
    fn evidence_route(&self, peer: PeerId) -> EvidenceRoute {
        EvidenceRoute {
            own_origin: self.own.info.origin.clone(),
            requester: self.membership.member_by_peer(&peer).cloned(),
            to: self.evidence.clone(),
        }
    }

    async fn run(
        &mut self,
        events: &mut mpsc::Receiver<NetEvent>,
        mut internal: mpsc::Receiver<Internal>,
    ) {
        let mut own_poll = tokio::time::interval(Duration::from_millis(OWN_CHECKPOINT_POLL_MS));
        let mut slow = tokio::time::interval(Duration::from_millis(PULL_INTERVAL_MS));
        let mut announce =
            tokio::time::interval(Duration::from_millis(limits::EVIDENCE_ANNOUNCE_INTERVAL_MS));
        loop {
            tokio::select! {
                event = events.recv() => match event {
                    None => return,
                    Some(event) => self.on_net_event(event).await,
                },
                Some(message) = internal.recv() => self.on_internal(message).await,
                _ = own_poll.tick() => self.gossip_own_checkpoint().await,
                _ = slow.tick() => self.refresh_peers().await,
                _ = announce.tick() => self.announce().await,
            }
        }
    }

    async fn on_net_event(&mut self, event: NetEvent) {
        match event {
            NetEvent::Gossip { id, source, data } => {
                let verdict = self.on_gossip(&data, source).await;
                self.net.report(id, source, verdict);
            }
            NetEvent::Request { peer, data, reply } => {
                let logs = self.logs.clone();
                let evidence = self.evidence_route(peer);
                tokio::spawn(async move {
                    let response = match Request::decode(&data) {
                        Err(e) => Response::error("malformed_request", e.to_string()),
                        Ok(Request::Evidence {
                            origin,
                            session,
                            case_ref,
                        }) => evidence.ask(&origin, session, case_ref).await,
                        Ok(request) => {
                            tracing::trace!(%peer, ?request, "fetch request");
                            tokio::task::spawn_blocking(move || server::respond(&logs, &request))
                                .await
                                .unwrap_or_else(|e| Response::error("internal", e.to_string()))
                        }
                    };
                    reply.send(response.encode());
                });
            }
            NetEvent::Connected(peer) => {
                tracing::debug!(%peer, "member connected");
                for wake in self.owners.get(&peer).into_iter().flatten() {
                    wake.notify_one();
                }
                self.refresh_peers().await;
            }
            NetEvent::Disconnected(peer) => {
                tracing::debug!(%peer, "member disconnected");
                self.refresh_peers().await;
            }
        }
    }

    async fn on_gossip(&mut self, data: &[u8], source: PeerId) -> Verdict {
        match Message::decode(data) {
            Ok(Message::Checkpoint(note)) => {
                self.on_checkpoint(note.to_string().as_bytes(), source)
                    .await
            }
            Ok(Message::SplitView(evidence)) => self.on_evidence(&evidence),
            Ok(Message::AddCheckpoint(_)) | Err(_) => Verdict::Reject,
        }
    }

    /// A checkpoint note from gossip or polling. Accepted (and forwarded) when the log signed it.
    async fn on_checkpoint(&mut self, bytes: &[u8], source: PeerId) -> Verdict {
        let Ok(note) = Note::parse(bytes) else {
            return Verdict::Reject;
        };
        let origin = note.text().lines().next().unwrap_or_default().to_owned();
        let Some(log) = self.logs.by_origin(&origin).cloned() else {
            return Verdict::Reject;
        };
        let Some(member) = self.membership.member_by_origin(&origin) else {
            return Verdict::Reject;
        };
        let verifier = member.log_key.clone();
        let Some(target) = Target::open(bytes, &verifier) else {
            return Verdict::Reject;
        };
        if log.witness.get().split_view.is_some() {
            return Verdict::Accept;
        }
        // Against what this node holds: a different root for a size it knows is a split view.
        let held = log.view.published();
        let conflict = if target.size <= held.checkpoint_size && target.size > 0 {
            let store = log.store.clone();
            let size = target.size;
            let held_size = held.checkpoint_size;
            let ours = tokio::task::spawn_blocking(move || {
                let tree = store.tree();
                let root = kvitto_tlog::merkle::root(&tree, size).ok()?;
                let proof = match size < held_size {
                    true => consistency_proof(&tree, size, held_size).ok()?,
                    false => Vec::new(),
                };
                Some((root, proof))
            })
            .await
            .ok()
            .flatten();
            match (ours, &held.checkpoint) {
                (Some((root, _)), _) if root == target.root => None,
                (Some((root, proof)), Some(held_note)) => {
                    let held_note = Note::parse(held_note).ok();
                    held_note.and_then(|held_note| {
                        if size == held_size {
                            SplitView::same_size(&verifier, &held_note, &note).ok()
                        } else {
                            SplitView::inconsistent(&verifier, &note, &held_note, root, proof).ok()
                        }
                    })
                }
                _ => None,
            }
        } else {
            None
        };
        let conflict = conflict.or_else(|| {
            // Against other checkpoints of the same size seen in gossip.
            self.books
                .get(&origin)
                .and_then(|book| book.note_at(target.size))
                .filter(|seen| seen.text() != note.text())
                .and_then(|seen| SplitView::same_size(&verifier, seen, &note).ok())
        });
        if let Some(evidence) = conflict {
            self.convict(&log, evidence).await;
            return Verdict::Accept;
        }
        self.collect(&log, &note);
        let is_newer = held.checkpoint.is_none() || target.size > held.checkpoint_size;
        if origin != self.own.info.origin && is_newer {
            if let Some(tx) = self.targets.get(&origin) {
                tx.send_if_modified(|current| match current {
                    Some((t, _)) if t.size >= target.size => false,
                    _ => {
                        *current = Some((target.clone(), source));
                        true
                    }
                });
            }
        }
        Verdict::Accept
    }

    /// Merges the cosignatures of `note` into the log's book and publishes the result.
    fn collect(&mut self, log: &ServedLog<S>, note: &Note) {
        let Some(book) = self.books.get_mut(&log.info.origin) else {
            return;
        };
        let Some(member) = self.membership.member_by_origin(&log.info.origin) else {
            return;
        };
        match book.add(note.clone(), &self.policy, &member.log_key) {
            Ok(true) => book.publish(log),
            Ok(false) => {}
            Err(e) => tracing::debug!(origin = %log.info.origin, "cosignatures not merged: {e}"),
        }
    }

    fn on_evidence(&mut self, evidence: &SplitView) -> Verdict {
        let Some(log) = self.logs.by_origin(evidence.origin()).cloned() else {
            return Verdict::Reject;
        };
        if log.info.origin == self.own.info.origin {
            // Only the log's own key can sign the notes; evidence against it means the key
            // leaked or this node forked. Forward it: every member must see it.
            let verified = self
                .membership
                .member_by_origin(&log.info.origin)
                .is_some_and(|m| evidence.verify(&m.log_key).is_ok());
            if !verified {
                return Verdict::Reject;
            }
            tracing::error!(origin = %log.info.origin, "evidence of a split view of this node's own log");
            self.flag_own(evidence);
            return Verdict::Accept;
        }
        // Verify first: a witness does not re-check evidence for a log it already flagged.
        let convicts = self
            .membership
            .member_by_origin(&log.info.origin)
            .is_some_and(|m| evidence.verify(&m.log_key).is_ok());
        if !convicts {
            return Verdict::Reject;
        }
        match self.witness.accept_evidence(evidence) {
            Ok(kvitto_witness::EvidenceOutcome::Flagged { state, .. }) => {
                self.persist_state(&state);
                tracing::warn!(origin = %log.info.origin, "split view proven by a peer's evidence; log flagged");
                log.witness
                    .update(|w| w.split_view = Some(split_view_info(evidence)));
                Verdict::Accept
            }
            Ok(kvitto_witness::EvidenceOutcome::AlreadyFlagged) => Verdict::Accept,
            Err(e) => {
                tracing::debug!("evidence refused: {e}");
                Verdict::Reject
            }
        }
    }

    /// Flags the log with `evidence` this node assembled, and gossips it.
    async fn convict(&mut self, log: &ServedLog<S>, evidence: SplitView) {
        if log.info.origin == self.own.info.origin {
            tracing::error!("this node's own log shows two histories");
            self.flag_own(&evidence);
            self.publish(Message::SplitView(evidence)).await;
            return;
        }
        match self.witness.accept_evidence(&evidence) {
            Ok(outcome) => {
                if let Some(state) = outcome.persist() {
                    self.persist_state(state);
                }
                tracing::warn!(origin = %log.info.origin, "split view detected; log flagged, evidence gossiped");
                log.witness
                    .update(|w| w.split_view = Some(split_view_info(&evidence)));
                self.publish(Message::SplitView(evidence)).await;
            }
            Err(e) => tracing::error!("own evidence refused: {e}"),
        }
    }

    /// Records evidence against the node's own log (its key leaked, or it forked): stored, so it
    /// is shown after a restart too, and re-announced with the rest.
    fn flag_own(&mut self, evidence: &SplitView) {
        if self.own_evidence.is_some() {
            return;
        }
        let mut batch = Batch::default();
        self.own
            .store
            .stage_meta(&mut batch, META_OWN_SPLIT_VIEW, &evidence.encode());
        if let Err(e) = self.own.store.write(batch) {
            tracing::error!("cannot persist evidence against the own log: {e}");
        }
        self.own
            .witness
            .update(|w| w.split_view = Some(split_view_info(evidence)));
        self.own_evidence = Some(evidence.clone());
    }

    /// Writes the witness's new state of a log durably. The in-memory witness has already
    /// moved on, so a node that cannot persist it stops (exit 70, like the sequencer) rather
    /// than run ahead of its disk: on restart the witness is restored from what is stored.
    fn persist_state(&self, state: &LogState) {
        let mut key = META_WITNESS_PREFIX.to_vec();
        key.extend_from_slice(state.origin().as_bytes());
        let mut batch = Batch::default();
        self.own.store.stage_meta(&mut batch, &key, &state.encode());
        if let Err(e) = self.own.store.write(batch) {
            tracing::error!(origin = %state.origin(), "cannot persist witness state, stopping: {e}");
            std::process::exit(70);
        }
    }

    /// Gossips `message`, unless the same bytes went out within gossipsub's duplicate window
    /// (peers would drop them as seen).
    async fn publish(&mut self, message: Message) {
        let bytes = match message.encode() {
            Ok(bytes) => bytes,
            Err(e) => return tracing::error!("message not encodable: {e}"),
        };
        let id = kvitto_net::gossip_message_id(&bytes);
        let now = std::time::Instant::now();
        self.published.retain(|_, at| {
            now.duration_since(*at) < Duration::from_millis(limits::DUPLICATE_WINDOW_MS)
        });
        if self.published.contains_key(&id) {
            return;
        }
        match self.net.publish(bytes).await {
            // Gossipsub already holds these bytes (received from a peer, or published before a
            // restart of this loop): as good as published.
            Ok(()) | Err(kvitto_net::NetError::Duplicate) => {
                if self.published.len() < limits::PUBLISHED_REMEMBERED_MAX {
                    self.published.insert(id, now);
                }
            }
            Err(e) => tracing::debug!("gossip not published: {e}"),
        }
    }

    async fn on_internal(&mut self, message: Internal) {
        match message {
            Internal::Pulled { note, source } => {
                let _ = self.on_checkpoint(&note, source).await;
            }
            Internal::Synced { origin, target } => self.cosign(&origin, target).await,
            Internal::Mismatch {
                origin,
                target,
                source,
                owner,
            } => self.on_mismatch(origin, target, source, owner),
            Internal::MismatchProof {
                origin,
                target,
                source,
                hashes,
            } => {
                self.on_mismatch_proof(&origin, target, source, hashes)
                    .await
            }
            Internal::Failed { origin, reason } => {
                tracing::warn!(%origin, "mirroring is stuck: {reason}");
                if let Some(log) = self.logs.by_origin(&origin) {
                    log.witness.update(|w| w.mirror_error = Some(reason));
                }
            }
        }
    }

    /// The mirror verified every entry of `target`: cosign it if it is consistent with the
    /// latest checkpoint this witness cosigned.
    async fn cosign(&mut self, origin: &str, target: Target) {
        let Some(log) = self.logs.by_origin(origin).cloned() else {
            return;
        };
        log.witness.update(|w| w.mirror_error = None);
        let latest = self
            .witness
            .state(origin)
            .map_or(0, |state| state.latest_size());
        if target.size < latest {
            return;
        }
        let store = log.store.clone();
        let size = target.size;
        let proof = tokio::task::spawn_blocking(move || {
            if latest == 0 || latest == size {
                Ok(Vec::new())
            } else {
                consistency_proof(&store.tree(), latest, size).map_err(|e| e.to_string())
            }
        })
        .await
        .map_err(|e| e.to_string())
        .and_then(|r| r);
        let proof = match proof.map(|hashes| ConsistencyProof::new(latest, hashes)) {
            Ok(Ok(proof)) => proof,
            Ok(Err(e)) => return tracing::error!("proof too long: {e}"),
            Err(e) => return tracing::error!("cannot prove consistency: {e}"),
        };
        let outcome = self
            .witness
            .observe(origin, &target.note, &proof, now_secs());
        self.on_outcome(&log, outcome).await;
    }

    async fn on_outcome(
        &mut self,
        log: &ServedLog<S>,
        outcome: Result<Outcome, kvitto_witness::WitnessError>,
    ) {
        match outcome {
            Ok(outcome) => {
                if let Some(state) = outcome.persist() {
                    // Persisted before anything is sent.
                    self.persist_state(state);
                }
                if let Outcome::SplitView { evidence, .. } = &outcome {
                    tracing::warn!(origin = %log.info.origin, "split view detected; log flagged");
                    log.witness
                        .update(|w| w.split_view = Some(split_view_info(evidence)));
                }
                if let Some(cosigned) = outcome.cosigned() {
                    tracing::debug!(origin = %log.info.origin, size = cosigned.checkpoint.size(), "cosigned");
                    self.collect(log, &cosigned.note);
                }
                if let Some(message) = outcome.gossip() {
                    self.publish(message).await;
                }
            }
            Err(e) => tracing::warn!(origin = %log.info.origin, "not cosigned: {e}"),
        }
    }

    /// Entries from `source` did not lead to `target`'s root. Either the log forked (a
    /// consistency proof from the checkpoint this witness holds then pins another root for it,
    /// which convicts the log) or the peer served bad data. The proof is fetched off the main
    /// loop; the answer comes back as [`Internal::MismatchProof`].
    fn on_mismatch(&mut self, origin: String, target: Target, source: PeerId, owner: PeerId) {
        let latest = self
            .witness
            .state(&origin)
            .map_or(0, |state| state.latest_size());
        let net = self.net.clone();
        let tx = self.internal_tx.clone();
        tokio::spawn(async move {
            let request = Request::Consistency {
                origin: origin.clone(),
                first: latest,
                second: target.size,
            };
            let mut hashes = Vec::new();
            for peer in [source, owner] {
                if let Ok(Response::Proof(proof)) = fetch(&net, peer, &request).await {
                    hashes = proof;
                    break;
                }
            }
            let _ = tx
                .send(Internal::MismatchProof {
                    origin,
                    target,
                    source,
                    hashes,
                })
                .await;
        });
    }

    /// Never cosigns: `target`'s entries did not verify. Convicts the log if the proof shows a
    /// split view, otherwise reports the peer.
    async fn on_mismatch_proof(
        &mut self,
        origin: &str,
        target: Target,
        source: PeerId,
        hashes: Vec<kvitto_tlog::Hash>,
    ) {
        let Some(log) = self.logs.by_origin(origin).cloned() else {
            return;
        };
        let Some(member) = self.membership.member_by_origin(origin) else {
            return;
        };
        let evidence = self
            .witness
            .state(origin)
            .and_then(|state| state.latest())
            .and_then(|latest| split_view_from_proof(&member.log_key, latest, &target, hashes));
        if let Some(evidence) = evidence {
            self.convict(&log, evidence).await;
            return;
        }
        let operator = self.operator_of(&source);
        log.witness.update(|w| {
            w.mirror_error = Some(format!(
                "entries or proofs served by {operator} do not lead to checkpoint {} of {origin}; retrying with the log's operator",
                target.size
            ))
        });
    }

    fn operator_of(&self, peer: &PeerId) -> String {
        self.membership
            .member_by_peer(peer)
            .map_or_else(|| peer.to_string(), |m| m.operator.clone())
    }

    async fn gossip_own_checkpoint(&mut self) {
        let published = self.own.view.published();
        if published.checkpoint_size <= self.own_gossiped {
            return;
        }
        let Some(note) = published.checkpoint else {
            return;
        };
        self.own_gossiped = published.checkpoint_size;
        if let Ok(parsed) = Note::parse(&note) {
            let own = self.own.clone();
            self.collect(&own, &parsed);
            self.publish(Message::Checkpoint(parsed)).await;
        }
    }

    /// Re-announces evidence against flagged logs, for peers that were away when it was first
    /// gossiped. (Checkpoints need no re-announcing: every mirror polls the log's operator for
    /// its latest checkpoint, which carries the cosignatures collected for it.)
    async fn announce(&mut self) {
        let evidence: Vec<SplitView> = self
            .witness
            .states()
            .filter_map(|state| state.split_view().cloned())
            .chain(self.own_evidence.clone())
            .collect();
        for evidence in evidence {
            self.publish(Message::SplitView(evidence)).await;
        }
    }

    async fn refresh_peers(&mut self) {
        let peers = self
            .net
            .peers()
            .await
            .into_iter()
            .map(|p| PeerView {
                operator: p.operator,
                peer_id: p.peer_id.to_string(),
                connected: p.connected,
                rtt_ms: p.rtt_ms,
                subscribed: p.subscribed,
                last_error: p.last_error,
            })
            .collect();
        self.peers.set(peers);
        self.peers
            .set_net(self.net.stats().counters().into_iter().collect());
    }
}

fn split_view_info(evidence: &SplitView) -> SplitViewInfo {
    SplitViewInfo {
        first_note: evidence.first_note().to_string(),
        second_note: evidence.second_note().to_string(),
        evidence: base64::engine::general_purpose::STANDARD.encode(evidence.encode()),
    }
}

fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(1)
}

async fn fetch(net: &NetHandle, peer: PeerId, request: &Request) -> Result<Response, String> {
    let bytes = net
        .request(peer, request.encode())
        .await
        .map_err(|e| e.to_string())?;
    let response = Response::decode(&bytes).map_err(|e| e.to_string())?;
    match response {
        Response::Error { code, message } => Err(format!("{code}: {message}")),
        response => Ok(response),
    }
}

/// Keeps one mirror up to date: polls the owner for its latest checkpoint, and fetches and
/// verifies entries up to the newest target the main loop hands over.
async fn sync_task<S: KvStore>(
    mut mirror: Mirror<S>,
    owner: PeerId,
    connected: Arc<tokio::sync::Notify>,
    net: NetHandle,
    mut targets: watch::Receiver<Option<(Target, PeerId)>>,
    to_main: mpsc::Sender<Internal>,
) {
    let origin = mirror.log.info.origin.clone();
    // After a restart the witness may be behind the mirror: offer what is verified.
    if let Some(target) = mirror.checkpoint().cloned() {
        let _ = to_main
            .send(Internal::Synced {
                origin: origin.clone(),
                target,
            })
            .await;
    }
    let mut poll = tokio::time::interval(Duration::from_millis(PULL_INTERVAL_MS));
    // After a failed sync, polls retry it against the log's operator, but not before this.
    let mut retry_at = tokio::time::Instant::now();
    let mut failures: u32 = 0;
    loop {
        let next = tokio::select! {
            changed = targets.changed() => {
                if changed.is_err() {
                    return;
                }
                targets.borrow_and_update().clone()
            }
            reconnected = async {
                tokio::select! { _ = poll.tick() => false, _ = connected.notified() => true }
            } => {
                if reconnected {
                    // The operator is back: retry at once rather than after the backoff.
                    retry_at = tokio::time::Instant::now();
                }
                let request = Request::Checkpoint { origin: origin.clone() };
                if let Ok(Response::Checkpoint(Some(note))) = fetch(&net, owner, &request).await {
                    if to_main.send(Internal::Pulled { note, source: owner }).await.is_err() {
                        return;
                    }
                }
                if tokio::time::Instant::now() < retry_at {
                    continue;
                }
                targets.borrow().clone().map(|(target, _)| (target, owner))
            }
        };
        let Some((target, source)) = next else {
            continue;
        };
        if !mirror.is_behind(&target) {
            continue;
        }
        let (returned, result) = sync(mirror, &net, &target, source, owner).await;
        mirror = returned;
        if result.is_ok() {
            failures = 0;
        } else {
            failures = failures.saturating_add(1);
            let wait_ms =
                PULL_INTERVAL_MS.saturating_mul(1 << failures.min(limits::RETRY_DOUBLINGS_MAX));
            retry_at = tokio::time::Instant::now() + Duration::from_millis(wait_ms);
        }
        let message = match result {
            Ok(()) => Internal::Synced {
                origin: origin.clone(),
                target,
            },
            Err(SyncError::Mirror(MirrorError::Mismatch { .. })) => Internal::Mismatch {
                origin: origin.clone(),
                target,
                source,
                owner,
            },
            Err(SyncError::Mirror(e)) => Internal::Failed {
                origin: origin.clone(),
                reason: e.to_string(),
            },
            Err(SyncError::Fetch(reason)) => Internal::Failed {
                origin: origin.clone(),
                reason: format!("behind: fetching entries failed ({reason}); retrying"),
            },
        };
        if to_main.send(message).await.is_err() {
            return;
        }
    }
}

enum SyncError {
    Mirror(MirrorError),
    Fetch(String),
}

/// Brings `mirror` to `target`, fetching from `source` (or the owner if that fails), writing
/// every [`COMMIT_CHUNK_ENTRIES`] once proven to be a prefix of the target.
async fn sync<S: KvStore>(
    mirror: Mirror<S>,
    net: &NetHandle,
    target: &Target,
    source: PeerId,
    owner: PeerId,
) -> (Mirror<S>, Result<(), SyncError>) {
    let origin = mirror.log.info.origin.clone();
    // Adopting needs no fetch when the entries are already written.
    let mut mirror = mirror;
    if target.size <= mirror.size() {
        let (m, result) = blocking(mirror, {
            let target = target.clone();
            move |m| m.adopt(&target).map(|_| ())
        })
        .await;
        return (m, result.map_err(SyncError::Mirror));
    }
    let mut pending = mirror.begin();
    while pending.size() < target.size {
        let start = pending.size();
        let count = (target.size - start).min(ENTRIES_PER_REQUEST_MAX as u64) as u32;
        let request = Request::Entries {
            origin: origin.clone(),
            start,
            count,
        };
        let response = match fetch(net, source, &request).await {
            Ok(response) => Ok(response),
            Err(_) if source != owner => fetch(net, owner, &request).await,
            Err(e) => Err(e),
        };
        let entries = match response {
            Ok(Response::Entries { start, entries })
                if !entries.is_empty() && entries.len() <= count as usize =>
            {
                (start, entries)
            }
            Ok(_) => return (mirror, Err(SyncError::Fetch("unexpected response".into()))),
            Err(e) => return (mirror, Err(SyncError::Fetch(e))),
        };
        let verified = tokio::task::spawn_blocking(move || {
            let result = mirror.verify(&mut pending, entries.0, entries.1);
            (mirror, pending, result)
        })
        .await;
        let (m, p, result) = match verified {
            Ok(v) => v,
            Err(e) => {
                // The blocking task panicked; the mirror is gone with it. This cannot be
                // recovered in-process.
                tracing::error!("mirror task failed: {e}");
                std::process::exit(70);
            }
        };
        mirror = m;
        pending = p;
        if let Err(e) = result {
            return (mirror, Err(SyncError::Mirror(e)));
        }
        let chunk = pending.size() - mirror.size();
        let full = chunk >= COMMIT_CHUNK_ENTRIES || pending.bytes() >= COMMIT_CHUNK_BYTES;
        if pending.size() < target.size && full {
            let request = Request::Consistency {
                origin: origin.clone(),
                first: pending.size(),
                second: target.size,
            };
            let proof = match fetch(net, source, &request).await {
                Ok(Response::Proof(proof)) => proof,
                Ok(_) => return (mirror, Err(SyncError::Fetch("unexpected response".into()))),
                Err(e) => return (mirror, Err(SyncError::Fetch(e))),
            };
            let target = target.clone();
            let (m, result) = blocking(mirror, move |m| {
                m.commit(pending, &target, &proof).map(|_| ())
            })
            .await;
            mirror = m;
            if let Err(e) = result {
                return (mirror, Err(SyncError::Mirror(e)));
            }
            pending = mirror.begin();
        }
    }
    let target = target.clone();
    let (m, result) = blocking(mirror, move |m| m.commit(pending, &target, &[]).map(|_| ())).await;
    (m, result.map_err(SyncError::Mirror))
}

async fn blocking<S: KvStore, T: Send + 'static>(
    mut mirror: Mirror<S>,
    f: impl FnOnce(&mut Mirror<S>) -> T + Send + 'static,
) -> (Mirror<S>, T) {
    match tokio::task::spawn_blocking(move || {
        let result = f(&mut mirror);
        (mirror, result)
    })
    .await
    {
        Ok(done) => done,
        Err(e) => {
            tracing::error!("mirror task failed: {e}");
            std::process::exit(70);
        }
    }
}

/// The split view a consistency proof from the witness's `latest` checkpoint to `target` shows,
/// if it pins another root for the latest size. Checks only; nothing is cosigned.
fn split_view_from_proof(
    log_key: &Ed25519Verifier,
    latest: &kvitto_witness::Latest,
    target: &Target,
    hashes: Vec<kvitto_tlog::Hash>,
) -> Option<SplitView> {
    let held = latest.checkpoint();
    if held.size() == 0 || held.size() >= target.size {
        return None;
    }
    let error = kvitto_tlog::merkle::verify_consistency(
        held.size(),
        target.size,
        held.root(),
        &target.root,
        &hashes,
    )
    .err()?;
    let kvitto_tlog::merkle::ProofError::FirstRootMismatch { computed, .. } = error else {
        return None;
    };
    let note = Note::parse(&target.note).ok()?;
    SplitView::inconsistent(log_key, latest.note(), &note, computed, hashes).ok()
}
