use kvitto_core::entry::{Entry, TariffRef};
use kvitto_core::keys::{KeyId, SessionId};
use kvitto_core::reading::SignedReading;
use kvitto_ledger::registry::PublishedTariff;
use kvitto_ledger::{
    ChargerState, Effects, OpenSession, ReadingArchive, RecordLookup, TariffIndex,
};
use kvitto_tlog::merkle::{leaf_hash, Frontier, HashReader};
use kvitto_tlog::{Hash, NodeId};

use crate::kv::{Batch, Cf, KvStore, Pairs, StoreError};
use crate::schema::{self, SCHEMA_VERSION};

/// The log's schema on a [`KvStore`].
#[derive(Debug)]
pub struct LogStore<S> {
    kv: S,
}

/// Everything the node loads at startup.
#[derive(Debug)]
pub struct StoredState {
    pub size: u64,
    pub frontier: Frontier,
    pub chargers: Vec<ChargerState>,
    pub tariffs: TariffIndex,
    pub checkpoint: Option<Vec<u8>>,
}

fn corrupt(what: impl Into<String>) -> StoreError {
    StoreError::Corrupt(what.into())
}

impl<S: KvStore> LogStore<S> {
    /// Opens the log, writing the schema version into an empty store and refusing a store
    /// written by a newer build. Migrations from older versions go here, one numbered step each.
    pub fn open(kv: S) -> Result<Self, StoreError> {
        match kv.get(Cf::Meta, schema::META_SCHEMA_VERSION)? {
            None => {
                let mut batch = Batch::default();
                batch.put(
                    Cf::Meta,
                    schema::META_SCHEMA_VERSION,
                    SCHEMA_VERSION.to_be_bytes().to_vec(),
                );
                batch.put(Cf::Meta, schema::META_SIZE, 0u64.to_be_bytes().to_vec());
                kv.write(batch)?;
            }
            Some(bytes) => {
                let found = u32::from_be_bytes(
                    bytes
                        .as_slice()
                        .try_into()
                        .map_err(|_| corrupt("schema version"))?,
                );
                if found != SCHEMA_VERSION {
                    return Err(StoreError::SchemaVersion {
                        found,
                        expected: SCHEMA_VERSION,
                    });
                }
            }
        }
        Ok(LogStore { kv })
    }

    pub fn kv(&self) -> &S {
        &self.kv
    }

    pub fn size(&self) -> Result<u64, StoreError> {
        let bytes = self
            .kv
            .get(Cf::Meta, schema::META_SIZE)?
            .ok_or_else(|| corrupt("log size is missing"))?;
        schema::decode_u64(&bytes).ok_or_else(|| corrupt("log size"))
    }

    pub fn load(&self) -> Result<StoredState, StoreError> {
        let size = self.size()?;
        let frontier = Frontier::from_reader(&self.tree(), size)
            .map_err(|e| corrupt(format!("frontier: {e}")))?;
        let mut chargers = Vec::new();
        for (_, value) in self.kv.scan_prefix(Cf::Chargers, &[], usize::MAX)? {
            chargers.push(self.decode_charger(&value)?);
        }
        let mut tariffs = TariffIndex::default();
        for (key, _) in self
            .kv
            .scan_prefix(Cf::Meta, schema::META_TARIFF_PREFIX, usize::MAX)?
        {
            let index = schema::decode_u64(&key[schema::META_TARIFF_PREFIX.len()..])
                .ok_or_else(|| corrupt("tariff key"))?;
            let bytes = self
                .entry(index)?
                .ok_or_else(|| corrupt(format!("tariff entry {index} is missing")))?;
            let Ok(Entry::TariffPublished(t)) = Entry::decode(&bytes) else {
                return Err(corrupt(format!("entry {index} is not a tariff")));
            };
            tariffs.push(PublishedTariff {
                tariff_id: t.tariff_id,
                counterparty: t.counterparty,
                valid_from_ms: t.valid_from_ms,
                reference: TariffRef {
                    index,
                    leaf_hash: leaf_hash(&bytes).0,
                },
            });
        }
        let checkpoint = self.kv.get(Cf::Meta, schema::META_CHECKPOINT)?;
        Ok(StoredState {
            size,
            frontier,
            chargers,
            tariffs,
            checkpoint,
        })
    }

