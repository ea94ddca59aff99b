//! The witness state machine: C2SP tlog-witness `add-checkpoint` semantics, plus split-view
//! detection and evidence handling.
//!
//! A [`Witness`] is configured with its cosigning key and the logs it follows, each identified
//! by its origin and Ed25519 note key. For each log it keeps a [`LogState`]: the latest
//! checkpoint it verified and cosigned, and evidence against the log once it has one. Every
//! cosigned checkpoint was proven consistent with the previous latest one, so by transitivity
//! all checkpoints a witness ever cosigns for a log lie on one append-only history.
//!
//! The witness does no IO. It updates its in-memory state and returns an [`Outcome`] saying
//! what to persist and what to send. The caller MUST persist [`Outcome::persist`] before it
//! sends [`Outcome::gossip`] or answers the request; if persisting fails it MUST drop the
//! witness and [`Witness::restore`] it from storage, because the in-memory state is then ahead
//! of the disk. Calls are serialised by `&mut self`, which also makes the tlog-witness check of
//! the old size and the update of the latest checkpoint one atomic step.

use std::collections::BTreeMap;

use kvitto_tlog::checkpoint::{Checkpoint, CheckpointError};
use kvitto_tlog::cosignature::{CosignatureError, CosignatureSigner, CosignatureVerifier};
use kvitto_tlog::limits::COSIGNATURE_TIMESTAMP_MAX;
use kvitto_tlog::merkle::{verify_consistency, ProofError, EMPTY_ROOT};
use kvitto_tlog::note::{Ed25519Verifier, Note, NoteError, Signature, VerifiedNote, Verifier};

use crate::evidence::{EvidenceError, SplitView};
use crate::limits::{CHECKPOINT_TEXT_SIZE_MAX, LOGS_MAX, NOTE_SIZE_MAX};
use crate::message::Message;
use crate::request::{AddCheckpoint, ConsistencyProof};
use crate::state::{Latest, LogState};

/// A tlog witness for a fixed set of logs.
#[derive(Debug)]
pub struct Witness {
    signer: CosignatureSigner,
    logs: BTreeMap<String, Log>,
}

#[derive(Debug)]
struct Log {
    verifier: Ed25519Verifier,
    state: LogState,
}

/// What [`Witness::observe`] decided, and what the caller must persist and send.
#[derive(Clone, Debug)]
pub enum Outcome {
    /// The checkpoint extends the latest one: persist `state`, then send `cosigned`.
    Advanced { state: LogState, cosigned: Cosigned },
    /// The checkpoint has the latest size and root: a fresh cosignature, nothing to persist.
    Recosigned { cosigned: Cosigned },
    /// The checkpoint is smaller than the latest one: no cosignature, nothing to persist
    /// (tlog-witness answers "409 Conflict" with `latest_size`).
    Stale { latest_size: u64 },
    /// The checkpoint and the latest one cannot both be true: persist `state`, which flags the
    /// log, then gossip `evidence`. The log is never cosigned again.
    SplitView {
        state: LogState,
        evidence: SplitView,
    },
}

/// A cosignature the witness made.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cosigned {
    pub checkpoint: Checkpoint,
    /// The cosignature line: the body of a tlog-witness "200 Success" response.
    pub cosignature: Signature,
    /// The checkpoint with the log's signature and the cosignature.
    pub note: Note,
}

/// What [`Witness::accept_evidence`] decided.
#[derive(Clone, Debug)]
#[expect(
    clippy::large_enum_variant,
    reason = "returned once per call and consumed at once, never stored in bulk"
)]
pub enum EvidenceOutcome {
    /// The evidence verified and the log is now flagged: persist `state`, then gossip the
    /// evidence on.
    Flagged {
        state: LogState,
        evidence: SplitView,
    },
    /// The log was flagged already; nothing to do.
    AlreadyFlagged,
}

/// Why a witness could not be configured.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("more than {max} logs")]
    TooManyLogs { max: usize },
    #[error("log {origin:?} is listed twice")]
    DuplicateLog { origin: String },
}

/// Why stored state could not be restored.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RestoreError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("stored state for log {origin:?}, which is not configured")]
    UnknownLog { origin: String },
    #[error("stored state for log {origin:?} appears twice")]
    DuplicateState { origin: String },
    #[error("stored state for log {origin:?} was verified under another log key")]
    LogKeyChanged { origin: String },
    #[error("stored latest checkpoint of log {origin:?} does not verify")]
    InvalidLatest {
        origin: String,
        #[source]
        source: CheckpointError,
    },
    #[error("stored latest checkpoint of log {origin:?} lacks this witness's cosignature")]
    MissingCosignature { origin: String },
    #[error("stored evidence against log {origin:?} does not verify")]
    InvalidEvidence {
        origin: String,
        #[source]
        source: EvidenceError,
    },
}

