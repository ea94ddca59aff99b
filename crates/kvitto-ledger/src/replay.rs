//! Replaying another operator's log: every entry is re-derived from its inputs by the same rules
//! the primary applied, and the result must be byte-identical to the logged entry.
//!
//! Registry entries go through [`Ledger::register_charger`], [`Ledger::revoke_charger`] and
//! [`Ledger::publish_tariff`] with the clock taken from the entry itself, so the structural
//! rules run and the clock windows (which the log cannot show) pass. A session record goes
//! through [`Ledger::ingest`] with the session's signed readings, which are shipped beside it;
//! the record it closes, with the logged privacy extension attached, must equal the logged one.
//! That extension must be present and its range proof must verify in the session's context on
//! this log (origin, charger key id, session id); proofs are verified in parallel, like
//! signatures. Clone evidence must convict: two different readings under the registered key
//! with one counter, the first being the reading the log accepted at that counter. An evidence
//! disclosure goes through [`Ledger::disclose`]: it must name a session record before it.
//!
//! The returned [`Effects`] are what the primary staged for the same entries, so a mirror stages
//! them with the same store code. See `specs/ingest.md`, "Replaying another operator's log".

use std::collections::{HashMap, HashSet};
use std::num::NonZeroUsize;
use std::sync::OnceLock;

use ed25519_dalek::VerifyingKey;
use kvitto_privacy::{
    verify_session_ranges, AmountCommitment, AmountRangeProof, IdentityCommitment, SessionContext,
};
use rand_core::OsRng;
use thiserror::Error;

use kvitto_core::entry::{CloneEvidence, Entry, SessionRecord, TariffPublication};
use kvitto_core::keys::{KeyId, SessionId};
use kvitto_core::limits;
use kvitto_core::reading::{ReadingKind, SignedReading};

use crate::ingest::{
    ChargerState, Effects, ReadingArchive, RecordLookup, RejectCode, Rejection, VerifiedReading,
};
use crate::registry::RegistryError;
use crate::{Ledger, MemoryArchive};

/// One entry of another operator's log, with the signed readings its session record binds
/// (empty for every other entry type).
#[derive(Debug, Clone)]
pub struct ReplayItem {
    pub entry: Vec<u8>,
    pub readings: Vec<SignedReading>,
}

/// Why an entry of another operator's log failed replay.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("log entry {index}: {message}")]
pub struct ReplayError {
    /// The log index of the entry that failed.
    pub index: u64,
    pub kind: ReplayErrorKind,
    /// A lower-case sentence for people.
    pub message: String,
}

/// What failed; [`ReplayError::code`] maps it to a stable code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReplayErrorKind {
    /// The bytes do not decode as an entry (`malformed_entry`).
    MalformedEntry,
    /// The caller's log index is not this ledger's size (`index_does_not_follow`).
    IndexDoesNotFollow { expected: u64, got: u64 },
    /// Readings were given beside an entry that is not a session record (`unexpected_readings`).
    UnexpectedReadings,
    /// The readings end before the session's stop reading, or do not begin with its start
    /// (`missing_readings`).
    MissingReadings,
    /// Readings follow the stop reading, or there are more than a session can hold
    /// (`extra_readings`).
    ExtraReadings,
    /// A reading, or the record's charger, fails an ingest rule; the code is the ingest code
    /// (`bad_signature`, `counter_gap`, `broken_chain`, `replayed_reading`, `counter_reused`,
    /// `power_implausible`, `unknown_charger`, `key_revoked`, …). `position` is the reading's
    /// 0-based position among the readings shipped with the entry.
    Reading {
        code: RejectCode,
        position: Option<usize>,
    },
    /// The re-derived entry differs from the logged one in `field` (`entry_mismatch`).
    EntryMismatch { field: &'static str },
    /// A registry or disclosure rule refused the entry; the code is [`RegistryError::code`]
    /// (`charger_already_registered`, `unknown_charger`, `charger_already_revoked`,
    /// `invalid_field`, `record_index_ahead`, `session_record_unknown`).
    Registry(RegistryError),
    /// The published tariff JSON is not an OCPI tariff with the entry's id (`invalid_tariff`).
    InvalidTariff,
    /// Clone evidence does not convict the key (`clone_evidence_invalid`).
    CloneEvidenceInvalid,
    /// Clone evidence for this key and counter is already on the log (`clone_evidence_duplicate`).
    CloneEvidenceDuplicate,
    /// The evidence's first reading is not the reading the log accepted at that counter
    /// (`clone_evidence_not_accepted`).
    CloneEvidenceNotAccepted,
    /// The caller's archive lacks a reading this ledger has replayed, or cannot say where a
    /// session's record is (`archive_incomplete`): a fault of the mirror's own storage, not of
    /// the log.
    ArchiveIncomplete,
    /// A session record without the privacy extension (`privacy_missing`).
    PrivacyMissing,
    /// The privacy extension's `field` does not decode canonically, or (`range_proof`) the range
    /// proof does not verify for the two amount commitments in the session's context
    /// (`privacy_invalid`).
    PrivacyInvalid { field: &'static str },
}

impl ReplayError {
    fn new(index: u64, kind: ReplayErrorKind, message: impl Into<String>) -> Self {
        ReplayError {
            index,
            kind,
            message: message.into(),
        }
    }

    /// The stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match &self.kind {
            ReplayErrorKind::MalformedEntry => "malformed_entry",
            ReplayErrorKind::IndexDoesNotFollow { .. } => "index_does_not_follow",
            ReplayErrorKind::UnexpectedReadings => "unexpected_readings",
            ReplayErrorKind::MissingReadings => "missing_readings",
            ReplayErrorKind::ExtraReadings => "extra_readings",
            ReplayErrorKind::Reading { code, .. } => code.as_str(),
            ReplayErrorKind::EntryMismatch { .. } => "entry_mismatch",
            ReplayErrorKind::Registry(e) => e.code(),
            ReplayErrorKind::InvalidTariff => "invalid_tariff",
            ReplayErrorKind::CloneEvidenceInvalid => "clone_evidence_invalid",
            ReplayErrorKind::CloneEvidenceDuplicate => "clone_evidence_duplicate",
            ReplayErrorKind::CloneEvidenceNotAccepted => "clone_evidence_not_accepted",
            ReplayErrorKind::ArchiveIncomplete => "archive_incomplete",
            ReplayErrorKind::PrivacyMissing => "privacy_missing",
            ReplayErrorKind::PrivacyInvalid { .. } => "privacy_invalid",
        }
    }
}