    /// Adds `effects` to `batch`, appending their entries to `frontier`. The caller writes the
    /// batch; until then nothing is visible to readers that go through the store.
    pub fn stage(
        &self,
        batch: &mut Batch,
        frontier: &mut Frontier,
        effects: &Effects,
    ) -> Result<(), StoreError> {
        for (index, entry, bytes) in &effects.entries {
            if *index != frontier.size() {
                return Err(corrupt(format!(
                    "entry index {index} does not follow log size {}",
                    frontier.size()
                )));
            }
            // Check the entry right before it is written: it must decode to what was meant.
            if Entry::decode(bytes).as_ref() != Ok(entry) {
                return Err(corrupt(format!("entry {index} does not round-trip")));
            }
            let leaf = leaf_hash(bytes);
            batch.put(Cf::Entries, schema::index_key(*index), bytes.clone());
            batch.put(Cf::Leaves, leaf.0.to_vec(), schema::index_key(*index));
            let nodes = frontier
                .append(leaf)
                .map_err(|_| corrupt("the tree is full"))?;
            for (id, hash) in nodes {
                batch.put(Cf::Nodes, schema::node_key(id), hash.0.to_vec());
            }
            if let Entry::TariffPublished(_) = entry {
                batch.put(Cf::Meta, schema::tariff_key(*index), Vec::new());
            }
        }
        for reading in &effects.readings {
            let r = &reading.reading;
            batch.put(
                Cf::Readings,
                schema::reading_key(&r.key_id, r.counter),
                reading.encode(),
            );
            if r.kind == kvitto_core::ReadingKind::Start {
                batch.put(
                    Cf::Sessions,
                    schema::session_key(&r.session),
                    schema::session_value(schema::SESSION_OPEN, &r.key_id),
                );
            }
        }
        for (index, entry, _) in &effects.entries {
            if let Entry::SessionClosed(record) = entry {
                batch.put(
                    Cf::Sessions,
                    schema::session_key(&record.session),
                    schema::session_value(*index, &record.key_id),
                );
            }
        }
        for state in &effects.chargers {
            batch.put(
                Cf::Chargers,
                state.key_id().0.to_vec(),
                schema::encode_charger(state),
            );
        }
        batch.put(
            Cf::Meta,
            schema::META_SIZE,
            schema::index_key(frontier.size()),
        );
        Ok(())
    }

    /// Records a signed checkpoint as the latest, and in the history used by `kvitto log verify`.
    pub fn stage_checkpoint(&self, batch: &mut Batch, size: u64, note: &[u8]) {
        batch.put(Cf::Meta, schema::META_CHECKPOINT, note.to_vec());
        batch.put(Cf::Checkpoints, schema::index_key(size), note.to_vec());
    }

    /// Adds a replication record (`schema::META_WITNESS_PREFIX`, `META_COSIGNED`,
    /// `META_WITNESSED`) to `batch`.
    pub fn stage_meta(&self, batch: &mut Batch, key: &[u8], value: &[u8]) {
        batch.put(Cf::Meta, key.to_vec(), value.to_vec());
    }

    pub fn meta(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        self.kv.get(Cf::Meta, key)
    }

    /// Every meta record whose key starts with `prefix`, the prefix stripped from the keys.
    pub fn meta_with_prefix(&self, prefix: &[u8]) -> Result<Pairs, StoreError> {
        Ok(self
            .kv
            .scan_prefix(Cf::Meta, prefix, usize::MAX)?
            .into_iter()
            .map(|(k, v)| (k[prefix.len()..].to_vec(), v))
            .collect())
    }

    pub fn write(&self, batch: Batch) -> Result<(), StoreError> {
        self.kv.write(batch)
    }

    pub fn entry(&self, index: u64) -> Result<Option<Vec<u8>>, StoreError> {
        self.kv.get(Cf::Entries, &schema::index_key(index))
    }

    pub fn entries(&self, start: u64, count: usize) -> Result<Vec<Vec<u8>>, StoreError> {
        let keys: Vec<Vec<u8>> = (start..start + count as u64)
            .map(schema::index_key)
            .collect();
        self.kv
            .multi_get(Cf::Entries, &keys)?
            .into_iter()
            .zip(start..)
            .map(|(v, i)| v.ok_or_else(|| corrupt(format!("entry {i} is missing"))))
            .collect()
    }

    pub fn leaf_index(&self, leaf: &Hash) -> Result<Option<u64>, StoreError> {
        Ok(self
            .kv
            .get(Cf::Leaves, &leaf.0)?
            .and_then(|v| schema::decode_u64(&v)))
    }

