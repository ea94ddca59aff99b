use std::collections::BTreeMap;
use std::sync::Mutex;

use crate::kv::{Batch, Cf, KvStore, Pairs, StoreError};

/// An in-memory [`KvStore`] for unit tests. Not durable, by design.
#[derive(Debug, Default)]
pub struct MemoryStore {
    data: Mutex<Data>,
}

type Data = BTreeMap<(Cf, Vec<u8>), Vec<u8>>;

impl MemoryStore {
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Data> {
        // A poisoned lock means a test thread panicked mid-write; the data is still usable.
        self.data.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl KvStore for MemoryStore {
    fn get(&self, cf: Cf, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.lock().get(&(cf, key.to_vec())).cloned())
    }

    fn multi_get(&self, cf: Cf, keys: &[Vec<u8>]) -> Result<Vec<Option<Vec<u8>>>, StoreError> {
        let data = self.lock();
        Ok(keys
            .iter()
            .map(|k| data.get(&(cf, k.clone())).cloned())
            .collect())
    }

    fn write(&self, batch: Batch) -> Result<(), StoreError> {
        let mut data = self.lock();
        for (cf, key, value) in batch.ops {
            match value {
                Some(v) => data.insert((cf, key), v),
                None => data.remove(&(cf, key)),
            };
        }
        Ok(())
    }

    fn scan_prefix(&self, cf: Cf, prefix: &[u8], limit: usize) -> Result<Pairs, StoreError> {
        let data = self.lock();
        Ok(data
            .range((cf, prefix.to_vec())..)
            .take_while(|((c, k), _)| *c == cf && k.starts_with(prefix))
            .take(limit)
            .map(|((_, k), v)| (k.clone(), v.clone()))
            .collect())
    }

    fn purge(&self, _cf: Cf) -> Result<(), StoreError> {
        // A removed map entry is gone already.
        Ok(())
    }
}