/// Clone evidence whose first reading has a counter beyond the charger's last replayed session:
/// on the primary it was still in the open session. It is checked when the session holding that
/// counter is replayed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingCloneCheck {
    /// Log index of the `charger_key_cloned` entry.
    pub entry_index: u64,
    pub key_id: KeyId,
    pub counter: u64,
    /// The reading the evidence says the log had accepted at `counter`.
    pub first: SignedReading,
}

/// Below this many readings per thread, spawning costs more than verifying in place.
const READINGS_PER_THREAD_MIN: usize = 32;
/// A session's range proof takes milliseconds to verify: two per thread already pay off.
const PROOFS_PER_THREAD_MIN: usize = 2;

fn parallelism() -> usize {
    static CORES: OnceLock<usize> = OnceLock::new();
    *CORES.get_or_init(|| std::thread::available_parallelism().map_or(1, NonZeroUsize::get))
}

impl Ledger {
    /// Re-derives one entry of another operator's log from its inputs and requires byte
    /// equality. The entry gets index [`Ledger::size`]. On error the ledger is unchanged.
    pub fn replay(
        &mut self,
        entry: &[u8],
        readings: Vec<SignedReading>,
        archive: &dyn ReadingArchive,
    ) -> Result<Effects, ReplayError> {
        self.replay_entries(vec![(entry, readings)], archive)
    }

    /// Many entries in log order from index [`Ledger::size`], all or nothing: on error the
    /// ledger is unchanged. Signatures are verified in parallel, the state machine runs
    /// sequentially. A charger touched by several entries appears once in the effects, with its
    /// final state.
    pub fn replay_batch(
        &mut self,
        items: Vec<ReplayItem>,
        archive: &dyn ReadingArchive,
    ) -> Result<Effects, ReplayError> {
        let (entries, readings): (Vec<Vec<u8>>, Vec<Vec<SignedReading>>) =
            items.into_iter().map(|i| (i.entry, i.readings)).unzip();
        self.replay_entries(
            entries.iter().map(Vec::as_slice).zip(readings).collect(),
            archive,
        )
    }

    /// [`Ledger::replay_batch`] for entries the caller fetched from log index `first_index`,
    /// which must be this ledger's size.
    pub fn replay_batch_at(
        &mut self,
        first_index: u64,
        items: Vec<ReplayItem>,
        archive: &dyn ReadingArchive,
    ) -> Result<Effects, ReplayError> {
        if first_index != self.size {
            return Err(ReplayError::new(
                first_index,
                ReplayErrorKind::IndexDoesNotFollow {
                    expected: self.size,
                    got: first_index,
                },
                format!(
                    "the entries start at index {first_index}, but the next index of this log is {}",
                    self.size
                ),
            ));
        }
        self.replay_batch(items, archive)
    }

    /// Clone evidence replayed before the session holding its first reading.
    pub fn pending_clone_checks(&self) -> &[PendingCloneCheck] {
        &self.pending_clone_checks
    }

