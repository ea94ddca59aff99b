//! Split-view evidence: two checkpoints signed by one log that cannot both be true.
//!
//! A [`SplitView`] holds two notes, each the checkpoint text with exactly one signature line,
//! the log's, and proof material that shows the second tree does not extend the first:
//!
//! - **Same size.** Both checkpoints have size `n` and different roots. A tree has one root per
//!   size, so the log signed two trees. `prefix_root` is the second root and the proof is empty.
//! - **Different sizes.** The first checkpoint has size `m`, the second size `n > m`, and
//!   `0 < m`. `prefix_root` is a root `X != root1` and `proof` is an RFC 6962 consistency proof
//!   from `(m, X)` to `(n, root2)` that verifies. Under SHA-256 collision resistance the proof
//!   pins `X` as the root of the first `m` leaves of the second tree; an append-only log would
//!   have signed `X` at size `m`, but it signed `root1`. Anyone holding the second tree (the log
//!   itself, or a mirror of it) can produce the proof; a proof that merely fails to verify
//!   convicts nobody, since whoever relayed it may have made it up.
//!
//! Evidence is canonical: the smaller checkpoint comes first, and for equal sizes the smaller
//! root (as bytes) comes first, so two witnesses that catch the same pair produce the same
//! bytes. [`SplitView::verify`] needs nothing but the evidence and the log's verifier key.

use std::fmt;

use kvitto_tlog::checkpoint::{Checkpoint, CheckpointError};
use kvitto_tlog::merkle::{verify_consistency, ProofError};
use kvitto_tlog::note::{Ed25519Verifier, Note, NoteError, Verifier};
use kvitto_tlog::Hash;

use crate::codec::{DecodeError, Reader, Writer};
use crate::limits::{EVIDENCE_SIZE_MAX, LOG_NOTE_SIZE_MAX, PROOF_HASHES_MAX};

/// Version byte of the evidence encoding.
const EVIDENCE_VERSION: u8 = 1;

/// Evidence that a log signed two checkpoints that cannot both be true. Construct it with
/// [`SplitView::same_size`] or [`SplitView::inconsistent`], which verify it, or decode it and
/// then [`SplitView::verify`] it.
#[derive(Clone, PartialEq, Eq)]
pub struct SplitView {
    origin: String,
    first_note: Note,
    second_note: Note,
    prefix_root: Hash,
    proof: Vec<Hash>,
}

/// What a verified [`SplitView`] proves.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Conviction {
    pub first: Checkpoint,
    pub second: Checkpoint,
    pub kind: ConvictionKind,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConvictionKind {
    /// Two roots for one size.
    SameSize,
    /// The second tree's prefix of the first size has a root other than the first checkpoint's.
    Inconsistent,
}

