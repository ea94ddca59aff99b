//! Bulletproofs range proofs: each committed amount lies in `[0, 2^64)`.
//!
//! Without them a commitment could hide `ℓ − 1`, which acts as −1 in every sum, and shift any
//! total without changing a single public value. With them, a sum of up to
//! [`limits::TOTAL_COMMITMENTS_MAX`] commitments cannot wrap modulo ℓ.
//!
//! The merlin transcript binds every public input before the Bulletproofs protocol starts: the
//! number of sessions, the padded aggregation size, and per session its log origin, charger key
//! id, session id and commitment. A proof therefore verifies only for the same commitments in
//! the same order under the same session contexts; it cannot be moved to another entry or log.
//!
//! Aggregation: `k` sessions (1 ≤ k ≤ 64) are proven together with `m` = the next power of two
//! ≥ `k` parties. Parties `k..m` are padding: value 0, blinding 0, so their commitment is the
//! identity point. The verifier adds the same padding itself, so padding is not a prover's choice.

use std::fmt;

use bulletproofs::RangeProof;
use curve25519_dalek::ristretto::CompressedRistretto;
use curve25519_dalek::scalar::Scalar;
use merlin::Transcript;
use rand_core::{CryptoRng, RngCore};

use crate::amount::{padding_commitment, AmountCommitment, AmountOpening};
use crate::context::SessionContext;
use crate::domain;
use crate::error::{check_paired, PrivacyError};
use crate::generators;
use crate::limits;

/// A Bulletproofs range proof over one or more amount commitments (single or aggregated).
///
/// Encoding: Bulletproofs' own, `32·(9 + 2·log2(64·m))` bytes for `m` padded parties: 672 bytes
/// for one session, 736 for 2, 800 for 4, 864 for 8, 1056 for 64.
#[derive(Clone)]
pub struct AmountRangeProof {
    proof: RangeProof,
    parties: usize,
}

impl AmountRangeProof {
    /// Encoded length of a proof for `parties` (a power of two, at most 64) padded parties.
    pub fn encoded_len(parties: usize) -> usize {
        let log2 = (limits::RANGE_BITS * parties).trailing_zeros() as usize;
        32 * (9 + 2 * log2)
    }

    /// The padded number of parties `m` this proof covers.
    pub fn parties(&self) -> usize {
        self.parties
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        self.proof.to_bytes()
    }

    /// Decodes a proof; the length must be that of a 64-bit proof for 1, 2, 4, … or 64 parties.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, PrivacyError> {
        let parties = (0..=limits::RANGE_AGGREGATION_MAX.trailing_zeros())
            .map(|shift| 1usize << shift)
            .find(|&parties| Self::encoded_len(parties) == bytes.len())
            .ok_or(PrivacyError::Malformed("range proof"))?;
        let proof =
            RangeProof::from_bytes(bytes).map_err(|_| PrivacyError::Malformed("range proof"))?;
        Ok(Self { proof, parties })
    }
}

impl fmt::Debug for AmountRangeProof {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "AmountRangeProof(parties: {}, {} bytes)",
            self.parties,
            self.to_bytes().len()
        )
    }
}

impl PartialEq for AmountRangeProof {
    fn eq(&self, other: &Self) -> bool {
        self.to_bytes() == other.to_bytes()
    }
}

impl Eq for AmountRangeProof {}

crate::encoding::serde_hex!(AmountRangeProof);

/// Proves that the amount of `opening` is in `[0, 2^64)` for the session `ctx`. Returns the
/// commitment (as [`AmountOpening::commit`] gives it) with the proof.
pub fn prove_range<R: RngCore + CryptoRng>(
    ctx: &SessionContext,
    opening: &AmountOpening,
    rng: &mut R,
) -> Result<(AmountCommitment, AmountRangeProof), PrivacyError> {
    let (mut commitments, proof) = prove_ranges(
        std::slice::from_ref(ctx),
        std::slice::from_ref(opening),
        rng,
    )?;
    match commitments.pop() {
        Some(commitment) => Ok((commitment, proof)),
        None => Err(PrivacyError::Prover("no commitment returned".to_owned())),
    }
}

/// Verifies a single-session range proof for `commitment` in session `ctx`.
pub fn verify_range<R: RngCore + CryptoRng>(
    ctx: &SessionContext,
    commitment: &AmountCommitment,
    proof: &AmountRangeProof,
    rng: &mut R,
) -> Result<(), PrivacyError> {
    verify_ranges(
        std::slice::from_ref(ctx),
        std::slice::from_ref(commitment),
        proof,
        rng,
    )
}

