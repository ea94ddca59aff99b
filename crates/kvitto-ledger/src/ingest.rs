//! The session state machine for signed meter readings.

use std::collections::HashMap;

use ed25519_dalek::VerifyingKey;
use serde::Serialize;

use kvitto_core::entry::{ChargerRegistration, CloneEvidence, Entry, SessionRecord};
use kvitto_core::keys::{KeyId, SessionId};
use kvitto_core::limits;
use kvitto_core::reading::{session_readings_digest, ReadingKind, SignedReading};

use crate::Ledger;

/// Tunables of the ingest rules.
#[derive(Debug, Clone, Copy)]
pub struct IngestConfig {
    /// How far a reading's timestamp may lie ahead of the node's clock.
    pub future_skew_ms_max: u64,
    /// Extra power allowed above a charger's registered maximum, in percent, for meter and clock
    /// tolerance.
    pub power_tolerance_percent: u64,
    /// How far in the past a published tariff's validity may start
    /// ([`crate::registry::TARIFF_BACKDATE_MS_MAX`] unless a simulation back-dates its history).
    pub tariff_backdate_ms_max: u64,
}

impl Default for IngestConfig {
    fn default() -> Self {
        IngestConfig {
            future_skew_ms_max: 5 * 60 * 1000,
            power_tolerance_percent: 2,
            tariff_backdate_ms_max: crate::registry::TARIFF_BACKDATE_MS_MAX,
        }
    }
}

/// The last accepted reading of a charger.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct LastReading {
    pub counter: u64,
    #[serde(with = "hex32")]
    pub hash: [u8; 32],
    pub timestamp_ms: u64,
    pub register_wh: u64,
}

/// A session between its start and stop readings. Its readings are kept until it closes, so the
/// session digest can be computed and a reused counter compared; their number is bounded by
/// [`limits::READINGS_PER_SESSION_MAX`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenSession {
    pub session: SessionId,
    pub readings: Vec<SignedReading>,
}

/// Everything the ledger knows about one charger.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChargerState {
    pub registration: ChargerRegistration,
    pub registered_at_index: u64,
    pub revoked_from_ms: Option<u64>,
    pub last: Option<LastReading>,
    pub open: Option<OpenSession>,
    /// Counters for which clone evidence is already on the log, so it is recorded once.
    pub clone_evidence_counters: Vec<u64>,
    verifying_key: Option<VerifyingKey>,
}

impl ChargerState {
    pub fn new(registration: ChargerRegistration, registered_at_index: u64) -> Self {
        let verifying_key = VerifyingKey::from_bytes(&registration.public_key).ok();
        ChargerState {
            registration,
            registered_at_index,
            revoked_from_ms: None,
            last: None,
            open: None,
            clone_evidence_counters: Vec::new(),
            verifying_key,
        }
    }

    pub fn key_id(&self) -> KeyId {
        self.registration.key_id()
    }

    pub fn verifying_key(&self) -> Option<&VerifyingKey> {
        self.verifying_key.as_ref()
    }
}

/// A reading whose signature verified under the registered key of the charger it names.
/// Only [`VerifiedReading::verify`] makes one, so the state machine cannot see an unverified one.
#[derive(Debug, Clone)]
pub struct VerifiedReading(SignedReading);

impl VerifiedReading {
    /// Checks `reading`'s signature with `key`, which must be the key its key id names.
    pub fn verify(reading: SignedReading, key: &VerifyingKey) -> Result<Self, Rejection> {
        if KeyId::of(key.as_bytes()) != reading.reading.key_id {
            return Err(Rejection::new(
                RejectCode::UnknownCharger,
                "the key does not match the reading's key id",
            ));
        }
        reading.verify(key).map_err(|_| {
            Rejection::new(
                RejectCode::BadSignature,
                "the reading's signature does not verify under the registered key",
            )
        })?;
        Ok(VerifiedReading(reading))
    }

    pub fn reading(&self) -> &SignedReading {
        &self.0
    }
}

/// Why a reading was rejected: a stable code for machines and a sentence for people.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RejectCode {
    MalformedReading,
    WrongNetwork,
    UnknownCharger,
    BadSignature,
    KeyNotYetValid,
    KeyRevoked,
    ReplayedReading,
    CounterReused,
    CounterGap,
    BrokenChain,
    TimestampRegressed,
    TimestampInFuture,
    RegisterDecreased,
    PowerImplausible,
    SessionAlreadyOpen,
    NoOpenSession,
    SessionMismatch,
    SessionTooLong,
    SessionIdReused,
}

