//! Replay: a mirror re-derives an operator's log entry by entry. One test per way a primary could
//! cheat, each asserting the specific code and that the mirror's ledger did not change.

use ed25519_dalek::SigningKey;
use kvitto_privacy::{commit_session, DriverSecret, PersonKey, SessionContext};
use proptest::prelude::*;
use rand_core::OsRng;

use kvitto_core::charger::SoftCharger;
use kvitto_core::entry::{
    ChargerRegistration, ChargerRevocation, CloneEvidence, Entry, EvidenceDisclosure,
    SessionPrivacy, SessionRecord, TariffPublication, TariffRef,
};
use kvitto_core::keys::{KeyId, NetworkId, SessionId};
use kvitto_core::reading::{session_readings_digest, ReadingKind, SignedReading};

use crate::{
    Effects, IngestConfig, Ledger, MemoryArchive, PendingCloneCheck, ReadingArchive, RejectCode,
    ReplayError, ReplayErrorKind, ReplayItem, VerifiedReading,
};

const T0: u64 = 1_764_000_000_000;
const MIN: u64 = 60_000;
const ORIGIN: &str = "kvitto/test/se-kvt";

fn network() -> NetworkId {
    NetworkId::of_name("test")
}

/// Attaches the privacy extension the way the primary's sequencer does: commitments to a price
/// derived from the energy, for a fresh driver, with a range proof in the session's context.
fn with_privacy(mut record: SessionRecord) -> SessionRecord {
    let ctx = SessionContext::new(ORIGIN, record.key_id.0, record.session.0).unwrap();
    let driver = DriverSecret::generate(&mut OsRng).public();
    let person = PersonKey::generate(&mut OsRng);
    let excl_vat_minor = record.energy_wh * 35 / 10;
    let incl_vat_minor = excl_vat_minor * 125 / 100;
    let (commitments, _openings) = commit_session(
        &ctx,
        excl_vat_minor,
        incl_vat_minor,
        &driver,
        &person,
        &mut OsRng,
    )
    .unwrap();
    record.privacy = Some(SessionPrivacy {
        amount_excl_vat: commitments.amount_excl_vat.to_bytes(),
        amount_incl_vat: commitments.amount_incl_vat.to_bytes(),
        range_proof: commitments.range_proof.to_bytes(),
        identity: commitments.identity.to_bytes(),
        evidence_digest: [0x5E; 32],
    });
    record
}

fn charger(seed: u8) -> SoftCharger {
    SoftCharger::new(SigningKey::from_bytes(&[seed; 32]), network())
}

fn tariff_json(id: &str) -> String {
    format!(
        r#"{{"country_code":"SE","party_id":"KVT","id":"{id}","currency":"SEK","elements":[{{"price_components":[{{"type":"ENERGY","price":3.50,"step_size":1}}]}}],"last_updated":"2025-11-01T00:00:00Z"}}"#
    )
}

fn registration(c: &SoftCharger, tariff_id: Option<&str>) -> ChargerRegistration {
    ChargerRegistration {
        public_key: c.public_key(),
        evse_id: "SE*KVT*E0001*1".into(),
        meter_serial: "MTR-0001".into(),
        max_power_w: 22_000,
        valid_from_ms: T0,
        tariff_id: tariff_id.map(Into::into),
    }
}

/// An archive that does not index session records (the trait's default).
struct WithoutRecords<'a>(&'a MemoryArchive);

impl ReadingArchive for WithoutRecords<'_> {
    fn reading(&self, key_id: &KeyId, counter: u64) -> Option<SignedReading> {
        self.0.reading(key_id, counter)
    }
    fn session_exists(&self, session: &SessionId) -> bool {
        self.0.session_exists(session)
    }
}

/// An operator's node: its ledger, its stored readings and its log.
struct Primary {
    ledger: Ledger,
    archive: MemoryArchive,
    log: Vec<Vec<u8>>,
    /// Every entry the primary appended, as `LogStore::stage` received it.
    entries: Vec<(u64, Entry, Vec<u8>)>,
}

impl Primary {
    fn new() -> Self {
        Primary {
            ledger: Ledger::new(network(), ORIGIN, IngestConfig::default()),
            archive: MemoryArchive::default(),
            log: Vec::new(),
            entries: Vec::new(),
        }
    }

    /// Stores `effects` as the sequencer does, which attaches the privacy extension to every
    /// session record before it is written.
    fn record(&mut self, mut effects: Effects) -> Vec<u64> {
        for (_, entry, bytes) in &mut effects.entries {
            if let Entry::SessionClosed(record) = entry {
                *entry = Entry::SessionClosed(with_privacy(record.clone()));
                *bytes = entry.encode();
            }
        }
        self.archive.add(&effects);
        let mut indices = Vec::new();
        for (index, entry, bytes) in effects.entries {
            assert_eq!(index, self.log.len() as u64);
            self.log.push(bytes.clone());
            self.entries.push((index, entry, bytes));
            indices.push(index);
        }
        indices
    }

    fn register(&mut self, c: &SoftCharger, tariff_id: Option<&str>) -> u64 {
        let effects = self
            .ledger
            .register_charger(registration(c, tariff_id), T0)
            .unwrap();
        self.record(effects)[0]
    }

    fn revoke(&mut self, key_id: KeyId, revoked_from_ms: u64) -> u64 {
        let revocation = ChargerRevocation {
            key_id,
            revoked_from_ms,
            reason: "stolen".into(),
        };
        let effects = self.ledger.revoke_charger(revocation).unwrap();
        self.record(effects)[0]
    }

    fn publish(&mut self, tariff_id: &str, valid_from_ms: u64) -> u64 {
        let publication = TariffPublication {
            tariff_id: tariff_id.into(),
            counterparty: None,
            valid_from_ms,
            tariff_json: tariff_json(tariff_id),
        };
        let effects = self.ledger.publish_tariff(publication, T0).unwrap();
        self.record(effects)[0]
    }

    fn verified(&self, r: &SignedReading) -> VerifiedReading {
        let key = self
            .ledger
            .charger(&r.reading.key_id)
            .unwrap()
            .verifying_key()
            .unwrap();
        VerifiedReading::verify(r.clone(), key).unwrap()
    }

    /// Ingests `readings` as one batch; returns the indices of the records it closed.
    fn push(&mut self, readings: &[SignedReading]) -> Vec<u64> {
        let batch = readings.iter().map(|r| self.verified(r)).collect();
        let effects = self
            .ledger
            .ingest(batch, T0 + 24 * 60 * MIN, &self.archive)
            .map_err(|(r, _)| r)
            .unwrap();
        self.record(effects)
    }

