//! Amount commitments: Pedersen commitments to prices in minor units, their openings, sums, and
//! the settlement-safe proof that a sum opens to a public total.
//!
//! `C = v·G_amount + r·H_amount` with `v` the price in minor units (`u64`) and `r` the blinding.
//! A commitment hides `v` perfectly and binds it computationally (nobody knows `log_H G`).
//!
//! Blindings are never reused. [`AmountOpening::new`] draws a fresh 32-byte seed from the caller's
//! CSPRNG and derives the blinding from it *and* the session context, so even a CSPRNG that
//! repeats itself gives different blindings to different sessions.
//!
//! Two ways to check a total over a set of sessions:
//! - [`verify_total`] takes the blinding sum. Only a party that already holds every opening (the
//!   serving operator, or an auditor after disclosure) may use it: blinding sums of two sets that
//!   differ by one session reveal that session's blinding, and with it its amount.
//! - [`prove_total`] / [`verify_total_proof`] prove knowledge of the blinding sum without
//!   revealing it. Proofs over overlapping sets leak nothing beyond the totals themselves. This is
//!   the one settlement must use.

use std::fmt;
use std::ops::Add;

use curve25519_dalek::ristretto::{CompressedRistretto, RistrettoPoint};
use curve25519_dalek::scalar::Scalar;
use curve25519_dalek::traits::Identity;
use merlin::Transcript;
use rand_core::{CryptoRng, RngCore};
use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::context::{append_bounded, SessionContext};
use crate::domain;
use crate::encoding::{self, serde_hex};
use crate::error::{check_paired, PrivacyError};
use crate::generators;
use crate::limits;
use crate::sigma::{SigmaProof, Witness};

/// A Pedersen commitment to an amount in minor units, as it appears on the ledger (32 bytes).
///
/// It keeps both the point and its encoding: transcripts need the encoding of every commitment,
/// and compressing costs a field inversion, which dominates a total over many commitments.
#[derive(Clone, Copy)]
pub struct AmountCommitment {
    point: RistrettoPoint,
    encoded: CompressedRistretto,
}

impl AmountCommitment {
    pub(crate) fn from_point(point: RistrettoPoint) -> Self {
        Self {
            point,
            encoded: point.compress(),
        }
    }

    pub(crate) fn compressed(&self) -> CompressedRistretto {
        self.encoded
    }

    /// The canonical 32-byte `ristretto255` encoding.
    pub fn to_bytes(&self) -> [u8; 32] {
        self.encoded.to_bytes()
    }

    /// Decodes a canonical encoding; every other byte string is refused.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, PrivacyError> {
        let point = encoding::point(bytes, "amount commitment")?;
        // It decoded, so `bytes` is 32 bytes long and the canonical encoding of `point`:
        // decompression refuses every other encoding.
        let mut encoded = [0u8; 32];
        encoded.copy_from_slice(bytes);
        Ok(Self {
            point,
            encoded: CompressedRistretto(encoded),
        })
    }

    /// Checks that `opening` opens this commitment.
    pub fn verify_opening(&self, opening: &AmountOpening) -> Result<(), PrivacyError> {
        if opening.commit() == *self {
            Ok(())
        } else {
            Err(PrivacyError::OpeningMismatch)
        }
    }

    /// The homomorphic sum: a commitment to the sum of the amounts under the sum of the blindings.
    pub fn sum(commitments: &[AmountCommitment]) -> Result<AmountCommitment, PrivacyError> {
        check_count(commitments.len())?;
        Ok(Self::from_point(commitments.iter().map(|c| c.point).sum()))
    }
}

impl Add for AmountCommitment {
    type Output = AmountCommitment;

    fn add(self, other: AmountCommitment) -> AmountCommitment {
        AmountCommitment::from_point(self.point + other.point)
    }
}

impl PartialEq for AmountCommitment {
    fn eq(&self, other: &Self) -> bool {
        // Canonical encodings are equal exactly when the points are.
        self.encoded == other.encoded
    }
}

impl Eq for AmountCommitment {}