/// Why evidence does not convict its log.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum EvidenceError {
    #[error("evidence is for log {found:?}, not {expected:?}")]
    WrongLog { found: String, expected: String },
    #[error("{which} note is not a checkpoint signed by the log")]
    InvalidNote {
        which: &'static str,
        #[source]
        source: CheckpointError,
    },
    #[error("{which} note has no signature by the log")]
    NotSignedByLog { which: &'static str },
    #[error("{which} note of {size} bytes is larger than {max} bytes")]
    NoteTooLarge {
        which: &'static str,
        size: usize,
        max: usize,
    },
    #[error("evidence is not canonical: {reason}")]
    NotCanonical { reason: &'static str },
    #[error("the two checkpoints are consistent")]
    Consistent,
    #[error("proof of the prefix root does not verify")]
    Proof(#[source] ProofError),
    #[error("proof has {count} hashes, more than {max}")]
    ProofTooLong { count: usize, max: usize },
}

impl SplitView {
    /// Evidence from two notes of checkpoints of the same size with different roots, in either
    /// order. Signature lines other than the log's are dropped.
    pub fn same_size(
        log: &Ed25519Verifier,
        a: &Note,
        b: &Note,
    ) -> Result<SplitView, EvidenceError> {
        let (a, b) = (log_signed(log, a, "first")?, log_signed(log, b, "second")?);
        let (checkpoint_a, checkpoint_b) = (open(log, &a, "first")?, open(log, &b, "second")?);
        let (first_note, second_note, root) = match checkpoint_a.root() < checkpoint_b.root() {
            true => (a, b, *checkpoint_b.root()),
            false => (b, a, *checkpoint_a.root()),
        };
        let evidence = SplitView {
            origin: log.name().to_owned(),
            first_note,
            second_note,
            prefix_root: root,
            proof: Vec::new(),
        };
        evidence.verify(log)?;
        Ok(evidence)
    }

    /// Evidence from a `smaller` and a `larger` checkpoint note, the root `prefix_root` of the
    /// larger tree at the smaller size, and a consistency proof from `(smaller size,
    /// prefix_root)` to the larger checkpoint. Signature lines other than the log's are dropped.
    pub fn inconsistent(
        log: &Ed25519Verifier,
        smaller: &Note,
        larger: &Note,
        prefix_root: Hash,
        proof: Vec<Hash>,
    ) -> Result<SplitView, EvidenceError> {
        let evidence = SplitView {
            origin: log.name().to_owned(),
            first_note: log_signed(log, smaller, "first")?,
            second_note: log_signed(log, larger, "second")?,
            prefix_root,
            proof,
        };
        evidence.verify(log)?;
        Ok(evidence)
    }

    /// Evidence assembled without any check: for the simulation's forger, which must be
    /// refused by every witness.
    pub(crate) fn unchecked(
        origin: String,
        first_note: Note,
        second_note: Note,
        prefix_root: Hash,
        proof: Vec<Hash>,
    ) -> SplitView {
        SplitView {
            origin,
            first_note,
            second_note,
            prefix_root,
            proof,
        }
    }

    /// Checks that the evidence convicts `log`: both notes are canonical checkpoints signed by it
    /// for its origin, and the proof material shows they cannot both be true.
    pub fn verify(&self, log: &Ed25519Verifier) -> Result<Conviction, EvidenceError> {
        if self.origin != log.name() {
            return Err(EvidenceError::WrongLog {
                found: self.origin.clone(),
                expected: log.name().to_owned(),
            });
        }
        let first = open(log, &self.first_note, "first")?;
        let second = open(log, &self.second_note, "second")?;
        if self.first_note.signatures().len() != 1 || self.second_note.signatures().len() != 1 {
            return Err(EvidenceError::NotCanonical {
                reason: "a note carries signatures other than the log's",
            });
        }
        if self.proof.len() > PROOF_HASHES_MAX {
            return Err(EvidenceError::ProofTooLong {
                count: self.proof.len(),
                max: PROOF_HASHES_MAX,
            });
        }
        let (size1, size2) = (first.size(), second.size());
        let kind = if size1 == size2 {
            if first.root() == second.root() {
                return Err(EvidenceError::Consistent);
            }
            if first.root() > second.root() {
                return Err(EvidenceError::NotCanonical {
                    reason: "the smaller root must come first",
                });
            }
            if self.prefix_root != *second.root() || !self.proof.is_empty() {
                return Err(EvidenceError::NotCanonical {
                    reason: "same-size evidence carries the second root and no proof",
                });
            }
            ConvictionKind::SameSize
        } else {
            if size1 > size2 {
                return Err(EvidenceError::NotCanonical {
                    reason: "the smaller checkpoint must come first",
                });
            }
            // The empty tree is a prefix of every tree, and its root is fixed.
            if size1 == 0 || self.prefix_root == *first.root() {
                return Err(EvidenceError::Consistent);
            }
            verify_consistency(size1, size2, &self.prefix_root, second.root(), &self.proof)
                .map_err(EvidenceError::Proof)?;
            ConvictionKind::Inconsistent
        };
        Ok(Conviction {
            first,
            second,
            kind,
        })
    }

    /// The log's origin.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// The smaller checkpoint, with the log's signature only.
    pub fn first_note(&self) -> &Note {
        &self.first_note
    }

    /// The larger checkpoint, with the log's signature only.
    pub fn second_note(&self) -> &Note {
        &self.second_note
    }

    /// The second tree's root at the first checkpoint's size.
    pub fn prefix_root(&self) -> &Hash {
        &self.prefix_root
    }

    /// The consistency proof from the first size and [`SplitView::prefix_root`] to the second
    /// checkpoint; empty for same-size evidence.
    pub fn proof(&self) -> &[Hash] {
        &self.proof
    }

    /// The canonical encoding (see `specs/witness.md`).
    pub fn encode(&self) -> Vec<u8> {
        let mut writer = Writer::new();
        writer
            .u8(EVIDENCE_VERSION)
            .text(&self.origin)
            .blob(self.first_note.to_string().as_bytes())
            .blob(self.second_note.to_string().as_bytes())
            .fixed(self.prefix_root.as_bytes())
            .hashes_u8(&self.proof);
        writer.finish()
    }

    /// Decodes the syntax only: the notes are parsed but not verified; call
    /// [`SplitView::verify`] before acting on the evidence.
    pub fn decode(bytes: &[u8]) -> Result<SplitView, DecodeError> {
        let mut reader = Reader::new(bytes, EVIDENCE_SIZE_MAX)?;
        let evidence = SplitView::read(&mut reader)?;
        reader.finish()?;
        Ok(evidence)
    }

    pub(crate) fn read(reader: &mut Reader<'_>) -> Result<SplitView, DecodeError> {
        let version = reader.u8("evidence version")?;
        if version != EVIDENCE_VERSION {
            return Err(DecodeError::invalid(
                "evidence version",
                format!("{version}, expected {EVIDENCE_VERSION}"),
            ));
        }
        let origin = reader.text("origin", kvitto_tlog::limits::KEY_NAME_SIZE_MAX)?;
        let first_note = read_note(reader, "first note")?;
        let second_note = read_note(reader, "second note")?;
        let prefix_root = reader.hash("prefix root")?;
        let proof = reader.hashes_u8("proof", PROOF_HASHES_MAX)?;
        Ok(SplitView {
            origin,
            first_note,
            second_note,
            prefix_root,
            proof,
        })
    }
}

impl fmt::Debug for SplitView {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SplitView")
            .field("origin", &self.origin)
            .field("first_note", &self.first_note.text())
            .field("second_note", &self.second_note.text())
            .field("prefix_root", &self.prefix_root)
            .field("proof_len", &self.proof.len())
            .finish()
    }
}

fn read_note(reader: &mut Reader<'_>, field: &'static str) -> Result<Note, DecodeError> {
    let bytes = reader.blob(field, LOG_NOTE_SIZE_MAX)?;
    let note =
        Note::parse(bytes).map_err(|error| DecodeError::invalid(field, error.to_string()))?;
    // `Note::parse` accepts exactly what `Display` writes, so this only guards that promise.
    if note.to_string().as_bytes() != bytes {
        return Err(DecodeError::invalid(field, "not in canonical form"));
    }
    Ok(note)
}

/// The note's text with only the log's signature line (the first one by the log's key).
fn log_signed(
    log: &Ed25519Verifier,
    note: &Note,
    which: &'static str,
) -> Result<Note, EvidenceError> {
    let signature = note
        .signatures()
        .iter()
        .find(|signature| signature.is_by(log))
        .ok_or(EvidenceError::NotSignedByLog { which })?;
    let invalid = |error: NoteError| EvidenceError::InvalidNote {
        which,
        source: CheckpointError::Note(error),
    };
    let mut stripped = Note::new(note.text()).map_err(invalid)?;
    stripped
        .push_signature(signature.clone())
        .map_err(invalid)?;
    Ok(stripped)
}

/// Opens a note as a checkpoint signed by `log`, within the size limit.
fn open(
    log: &Ed25519Verifier,
    note: &Note,
    which: &'static str,
) -> Result<Checkpoint, EvidenceError> {
    let bytes = note.to_string();
    if bytes.len() > LOG_NOTE_SIZE_MAX {
        return Err(EvidenceError::NoteTooLarge {
            which,
            size: bytes.len(),
            max: LOG_NOTE_SIZE_MAX,
        });
    }
    Checkpoint::open(bytes.as_bytes(), log)
        .map(|signed| signed.checkpoint)
        .map_err(|source| EvidenceError::InvalidNote { which, source })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::TestLog;

    const LOG: &str = "log.example/a";

    /// A log and a fork of it that share the first 3 entries, each grown to `size`.
    fn forked(size: u64) -> (TestLog, TestLog) {
        let mut log = TestLog::new(LOG, 1);
        log.grow(3, 0);
        let mut fork = log.fork(3);
        log.grow(size - 3, 1);
        fork.grow(size - 3, 2);
        (log, fork)
    }

    fn inconsistent(log: &TestLog, fork: &TestLog, m: u64, n: u64) -> SplitView {
        SplitView::inconsistent(
            &log.verifier(),
            &log.note_at(m),
            &fork.note_at(n),
            fork.root_at(m),
            fork.proof(m, n).hashes().to_vec(),
        )
        .unwrap()
    }

    /// Re-encodes evidence after `change` without checking it.
    fn tampered(evidence: &SplitView, change: impl FnOnce(&mut SplitView)) -> SplitView {
        let mut copy = evidence.clone();
        change(&mut copy);
        copy
    }

    #[test]
    fn same_size_evidence_is_canonical_in_either_order() {
        let (log, fork) = forked(6);
        let a = SplitView::same_size(&log.verifier(), &log.note(), &fork.note()).unwrap();
        let b = SplitView::same_size(&log.verifier(), &fork.note(), &log.note()).unwrap();
        assert_eq!(a.encode(), b.encode());
        assert!(a.first_note().text() != a.second_note().text());
        let conviction = a.verify(&log.verifier()).unwrap();
        assert_eq!(conviction.kind, ConvictionKind::SameSize);
        assert!(conviction.first.root() < conviction.second.root());
        // Swapped, it is no longer canonical.
        let swapped = tampered(&a, |e| {
            std::mem::swap(&mut e.first_note, &mut e.second_note);
            e.prefix_root = *conviction.first.root();
        });
        assert!(matches!(
            swapped.verify(&log.verifier()),
            Err(EvidenceError::NotCanonical { .. })
        ));
    }

    #[test]
    fn inconsistent_evidence_verifies_for_every_pair_of_sizes() {
        let (log, fork) = forked(20);
        for m in 4..=20 {
            for n in m + 1..=20 {
                let evidence = inconsistent(&log, &fork, m, n);
                let conviction = evidence.verify(&log.verifier()).unwrap();
                assert_eq!(conviction.kind, ConvictionKind::Inconsistent);
                assert_eq!(SplitView::decode(&evidence.encode()).unwrap(), evidence);
            }
        }
    }

    #[test]
    fn consistent_checkpoints_convict_nobody() {
        let (log, fork) = forked(9);
        // Both in one history: the prefix root is the first root.
        let error = SplitView::inconsistent(
            &log.verifier(),
            &log.note_at(5),
            &log.note_at(9),
            log.root_at(5),
            log.proof(5, 9).hashes().to_vec(),
        )
        .unwrap_err();
        assert_eq!(error, EvidenceError::Consistent);
        // Within the shared prefix the fork is consistent too.
        let error =
            SplitView::same_size(&log.verifier(), &log.note_at(3), &fork.note_at(3)).unwrap_err();
        assert_eq!(error, EvidenceError::Consistent);
        // The empty tree is a prefix of every tree.
        let error = SplitView::inconsistent(
            &log.verifier(),
            &log.note_at(0),
            &fork.note_at(9),
            fork.root_at(1),
            Vec::new(),
        )
        .unwrap_err();
        assert_eq!(error, EvidenceError::Consistent);
    }

    #[test]
    fn tampered_evidence_is_rejected() {
        let (log, fork) = forked(13);
        let evidence = inconsistent(&log, &fork, 6, 13);
        let verifier = log.verifier();
        let check = |evidence: SplitView, expected: fn(&EvidenceError) -> bool| {
            let error = evidence.verify(&verifier).unwrap_err();
            assert!(expected(&error), "{error:?}");
        };
        // A made-up prefix root: the proof no longer verifies.
        check(
            tampered(&evidence, |e| e.prefix_root = Hash([9; 32])),
            |e| matches!(e, EvidenceError::Proof(_)),
        );
        // A proof hash changed.
        check(tampered(&evidence, |e| e.proof[0] = Hash([9; 32])), |e| {
            matches!(e, EvidenceError::Proof(_))
        });
        // Larger first.
        check(
            tampered(&evidence, |e| {
                std::mem::swap(&mut e.first_note, &mut e.second_note)
            }),
            |e| matches!(e, EvidenceError::NotCanonical { .. }),
        );
        // Another log's name.
        check(
            tampered(&evidence, |e| e.origin = "log.example/b".into()),
            |e| matches!(e, EvidenceError::WrongLog { .. }),
        );
        // A cosignature left on a note.
        check(
            tampered(&evidence, |e| {
                let extra = kvitto_tlog::note::Signature::new(
                    "w",
                    kvitto_tlog::note::KeyId(1),
                    vec![1; 72],
                )
                .unwrap();
                e.first_note.push_signature(extra).unwrap();
            }),
            |e| matches!(e, EvidenceError::NotCanonical { .. }),
        );
        // A note signed by another key with the log's name.
        let impostor = TestLog::new(LOG, 5).fork(0);
        let mut impostor = impostor;
        impostor.grow(6, 0);
        check(
            tampered(&evidence, |e| e.first_note = impostor.note_at(6)),
            |e| matches!(e, EvidenceError::InvalidNote { which: "first", .. }),
        );
        // Under another verifier the notes do not open.
        let other = TestLog::new(LOG, 6).verifier();
        assert!(matches!(
            evidence.verify(&other),
            Err(EvidenceError::InvalidNote { .. })
        ));
    }

    #[test]
    fn encoding_round_trips_and_rejects_garbage() {
        let (log, fork) = forked(6);
        let evidence = SplitView::same_size(&log.verifier(), &log.note(), &fork.note()).unwrap();
        let bytes = evidence.encode();
        assert_eq!(SplitView::decode(&bytes).unwrap(), evidence);
        assert_eq!(bytes[0], EVIDENCE_VERSION);
        let mut wrong_version = bytes.clone();
        wrong_version[0] = 2;
        assert!(SplitView::decode(&wrong_version).is_err());
        let mut trailing = bytes.clone();
        trailing.push(0);
        assert_eq!(
            SplitView::decode(&trailing),
            Err(DecodeError::TrailingBytes(1))
        );
        for len in 0..bytes.len() {
            assert!(SplitView::decode(&bytes[..len]).is_err());
        }
    }
}