    /// Discloses the evidence of the session whose record is at `record_index`.
    fn disclose(&mut self, record_index: u64) -> u64 {
        let session = record_of_entry(&self.log[record_index as usize]).session;
        let effects = self
            .ledger
            .disclose(disclosure(session, record_index), &self.archive)
            .unwrap();
        self.record(effects)[0]
    }

    /// Submits a reading that reuses a counter; returns the index of the evidence entry.
    fn push_clone(&mut self, reading: &SignedReading) -> u64 {
        let batch = vec![self.verified(reading)];
        let (rejection, evidence) = self
            .ledger
            .ingest(batch, T0 + 24 * 60 * MIN, &self.archive)
            .unwrap_err();
        assert_eq!(rejection.code, RejectCode::CounterReused);
        self.record(*evidence.unwrap())[0]
    }

    /// The log as a mirror receives it: each entry with the readings its session record binds.
    fn items(&self) -> Vec<ReplayItem> {
        self.log
            .iter()
            .map(|bytes| ReplayItem {
                entry: bytes.clone(),
                readings: match Entry::decode(bytes).unwrap() {
                    Entry::SessionClosed(r) => (r.first_counter..=r.last_counter)
                        .map(|c| self.archive.reading(&r.key_id, c).unwrap())
                        .collect(),
                    _ => Vec::new(),
                },
            })
            .collect()
    }
}

/// Positions of interesting entries in [`scenario`]'s log.
struct Scenario {
    primary: Primary,
    a: SoftCharger,
    /// A's first session (counters 1 to 3).
    a_session_1: u64,
    /// Clone evidence published while A's second session was open.
    clone_while_open: u64,
    /// A's second session, which holds the first reading of `clone_while_open`.
    a_session_2: u64,
    /// Clone evidence against a counter of A's first, closed, session.
    clone_of_closed: u64,
    first_tariff: u64,
    later_tariff: u64,
    /// A's third session, priced by `later_tariff`.
    a_session_3: u64,
    c_registration: u64,
    c_session: u64,
    revocation: u64,
    /// A regulator was given the evidence of A's first session; the last entry.
    disclosure: u64,
}

/// Three chargers, two tariffs, interleaved sessions, clone evidence both while the cloned
/// counter's session is open and after it closed, a revocation, every session closed, and an
/// evidence disclosure.
fn scenario() -> Scenario {
    let mut p = Primary::new();
    let mut a = charger(7);
    let mut b = charger(8);
    let mut c = charger(9);
    let early_clone_of_a = a.clone();
    p.register(&a, Some("AC"));
    p.register(&b, Some("AC"));
    let c_registration = p.register(&c, None);
    let first_tariff = p.publish("AC", T0);
    let a_session_1 = p.push(&[
        a.start(T0 + MIN),
        a.meter(T0 + 11 * MIN, 3_000),
        a.stop(T0 + 21 * MIN, 3_000),
    ])[0];
    p.push(&[b.start(T0 + 2 * MIN)]);
    let mut clone_of_a = a.clone();
    p.push(&[a.start(T0 + 30 * MIN)]);
    let clone_while_open = p.push_clone(&clone_of_a.start(T0 + 31 * MIN));
    p.push(&[b.meter(T0 + 12 * MIN, 1_000), b.stop(T0 + 13 * MIN, 100)]);
    let a_session_2 = p.push(&[a.meter(T0 + 35 * MIN, 500), a.stop(T0 + 40 * MIN, 500)])[0];
    let clone_of_closed = p.push_clone(&early_clone_of_a.clone().start(T0 + 2 * MIN));
    let later_tariff = p.publish("AC", T0 + 60 * MIN);
    let c_session = p.push(&[c.start(T0 + 62 * MIN), c.stop(T0 + 70 * MIN, 2_000)])[0];
    // One ingest batch that closes two sessions.
    let closed = p.push(&[
        a.start(T0 + 61 * MIN),
        b.start(T0 + 64 * MIN),
        a.meter(T0 + 71 * MIN, 3_000),
        b.stop(T0 + 74 * MIN, 1_000),
        a.stop(T0 + 81 * MIN, 10),
    ]);
    let a_session_3 = closed[1];
    let revocation = p.revoke(b.key_id(), T0 + 200 * MIN);
    p.push(&[b.start(T0 + 100 * MIN), b.stop(T0 + 110 * MIN, 2_000)]);
    assert!(p.ledger.chargers().all(|c| c.open.is_none()));
    let disclosure = p.disclose(a_session_1);
    Scenario {
        primary: p,
        a,
        a_session_1,
        clone_while_open,
        a_session_2,
        clone_of_closed,
        first_tariff,
        later_tariff,
        a_session_3,
        c_registration,
        c_session,
        revocation,
        disclosure,
    }
}

/// A mirror of another operator's log: a fresh ledger and its own archive.
struct Mirror {
    ledger: Ledger,
    archive: MemoryArchive,
}

type Snapshot = (u64, Vec<String>, usize, Vec<PendingCloneCheck>);

impl Mirror {
    fn new() -> Self {
        Mirror {
            ledger: Ledger::new(network(), ORIGIN, IngestConfig::default()),
            archive: MemoryArchive::default(),
        }
    }

    /// A mirror that believes the log has another origin.
    fn with_origin(origin: &str) -> Self {
        Mirror {
            ledger: Ledger::new(network(), origin, IngestConfig::default()),
            archive: MemoryArchive::default(),
        }
    }

    fn replay(&mut self, items: Vec<ReplayItem>) -> Result<Effects, ReplayError> {
        let effects = self.ledger.replay_batch(items, &self.archive)?;
        self.archive.add(&effects);
        Ok(effects)
    }

    fn snapshot(&self) -> Snapshot {
        (
            self.ledger.size(),
            states(&self.ledger),
            self.ledger.tariffs().all().len(),
            self.ledger.pending_clone_checks().to_vec(),
        )
    }

    /// Replays `items`, asserts the error's code and index, and that nothing changed.
    fn assert_rejected(&mut self, items: Vec<ReplayItem>, code: &str, index: u64) -> ReplayError {
        let before = self.snapshot();
        let err = self.replay(items).unwrap_err();
        assert_eq!((err.code(), err.index), (code, index), "{err}");
        assert_eq!(
            self.snapshot(),
            before,
            "a rejected replay changed the ledger"
        );
        err
    }
}

fn states(ledger: &Ledger) -> Vec<String> {
    let mut states: Vec<String> = ledger.chargers().map(|c| format!("{c:?}")).collect();
    states.sort();
    states
}