    /// Restores [`Ledger::pending_clone_checks`] after a restart (they are not part of
    /// [`ChargerState`]).
    pub fn restore_pending_clone_checks(&mut self, checks: Vec<PendingCloneCheck>) {
        self.pending_clone_checks = checks;
    }

    fn replay_entries(
        &mut self,
        items: Vec<(&[u8], Vec<SignedReading>)>,
        archive: &dyn ReadingArchive,
    ) -> Result<Effects, ReplayError> {
        let base = self.size;
        let prepared = self.prepare(items);
        let mut journal = Journal::new(self);
        let mut overlay = BatchArchive {
            inner: archive,
            staged: MemoryArchive::default(),
        };
        let mut effects = Effects::default();
        for (position, item) in prepared.into_iter().enumerate() {
            let index = base + position as u64;
            match self.replay_one(index, item, &overlay, &mut journal) {
                Ok(one) => {
                    overlay.add(&one);
                    effects.merge(one);
                }
                Err(e) => {
                    journal.rollback(self);
                    return Err(e);
                }
            }
        }
        // Later states of a charger supersede earlier ones, as when staged one by one.
        let mut seen = HashSet::new();
        let mut chargers: Vec<ChargerState> = effects
            .chargers
            .into_iter()
            .rev()
            .filter(|c| seen.insert(c.key_id()))
            .collect();
        chargers.reverse();
        effects.chargers = chargers;
        Ok(effects)
    }

