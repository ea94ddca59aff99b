//! The fetch protocol: what one member asks another over request-response.
//!
//! ```text
//! request  = version (u8, 1) || kind (u8) || origin (text) || fields
//!   kind 1 Checkpoint                          -> checkpoint
//!   kind 2 Entries     start u64, count u32     -> entries
//!   kind 3 Consistency first u64, second u64    -> proof
//!   kind 4 Tile        path (text)              -> tile
//!   kind 5 Evidence    session [16], case_ref (text) -> evidence
//! response = version (u8, 1) || kind (u8) || fields
//!   kind 0 Error       code (text), message (text)
//!   kind 1 Checkpoint  option tag, note (blob)
//!   kind 2 Entries     start u64, n u32, n × (entry blob, m u32, m × signed reading (170 bytes))
//!   kind 3 Proof       n u8, n × 32-byte hash
//!   kind 4 Tile        bytes (blob)
//!   kind 5 Evidence    index u64, evidence key [32], sealed bundle (blob)
//! ```
//!
//! Any member may ask for any log the responder serves (its own and its mirrors): the logs are
//! public; the readings beside session records are operator data that members need to verify
//! each other's logs, and they carry no personal data (`specs/privacy.md`). Responses only cover
//! what the responder's latest checkpoint of that log covers.
//!
//! `Evidence` is different: it asks the operator of a log for one session's sealed evidence
//! bundle and its key. Only a member whose role is `regulator` (every answer is recorded on the
//! operator's log as an `evidence_disclosed` entry) or the eMSP whose token authorised the session
//! gets an answer; everyone else gets `not_authorised`.

use kvitto_core::codec::{DecodeError, Reader, Writer};
use kvitto_core::limits::{ENTRY_LEN_MAX, READINGS_PER_SESSION_MAX, TEXT_LEN_MAX};
use kvitto_core::reading::{SignedReading, SIGNED_LEN};
use kvitto_tlog::Hash;

use crate::limits::{
    ENTRIES_PER_REQUEST_MAX, NOTE_LEN_MAX, PROOF_HASHES_MAX, SEALED_EVIDENCE_LEN_MAX, TILE_LEN_MAX,
};

const VERSION: u8 = 1;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    /// The responder's latest checkpoint of the log.
    Checkpoint { origin: String },
    /// Up to `count` entries from `start`, each with the signed readings a session record binds.
    Entries {
        origin: String,
        start: u64,
        count: u32,
    },
    /// A consistency proof between two sizes of the log.
    Consistency {
        origin: String,
        first: u64,
        second: u64,
    },
    /// A tlog-tiles tile or entry bundle, by its path (`tile/0/001`, `tile/entries/000.p/5`).
    Tile { origin: String, path: String },
    /// One session's sealed evidence bundle and its key, from the log's operator.
    Evidence {
        origin: String,
        session: [u8; 16],
        case_ref: String,
    },
}

/// One log entry as served: its bytes and, for a session record, the session's readings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServedEntry {
    pub entry: Vec<u8>,
    pub readings: Vec<SignedReading>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Response {
    Error {
        code: String,
        message: String,
    },
    Checkpoint(Option<Vec<u8>>),
    Entries {
        start: u64,
        entries: Vec<ServedEntry>,
    },
    Proof(Vec<Hash>),
    Tile(Vec<u8>),
    Evidence {
        index: u64,
        key: [u8; 32],
        sealed: Vec<u8>,
    },
}

