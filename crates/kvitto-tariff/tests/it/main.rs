//! The one integration test binary of kvitto-tariff.

// Helpers outside `#[test]` functions panic on bad fixtures on purpose; clippy's
// `allow-unwrap-in-tests` only covers the test functions themselves.
#![allow(clippy::unwrap_used)]

mod cdr;
mod edges;
mod golden;
mod lint;
mod parse;
mod props;
mod support;