    /// Decodes every entry, checks the shape of each session's readings, and verifies all
    /// signatures and session range proofs, in parallel when there are enough. Nothing here
    /// depends on ledger state except the registered keys and the origin, so errors are kept per
    /// entry and reported in log order.
    fn prepare<'a>(&self, items: Vec<(&'a [u8], Vec<SignedReading>)>) -> Vec<Prepared<'a>> {
        let mut batch_keys: HashMap<KeyId, VerifyingKey> = HashMap::new();
        let mut prepared = Vec::with_capacity(items.len());
        // Readings to verify, with the entry they belong to.
        let mut jobs: Vec<(usize, SignedReading)> = Vec::new();
        let mut keys: Vec<Option<VerifyingKey>> = Vec::with_capacity(items.len());
        for (position, (bytes, readings)) in items.into_iter().enumerate() {
            let entry = Entry::decode(bytes).map_err(|e| e.to_string());
            let mut key = None;
            let readings = match &entry {
                Err(_) => Err(Problem::default()),
                Ok(Entry::SessionClosed(record)) => {
                    key = self
                        .chargers
                        .get(&record.key_id)
                        .and_then(|c| c.verifying_key().copied())
                        .or_else(|| batch_keys.get(&record.key_id).copied());
                    match (session_shape(record, &readings), key) {
                        (Err(problem), _) => Err(problem),
                        // The charger is unknown: reported from the state when replayed.
                        (Ok(()), None) => Err(Problem::default()),
                        (Ok(()), Some(_)) => {
                            let count = readings.len();
                            jobs.extend(readings.into_iter().map(|r| (position, r)));
                            Ok(Vec::with_capacity(count))
                        }
                    }
                }
                Ok(other) => {
                    if let Entry::ChargerRegistered(registration) = other {
                        if let Ok(k) = VerifyingKey::from_bytes(&registration.public_key) {
                            batch_keys.entry(registration.key_id()).or_insert(k);
                        }
                    }
                    if readings.is_empty() {
                        Ok(Vec::new())
                    } else {
                        Err(Problem {
                            kind: Some(ReplayErrorKind::UnexpectedReadings),
                            message: format!(
                                "{} readings were given beside a {} entry; only session records have readings",
                                readings.len(),
                                other.type_name()
                            ),
                        })
                    }
                }
            };
            keys.push(key);
            prepared.push(Prepared {
                bytes,
                entry,
                readings,
                privacy: Ok(()),
            });
        }
        let records: Vec<(usize, &SessionRecord)> = prepared
            .iter()
            .enumerate()
            .filter_map(|(position, item)| match &item.entry {
                Ok(Entry::SessionClosed(record)) => Some((position, record)),
                _ => None,
            })
            .collect();
        let origin = self.origin.as_str();
        let checked = map_in_parallel(records, PROOFS_PER_THREAD_MIN, |(position, record)| {
            (position, check_privacy(origin, record))
        });
        for (position, result) in checked {
            prepared[position].privacy = result;
        }
        let verified = verify_all(jobs, &keys);
        let mut offset = 0usize;
        let mut last_position = usize::MAX;
        for (position, result) in verified {
            if position != last_position {
                offset = 0;
                last_position = position;
            }
            let slot = &mut prepared[position].readings;
            match (result, slot) {
                (Ok(reading), Ok(readings)) => readings.push(reading),
                (Err(rejection), slot @ Ok(_)) => {
                    *slot = Err(Problem {
                        kind: Some(ReplayErrorKind::Reading {
                            code: rejection.code,
                            position: Some(offset),
                        }),
                        message: format!("reading {offset}: {}", rejection.message),
                    })
                }
                // An earlier reading of this entry already failed.
                (_, Err(_)) => {}
            }
            offset += 1;
        }
        prepared
    }

    fn replay_one(
        &mut self,
        index: u64,
        item: Prepared<'_>,
        archive: &BatchArchive<'_>,
        journal: &mut Journal,
    ) -> Result<Effects, ReplayError> {
        let err = |kind, message: String| ReplayError::new(index, kind, message);
        let Prepared {
            bytes,
            entry,
            readings,
            privacy,
        } = item;
        let entry = entry.map_err(|e| err(ReplayErrorKind::MalformedEntry, e))?;
        if let Entry::SessionClosed(record) = entry {
            let checked = Checked { readings, privacy };
            return self.replay_session(index, bytes, record, checked, archive, journal);
        }
        if let Err(problem) = readings {
            return Err(problem.into_error(index));
        }
        let registry = |e: RegistryError| err(ReplayErrorKind::Registry(e.clone()), e.to_string());
        let effects = match entry {
            Entry::ChargerRegistered(registration) => {
                journal.touch(self, registration.key_id());
                let now_ms = registration.valid_from_ms;
                self.register_charger(registration, now_ms)
                    .map_err(registry)?
            }
            Entry::ChargerRevoked(revocation) => {
                journal.touch(self, revocation.key_id);
                self.revoke_charger(revocation).map_err(registry)?
            }
            Entry::TariffPublished(publication) => {
                check_tariff_json(&publication)
                    .map_err(|m| err(ReplayErrorKind::InvalidTariff, m))?;
                let now_ms = publication.valid_from_ms;
                self.publish_tariff(publication, now_ms).map_err(registry)?
            }
            Entry::ChargerKeyCloned(evidence) => {
                self.replay_clone_evidence(index, evidence, archive, journal)?
            }
            Entry::EvidenceDisclosed(disclosure) => {
                self.disclose(disclosure, archive).map_err(|e| match e {
                    RegistryError::ArchiveUnavailable(_) => {
                        err(ReplayErrorKind::ArchiveIncomplete, e.to_string())
                    }
                    e => registry(e),
                })?
            }
            Entry::SettlementStatement(_)
            | Entry::CreditNote(_)
            | Entry::StatementAcknowledged(_)
            | Entry::StatementDisputed(_)
            | Entry::DisputeAnswered(_) => self.settle(entry).map_err(registry)?,
            Entry::SessionClosed(_) => unreachable!("handled above"),
        };
        same_bytes(index, bytes, &effects, None)?;
        Ok(effects)
    }

    fn replay_session(
        &mut self,
        index: u64,
        bytes: &[u8],
        record: SessionRecord,
        checked: Checked,
        archive: &BatchArchive<'_>,
        journal: &mut Journal,
    ) -> Result<Effects, ReplayError> {
        if !self.chargers.contains_key(&record.key_id) {
            return Err(ReplayError::new(
                index,
                ReplayErrorKind::Reading {
                    code: RejectCode::UnknownCharger,
                    position: None,
                },
                format!(
                    "the session record names charger key {}, which is not registered before it",
                    record.key_id
                ),
            ));
        }
        let readings = checked.readings.map_err(|p| p.into_error(index))?;
        // The last reading's time (the latest, should they regress) stands in for the primary's
        // clock, so the future-skew rule, which the log cannot show, passes.
        let now_ms = readings
            .iter()
            .map(|r| r.reading().reading.timestamp_ms)
            .max()
            .unwrap_or(0);
        journal.touch(self, record.key_id);
        let mut effects = self
            .ingest(readings, now_ms, archive)
            .map_err(|(rejection, _)| {
                // Clone evidence that ingest recorded is undone with the rest of the batch.
                let position = rejection.index;
                ReplayError::new(
                    index,
                    ReplayErrorKind::Reading {
                        code: rejection.code,
                        position,
                    },
                    match position {
                        Some(p) => format!("reading {p}: {}", rejection.message),
                        None => rejection.message,
                    },
                )
            })?;
        // The primary's sequencer attaches the privacy extension after ingest, as the mirror
        // does here with the logged one; everything else must re-derive byte for byte.
        for (_, entry, encoded) in &mut effects.entries {
            if let Entry::SessionClosed(derived) = entry {
                derived.privacy.clone_from(&record.privacy);
                derived.counterparty.clone_from(&record.counterparty);
                *encoded = entry.encode();
            }
        }
        same_bytes(index, bytes, &effects, Some(&record))?;
        checked.privacy.map_err(|p| p.into_error(index))?;
        self.resolve_clone_checks(index, &record, &effects.readings, journal)?;
        Ok(effects)
    }

    /// Checks the pending clone evidence whose counter falls in the session just replayed.
    fn resolve_clone_checks(
        &mut self,
        index: u64,
        record: &SessionRecord,
        readings: &[SignedReading],
        journal: &mut Journal,
    ) -> Result<(), ReplayError> {
        let in_session = |c: &PendingCloneCheck| {
            c.key_id == record.key_id
                && (record.first_counter..=record.last_counter).contains(&c.counter)
        };
        if !self.pending_clone_checks.iter().any(in_session) {
            return Ok(());
        }
        journal.save_pending(self);
        for check in self.pending_clone_checks.iter().filter(|c| in_session(c)) {
            let accepted = usize::try_from(check.counter - record.first_counter)
                .ok()
                .and_then(|i| readings.get(i));
            if accepted != Some(&check.first) {
                return Err(ReplayError::new(
                    index,
                    ReplayErrorKind::CloneEvidenceNotAccepted,
                    format!(
                        "the clone evidence at entry {} cites a first reading for counter {} that differs from the one this session accepted",
                        check.entry_index, check.counter
                    ),
                ));
            }
        }
        self.pending_clone_checks.retain(|c| !in_session(c));
        Ok(())
    }

    fn replay_clone_evidence(
        &mut self,
        index: u64,
        evidence: CloneEvidence,
        archive: &BatchArchive<'_>,
        journal: &mut Journal,
    ) -> Result<Effects, ReplayError> {
        let invalid = |message: String| {
            ReplayError::new(index, ReplayErrorKind::CloneEvidenceInvalid, message)
        };
        let (first, second) = (&evidence.first.reading, &evidence.second.reading);
        let key_id = second.key_id;
        let counter = second.counter;
        if first.key_id != key_id || first.counter != counter {
            return Err(invalid(format!(
                "the two readings are for key {} counter {} and key {} counter {}; evidence needs one key and one counter",
                first.key_id, first.counter, key_id, counter
            )));
        }
        if evidence.first == evidence.second {
            return Err(invalid(
                "the two readings are identical; evidence needs two different readings".into(),
            ));
        }
        let Some(state) = self.chargers.get(&key_id) else {
            return Err(ReplayError::new(
                index,
                ReplayErrorKind::Reading {
                    code: RejectCode::UnknownCharger,
                    position: None,
                },
                format!(
                    "the evidence names charger key {key_id}, which is not registered before it"
                ),
            ));
        };
        let Some(key) = state.verifying_key() else {
            return Err(invalid(format!(
                "charger key {key_id} is registered with an unusable public key"
            )));
        };
        for (which, reading) in [("first", &evidence.first), ("second", &evidence.second)] {
            VerifiedReading::verify(reading.clone(), key).map_err(|r| {
                invalid(format!(
                    "the {which} reading does not convict: {}",
                    r.message
                ))
            })?;
        }
        // The refused reading passed the checks that precede the counter check on the primary.
        if second.network != self.network {
            return Err(invalid(format!(
                "the second reading is for network {}, this log is {}; the primary would have refused it as wrong_network",
                second.network, self.network
            )));
        }
        if second.timestamp_ms < state.registration.valid_from_ms {
            return Err(invalid(
                "the second reading predates the key's validity; the primary would have refused it as key_not_yet_valid".into(),
            ));
        }
        if state
            .revoked_from_ms
            .is_some_and(|revoked| second.timestamp_ms >= revoked)
        {
            return Err(invalid(
                "the second reading is signed after the key's revocation; the primary would have refused it as key_revoked".into(),
            ));
        }
        if state.clone_evidence_counters.contains(&counter) {
            return Err(ReplayError::new(
                index,
                ReplayErrorKind::CloneEvidenceDuplicate,
                format!("clone evidence for key {key_id} counter {counter} is already on the log"),
            ));
        }
        // The first reading must be the one the log accepted at that counter. If that counter
        // lies beyond the last replayed session, the primary still had it in an open session:
        // check it when that session is replayed.
        let last_counter = state.last.map_or(0, |l| l.counter);
        if counter <= last_counter {
            let accepted = state
                .open
                .as_ref()
                .and_then(|open| {
                    open.readings
                        .iter()
                        .find(|r| r.reading.counter == counter)
                        .cloned()
                })
                .or_else(|| archive.reading(&key_id, counter));
            match accepted {
                None => {
                    return Err(ReplayError::new(
                        index,
                        ReplayErrorKind::ArchiveIncomplete,
                        format!(
                            "the archive holds no reading for key {key_id} counter {counter}, which this ledger replayed"
                        ),
                    ))
                }
                Some(accepted) if accepted != evidence.first => {
                    return Err(ReplayError::new(
                        index,
                        ReplayErrorKind::CloneEvidenceNotAccepted,
                        format!(
                            "the first reading is not the reading the log accepted for key {key_id} counter {counter}"
                        ),
                    ))
                }
                Some(_) => {}
            }
        } else {
            journal.save_pending(self);
            self.pending_clone_checks.push(PendingCloneCheck {
                entry_index: index,
                key_id,
                counter,
                first: evidence.first.clone(),
            });
        }
        journal.touch(self, key_id);
        let mut effects = Effects::default();
        if let Some(state) = self.chargers.get_mut(&key_id) {
            state.clone_evidence_counters.push(counter);
            effects.chargers.push(state.clone());
        }
        self.append(&mut effects, Entry::ChargerKeyCloned(evidence));
        Ok(effects)
    }
}