/// Asserts that `items` (a tampered log) is rejected at `index` with `code`: once from an empty
/// mirror in one batch, and once from a mirror that already replayed everything before `index`.
fn assert_tampered(items: &[ReplayItem], index: u64, code: &str) -> ReplayError {
    let mut whole = Mirror::new();
    whole.assert_rejected(items.to_vec(), code, index);
    assert_eq!(whole.ledger.size(), 0);
    let mut mirror = Mirror::new();
    let split = index as usize;
    mirror.replay(items[..split].to_vec()).unwrap();
    mirror.assert_rejected(items[split..].to_vec(), code, index)
}

fn record_of(item: &ReplayItem) -> SessionRecord {
    record_of_entry(&item.entry)
}

fn record_of_entry(bytes: &[u8]) -> SessionRecord {
    match Entry::decode(bytes).unwrap() {
        Entry::SessionClosed(r) => r,
        other => panic!("expected a session record, got {}", other.type_name()),
    }
}

fn disclosure(session: SessionId, record_index: u64) -> EvidenceDisclosure {
    EvidenceDisclosure {
        session,
        record_index,
        recipient: "SE-REG".into(),
        case_ref: "case 2026/17".into(),
        disclosed_at_ms: T0 + 300 * MIN,
    }
}

fn with_record(item: &ReplayItem, f: impl FnOnce(&mut SessionRecord)) -> ReplayItem {
    let mut record = record_of(item);
    f(&mut record);
    ReplayItem {
        entry: Entry::SessionClosed(record).encode(),
        readings: item.readings.clone(),
    }
}

/// A session record computed from `readings` the way the ledger does, without a tariff, with a
/// valid privacy extension.
fn record_for(readings: &[SignedReading]) -> SessionRecord {
    let (first, last) = (&readings[0].reading, &readings[readings.len() - 1].reading);
    with_privacy(SessionRecord {
        session: first.session,
        key_id: first.key_id,
        first_counter: first.counter,
        last_counter: last.counter,
        start_ms: first.timestamp_ms,
        stop_ms: last.timestamp_ms,
        energy_wh: last.register_wh - first.register_wh,
        reading_count: readings.len() as u32,
        readings_digest: session_readings_digest(readings),
        tariff: None,
        privacy: None,
        counterparty: None,
        unknown_extensions: Default::default(),
    })
}

fn session_item(readings: Vec<SignedReading>) -> ReplayItem {
    ReplayItem {
        entry: Entry::SessionClosed(record_for(&readings)).encode(),
        readings,
    }
}

fn entry_item(entry: Entry) -> ReplayItem {
    ReplayItem {
        entry: entry.encode(),
        readings: Vec::new(),
    }
}

fn mismatch_field(err: &ReplayError) -> &'static str {
    match err.kind {
        ReplayErrorKind::EntryMismatch { field } => field,
        ref other => panic!("expected an entry mismatch, got {other:?}"),
    }
}

#[test]
fn replay_reproduces_the_log() {
    let s = scenario();
    let p = &s.primary;
    let mut mirror = Mirror::new();
    let effects = mirror.replay(p.items()).unwrap();
    assert_eq!(
        effects.entries, p.entries,
        "the same entries, indices and bytes"
    );
    assert_eq!(mirror.ledger.size(), p.ledger.size());
    assert_eq!(states(&mirror.ledger), states(&p.ledger));
    assert_eq!(mirror.ledger.tariffs().all(), p.ledger.tariffs().all());
    assert!(mirror.ledger.pending_clone_checks().is_empty());
    // The same readings are staged, and the final charger states, once each.
    let mut staged: Vec<_> = effects.readings.iter().map(SignedReading::encode).collect();
    let mut stored: Vec<_> = p.archive.readings().map(SignedReading::encode).collect();
    staged.sort();
    stored.sort();
    assert_eq!(staged, stored);
    let mut chargers: Vec<String> = effects.chargers.iter().map(|c| format!("{c:?}")).collect();
    chargers.sort();
    assert_eq!(chargers, states(&p.ledger));
    let closed: Vec<u64> = effects.closed_sessions.iter().map(|(_, i)| *i).collect();
    let records: Vec<u64> = p
        .entries
        .iter()
        .filter(|(_, e, _)| matches!(e, Entry::SessionClosed(_)))
        .map(|(i, _, _)| *i)
        .collect();
    assert_eq!(closed, records);
}

#[test]
fn replay_one_entry_at_a_time_matches_the_primary() {
    let s = scenario();
    let p = &s.primary;
    let mut mirror = Mirror::new();
    for (item, expected) in p.items().into_iter().zip(&p.entries) {
        let effects = mirror
            .ledger
            .replay(&item.entry, item.readings.clone(), &mirror.archive)
            .unwrap();
        mirror.archive.add(&effects);
        assert_eq!(effects.entries, vec![expected.clone()]);
        assert_eq!(effects.readings, item.readings);
        if let Entry::SessionClosed(r) = &expected.1 {
            // What the primary staged for the charger right after closing the session.
            assert_eq!(effects.chargers.len(), 1);
            assert_eq!(effects.chargers[0].last.unwrap().counter, r.last_counter);
            assert!(effects.chargers[0].open.is_none());
            assert_eq!(effects.closed_sessions, vec![(r.session, expected.0)]);
        }
        // Clone evidence while the counter's session is open waits for that session.
        let pending = mirror.ledger.pending_clone_checks().len();
        let waiting = (s.clone_while_open..s.a_session_2).contains(&expected.0);
        assert_eq!(pending, usize::from(waiting), "after entry {}", expected.0);
    }
    assert_eq!(states(&mirror.ledger), states(&p.ledger));
    assert_eq!(mirror.ledger.size(), p.ledger.size());
}

#[test]
fn pending_clone_checks_carry_over_between_batches() {
    let s = scenario();
    let items = s.primary.items();
    let mut mirror = Mirror::new();
    let split = s.clone_while_open as usize + 1;
    mirror.replay(items[..split].to_vec()).unwrap();
    let pending = mirror.ledger.pending_clone_checks().to_vec();
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].entry_index, s.clone_while_open);
    // A restarted mirror restores them with its state.
    let mut restarted = Mirror {
        ledger: Ledger::restore(
            network(),
            ORIGIN,
            IngestConfig::default(),
            mirror.ledger.chargers().cloned(),
            mirror.ledger.tariffs().clone(),
            mirror.ledger.size(),
        ),
        archive: mirror.archive.clone(),
    };
    restarted.ledger.restore_pending_clone_checks(pending);
    restarted.replay(items[split..].to_vec()).unwrap();
    assert!(restarted.ledger.pending_clone_checks().is_empty());
    assert_eq!(states(&restarted.ledger), states(&s.primary.ledger));
}

type Tamper = Box<dyn Fn(&mut SessionRecord)>;