impl fmt::Debug for AmountCommitment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AmountCommitment({})", hex::encode(self.to_bytes()))
    }
}

serde_hex!(AmountCommitment);

/// The opening of an [`AmountCommitment`]: the amount and its blinding. It is secret: it goes to
/// the evidence bundle, the driver's receipt and the operator's tax records, never to the ledger.
#[derive(Clone, PartialEq, Eq, Zeroize, ZeroizeOnDrop)]
pub struct AmountOpening {
    value_minor: u64,
    blinding: Scalar,
}

impl AmountOpening {
    /// Length of [`AmountOpening::to_bytes`].
    pub const ENCODED_LEN: usize = 40;

    /// An opening of `value_minor` for the session `ctx`, with a fresh blinding: 32 bytes from
    /// `rng`, then `r = wide(blake3_derive(KDF_AMOUNT_BLINDING, seed ‖ encode(ctx)))`.
    pub fn new<R: RngCore + CryptoRng>(
        value_minor: u64,
        ctx: &SessionContext,
        rng: &mut R,
    ) -> Self {
        let mut seed = [0u8; 32];
        rng.fill_bytes(&mut seed);
        let blinding = domain::derive_scalar(domain::KDF_AMOUNT_BLINDING, &[&seed, &ctx.encode()]);
        seed.zeroize();
        Self {
            value_minor,
            blinding,
        }
    }

    pub fn value_minor(&self) -> u64 {
        self.value_minor
    }

    /// The commitment this opening opens.
    pub fn commit(&self) -> AmountCommitment {
        AmountCommitment::from_point(
            generators::amount().commit(&Scalar::from(self.value_minor), &self.blinding),
        )
    }

    pub(crate) fn blinding(&self) -> &Scalar {
        &self.blinding
    }

    /// `value_minor u64 (big-endian) ‖ blinding (32 bytes, little-endian scalar)`.
    pub fn to_bytes(&self) -> [u8; Self::ENCODED_LEN] {
        let mut out = [0u8; Self::ENCODED_LEN];
        out[..8].copy_from_slice(&self.value_minor.to_be_bytes());
        out[8..].copy_from_slice(self.blinding.as_bytes());
        out
    }

    /// Decodes [`AmountOpening::to_bytes`]; a non-canonical blinding is refused.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, PrivacyError> {
        if bytes.len() != Self::ENCODED_LEN {
            return Err(PrivacyError::Malformed("amount opening"));
        }
        let mut value = [0u8; 8];
        value.copy_from_slice(&bytes[..8]);
        Ok(Self {
            value_minor: u64::from_be_bytes(value),
            blinding: encoding::scalar(&bytes[8..], "amount opening")?,
        })
    }
}

impl fmt::Debug for AmountOpening {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AmountOpening")
            .field("value_minor", &self.value_minor)
            .field("blinding", &"<redacted>")
            .finish()
    }
}

serde_hex!(AmountOpening);

/// The sum of the blindings of a set of openings. Revealing it for two overlapping sets reveals
/// the blinding of their difference, so it is only for parties that hold every opening anyway.
#[derive(Clone, PartialEq, Eq, Zeroize, ZeroizeOnDrop)]
pub struct BlindingSum(Scalar);

impl BlindingSum {
    pub fn to_bytes(&self) -> [u8; 32] {
        self.0.to_bytes()
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<Self, PrivacyError> {
        encoding::scalar(bytes, "blinding sum").map(Self)
    }
}

impl fmt::Debug for BlindingSum {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("BlindingSum(<redacted>)")
    }
}

/// The total amount (checked, in `u64` minor units) and the blinding sum of `openings`.
pub fn sum_openings(openings: &[AmountOpening]) -> Result<(u64, BlindingSum), PrivacyError> {
    check_count(openings.len())?;
    let mut total_minor = 0u64;
    let mut blinding = Scalar::ZERO;
    for opening in openings {
        total_minor = total_minor
            .checked_add(opening.value_minor)
            .ok_or(PrivacyError::AmountOverflow)?;
        blinding += opening.blinding;
    }
    Ok((total_minor, BlindingSum(blinding)))
}