/// Checks that `readings` can be exactly the readings of `record`'s session: all of its charger,
/// a start first, a stop last and none in between. Counters, chain and timing are ingest's.
fn session_shape(record: &SessionRecord, readings: &[SignedReading]) -> Result<(), Problem> {
    let problem = |kind, message: String| {
        Err(Problem {
            kind: Some(kind),
            message,
        })
    };
    let max = limits::READINGS_PER_SESSION_MAX as usize;
    if readings.len() > max {
        return problem(
            ReplayErrorKind::ExtraReadings,
            format!(
                "{} readings were given; a session holds at most {max}",
                readings.len()
            ),
        );
    }
    let Some(first) = readings.first() else {
        return problem(
            ReplayErrorKind::MissingReadings,
            "a session record needs its signed readings; none were given".into(),
        );
    };
    if let Some((p, r)) = readings
        .iter()
        .enumerate()
        .find(|(_, r)| r.reading.key_id != record.key_id)
    {
        return problem(
            ReplayErrorKind::EntryMismatch { field: "key_id" },
            format!(
                "reading {p} is of charger key {}, the record names {}",
                r.reading.key_id, record.key_id
            ),
        );
    }
    if first.reading.kind != ReadingKind::Start {
        return problem(
            ReplayErrorKind::MissingReadings,
            "the first reading is not a start reading; the session's start is missing".into(),
        );
    }
    match readings
        .iter()
        .position(|r| r.reading.kind == ReadingKind::Stop)
    {
        None => problem(
            ReplayErrorKind::MissingReadings,
            "no stop reading was given; the session's stop is missing".into(),
        ),
        Some(p) if p + 1 < readings.len() => problem(
            ReplayErrorKind::ExtraReadings,
            format!(
                "{} readings follow the stop reading at position {p}",
                readings.len() - p - 1
            ),
        ),
        Some(_) => Ok(()),
    }
}