impl RejectCode {
    pub fn as_str(self) -> &'static str {
        match self {
            RejectCode::MalformedReading => "malformed_reading",
            RejectCode::WrongNetwork => "wrong_network",
            RejectCode::UnknownCharger => "unknown_charger",
            RejectCode::BadSignature => "bad_signature",
            RejectCode::KeyNotYetValid => "key_not_yet_valid",
            RejectCode::KeyRevoked => "key_revoked",
            RejectCode::ReplayedReading => "replayed_reading",
            RejectCode::CounterReused => "counter_reused",
            RejectCode::CounterGap => "counter_gap",
            RejectCode::BrokenChain => "broken_chain",
            RejectCode::TimestampRegressed => "timestamp_regressed",
            RejectCode::TimestampInFuture => "timestamp_in_future",
            RejectCode::RegisterDecreased => "register_decreased",
            RejectCode::PowerImplausible => "power_implausible",
            RejectCode::SessionAlreadyOpen => "session_already_open",
            RejectCode::NoOpenSession => "no_open_session",
            RejectCode::SessionMismatch => "session_mismatch",
            RejectCode::SessionTooLong => "session_too_long",
            RejectCode::SessionIdReused => "session_id_reused",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Rejection {
    pub code: RejectCode,
    pub message: String,
    /// Position of the offending reading in its batch.
    pub index: Option<usize>,
}

impl Rejection {
    pub fn new(code: RejectCode, message: impl Into<String>) -> Self {
        Rejection {
            code,
            message: message.into(),
            index: None,
        }
    }
    pub fn at(mut self, index: usize) -> Self {
        self.index = Some(index);
        self
    }
}

/// What accepted input changes: to be written in one durable batch.
#[derive(Debug, Default)]
pub struct Effects {
    /// Readings to store, keyed by (key id, counter).
    pub readings: Vec<SignedReading>,
    /// New states of the chargers this input touched.
    pub chargers: Vec<ChargerState>,
    /// Entries appended to the log: index, entry, and its encoding.
    pub entries: Vec<(u64, Entry, Vec<u8>)>,
    /// Sessions closed by this input, with the index of their record.
    pub closed_sessions: Vec<(SessionId, u64)>,
}

impl Effects {
    pub fn merge(&mut self, other: Effects) {
        self.readings.extend(other.readings);
        self.chargers.extend(other.chargers);
        self.entries.extend(other.entries);
        self.closed_sessions.extend(other.closed_sessions);
    }
}

/// Read access to readings and sessions already stored, for the checks that look back further
/// than the in-memory state: replays of old counters, reused session ids, and the record an
/// evidence disclosure names.
pub trait ReadingArchive {
    fn reading(&self, key_id: &KeyId, counter: u64) -> Option<SignedReading>;
    fn session_exists(&self, session: &SessionId) -> bool;

    /// Where the `session_closed` record of `session` is on this log.
    ///
    /// The default cannot tell ([`RecordLookup::Unavailable`]), which refuses every disclosure
    /// without blaming the log: an archive over stored sessions should answer.
    fn session_record(&self, _session: &SessionId) -> RecordLookup {
        RecordLookup::Unavailable
    }
}

/// What a [`ReadingArchive`] knows of a session's record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordLookup {
    /// The session is closed, and its record is at this log index.
    At(u64),
    /// No session by that id is closed on this log: never started, or still open.
    NotClosed,
    /// The archive cannot tell: it does not index records, or its storage failed.
    Unavailable,
}

impl Ledger {
    /// Applies a batch of verified readings, all or nothing.
    ///
    /// On rejection, the ledger is unchanged except that clone evidence (two different readings
    /// with one counter) is appended and returned in the second value, because that evidence must
    /// be kept even though the reading is refused.
    pub fn ingest(
        &mut self,
        batch: Vec<VerifiedReading>,
        now_ms: u64,
        archive: &dyn ReadingArchive,
    ) -> Result<Effects, (Rejection, Option<Box<Effects>>)> {
        let mut overlay: HashMap<KeyId, ChargerState> = HashMap::new();
        let mut pending_entries: Vec<Entry> = Vec::new();
        let mut readings = Vec::with_capacity(batch.len());
        let mut new_sessions: Vec<SessionId> = Vec::new();
        for (i, verified) in batch.into_iter().enumerate() {
            let reading = verified.0;
            let key_id = reading.reading.key_id;
            let state = match overlay.get_mut(&key_id) {
                Some(state) => state,
                None => {
                    let Some(state) = self.chargers.get(&key_id) else {
                        return Err((
                            Rejection::new(
                                RejectCode::UnknownCharger,
                                format!("charger key {key_id} is not registered"),
                            )
                            .at(i),
                            None,
                        ));
                    };
                    overlay.entry(key_id).or_insert_with(|| state.clone())
                }
            };
            match self.check(state, &reading, now_ms, archive, &new_sessions) {
                Ok(Step::Accept { closes }) => {
                    if reading.reading.kind == ReadingKind::Start {
                        new_sessions.push(reading.reading.session);
                    }
                    apply(state, &reading);
                    readings.push(reading);
                    if let Some(record) = closes {
                        pending_entries.push(Entry::SessionClosed(record));
                    }
                }
                Err(Refusal {
                    rejection,
                    evidence,
                }) => {
                    let kept = evidence.and_then(|evidence| {
                        // Record the evidence against the committed state, once per counter.
                        let committed = self.chargers.get_mut(&key_id)?;
                        let counter = evidence.second.reading.counter;
                        if committed.clone_evidence_counters.contains(&counter) {
                            return None;
                        }
                        committed.clone_evidence_counters.push(counter);
                        let mut effects = Effects::default();
                        effects.chargers.push(committed.clone());
                        self.append(&mut effects, Entry::ChargerKeyCloned(*evidence));
                        Some(Box::new(effects))
                    });
                    return Err((rejection.at(i), kept));
                }
            }
        }
        // Every reading passed: fold the overlay back and assign log indices.
        let mut effects = Effects {
            readings,
            ..Effects::default()
        };
        for entry in pending_entries {
            let session = match &entry {
                Entry::SessionClosed(record) => Some(record.session),
                _ => None,
            };
            let (index, _) = self.append(&mut effects, entry);
            if let Some(session) = session {
                effects.closed_sessions.push((session, index));
            }
        }
        for (key_id, state) in overlay {
            effects.chargers.push(state.clone());
            self.chargers.insert(key_id, state);
        }
        Ok(effects)
    }