#[test]
fn record_fields_must_match_the_readings() {
    let s = scenario();
    let items = s.primary.items();
    let at = s.a_session_1 as usize;
    let cases: Vec<(&str, Tamper)> = vec![
        ("session", Box::new(|r| r.session = SessionId([0xEE; 16]))),
        ("first_counter", Box::new(|r| r.first_counter += 1)),
        ("last_counter", Box::new(|r| r.last_counter -= 1)),
        ("start_ms", Box::new(|r| r.start_ms += 1)),
        ("stop_ms", Box::new(|r| r.stop_ms -= 1)),
        ("energy_wh", Box::new(|r| r.energy_wh += 1)),
        ("reading_count", Box::new(|r| r.reading_count += 1)),
        ("readings_digest", Box::new(|r| r.readings_digest[0] ^= 1)),
        ("tariff", Box::new(|r| r.tariff = None)),
        (
            "extensions",
            Box::new(|r| {
                r.unknown_extensions.insert(9, vec![1, 2, 3]);
            }),
        ),
    ];
    for (field, tamper) in cases {
        let mut tampered = items.clone();
        tampered[at] = with_record(&items[at], |r| tamper(r));
        let err = assert_tampered(&tampered, s.a_session_1, "entry_mismatch");
        assert_eq!(mismatch_field(&err), field, "{err}");
    }
}

#[test]
fn tariff_reference_must_name_the_tariff_in_force_at_start() {
    let s = scenario();
    let items = s.primary.items();
    let leaf = |i: u64| kvitto_tlog::merkle::leaf_hash(&items[i as usize].entry).0;
    // To an entry that is not a tariff.
    let at = s.a_session_1 as usize;
    let mut tampered = items.clone();
    tampered[at] = with_record(&items[at], |r| {
        r.tariff = Some(TariffRef {
            index: s.c_registration,
            leaf_hash: leaf(s.c_registration),
        })
    });
    let err = assert_tampered(&tampered, s.a_session_1, "entry_mismatch");
    assert_eq!(mismatch_field(&err), "tariff");
    // The earlier tariff, though the later one was in force when A's third session started.
    let at = s.a_session_3 as usize;
    assert_eq!(record_of(&items[at]).tariff.unwrap().index, s.later_tariff);
    let mut tampered = items.clone();
    tampered[at] = with_record(&items[at], |r| {
        r.tariff = Some(TariffRef {
            index: s.first_tariff,
            leaf_hash: leaf(s.first_tariff),
        })
    });
    assert_eq!(
        mismatch_field(&assert_tampered(&tampered, s.a_session_3, "entry_mismatch")),
        "tariff"
    );
    // The right index with a wrong leaf hash.
    let mut tampered = items.clone();
    tampered[at] = with_record(&items[at], |r| {
        r.tariff = Some(TariffRef {
            index: s.later_tariff,
            leaf_hash: [0; 32],
        })
    });
    assert_tampered(&tampered, s.a_session_3, "entry_mismatch");
    // A tariff for a charger registered without one.
    let at = s.c_session as usize;
    let mut tampered = items.clone();
    tampered[at] = with_record(&items[at], |r| {
        r.tariff = Some(TariffRef {
            index: s.later_tariff,
            leaf_hash: leaf(s.later_tariff),
        })
    });
    assert_tampered(&tampered, s.c_session, "entry_mismatch");
}

#[test]
fn readings_of_another_charger() {
    let s = scenario();
    let items = s.primary.items();
    let at = s.a_session_1 as usize;
    // C's genuine readings beside a record that names A.
    let mut tampered = items.clone();
    tampered[at].readings = items[s.c_session as usize].readings.clone();
    let err = assert_tampered(&tampered, s.a_session_1, "entry_mismatch");
    assert_eq!(mismatch_field(&err), "key_id");
    // A's readings re-signed with another charger's key.
    let other = SigningKey::from_bytes(&[8; 32]);
    let mut tampered = items.clone();
    for r in &mut tampered[at].readings {
        *r = r.reading.clone().sign(&other);
    }
    let err = assert_tampered(&tampered, s.a_session_1, "bad_signature");
    assert_eq!(
        err.kind,
        ReplayErrorKind::Reading {
            code: RejectCode::BadSignature,
            position: Some(0)
        }
    );
    // One corrupted signature in the middle.
    let mut tampered = items.clone();
    let mut bytes = tampered[at].readings[1].encode();
    bytes[110] ^= 1;
    tampered[at].readings[1] = SignedReading::decode(&bytes).unwrap();
    let err = assert_tampered(&tampered, s.a_session_1, "bad_signature");
    assert!(matches!(
        err.kind,
        ReplayErrorKind::Reading {
            position: Some(1),
            ..
        }
    ));
}

#[test]
fn a_counter_cannot_be_used_by_two_session_records() {
    let mut p = Primary::new();
    let mut a = charger(7);
    let mut fork = a.clone();
    p.register(&a, None);
    p.push(&[a.start(T0 + MIN), a.stop(T0 + 2 * MIN, 10)]);
    let mut items = p.items();
    // A second record whose readings reuse counters 1 and 2 with other content.
    items.push(session_item(vec![
        fork.start(T0 + 3 * MIN),
        fork.stop(T0 + 4 * MIN, 20),
    ]));
    assert_tampered(&items, 2, "counter_reused");
    // The same session logged twice: a replay.
    let mut items = p.items();
    items.push(items[1].clone());
    assert_tampered(&items, 2, "replayed_reading");
    // Two sessions that reuse a session id.
    let mut p = Primary::new();
    let mut a = charger(7);
    let mut b = charger(8);
    p.register(&a, None);
    p.register(&b, None);
    let id = SessionId([5; 16]);
    p.push(&[a.start_with(id, T0 + MIN), a.stop(T0 + 2 * MIN, 10)]);
    let mut items = p.items();
    items.push(session_item(vec![
        b.start_with(id, T0 + 3 * MIN),
        b.stop(T0 + 4 * MIN, 10),
    ]));
    assert_tampered(&items, 3, "session_id_reused");
}

#[test]
fn entries_out_of_order() {
    let s = scenario();
    let items = s.primary.items();
    // A's second session before its first.
    let mut swapped = items.clone();
    swapped.swap(s.a_session_1 as usize, s.a_session_2 as usize);
    assert_tampered(&swapped, s.a_session_1, "counter_gap");
    // A session before its charger's registration.
    let mut p = Primary::new();
    let mut c = charger(9);
    p.register(&c, None);
    p.push(&[c.start(T0 + MIN), c.stop(T0 + 2 * MIN, 10)]);
    let mut items = p.items();
    items.swap(0, 1);
    assert_tampered(&items, 0, "unknown_charger");
    // A revocation moved before a session it would have refused.
    let mut p = Primary::new();
    let mut b = charger(8);
    p.register(&b, None);
    p.push(&[b.start(T0 + MIN), b.stop(T0 + 10 * MIN, 10)]);
    p.revoke(b.key_id(), T0 + 5 * MIN);
    let mut items = p.items();
    items.swap(1, 2);
    assert_tampered(&items, 2, "key_revoked");
}

