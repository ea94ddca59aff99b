//! What a witness is asked to cosign: a checkpoint note and a consistency proof from the latest
//! checkpoint the witness holds, in the C2SP tlog-witness `add-checkpoint` form.
//!
//! ```text
//! old <size>
//! <proof hash in base64>...
//!
//! <checkpoint note>
//! ```

use kvitto_tlog::note::{Note, NoteError};
use kvitto_tlog::Hash;

use crate::limits::{ADD_CHECKPOINT_SIZE_MAX, NOTE_SIZE_MAX, PROOF_HASHES_MAX};

/// A consistency proof from the tree of `old_size` leaves to the tree of a checkpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConsistencyProof {
    old_size: u64,
    hashes: Vec<Hash>,
}

/// A proof longer than [`PROOF_HASHES_MAX`] hashes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("consistency proof has {count} hashes, more than {max}")]
pub struct ProofTooLong {
    pub count: usize,
    pub max: usize,
}

impl ConsistencyProof {
    pub fn new(old_size: u64, hashes: Vec<Hash>) -> Result<ConsistencyProof, ProofTooLong> {
        if hashes.len() > PROOF_HASHES_MAX {
            return Err(ProofTooLong {
                count: hashes.len(),
                max: PROOF_HASHES_MAX,
            });
        }
        Ok(ConsistencyProof { old_size, hashes })
    }

    /// The proof without hashes: from the empty tree, or to a checkpoint of `old_size` itself.
    pub fn empty(old_size: u64) -> ConsistencyProof {
        ConsistencyProof {
            old_size,
            hashes: Vec::new(),
        }
    }

    pub fn old_size(&self) -> u64 {
        self.old_size
    }

    pub fn hashes(&self) -> &[Hash] {
        &self.hashes
    }
}

/// Why an add-checkpoint body was rejected. Each maps to "400 Bad Request" in tlog-witness.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AddCheckpointError {
    #[error("request of {size} bytes is larger than {max} bytes")]
    TooLarge { size: usize, max: usize },
    #[error("request does not start with an old size line")]
    MalformedOldSize,
    #[error("proof line {line} is not the base64 of a 32-byte hash")]
    MalformedProofLine { line: usize },
    #[error("request has more than {max} proof lines")]
    TooManyProofLines { max: usize },
    #[error("request has no blank line before the checkpoint")]
    NoBlankLine,
    #[error("checkpoint note of {size} bytes is larger than {max} bytes")]
    NoteTooLarge { size: usize, max: usize },
    #[error("checkpoint note is malformed")]
    Note(#[from] NoteError),
}

/// A parsed add-checkpoint request: the proof and the (not yet verified) checkpoint note.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AddCheckpoint {
    proof: ConsistencyProof,
    note: Note,
}

impl AddCheckpoint {
    pub fn new(proof: ConsistencyProof, note: Note) -> Result<AddCheckpoint, AddCheckpointError> {
        let size = note.to_string().len();
        if size > NOTE_SIZE_MAX {
            return Err(AddCheckpointError::NoteTooLarge {
                size,
                max: NOTE_SIZE_MAX,
            });
        }
        Ok(AddCheckpoint { proof, note })
    }

    /// Parses a request body strictly: the exact bytes [`AddCheckpoint::to_bytes`] produces.
    pub fn parse(body: &[u8]) -> Result<AddCheckpoint, AddCheckpointError> {
        if body.len() > ADD_CHECKPOINT_SIZE_MAX {
            return Err(AddCheckpointError::TooLarge {
                size: body.len(),
                max: ADD_CHECKPOINT_SIZE_MAX,
            });
        }
        let (old, mut rest) = split_line(body).ok_or(AddCheckpointError::MalformedOldSize)?;
        let old_size = old
            .strip_prefix(b"old ")
            .and_then(parse_decimal)
            .ok_or(AddCheckpointError::MalformedOldSize)?;
        let mut hashes = Vec::new();
        loop {
            let (line, after) = split_line(rest).ok_or(AddCheckpointError::NoBlankLine)?;
            rest = after;
            if line.is_empty() {
                break;
            }
            if hashes.len() == PROOF_HASHES_MAX {
                return Err(AddCheckpointError::TooManyProofLines {
                    max: PROOF_HASHES_MAX,
                });
            }
            let number = hashes.len() + 1;
            let hash = std::str::from_utf8(line)
                .ok()
                .and_then(|line| Hash::from_base64(line).ok())
                .ok_or(AddCheckpointError::MalformedProofLine { line: number })?;
            hashes.push(hash);
        }
        if rest.len() > NOTE_SIZE_MAX {
            return Err(AddCheckpointError::NoteTooLarge {
                size: rest.len(),
                max: NOTE_SIZE_MAX,
            });
        }
        let note = Note::parse(rest)?;
        Ok(AddCheckpoint {
            proof: ConsistencyProof { old_size, hashes },
            note,
        })
    }

