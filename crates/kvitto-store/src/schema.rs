//! Key layouts of every column family, and the schema version.
//!
//! | cf | key | value |
//! |---|---|---|
//! | meta | `schema_version` | u32 BE |
//! | meta | `size` | u64 BE, the number of durable entries |
//! | meta | `checkpoint` | the latest signed checkpoint note |
//! | meta | `tariff/` u64 BE | empty: the index of a tariff entry |
//! | meta | `witness/` origin | the witness's state of another member's log (own store only) |
//! | meta | `cosigned` | the latest checkpoint with the cosignatures collected for it |
//! | meta | `witnessed` | the latest checkpoint witnessed under the network's policy |
//! | meta | `own_split_view` | evidence that this node's own log showed a split view |
//! | meta | `clone_checks` | a mirror's clone evidence still waiting for its cited session |
//! | entries | u64 BE index | encoded entry |
//! | nodes | u8 level, u64 BE index | 32-byte hash |
//! | leaves | 32-byte leaf hash | u64 BE index |
//! | readings | 16-byte key id, u64 BE counter | signed reading |
//! | chargers | 16-byte key id | charger state (`encode_charger`) |
//! | sessions | 16-byte session id | u64 BE record index (`u64::MAX` while open), 16-byte key id |
//! | checkpoints | u64 BE size | signed checkpoint note |
//! | people, evidence, retained | see `kvitto_service::custody` | personal data in custody, sealed bundles, amount openings |

use kvitto_core::codec::{DecodeError, Reader, Writer};
use kvitto_core::entry::Entry;
use kvitto_core::keys::{KeyId, SessionId};
use kvitto_ledger::{ChargerState, LastReading};
use kvitto_tlog::NodeId;

/// The schema this build writes. Bump it with a migration in `LogStore::open`.
pub const SCHEMA_VERSION: u32 = 1;

pub const META_SCHEMA_VERSION: &[u8] = b"schema_version";
pub const META_SIZE: &[u8] = b"size";
pub const META_CHECKPOINT: &[u8] = b"checkpoint";
pub const META_TARIFF_PREFIX: &[u8] = b"tariff/";
pub const META_WITNESS_PREFIX: &[u8] = b"witness/";
pub const META_COSIGNED: &[u8] = b"cosigned";
pub const META_WITNESSED: &[u8] = b"witnessed";
pub const META_CLONE_CHECKS: &[u8] = b"clone_checks";
pub const META_OWN_SPLIT_VIEW: &[u8] = b"own_split_view";
/// Marks a session that has started but not closed.
pub const SESSION_OPEN: u64 = u64::MAX;

pub fn index_key(index: u64) -> Vec<u8> {
    index.to_be_bytes().to_vec()
}

pub fn node_key(id: NodeId) -> Vec<u8> {
    let mut key = Vec::with_capacity(9);
    key.push(id.level);
    key.extend_from_slice(&id.index.to_be_bytes());
    key
}

pub fn reading_key(key_id: &KeyId, counter: u64) -> Vec<u8> {
    let mut key = Vec::with_capacity(24);
    key.extend_from_slice(&key_id.0);
    key.extend_from_slice(&counter.to_be_bytes());
    key
}

pub fn session_key(session: &SessionId) -> Vec<u8> {
    session.0.to_vec()
}

pub fn session_value(index: u64, key_id: &KeyId) -> Vec<u8> {
    let mut value = index.to_be_bytes().to_vec();
    value.extend_from_slice(&key_id.0);
    value
}

pub fn decode_session_value(bytes: &[u8]) -> Option<(u64, KeyId)> {
    if bytes.len() != 24 {
        return None;
    }
    Some((decode_u64(&bytes[..8])?, KeyId(bytes[8..].try_into().ok()?)))
}

pub fn tariff_key(index: u64) -> Vec<u8> {
    let mut key = META_TARIFF_PREFIX.to_vec();
    key.extend_from_slice(&index.to_be_bytes());
    key
}

pub fn decode_u64(bytes: &[u8]) -> Option<u64> {
    Some(u64::from_be_bytes(bytes.try_into().ok()?))
}

/// The big-endian u64 at the start of `bytes`.
pub fn decode_u64_prefix(bytes: &[u8]) -> Option<u64> {
    decode_u64(bytes.get(..8)?)
}

/// A charger's state without the readings of its open session, which live in `readings`.
pub fn encode_charger(state: &ChargerState) -> Vec<u8> {
    let mut w = Writer::new();
    w.blob(&Entry::ChargerRegistered(state.registration.clone()).encode());
    w.u64(state.registered_at_index);
    match state.revoked_from_ms {
        None => w.u8(0),
        Some(t) => w.u8(1).u64(t),
    };
    match &state.last {
        None => w.u8(0),
        Some(l) => w
            .u8(1)
            .u64(l.counter)
            .fixed(&l.hash)
            .u64(l.timestamp_ms)
            .u64(l.register_wh),
    };
    match &state.open {
        None => w.u8(0),
        Some(open) => {
            let first = open.readings.first().map_or(0, |r| r.reading.counter);
            w.u8(1).fixed(&open.session.0).u64(first)
        }
    };
    w.u32(state.clone_evidence_counters.len() as u32);
    for c in &state.clone_evidence_counters {
        w.u64(*c);
    }
    w.finish()
}

/// What `encode_charger` stored; the open session's readings are loaded separately.
pub struct StoredCharger {
    pub state: ChargerState,
    pub open: Option<(SessionId, u64)>,
}

pub fn decode_charger(bytes: &[u8]) -> Result<StoredCharger, DecodeError> {
    let mut r = Reader::new(bytes);
    let registration =
        match Entry::decode(&r.blob("registration", kvitto_core::limits::ENTRY_LEN_MAX)?) {
            Ok(Entry::ChargerRegistered(reg)) => reg,
            _ => {
                return Err(DecodeError::invalid(
                    "registration",
                    "not a charger registration",
                ))
            }
        };
    let mut state = ChargerState::new(registration, r.u64("registered_at_index")?);
    if r.option_tag("revoked")? {
        state.revoked_from_ms = Some(r.u64("revoked_from_ms")?);
    }
    if r.option_tag("last")? {
        state.last = Some(LastReading {
            counter: r.u64("counter")?,
            hash: r.array("hash")?,
            timestamp_ms: r.u64("timestamp_ms")?,
            register_wh: r.u64("register_wh")?,
        });
    }
    let open = match r.option_tag("open")? {
        false => None,
        true => Some((SessionId(r.array("session")?), r.u64("first_counter")?)),
    };
    let n = r.u32("clone evidence count")?;
    for _ in 0..n {
        state
            .clone_evidence_counters
            .push(r.u64("clone evidence counter")?);
    }
    r.finish()?;
    Ok(StoredCharger { state, open })
}