/// Checks `Σ commitments = total_minor·G_amount + blinding_sum·H_amount`.
///
/// Sound only if every commitment carries a verified range proof: otherwise a hidden "negative"
/// amount (a value near ℓ) could shift the sum.
pub fn verify_total(
    commitments: &[AmountCommitment],
    total_minor: u64,
    blinding_sum: &BlindingSum,
) -> Result<(), PrivacyError> {
    let sum = AmountCommitment::sum(commitments)?;
    let expected = generators::amount().commit(&Scalar::from(total_minor), &blinding_sum.0);
    if sum.point == expected {
        Ok(())
    } else {
        Err(PrivacyError::TotalMismatch)
    }
}

/// A proof that a list of amount commitments sums to a public total, without the blinding sum.
///
/// It is a Schnorr proof of knowledge of `ρ = Σ r_i` with `D = ρ·H_amount`, where
/// `D = Σ C_i − total·G_amount`. Because `G_amount` and `H_amount` are independent, knowing such
/// a `ρ` means the committed amounts add up to `total` (mod ℓ; with range proofs, exactly).
/// Encoding: `R (32 bytes) ‖ s (32 bytes)`.
#[derive(Clone, PartialEq, Eq)]
pub struct TotalProof(SigmaProof<1>);

impl TotalProof {
    /// Length of [`TotalProof::to_bytes`].
    pub const ENCODED_LEN: usize = 64;

    pub fn to_bytes(&self) -> [u8; Self::ENCODED_LEN] {
        self.0.to_bytes()
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<Self, PrivacyError> {
        SigmaProof::from_bytes(bytes, "total proof").map(Self)
    }
}

impl fmt::Debug for TotalProof {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TotalProof({})", hex::encode(self.to_bytes()))
    }
}

serde_hex!(TotalProof);

/// Proves that `commitments` (opened by `openings`, pairwise) sum to their total, bound to the
/// caller's `statement` (for example the settlement period, the parties and the log origins).
/// Returns the total in minor units with the proof.
pub fn prove_total<R: RngCore + CryptoRng>(
    statement: &[u8],
    commitments: &[AmountCommitment],
    openings: &[AmountOpening],
    rng: &mut R,
) -> Result<(u64, TotalProof), PrivacyError> {
    check_paired("commitments and openings", commitments, openings)?;
    let (total_minor, blinding_sum) = sum_openings(openings)?;
    // One check of the sum instead of one per opening: a mismatch anywhere shows up here, and a
    // proof over commitments the openings do not open would not verify anyway.
    verify_total(commitments, total_minor, &blinding_sum)?;

    let excess = excess(commitments, total_minor)?;
    let mut transcript = total_transcript(
        statement,
        commitments.iter().map(|c| &c.encoded.0),
        total_minor,
        &excess,
    )?;
    let witness = Witness {
        label: b"blinding-sum",
        scalar: &blinding_sum.0,
    };
    let proof = SigmaProof::prove(
        &mut transcript,
        [witness],
        |[nonce]| generators::amount().mul_blinding(nonce),
        rng,
    );
    Ok((total_minor, TotalProof(proof)))
}

/// Verifies that `commitments`, in this order, sum to `total_minor` under `statement`.
pub fn verify_total_proof(
    statement: &[u8],
    commitments: &[AmountCommitment],
    total_minor: u64,
    proof: &TotalProof,
) -> Result<(), PrivacyError> {
    let excess = excess(commitments, total_minor)?;
    let transcript = total_transcript(
        statement,
        commitments.iter().map(|c| &c.encoded.0),
        total_minor,
        &excess,
    )?;
    // D = ρ·H_amount.
    proof.0.verify(
        transcript,
        [generators::amount().blinding],
        excess,
        PrivacyError::TotalProofRejected,
    )
}

