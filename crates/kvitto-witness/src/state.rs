//! What a witness keeps per log, and its canonical encoding.
//!
//! One [`LogState`] per log is the unit of persistence: the node stores it under the log's
//! origin and replaces it atomically whenever an [`crate::Outcome`] carries a new one. Decoding
//! checks only the syntax; [`crate::Witness::restore`] verifies every signature and the evidence
//! again, so a state read back from disk is checked as strictly as one built from the network.

use kvitto_tlog::checkpoint::Checkpoint;
use kvitto_tlog::limits::KEY_NAME_SIZE_MAX;
use kvitto_tlog::note::Note;

use crate::codec::{DecodeError, Reader, Writer};
use crate::evidence::SplitView;
use crate::limits::{EVIDENCE_SIZE_MAX, STATE_SIZE_MAX, STORED_NOTE_SIZE_MAX};

/// Version byte of the state encoding.
const STATE_VERSION: u8 = 1;

/// A witness's record of one log: the latest checkpoint it verified and cosigned, and the
/// split-view evidence that made it stop, if any.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogState {
    origin: String,
    log_key: [u8; 32],
    latest: Option<Latest>,
    split_view: Option<SplitView>,
}

/// The latest checkpoint of a log that a witness verified and cosigned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Latest {
    checkpoint: Checkpoint,
    note: Note,
}

impl LogState {
    pub(crate) fn new(origin: &str, log_key: [u8; 32]) -> LogState {
        LogState {
            origin: origin.to_owned(),
            log_key,
            latest: None,
            split_view: None,
        }
    }

    pub(crate) fn with_latest(&self, latest: Latest) -> LogState {
        LogState {
            latest: Some(latest),
            ..self.clone()
        }
    }

    pub(crate) fn with_split_view(&self, split_view: SplitView) -> LogState {
        LogState {
            split_view: Some(split_view),
            ..self.clone()
        }
    }

    /// The log's origin, the key under which the state is stored.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// The Ed25519 public key of the log that the state was verified under.
    pub fn log_key(&self) -> &[u8; 32] {
        &self.log_key
    }

    /// The latest checkpoint verified and cosigned; `None` before the first one.
    pub fn latest(&self) -> Option<&Latest> {
        self.latest.as_ref()
    }

    /// The size of the latest checkpoint, 0 before the first one.
    pub fn latest_size(&self) -> u64 {
        self.latest
            .as_ref()
            .map_or(0, |latest| latest.checkpoint.size())
    }

    /// The evidence against the log, once it has been caught showing a split view.
    pub fn split_view(&self) -> Option<&SplitView> {
        self.split_view.as_ref()
    }

    /// Whether the log has been caught showing a split view; it is never cosigned again.
    pub fn is_flagged(&self) -> bool {
        self.split_view.is_some()
    }

    /// The canonical encoding (see `specs/witness.md`).
    pub fn encode(&self) -> Vec<u8> {
        let mut writer = Writer::new();
        writer
            .u8(STATE_VERSION)
            .text(&self.origin)
            .fixed(&self.log_key);
        match &self.latest {
            None => writer.u8(0),
            Some(latest) => writer.u8(1).blob(latest.note.to_string().as_bytes()),
        };
        match &self.split_view {
            None => writer.u8(0),
            Some(split_view) => writer.u8(1).blob(&split_view.encode()),
        };
        writer.finish()
    }

    /// Decodes the syntax: the latest note is parsed and its text must be a checkpoint of the
    /// state's origin, but no signature is verified.
    pub fn decode(bytes: &[u8]) -> Result<LogState, DecodeError> {
        let mut reader = Reader::new(bytes, STATE_SIZE_MAX)?;
        let version = reader.u8("state version")?;
        if version != STATE_VERSION {
            return Err(DecodeError::invalid(
                "state version",
                format!("{version}, expected {STATE_VERSION}"),
            ));
        }
        let origin = reader.text("origin", KEY_NAME_SIZE_MAX)?;
        let log_key = reader.array("log key")?;
        let latest = match reader.option_tag("latest")? {
            false => None,
            true => {
                let bytes = reader.blob("latest", STORED_NOTE_SIZE_MAX)?;
                let note = Note::parse(bytes)
                    .map_err(|error| DecodeError::invalid("latest", error.to_string()))?;
                let checkpoint = Checkpoint::parse(note.text())
                    .map_err(|error| DecodeError::invalid("latest", error.to_string()))?;
                if checkpoint.origin() != origin {
                    return Err(DecodeError::invalid("latest", "checkpoint of another log"));
                }
                Some(Latest { checkpoint, note })
            }
        };
        let split_view = match reader.option_tag("split view")? {
            false => None,
            true => Some(SplitView::decode(
                reader.blob("split view", EVIDENCE_SIZE_MAX)?,
            )?),
        };
        reader.finish()?;
        Ok(LogState {
            origin,
            log_key,
            latest,
            split_view,
        })
    }
}

impl Latest {
    /// Callers guarantee that `note`'s text is `checkpoint`'s.
    pub(crate) fn new(checkpoint: Checkpoint, note: Note) -> Latest {
        Latest { checkpoint, note }
    }

    pub fn checkpoint(&self) -> &Checkpoint {
        &self.checkpoint
    }

    /// The checkpoint note with the log's signature and the witness's cosignature: what the
    /// witness serves as its latest view of the log (tlog-witness "monitor retrieval").
    pub fn note(&self) -> &Note {
        &self.note
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_state_has_a_fixed_encoding() {
        let state = LogState::new("log.example/a", [7; 32]);
        let bytes = state.encode();
        let mut expected = vec![1, 0, 13];
        expected.extend_from_slice(b"log.example/a");
        expected.extend_from_slice(&[7; 32]);
        expected.extend_from_slice(&[0, 0]);
        assert_eq!(bytes, expected);
        assert_eq!(LogState::decode(&bytes).unwrap(), state);
    }

    #[test]
    fn decode_rejects_malformed_states() {
        let state = LogState::new("log.example/a", [7; 32]);
        let bytes = state.encode();
        for len in 0..bytes.len() {
            assert!(LogState::decode(&bytes[..len]).is_err());
        }
        let mut bad_tag = bytes.clone();
        let last = bad_tag.len() - 1;
        bad_tag[last] = 2;
        assert!(LogState::decode(&bad_tag).is_err());
        let mut bad_version = bytes;
        bad_version[0] = 0;
        assert!(LogState::decode(&bad_version).is_err());
    }
}