/// Proves, in one aggregated proof, that each opening's amount is in `[0, 2^64)`. `contexts[i]`
/// is the session of `openings[i]`. Returns the commitments in the same order.
pub fn prove_ranges<R: RngCore + CryptoRng>(
    contexts: &[SessionContext],
    openings: &[AmountOpening],
    rng: &mut R,
) -> Result<(Vec<AmountCommitment>, AmountRangeProof), PrivacyError> {
    check_paired("contexts and openings", contexts, openings)?;
    let parties = padded_parties(openings.len())?;
    let commitments: Vec<AmountCommitment> = openings.iter().map(AmountOpening::commit).collect();
    let compressed = compress_all(&commitments);
    let mut transcript = range_transcript(contexts, &compressed, parties);

    let mut values: Vec<u64> = openings.iter().map(AmountOpening::value_minor).collect();
    let mut blindings: Vec<Scalar> = openings.iter().map(|o| *o.blinding()).collect();
    values.resize(parties, 0);
    blindings.resize(parties, Scalar::ZERO);

    let result = RangeProof::prove_multiple_with_rng(
        generators::range_vectors(),
        &generators::range_pedersen(),
        &mut transcript,
        &values,
        &blindings,
        limits::RANGE_BITS,
        rng,
    );
    zeroize::Zeroize::zeroize(&mut blindings);
    let (proof, proven) = result.map_err(|e| PrivacyError::Prover(format!("{e:?}")))?;

    // Bulletproofs recomputes each V_j from the same generators and openings; a difference would
    // mean the proof covers other commitments than the ones returned, so it is never handed out.
    let mut expected = compressed;
    expected.resize(parties, padding_commitment());
    if proven != expected {
        return Err(PrivacyError::Prover(
            "commitments differ from the openings".to_owned(),
        ));
    }
    Ok((commitments, AmountRangeProof { proof, parties }))
}

/// Verifies an aggregated range proof: `commitments[i]` belongs to session `contexts[i]`, in the
/// order they were proven.
pub fn verify_ranges<R: RngCore + CryptoRng>(
    contexts: &[SessionContext],
    commitments: &[AmountCommitment],
    proof: &AmountRangeProof,
    rng: &mut R,
) -> Result<(), PrivacyError> {
    check_paired("contexts and commitments", contexts, commitments)?;
    let parties = padded_parties(commitments.len())?;
    if proof.parties != parties {
        return Err(PrivacyError::RangeProofRejected);
    }
    let mut compressed = compress_all(commitments);
    let mut transcript = range_transcript(contexts, &compressed, parties);
    compressed.resize(parties, padding_commitment());
    proof
        .proof
        .verify_multiple_with_rng(
            generators::range_vectors(),
            &generators::range_pedersen(),
            &mut transcript,
            &compressed,
            limits::RANGE_BITS,
            rng,
        )
        .map_err(|_| PrivacyError::RangeProofRejected)
}

/// The next power of two ≥ `count`, for `count` in `1..=RANGE_AGGREGATION_MAX`.
fn padded_parties(count: usize) -> Result<usize, PrivacyError> {
    match count {
        1..=limits::RANGE_AGGREGATION_MAX => Ok(count.next_power_of_two()),
        _ => Err(PrivacyError::Count {
            what: "sessions in a range proof",
            count,
            max: limits::RANGE_AGGREGATION_MAX,
        }),
    }
}

/// The encodings Bulletproofs works on, one per commitment, in order.
fn compress_all(commitments: &[AmountCommitment]) -> Vec<CompressedRistretto> {
    commitments
        .iter()
        .map(AmountCommitment::compressed)
        .collect()
}

/// The range proof transcript before Bulletproofs appends its own messages.
fn range_transcript(
    contexts: &[SessionContext],
    commitments: &[CompressedRistretto],
    parties: usize,
) -> Transcript {
    let mut transcript = Transcript::new(domain::TRANSCRIPT_RANGE_PROOF.as_bytes());
    transcript.append_u64(b"count", commitments.len() as u64);
    transcript.append_u64(b"parties", parties as u64);
    for (ctx, commitment) in contexts.iter().zip(commitments) {
        ctx.append_to(&mut transcript);
        transcript.append_message(b"commitment", commitment.as_bytes());
    }
    transcript
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoded_lengths() {
        assert_eq!(AmountRangeProof::encoded_len(1), 672);
        assert_eq!(AmountRangeProof::encoded_len(2), 736);
        assert_eq!(AmountRangeProof::encoded_len(8), 864);
        assert_eq!(AmountRangeProof::encoded_len(64), 1056);
    }

    #[test]
    fn padding() {
        assert_eq!(padded_parties(1), Ok(1));
        assert_eq!(padded_parties(3), Ok(4));
        assert_eq!(padded_parties(64), Ok(64));
        assert!(padded_parties(0).is_err());
        assert!(padded_parties(65).is_err());
    }

    #[test]
    fn wrong_lengths_are_malformed() {
        assert!(AmountRangeProof::from_bytes(&[0u8; 671]).is_err());
        assert!(AmountRangeProof::from_bytes(&[0u8; 704]).is_err());
        assert!(AmountRangeProof::from_bytes(&[]).is_err());
    }
}
