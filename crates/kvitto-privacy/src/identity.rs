//! Identity commitments: per-session tags that hide who charged, and the driver's proofs.
//!
//! The eMSP provisions each driver (app, RFID account or plate contract) with a 32-byte
//! [`DriverSecret`] `k`. It defines the driver's identity scalar
//! `x = wide(blake3_derive(KDF_DRIVER_SCALAR, k))` and public identity point
//! [`DriverPublic`] `X = x·G_id`. The eMSP passes `X` (never `k`) to the operators that serve
//! the driver, alongside the token. `X` is a stable pseudonym: it never goes on the ledger.
//!
//! For each session the serving operator publishes the [`IdentityCommitment`]
//! `T = X + ρ·H_id`, a Pedersen commitment to `x` with blinding `ρ` taken from the person's
//! [`crate::PersonKey`] and the session context. The operator does not need `x` to make it.
//! `T` is perfectly hiding: for every other driver `X'` some `ρ'` gives the same `T`, so two
//! sessions of one driver cannot be linked by anyone who lacks `ρ` — however low the entropy of
//! the token behind `X`. The operator links by recomputing `ρ` (it holds the person key); the
//! driver receives `ρ` as the [`IdentityOpening`] in their receipt.
//!
//! The driver proves a session is theirs with an [`OwnershipProof`]: knowledge of `(x, ρ)` with
//! `T = x·G_id + ρ·H_id` (an Okamoto proof), bound to the session context and to the verifier's
//! challenge. It reveals neither `x` nor `ρ`, so it does not give the verifier `X` either. Holding
//! `ρ` alone (a stolen receipt, or the operator itself) is not enough to make one: it needs `x`.

use std::fmt;

use curve25519_dalek::ristretto::RistrettoPoint;
use curve25519_dalek::scalar::Scalar;
use curve25519_dalek::traits::IsIdentity;
use merlin::Transcript;
use rand_core::{CryptoRng, RngCore};
use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::context::{append_bounded, SessionContext};
use crate::domain;
use crate::encoding::{self, serde_hex};
use crate::error::PrivacyError;
use crate::generators;
use crate::limits;
use crate::sigma::{SigmaProof, Witness};

/// The secret an eMSP provisions with a token. Whoever holds it can prove sessions are theirs.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct DriverSecret([u8; 32]);

impl DriverSecret {
    pub fn generate<R: RngCore + CryptoRng>(rng: &mut R) -> Self {
        let mut bytes = [0u8; 32];
        rng.fill_bytes(&mut bytes);
        Self(bytes)
    }

    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// The raw secret, for provisioning it to the driver.
    pub fn to_bytes(&self) -> [u8; 32] {
        self.0
    }

    /// `X = x·G_id`.
    pub fn public(&self) -> DriverPublic {
        DriverPublic(generators::identity().mul_value(&self.scalar()))
    }

    fn scalar(&self) -> Scalar {
        domain::derive_scalar(domain::KDF_DRIVER_SCALAR, &[&self.0])
    }
}

impl fmt::Debug for DriverSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DriverSecret(<redacted>)")
    }
}

/// A driver's public identity point `X = x·G_id`: a stable pseudonym the eMSP shares with the
/// operators that serve the driver. It must never appear on the ledger.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct DriverPublic(RistrettoPoint);

impl DriverPublic {
    pub fn to_bytes(&self) -> [u8; 32] {
        self.0.compress().to_bytes()
    }

    /// Decodes a canonical encoding; the identity point is refused (it is nobody's key).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, PrivacyError> {
        let point = encoding::point(bytes, "driver public")?;
        if point.is_identity() {
            Err(PrivacyError::Malformed("driver public"))
        } else {
            Ok(Self(point))
        }
    }
}

impl fmt::Debug for DriverPublic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DriverPublic({})", hex::encode(self.to_bytes()))
    }
}

serde_hex!(DriverPublic);

/// The blinding `ρ` of one session's identity commitment. It goes in the driver's receipt and
/// the evidence bundle; the operator can recompute it while it holds the person key.
#[derive(Clone, PartialEq, Eq, Zeroize, ZeroizeOnDrop)]
pub struct IdentityOpening(Scalar);

