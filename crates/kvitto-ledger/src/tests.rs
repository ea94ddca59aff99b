//! One test per ingest rule, each asserting the specific code and that nothing changed.

use ed25519_dalek::SigningKey;
use kvitto_core::charger::SoftCharger;
use kvitto_core::entry::{ChargerRegistration, ChargerRevocation, Entry, TariffPublication};
use kvitto_core::keys::{NetworkId, SessionId};
use kvitto_core::reading::{ReadingKind, SignedReading};

use crate::{IngestConfig, Ledger, MemoryArchive, RejectCode, VerifiedReading};

const T0: u64 = 1_764_000_000_000;
const MIN: u64 = 60_000;

struct Harness {
    ledger: Ledger,
    archive: MemoryArchive,
}

impl Harness {
    fn new() -> (Self, SoftCharger) {
        let network = NetworkId::of_name("test");
        let mut ledger = Ledger::new(network, "kvitto/test/se-kvt", IngestConfig::default());
        let charger = SoftCharger::new(SigningKey::from_bytes(&[7; 32]), network);
        ledger
            .register_charger(registration(&charger, T0), T0)
            .unwrap();
        (
            Harness {
                ledger,
                archive: MemoryArchive::default(),
            },
            charger,
        )
    }

    fn verified(&self, reading: &SignedReading) -> VerifiedReading {
        let key = self
            .ledger
            .charger(&reading.reading.key_id)
            .unwrap()
            .verifying_key()
            .unwrap();
        VerifiedReading::verify(reading.clone(), key).unwrap()
    }

    fn push(&mut self, readings: &[SignedReading]) -> Result<crate::Effects, RejectCode> {
        let batch = readings.iter().map(|r| self.verified(r)).collect();
        match self.ledger.ingest(batch, T0 + 24 * 60 * MIN, &self.archive) {
            Ok(effects) => {
                self.archive.add(&effects);
                Ok(effects)
            }
            Err((rejection, _)) => Err(rejection.code),
        }
    }

    /// Pushes `bad` and asserts it is rejected with `code` and changes no state.
    fn assert_rejected(&mut self, bad: &[SignedReading], code: RejectCode) {
        let before = self.snapshot();
        assert_eq!(self.push(bad).err(), Some(code));
        assert_eq!(
            self.snapshot(),
            before,
            "a rejected batch changed the ledger"
        );
    }

    fn snapshot(&self) -> (u64, Vec<String>) {
        let mut states: Vec<String> = self.ledger.chargers().map(|c| format!("{c:?}")).collect();
        states.sort();
        (self.ledger.size(), states)
    }
}

fn registration(charger: &SoftCharger, valid_from_ms: u64) -> ChargerRegistration {
    ChargerRegistration {
        public_key: charger.public_key(),
        evse_id: "SE*KVT*E0001*1".into(),
        meter_serial: "MTR-0001".into(),
        max_power_w: 22_000,
        valid_from_ms,
        tariff_id: Some("AC".into()),
    }
}

#[test]
fn full_session_closes_with_a_record() {
    let (mut h, mut c) = Harness::new();
    let start = c.start(T0 + MIN);
    let mid = c.meter(T0 + 11 * MIN, 3_000);
    let stop = c.stop(T0 + 21 * MIN, 3_000);
    let effects = h.push(&[start.clone(), mid.clone(), stop.clone()]).unwrap();
    assert_eq!(effects.entries.len(), 1);
    let (index, Entry::SessionClosed(record), _) = &effects.entries[0] else {
        panic!("expected a session record")
    };
    assert_eq!(*index, 1, "the registration is entry 0");
    assert_eq!(record.energy_wh, 6_000);
    assert_eq!(record.reading_count, 3);
    assert_eq!((record.first_counter, record.last_counter), (1, 3));
    assert_eq!(
        record.readings_digest,
        kvitto_core::reading::session_readings_digest([&start, &mid, &stop])
    );
    assert!(h.ledger.charger(&c.key_id()).unwrap().open.is_none());
}

#[test]
fn session_record_names_the_tariff_in_force_at_start() {
    let (mut h, mut c) = Harness::new();
    let publish = |ledger: &mut Ledger, valid_from_ms| {
        let tariff = TariffPublication {
            tariff_id: "AC".into(),
            counterparty: None,
            valid_from_ms,
            tariff_json: "{}".into(),
        };
        ledger.publish_tariff(tariff, T0).unwrap().entries[0].0
    };
    let first = publish(&mut h.ledger, T0);
    let _later = publish(&mut h.ledger, T0 + 60 * MIN);
    let start = c.start(T0 + MIN);
    assert!(h.push(&[start]).unwrap().entries.is_empty());
    let stop = c.stop(T0 + 70 * MIN, 1_000);
    let effects = h.push(&[stop]).unwrap();
    let Entry::SessionClosed(record) = &effects.entries[0].1 else {
        panic!()
    };
    assert_eq!(
        record.tariff.unwrap().index,
        first,
        "the tariff valid at the start applies, not the later one"
    );
}

