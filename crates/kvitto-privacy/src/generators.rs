//! The group generators, each derived by hash-to-group from its own label in [`crate::domain`].
//!
//! Two independent pairs: `(G_amount, H_amount)` for amounts and `(G_id, H_id)` for identities.
//! Neither element of either pair is the `ristretto255` base point or a known multiple of it, and
//! no discrete-log relation between any two of them is known: each is
//! `from_uniform_bytes(SHA-512(label))`. Binding of a Pedersen commitment rests on that: whoever
//! knew `log_H(G)` could open a commitment to any value.
//!
//! For range proofs, Bulletproofs' `PedersenGens` is **not** used with its defaults (`B` = the
//! base point, `B_blinding` = SHA3-512 hash-to-group of the base point's encoding). It is built
//! from kvitto's pair instead, `PedersenGens { B: G_amount, B_blinding: H_amount }`, so the
//! commitments a range proof covers are exactly the ledger's amount commitments. The per-bit
//! vector generators (`BulletproofGens`) are the library's own: party `j`'s `G_i` and `H_i` are
//! the SHAKE256 chain of `"GeneratorsChain" ‖ b"G"/b"H" ‖ u32_le(j)`, fed 64 bytes at a time to
//! `from_uniform_bytes`. They are hash-to-group outputs of inputs distinct from ours, so they are
//! independent of both pairs.

use std::sync::OnceLock;

use bulletproofs::{BulletproofGens, PedersenGens};
use curve25519_dalek::ristretto::{RistrettoBasepointTable, RistrettoPoint};
use curve25519_dalek::scalar::Scalar;

use crate::domain;
use crate::limits;

/// A Pedersen generator pair with precomputed tables for fixed-base multiplication.
pub(crate) struct PedersenPair {
    pub(crate) value: RistrettoPoint,
    pub(crate) blinding: RistrettoPoint,
    value_table: RistrettoBasepointTable,
    blinding_table: RistrettoBasepointTable,
}

impl PedersenPair {
    fn derive(value_label: &str, blinding_label: &str) -> Self {
        let value = domain::hash_to_group(value_label);
        let blinding = domain::hash_to_group(blinding_label);
        Self {
            value,
            blinding,
            value_table: RistrettoBasepointTable::create(&value),
            blinding_table: RistrettoBasepointTable::create(&blinding),
        }
    }

    /// `value·G + blinding·H`.
    pub(crate) fn commit(&self, value: &Scalar, blinding: &Scalar) -> RistrettoPoint {
        &self.value_table * value + &self.blinding_table * blinding
    }

    /// `scalar·G`.
    pub(crate) fn mul_value(&self, scalar: &Scalar) -> RistrettoPoint {
        &self.value_table * scalar
    }

    /// `scalar·H`.
    pub(crate) fn mul_blinding(&self, scalar: &Scalar) -> RistrettoPoint {
        &self.blinding_table * scalar
    }
}

/// `(G_amount, H_amount)`.
pub(crate) fn amount() -> &'static PedersenPair {
    static PAIR: OnceLock<PedersenPair> = OnceLock::new();
    PAIR.get_or_init(|| PedersenPair::derive(domain::GEN_AMOUNT_G, domain::GEN_AMOUNT_H))
}

/// `(G_id, H_id)`.
pub(crate) fn identity() -> &'static PedersenPair {
    static PAIR: OnceLock<PedersenPair> = OnceLock::new();
    PAIR.get_or_init(|| PedersenPair::derive(domain::GEN_IDENTITY_G, domain::GEN_IDENTITY_H))
}

/// Bulletproofs' view of the amount pair.
pub(crate) fn range_pedersen() -> PedersenGens {
    let pair = amount();
    PedersenGens {
        B: pair.value,
        B_blinding: pair.blinding,
    }
}

/// Vector generators for `RANGE_AGGREGATION_MAX` parties of `RANGE_BITS` bits, built once.
pub(crate) fn range_vectors() -> &'static BulletproofGens {
    static GENS: OnceLock<BulletproofGens> = OnceLock::new();
    GENS.get_or_init(|| BulletproofGens::new(limits::RANGE_BITS, limits::RANGE_AGGREGATION_MAX))
}

/// The compressed encodings of the four generators, in the order `G_amount`, `H_amount`,
/// `G_id`, `H_id`, for the spec's known values and for independent verifiers.
pub fn generator_encodings() -> [[u8; 32]; 4] {
    [
        amount().value.compress().to_bytes(),
        amount().blinding.compress().to_bytes(),
        identity().value.compress().to_bytes(),
        identity().blinding.compress().to_bytes(),
    ]
}

#[cfg(test)]
mod tests {
    use curve25519_dalek::constants::RISTRETTO_BASEPOINT_POINT;
    use curve25519_dalek::traits::Identity;

    use super::*;

    #[test]
    fn generators_are_distinct_and_not_the_base_point() {
        let all = generator_encodings();
        let unique: std::collections::BTreeSet<_> = all.iter().collect();
        assert_eq!(unique.len(), 4);
        let base = RISTRETTO_BASEPOINT_POINT.compress().to_bytes();
        let bp_default = PedersenGens::default().B_blinding.compress().to_bytes();
        let identity = RistrettoPoint::identity().compress().to_bytes();
        for g in all {
            assert_ne!(g, base);
            assert_ne!(g, bp_default);
            assert_ne!(g, identity);
        }
    }

    #[test]
    fn tables_agree_with_plain_multiplication() {
        let a = Scalar::from(123_456u64);
        let b = Scalar::from(789u64);
        let pair = amount();
        assert_eq!(pair.commit(&a, &b), a * pair.value + b * pair.blinding);
        assert_eq!(range_pedersen().commit(a, b), pair.commit(&a, &b));
    }
}
