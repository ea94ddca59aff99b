use std::path::Path;

use rocksdb::{
    BottommostLevelCompaction, ColumnFamilyDescriptor, CompactOptions, Direction, IteratorMode,
    Options, WriteBatch, WriteOptions, DB,
};

use crate::kv::{Batch, Cf, KvStore, Pairs, StoreError};

/// [`KvStore`] on RocksDB. Every batch is written with `sync = true`: it is on disk, WAL
/// fsync'd, before `write` returns. Callers group many requests into one batch so they share one
/// fsync (group commit).
pub struct RocksStore {
    db: DB,
    /// Opened with [`RocksStore::open_read_only`]: writes and purges are refused.
    read_only: bool,
}

impl std::fmt::Debug for RocksStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RocksStore")
            .field("path", &self.db.path())
            .finish()
    }
}

fn rocks(e: rocksdb::Error) -> StoreError {
    StoreError::Rocks(e.into_string())
}

impl RocksStore {
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let mut opts = Options::default();
        opts.create_if_missing(true);
        opts.create_missing_column_families(true);
        // Bounded background work and open files: this runs beside the node on small machines.
        opts.increase_parallelism(2);
        opts.set_max_open_files(512);
        let cfs = Cf::ALL
            .iter()
            .map(|cf| ColumnFamilyDescriptor::new(cf.name(), Options::default()));
        let db = DB::open_cf_descriptors(&opts, path, cfs).map_err(rocks)?;
        Ok(RocksStore {
            db,
            read_only: false,
        })
    }

    /// Opens an existing store for reading only, beside a process that may have it open for
    /// writing (`kvitto audit` reads a running node's stores this way). It sees what was durable
    /// when it opened, the write-ahead log included; later writes are not visible. Every column
    /// family must exist; [`KvStore::write`] and [`KvStore::purge`] fail.
    pub fn open_read_only(path: &Path) -> Result<Self, StoreError> {
        let mut opts = Options::default();
        opts.set_max_open_files(512);
        let names = Cf::ALL.iter().map(|cf| cf.name());
        let db = DB::open_cf_for_read_only(&opts, path, names, false).map_err(rocks)?;
        Ok(RocksStore {
            db,
            read_only: true,
        })
    }

    fn refuse_if_read_only(&self) -> Result<(), StoreError> {
        if self.read_only {
            return Err(StoreError::Rocks(format!(
                "{} is open read-only",
                self.db.path().display()
            )));
        }
        Ok(())
    }

    fn handle(&self, cf: Cf) -> Result<&rocksdb::ColumnFamily, StoreError> {
        self.db
            .cf_handle(cf.name())
            .ok_or_else(|| StoreError::Corrupt(format!("column family {} is missing", cf.name())))
    }
}

impl KvStore for RocksStore {
    fn get(&self, cf: Cf, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        self.db.get_cf(self.handle(cf)?, key).map_err(rocks)
    }

    fn multi_get(&self, cf: Cf, keys: &[Vec<u8>]) -> Result<Vec<Option<Vec<u8>>>, StoreError> {
        let handle = self.handle(cf)?;
        self.db
            .multi_get_cf(keys.iter().map(|k| (handle, k.as_slice())))
            .into_iter()
            .map(|r| r.map_err(rocks))
            .collect()
    }

    fn write(&self, batch: Batch) -> Result<(), StoreError> {
        self.refuse_if_read_only()?;
        let mut wb = WriteBatch::default();
        for (cf, key, value) in &batch.ops {
            let handle = self.handle(*cf)?;
            match value {
                Some(v) => wb.put_cf(handle, key, v),
                None => wb.delete_cf(handle, key),
            }
        }
        let mut options = WriteOptions::default();
        options.set_sync(true);
        self.db.write_opt(wb, &options).map_err(rocks)
    }

    fn scan_prefix(&self, cf: Cf, prefix: &[u8], limit: usize) -> Result<Pairs, StoreError> {
        let mut out = Vec::new();
        for item in self.db.iterator_cf(
            self.handle(cf)?,
            IteratorMode::From(prefix, Direction::Forward),
        ) {
            let (k, v) = item.map_err(rocks)?;
            if !k.starts_with(prefix) || out.len() >= limit {
                break;
            }
            out.push((k.to_vec(), v.to_vec()));
        }
        Ok(out)
    }

    fn purge(&self, cf: Cf) -> Result<(), StoreError> {
        // Flush every column family, so no write-ahead log file still holds the deleted values
        // (RocksDB deletes a log file once every family has flushed past it), then rewrite the
        // family's files down to the last level, where tombstones and the values they shadow go.
        self.refuse_if_read_only()?;
        for each in Cf::ALL {
            self.db.flush_cf(self.handle(each)?).map_err(rocks)?;
        }
        let mut options = CompactOptions::default();
        options.set_bottommost_level_compaction(BottommostLevelCompaction::Force);
        options.set_exclusive_manual_compaction(true);
        self.db
            .compact_range_cf_opt(self.handle(cf)?, None::<&[u8]>, None::<&[u8]>, &options);
        Ok(())
    }
}

#[cfg(test)]
mod read_only_tests {
    use super::*;

    #[test]
    fn a_read_only_store_reads_beside_the_writer_and_refuses_writes() {
        let dir = tempfile::tempdir().unwrap();
        let writer = RocksStore::open(dir.path()).unwrap();
        let mut batch = Batch::default();
        batch.put(Cf::Meta, b"k".to_vec(), b"v".to_vec());
        writer.write(batch).unwrap();
        // The writer keeps the database open (and locked) while the reader opens it.
        let reader = RocksStore::open_read_only(dir.path()).unwrap();
        assert_eq!(reader.get(Cf::Meta, b"k").unwrap(), Some(b"v".to_vec()));
        let mut batch = Batch::default();
        batch.put(Cf::Meta, b"k".to_vec(), b"w".to_vec());
        assert!(matches!(reader.write(batch), Err(StoreError::Rocks(_))));
        assert!(matches!(
            reader.purge(Cf::People),
            Err(StoreError::Rocks(_))
        ));
        assert_eq!(writer.get(Cf::Meta, b"k").unwrap(), Some(b"v".to_vec()));
    }

    #[test]
    fn a_missing_database_is_not_opened_read_only() {
        // RocksDB may leave an empty directory behind; callers check for `CURRENT` first.
        let dir = tempfile::tempdir().unwrap();
        assert!(RocksStore::open_read_only(&dir.path().join("absent")).is_err());
    }
}