/// The checks the HTTP layer makes before a tariff reaches the ledger: the JSON is an OCPI
/// tariff, and its `id` is the entry's `tariff_id`.
fn check_tariff_json(publication: &TariffPublication) -> Result<(), String> {
    let parsed = kvitto_tariff::parse_tariff(&publication.tariff_json)
        .map_err(|e| format!("the published tariff is not an OCPI tariff: {e}"))?;
    if parsed.value.id() != publication.tariff_id {
        return Err(format!(
            "the tariff JSON has id {:?}, the entry says {:?}",
            parsed.value.id(),
            publication.tariff_id
        ));
    }
    Ok(())
}

/// Requires that `effects` appended exactly one entry, at `index`, with the logged bytes.
fn same_bytes(
    index: u64,
    logged: &[u8],
    effects: &Effects,
    record: Option<&SessionRecord>,
) -> Result<(), ReplayError> {
    let err = |kind, message: String| Err(ReplayError::new(index, kind, message));
    match effects.entries.as_slice() {
        [] => err(
            ReplayErrorKind::MissingReadings,
            "the readings closed no session".into(),
        ),
        [(appended, entry, bytes)] => {
            if *appended != index {
                return err(
                    ReplayErrorKind::IndexDoesNotFollow {
                        expected: index,
                        got: *appended,
                    },
                    format!("the entry was re-derived at index {appended}, not {index}"),
                );
            }
            if bytes.as_slice() == logged {
                return Ok(());
            }
            let (field, detail) = match (entry, record) {
                (Entry::SessionClosed(derived), Some(logged)) => record_difference(logged, derived),
                _ => ("encoding", String::new()),
            };
            err(
                ReplayErrorKind::EntryMismatch { field },
                format!(
                    "the re-derived {} differs from the logged entry in {field}{detail}",
                    entry.type_name()
                ),
            )
        }
        more => err(
            ReplayErrorKind::ExtraReadings,
            format!("the readings produced {} entries, not one", more.len()),
        ),
    }
}