impl IdentityOpening {
    pub(crate) fn from_scalar(blinding: Scalar) -> Self {
        Self(blinding)
    }

    pub fn to_bytes(&self) -> [u8; 32] {
        self.0.to_bytes()
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<Self, PrivacyError> {
        encoding::scalar(bytes, "identity opening").map(Self)
    }
}

impl fmt::Debug for IdentityOpening {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("IdentityOpening(<redacted>)")
    }
}

serde_hex!(IdentityOpening);

/// The per-session identity tag on the ledger, `T = X + ρ·H_id` (32 bytes).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct IdentityCommitment(RistrettoPoint);

impl IdentityCommitment {
    /// The tag of driver `driver` for the session whose blinding is `opening`.
    pub fn new(driver: &DriverPublic, opening: &IdentityOpening) -> Self {
        Self(driver.0 + generators::identity().mul_blinding(&opening.0))
    }

    /// Checks that this tag is `driver`'s under `opening`.
    pub fn verify_opening(
        &self,
        driver: &DriverPublic,
        opening: &IdentityOpening,
    ) -> Result<(), PrivacyError> {
        if Self::new(driver, opening) == *self {
            Ok(())
        } else {
            Err(PrivacyError::OpeningMismatch)
        }
    }

    pub fn to_bytes(&self) -> [u8; 32] {
        self.0.compress().to_bytes()
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<Self, PrivacyError> {
        encoding::point(bytes, "identity commitment").map(Self)
    }
}

impl fmt::Debug for IdentityCommitment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "IdentityCommitment({})", hex::encode(self.to_bytes()))
    }
}

serde_hex!(IdentityCommitment);

/// Proof that the prover knows `(x, ρ)` with `T = x·G_id + ρ·H_id`, for one session and one
/// verifier challenge. Encoding: `R ‖ s_x ‖ s_ρ`, 96 bytes.
#[derive(Clone, PartialEq, Eq)]
pub struct OwnershipProof(SigmaProof<2>);

impl OwnershipProof {
    /// Length of [`OwnershipProof::to_bytes`].
    pub const ENCODED_LEN: usize = 96;

    pub fn to_bytes(&self) -> [u8; Self::ENCODED_LEN] {
        self.0.to_bytes()
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<Self, PrivacyError> {
        SigmaProof::from_bytes(bytes, "ownership proof").map(Self)
    }
}

impl fmt::Debug for OwnershipProof {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "OwnershipProof({})", hex::encode(self.to_bytes()))
    }
}

serde_hex!(OwnershipProof);

/// Proves that the session `ctx` with tag `commitment` is the holder of `secret`'s, answering
/// the verifier's `challenge` (a fresh nonce, so a proof cannot be replayed to another verifier).
pub fn prove_ownership<R: RngCore + CryptoRng>(
    ctx: &SessionContext,
    commitment: &IdentityCommitment,
    secret: &DriverSecret,
    opening: &IdentityOpening,
    challenge: &[u8],
    rng: &mut R,
) -> Result<OwnershipProof, PrivacyError> {
    commitment.verify_opening(&secret.public(), opening)?;
    let mut x = secret.scalar();
    let mut transcript = ownership_transcript(ctx, commitment, challenge)?;
    let witnesses = [
        Witness {
            label: b"x",
            scalar: &x,
        },
        Witness {
            label: b"rho",
            scalar: &opening.0,
        },
    ];
    let proof = SigmaProof::prove(
        &mut transcript,
        witnesses,
        |[nonce_secret, nonce_blinding]| {
            generators::identity().commit(nonce_secret, nonce_blinding)
        },
        rng,
    );
    x.zeroize();
    Ok(OwnershipProof(proof))
}

/// Verifies an ownership proof for the session `ctx` with tag `commitment` and the `challenge`
/// this verifier issued.
pub fn verify_ownership(
    ctx: &SessionContext,
    commitment: &IdentityCommitment,
    challenge: &[u8],
    proof: &OwnershipProof,
) -> Result<(), PrivacyError> {
    let transcript = ownership_transcript(ctx, commitment, challenge)?;
    let gens = generators::identity();
    // T = x·G_id + ρ·H_id.
    proof.0.verify(
        transcript,
        [gens.value, gens.blinding],
        commitment.0,
        PrivacyError::OwnershipProofRejected,
    )
}