    fn check(
        &self,
        state: &ChargerState,
        signed: &SignedReading,
        now_ms: u64,
        archive: &dyn ReadingArchive,
        new_sessions: &[SessionId],
    ) -> Result<Step, Refusal> {
        use RejectCode::*;
        let r = &signed.reading;
        if r.network != self.network {
            return Err(Refusal::new(
                WrongNetwork,
                format!(
                    "reading is for network {}, this log is {}",
                    r.network, self.network
                ),
            ));
        }
        if r.timestamp_ms < state.registration.valid_from_ms {
            return Err(Refusal::new(
                KeyNotYetValid,
                format!(
                    "reading signed at {} ms, the key is valid from {} ms",
                    r.timestamp_ms, state.registration.valid_from_ms
                ),
            ));
        }
        if let Some(revoked) = state.revoked_from_ms {
            if r.timestamp_ms >= revoked {
                return Err(Refusal::new(
                    KeyRevoked,
                    format!("the charger key was revoked from {revoked} ms"),
                ));
            }
        }
        let last_counter = state.last.map_or(0, |l| l.counter);
        if r.counter <= last_counter {
            // Compare only with readings that were accepted before this batch: evidence must
            // cite two readings the log really accepted and refused, never one of this batch.
            let stored = self
                .chargers
                .get(&r.key_id)
                .and_then(|committed| committed.open.as_ref())
                .and_then(|open| {
                    open.readings
                        .iter()
                        .find(|x| x.reading.counter == r.counter)
                        .cloned()
                })
                .or_else(|| archive.reading(&r.key_id, r.counter));
            return match stored {
                Some(stored) if &stored == signed => Err(Refusal::new(ReplayedReading, format!(
                    "counter {} was already accepted; this is a replay", r.counter))),
                Some(stored) => Err(Refusal {
                    rejection: Rejection::new(CounterReused, format!(
                        "counter {} was already used with different content; kept as evidence that the key was cloned", r.counter)),
                    evidence: Some(Box::new(CloneEvidence { first: stored, second: signed.clone() })),
                }),
                None => Err(Refusal::new(ReplayedReading, format!(
                    "counter {} is not above the last accepted counter {last_counter}", r.counter))),
            };
        }
        if r.counter != last_counter + 1 {
            return Err(Refusal::new(
                CounterGap,
                format!(
                    "counter {} skips ahead; the next counter must be {}",
                    r.counter,
                    last_counter + 1
                ),
            ));
        }
        let expected_prev = state.last.map_or([0u8; 32], |l| l.hash);
        if r.prev_hash != expected_prev {
            return Err(Refusal::new(
                BrokenChain,
                "prev_hash does not match the hash of the charger's previous reading",
            ));
        }
        if r.timestamp_ms > now_ms.saturating_add(self.config.future_skew_ms_max) {
            return Err(Refusal::new(
                TimestampInFuture,
                format!(
                    "timestamp is {} ms ahead of the node's clock, at most {} ms allowed",
                    r.timestamp_ms - now_ms,
                    self.config.future_skew_ms_max
                ),
            ));
        }
        if let Some(last) = state.last {
            if r.timestamp_ms < last.timestamp_ms {
                return Err(Refusal::new(
                    TimestampRegressed,
                    format!(
                        "timestamp {} ms is before the previous reading's {} ms",
                        r.timestamp_ms, last.timestamp_ms
                    ),
                ));
            }
            if r.register_wh < last.register_wh {
                return Err(Refusal::new(
                    RegisterDecreased,
                    format!(
                        "register {} Wh is below the previous reading's {} Wh",
                        r.register_wh, last.register_wh
                    ),
                ));
            }
            let energy_wh = u128::from(r.register_wh - last.register_wh);
            let elapsed_ms = u128::from(r.timestamp_ms - last.timestamp_ms);
            // energy ≤ max power × elapsed × (1 + tolerance), plus 1 Wh for register rounding.
            let allowed_wh_x = u128::from(state.registration.max_power_w)
                * elapsed_ms
                * u128::from(100 + self.config.power_tolerance_percent)
                / 100
                + 3_600_000;
            if energy_wh * 3_600_000 > allowed_wh_x {
                return Err(Refusal::new(
                    PowerImplausible,
                    format!(
                        "{energy_wh} Wh in {elapsed_ms} ms exceeds the charger's maximum of {} W",
                        state.registration.max_power_w
                    ),
                ));
            }
        }
        match r.kind {
            ReadingKind::Start => {
                if let Some(open) = &state.open {
                    return Err(Refusal::new(
                        SessionAlreadyOpen,
                        format!(
                            "session {} is still open; stop it before starting another",
                            open.session
                        ),
                    ));
                }
                if new_sessions.contains(&r.session) || archive.session_exists(&r.session) {
                    return Err(Refusal::new(
                        SessionIdReused,
                        format!("session id {} was used before", r.session),
                    ));
                }
                Ok(Step::Accept { closes: None })
            }
            ReadingKind::Intermediate | ReadingKind::Stop => {
                let Some(open) = &state.open else {
                    return Err(Refusal::new(
                        NoOpenSession,
                        "no session is open on this charger; a session begins with a start reading",
                    ));
                };
                if open.session != r.session {
                    return Err(Refusal::new(
                        SessionMismatch,
                        format!(
                            "reading names session {}, but session {} is open",
                            r.session, open.session
                        ),
                    ));
                }
                if r.kind == ReadingKind::Stop {
                    let mut all = open.readings.clone();
                    all.push(signed.clone());
                    return Ok(Step::Accept {
                        closes: Some(self.session_record(state, &all)),
                    });
                }
                if open.readings.len() + 2 > limits::READINGS_PER_SESSION_MAX as usize {
                    return Err(Refusal::new(
                        SessionTooLong,
                        format!(
                            "a session holds at most {} readings; only the stop reading fits",
                            limits::READINGS_PER_SESSION_MAX
                        ),
                    ));
                }
                Ok(Step::Accept { closes: None })
            }
        }
    }

