//! One mirrored log: verifies fetched entries by replaying them, and writes them only once
//! they are proven to be a prefix of a checkpoint the log signed. Blocking (RocksDB, signature
//! checks): the sync task calls it through `spawn_blocking`.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use kvitto_core::codec::{DecodeError, Reader, Writer};
use kvitto_core::keys::{KeyId, SessionId};
use kvitto_core::reading::SignedReading;
use kvitto_core::NetworkId;
use kvitto_ledger::PendingCloneCheck;
use kvitto_ledger::{IngestConfig, Ledger, ReadingArchive, RecordLookup, ReplayItem};
use kvitto_service::{Published, ServedLog};
use kvitto_store::{Batch, KvStore, LogStore, StoreError, META_CLONE_CHECKS};
use kvitto_tlog::checkpoint::Checkpoint;
use kvitto_tlog::merkle::{verify_consistency, Frontier};
use kvitto_tlog::note::Ed25519Verifier;
use kvitto_tlog::Hash;

use crate::protocol::ServedEntry;

#[derive(Debug, thiserror::Error)]
pub enum MirrorError {
    #[error("storage: {0}")]
    Store(#[from] StoreError),
    #[error("the stored checkpoint of {origin} does not verify: {reason}")]
    StoredCheckpoint { origin: String, reason: String },
    #[error("entry {index} fails verification: {reason}")]
    InvalidEntry { index: u64, reason: String },
    #[error("the entries served for sizes {from}..{to} do not match the signed checkpoint")]
    Mismatch { from: u64, to: u64 },
    #[error("the peer served entries from {got}, expected {expected}")]
    WrongStart { got: u64, expected: u64 },
}

/// A signed checkpoint of a mirrored log, verified under the log's key.
#[derive(Debug, Clone)]
pub struct Target {
    pub note: Vec<u8>,
    pub size: u64,
    pub root: Hash,
}

impl Target {
    pub fn open(note: &[u8], verifier: &Ed25519Verifier) -> Option<Target> {
        let signed = Checkpoint::open(note, verifier).ok()?;
        Some(Target {
            note: note.to_vec(),
            size: signed.checkpoint.size(),
            root: *signed.checkpoint.root(),
        })
    }
}

/// The verified state of one mirrored log.
pub struct Mirror<S: KvStore> {
    pub log: ServedLog<S>,
    pub verifier: Ed25519Verifier,
    ledger: Ledger,
    frontier: Frontier,
    checkpoint: Option<Target>,
}

/// Entries verified in memory, not yet written.
pub struct Pending {
    ledger: Ledger,
    frontier: Frontier,
    batch: Batch,
    sessions: HashSet<SessionId>,
    readings: HashMap<(KeyId, u64), SignedReading>,
    /// Records closed in this chunk, by session.
    records: HashMap<SessionId, u64>,
    /// Bytes of entries and readings held.
    bytes: usize,
}

impl Pending {
    pub fn size(&self) -> u64 {
        self.frontier.size()
    }

    pub fn bytes(&self) -> usize {
        self.bytes
    }

    pub fn root(&self) -> Hash {
        self.frontier.root()
    }
}

/// Readings and sessions already written, plus those of the pending chunk.
struct Archive<'a, S: KvStore> {
    store: &'a LogStore<S>,
    sessions: &'a HashSet<SessionId>,
    readings: &'a HashMap<(KeyId, u64), SignedReading>,
    records: &'a HashMap<SessionId, u64>,
}

impl<S: KvStore> ReadingArchive for Archive<'_, S> {
    fn reading(&self, key_id: &KeyId, counter: u64) -> Option<SignedReading> {
        self.readings
            .get(&(*key_id, counter))
            .cloned()
            .or_else(|| ReadingArchive::reading(self.store, key_id, counter))
    }

    fn session_exists(&self, session: &SessionId) -> bool {
        self.sessions.contains(session) || self.store.session_exists(session)
    }

    fn session_record(&self, session: &SessionId) -> RecordLookup {
        match self.records.get(session) {
            Some(index) => RecordLookup::At(*index),
            None => self.store.session_record(session),
        }
    }
}

