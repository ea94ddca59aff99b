//! Integration tests of kvitto-witness: one binary, one module per area.

// Helpers outside `#[test]` functions unwrap too: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

mod properties;
mod sim;
