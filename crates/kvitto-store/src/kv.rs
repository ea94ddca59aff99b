use thiserror::Error;

/// The column families. Each holds one kind of record; their key layouts are in `schema.rs`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Cf {
    /// Schema version, log size, latest checkpoint.
    Meta,
    /// Log entries by index.
    Entries,
    /// Merkle hashes of complete subtrees by (level, index).
    Nodes,
    /// Leaf hash to log index, for inclusion proofs by hash.
    Leaves,
    /// Signed readings by (charger key id, counter).
    Readings,
    /// Charger ingest state by key id.
    Chargers,
    /// Session id to the log index of its record (0xFF.. while open).
    Sessions,
    /// Every signed checkpoint by tree size.
    Checkpoints,
    /// Personal data in the operator's custody, off the ledger: tokens, person keys, pseudonyms,
    /// session authorisations and links. Erasure deletes here and then purges the column family.
    People,
    /// Sealed evidence bundles by session id. Without the person key they cannot be opened.
    Evidence,
    /// What the law requires keeping without the link to a person: amount openings (tax).
    Retained,
}

impl Cf {
    pub const ALL: [Cf; 11] = [
        Cf::Meta,
        Cf::Entries,
        Cf::Nodes,
        Cf::Leaves,
        Cf::Readings,
        Cf::Chargers,
        Cf::Sessions,
        Cf::Checkpoints,
        Cf::People,
        Cf::Evidence,
        Cf::Retained,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Cf::Meta => "meta",
            Cf::Entries => "entries",
            Cf::Nodes => "nodes",
            Cf::Leaves => "leaves",
            Cf::Readings => "readings",
            Cf::Chargers => "chargers",
            Cf::Sessions => "sessions",
            Cf::Checkpoints => "checkpoints",
            Cf::People => "people",
            Cf::Evidence => "evidence",
            Cf::Retained => "retained",
        }
    }
}

#[derive(Debug, Error)]
pub enum StoreError {
    #[error("rocksdb: {0}")]
    Rocks(String),
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    #[error(
        "the database has schema version {found}, this build reads {expected}; run a migration"
    )]
    SchemaVersion { found: u32, expected: u32 },
}

/// Key-value pairs in key order, as a scan returns them.
pub type Pairs = Vec<(Vec<u8>, Vec<u8>)>;

/// Writes that become durable together or not at all.
#[derive(Debug, Default)]
pub struct Batch {
    pub(crate) ops: Vec<(Cf, Vec<u8>, Option<Vec<u8>>)>,
}

impl Batch {
    pub fn put(&mut self, cf: Cf, key: impl Into<Vec<u8>>, value: impl Into<Vec<u8>>) {
        self.ops.push((cf, key.into(), Some(value.into())));
    }
    pub fn delete(&mut self, cf: Cf, key: impl Into<Vec<u8>>) {
        self.ops.push((cf, key.into(), None));
    }
    /// Appends another batch's writes after this one's.
    pub fn append(&mut self, other: Batch) {
        self.ops.extend(other.ops);
    }
    pub fn len(&self) -> usize {
        self.ops.len()
    }
    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }
}

/// The storage boundary. Implementations must make `write` atomic and durable before it returns.
pub trait KvStore: Send + Sync + 'static {
    fn get(&self, cf: Cf, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError>;
    fn multi_get(&self, cf: Cf, keys: &[Vec<u8>]) -> Result<Vec<Option<Vec<u8>>>, StoreError>;
    fn write(&self, batch: Batch) -> Result<(), StoreError>;
    /// Up to `limit` pairs whose key starts with `prefix`, in key order.
    fn scan_prefix(&self, cf: Cf, prefix: &[u8], limit: usize) -> Result<Pairs, StoreError>;
    /// Makes earlier deletions in `cf` physical: no live file, write-ahead log or memtable of
    /// the store still holds a deleted value when this returns. Erasure depends on it.
    fn purge(&self, cf: Cf) -> Result<(), StoreError>;
}
