//! Integration tests of kvitto-tlog: one binary, one module per area.

// Helpers outside `#[test]` functions unwrap too: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

mod checkpoint;
mod conformance;
mod cosignature;
mod ed25519;
mod merkle;
mod note;
mod policy;
mod reference;
mod spec_examples;
mod tiles;
mod tlog_proof;

use std::path::PathBuf;

/// A file below the shared folder beside the repository, read in place.
pub fn shared(path: &str) -> PathBuf {
    // Read at run time (cargo sets it), as kvitto-tariff's tests do.
    std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")))
        .join("../../../shared")
        .join(path)
}

/// `count` distinct entries: the little-endian bytes of their index.
pub fn entries(count: u64) -> Vec<Vec<u8>> {
    (0..count).map(|i| i.to_le_bytes().to_vec()).collect()
}
