//! Domain-separation labels of the privacy layer: one per generator, key derivation, transcript
//! and digest.
//!
//! Generators are `ristretto255` hash-to-group outputs of their label: `from_uniform_bytes` of
//! `SHA-512(UTF-8(label))`, which is what `RistrettoPoint::hash_from_bytes::<Sha512>` computes.
//! Key derivations and digests are BLAKE3 in `derive_key` mode with the label as the context
//! string. Transcripts are merlin transcripts whose protocol label is the label's UTF-8 bytes.
//! No two purposes share a label; a new purpose or a changed format gets a new label.
//!
//! These labels live here rather than in `kvitto_core::domain` only because this crate must not
//! depend on the formats crate; they follow its naming scheme and do not collide with it.

use curve25519_dalek::ristretto::RistrettoPoint;
use curve25519_dalek::scalar::Scalar;
use sha2::Sha512;

/// Generator: the value base `G_amount` of amount commitments.
pub const GEN_AMOUNT_G: &str = "kvitto 2026-11 v1 pedersen amount G";
/// Generator: the blinding base `H_amount` of amount commitments.
pub const GEN_AMOUNT_H: &str = "kvitto 2026-11 v1 pedersen amount H";
/// Generator: the identity base `G_id` (a driver's public identity point is `x·G_id`).
pub const GEN_IDENTITY_G: &str = "kvitto 2026-11 v1 pedersen identity G";
/// Generator: the blinding base `H_id` of identity commitments.
pub const GEN_IDENTITY_H: &str = "kvitto 2026-11 v1 pedersen identity H";

/// blake3 context: an amount commitment's blinding from a fresh seed and the session context.
pub const KDF_AMOUNT_BLINDING: &str = "kvitto 2026-11 v1 amount blinding";
/// blake3 context: an identity commitment's blinding from a person key and the session context.
pub const KDF_IDENTITY_BLINDING: &str = "kvitto 2026-11 v1 identity blinding";
/// blake3 context: a driver's identity scalar `x` from the secret the eMSP provisioned.
pub const KDF_DRIVER_SCALAR: &str = "kvitto 2026-11 v1 driver identity scalar";
/// blake3 context: one session's evidence key from a person key and the session context.
pub const KDF_EVIDENCE_KEY: &str = "kvitto 2026-11 v1 evidence key";

/// blake3 context: commitment to an evidence key, stored beside the ciphertext.
pub const HASH_EVIDENCE_KEY_COMMITMENT: &str = "kvitto 2026-11 v1 evidence key commitment";
/// blake3 context: the digest of a sealed evidence bundle, the value bound on the ledger.
pub const HASH_EVIDENCE_DIGEST: &str = "kvitto 2026-11 v1 evidence bundle digest";
/// AEAD associated-data prefix of an evidence bundle (followed by the encoded session context).
pub const AAD_EVIDENCE: &str = "kvitto 2026-11 v1 evidence bundle aad";

/// merlin transcript: Bulletproofs range proofs over amount commitments.
pub const TRANSCRIPT_RANGE_PROOF: &str = "kvitto 2026-11 v1 amount range proof";
/// merlin transcript: proof that a sum of amount commitments opens to a public total.
pub const TRANSCRIPT_TOTAL_PROOF: &str = "kvitto 2026-11 v1 amount total proof";
/// merlin transcript: a driver's proof that a session's identity commitment is theirs.
pub const TRANSCRIPT_OWNERSHIP_PROOF: &str = "kvitto 2026-11 v1 session ownership proof";
/// merlin transcript: a driver's proof of possession of their identity secret.
pub const TRANSCRIPT_POSSESSION_PROOF: &str = "kvitto 2026-11 v1 driver possession proof";

/// Every label above, for the distinctness test and the spec.
pub const ALL: [&str; 15] = [
    GEN_AMOUNT_G,
    GEN_AMOUNT_H,
    GEN_IDENTITY_G,
    GEN_IDENTITY_H,
    KDF_AMOUNT_BLINDING,
    KDF_IDENTITY_BLINDING,
    KDF_DRIVER_SCALAR,
    KDF_EVIDENCE_KEY,
    HASH_EVIDENCE_KEY_COMMITMENT,
    HASH_EVIDENCE_DIGEST,
    AAD_EVIDENCE,
    TRANSCRIPT_RANGE_PROOF,
    TRANSCRIPT_TOTAL_PROOF,
    TRANSCRIPT_OWNERSHIP_PROOF,
    TRANSCRIPT_POSSESSION_PROOF,
];

/// The generator for `label`: `from_uniform_bytes(SHA-512(UTF-8(label)))`. Nobody knows its
/// discrete logarithm to the base point or to any other generator.
pub(crate) fn hash_to_group(label: &str) -> RistrettoPoint {
    RistrettoPoint::hash_from_bytes::<Sha512>(label.as_bytes())
}

/// A 32-byte BLAKE3 `derive_key` output under `context` over the concatenation of `parts`.
pub(crate) fn derive_32(context: &str, parts: &[&[u8]]) -> [u8; 32] {
    let mut hasher = blake3::Hasher::new_derive_key(context);
    for part in parts {
        hasher.update(part);
    }
    *hasher.finalize().as_bytes()
}

/// A uniformly distributed scalar: 64 bytes of BLAKE3 `derive_key` output under `context`,
/// reduced mod ℓ. Reducing 512 bits keeps the bias below 2^-259.
pub(crate) fn derive_scalar(context: &str, parts: &[&[u8]]) -> Scalar {
    let mut hasher = blake3::Hasher::new_derive_key(context);
    for part in parts {
        hasher.update(part);
    }
    let mut wide = [0u8; 64];
    hasher.finalize_xof().fill(&mut wide);
    let scalar = Scalar::from_bytes_mod_order_wide(&wide);
    zeroize::Zeroize::zeroize(&mut wide);
    scalar
}

/// A merlin challenge scalar: 64 bytes squeezed under `label`, reduced mod ℓ.
pub(crate) fn challenge_scalar(
    transcript: &mut merlin::Transcript,
    label: &'static [u8],
) -> Scalar {
    let mut wide = [0u8; 64];
    transcript.challenge_bytes(label, &mut wide);
    Scalar::from_bytes_mod_order_wide(&wide)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_distinct() {
        let unique: std::collections::BTreeSet<_> = ALL.iter().collect();
        assert_eq!(unique.len(), ALL.len());
    }

    #[test]
    fn labels_share_the_workspace_prefix() {
        for label in ALL {
            assert!(label.starts_with("kvitto 2026-11 v1 "), "{label}");
        }
    }

    #[test]
    fn derivations_differ_by_context() {
        assert_ne!(
            derive_32(KDF_EVIDENCE_KEY, &[b"x"]),
            derive_32(HASH_EVIDENCE_DIGEST, &[b"x"])
        );
        assert_ne!(
            derive_scalar(KDF_AMOUNT_BLINDING, &[b"x"]),
            derive_scalar(KDF_IDENTITY_BLINDING, &[b"x"])
        );
    }
}