    pub fn reading(
        &self,
        key_id: &KeyId,
        counter: u64,
    ) -> Result<Option<SignedReading>, StoreError> {
        match self
            .kv
            .get(Cf::Readings, &schema::reading_key(key_id, counter))?
        {
            None => Ok(None),
            Some(bytes) => SignedReading::decode(&bytes)
                .map(Some)
                .map_err(|e| corrupt(format!("reading: {e}"))),
        }
    }

    pub fn readings(
        &self,
        key_id: &KeyId,
        first: u64,
        last: u64,
    ) -> Result<Vec<SignedReading>, StoreError> {
        (first..=last)
            .map(|c| {
                self.reading(key_id, c)?
                    .ok_or_else(|| corrupt(format!("reading {c} of {key_id} is missing")))
            })
            .collect()
    }

    /// The charger of a session and the log index of its record (`None` while it is open).
    pub fn session(&self, session: &SessionId) -> Result<Option<(KeyId, Option<u64>)>, StoreError> {
        let Some(value) = self.kv.get(Cf::Sessions, &schema::session_key(session))? else {
            return Ok(None);
        };
        let (index, key_id) =
            schema::decode_session_value(&value).ok_or_else(|| corrupt("session value"))?;
        Ok(Some((
            key_id,
            (index != schema::SESSION_OPEN).then_some(index),
        )))
    }

    /// A charger's stored state, with its open session's readings.
    pub fn charger(&self, key_id: &KeyId) -> Result<Option<ChargerState>, StoreError> {
        match self.kv.get(Cf::Chargers, &key_id.0)? {
            None => Ok(None),
            Some(bytes) => Ok(Some(self.decode_charger(&bytes)?)),
        }
    }

    fn decode_charger(&self, bytes: &[u8]) -> Result<ChargerState, StoreError> {
        let stored =
            schema::decode_charger(bytes).map_err(|e| corrupt(format!("charger state: {e}")))?;
        let mut state = stored.state;
        if let Some((session, first_counter)) = stored.open {
            let last = state.last.map_or(0, |l| l.counter);
            let readings = self.readings(&state.key_id(), first_counter, last)?;
            state.open = Some(OpenSession { session, readings });
        }
        Ok(state)
    }

    pub fn checkpoints(&self) -> Result<Vec<(u64, Vec<u8>)>, StoreError> {
        self.kv
            .scan_prefix(Cf::Checkpoints, &[], usize::MAX)?
            .into_iter()
            .map(|(k, v)| {
                Ok((
                    schema::decode_u64(&k).ok_or_else(|| corrupt("checkpoint key"))?,
                    v,
                ))
            })
            .collect()
    }

    pub fn tree(&self) -> TreeReader<'_, S> {
        TreeReader { kv: &self.kv }
    }
}

/// Reads Merkle node hashes from the store, for proofs and tiles.
#[derive(Debug)]
pub struct TreeReader<'a, S> {
    kv: &'a S,
}

impl<S: KvStore> HashReader for TreeReader<'_, S> {
    type Error = StoreError;

    fn read_hashes(&self, ids: &[NodeId]) -> Result<Vec<Hash>, StoreError> {
        let keys: Vec<Vec<u8>> = ids.iter().map(|id| schema::node_key(*id)).collect();
        self.kv
            .multi_get(Cf::Nodes, &keys)?
            .into_iter()
            .zip(ids)
            .map(|(v, id)| {
                let v = v.ok_or_else(|| corrupt(format!("node {id:?} is missing")))?;
                Hash::from_slice(&v).map_err(|e| corrupt(format!("node {id:?}: {e}")))
            })
            .collect()
    }
}

impl<S: KvStore> ReadingArchive for LogStore<S> {
    fn reading(&self, key_id: &KeyId, counter: u64) -> Option<SignedReading> {
        // A read error here is treated as "not found", which can only make the check stricter
        // (the reading is then rejected as a replay rather than kept as clone evidence).
        LogStore::reading(self, key_id, counter).ok().flatten()
    }

    fn session_exists(&self, session: &SessionId) -> bool {
        // On a read error, refuse the session id: the safe side.
        self.session(session).map(|s| s.is_some()).unwrap_or(true)
    }

    fn session_record(&self, session: &SessionId) -> RecordLookup {
        match self.session(session) {
            Ok(Some((_, Some(index)))) => RecordLookup::At(index),
            Ok(_) => RecordLookup::NotClosed,
            Err(_) => RecordLookup::Unavailable,
        }
    }
}
