//! What witnesses and logs send each other: a closed set of messages with one encoding.
//!
//! ```text
//! message = tag (u8) || u32 length || body
//! tag 1  Checkpoint     body = signed note (log signature, then any cosignatures)
//! tag 2  AddCheckpoint  body = C2SP tlog-witness add-checkpoint request body
//! tag 3  SplitView      body = evidence encoding
//! ```
//!
//! A whole message is at most [`MESSAGE_SIZE_MAX`] bytes, and each body has its own limit.
//! Decoding checks the syntax only; signatures are verified by the [`crate::Witness`].

use kvitto_tlog::note::Note;

use crate::codec::{DecodeError, Reader, Writer};
use crate::evidence::SplitView;
use crate::limits::{ADD_CHECKPOINT_SIZE_MAX, EVIDENCE_SIZE_MAX, MESSAGE_SIZE_MAX, NOTE_SIZE_MAX};
use crate::request::AddCheckpoint;

const TAG_CHECKPOINT: u8 = 1;
const TAG_ADD_CHECKPOINT: u8 = 2;
const TAG_SPLIT_VIEW: u8 = 3;

/// A witness-protocol message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Message {
    /// A checkpoint signed by its log, possibly cosigned: a new tree head from the log, a
    /// witness's fresh cosignature, or a node's latest view of the log.
    Checkpoint(Note),
    /// A request for a cosignature, with a consistency proof from the witness's latest size.
    AddCheckpoint(AddCheckpoint),
    /// Evidence that a log showed a split view.
    SplitView(SplitView),
}

/// A message whose encoding would exceed its limit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{what} of {size} bytes is larger than {max} bytes")]
pub struct TooLarge {
    pub what: &'static str,
    pub size: usize,
    pub max: usize,
}

impl Message {
    pub fn encode(&self) -> Result<Vec<u8>, TooLarge> {
        let (tag, body, what, max) = match self {
            Message::Checkpoint(note) => (
                TAG_CHECKPOINT,
                note.to_string().into_bytes(),
                "checkpoint note",
                NOTE_SIZE_MAX,
            ),
            Message::AddCheckpoint(request) => (
                TAG_ADD_CHECKPOINT,
                request.to_bytes(),
                "add-checkpoint request",
                ADD_CHECKPOINT_SIZE_MAX,
            ),
            Message::SplitView(evidence) => (
                TAG_SPLIT_VIEW,
                evidence.encode(),
                "evidence",
                EVIDENCE_SIZE_MAX,
            ),
        };
        if body.len() > max {
            return Err(TooLarge {
                what,
                size: body.len(),
                max,
            });
        }
        let mut writer = Writer::new();
        writer.u8(tag).blob(&body);
        Ok(writer.finish())
    }

    pub fn decode(bytes: &[u8]) -> Result<Message, DecodeError> {
        let mut reader = Reader::new(bytes, MESSAGE_SIZE_MAX)?;
        let message = Message::read(&mut reader)?;
        reader.finish()?;
        Ok(message)
    }

    pub(crate) fn read(reader: &mut Reader<'_>) -> Result<Message, DecodeError> {
        let message = match reader.u8("message tag")? {
            TAG_CHECKPOINT => {
                let body = reader.blob("checkpoint note", NOTE_SIZE_MAX)?;
                let note = Note::parse(body)
                    .map_err(|error| DecodeError::invalid("checkpoint note", error.to_string()))?;
                Message::Checkpoint(note)
            }
            TAG_ADD_CHECKPOINT => {
                let body = reader.blob("add-checkpoint request", ADD_CHECKPOINT_SIZE_MAX)?;
                let request = AddCheckpoint::parse(body).map_err(|error| {
                    DecodeError::invalid("add-checkpoint request", error.to_string())
                })?;
                Message::AddCheckpoint(request)
            }
            TAG_SPLIT_VIEW => {
                let body = reader.blob("evidence", EVIDENCE_SIZE_MAX)?;
                Message::SplitView(SplitView::decode(body)?)
            }
            tag => {
                return Err(DecodeError::invalid(
                    "message tag",
                    format!("unknown tag {tag}"),
                ))
            }
        };
        Ok(message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::TestLog;

    #[test]
    fn every_variant_round_trips() {
        let mut log = TestLog::new("log.example/a", 1);
        log.grow(3, 0);
        let mut fork = log.fork(2);
        log.grow(2, 1);
        fork.grow(3, 2);
        let evidence = SplitView::same_size(&log.verifier(), &log.note(), &fork.note()).unwrap();
        let request = AddCheckpoint::new(log.proof(3, 5), log.note()).unwrap();
        for message in [
            Message::Checkpoint(log.note()),
            Message::AddCheckpoint(request),
            Message::SplitView(evidence),
        ] {
            let bytes = message.encode().unwrap();
            assert_eq!(Message::decode(&bytes).unwrap(), message);
            assert!(Message::decode(&bytes[..bytes.len() - 1]).is_err());
        }
    }

    #[test]
    fn unknown_tags_and_oversized_messages_are_rejected() {
        let log = TestLog::new("log.example/a", 1);
        let mut bytes = Message::Checkpoint(log.note()).encode().unwrap();
        bytes[0] = 9;
        assert!(matches!(
            Message::decode(&bytes),
            Err(DecodeError::Invalid {
                field: "message tag",
                ..
            })
        ));
        assert!(matches!(
            Message::decode(&vec![1; MESSAGE_SIZE_MAX + 1]),
            Err(DecodeError::TooLarge { .. })
        ));
        let text = format!(
            "log.example/a\n0\n{}\n{}\n",
            kvitto_tlog::merkle::EMPTY_ROOT.to_base64(),
            "x".repeat(NOTE_SIZE_MAX)
        );
        let mut note = Note::new(text).unwrap();
        note.sign(&log.signer).unwrap();
        assert!(matches!(
            Message::Checkpoint(note).encode(),
            Err(TooLarge {
                max: NOTE_SIZE_MAX,
                ..
            })
        ));
    }
}
