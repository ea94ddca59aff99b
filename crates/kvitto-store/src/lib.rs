//! kvitto's storage.
//!
//! [`KvStore`] is the IO boundary: column families named by [`Cf`], point reads, prefix scans and
//! atomic batches that are durable when `write` returns. [`RocksStore`] implements it on RocksDB
//! (sync'd write batches: an acknowledged write survives `kill -9` and power loss) and
//! [`MemoryStore`] in memory for fast unit tests. [`LogStore`] is the log's schema on top: entries,
//! Merkle node hashes, readings, charger states, checkpoints, with a stored schema version.
//!
//! This is the only crate that names `rocksdb`.

mod kv;
mod log_store;
mod memory;
mod rocks;
mod schema;

pub use kv::{Batch, Cf, KvStore, Pairs, StoreError};
pub use log_store::{LogStore, StoredState, TreeReader};
pub use memory::MemoryStore;
pub use rocks::RocksStore;
pub use schema::{
    decode_u64_prefix, META_CLONE_CHECKS, META_COSIGNED, META_OWN_SPLIT_VIEW, META_WITNESSED,
    META_WITNESS_PREFIX, SCHEMA_VERSION,
};

#[cfg(test)]
mod tests;
