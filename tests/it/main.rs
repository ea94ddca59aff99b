//! kvitto's integration tests: the real binary, real RocksDB, real HTTP on loopback.

#![allow(clippy::unwrap_used)] // a test binary: a failed unwrap is a failed test

mod cli;
mod common;
mod crash;
mod devnet;
mod disclosure;
mod ingest;
mod network;
mod partition;
mod plain_http_client;
mod pricing;
mod privacy;
mod settlement;
mod web;
