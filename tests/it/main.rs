//! kvitto's integration tests: the real binary, real RocksDB, real HTTP on loopback.

mod common;
mod crash;
mod ingest;
mod plain_http_client;
mod pricing;