impl<S: KvStore> Mirror<S> {
    /// Loads a mirror from its store and publishes what it holds.
    pub fn open(
        log: ServedLog<S>,
        verifier: Ed25519Verifier,
        network: NetworkId,
        config: IngestConfig,
    ) -> Result<Mirror<S>, MirrorError> {
        let state = log.store.load()?;
        let checkpoint = match &state.checkpoint {
            None => None,
            Some(note) => {
                let target =
                    Target::open(note, &verifier).ok_or_else(|| MirrorError::StoredCheckpoint {
                        origin: log.info.origin.clone(),
                        reason: "bad signature".into(),
                    })?;
                let root =
                    kvitto_tlog::merkle::root(&log.store.tree(), target.size).map_err(|e| {
                        MirrorError::StoredCheckpoint {
                            origin: log.info.origin.clone(),
                            reason: e.to_string(),
                        }
                    })?;
                if root != target.root || target.size > state.size {
                    return Err(MirrorError::StoredCheckpoint {
                        origin: log.info.origin.clone(),
                        reason: "the stored tree does not match it".into(),
                    });
                }
                Some(target)
            }
        };
        let mut ledger = Ledger::restore(
            network,
            log.info.origin.clone(),
            config,
            state.chargers,
            state.tariffs,
            state.size,
        );
        if let Some(bytes) = log.store.meta(META_CLONE_CHECKS)? {
            let checks =
                decode_clone_checks(&bytes).map_err(|e| MirrorError::StoredCheckpoint {
                    origin: log.info.origin.clone(),
                    reason: format!("pending clone checks: {e}"),
                })?;
            ledger.restore_pending_clone_checks(checks);
        }
        let mirror = Mirror {
            log,
            verifier,
            ledger,
            frontier: state.frontier,
            checkpoint,
        };
        mirror.publish();
        Ok(mirror)
    }

    /// Entries written (proven prefixes of signed checkpoints).
    pub fn size(&self) -> u64 {
        self.frontier.size()
    }

    /// The latest checkpoint the mirror fully verified.
    pub fn checkpoint(&self) -> Option<&Target> {
        self.checkpoint.as_ref()
    }

    pub fn checkpoint_size(&self) -> u64 {
        self.checkpoint.as_ref().map_or(0, |t| t.size)
    }

    /// Whether `target` is newer than the latest verified checkpoint (any checkpoint is, the
    /// empty tree's included, while the mirror has none).
    pub fn is_behind(&self, target: &Target) -> bool {
        match &self.checkpoint {
            None => true,
            Some(held) => target.size > held.size,
        }
    }

    fn publish(&self) {
        self.log.view.set_published(Published {
            size: self.frontier.size(),
            root: self.frontier.root(),
            checkpoint: self.checkpoint.as_ref().map(|t| Arc::new(t.note.clone())),
            checkpoint_size: self.checkpoint_size(),
        });
    }

    /// Starts a chunk on top of what is written.
    pub fn begin(&self) -> Pending {
        Pending {
            ledger: self.ledger.clone(),
            frontier: self.frontier.clone(),
            batch: Batch::default(),
            sessions: HashSet::new(),
            readings: HashMap::new(),
            records: HashMap::new(),
            bytes: 0,
        }
    }

    /// Verifies `entries`, which must start at the pending size, and stages them.
    pub fn verify(
        &self,
        pending: &mut Pending,
        start: u64,
        entries: Vec<ServedEntry>,
    ) -> Result<(), MirrorError> {
        if start != pending.frontier.size() {
            return Err(MirrorError::WrongStart {
                got: start,
                expected: pending.frontier.size(),
            });
        }
        pending.bytes += entries
            .iter()
            .map(|e| e.entry.len() + e.readings.len() * kvitto_core::reading::SIGNED_LEN)
            .sum::<usize>();
        let items = entries
            .into_iter()
            .map(|e| ReplayItem {
                entry: e.entry,
                readings: e.readings,
            })
            .collect();
        let archive = Archive {
            store: &self.log.store,
            sessions: &pending.sessions,
            readings: &pending.readings,
            records: &pending.records,
        };
        let effects = pending.ledger.replay_batch(items, &archive).map_err(|e| {
            MirrorError::InvalidEntry {
                index: e.index,
                reason: format!("{}: {}", e.code(), e.message),
            }
        })?;
        self.log
            .store
            .stage(&mut pending.batch, &mut pending.frontier, &effects)?;
        for reading in &effects.readings {
            let r = &reading.reading;
            pending.sessions.insert(r.session);
            pending
                .readings
                .insert((r.key_id, r.counter), reading.clone());
        }
        pending
            .records
            .extend(effects.closed_sessions.iter().copied());
        Ok(())
    }