/// The first field in which the logged record differs from the one the readings give.
fn record_difference(logged: &SessionRecord, derived: &SessionRecord) -> (&'static str, String) {
    fn show<T: std::fmt::Debug>(logged: T, derived: T) -> String {
        format!(": logged {logged:?}, the readings give {derived:?}")
    }
    let tariff = |t: &Option<kvitto_core::entry::TariffRef>| {
        t.map_or("none".to_string(), |t| {
            format!("entry {} leaf {}", t.index, hex::encode(&t.leaf_hash[..8]))
        })
    };
    let (l, d) = (logged, derived);
    if l.session != d.session {
        ("session", show(l.session, d.session))
    } else if l.key_id != d.key_id {
        ("key_id", show(l.key_id, d.key_id))
    } else if l.first_counter != d.first_counter {
        ("first_counter", show(l.first_counter, d.first_counter))
    } else if l.last_counter != d.last_counter {
        ("last_counter", show(l.last_counter, d.last_counter))
    } else if l.start_ms != d.start_ms {
        ("start_ms", show(l.start_ms, d.start_ms))
    } else if l.stop_ms != d.stop_ms {
        ("stop_ms", show(l.stop_ms, d.stop_ms))
    } else if l.energy_wh != d.energy_wh {
        ("energy_wh", show(l.energy_wh, d.energy_wh))
    } else if l.reading_count != d.reading_count {
        ("reading_count", show(l.reading_count, d.reading_count))
    } else if l.readings_digest != d.readings_digest {
        (
            "readings_digest",
            show(
                hex::encode(l.readings_digest),
                hex::encode(d.readings_digest),
            ),
        )
    } else if l.tariff != d.tariff {
        ("tariff", show(tariff(&l.tariff), tariff(&d.tariff)))
    } else if l.unknown_extensions != d.unknown_extensions {
        (
            "extensions",
            format!(
                ": the logged record carries extension tags {:?} that this version does not derive",
                l.unknown_extensions.keys().collect::<Vec<_>>()
            ),
        )
    } else {
        ("encoding", String::new())
    }
}

/// Verifies every job's signature under its entry's key, keeping the jobs' order.
fn verify_all(
    jobs: Vec<(usize, SignedReading)>,
    keys: &[Option<VerifyingKey>],
) -> Vec<(usize, Result<VerifiedReading, Rejection>)> {
    let verify = |(position, reading): (usize, SignedReading)| {
        let result = match &keys[position] {
            Some(key) => VerifiedReading::verify(reading, key),
            // prepare() only queues readings of entries whose key it found.
            None => Err(Rejection::new(
                RejectCode::UnknownCharger,
                "the charger is not registered",
            )),
        };
        (position, result)
    };
    map_in_parallel(jobs, READINGS_PER_THREAD_MIN, verify)
}

/// Requires `record`'s privacy extension, every commitment in it canonically encoded, and its
/// range proof to verify for `[amount_excl_vat, amount_incl_vat]`, in that order, each in the
/// session's context on the log `origin`. The evidence digest is opaque and not checked.
fn check_privacy(origin: &str, record: &SessionRecord) -> Result<(), Problem> {
    let invalid = |field: &'static str, message: String| Problem {
        kind: Some(ReplayErrorKind::PrivacyInvalid { field }),
        message,
    };
    let Some(privacy) = &record.privacy else {
        return Err(Problem {
            kind: Some(ReplayErrorKind::PrivacyMissing),
            message: "the session record carries no privacy extension; every session record must"
                .into(),
        });
    };
    let not_canonical =
        |field: &'static str| invalid(field, format!("{field} is not a canonical encoding"));
    let excl = AmountCommitment::from_bytes(&privacy.amount_excl_vat)
        .map_err(|_| not_canonical("amount_excl_vat"))?;
    let incl = AmountCommitment::from_bytes(&privacy.amount_incl_vat)
        .map_err(|_| not_canonical("amount_incl_vat"))?;
    let proof = AmountRangeProof::from_bytes(&privacy.range_proof).map_err(|_| {
        invalid(
            "range_proof",
            format!(
                "the range proof ({} bytes) is not a canonical Bulletproofs encoding",
                privacy.range_proof.len()
            ),
        )
    })?;
    IdentityCommitment::from_bytes(&privacy.identity).map_err(|_| not_canonical("identity"))?;
    let ctx = SessionContext::new(origin, record.key_id.0, record.session.0).map_err(|e| {
        invalid(
            "context",
            format!("this ledger's origin {origin:?} cannot name a session: {e}"),
        )
    })?;
    verify_session_ranges(&ctx, &excl, &incl, &proof, &mut OsRng).map_err(|_| {
        invalid(
            "range_proof",
            format!(
                "the range proof does not verify for amount_excl_vat and amount_incl_vat of session {} on {origin}",
                record.session
            ),
        )
    })
}

