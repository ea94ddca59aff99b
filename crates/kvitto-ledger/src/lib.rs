//! The operator log's pure logic: which readings are accepted, and what that changes.
//!
//! [`Ledger`] holds the charger registry and every charger's ingest state (last counter, chain
//! hash, register, open session). It is driven by explicit inputs, takes the time as an argument
//! and returns [`Effects`]: the readings, charger states and log entries to write. It never writes
//! anything itself; the node puts the effects of many requests into one durable batch.
//!
//! A batch of readings is all-or-nothing: [`Ledger::ingest`] works on an overlay of the charger
//! states it touches and only folds it back when every reading passed, so a rejected batch leaves
//! no trace (except [`kvitto_core::entry::CloneEvidence`], which is kept on purpose).
//!
//! [`Ledger::replay_batch`] is the same logic run by a node that mirrors another operator's log:
//! it re-derives every entry from its inputs (the registry fields, or a session's signed
//! readings) and requires the result to be byte-identical to the logged entry. A session record's
//! privacy extension cannot be re-derived (it needs the primary's randomness and secrets), so it
//! is verified instead: its range proof must hold in the session's context on this log.
//!
//! Not here: storage, the Merkle tree, HTTP, clocks, signatures of the log itself.

mod archive;
mod ingest;
pub mod pricing;
pub mod registry;
mod replay;
pub mod settlement;

pub use archive::MemoryArchive;
pub use ingest::{
    ChargerState, Effects, IngestConfig, LastReading, OpenSession, ReadingArchive, RecordLookup,
    RejectCode, Rejection, VerifiedReading,
};
pub use registry::{PublishedTariff, RegistryError, TariffIndex};
pub use replay::{PendingCloneCheck, ReplayError, ReplayErrorKind, ReplayItem};

use std::collections::HashMap;

use kvitto_core::{KeyId, NetworkId};

/// The ledger state of one operator's log.
#[derive(Debug, Clone)]
pub struct Ledger {
    network: NetworkId,
    /// The log's checkpoint origin line (`kvitto/<network>/<log id>`). Session records' proofs
    /// are bound to it.
    origin: String,
    config: IngestConfig,
    chargers: HashMap<KeyId, ChargerState>,
    tariffs: TariffIndex,
    /// Log size: the index the next appended entry gets.
    size: u64,
    /// Replay only: clone evidence whose first reading lies beyond the last replayed session.
    pending_clone_checks: Vec<PendingCloneCheck>,
}

impl Ledger {
    /// An empty ledger for the log whose checkpoint origin line is `origin`.
    pub fn new(network: NetworkId, origin: impl Into<String>, config: IngestConfig) -> Self {
        Ledger {
            network,
            origin: origin.into(),
            config,
            chargers: HashMap::new(),
            tariffs: TariffIndex::default(),
            size: 0,
            pending_clone_checks: Vec::new(),
        }
    }

    /// Rebuilds a ledger from stored state (the node calls this at startup).
    pub fn restore(
        network: NetworkId,
        origin: impl Into<String>,
        config: IngestConfig,
        chargers: impl IntoIterator<Item = ChargerState>,
        tariffs: TariffIndex,
        size: u64,
    ) -> Self {
        let chargers = chargers.into_iter().map(|c| (c.key_id(), c)).collect();
        Ledger {
            network,
            origin: origin.into(),
            config,
            chargers,
            tariffs,
            size,
            pending_clone_checks: Vec::new(),
        }
    }

    pub fn network(&self) -> NetworkId {
        self.network
    }

    /// The log's checkpoint origin line.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    pub fn size(&self) -> u64 {
        self.size
    }

    pub fn charger(&self, key_id: &KeyId) -> Option<&ChargerState> {
        self.chargers.get(key_id)
    }

    pub fn chargers(&self) -> impl Iterator<Item = &ChargerState> {
        self.chargers.values()
    }

    pub fn tariffs(&self) -> &TariffIndex {
        &self.tariffs
    }
}

#[cfg(test)]
mod replay_tests;
#[cfg(test)]
mod tests;
