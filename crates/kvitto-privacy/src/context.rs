//! The session context: the public inputs that name one session record on one log.

use merlin::Transcript;

use crate::error::PrivacyError;
use crate::limits;

/// Which session, on which log. Every proof, derived key and bundle of a session is bound to it,
/// so none of them can be moved to another session or another log.
///
/// The entry index is deliberately absent: the session record carries the proofs, so the proofs
/// exist before the sequencer assigns the record its index. `(origin, session_id)` names exactly
/// one record all the same, because a log accepts at most one `session_closed` per session id
/// (`specs/entries.md`). The charger key id is bound as well, so a proof also names the charger.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SessionContext {
    origin: String,
    key_id: [u8; 16],
    session_id: [u8; 16],
}

impl SessionContext {
    /// `origin` is the log's checkpoint origin line, `key_id` the charger's key id and
    /// `session_id` the session id, exactly as in the session record.
    pub fn new(origin: &str, key_id: [u8; 16], session_id: [u8; 16]) -> Result<Self, PrivacyError> {
        if origin.is_empty() {
            return Err(PrivacyError::InvalidContext("empty origin"));
        }
        if origin.len() > limits::ORIGIN_LEN_MAX {
            return Err(PrivacyError::TooLong {
                what: "origin",
                len: origin.len(),
                max: limits::ORIGIN_LEN_MAX,
            });
        }
        if origin.contains('\n') {
            return Err(PrivacyError::InvalidContext("origin contains a newline"));
        }
        Ok(Self {
            origin: origin.to_owned(),
            key_id,
            session_id,
        })
    }

    pub fn origin(&self) -> &str {
        &self.origin
    }

    pub fn key_id(&self) -> [u8; 16] {
        self.key_id
    }

    pub fn session_id(&self) -> [u8; 16] {
        self.session_id
    }

    /// `u16 len(origin) ‖ origin ‖ key_id[16] ‖ session_id[16]`, the input of every key derivation
    /// and the tail of the evidence AAD.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(2 + self.origin.len() + 32);
        // The constructor bounds the origin by ORIGIN_LEN_MAX, which fits a u16.
        let len = u16::try_from(self.origin.len()).unwrap_or(u16::MAX);
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(self.origin.as_bytes());
        out.extend_from_slice(&self.key_id);
        out.extend_from_slice(&self.session_id);
        out
    }

    /// Appends the context to a transcript as three labelled messages: `origin`, `key-id`,
    /// `session`. merlin length-prefixes every message, so the fields cannot run into each other.
    pub(crate) fn append_to(&self, transcript: &mut Transcript) {
        transcript.append_message(b"origin", self.origin.as_bytes());
        transcript.append_message(b"key-id", &self.key_id);
        transcript.append_message(b"session", &self.session_id);
    }
}

/// Appends a caller-chosen byte string under `label`, refusing it when it is longer than `max`.
pub(crate) fn append_bounded(
    transcript: &mut Transcript,
    label: &'static [u8],
    what: &'static str,
    bytes: &[u8],
    max: usize,
) -> Result<(), PrivacyError> {
    if bytes.len() > max {
        return Err(PrivacyError::TooLong {
            what,
            len: bytes.len(),
            max,
        });
    }
    transcript.append_message(label, bytes);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoding_is_length_prefixed() {
        let ctx = SessionContext::new("kvitto/n/se-kvt", [1; 16], [2; 16]).unwrap();
        let enc = ctx.encode();
        assert_eq!(&enc[..2], &[0, 15]);
        assert_eq!(&enc[2..17], b"kvitto/n/se-kvt");
        assert_eq!(&enc[17..33], &[1; 16]);
        assert_eq!(&enc[33..], &[2; 16]);
    }

    #[test]
    fn bad_origins_are_refused() {
        assert_eq!(
            SessionContext::new("", [0; 16], [0; 16]),
            Err(PrivacyError::InvalidContext("empty origin"))
        );
        assert!(SessionContext::new("a\nb", [0; 16], [0; 16]).is_err());
        let long = "x".repeat(limits::ORIGIN_LEN_MAX + 1);
        assert!(matches!(
            SessionContext::new(&long, [0; 16], [0; 16]),
            Err(PrivacyError::TooLong { .. })
        ));
    }
}