#[test]
fn readings_must_be_exactly_the_session() {
    let s = scenario();
    let items = s.primary.items();
    let at = s.a_session_1 as usize;
    let index = s.a_session_1;
    let with_readings = |f: &dyn Fn(&mut Vec<SignedReading>)| {
        let mut tampered = items.clone();
        f(&mut tampered[at].readings);
        tampered
    };
    assert_tampered(&with_readings(&|r| r.clear()), index, "missing_readings");
    assert_tampered(
        &with_readings(&|r| {
            r.pop();
        }),
        index,
        "missing_readings",
    );
    assert_tampered(
        &with_readings(&|r| {
            r.remove(0);
        }),
        index,
        "missing_readings",
    );
    assert_tampered(
        &with_readings(&|r| {
            r.remove(1);
        }),
        index,
        "counter_gap",
    );
    let next = items[s.a_session_2 as usize].readings[0].clone();
    assert_tampered(
        &with_readings(&|r| r.push(next.clone())),
        index,
        "extra_readings",
    );
    let mut reordered = with_readings(&|r| r.swap(0, 1));
    assert_tampered(&reordered, index, "missing_readings");
    reordered[at].readings = items[at].readings.clone();
    reordered[at].readings.swap(1, 2);
    assert_tampered(&reordered, index, "extra_readings");
    // Readings beside an entry that is not a session record.
    let mut tampered = items.clone();
    tampered[s.first_tariff as usize].readings = items[at].readings.clone();
    assert_tampered(&tampered, s.first_tariff, "unexpected_readings");
}

#[test]
fn readings_that_break_the_ingest_rules() {
    let setup = || {
        let mut p = Primary::new();
        let d = charger(4);
        p.register(&d, None);
        (p, d)
    };
    // 22 kW for 10 minutes is at most 3741 Wh.
    let (p, mut d) = setup();
    let mut items = p.items();
    items.push(session_item(vec![
        d.start(T0 + MIN),
        d.stop(T0 + 11 * MIN, 5_000),
    ]));
    let err = assert_tampered(&items, 1, "power_implausible");
    assert!(matches!(
        err.kind,
        ReplayErrorKind::Reading {
            position: Some(1),
            ..
        }
    ));
    // A broken chain.
    let (p, mut d) = setup();
    let start = d.start(T0 + MIN);
    let mut body = d.peek(ReadingKind::Stop, T0 + 2 * MIN, 10);
    body.prev_hash = [0xAA; 32];
    let mut items = p.items();
    items.push(session_item(vec![start, body.sign(d.signing_key())]));
    assert_tampered(&items, 1, "broken_chain");
    // A gap before the session: counters must start at 1.
    let (p, mut d) = setup();
    let _skipped = d.start(T0 + MIN);
    let _skipped = d.stop(T0 + 2 * MIN, 1);
    let mut items = p.items();
    items.push(session_item(vec![
        d.start(T0 + 3 * MIN),
        d.stop(T0 + 4 * MIN, 1),
    ]));
    assert_tampered(&items, 1, "counter_gap");
    // Before the key's validity.
    let (p, mut d) = setup();
    let mut items = p.items();
    items.push(session_item(vec![
        d.start(T0 - 2 * MIN),
        d.stop(T0 + MIN, 1),
    ]));
    assert_tampered(&items, 1, "key_not_yet_valid");
    // Another network.
    let (p, _) = setup();
    let mut elsewhere = SoftCharger::new(
        SigningKey::from_bytes(&[4; 32]),
        NetworkId::of_name("elsewhere"),
    );
    let mut items = p.items();
    items.push(session_item(vec![
        elsewhere.start(T0 + MIN),
        elsewhere.stop(T0 + 2 * MIN, 1),
    ]));
    assert_tampered(&items, 1, "wrong_network");
    // A charger nobody registered.
    let (p, _) = setup();
    let mut stranger = charger(5);
    let mut items = p.items();
    items.push(session_item(vec![
        stranger.start(T0 + MIN),
        stranger.stop(T0 + 2 * MIN, 1),
    ]));
    let err = assert_tampered(&items, 1, "unknown_charger");
    assert!(matches!(
        err.kind,
        ReplayErrorKind::Reading { position: None, .. }
    ));
}

#[test]
fn registry_rules_still_apply() {
    let a = charger(7);
    let reg = Entry::ChargerRegistered(registration(&a, None));
    let revoke = |key_id| {
        Entry::ChargerRevoked(ChargerRevocation {
            key_id,
            revoked_from_ms: T0,
            reason: "stolen".into(),
        })
    };
    let items = vec![entry_item(reg.clone()), entry_item(reg.clone())];
    assert_tampered(&items, 1, "charger_already_registered");
    let items = vec![entry_item(revoke(a.key_id()))];
    assert_tampered(&items, 0, "unknown_charger");
    let items = vec![
        entry_item(reg.clone()),
        entry_item(revoke(a.key_id())),
        entry_item(revoke(a.key_id())),
    ];
    assert_tampered(&items, 2, "charger_already_revoked");
    let mut bad = registration(&a, None);
    bad.evse_id = "SE*KVT\n".into();
    assert_tampered(
        &[entry_item(Entry::ChargerRegistered(bad))],
        0,
        "invalid_field",
    );
    let mut weak = registration(&a, None);
    weak.public_key = [0; 32];
    weak.public_key[0] = 1; // the identity point: small order
    assert_tampered(
        &[entry_item(Entry::ChargerRegistered(weak))],
        0,
        "invalid_field",
    );
    // A registration backdated by years is not checkable from the log, and passes.
    let mut old = registration(&a, None);
    old.valid_from_ms = 1;
    Mirror::new()
        .replay(vec![entry_item(Entry::ChargerRegistered(old))])
        .unwrap();
}

#[test]
fn published_tariffs_must_be_ocpi_tariffs() {
    let tariff = |id: &str, json: String| {
        entry_item(Entry::TariffPublished(TariffPublication {
            tariff_id: id.into(),
            counterparty: None,
            valid_from_ms: T0,
            tariff_json: json,
        }))
    };
    assert_tampered(&[tariff("AC", "{}".into())], 0, "invalid_tariff");
    assert_tampered(&[tariff("AC", tariff_json("DC"))], 0, "invalid_tariff");
    assert_tampered(
        &[tariff("A\u{7}", tariff_json("A\u{7}"))],
        0,
        "invalid_tariff",
    );
    Mirror::new()
        .replay(vec![tariff("AC", tariff_json("AC"))])
        .unwrap();
}