impl Request {
    pub fn origin(&self) -> &str {
        match self {
            Request::Checkpoint { origin }
            | Request::Entries { origin, .. }
            | Request::Consistency { origin, .. }
            | Request::Tile { origin, .. }
            | Request::Evidence { origin, .. } => origin,
        }
    }

    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::new();
        w.u8(VERSION);
        match self {
            Request::Checkpoint { origin } => {
                w.u8(1).text(origin);
            }
            Request::Entries {
                origin,
                start,
                count,
            } => {
                w.u8(2).text(origin).u64(*start).u32(*count);
            }
            Request::Consistency {
                origin,
                first,
                second,
            } => {
                w.u8(3).text(origin).u64(*first).u64(*second);
            }
            Request::Tile { origin, path } => {
                w.u8(4).text(origin).text(path);
            }
            Request::Evidence {
                origin,
                session,
                case_ref,
            } => {
                w.u8(5).text(origin).fixed(session).text(case_ref);
            }
        }
        w.finish()
    }

    pub fn decode(bytes: &[u8]) -> Result<Request, DecodeError> {
        let mut r = Reader::new(bytes);
        version(&mut r)?;
        let kind = r.u8("request kind")?;
        let origin = r.text("origin", TEXT_LEN_MAX)?;
        let request = match kind {
            1 => Request::Checkpoint { origin },
            2 => {
                let start = r.u64("start")?;
                let count = r.u32("count")?;
                if count == 0 || count as usize > ENTRIES_PER_REQUEST_MAX {
                    return Err(DecodeError::invalid(
                        "count",
                        format!("must be 1 to {ENTRIES_PER_REQUEST_MAX}"),
                    ));
                }
                Request::Entries {
                    origin,
                    start,
                    count,
                }
            }
            3 => Request::Consistency {
                origin,
                first: r.u64("first")?,
                second: r.u64("second")?,
            },
            4 => Request::Tile {
                origin,
                path: r.text("path", TEXT_LEN_MAX)?,
            },
            5 => Request::Evidence {
                origin,
                session: r.array("session")?,
                case_ref: r.text("case_ref", kvitto_core::limits::CASE_REF_LEN_MAX)?,
            },
            other => {
                return Err(DecodeError::invalid(
                    "request kind",
                    format!("unknown kind {other}"),
                ))
            }
        };
        r.finish()?;
        Ok(request)
    }
}

impl Response {
    pub fn error(code: &str, message: impl Into<String>) -> Response {
        Response::Error {
            code: code.to_owned(),
            message: message.into(),
        }
    }

    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::new();
        w.u8(VERSION);
        match self {
            Response::Error { code, message } => {
                w.u8(0).text(code).text(truncate(message, TEXT_LEN_MAX));
            }
            Response::Checkpoint(note) => {
                w.u8(1);
                match note {
                    None => w.u8(0),
                    Some(note) => w.u8(1).blob(note),
                };
            }
            Response::Entries { start, entries } => {
                w.u8(2).u64(*start).u32(entries.len() as u32);
                for served in entries {
                    w.blob(&served.entry).u32(served.readings.len() as u32);
                    for reading in &served.readings {
                        w.fixed(&reading.encode());
                    }
                }
            }
            Response::Proof(hashes) => {
                w.u8(3).u8(hashes.len() as u8);
                for hash in hashes {
                    w.fixed(&hash.0);
                }
            }
            Response::Tile(bytes) => {
                w.u8(4).blob(bytes);
            }
            Response::Evidence { index, key, sealed } => {
                w.u8(5).u64(*index).fixed(key).blob(sealed);
            }
        }
        w.finish()
    }

    pub fn decode(bytes: &[u8]) -> Result<Response, DecodeError> {
        let mut r = Reader::new(bytes);
        version(&mut r)?;
        let response = match r.u8("response kind")? {
            0 => Response::Error {
                code: r.text("code", TEXT_LEN_MAX)?,
                message: r.text("message", TEXT_LEN_MAX)?,
            },
            1 => Response::Checkpoint(match r.option_tag("note")? {
                false => None,
                true => Some(r.blob("note", NOTE_LEN_MAX)?),
            }),
            2 => {
                let start = r.u64("start")?;
                let n = r.u32("entry count")? as usize;
                if n > ENTRIES_PER_REQUEST_MAX {
                    return Err(DecodeError::invalid("entry count", "too many entries"));
                }
                let mut entries = Vec::with_capacity(n);
                for _ in 0..n {
                    let entry = r.blob("entry", ENTRY_LEN_MAX)?;
                    let m = r.u32("reading count")?;
                    if m > READINGS_PER_SESSION_MAX {
                        return Err(DecodeError::invalid("reading count", "too many readings"));
                    }
                    let mut readings = Vec::with_capacity(m as usize);
                    for _ in 0..m {
                        readings.push(SignedReading::decode(r.take("reading", SIGNED_LEN)?)?);
                    }
                    entries.push(ServedEntry { entry, readings });
                }
                Response::Entries { start, entries }
            }
            3 => {
                let n = r.u8("proof length")? as usize;
                if n > PROOF_HASHES_MAX {
                    return Err(DecodeError::invalid("proof length", "too many hashes"));
                }
                let mut hashes = Vec::with_capacity(n);
                for _ in 0..n {
                    hashes.push(Hash(r.array("hash")?));
                }
                Response::Proof(hashes)
            }
            4 => Response::Tile(r.blob("tile", TILE_LEN_MAX)?),
            5 => Response::Evidence {
                index: r.u64("index")?,
                key: r.array("evidence key")?,
                sealed: r.blob("sealed evidence", SEALED_EVIDENCE_LEN_MAX)?,
            },
            other => {
                return Err(DecodeError::invalid(
                    "response kind",
                    format!("unknown kind {other}"),
                ))
            }
        };
        r.finish()?;
        Ok(response)
    }
}

