//! C2SP tlog-proof: an offline-verifiable proof that an entry is in a log, made of the entry's
//! index, its inclusion proof and a (cosigned) checkpoint.
//!
//! ```text
//! c2sp.org/tlog-proof@v1
//! [extra <base64 opaque data>]
//! index <decimal>
//! <base64 hash>...
//!
//! <checkpoint note>
//! ```

use std::fmt;

use crate::checkpoint::{Checkpoint, CheckpointError};
use crate::limits::{PROOF_HASHES_MAX, TLOG_PROOF_EXTRA_SIZE_MAX, TLOG_PROOF_SIZE_MAX};
use crate::merkle::{verify_inclusion, Hash, ProofError};
use crate::note::{Note, NoteError};
use crate::policy::{Policy, VerifyError, WitnessedCheckpoint};
use crate::text::{decode_base64, encode_base64, parse_decimal};

const HEADER: &str = "c2sp.org/tlog-proof@v1\n";

/// A parsed tlog-proof. Its checkpoint parses, but nothing is verified until
/// [`TlogProof::verify`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TlogProof {
    extra: Option<Vec<u8>>,
    index: u64,
    inclusion_proof: Vec<Hash>,
    checkpoint: Checkpoint,
    note: Note,
}

/// Why a tlog-proof was rejected.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TlogProofError {
    #[error("tlog-proof is larger than {max} bytes")]
    TooLarge { max: usize },
    #[error("tlog-proof is not valid utf-8")]
    NotUtf8,
    #[error("tlog-proof does not start with c2sp.org/tlog-proof@v1")]
    WrongHeader,
    #[error("tlog-proof extra data is not canonical base64 of at most {max} bytes")]
    InvalidExtra { max: usize },
    #[error("tlog-proof has no index line with a decimal index")]
    InvalidIndex,
    #[error("tlog-proof line {line} is not a base64 hash")]
    InvalidHash { line: usize },
    #[error("tlog-proof has more than {max} proof hashes")]
    TooManyHashes { max: usize },
    #[error("tlog-proof ends before the blank line and checkpoint")]
    Truncated,
    #[error("tlog-proof checkpoint note is invalid")]
    Note(#[from] NoteError),
    #[error("tlog-proof checkpoint is invalid")]
    Checkpoint(#[from] CheckpointError),
    #[error("tlog-proof checkpoint is not valid under the policy")]
    Policy(#[from] VerifyError),
    #[error("tlog-proof inclusion proof does not verify")]
    Inclusion(#[from] ProofError),
}

impl TlogProof {
    /// Assembles a proof; `checkpoint` must be a checkpoint note.
    pub fn new(
        extra: Option<Vec<u8>>,
        index: u64,
        inclusion_proof: Vec<Hash>,
        checkpoint: Note,
    ) -> Result<TlogProof, TlogProofError> {
        if extra
            .as_ref()
            .is_some_and(|extra| extra.len() > TLOG_PROOF_EXTRA_SIZE_MAX)
        {
            return Err(TlogProofError::InvalidExtra {
                max: TLOG_PROOF_EXTRA_SIZE_MAX,
            });
        }
        if inclusion_proof.len() > PROOF_HASHES_MAX {
            return Err(TlogProofError::TooManyHashes {
                max: PROOF_HASHES_MAX,
            });
        }
        if checkpoint.signatures().is_empty() {
            return Err(NoteError::NoSignatures.into());
        }
        let parsed = Checkpoint::parse(checkpoint.text())?;
        Ok(TlogProof {
            extra,
            index,
            inclusion_proof,
            checkpoint: parsed,
            note: checkpoint,
        })
    }

    /// Parses a proof strictly: the exact text [`TlogProof::to_text`] produces.
    pub fn parse(bytes: &[u8]) -> Result<TlogProof, TlogProofError> {
        if bytes.len() > TLOG_PROOF_SIZE_MAX {
            return Err(TlogProofError::TooLarge {
                max: TLOG_PROOF_SIZE_MAX,
            });
        }
        let text = std::str::from_utf8(bytes).map_err(|_| TlogProofError::NotUtf8)?;
        let rest = text
            .strip_prefix(HEADER)
            .ok_or(TlogProofError::WrongHeader)?;
        let (mut line, mut rest) = rest.split_once('\n').ok_or(TlogProofError::Truncated)?;
        let mut line_number = 2;
        let mut extra = None;
        if let Some(encoded) = line.strip_prefix("extra ") {
            let invalid = TlogProofError::InvalidExtra {
                max: TLOG_PROOF_EXTRA_SIZE_MAX,
            };
            extra = Some(decode_base64(encoded).ok_or(invalid)?);
            (line, rest) = rest.split_once('\n').ok_or(TlogProofError::Truncated)?;
            line_number += 1;
        }
        let index = line
            .strip_prefix("index ")
            .and_then(parse_decimal)
            .ok_or(TlogProofError::InvalidIndex)?;
        let mut inclusion_proof = Vec::new();
        loop {
            let (line, tail) = rest.split_once('\n').ok_or(TlogProofError::Truncated)?;
            rest = tail;
            line_number += 1;
            if line.is_empty() {
                break;
            }
            if inclusion_proof.len() == PROOF_HASHES_MAX {
                return Err(TlogProofError::TooManyHashes {
                    max: PROOF_HASHES_MAX,
                });
            }
            let hash = Hash::from_base64(line)
                .map_err(|_| TlogProofError::InvalidHash { line: line_number })?;
            inclusion_proof.push(hash);
        }
        TlogProof::new(extra, index, inclusion_proof, Note::parse(rest.as_bytes())?)
    }

    /// Opaque, unauthenticated extra data.
    pub fn extra(&self) -> Option<&[u8]> {
        self.extra.as_deref()
    }

    pub fn index(&self) -> u64 {
        self.index
    }

    pub fn inclusion_proof(&self) -> &[Hash] {
        &self.inclusion_proof
    }

    /// The checkpoint, not yet verified.
    pub fn checkpoint(&self) -> &Checkpoint {
        &self.checkpoint
    }

    pub fn note(&self) -> &Note {
        &self.note
    }

    /// The proof's text form.
    pub fn to_text(&self) -> String {
        let mut text = String::from(HEADER);
        if let Some(extra) = &self.extra {
            text.push_str(&format!("extra {}\n", encode_base64(extra)));
        }
        text.push_str(&format!("index {}\n", self.index));
        for hash in &self.inclusion_proof {
            text.push_str(&hash.to_base64());
            text.push('\n');
        }
        text.push('\n');
        text.push_str(&self.note.to_string());
        text
    }

    /// Verifies that `leaf_hash` is entry [`TlogProof::index`] of a checkpoint that `policy`
    /// accepts (signed by one of its logs and cosigned by a quorum of its witnesses).
    pub fn verify(
        &self,
        leaf_hash: &Hash,
        policy: &Policy,
    ) -> Result<WitnessedCheckpoint, TlogProofError> {
        let witnessed = policy.verify_note(self.note.clone())?;
        let checkpoint = &witnessed.checkpoint;
        verify_inclusion(
            self.index,
            checkpoint.size(),
            leaf_hash,
            &self.inclusion_proof,
            checkpoint.root(),
        )?;
        Ok(witnessed)
    }
}

impl fmt::Display for TlogProof {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_text())
    }
}