#[test]
fn clone_evidence_must_convict() {
    let s = scenario();
    let items = s.primary.items();
    let at = s.clone_of_closed as usize;
    let Entry::ChargerKeyCloned(genuine) = Entry::decode(&items[at].entry).unwrap() else {
        panic!("expected clone evidence")
    };
    let with = |evidence: CloneEvidence| {
        let mut tampered = items.clone();
        tampered[at] = entry_item(Entry::ChargerKeyCloned(evidence));
        tampered
    };
    let code = "clone_evidence_invalid";
    let index = s.clone_of_closed;
    // The same reading twice.
    assert_tampered(
        &with(CloneEvidence {
            first: genuine.first.clone(),
            second: genuine.first.clone(),
        }),
        index,
        code,
    );
    // Two counters.
    let second_counter = items[s.a_session_1 as usize].readings[1].clone();
    assert_tampered(
        &with(CloneEvidence {
            first: genuine.first.clone(),
            second: second_counter,
        }),
        index,
        code,
    );
    // A second reading signed by another key.
    let forged = genuine
        .second
        .reading
        .clone()
        .sign(&SigningKey::from_bytes(&[8; 32]));
    assert_tampered(
        &with(CloneEvidence {
            first: genuine.first.clone(),
            second: forged,
        }),
        index,
        code,
    );
    // A second reading the primary would have refused before the counter check.
    let mut body = genuine.second.reading.clone();
    body.network = NetworkId::of_name("elsewhere");
    assert_tampered(
        &with(CloneEvidence {
            first: genuine.first.clone(),
            second: body.sign(s.a.signing_key()),
        }),
        index,
        code,
    );
    let mut body = genuine.second.reading.clone();
    body.timestamp_ms = T0 - 1;
    assert_tampered(
        &with(CloneEvidence {
            first: genuine.first.clone(),
            second: body.sign(s.a.signing_key()),
        }),
        index,
        code,
    );
    // The same evidence twice.
    let mut twice = items.clone();
    twice.insert(at + 1, items[at].clone());
    assert_tampered(&twice, index + 1, "clone_evidence_duplicate");
    // A first reading that the log never accepted: two forks of the charger, neither accepted.
    let mut body = genuine.first.reading.clone();
    body.timestamp_ms += 1;
    assert_tampered(
        &with(CloneEvidence {
            first: body.sign(s.a.signing_key()),
            second: genuine.second.clone(),
        }),
        index,
        "clone_evidence_not_accepted",
    );
}

#[test]
fn clone_evidence_after_revocation_does_not_convict() {
    let mut p = Primary::new();
    let mut a = charger(7);
    let mut fork = a.clone();
    p.register(&a, None);
    p.push(&[a.start(T0 + MIN), a.stop(T0 + 2 * MIN, 10)]);
    p.revoke(a.key_id(), T0 + 10 * MIN);
    let mut items = p.items();
    items.push(entry_item(Entry::ChargerKeyCloned(CloneEvidence {
        first: items[1].readings[0].clone(),
        second: fork.start(T0 + 11 * MIN),
    })));
    assert_tampered(&items, 3, "clone_evidence_invalid");
}

#[test]
fn clone_evidence_citing_an_open_session_is_checked_when_it_closes() {
    let s = scenario();
    let items = s.primary.items();
    let at = s.clone_while_open as usize;
    let Entry::ChargerKeyCloned(genuine) = Entry::decode(&items[at].entry).unwrap() else {
        panic!("expected clone evidence")
    };
    let mut body = genuine.first.reading.clone();
    body.timestamp_ms += 1;
    let mut tampered = items.clone();
    tampered[at] = entry_item(Entry::ChargerKeyCloned(CloneEvidence {
        first: body.sign(s.a.signing_key()),
        second: genuine.second.clone(),
    }));
    // The evidence itself replays; the session holding its counter refutes it.
    let mut mirror = Mirror::new();
    mirror.replay(tampered[..=at].to_vec()).unwrap();
    assert_eq!(mirror.ledger.pending_clone_checks().len(), 1);
    let err = assert_tampered(&tampered, s.a_session_2, "clone_evidence_not_accepted");
    assert!(err
        .message
        .contains(&format!("entry {}", s.clone_while_open)));
}

#[test]
fn a_mirror_with_an_incomplete_archive_blames_itself() {
    let s = scenario();
    let items = s.primary.items();
    let mut mirror = Mirror::new();
    let at = s.clone_of_closed as usize;
    mirror.replay(items[..at].to_vec()).unwrap();
    mirror.archive = MemoryArchive::default();
    mirror.assert_rejected(
        items[at..].to_vec(),
        "archive_incomplete",
        s.clone_of_closed,
    );
}

#[test]
fn malformed_entries_and_misplaced_batches() {
    let s = scenario();
    let items = s.primary.items();
    let mut tampered = items.clone();
    tampered[s.revocation as usize].entry.truncate(10);
    assert_tampered(&tampered, s.revocation, "malformed_entry");
    let mut tampered = items.clone();
    tampered[0].entry = vec![2, 1];
    assert_tampered(&tampered, 0, "malformed_entry");
    let mut mirror = Mirror::new();
    mirror.replay(items[..3].to_vec()).unwrap();
    let before = mirror.snapshot();
    let err = mirror
        .ledger
        .replay_batch_at(4, items[4..].to_vec(), &mirror.archive)
        .unwrap_err();
    assert_eq!((err.code(), err.index), ("index_does_not_follow", 4));
    assert_eq!(mirror.snapshot(), before);
    mirror
        .ledger
        .replay_batch_at(3, items[3..].to_vec(), &mirror.archive)
        .unwrap();
}

#[test]
fn a_failure_late_in_a_batch_undoes_everything() {
    let s = scenario();
    let mut items = s.primary.items();
    // Everything replays up to the last entry, which reuses counter 7 (A's third session) and
    // makes ingest record clone evidence internally: that too must be undone.
    let mut fork = charger(7);
    for _ in 0..6 {
        let _ = fork.meter(T0, 0);
    }
    items.push(session_item(vec![
        fork.start(T0 + 3 * MIN),
        fork.stop(T0 + 4 * MIN, 20),
    ]));
    let index = items.len() as u64 - 1;
    let mut mirror = Mirror::new();
    mirror.assert_rejected(items.clone(), "counter_reused", index);
    assert_eq!(mirror.ledger.size(), 0);
    assert!(mirror.ledger.tariffs().all().is_empty());
    mirror.replay(items[..index as usize].to_vec()).unwrap();
    mirror.assert_rejected(items[index as usize..].to_vec(), "counter_reused", index);
}