/// Why a checkpoint or evidence was refused. Nothing was changed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum WitnessError {
    /// tlog-witness "404 Not Found".
    #[error("log {origin:?} is not witnessed here")]
    UnknownLog { origin: String },
    /// tlog-witness "403 Forbidden" for signature failures, "400 Bad Request" otherwise.
    #[error("checkpoint is not a valid checkpoint signed by the log")]
    Checkpoint(#[source] CheckpointError),
    #[error("checkpoint note of {size} bytes is larger than {max} bytes")]
    NoteTooLarge { size: usize, max: usize },
    #[error("checkpoint text of {size} bytes is larger than {max} bytes")]
    CheckpointTooLarge { size: usize, max: usize },
    /// tlog-witness "409 Conflict": the proof is not from the latest checkpoint.
    #[error("proof is from size {old_size}, but the latest checkpoint has size {latest_size}")]
    Conflict { old_size: u64, latest_size: u64 },
    /// tlog-witness "422 Unprocessable Entity".
    #[error("consistency proof does not verify")]
    InvalidProof(#[source] ProofError),
    #[error("log {origin:?} showed a split view and is no longer cosigned")]
    Flagged { origin: String },
    #[error("time {now_secs} is not a cosignature timestamp from 1 to 2^63 - 1")]
    InvalidTime { now_secs: u64 },
    #[error("evidence does not convict the log")]
    Evidence(#[source] EvidenceError),
    #[error("cosigning failed")]
    Cosign(#[from] CosignatureError),
    #[error("cosigned note could not be built")]
    Note(#[from] NoteError),
}

impl Witness {
    /// A witness with no state yet for any of `logs`; each log's key name is its origin.
    pub fn new(
        signer: CosignatureSigner,
        logs: impl IntoIterator<Item = Ed25519Verifier>,
    ) -> Result<Witness, ConfigError> {
        let mut map = BTreeMap::new();
        for verifier in logs {
            if map.len() == LOGS_MAX {
                return Err(ConfigError::TooManyLogs { max: LOGS_MAX });
            }
            let origin = verifier.name().to_owned();
            if map.contains_key(&origin) {
                return Err(ConfigError::DuplicateLog { origin });
            }
            let state = LogState::new(&origin, *verifier.public_key());
            map.insert(origin, Log { verifier, state });
        }
        Ok(Witness { signer, logs: map })
    }

    /// A witness with stored states, each verified again: the log key must be unchanged, the
    /// latest note must carry valid signatures of the log and of this witness, and evidence
    /// must convict. Logs without a stored state start empty.
    pub fn restore(
        signer: CosignatureSigner,
        logs: impl IntoIterator<Item = Ed25519Verifier>,
        states: impl IntoIterator<Item = LogState>,
    ) -> Result<Witness, RestoreError> {
        let mut witness = Witness::new(signer, logs)?;
        let cosigner = witness.signer.verifier();
        let mut restored: Vec<String> = Vec::new();
        for state in states {
            let origin = state.origin().to_owned();
            let log = witness
                .logs
                .get_mut(&origin)
                .ok_or_else(|| RestoreError::UnknownLog {
                    origin: origin.clone(),
                })?;
            if restored.contains(&origin) {
                return Err(RestoreError::DuplicateState { origin });
            }
            if state.log_key() != log.verifier.public_key() {
                return Err(RestoreError::LogKeyChanged { origin });
            }
            if let Some(latest) = state.latest() {
                check_stored_note(latest.note(), &log.verifier, &cosigner, &origin)?;
            }
            if let Some(split_view) = state.split_view() {
                split_view.verify(&log.verifier).map_err(|source| {
                    RestoreError::InvalidEvidence {
                        origin: origin.clone(),
                        source,
                    }
                })?;
            }
            log.state = state;
            restored.push(origin);
        }
        Ok(witness)
    }

    /// The witness's key name.
    pub fn name(&self) -> &str {
        self.signer.name()
    }

    /// The key that verifies this witness's cosignatures.
    pub fn verifier(&self) -> CosignatureVerifier {
        self.signer.verifier()
    }

    /// The key of the log with `origin`, if it is followed.
    pub fn log_verifier(&self, origin: &str) -> Option<&Ed25519Verifier> {
        self.logs.get(origin).map(|log| &log.verifier)
    }

    /// The state of the log with `origin`, if it is followed.
    pub fn state(&self, origin: &str) -> Option<&LogState> {
        self.logs.get(origin).map(|log| &log.state)
    }

    /// Every followed log's state, by origin.
    pub fn states(&self) -> impl Iterator<Item = &LogState> {
        self.logs.values().map(|log| &log.state)
    }

    /// Handles a checkpoint `note` for the log `origin` with a consistency proof from the latest
    /// checkpoint this witness holds, at time `now_secs` (POSIX seconds).
    ///
    /// In order: the time must be a valid cosignature timestamp; the log must be followed; the
    /// note must be a checkpoint of `origin` validly signed by the log; the log must not be
    /// flagged. Then, against the latest checkpoint (size 0 and the empty root before the
    /// first): a smaller checkpoint is [`Outcome::Stale`]; the same size with a different root
    /// is a split view; otherwise the proof must start at the latest size, and the same size
    /// and root is [`Outcome::Recosigned`], a larger checkpoint with a verifying proof
    /// [`Outcome::Advanced`]. A proof that fails yet pins a different root for the latest size
    /// inside the new tree is a split view too; any other failing proof is an error.
    pub fn observe(
        &mut self,
        origin: &str,
        note: &[u8],
        proof: &ConsistencyProof,
        now_secs: u64,
    ) -> Result<Outcome, WitnessError> {
        if now_secs == 0 || now_secs > COSIGNATURE_TIMESTAMP_MAX {
            return Err(WitnessError::InvalidTime { now_secs });
        }
        if note.len() > NOTE_SIZE_MAX {
            return Err(WitnessError::NoteTooLarge {
                size: note.len(),
                max: NOTE_SIZE_MAX,
            });
        }
        let log = self
            .logs
            .get_mut(origin)
            .ok_or_else(|| WitnessError::UnknownLog {
                origin: origin.to_owned(),
            })?;
        // `open` checks the log's signature and that the origin is the key name, which is the
        // origin this log is filed under.
        let signed = Checkpoint::open(note, &log.verifier).map_err(WitnessError::Checkpoint)?;
        let text_size = signed.note.text().len();
        if text_size > CHECKPOINT_TEXT_SIZE_MAX {
            return Err(WitnessError::CheckpointTooLarge {
                size: text_size,
                max: CHECKPOINT_TEXT_SIZE_MAX,
            });
        }
        if log.state.is_flagged() {
            return Err(WitnessError::Flagged {
                origin: origin.to_owned(),
            });
        }
        let checkpoint = signed.checkpoint;
        let received = log_signed(&signed.note)?;
        let (latest_size, latest_root) = match log.state.latest() {
            Some(latest) => (latest.checkpoint().size(), *latest.checkpoint().root()),
            None => (0, EMPTY_ROOT),
        };
        let size = checkpoint.size();
        if size < latest_size {
            return Ok(Outcome::Stale { latest_size });
        }
        if size == latest_size && *checkpoint.root() != latest_root {
            // Sizes above 0 only: the empty tree has one root, which `open` enforced.
            let evidence = match log.state.latest() {
                Some(latest) => SplitView::same_size(&log.verifier, latest.note(), &received),
                None => Err(EvidenceError::Consistent),
            }
            .map_err(WitnessError::Evidence)?;
            return Ok(split_view(log, evidence));
        }
        if proof.old_size() != latest_size {
            return Err(WitnessError::Conflict {
                old_size: proof.old_size(),
                latest_size,
            });
        }
        let is_new = log.state.latest().is_none() || size > latest_size;
        if latest_size == 0 || size == latest_size {
            // No proof exists from the empty tree or to the same tree (tlog-witness: "the
            // consistency proof MUST be empty").
            if !proof.hashes().is_empty() {
                return Err(WitnessError::InvalidProof(ProofError::WrongProofLength {
                    expected: 0,
                    actual: proof.hashes().len(),
                }));
            }
        } else {
            let checked = verify_consistency(
                latest_size,
                size,
                &latest_root,
                checkpoint.root(),
                proof.hashes(),
            );
            if let Err(error) = checked {
                return match split_view_from_proof(log, &received, &error, proof) {
                    Some(evidence) => Ok(split_view(log, evidence)),
                    None => Err(WitnessError::InvalidProof(error)),
                };
            }
        }
        let cosignature = self.signer.cosign(&checkpoint, now_secs)?;
        let mut cosigned_note = received;
        cosigned_note.push_signature(cosignature.clone())?;
        let cosigned = Cosigned {
            checkpoint: checkpoint.clone(),
            cosignature,
            note: cosigned_note.clone(),
        };
        if !is_new {
            return Ok(Outcome::Recosigned { cosigned });
        }
        let state = log
            .state
            .with_latest(Latest::new(checkpoint, cosigned_note));
        log.state = state.clone();
        Ok(Outcome::Advanced { state, cosigned })
    }

    /// [`Witness::observe`] for a tlog-witness add-checkpoint request; the log is named by the
    /// checkpoint's origin line.
    pub fn add_checkpoint(
        &mut self,
        request: &AddCheckpoint,
        now_secs: u64,
    ) -> Result<Outcome, WitnessError> {
        let origin = request.origin().unwrap_or_default().to_owned();
        let note = request.note().to_string();
        self.observe(&origin, note.as_bytes(), request.proof(), now_secs)
    }

    /// Accepts split-view evidence from anyone: once it verifies against the log's key, the log
    /// is flagged and never cosigned again. Evidence for a log already flagged is not checked.
    pub fn accept_evidence(
        &mut self,
        evidence: &SplitView,
    ) -> Result<EvidenceOutcome, WitnessError> {
        let log = self
            .logs
            .get_mut(evidence.origin())
            .ok_or_else(|| WitnessError::UnknownLog {
                origin: evidence.origin().to_owned(),
            })?;
        if log.state.is_flagged() {
            return Ok(EvidenceOutcome::AlreadyFlagged);
        }
        evidence
            .verify(&log.verifier)
            .map_err(WitnessError::Evidence)?;
        let state = flag(log, evidence);
        Ok(EvidenceOutcome::Flagged {
            state,
            evidence: evidence.clone(),
        })
    }
}

impl Outcome {
    /// The state to persist, atomically, before anything is sent.
    pub fn persist(&self) -> Option<&LogState> {
        match self {
            Outcome::Advanced { state, .. } | Outcome::SplitView { state, .. } => Some(state),
            Outcome::Recosigned { .. } | Outcome::Stale { .. } => None,
        }
    }

    /// What to gossip to peers once the state is persisted: the cosigned checkpoint, or the
    /// evidence.
    pub fn gossip(&self) -> Option<Message> {
        match self {
            Outcome::Advanced { cosigned, .. } | Outcome::Recosigned { cosigned } => {
                Some(Message::Checkpoint(cosigned.note.clone()))
            }
            Outcome::SplitView { evidence, .. } => Some(Message::SplitView(evidence.clone())),
            Outcome::Stale { .. } => None,
        }
    }

    /// The cosignature, if one was made.
    pub fn cosigned(&self) -> Option<&Cosigned> {
        match self {
            Outcome::Advanced { cosigned, .. } | Outcome::Recosigned { cosigned } => Some(cosigned),
            Outcome::Stale { .. } | Outcome::SplitView { .. } => None,
        }
    }
}

impl EvidenceOutcome {
    pub fn persist(&self) -> Option<&LogState> {
        match self {
            EvidenceOutcome::Flagged { state, .. } => Some(state),
            EvidenceOutcome::AlreadyFlagged => None,
        }
    }

    pub fn gossip(&self) -> Option<Message> {
        match self {
            EvidenceOutcome::Flagged { evidence, .. } => Some(Message::SplitView(evidence.clone())),
            EvidenceOutcome::AlreadyFlagged => None,
        }
    }
}

/// Flags the log with `evidence`, which the caller verified, and returns the state to persist.
fn flag(log: &mut Log, evidence: &SplitView) -> LogState {
    let state = log.state.with_split_view(evidence.clone());
    log.state = state.clone();
    state
}

fn split_view(log: &mut Log, evidence: SplitView) -> Outcome {
    let state = flag(log, &evidence);
    Outcome::SplitView { state, evidence }
}

/// A split view shown by a failed consistency proof: the proof computes a root for the latest
/// size other than the latest root, and from that root it does verify against the new tree.
/// Only then does the proof convict the log; otherwise it may just be garbage.
fn split_view_from_proof(
    log: &Log,
    received: &Note,
    error: &ProofError,
    proof: &ConsistencyProof,
) -> Option<SplitView> {
    let ProofError::FirstRootMismatch { computed, .. } = error else {
        return None;
    };
    let latest = log.state.latest()?;
    SplitView::inconsistent(
        &log.verifier,
        latest.note(),
        received,
        *computed,
        proof.hashes().to_vec(),
    )
    .ok()
}

/// The note's text with only the log's verified signature.
fn log_signed(note: &VerifiedNote) -> Result<Note, NoteError> {
    let mut stripped = Note::new(note.text())?;
    // `Checkpoint::open` verified exactly one signature: the log's.
    if let Some(verified) = note.verified().first() {
        stripped.push_signature(verified.signature.clone())?;
    }
    Ok(stripped)
}

/// Checks a stored latest note: exactly two signatures, the log's and this witness's, both
/// valid, on a checkpoint of `origin`.
fn check_stored_note(
    note: &Note,
    log: &Ed25519Verifier,
    cosigner: &CosignatureVerifier,
    origin: &str,
) -> Result<(), RestoreError> {
    let invalid = |source: CheckpointError| RestoreError::InvalidLatest {
        origin: origin.to_owned(),
        source,
    };
    let opened = note
        .clone()
        .open(&[log as &dyn Verifier, cosigner as &dyn Verifier])
        .map_err(|error| invalid(CheckpointError::Note(error)))?;
    if !opened.is_signed_by(0) {
        return Err(invalid(CheckpointError::Note(
            NoteError::NoVerifiedSignature,
        )));
    }
    if !opened.is_signed_by(1) || note.signatures().len() != 2 {
        return Err(RestoreError::MissingCosignature {
            origin: origin.to_owned(),
        });
    }
    let checkpoint = Checkpoint::parse(note.text()).map_err(invalid)?;
    if checkpoint.origin() != origin {
        return Err(invalid(CheckpointError::OriginMismatch {
            origin: checkpoint.origin().to_owned(),
            key_name: origin.to_owned(),
        }));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use kvitto_tlog::cosignature::Cosignature;

    use super::*;
    use crate::evidence::ConvictionKind;
    use crate::testing::{cosigner, witness, TestLog, NOW};

    const LOG: &str = "log.example/a";

    /// A witness that has cosigned `log` at `size`.
    fn witness_at(log: &TestLog, size: u64) -> Witness {
        let mut witness = witness(&[log]);
        let outcome = witness
            .observe(LOG, &log.bytes_at(size), &log.proof(0, size), NOW)
            .unwrap();
        assert!(matches!(outcome, Outcome::Advanced { .. }));
        witness
    }

    fn latest(witness: &Witness) -> (u64, Hash) {
        let latest = witness.state(LOG).unwrap().latest().unwrap();
        (latest.checkpoint().size(), *latest.checkpoint().root())
    }

    use kvitto_tlog::Hash;

    #[test]
    fn first_checkpoint_is_cosigned_and_persisted() {
        let mut log = TestLog::new(LOG, 1);
        log.grow(5, 0);
        let mut witness = witness(&[&log]);
        let outcome = witness
            .observe(LOG, &log.bytes_at(5), &ConsistencyProof::empty(0), NOW)
            .unwrap();
        let Outcome::Advanced { state, cosigned } = &outcome else {
            panic!("expected a cosignature, got {outcome:?}");
        };
        assert_eq!(state.latest_size(), 5);
        assert_eq!(outcome.persist(), Some(state));
        assert_eq!(
            outcome.gossip(),
            Some(Message::Checkpoint(cosigned.note.clone()))
        );
        // The cosignature is a tlog-cosignature by the witness key, at `NOW`.
        assert_eq!(cosigned.note.signatures().len(), 2);
        let verifier = witness.verifier();
        let opened = cosigned
            .note
            .clone()
            .open(&[&log.verifier() as &dyn Verifier, &verifier])
            .unwrap();
        assert!(opened.is_signed_by(0) && opened.is_signed_by(1));
        let decoded = Cosignature::from_bytes(cosigned.cosignature.bytes()).unwrap();
        assert_eq!(decoded.timestamp, NOW);
        assert_eq!(witness.state(LOG), Some(state));
    }

    #[test]
    fn consistent_growth_advances() {
        let mut log = TestLog::new(LOG, 1);
        log.grow(13, 0);
        let mut witness = witness_at(&log, 5);
        let outcome = witness
            .observe(LOG, &log.bytes_at(13), &log.proof(5, 13), NOW + 1)
            .unwrap();
        assert!(matches!(outcome, Outcome::Advanced { .. }), "{outcome:?}");
        assert_eq!(latest(&witness), (13, log.root_at(13)));
    }

    #[test]
    fn same_checkpoint_is_recosigned_without_state_change() {
        let mut log = TestLog::new(LOG, 1);
        log.grow(5, 0);
        let mut witness = witness_at(&log, 5);
        let before = witness.state(LOG).cloned();
        let outcome = witness
            .observe(LOG, &log.bytes_at(5), &ConsistencyProof::empty(5), NOW + 9)
            .unwrap();
        assert!(matches!(outcome, Outcome::Recosigned { .. }), "{outcome:?}");
        assert_eq!(outcome.persist(), None);
        assert!(outcome.gossip().is_some());
        assert_eq!(witness.state(LOG).cloned(), before);
    }

    #[test]
    fn smaller_checkpoint_is_stale() {
        let mut log = TestLog::new(LOG, 1);
        log.grow(9, 0);
        let mut witness = witness_at(&log, 9);
        let before = witness.state(LOG).cloned();
        let outcome = witness
            .observe(LOG, &log.bytes_at(4), &ConsistencyProof::empty(9), NOW)
            .unwrap();
        assert!(
            matches!(outcome, Outcome::Stale { latest_size: 9 }),
            "{outcome:?}"
        );
        assert_eq!((outcome.persist(), outcome.gossip()), (None, None));
        assert_eq!(witness.state(LOG).cloned(), before);
    }

    #[test]
    fn bad_signature_and_unknown_log_are_refused() {
        let mut log = TestLog::new(LOG, 1);
        log.grow(3, 0);
        let mut witness = witness(&[&log]);
        // The same name under another key: its signature matches no trusted key.
        let mut impostor = TestLog::new(LOG, 2);
        impostor.grow(3, 0);
        let error = witness
            .observe(LOG, &impostor.bytes_at(3), &ConsistencyProof::empty(0), NOW)
            .unwrap_err();
        assert!(matches!(error, WitnessError::Checkpoint(_)), "{error:?}");
        // A note whose trusted signature line was tampered with.
        let mut tampered = log.bytes_at(3);
        let last = tampered.len() - 3;
        tampered[last] = if tampered[last] == b'A' { b'B' } else { b'A' };
        let error = witness
            .observe(LOG, &tampered, &ConsistencyProof::empty(0), NOW)
            .unwrap_err();
        assert!(matches!(error, WitnessError::Checkpoint(_)), "{error:?}");
        // A checkpoint of another log, submitted under this log's origin.
        let other = TestLog::new("log.example/b", 3);
        let error = witness
            .observe(LOG, &other.bytes_at(0), &ConsistencyProof::empty(0), NOW)
            .unwrap_err();
        assert!(matches!(error, WitnessError::Checkpoint(_)), "{error:?}");
        let error = witness
            .observe(
                "log.example/b",
                &other.bytes_at(0),
                &ConsistencyProof::empty(0),
                NOW,
            )
            .unwrap_err();
        assert!(
            matches!(error, WitnessError::UnknownLog { .. }),
            "{error:?}"
        );
        assert_eq!(witness.state(LOG).unwrap().latest(), None);
    }

    #[test]
    fn bad_proof_is_refused_without_flagging() {
        let mut log = TestLog::new(LOG, 1);
        log.grow(13, 0);
        let mut witness = witness_at(&log, 6);
        let good = log.proof(6, 13);
        // A wrong hash in the part that only the new root depends on: no split view shown.
        let mut hashes = good.hashes().to_vec();
        let last = hashes.len() - 1;
        hashes[last] = Hash([7; 32]);
        let bad = ConsistencyProof::new(6, hashes).unwrap();
        let error = witness
            .observe(LOG, &log.bytes_at(13), &bad, NOW)
            .unwrap_err();
        assert!(matches!(error, WitnessError::InvalidProof(_)), "{error:?}");
        // A hash too few.
        let short = ConsistencyProof::new(6, good.hashes()[1..].to_vec()).unwrap();
        let error = witness
            .observe(LOG, &log.bytes_at(13), &short, NOW)
            .unwrap_err();
        assert!(matches!(error, WitnessError::InvalidProof(_)), "{error:?}");
        // Hashes where none may be: from the same size.
        let error = witness
            .observe(
                LOG,
                &log.bytes_at(6),
                &ConsistencyProof::new(6, vec![Hash([1; 32])]).unwrap(),
                NOW,
            )
            .unwrap_err();
        assert!(matches!(error, WitnessError::InvalidProof(_)), "{error:?}");
        assert_eq!(latest(&witness), (6, log.root_at(6)));
        assert!(!witness.state(LOG).unwrap().is_flagged());
        // The right proof still works.
        witness.observe(LOG, &log.bytes_at(13), &good, NOW).unwrap();
        assert_eq!(latest(&witness), (13, log.root_at(13)));
    }

    #[test]
    fn proof_from_another_size_is_a_conflict() {
        let mut log = TestLog::new(LOG, 1);
        log.grow(13, 0);
        let mut witness = witness_at(&log, 6);
        let error = witness
            .observe(LOG, &log.bytes_at(13), &log.proof(5, 13), NOW)
            .unwrap_err();
        assert_eq!(
            error,
            WitnessError::Conflict {
                old_size: 5,
                latest_size: 6
            }
        );
    }

    #[test]
    fn cosignature_time_is_bounded() {
        let log = TestLog::new(LOG, 1);
        let mut witness = witness(&[&log]);
        for now_secs in [0, 1 << 63] {
            let error = witness
                .observe(LOG, &log.bytes_at(0), &ConsistencyProof::empty(0), now_secs)
                .unwrap_err();
            assert_eq!(error, WitnessError::InvalidTime { now_secs });
        }
    }

    #[test]
    fn same_size_different_root_is_a_split_view() {
        let mut log = TestLog::new(LOG, 1);
        log.grow(3, 0);
        let mut fork = log.fork(3);
        log.grow(4, 1);
        fork.grow(4, 2);
        let mut witness = witness_at(&log, 7);
        let outcome = witness
            .observe(LOG, &fork.bytes_at(7), &ConsistencyProof::empty(7), NOW)
            .unwrap();
        let Outcome::SplitView { state, evidence } = &outcome else {
            panic!("expected a split view, got {outcome:?}");
        };
        assert!(state.is_flagged());
        assert_eq!(outcome.gossip(), Some(Message::SplitView(evidence.clone())));
        let conviction = evidence.verify(&log.verifier()).unwrap();
        assert_eq!(conviction.kind, ConvictionKind::SameSize);
        // The latest checkpoint is kept; the log is refused from now on.
        assert_eq!(latest(&witness), (7, log.root_at(7)));
        let error = witness
            .observe(LOG, &log.bytes_at(7), &ConsistencyProof::empty(7), NOW)
            .unwrap_err();
        assert!(matches!(error, WitnessError::Flagged { .. }), "{error:?}");
    }

    #[test]
    fn failed_consistency_that_pins_another_prefix_is_a_split_view() {
        let mut log = TestLog::new(LOG, 1);
        log.grow(3, 0);
        let mut fork = log.fork(3);
        log.grow(3, 1);
        fork.grow(10, 2);
        // The witness is at size 6 of one history; the other history's own proof from 6 to 13
        // verifies against its root but computes another root for size 6.
        let mut witness = witness_at(&log, 6);
        let outcome = witness
            .observe(LOG, &fork.bytes_at(13), &fork.proof(6, 13), NOW)
            .unwrap();
        let Outcome::SplitView { evidence, .. } = &outcome else {
            panic!("expected a split view, got {outcome:?}");
        };
        assert_eq!(evidence.prefix_root(), &fork.root_at(6));
        let conviction = evidence.verify(&log.verifier()).unwrap();
        assert_eq!(conviction.kind, ConvictionKind::Inconsistent);
        assert_eq!(conviction.first.size(), 6);
        assert_eq!(conviction.second.size(), 13);
        assert!(witness.state(LOG).unwrap().is_flagged());
    }

    #[test]
    fn failed_consistency_from_a_power_of_two_needs_a_mirror() {
        let mut log = TestLog::new(LOG, 1);
        log.grow(2, 0);
        let mut fork = log.fork(2);
        log.grow(2, 1);
        fork.grow(9, 2);
        // From size 4 the proof omits the old root, so it cannot pin another one: the witness
        // refuses the checkpoint but cannot convict the log from the proof alone.
        let mut witness = witness_at(&log, 4);
        let error = witness
            .observe(LOG, &fork.bytes_at(11), &fork.proof(4, 11), NOW)
            .unwrap_err();
        assert!(matches!(error, WitnessError::InvalidProof(_)), "{error:?}");
        assert!(!witness.state(LOG).unwrap().is_flagged());
        // A mirror of the other history knows its root at 4 and builds the evidence.
        let evidence = SplitView::inconsistent(
            &log.verifier(),
            &log.note_at(4),
            &fork.note_at(11),
            fork.root_at(4),
            fork.proof(4, 11).hashes().to_vec(),
        )
        .unwrap();
        let outcome = witness.accept_evidence(&evidence).unwrap();
        assert!(
            matches!(outcome, EvidenceOutcome::Flagged { .. }),
            "{outcome:?}"
        );
        assert!(outcome.persist().unwrap().is_flagged());
        assert_eq!(outcome.gossip(), Some(Message::SplitView(evidence)));
    }

    #[test]
    fn evidence_is_verified_before_it_is_accepted() {
        let mut log = TestLog::new(LOG, 1);
        log.grow(3, 0);
        let mut fork = log.fork(3);
        log.grow(2, 1);
        fork.grow(2, 2);
        let mut witness = witness_at(&log, 5);
        // Evidence of two notes by another key under the same name convicts nobody here.
        let mut impostor = TestLog::new(LOG, 9);
        impostor.grow(5, 0);
        let mut impostor_fork = impostor.fork(3);
        impostor_fork.grow(2, 2);
        let forged = SplitView::same_size(
            &impostor.verifier(),
            &impostor.note_at(5),
            &impostor_fork.note_at(5),
        )
        .unwrap();
        let error = witness.accept_evidence(&forged).unwrap_err();
        assert!(matches!(error, WitnessError::Evidence(_)), "{error:?}");
        assert!(!witness.state(LOG).unwrap().is_flagged());
        // Evidence about a log not followed here.
        let other = TestLog::new("log.example/b", 2);
        let mut other_fork = TestLog::new("log.example/b", 2);
        other_fork.grow(1, 0);
        let mut other_grown = TestLog::new("log.example/b", 2);
        other_grown.grow(1, 1);
        let unknown =
            SplitView::same_size(&other.verifier(), &other_fork.note(), &other_grown.note())
                .unwrap();
        let error = witness.accept_evidence(&unknown).unwrap_err();
        assert!(
            matches!(error, WitnessError::UnknownLog { .. }),
            "{error:?}"
        );
        // Real evidence flags the log, once.
        let real = SplitView::same_size(&log.verifier(), &log.note(), &fork.note()).unwrap();
        assert!(matches!(
            witness.accept_evidence(&real),
            Ok(EvidenceOutcome::Flagged { .. })
        ));
        assert!(matches!(
            witness.accept_evidence(&real),
            Ok(EvidenceOutcome::AlreadyFlagged)
        ));
    }

    #[test]
    fn flagged_log_is_never_cosigned_again() {
        let mut log = TestLog::new(LOG, 1);
        log.grow(3, 0);
        let mut fork = log.fork(3);
        log.grow(2, 1);
        fork.grow(2, 2);
        let mut witness = witness_at(&log, 3);
        let evidence = SplitView::same_size(&log.verifier(), &log.note(), &fork.note()).unwrap();
        witness.accept_evidence(&evidence).unwrap();
        log.grow(10, 1);
        for (size, proof) in [(3, ConsistencyProof::empty(3)), (15, log.proof(3, 15))] {
            let error = witness
                .observe(LOG, &log.bytes_at(size), &proof, NOW)
                .unwrap_err();
            assert!(matches!(error, WitnessError::Flagged { .. }), "{error:?}");
        }
        // Also after a restart.
        let states: Vec<LogState> = witness.states().cloned().collect();
        let mut restored =
            Witness::restore(cosigner("witness.example/w1"), [log.verifier()], states).unwrap();
        let error = restored
            .observe(LOG, &log.bytes_at(15), &log.proof(3, 15), NOW)
            .unwrap_err();
        assert!(matches!(error, WitnessError::Flagged { .. }), "{error:?}");
    }

    #[test]
    fn state_survives_encoding_and_restore() {
        let mut log = TestLog::new(LOG, 1);
        log.grow(3, 0);
        let mut fork = log.fork(3);
        log.grow(2, 1);
        fork.grow(2, 2);
        let other = TestLog::new("log.example/b", 2);
        let mut witness = witness(&[&log, &other]);
        witness
            .observe(LOG, &log.bytes_at(5), &log.proof(0, 5), NOW)
            .unwrap();
        witness
            .observe(LOG, &fork.bytes_at(5), &ConsistencyProof::empty(5), NOW)
            .unwrap();
        let stored: Vec<Vec<u8>> = witness.states().map(LogState::encode).collect();
        let decoded: Vec<LogState> = stored
            .iter()
            .map(|bytes| LogState::decode(bytes).unwrap())
            .collect();
        assert_eq!(
            decoded.iter().collect::<Vec<_>>(),
            witness.states().collect::<Vec<_>>()
        );
        let logs = [log.verifier(), other.verifier()];
        let restored = Witness::restore(
            cosigner("witness.example/w1"),
            logs.clone(),
            decoded.clone(),
        )
        .unwrap();
        assert_eq!(
            restored.states().collect::<Vec<_>>(),
            witness.states().collect::<Vec<_>>()
        );

        // Checked again on the way in: another witness key, another log key, unknown or
        // repeated logs.
        let error = Witness::restore(
            cosigner("witness.example/w2"),
            logs.clone(),
            decoded.clone(),
        )
        .unwrap_err();
        assert!(
            matches!(error, RestoreError::MissingCosignature { .. }),
            "{error:?}"
        );
        let error = Witness::restore(
            cosigner("witness.example/w1"),
            [TestLog::new(LOG, 7).verifier(), other.verifier()],
            decoded.clone(),
        )
        .unwrap_err();
        assert!(
            matches!(error, RestoreError::LogKeyChanged { .. }),
            "{error:?}"
        );
        let error = Witness::restore(
            cosigner("witness.example/w1"),
            [other.verifier()],
            decoded.clone(),
        )
        .unwrap_err();
        assert!(
            matches!(error, RestoreError::UnknownLog { .. }),
            "{error:?}"
        );
        let twice = [decoded[0].clone(), decoded[0].clone()];
        let error = Witness::restore(cosigner("witness.example/w1"), logs, twice).unwrap_err();
        assert!(
            matches!(error, RestoreError::DuplicateState { .. }),
            "{error:?}"
        );
    }

    #[test]
    fn configuration_is_checked() {
        let log = TestLog::new(LOG, 1);
        let error = Witness::new(cosigner("w"), [log.verifier(), log.verifier()]).unwrap_err();
        assert!(matches!(error, ConfigError::DuplicateLog { .. }));
        let many = (0..=LOGS_MAX).map(|i| TestLog::new(&format!("log.example/{i}"), 1).verifier());
        let error = Witness::new(cosigner("w"), many).unwrap_err();
        assert_eq!(error, ConfigError::TooManyLogs { max: LOGS_MAX });
    }

    #[test]
    fn add_checkpoint_requests_are_observed() {
        let mut log = TestLog::new(LOG, 1);
        log.grow(7, 0);
        let mut witness = witness_at(&log, 2);
        let request = AddCheckpoint::new(log.proof(2, 7), log.note_at(7)).unwrap();
        let request = AddCheckpoint::parse(&request.to_bytes()).unwrap();
        let outcome = witness.add_checkpoint(&request, NOW).unwrap();
        assert!(matches!(outcome, Outcome::Advanced { .. }), "{outcome:?}");
    }
}
