use ed25519_dalek::SigningKey;
use kvitto_core::charger::SoftCharger;
use kvitto_core::entry::{ChargerRegistration, TariffPublication};
use kvitto_core::keys::NetworkId;
use kvitto_ledger::{IngestConfig, Ledger, VerifiedReading};
use kvitto_tlog::merkle::{inclusion_proof, root, verify_inclusion};

use crate::{KvStore, LogStore, MemoryStore, RocksStore};

const T0: u64 = 1_764_000_000_000;

/// Drives a ledger into a store, then reloads it and checks that state and tree match.
fn round_trip<S: KvStore>(make: impl Fn() -> S) {
    let network = NetworkId::of_name("t");
    let store = LogStore::open(make()).unwrap();
    let mut ledger = Ledger::new(network, "kvitto/t/se-kvt", IngestConfig::default());
    let mut frontier = store.load().unwrap().frontier;
    let mut charger = SoftCharger::new(SigningKey::from_bytes(&[1; 32]), network);
    let registration = ChargerRegistration {
        public_key: charger.public_key(),
        evse_id: "SE*KVT*E1".into(),
        meter_serial: "M1".into(),
        max_power_w: 11_000,
        valid_from_ms: T0,
        tariff_id: Some("AC".into()),
    };
    let mut all = ledger.register_charger(registration, T0).unwrap();
    all.merge(
        ledger
            .publish_tariff(
                TariffPublication {
                    tariff_id: "AC".into(),
                    counterparty: None,
                    valid_from_ms: T0,
                    tariff_json: "{}".into(),
                },
                T0,
            )
            .unwrap(),
    );
    let mut batch = crate::Batch::default();
    store.stage(&mut batch, &mut frontier, &all).unwrap();
    store.write(batch).unwrap();
    let key = SigningKey::from_bytes(&[1; 32]).verifying_key();
    for i in 0..5u64 {
        let readings = vec![
            charger.start(T0 + i * 100_000),
            charger.meter(T0 + i * 100_000 + 10_000, 5),
            charger.stop(T0 + i * 100_000 + 20_000, 5),
        ];
        let batch_in = readings
            .into_iter()
            .map(|r| VerifiedReading::verify(r, &key).unwrap())
            .collect();
        let effects = ledger.ingest(batch_in, T0 + 10_000_000, &store).unwrap();
        let mut batch = crate::Batch::default();
        store.stage(&mut batch, &mut frontier, &effects).unwrap();
        store.write(batch).unwrap();
    }
    // An open session survives a reload with its readings.
    let open = vec![VerifiedReading::verify(charger.start(T0 + 900_000), &key).unwrap()];
    let effects = ledger.ingest(open, T0 + 10_000_000, &store).unwrap();
    let mut batch = crate::Batch::default();
    store.stage(&mut batch, &mut frontier, &effects).unwrap();
    store.write(batch).unwrap();

    let loaded = store.load().unwrap();
    assert_eq!(loaded.size, 7, "registration, tariff, five sessions");
    assert_eq!(loaded.frontier.root(), frontier.root());
    assert_eq!(root(&store.tree(), loaded.size).unwrap(), frontier.root());
    assert_eq!(loaded.tariffs.all().len(), 1);
    let reloaded = &loaded.chargers[0];
    assert_eq!(reloaded, ledger.charger(&charger.key_id()).unwrap());
    let entries = store.entries(0, 7).unwrap();
    for (i, bytes) in entries.iter().enumerate() {
        let leaf = kvitto_tlog::merkle::leaf_hash(bytes);
        assert_eq!(store.leaf_index(&leaf).unwrap(), Some(i as u64));
        let proof = inclusion_proof(&store.tree(), i as u64, loaded.size).unwrap();
        verify_inclusion(i as u64, loaded.size, &leaf, &proof, &frontier.root()).unwrap();
    }
}

#[test]
fn memory_round_trip() {
    round_trip(MemoryStore::new);
}

#[test]
fn rocks_round_trip_and_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    round_trip(|| RocksStore::open(&path).unwrap());
    // The store closed with the LogStore; reopening sees the same size.
    let store = LogStore::open(RocksStore::open(&path).unwrap()).unwrap();
    assert_eq!(store.size().unwrap(), 7);
}

#[test]
fn newer_schema_is_refused() {
    let kv = MemoryStore::new();
    let mut batch = crate::Batch::default();
    batch.put(
        crate::Cf::Meta,
        crate::schema::META_SCHEMA_VERSION,
        99u32.to_be_bytes().to_vec(),
    );
    kv.write(batch).unwrap();
    let err = LogStore::open(kv).unwrap_err().to_string();
    assert!(err.contains("schema version 99"), "{err}");
}