#[test]
fn large_sessions_verify_in_parallel_and_reject_the_first_bad_reading() {
    let mut p = Primary::new();
    let mut a = charger(7);
    p.register(&a, None);
    let mut readings = vec![a.start(T0 + MIN)];
    for i in 0..400 {
        readings.push(a.meter(T0 + MIN + (i + 1) * 1_000, 1));
    }
    readings.push(a.stop(T0 + 20 * MIN, 1));
    p.push(&readings);
    let items = p.items();
    assert_eq!(items[1].readings.len(), 402);
    let mut mirror = Mirror::new();
    let effects = mirror.replay(items.clone()).unwrap();
    assert_eq!(effects.entries, p.entries);
    let mut tampered = items.clone();
    for at in [300, 150] {
        let mut bytes = tampered[1].readings[at].encode();
        bytes[110] ^= 1;
        tampered[1].readings[at] = SignedReading::decode(&bytes).unwrap();
    }
    let err = assert_tampered(&tampered, 1, "bad_signature");
    assert!(matches!(
        err.kind,
        ReplayErrorKind::Reading {
            position: Some(150),
            ..
        }
    ));
}

/// The encoding of the field element p = 2^255 - 19: a non-canonical encoding of the identity.
const NON_CANONICAL_POINT: [u8; 32] = {
    let mut p = [0xFF; 32];
    p[0] = 0xED;
    p[31] = 0x7F;
    p
};

fn privacy_of(record: &SessionRecord) -> SessionPrivacy {
    record.privacy.clone().unwrap()
}

fn privacy_field(err: &ReplayError) -> &'static str {
    match err.kind {
        ReplayErrorKind::PrivacyInvalid { field } => field,
        ref other => panic!("expected invalid privacy, got {other:?}"),
    }
}

type PrivacyTamper = Box<dyn Fn(&mut SessionPrivacy)>;

#[test]
fn session_records_must_carry_valid_privacy() {
    let s = scenario();
    let items = s.primary.items();
    let at = s.a_session_1 as usize;
    // Missing.
    let mut tampered = items.clone();
    tampered[at] = with_record(&items[at], |r| r.privacy = None);
    let err = assert_tampered(&tampered, s.a_session_1, "privacy_missing");
    assert_eq!(err.kind, ReplayErrorKind::PrivacyMissing);
    // Present but wrong.
    let other = privacy_of(&record_of(&items[s.a_session_2 as usize]));
    let proof_of_other = other.range_proof.clone();
    let cases: Vec<(&str, &str, PrivacyTamper)> = vec![
        (
            "a range proof from another session",
            "range_proof",
            Box::new(move |p| p.range_proof = proof_of_other.clone()),
        ),
        (
            "every value from another session",
            "range_proof",
            Box::new(move |p| *p = other.clone()),
        ),
        (
            "the two amounts swapped",
            "range_proof",
            Box::new(|p| std::mem::swap(&mut p.amount_excl_vat, &mut p.amount_incl_vat)),
        ),
        (
            "a non-canonical excl. VAT commitment",
            "amount_excl_vat",
            Box::new(|p| p.amount_excl_vat = NON_CANONICAL_POINT),
        ),
        (
            "a non-canonical incl. VAT commitment",
            "amount_incl_vat",
            Box::new(|p| p.amount_incl_vat = NON_CANONICAL_POINT),
        ),
        (
            "a non-canonical identity commitment",
            "identity",
            Box::new(|p| p.identity = NON_CANONICAL_POINT),
        ),
        (
            "a truncated range proof",
            "range_proof",
            Box::new(|p| p.range_proof.truncate(700)),
        ),
        (
            "a single-session range proof's length",
            "range_proof",
            Box::new(|p| p.range_proof.truncate(672)),
        ),
        (
            "a non-canonical scalar (t_x) in the range proof",
            "range_proof",
            Box::new(|p| p.range_proof[128..160].fill(0xFF)),
        ),
        (
            "another commitment under the same proof",
            "range_proof",
            Box::new(|p| p.amount_incl_vat = p.amount_excl_vat),
        ),
    ];
    for (case, field, tamper) in cases {
        let mut tampered = items.clone();
        tampered[at] = with_record(&items[at], |r| tamper(r.privacy.as_mut().unwrap()));
        let err = assert_tampered(&tampered, s.a_session_1, "privacy_invalid");
        assert_eq!(privacy_field(&err), field, "{case}: {err}");
    }
    // The evidence digest is opaque: any value replays.
    let mut tampered = items.clone();
    tampered[at] = with_record(&items[at], |r| {
        r.privacy.as_mut().unwrap().evidence_digest = [0; 32]
    });
    Mirror::new().replay(tampered).unwrap();
}

#[test]
fn privacy_is_bound_to_the_log_origin() {
    let s = scenario();
    let mut mirror = Mirror::with_origin("kvitto/test/se-other");
    assert_eq!(mirror.ledger.origin(), "kvitto/test/se-other");
    let err = mirror.assert_rejected(s.primary.items(), "privacy_invalid", s.a_session_1);
    assert_eq!(privacy_field(&err), "range_proof");
    assert!(err.message.contains("kvitto/test/se-other"), "{err}");
}

#[test]
fn the_record_must_match_before_its_privacy_is_judged() {
    let s = scenario();
    let items = s.primary.items();
    let at = s.a_session_1 as usize;
    let mut tampered = items.clone();
    tampered[at] = with_record(&items[at], |r| {
        r.energy_wh += 1;
        r.privacy = None;
    });
    let err = assert_tampered(&tampered, s.a_session_1, "entry_mismatch");
    assert_eq!(mismatch_field(&err), "energy_wh");
}

#[test]
fn replayed_session_effects_carry_the_logged_bytes() {
    let s = scenario();
    let items = s.primary.items();
    let at = s.c_session as usize;
    let mut mirror = Mirror::new();
    mirror.replay(items[..at].to_vec()).unwrap();
    let effects = mirror.replay(vec![items[at].clone()]).unwrap();
    let [(index, Entry::SessionClosed(record), bytes)] = effects.entries.as_slice() else {
        panic!("expected one session record")
    };
    assert_eq!(*index, s.c_session);
    assert_eq!(bytes, &items[at].entry);
    assert!(record.privacy.is_some());
}

#[test]
fn evidence_disclosures_replay() {
    let s = scenario();
    let items = s.primary.items();
    let at = s.disclosure as usize;
    assert_eq!(at, items.len() - 1);
    // In the batch of its session (replay_reproduces_the_log), and in a later batch.
    let mut mirror = Mirror::new();
    mirror.replay(items[..at].to_vec()).unwrap();
    let effects = mirror.replay(items[at..].to_vec()).unwrap();
    assert_eq!(effects.entries, s.primary.entries[at..]);
    assert!(effects.chargers.is_empty() && effects.readings.is_empty());
    assert_eq!(mirror.ledger.size(), s.primary.ledger.size());
    // A disclosure in the same batch as its session.
    let mut p = Primary::new();
    let mut a = charger(7);
    p.register(&a, None);
    let record = p.push(&[a.start(T0 + MIN), a.stop(T0 + 2 * MIN, 10)])[0];
    p.disclose(record);
    p.disclose(record);
    Mirror::new().replay(p.items()).unwrap();
}

