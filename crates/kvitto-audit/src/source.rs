//! What the audit reads: one [`LogSource`] per log, described by a [`LogInput`].
//!
//! The node implements [`LogSource`] over a read-only store; [`MemoryLog`] holds a log in
//! memory for tests and tools.

use std::collections::{BTreeMap, HashMap};

use kvitto_core::keys::KeyId;
use kvitto_core::reading::SignedReading;
use kvitto_tlog::note::Ed25519Verifier;
use serde::Serialize;

/// A log's storage could not be read: the audit cannot go on with it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct SourceError(pub String);

/// The signed notes a node keeps about a log besides its checkpoint history.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoredNote {
    /// The latest checkpoint the node holds (for a mirror, the latest it fully verified), if
    /// it is kept apart from the history.
    Latest,
    /// The latest checkpoint with the cosignatures the node collected for it.
    Cosigned,
    /// The latest checkpoint witnessed under the network's policy.
    Witnessed,
}

/// Read access to one stored log.
pub trait LogSource {
    /// The number of entries held.
    fn size(&self) -> Result<u64, SourceError>;
    /// `count` entries from index `start`, encoded; all must exist.
    fn entries(&self, start: u64, count: usize) -> Result<Vec<Vec<u8>>, SourceError>;
    /// The signed readings of `key_id` with counters `first..=last`, or `None` if the store
    /// lacks any of them.
    fn readings(
        &self,
        key_id: &KeyId,
        first: u64,
        last: u64,
    ) -> Result<Option<Vec<SignedReading>>, SourceError>;
    /// Every stored signed checkpoint note, by tree size.
    fn checkpoints(&self) -> Result<Vec<(u64, Vec<u8>)>, SourceError>;
    fn note(&self, which: StoredNote) -> Result<Option<Vec<u8>>, SourceError>;
}

/// Whose log it is, from the auditing node's point of view.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LogKind {
    /// The auditing node's own log.
    Own,
    /// Another member's log, mirrored.
    Mirror,
}

/// One log to audit: who it belongs to, the key its checkpoints must verify under, and its
/// storage.
pub struct LogInput<'a> {
    /// The checkpoint origin line, `kvitto/<network>/<log id>`.
    pub origin: String,
    /// The operator's OCPI party id, e.g. `SE*KVT`.
    pub operator: String,
    pub kind: LogKind,
    /// The log's checkpoint key from the membership (its name is the origin).
    pub log_key: Ed25519Verifier,
    pub source: &'a dyn LogSource,
}

impl std::fmt::Debug for LogInput<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LogInput")
            .field("origin", &self.origin)
            .field("operator", &self.operator)
            .field("kind", &self.kind)
            .finish_non_exhaustive()
    }
}

/// A log held in memory: entries, the readings they bind, checkpoints and notes.
#[derive(Debug, Clone, Default)]
pub struct MemoryLog {
    pub entries: Vec<Vec<u8>>,
    pub readings: HashMap<(KeyId, u64), SignedReading>,
    pub checkpoints: BTreeMap<u64, Vec<u8>>,
    pub latest: Option<Vec<u8>>,
    pub cosigned: Option<Vec<u8>>,
    pub witnessed: Option<Vec<u8>>,
}

impl LogSource for MemoryLog {
    fn size(&self) -> Result<u64, SourceError> {
        Ok(self.entries.len() as u64)
    }

    fn entries(&self, start: u64, count: usize) -> Result<Vec<Vec<u8>>, SourceError> {
        let missing = || SourceError(format!("entries {start}..+{count} are missing"));
        let start = usize::try_from(start).map_err(|_| missing())?;
        self.entries
            .get(start..start.saturating_add(count))
            .map(<[Vec<u8>]>::to_vec)
            .ok_or_else(missing)
    }

    fn readings(
        &self,
        key_id: &KeyId,
        first: u64,
        last: u64,
    ) -> Result<Option<Vec<SignedReading>>, SourceError> {
        Ok((first..=last)
            .map(|counter| self.readings.get(&(*key_id, counter)).cloned())
            .collect())
    }

    fn checkpoints(&self) -> Result<Vec<(u64, Vec<u8>)>, SourceError> {
        Ok(self
            .checkpoints
            .iter()
            .map(|(size, note)| (*size, note.clone()))
            .collect())
    }

    fn note(&self, which: StoredNote) -> Result<Option<Vec<u8>>, SourceError> {
        Ok(match which {
            StoredNote::Latest => self.latest.clone(),
            StoredNote::Cosigned => self.cosigned.clone(),
            StoredNote::Witnessed => self.witnessed.clone(),
        })
    }
}