    fn session_record(&self, state: &ChargerState, readings: &[SignedReading]) -> SessionRecord {
        // A session always has its start and this stop reading.
        let first = &readings[0].reading;
        let last = &readings[readings.len() - 1].reading;
        let tariff = state
            .registration
            .tariff_id
            .as_deref()
            .and_then(|id| self.tariffs.in_force(id, None, first.timestamp_ms))
            .map(|t| t.reference);
        SessionRecord {
            session: first.session,
            key_id: first.key_id,
            first_counter: first.counter,
            last_counter: last.counter,
            start_ms: SessionRecord::coarse_start(first.timestamp_ms),
            stop_ms: SessionRecord::coarse_stop(last.timestamp_ms),
            energy_wh: SessionRecord::coarse_energy(last.register_wh - first.register_wh),
            reading_count: readings.len() as u32,
            readings_digest: session_readings_digest(readings),
            tariff,
            privacy: None,
            counterparty: None,
            unknown_extensions: Default::default(),
        }
    }
}

enum Step {
    Accept { closes: Option<SessionRecord> },
}

struct Refusal {
    rejection: Rejection,
    evidence: Option<Box<CloneEvidence>>,
}

impl Refusal {
    fn new(code: RejectCode, message: impl Into<String>) -> Self {
        Refusal {
            rejection: Rejection::new(code, message),
            evidence: None,
        }
    }
}

fn apply(state: &mut ChargerState, signed: &SignedReading) {
    let r = &signed.reading;
    state.last = Some(LastReading {
        counter: r.counter,
        hash: signed.hash(),
        timestamp_ms: r.timestamp_ms,
        register_wh: r.register_wh,
    });
    match r.kind {
        ReadingKind::Start => {
            state.open = Some(OpenSession {
                session: r.session,
                readings: vec![signed.clone()],
            })
        }
        ReadingKind::Intermediate => {
            if let Some(open) = state.open.as_mut() {
                open.readings.push(signed.clone());
            }
        }
        ReadingKind::Stop => state.open = None,
    }
}

mod hex32 {
    pub fn serialize<S: serde::Serializer>(v: &[u8; 32], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(v))
    }
}
