//! Integration tests of kvitto-privacy's public API: every property of `specs/privacy.md` and
//! every forgery the issue names, each asserted through the `Err` it must produce.

// Tests unwrap what they have just built.
#![allow(clippy::unwrap_used)]

mod amounts;
mod erasure;
mod evidence;
mod identity;
mod known;
mod props;
mod range;

use curve25519_dalek::ristretto::{CompressedRistretto, RistrettoPoint};
use kvitto_privacy::{generator_encodings, SessionContext};
use rand::rngs::StdRng;
use rand::SeedableRng;

pub const ORIGIN: &str = "kvitto/kvitto-devnet/se-kvt";

/// The session context of session `session` on charger `charger` of the test log.
pub fn ctx(charger: u8, session: u8) -> SessionContext {
    SessionContext::new(ORIGIN, [charger; 16], [session; 16]).unwrap()
}

pub fn rng(seed: u64) -> StdRng {
    StdRng::seed_from_u64(seed)
}

/// `(G_amount, H_amount)` as points, decoded from their published encodings.
pub fn amount_generators() -> (RistrettoPoint, RistrettoPoint) {
    let [g, h, _, _] = generator_encodings();
    (
        CompressedRistretto(g).decompress().unwrap(),
        CompressedRistretto(h).decompress().unwrap(),
    )
}