/// A running sum of amount commitments, kept as a log grows: a verifier that adds each
/// commitment once, when its entry arrives, checks a total over any number of them later
/// without decompressing each again ([`verify_total_proof_summed`]).
#[derive(Clone, Copy, Default)]
pub struct CommitmentSum {
    point: RistrettoPoint,
    count: u64,
}

impl CommitmentSum {
    pub fn add(&mut self, commitment: &AmountCommitment) {
        self.point += commitment.point;
        self.count += 1;
    }

    /// How many commitments were added.
    pub fn count(&self) -> u64 {
        self.count
    }
}

impl fmt::Debug for CommitmentSum {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CommitmentSum({} commitments)", self.count)
    }
}

/// [`verify_total_proof`] with the commitments' sum kept by the caller: `encoded` are the
/// commitments' 32-byte encodings in order (the transcript binds each), and `sum` must be the
/// [`CommitmentSum`] of exactly those commitments. Only the count is checked here: a caller
/// that sums other commitments than it lists checks a different claim than it thinks.
pub fn verify_total_proof_summed(
    statement: &[u8],
    encoded: &[[u8; 32]],
    sum: &CommitmentSum,
    total_minor: u64,
    proof: &TotalProof,
) -> Result<(), PrivacyError> {
    check_count(encoded.len())?;
    if sum.count != encoded.len() as u64 {
        return Err(PrivacyError::LengthMismatch {
            what: "commitments listed and summed",
            left: encoded.len(),
            right: usize::try_from(sum.count).unwrap_or(usize::MAX),
        });
    }
    let excess = sum.point - generators::amount().mul_value(&Scalar::from(total_minor));
    let transcript = total_transcript(statement, encoded.iter(), total_minor, &excess)?;
    proof.0.verify(
        transcript,
        [generators::amount().blinding],
        excess,
        PrivacyError::TotalProofRejected,
    )
}

/// `D = Σ C_i − total·G_amount`.
fn excess(
    commitments: &[AmountCommitment],
    total_minor: u64,
) -> Result<RistrettoPoint, PrivacyError> {
    let sum = AmountCommitment::sum(commitments)?;
    Ok(sum.point - generators::amount().mul_value(&Scalar::from(total_minor)))
}

/// The total proof's transcript up to, not including, the prover's nonce commitment `R`, over
/// the commitments' encodings in order.
fn total_transcript<'a>(
    statement: &[u8],
    encoded: impl ExactSizeIterator<Item = &'a [u8; 32]>,
    total_minor: u64,
    excess: &RistrettoPoint,
) -> Result<Transcript, PrivacyError> {
    let mut transcript = Transcript::new(domain::TRANSCRIPT_TOTAL_PROOF.as_bytes());
    append_bounded(
        &mut transcript,
        b"statement",
        "statement",
        statement,
        limits::STATEMENT_LEN_MAX,
    )?;
    transcript.append_u64(b"count", encoded.len() as u64);
    for bytes in encoded {
        transcript.append_message(b"C", bytes);
    }
    transcript.append_u64(b"total", total_minor);
    transcript.append_message(b"D", excess.compress().as_bytes());
    Ok(transcript)
}

fn check_count(count: usize) -> Result<(), PrivacyError> {
    match count {
        1..=limits::TOTAL_COMMITMENTS_MAX => Ok(()),
        _ => Err(PrivacyError::Count {
            what: "commitments in a total",
            count,
            max: limits::TOTAL_COMMITMENTS_MAX,
        }),
    }
}

/// The identity element as a commitment: the commitment to 0 with blinding 0. Range proofs pad
/// aggregations with it.
pub(crate) fn padding_commitment() -> CompressedRistretto {
    RistrettoPoint::identity().compress()
}

#[cfg(test)]
mod tests {
    use rand::rngs::StdRng;
    use rand::SeedableRng;

    use super::*;

    fn ctx(session: u8) -> SessionContext {
        SessionContext::new("kvitto/test/se-kvt", [7; 16], [session; 16]).unwrap()
    }