#[test]
fn evidence_disclosures_must_name_an_earlier_session_record() {
    let s = scenario();
    let items = s.primary.items();
    let at = s.disclosure as usize;
    let index = s.disclosure;
    let session = record_of(&items[s.a_session_1 as usize]).session;
    let with = |d: EvidenceDisclosure| {
        let mut tampered = items.clone();
        tampered[at] = entry_item(Entry::EvidenceDisclosed(d));
        tampered
    };
    let cases = [
        (
            "a session that was never on this log",
            disclosure(SessionId([0xEE; 16]), s.a_session_1),
            "session_record_unknown",
        ),
        (
            "the index of another session's record",
            disclosure(session, s.a_session_2),
            "session_record_unknown",
        ),
        (
            "the index of an entry that is not a session record",
            disclosure(session, s.first_tariff),
            "session_record_unknown",
        ),
        (
            "its own index",
            disclosure(session, index),
            "record_index_ahead",
        ),
        (
            "an index ahead of it",
            disclosure(session, index + 5),
            "record_index_ahead",
        ),
        (
            "no recipient",
            EvidenceDisclosure {
                recipient: String::new(),
                ..disclosure(session, s.a_session_1)
            },
            "invalid_field",
        ),
        (
            "a control character in the case reference",
            EvidenceDisclosure {
                case_ref: "case\n17".into(),
                ..disclosure(session, s.a_session_1)
            },
            "invalid_field",
        ),
    ];
    for (case, d, code) in cases {
        let err = assert_tampered(&with(d), index, code);
        assert!(
            matches!(err.kind, ReplayErrorKind::Registry(_)),
            "{case}: {err}"
        );
    }
    // An empty case reference is allowed.
    Mirror::new()
        .replay(with(EvidenceDisclosure {
            case_ref: String::new(),
            ..disclosure(session, s.a_session_1)
        }))
        .unwrap();
    // A session that is still open has no record yet.
    let mut p = Primary::new();
    let mut a = charger(7);
    p.register(&a, None);
    p.push(&[a.start(T0 + MIN)]);
    let open = a.session().unwrap();
    let mut items = p.items();
    items.push(entry_item(Entry::EvidenceDisclosed(disclosure(open, 0))));
    assert_tampered(&items, 1, "session_record_unknown");
}

#[test]
fn a_mirror_that_cannot_find_records_blames_itself() {
    let s = scenario();
    let items = s.primary.items();
    let at = s.disclosure as usize;
    let mut mirror = Mirror::new();
    mirror.replay(items[..at].to_vec()).unwrap();
    let before = mirror.snapshot();
    let err = mirror
        .ledger
        .replay_batch(items[at..].to_vec(), &WithoutRecords(&mirror.archive))
        .unwrap_err();
    assert_eq!(
        (err.code(), err.index),
        ("archive_incomplete", s.disclosure)
    );
    assert_eq!(mirror.snapshot(), before);
}

#[test]
fn the_primary_discloses_only_what_its_log_holds() {
    let mut p = Primary::new();
    let mut a = charger(7);
    p.register(&a, None);
    let record = p.push(&[a.start(T0 + MIN), a.stop(T0 + 2 * MIN, 10)])[0];
    let session = record_of_entry(&p.log[record as usize]).session;
    let size = p.ledger.size();
    let refused = |p: &mut Primary, d: EvidenceDisclosure, archive: &dyn ReadingArchive| {
        let err = p.ledger.disclose(d, archive).unwrap_err();
        assert_eq!(p.ledger.size(), size, "a refused disclosure appended");
        err.code()
    };
    let archive = p.archive.clone();
    assert_eq!(
        refused(&mut p, disclosure(session, 0), &archive),
        "session_record_unknown"
    );
    assert_eq!(
        refused(&mut p, disclosure(session, size), &archive),
        "record_index_ahead"
    );
    assert_eq!(
        refused(&mut p, disclosure(SessionId([1; 16]), record), &archive),
        "session_record_unknown"
    );
    assert_eq!(
        refused(
            &mut p,
            disclosure(session, record),
            &WithoutRecords(&archive)
        ),
        "archive_unavailable"
    );
    let index = p.disclose(record);
    assert_eq!(index, size);
    let Entry::EvidenceDisclosed(logged) = Entry::decode(&p.log[index as usize]).unwrap() else {
        panic!("expected a disclosure")
    };
    assert_eq!(logged, disclosure(session, record));
}

/// Builds a primary's log from a script: each step advances one charger's session.
fn scripted(steps: &[(u8, u8)]) -> Primary {
    let mut p = Primary::new();
    let mut chargers: Vec<(SoftCharger, usize)> = (0..3).map(|i| (charger(20 + i), 0)).collect();
    for (c, _) in &chargers {
        p.register(c, Some("AC"));
    }
    p.publish("AC", T0);
    let mut now = T0;
    for &(which, length) in steps {
        now += MIN;
        let (c, in_session) = &mut chargers[usize::from(which) % 3];
        let reading = if c.session().is_none() {
            *in_session = 1;
            c.start(now)
        } else if *in_session < usize::from(length % 4) + 1 {
            *in_session += 1;
            c.meter(now, 100)
        } else {
            c.stop(now, 100)
        };
        p.push(&[reading]);
    }
    for (c, _) in &mut chargers {
        if c.session().is_some() {
            now += MIN;
            let stop = c.stop(now, 100);
            p.push(&[stop]);
        }
    }
    p
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn batch_splits_do_not_change_the_result(
        steps in prop::collection::vec((0u8..3, 0u8..8), 0..40),
        cuts in prop::collection::vec(0usize..100, 0..6),
    ) {
        let p = scripted(&steps);
        let items = p.items();
        let mut whole = Mirror::new();
        let all = whole.replay(items.clone()).unwrap();
        prop_assert_eq!(&all.entries, &p.entries);
        let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c % (items.len() + 1)).collect();
        cuts.push(items.len());
        cuts.sort_unstable();
        let mut split = Mirror::new();
        let mut entries = Vec::new();
        let mut from = 0;
        for cut in cuts {
            entries.extend(split.replay(items[from..cut].to_vec()).unwrap().entries);
            from = cut;
        }
        prop_assert_eq!(&entries, &p.entries);
        prop_assert_eq!(split.snapshot(), whole.snapshot());
        prop_assert_eq!(states(&split.ledger), states(&p.ledger));
    }
}