#[test]
fn tariffs_cannot_be_backdated() {
    let (mut h, _c) = Harness::new();
    let tariff = TariffPublication {
        tariff_id: "AC".into(),
        counterparty: None,
        valid_from_ms: T0 - 10 * MIN,
        tariff_json: "{}".into(),
    };
    assert_eq!(
        h.ledger.publish_tariff(tariff, T0).unwrap_err().code(),
        "invalid_field"
    );
}

#[test]
fn unknown_charger() {
    let (mut h, _c) = Harness::new();
    let mut stranger = SoftCharger::new(SigningKey::from_bytes(&[8; 32]), h.ledger.network());
    let reading = stranger.start(T0 + MIN);
    let batch =
        vec![
            VerifiedReading::verify(reading, &SigningKey::from_bytes(&[8; 32]).verifying_key())
                .unwrap(),
        ];
    let err = h.ledger.ingest(batch, T0 + MIN, &h.archive).unwrap_err().0;
    assert_eq!(err.code, RejectCode::UnknownCharger);
}

#[test]
fn forged_signature() {
    let (h, c) = Harness::new();
    let forger = SigningKey::from_bytes(&[9; 32]);
    let forged = c.peek(ReadingKind::Start, T0 + MIN, 0).sign(&forger);
    let key = h
        .ledger
        .charger(&c.key_id())
        .unwrap()
        .verifying_key()
        .unwrap();
    assert_eq!(
        VerifiedReading::verify(forged, key).unwrap_err().code,
        RejectCode::BadSignature
    );
}

#[test]
fn wrong_network() {
    let (mut h, _c) = Harness::new();
    let mut other = SoftCharger::new(
        SigningKey::from_bytes(&[7; 32]),
        NetworkId::of_name("elsewhere"),
    );
    h.assert_rejected(&[other.start(T0 + MIN)], RejectCode::WrongNetwork);
}

#[test]
fn key_not_yet_valid() {
    let (mut h, c) = Harness::new();
    h.assert_rejected(&[c.clone().start(T0 - MIN)], RejectCode::KeyNotYetValid);
}

#[test]
fn key_revoked() {
    let (mut h, mut c) = Harness::new();
    let revocation = ChargerRevocation {
        key_id: c.key_id(),
        revoked_from_ms: T0 + 5 * MIN,
        reason: "stolen".into(),
    };
    h.ledger.revoke_charger(revocation).unwrap();
    let start = c.start(T0 + MIN);
    h.push(&[start]).unwrap();
    h.assert_rejected(&[c.clone().stop(T0 + 6 * MIN, 10)], RejectCode::KeyRevoked);
}

#[test]
fn replayed_reading() {
    let (mut h, mut c) = Harness::new();
    let start = c.start(T0 + MIN);
    h.push(std::slice::from_ref(&start)).unwrap();
    h.assert_rejected(&[start], RejectCode::ReplayedReading);
    // A replay of a reading from a closed session is found in the archive.
    let stop = c.stop(T0 + 2 * MIN, 100);
    h.push(std::slice::from_ref(&stop)).unwrap();
    h.assert_rejected(&[stop], RejectCode::ReplayedReading);
}

#[test]
fn reused_counter_is_rejected_and_kept_as_evidence_once() {
    let (mut h, mut c) = Harness::new();
    let mut clone = c.clone();
    h.push(&[c.start(T0 + MIN)]).unwrap();
    let twin = clone.start(T0 + 2 * MIN);
    let batch = vec![h.verified(&twin)];
    let (rejection, evidence) = h
        .ledger
        .ingest(batch, T0 + 3 * MIN, &h.archive)
        .unwrap_err();
    assert_eq!(rejection.code, RejectCode::CounterReused);
    let evidence = evidence.expect("evidence is appended");
    assert!(matches!(evidence.entries[0].1, Entry::ChargerKeyCloned(_)));
    // The same conflict again is still rejected but not recorded twice.
    let (_, again) = h
        .ledger
        .ingest(vec![h.verified(&twin)], T0 + 3 * MIN, &h.archive)
        .unwrap_err();
    assert!(again.is_none());
}