fn ownership_transcript(
    ctx: &SessionContext,
    commitment: &IdentityCommitment,
    challenge: &[u8],
) -> Result<Transcript, PrivacyError> {
    let mut transcript = Transcript::new(domain::TRANSCRIPT_OWNERSHIP_PROOF.as_bytes());
    ctx.append_to(&mut transcript);
    transcript.append_message(b"T", commitment.0.compress().as_bytes());
    append_verifier_challenge(&mut transcript, challenge)?;
    Ok(transcript)
}

/// Proof of knowledge of `x` with `X = x·G_id` (Schnorr), answering a verifier's challenge. A
/// driver shows it to their serving operator, which knows `X`, to fetch their receipts.
/// Encoding: `R ‖ s`, 64 bytes.
#[derive(Clone, PartialEq, Eq)]
pub struct PossessionProof(SigmaProof<1>);

impl PossessionProof {
    /// Length of [`PossessionProof::to_bytes`].
    pub const ENCODED_LEN: usize = 64;

    pub fn to_bytes(&self) -> [u8; Self::ENCODED_LEN] {
        self.0.to_bytes()
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<Self, PrivacyError> {
        SigmaProof::from_bytes(bytes, "possession proof").map(Self)
    }
}

impl fmt::Debug for PossessionProof {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PossessionProof({})", hex::encode(self.to_bytes()))
    }
}

serde_hex!(PossessionProof);

/// Proves possession of `secret` to a verifier that issued `challenge`.
pub fn prove_possession<R: RngCore + CryptoRng>(
    secret: &DriverSecret,
    challenge: &[u8],
    rng: &mut R,
) -> Result<PossessionProof, PrivacyError> {
    let mut x = secret.scalar();
    let public = secret.public();
    let mut transcript = possession_transcript(&public, challenge)?;
    let witness = Witness {
        label: b"x",
        scalar: &x,
    };
    let proof = SigmaProof::prove(
        &mut transcript,
        [witness],
        |[nonce]| generators::identity().mul_value(nonce),
        rng,
    );
    x.zeroize();
    Ok(PossessionProof(proof))
}

/// Verifies that the prover holds the secret behind `driver`, for `challenge`.
pub fn verify_possession(
    driver: &DriverPublic,
    challenge: &[u8],
    proof: &PossessionProof,
) -> Result<(), PrivacyError> {
    let transcript = possession_transcript(driver, challenge)?;
    // X = x·G_id.
    proof.0.verify(
        transcript,
        [generators::identity().value],
        driver.0,
        PrivacyError::PossessionProofRejected,
    )
}

fn possession_transcript(
    driver: &DriverPublic,
    challenge: &[u8],
) -> Result<Transcript, PrivacyError> {
    let mut transcript = Transcript::new(domain::TRANSCRIPT_POSSESSION_PROOF.as_bytes());
    transcript.append_message(b"X", driver.0.compress().as_bytes());
    append_verifier_challenge(&mut transcript, challenge)?;
    Ok(transcript)
}

/// Binds the verifier's `challenge` into an ownership or possession transcript, so that a proof
/// answers one verifier only. Both proofs bind it the same way, under the label `challenge`.
fn append_verifier_challenge(
    transcript: &mut Transcript,
    challenge: &[u8],
) -> Result<(), PrivacyError> {
    append_bounded(
        transcript,
        b"challenge",
        "challenge",
        challenge,
        limits::CHALLENGE_LEN_MAX,
    )
}

#[cfg(test)]
mod tests {
    use rand::rngs::StdRng;
    use rand::SeedableRng;

    use super::*;

    #[test]
    fn driver_public_round_trips_and_refuses_identity() {
        let mut rng = StdRng::seed_from_u64(5);
        let public = DriverSecret::generate(&mut rng).public();
        assert_eq!(DriverPublic::from_bytes(&public.to_bytes()), Ok(public));
        assert_eq!(
            DriverPublic::from_bytes(&[0u8; 32]),
            Err(PrivacyError::Malformed("driver public"))
        );
    }

    #[test]
    fn secret_debug_is_redacted() {
        let secret = DriverSecret::from_bytes([0xab; 32]);
        assert!(!format!("{secret:?}").contains("ab"));
    }
}