    pub fn proof(&self) -> &ConsistencyProof {
        &self.proof
    }

    pub fn note(&self) -> &Note {
        &self.note
    }

    /// The checkpoint's origin line, which names the log; `None` if the text has no first line.
    pub fn origin(&self) -> Option<&str> {
        self.note.text().split_once('\n').map(|(origin, _)| origin)
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        let mut body = format!("old {}\n", self.proof.old_size);
        for hash in &self.proof.hashes {
            body.push_str(&hash.to_base64());
            body.push('\n');
        }
        body.push('\n');
        body.push_str(&self.note.to_string());
        body.into_bytes()
    }
}

/// The bytes before the first newline and those after it.
fn split_line(bytes: &[u8]) -> Option<(&[u8], &[u8])> {
    let end = bytes.iter().position(|&b| b == b'\n')?;
    Some((&bytes[..end], &bytes[end + 1..]))
}

/// An ASCII decimal without leading zeroes (except `0` itself).
pub(crate) fn parse_decimal(text: &[u8]) -> Option<u64> {
    let is_canonical = match text {
        [] => false,
        [b'0'] => true,
        [b'0', ..] => false,
        _ => text.iter().all(u8::is_ascii_digit),
    };
    if !is_canonical {
        return None;
    }
    std::str::from_utf8(text).ok()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOTE: &str = "log.example/a\n5\n/hSlQm+9cMD6c/UjQq/tDaC9I8SDhmLM9riKMHDq2Xs=\n\n\u{2014} log.example/a AAAAAAAA\n";

    #[test]
    fn add_checkpoint_round_trips() {
        let body = format!(
            "old 3\n{}\n{}\n\n{NOTE}",
            Hash([1; 32]).to_base64(),
            Hash([2; 32]).to_base64()
        );
        let request = AddCheckpoint::parse(body.as_bytes()).unwrap();
        assert_eq!(request.proof().old_size(), 3);
        assert_eq!(request.proof().hashes(), [Hash([1; 32]), Hash([2; 32])]);
        assert_eq!(request.origin(), Some("log.example/a"));
        assert_eq!(request.to_bytes(), body.as_bytes());
    }

    #[test]
    fn add_checkpoint_rejections() {
        let check = |body: &str, expected: AddCheckpointError| {
            assert_eq!(
                AddCheckpoint::parse(body.as_bytes()),
                Err(expected),
                "{body:?}"
            );
        };
        check(
            &format!("old 03\n\n{NOTE}"),
            AddCheckpointError::MalformedOldSize,
        );
        check(
            &format!("new 3\n\n{NOTE}"),
            AddCheckpointError::MalformedOldSize,
        );
        check(
            &format!("old 3\nAAAA\n\n{NOTE}"),
            AddCheckpointError::MalformedProofLine { line: 1 },
        );
        check("old 3\n", AddCheckpointError::NoBlankLine);
        let many = format!(
            "old 3\n{}\n{NOTE}",
            format!("{}\n", Hash([0; 32]).to_base64()).repeat(64)
        );
        check(&many, AddCheckpointError::TooManyProofLines { max: 63 });
        assert!(matches!(
            AddCheckpoint::parse(b"old 0\n\nno signatures\n"),
            Err(AddCheckpointError::Note(_))
        ));
    }

    #[test]
    fn decimals_are_canonical() {
        assert_eq!(parse_decimal(b"0"), Some(0));
        assert_eq!(parse_decimal(b"18446744073709551615"), Some(u64::MAX));
        assert_eq!(parse_decimal(b"18446744073709551616"), None);
        assert_eq!(parse_decimal(b"01"), None);
        assert_eq!(parse_decimal(b""), None);
        assert_eq!(parse_decimal(b"+1"), None);
    }
}