#[test]
fn counter_gap() {
    let (mut h, mut c) = Harness::new();
    let _skipped = c.start(T0 + MIN);
    h.assert_rejected(&[c.clone().stop(T0 + 2 * MIN, 10)], RejectCode::CounterGap);
}

#[test]
fn broken_chain() {
    let (mut h, mut c) = Harness::new();
    h.push(&[c.start(T0 + MIN)]).unwrap();
    let mut body = c.peek(ReadingKind::Stop, T0 + 2 * MIN, 10);
    body.prev_hash = [0xAA; 32];
    h.assert_rejected(&[body.sign(c.signing_key())], RejectCode::BrokenChain);
}

#[test]
fn timestamp_regressed_and_in_future() {
    let (mut h, mut c) = Harness::new();
    h.push(&[c.start(T0 + 10 * MIN)]).unwrap();
    h.assert_rejected(
        &[c.clone().stop(T0 + 9 * MIN, 0)],
        RejectCode::TimestampRegressed,
    );
    h.assert_rejected(
        &[c.clone().stop(T0 + 48 * 60 * MIN, 0)],
        RejectCode::TimestampInFuture,
    );
}

#[test]
fn register_decreased() {
    let (mut h, mut c) = Harness::new();
    h.push(&[c.start(T0 + MIN), c.meter(T0 + 2 * MIN, 100)])
        .unwrap();
    let mut body = c.peek(ReadingKind::Stop, T0 + 3 * MIN, 0);
    body.register_wh -= 1;
    h.assert_rejected(&[body.sign(c.signing_key())], RejectCode::RegisterDecreased);
}

#[test]
fn power_implausible() {
    let (mut h, mut c) = Harness::new();
    h.push(&[c.start(T0 + MIN)]).unwrap();
    // 22 kW for 10 minutes is 3667 Wh; 5000 Wh is not possible.
    h.assert_rejected(
        &[c.clone().stop(T0 + 11 * MIN, 5_000)],
        RejectCode::PowerImplausible,
    );
    h.push(&[c.stop(T0 + 11 * MIN, 3_600)]).unwrap();
}

#[test]
fn session_state_machine() {
    let (mut h, mut c) = Harness::new();
    h.assert_rejected(&[c.clone().meter(T0 + MIN, 0)], RejectCode::NoOpenSession);
    h.push(&[c.start(T0 + MIN)]).unwrap();
    h.assert_rejected(
        &[c.clone().start(T0 + 2 * MIN)],
        RejectCode::SessionAlreadyOpen,
    );
    let mut body = c.peek(ReadingKind::Intermediate, T0 + 2 * MIN, 0);
    body.session = SessionId([0xEE; 16]);
    h.assert_rejected(&[body.sign(c.signing_key())], RejectCode::SessionMismatch);
}

#[test]
fn session_id_reused() {
    let (mut h, mut c) = Harness::new();
    let id = SessionId([5; 16]);
    h.push(&[c.start_with(id, T0 + MIN), c.stop(T0 + 2 * MIN, 1)])
        .unwrap();
    h.assert_rejected(
        &[c.clone().start_with(id, T0 + 3 * MIN)],
        RejectCode::SessionIdReused,
    );
}

#[test]
fn batch_is_all_or_nothing() {
    let (mut h, mut c) = Harness::new();
    let good = c.start(T0 + MIN);
    let _gap = c.meter(T0 + 2 * MIN, 1);
    let bad = c.stop(T0 + 3 * MIN, 1);
    h.assert_rejected(&[good.clone(), bad], RejectCode::CounterGap);
    h.push(&[good]).unwrap();
}

#[test]
fn registration_rules() {
    let (mut h, c) = Harness::new();
    let err = h
        .ledger
        .register_charger(registration(&c, T0), T0)
        .unwrap_err();
    assert_eq!(err.code(), "charger_already_registered");
    let other = SoftCharger::new(SigningKey::from_bytes(&[3; 32]), h.ledger.network());
    let mut bad = registration(&other, T0);
    bad.evse_id = "x".repeat(49);
    assert!(h
        .ledger
        .register_charger(bad, T0)
        .unwrap_err()
        .to_string()
        .contains("evse_id"));
    let mut weak = registration(&other, T0);
    weak.public_key = [0; 32];
    weak.public_key[0] = 1; // the identity point: small order
    assert!(h
        .ledger
        .register_charger(weak, T0)
        .unwrap_err()
        .to_string()
        .contains("public_key"));
}