    /// Writes `pending` if it is proven to be a prefix of `target`: equal to it, or with a
    /// consistency `proof` from the pending size to the target.
    pub fn commit(
        &mut self,
        pending: Pending,
        target: &Target,
        proof: &[Hash],
    ) -> Result<bool, MirrorError> {
        let size = pending.frontier.size();
        let reached = size == target.size;
        let proven = if reached {
            pending.frontier.root() == target.root
        } else {
            size < target.size
                && verify_consistency(
                    size,
                    target.size,
                    &pending.frontier.root(),
                    &target.root,
                    proof,
                )
                .is_ok()
        };
        if !proven {
            return Err(MirrorError::Mismatch {
                from: self.size(),
                to: target.size,
            });
        }
        let mut batch = pending.batch;
        self.log.store.stage_meta(
            &mut batch,
            META_CLONE_CHECKS,
            &encode_clone_checks(pending.ledger.pending_clone_checks()),
        );
        if reached {
            self.log
                .store
                .stage_checkpoint(&mut batch, target.size, &target.note);
        }
        self.log.store.write(batch)?;
        self.ledger = pending.ledger;
        self.frontier = pending.frontier;
        if reached {
            self.checkpoint = Some(target.clone());
        }
        self.publish();
        Ok(reached)
    }

    /// Records `target` as verified when every entry it covers is already written (the log
    /// signed a checkpoint over entries the mirror holds, e.g. after a restart).
    pub fn adopt(&mut self, target: &Target) -> Result<bool, MirrorError> {
        if !self.is_behind(target) || target.size > self.size() {
            return Ok(false);
        }
        let root = match target.size {
            0 => kvitto_tlog::merkle::EMPTY_ROOT,
            size => kvitto_tlog::merkle::root(&self.log.store.tree(), size).map_err(|_| {
                MirrorError::Mismatch {
                    from: 0,
                    to: target.size,
                }
            })?,
        };
        if root != target.root {
            return Err(MirrorError::Mismatch {
                from: 0,
                to: target.size,
            });
        }
        let mut batch = Batch::default();
        self.log
            .store
            .stage_checkpoint(&mut batch, target.size, &target.note);
        self.log.store.write(batch)?;
        self.checkpoint = Some(target.clone());
        self.publish();
        Ok(true)
    }
}

/// `n u32, n × (entry index u64, key id 16, counter u64, signed reading 170)`: the clone evidence
/// whose cited reading belongs to a session the mirror has not replayed yet.
fn encode_clone_checks(checks: &[PendingCloneCheck]) -> Vec<u8> {
    let mut w = Writer::new();
    w.u32(checks.len() as u32);
    for check in checks {
        w.u64(check.entry_index)
            .fixed(&check.key_id.0)
            .u64(check.counter)
            .fixed(&check.first.encode());
    }
    w.finish()
}

fn decode_clone_checks(bytes: &[u8]) -> Result<Vec<PendingCloneCheck>, DecodeError> {
    let mut r = Reader::new(bytes);
    let n = r.u32("count")?;
    let mut checks = Vec::new();
    for _ in 0..n {
        checks.push(PendingCloneCheck {
            entry_index: r.u64("entry index")?,
            key_id: KeyId(r.array("key id")?),
            counter: r.u64("counter")?,
            first: SignedReading::decode(r.take("reading", kvitto_core::reading::SIGNED_LEN)?)?,
        });
    }
    r.finish()?;
    Ok(checks)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pending_clone_checks_round_trip() {
        let charger = kvitto_core::charger::SoftCharger::new(
            kvitto_core::keys::generate_signing_key(),
            NetworkId::of_name("t"),
        );
        let first = charger.clone().start(1_000);
        let checks = vec![PendingCloneCheck {
            entry_index: 7,
            key_id: first.reading.key_id,
            counter: first.reading.counter,
            first,
        }];
        let bytes = encode_clone_checks(&checks);
        let decoded = decode_clone_checks(&bytes).unwrap();
        assert_eq!(decoded.len(), 1);
        assert_eq!(
            (
                decoded[0].entry_index,
                decoded[0].key_id,
                decoded[0].counter
            ),
            (7, checks[0].key_id, checks[0].counter)
        );
        assert_eq!(decoded[0].first, checks[0].first);
        for cut in 0..bytes.len() {
            assert!(decode_clone_checks(&bytes[..cut]).is_err());
        }
    }
}