/// Applies `f` to every job, keeping the jobs' order; on several threads when each gets at
/// least `per_thread_min` jobs.
fn map_in_parallel<T: Send, R: Send>(
    jobs: Vec<T>,
    per_thread_min: usize,
    f: impl Fn(T) -> R + Sync,
) -> Vec<R> {
    let threads = parallelism().min(jobs.len() / per_thread_min);
    if threads <= 1 {
        return jobs.into_iter().map(f).collect();
    }
    let chunk = jobs.len().div_ceil(threads);
    let mut rest = jobs;
    let mut chunks = Vec::with_capacity(threads);
    while rest.len() > chunk {
        chunks.push(rest.split_off(rest.len() - chunk));
    }
    // `rest` is the front of the list; the spawned chunks are in reverse order.
    chunks.reverse();
    let f = &f;
    std::thread::scope(|scope| {
        let handles: Vec<_> = chunks
            .into_iter()
            .map(|c| scope.spawn(move || c.into_iter().map(f).collect::<Vec<_>>()))
            .collect();
        let mut results: Vec<_> = rest.into_iter().map(f).collect();
        for handle in handles {
            match handle.join() {
                Ok(part) => results.extend(part),
                Err(panic) => std::panic::resume_unwind(panic),
            }
        }
        results
    })
}

/// One entry after decoding and signature and range proof verification.
struct Prepared<'a> {
    bytes: &'a [u8],
    entry: Result<Entry, String>,
    /// A session's verified readings in order, empty for other entries, or the first problem.
    readings: Result<Vec<VerifiedReading>, Problem>,
    /// A session record's privacy extension checked ([`check_privacy`]); `Ok` for other entries.
    privacy: Result<(), Problem>,
}

/// What [`Ledger::prepare`] found for a session record, before the state machine runs.
struct Checked {
    readings: Result<Vec<VerifiedReading>, Problem>,
    privacy: Result<(), Problem>,
}

/// A problem found before the state machine runs. Without a kind, the state reports it (the
/// entry is malformed or its charger unknown).
#[derive(Default)]
struct Problem {
    kind: Option<ReplayErrorKind>,
    message: String,
}

impl Problem {
    fn into_error(self, index: u64) -> ReplayError {
        match self.kind {
            Some(kind) => ReplayError::new(index, kind, self.message),
            None => ReplayError::new(
                index,
                ReplayErrorKind::Reading {
                    code: RejectCode::UnknownCharger,
                    position: None,
                },
                "the session's charger is not registered",
            ),
        }
    }
}

/// The caller's archive plus what earlier entries of this batch accepted.
struct BatchArchive<'a> {
    inner: &'a dyn ReadingArchive,
    /// What this batch staged so far (readings, started sessions, closed sessions' records).
    staged: MemoryArchive,
}

impl BatchArchive<'_> {
    fn add(&mut self, effects: &Effects) {
        self.staged.add(effects);
    }
}

impl ReadingArchive for BatchArchive<'_> {
    fn reading(&self, key_id: &KeyId, counter: u64) -> Option<SignedReading> {
        self.staged
            .reading(key_id, counter)
            .or_else(|| self.inner.reading(key_id, counter))
    }

    fn session_exists(&self, session: &SessionId) -> bool {
        self.staged.session_exists(session) || self.inner.session_exists(session)
    }

    fn session_record(&self, session: &SessionId) -> RecordLookup {
        match self.staged.session_record(session) {
            RecordLookup::At(index) => RecordLookup::At(index),
            _ => self.inner.session_record(session),
        }
    }
}

/// What a batch changed, to undo it: the first saved state of every charger it touched.
struct Journal {
    size: u64,
    tariffs: usize,
    chargers: HashMap<KeyId, Option<ChargerState>>,
    pending: Option<Vec<PendingCloneCheck>>,
}

impl Journal {
    fn new(ledger: &Ledger) -> Self {
        Journal {
            size: ledger.size,
            tariffs: ledger.tariffs.all().len(),
            chargers: HashMap::new(),
            pending: None,
        }
    }

    fn touch(&mut self, ledger: &Ledger, key_id: KeyId) {
        self.chargers
            .entry(key_id)
            .or_insert_with(|| ledger.chargers.get(&key_id).cloned());
    }

    fn save_pending(&mut self, ledger: &Ledger) {
        if self.pending.is_none() {
            self.pending = Some(ledger.pending_clone_checks.clone());
        }
    }

    fn rollback(self, ledger: &mut Ledger) {
        ledger.size = self.size;
        ledger.tariffs.truncate(self.tariffs);
        for (key_id, state) in self.chargers {
            match state {
                Some(state) => ledger.chargers.insert(key_id, state),
                None => ledger.chargers.remove(&key_id),
            };
        }
        if let Some(pending) = self.pending {
            ledger.pending_clone_checks = pending;
        }
    }
}