fn version(r: &mut Reader<'_>) -> Result<(), DecodeError> {
    match r.u8("version")? {
        VERSION => Ok(()),
        other => Err(DecodeError::invalid(
            "version",
            format!("unknown version {other}"),
        )),
    }
}

fn truncate(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_round_trip_and_reject_trailing_bytes() {
        let requests = [
            Request::Checkpoint {
                origin: "kvitto/t/a".into(),
            },
            Request::Entries {
                origin: "kvitto/t/a".into(),
                start: 7,
                count: 256,
            },
            Request::Consistency {
                origin: "kvitto/t/a".into(),
                first: 3,
                second: 9,
            },
            Request::Tile {
                origin: "kvitto/t/a".into(),
                path: "tile/0/000.p/9".into(),
            },
            Request::Evidence {
                origin: "kvitto/t/a".into(),
                session: [7; 16],
                case_ref: "case 17".into(),
            },
        ];
        for request in requests {
            let bytes = request.encode();
            assert_eq!(Request::decode(&bytes).unwrap(), request);
            let mut longer = bytes.clone();
            longer.push(0);
            assert!(Request::decode(&longer).is_err());
            for cut in 0..bytes.len() {
                assert!(Request::decode(&bytes[..cut]).is_err(), "cut at {cut}");
            }
        }
    }

    #[test]
    fn entry_requests_are_bounded() {
        let too_many = Request::Entries {
            origin: "o".into(),
            start: 0,
            count: ENTRIES_PER_REQUEST_MAX as u32 + 1,
        };
        assert!(Request::decode(&too_many.encode()).is_err());
        let none = Request::Entries {
            origin: "o".into(),
            start: 0,
            count: 0,
        };
        assert!(Request::decode(&none.encode()).is_err());
    }

    #[test]
    fn responses_round_trip() {
        let responses = [
            Response::error("unknown_log", "no such log"),
            Response::Checkpoint(None),
            Response::Checkpoint(Some(b"note".to_vec())),
            Response::Entries {
                start: 4,
                entries: vec![ServedEntry {
                    entry: vec![1, 2, 3],
                    readings: Vec::new(),
                }],
            },
            Response::Proof(vec![Hash([7; 32]), Hash([8; 32])]),
            Response::Tile(vec![9; 64]),
            Response::Evidence {
                index: 12,
                key: [3; 32],
                sealed: vec![4; 100],
            },
        ];
        for response in responses {
            let bytes = response.encode();
            assert_eq!(Response::decode(&bytes).unwrap(), response);
            for cut in 0..bytes.len() {
                assert!(Response::decode(&bytes[..cut]).is_err(), "cut at {cut}");
            }
        }
    }
}
