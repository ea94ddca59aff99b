//! One pass over a log: entries read in chunks, replayed from index 0 with the ledger's replay,
//! the Merkle tree recomputed for the checkpoint checks, and session records summarised for the
//! cross-log check and the statistics.

use std::collections::{HashMap, HashSet};

use kvitto_core::entry::Entry;
use kvitto_core::keys::{KeyId, SessionId};
use kvitto_core::limits::READINGS_PER_SESSION_MAX;
use kvitto_core::NetworkId;
use kvitto_ledger::{
    IngestConfig, Ledger, MemoryArchive, ReplayError, ReplayErrorKind, ReplayItem,
};
use kvitto_tlog::merkle::{leaf_hash, Frontier};
use kvitto_tlog::policy::Policy;
use kvitto_tlog::Hash;

use crate::check_names::REPLAY;
use crate::checkpoints::{self, CheckpointSummary, WitnessView};
use crate::report::{Finding, LogReport};
use crate::rules::READINGS_UNAVAILABLE;
use crate::settlement;
use crate::source::{LogInput, SourceError};
use crate::Counts;
use crate::Progress;

/// Entries read and replayed together: enough for the replay to verify signatures and range
/// proofs in parallel, few enough to keep memory small.
const CHUNK_ENTRIES: usize = 128;

/// A session record, as the cross-log check and the statistics need it.
#[derive(Debug, Clone)]
pub(crate) struct RecordSummary {
    pub index: u64,
    pub session: SessionId,
    pub key_id: KeyId,
    pub first_counter: u64,
    pub last_counter: u64,
    pub readings_digest: [u8; 32],
    pub start_ms: u64,
    pub energy_wh: u64,
}

/// What one pass over a log gathered.
#[derive(Debug)]
pub(crate) struct Scan {
    pub size: u64,
    pub root: Hash,
    pub entries_replayed: u64,
    pub records: Vec<RecordSummary>,
    /// Charger keys registered on this log: the entry index and the EVSE id.
    pub registrations: HashMap<KeyId, (u64, String)>,
    /// What [`settlement::check`] needs of the log.
    pub settlement: settlement::Collector,
    pub checkpoints: CheckpointSummary,
}

impl Scan {
    pub(crate) fn report(&self, log: &LogInput<'_>) -> LogReport {
        LogReport {
            origin: log.origin.clone(),
            operator: log.operator.clone(),
            kind: log.kind,
            size: self.size,
            root: self.root.to_base64(),
            entries_replayed: self.entries_replayed,
            sessions: self.records.len() as u64,
            energy_wh: self
                .records
                .iter()
                .fold(0u64, |sum, r| sum.saturating_add(r.energy_wh)),
            checkpoints: self.checkpoints.stored,
            latest_checkpoint_size: self.checkpoints.latest_size,
            cosigned_size: self.checkpoints.cosigned_size,
            cosigners: self.checkpoints.cosigners.clone(),
            witnessed_size: self.checkpoints.witnessed_size,
        }
    }
}

