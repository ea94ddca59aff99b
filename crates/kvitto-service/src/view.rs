//! What readers see of the log: updated by the sequencer only after data is durable.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use ed25519_dalek::VerifyingKey;
use kvitto_core::KeyId;
use kvitto_ledger::TariffIndex;
use kvitto_tlog::Hash;

/// The durable state of the log, as last published by the sequencer.
#[derive(Debug, Clone)]
pub struct Published {
    /// Entries durable in the store.
    pub size: u64,
    pub root: Hash,
    /// The latest signed checkpoint note, if one was made.
    pub checkpoint: Option<Arc<Vec<u8>>>,
    pub checkpoint_size: u64,
}

/// Shared, read-mostly state: the published log state and the charger key cache that request
/// handlers use to verify signatures in parallel before a batch reaches the sequencer.
#[derive(Debug, Clone)]
pub struct LogView {
    published: Arc<RwLock<Published>>,
    keys: Arc<RwLock<HashMap<KeyId, VerifyingKey>>>,
    /// The tariffs published so far, so handlers can price a closing session ahead of the
    /// sequencer (which checks their choice).
    tariffs: Arc<RwLock<Arc<TariffIndex>>>,
}

impl LogView {
    pub fn new(published: Published, keys: HashMap<KeyId, VerifyingKey>) -> Self {
        LogView {
            published: Arc::new(RwLock::new(published)),
            keys: Arc::new(RwLock::new(keys)),
            tariffs: Arc::default(),
        }
    }

    pub fn tariffs(&self) -> Arc<TariffIndex> {
        self.tariffs
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    pub(crate) fn set_tariffs(&self, tariffs: TariffIndex) {
        *self.tariffs.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(tariffs);
    }

    pub fn published(&self) -> Published {
        // A poisoned lock only means a panic elsewhere; the value itself is always consistent
        // because it is replaced whole.
        self.published
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Replaces the published state of a mirrored log, after its entries are durable.
    pub fn set_published(&self, published: Published) {
        self.publish(|p| *p = published);
    }

    pub(crate) fn publish(&self, update: impl FnOnce(&mut Published)) {
        update(&mut self.published.write().unwrap_or_else(|e| e.into_inner()));
    }

    pub fn key(&self, key_id: &KeyId) -> Option<VerifyingKey> {
        self.keys
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(key_id)
            .copied()
    }

    pub(crate) fn add_key(&self, key_id: KeyId, key: VerifyingKey) {
        self.keys
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(key_id, key);
    }
}