    #[test]
    fn opening_round_trips() {
        let mut rng = StdRng::seed_from_u64(1);
        let opening = AmountOpening::new(1234, &ctx(1), &mut rng);
        let back = AmountOpening::from_bytes(&opening.to_bytes()).unwrap();
        assert_eq!(back, opening);
        let json = serde_json::to_string(&opening.commit()).unwrap();
        let commitment: AmountCommitment = serde_json::from_str(&json).unwrap();
        assert_eq!(commitment, opening.commit());
    }

    #[test]
    fn debug_redacts_blindings() {
        let mut rng = StdRng::seed_from_u64(2);
        let opening = AmountOpening::new(99, &ctx(1), &mut rng);
        let text = format!("{opening:?}");
        assert!(text.contains("redacted"));
        assert!(!text.contains(&hex::encode(opening.blinding().as_bytes())));
    }

    #[test]
    fn empty_totals_are_refused() {
        assert!(matches!(
            AmountCommitment::sum(&[]),
            Err(PrivacyError::Count { .. })
        ));
        assert!(matches!(sum_openings(&[]), Err(PrivacyError::Count { .. })));
    }

    #[test]
    fn sums_that_overflow_u64_are_refused() {
        let mut rng = StdRng::seed_from_u64(3);
        let a = AmountOpening::new(u64::MAX, &ctx(1), &mut rng);
        let b = AmountOpening::new(1, &ctx(2), &mut rng);
        assert_eq!(sum_openings(&[a, b]), Err(PrivacyError::AmountOverflow));
    }

    /// A total checked against a running sum accepts exactly what the full check accepts.
    #[test]
    fn a_running_sum_checks_a_total_like_the_commitments_do() {
        let mut rng = StdRng::seed_from_u64(4);
        let openings: Vec<AmountOpening> = (0..5u8)
            .map(|i| AmountOpening::new(100 + u64::from(i), &ctx(i), &mut rng))
            .collect();
        let commitments: Vec<AmountCommitment> =
            openings.iter().map(AmountOpening::commit).collect();
        let encoded: Vec<[u8; 32]> = commitments.iter().map(|c| c.encoded.0).collect();
        let mut sum = CommitmentSum::default();
        commitments.iter().for_each(|c| sum.add(c));
        let (total, proof) = prove_total(b"statement", &commitments, &openings, &mut rng).unwrap();
        assert_eq!(total, 510);
        verify_total_proof(b"statement", &commitments, total, &proof).unwrap();
        verify_total_proof_summed(b"statement", &encoded, &sum, total, &proof).unwrap();

        let rejected = Err(PrivacyError::TotalProofRejected);
        let check = |statement: &[u8], encoded: &[[u8; 32]], sum: &CommitmentSum, total| {
            verify_total_proof_summed(statement, encoded, sum, total, &proof)
        };
        assert_eq!(check(b"statement", &encoded, &sum, total + 1), rejected);
        assert_eq!(check(b"another", &encoded, &sum, total), rejected);
        let mut swapped = encoded.clone();
        swapped.swap(0, 1);
        assert_eq!(
            check(b"statement", &swapped, &sum, total),
            rejected,
            "order is bound"
        );
        let mut other = sum;
        other.add(&AmountOpening::new(0, &ctx(9), &mut rng).commit());
        let mut longer = encoded.clone();
        longer.push(AmountOpening::new(0, &ctx(9), &mut rng).commit().encoded.0);
        assert_eq!(
            check(b"statement", &longer, &other, total),
            rejected,
            "a zero amount with its own blinding changes the sum"
        );
        assert!(matches!(
            check(b"statement", &encoded[..4], &sum, total),
            Err(PrivacyError::LengthMismatch { .. })
        ));
        assert!(matches!(
            check(b"statement", &[], &CommitmentSum::default(), 0),
            Err(PrivacyError::Count { .. })
        ));
    }

    #[test]
    fn non_canonical_scalars_are_refused() {
        let mut bytes = [0u8; 40];
        bytes[8..].copy_from_slice(&[0xff; 32]);
        assert_eq!(
            AmountOpening::from_bytes(&bytes),
            Err(PrivacyError::Malformed("amount opening"))
        );
    }
}
