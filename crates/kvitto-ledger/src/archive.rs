//! [`MemoryArchive`]: a [`ReadingArchive`] held in memory, for replays that keep no store (the
//! regulator's audit, the catch-up benchmark) and for tests.

use std::collections::{HashMap, HashSet};

use kvitto_core::keys::{KeyId, SessionId};
use kvitto_core::reading::{ReadingKind, SignedReading};

use crate::{Effects, ReadingArchive, RecordLookup};

/// What a ledger accepted so far, staged the way `LogStore::stage` stages it: readings by
/// (key id, counter), started sessions, and where each closed session's record is.
#[derive(Debug, Default, Clone)]
pub struct MemoryArchive {
    readings: HashMap<(KeyId, u64), SignedReading>,
    sessions: HashSet<SessionId>,
    records: HashMap<SessionId, u64>,
}

impl MemoryArchive {
    /// Stages what the ledger accepted.
    pub fn add(&mut self, effects: &Effects) {
        for r in &effects.readings {
            self.readings
                .insert((r.reading.key_id, r.reading.counter), r.clone());
            if r.reading.kind == ReadingKind::Start {
                self.sessions.insert(r.reading.session);
            }
        }
        self.records.extend(effects.closed_sessions.iter().copied());
    }

    /// Every reading staged so far, in no particular order.
    pub fn readings(&self) -> impl Iterator<Item = &SignedReading> {
        self.readings.values()
    }

    /// Readings staged so far.
    pub fn len(&self) -> usize {
        self.readings.len()
    }

    pub fn is_empty(&self) -> bool {
        self.readings.is_empty()
    }
}

impl ReadingArchive for MemoryArchive {
    fn reading(&self, key_id: &KeyId, counter: u64) -> Option<SignedReading> {
        self.readings.get(&(*key_id, counter)).cloned()
    }

    fn session_exists(&self, session: &SessionId) -> bool {
        self.sessions.contains(session)
    }

    fn session_record(&self, session: &SessionId) -> RecordLookup {
        match self.records.get(session) {
            Some(&index) => RecordLookup::At(index),
            None => RecordLookup::NotClosed,
        }
    }
}