/// Reads `log` from index 0: replays it until the first replay finding, recomputes its tree and
/// checks its checkpoints and cosignatures.
pub(crate) fn scan(
    network: NetworkId,
    log: &LogInput<'_>,
    witness: &WitnessView,
    policy: Option<&Policy>,
    counts: &mut Counts,
    findings: &mut Vec<Finding>,
    progress: &mut dyn Progress,
) -> Result<Scan, SourceError> {
    let source = log.source;
    let size = source.size()?;
    let notes = checkpoints::notes_of(log, witness)?;
    let wanted: HashSet<u64> = notes.iter().filter_map(|n| n.size).collect();
    let mut roots: HashMap<u64, Hash> = HashMap::new();
    let mut frontier = Frontier::new();
    if wanted.contains(&0) {
        roots.insert(0, frontier.root());
    }
    let mut ledger = Some(Ledger::new(
        network,
        log.origin.clone(),
        IngestConfig::default(),
    ));
    let mut archive = MemoryArchive::default();
    let mut scan = Scan {
        size,
        root: frontier.root(),
        entries_replayed: 0,
        records: Vec::new(),
        registrations: HashMap::new(),
        settlement: settlement::Collector::default(),
        checkpoints: CheckpointSummary::default(),
    };
    progress.log_started(&log.origin, size);
    let mut start = 0u64;
    while start < size {
        let count = CHUNK_ENTRIES.min(usize::try_from(size - start).unwrap_or(CHUNK_ENTRIES));
        let entries = source.entries(start, count)?;
        if entries.len() != count {
            return Err(SourceError(format!(
                "asked for {count} entries from {start}, got {}",
                entries.len()
            )));
        }
        let mut items = Vec::with_capacity(count);
        // The first session record in this chunk whose readings the node lacks.
        let mut unavailable: Option<u64> = None;
        for (offset, bytes) in entries.into_iter().enumerate() {
            let index = start + offset as u64;
            let leaf = leaf_hash(&bytes);
            frontier
                .append(leaf)
                .map_err(|_| SourceError("the tree is full".into()))?;
            if wanted.contains(&frontier.size()) {
                roots.insert(frontier.size(), frontier.root());
            }
            let mut readings = Vec::new();
            match Entry::decode(&bytes) {
                Err(_) => {} // the replay reports it
                Ok(Entry::SessionClosed(record)) => {
                    scan.settlement.session(index, &record);
                    scan.records.push(RecordSummary {
                        index,
                        session: record.session,
                        key_id: record.key_id,
                        first_counter: record.first_counter,
                        last_counter: record.last_counter,
                        readings_digest: record.readings_digest,
                        start_ms: record.start_ms,
                        energy_wh: record.energy_wh,
                    });
                    let span = record
                        .last_counter
                        .checked_sub(record.first_counter)
                        .and_then(|d| d.checked_add(1));
                    // A record claiming more readings than a session holds gets none: the
                    // replay reports the mismatch without the store being asked for them.
                    if span.is_some_and(|n| n <= u64::from(READINGS_PER_SESSION_MAX)) {
                        match source.readings(
                            &record.key_id,
                            record.first_counter,
                            record.last_counter,
                        )? {
                            Some(found) => readings = found,
                            None => {
                                unavailable.get_or_insert(index);
                            }
                        }
                    }
                }
                Ok(Entry::ChargerRegistered(registration)) => {
                    scan.registrations
                        .entry(registration.key_id())
                        .or_insert((index, registration.evse_id.clone()));
                }
                Ok(Entry::TariffPublished(tariff)) => scan.settlement.tariff(index, &tariff),
                Ok(entry) => scan.settlement.entry(index, leaf.0, entry),
            }
            items.push(ReplayItem {
                entry: bytes,
                readings,
            });
        }
        if let Some(replaying) = ledger.as_mut() {
            let replayable = unavailable.map_or(items.len(), |i| (i - start) as usize);
            items.truncate(replayable);
            let readings: u64 = items.iter().map(|i| i.readings.len() as u64).sum();
            let stop = match replaying.replay_batch_at(start, items, &archive) {
                Ok(effects) => {
                    archive.add(&effects);
                    scan.entries_replayed += replayable as u64;
                    counts.readings_verified += readings;
                    unavailable.map(|index| {
                        Finding::new(
                            REPLAY,
                            READINGS_UNAVAILABLE,
                            &log.origin,
                            format!(
                                "this node does not hold the signed readings of the session record at entry {index}, so the log is replayed only up to it"
                            ),
                        )
                        .at(index)
                        .with("entries_not_replayed", size - index)
                    })
                }
                Err(error) => {
                    scan.entries_replayed = error.index;
                    Some(replay_finding(&log.origin, &error, size))
                }
            };
            if let Some(finding) = stop {
                findings.push(finding);
                ledger = None;
            }
        }
        start += count as u64;
        progress.advanced(count as u64);
    }
    progress.log_finished();
    scan.root = frontier.root();
    counts.entries += size;
    counts.entries_replayed += scan.entries_replayed;
    counts.records += scan.records.len() as u64;
    scan.checkpoints = checkpoints::check_log(log, policy, notes, &roots, size, counts, findings);
    Ok(scan)
}

/// A replay error as a finding: the replay's code is the rule.
fn replay_finding(origin: &str, error: &ReplayError, size: u64) -> Finding {
    let mut finding = Finding::new(REPLAY, error.code(), origin, error.message.clone())
        .at(error.index)
        .with("entries_not_replayed", size.saturating_sub(error.index));
    match &error.kind {
        ReplayErrorKind::Reading {
            position: Some(position),
            ..
        } => finding = finding.with("reading_position", position),
        ReplayErrorKind::EntryMismatch { field } => finding = finding.with("field", field),
        ReplayErrorKind::PrivacyInvalid { field } => finding = finding.with("field", field),
        ReplayErrorKind::IndexDoesNotFollow { expected, got } => {
            finding = finding.with("expected_index", expected).with("index", got)
        }
        _ => {}
    }
    finding
}
