//! The commit–challenge–response steps and the `R ‖ s_1 ‖ … ‖ s_n` encoding that the crate's
//! three sigma proofs share: the total proof (one witness), the ownership proof (two) and the
//! possession proof (one).
//!
//! Each proof keeps what makes it that proof in its own module: its transcript label, the
//! statement messages it appends, the labels of its witnesses, the bases it commits its nonces
//! with, and its error. This module only runs the steps every Fiat–Shamir proof of knowledge of
//! `P = w_1·B_1 + … + w_n·B_n` runs the same way, so that the three cannot drift apart:
//! - prover: nonces `k_i` from the transcript RNG rekeyed with the witnesses,
//!   `R = Σ k_i·B_i`, append `R`, squeeze `c`, answer `s_i = k_i + c·w_i`;
//! - verifier: append `R`, squeeze `c`, check `Σ s_i·B_i − c·P = R`.

use curve25519_dalek::ristretto::{CompressedRistretto, RistrettoPoint};
use curve25519_dalek::scalar::Scalar;
use curve25519_dalek::traits::VartimeMultiscalarMul;
use merlin::Transcript;
use rand_core::{CryptoRng, RngCore};
use zeroize::Zeroize;

use crate::domain;
use crate::encoding;
use crate::error::PrivacyError;

/// Transcript label of the prover's nonce commitment `R`.
const NONCE_COMMITMENT_LABEL: &[u8] = b"R";
/// Transcript label of the challenge scalar `c`.
const CHALLENGE_LABEL: &[u8] = b"c";
/// Length of a compressed `ristretto255` point.
const POINT_LEN: usize = 32;
/// Length of a canonical scalar.
const SCALAR_LEN: usize = 32;

/// A secret scalar the prover knows, with the label under which it rekeys the nonce RNG.
pub(crate) struct Witness<'a> {
    pub(crate) label: &'static [u8],
    pub(crate) scalar: &'a Scalar,
}

/// A proof of knowledge of `WITNESSES` scalars: the nonce commitment `R` and one response per
/// witness, in the order the witnesses were given.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct SigmaProof<const WITNESSES: usize> {
    nonce_commitment: CompressedRistretto,
    responses: [Scalar; WITNESSES],
}

impl<const WITNESSES: usize> SigmaProof<WITNESSES> {
    /// Length of the encoding `R ‖ s_1 ‖ … ‖ s_n`.
    pub(crate) const ENCODED_LEN: usize = POINT_LEN + SCALAR_LEN * WITNESSES;

    /// Proves knowledge of `witnesses` for the statement already in `transcript`.
    ///
    /// `commit_nonces` computes `R = Σ k_i·B_i` from the nonces. The caller supplies it rather
    /// than the bases so that it can use its constant-time fixed-base tables: the nonces are as
    /// secret as the witnesses. Nonces and witnesses are drawn and answered in the given order.
    pub(crate) fn prove<R: RngCore + CryptoRng>(
        transcript: &mut Transcript,
        witnesses: [Witness<'_>; WITNESSES],
        commit_nonces: impl FnOnce(&[Scalar; WITNESSES]) -> RistrettoPoint,
        rng: &mut R,
    ) -> Self {
        // merlin's transcript RNG mixes the statement, the witnesses and `rng`, so a weak or
        // repeating `rng` alone does not repeat a nonce across statements or witnesses.
        let mut nonce_rng = witnesses
            .iter()
            .fold(transcript.build_rng(), |builder, witness| {
                builder.rekey_with_witness_bytes(witness.label, witness.scalar.as_bytes())
            })
            .finalize(rng);
        let mut nonces = [Scalar::ZERO; WITNESSES];
        for nonce in &mut nonces {
            *nonce = Scalar::random(&mut nonce_rng);
        }
        let nonce_commitment = commit_nonces(&nonces).compress();
        transcript.append_message(NONCE_COMMITMENT_LABEL, nonce_commitment.as_bytes());
        let challenge = domain::challenge_scalar(transcript, CHALLENGE_LABEL);
        let mut responses = [Scalar::ZERO; WITNESSES];
        for ((response, nonce), witness) in responses.iter_mut().zip(&nonces).zip(&witnesses) {
            *response = nonce + challenge * witness.scalar;
        }
        nonces.zeroize();
        Self {
            nonce_commitment,
            responses,
        }
    }

    /// Checks that this proof shows knowledge of `w_i` with `public = Σ w_i·bases[i]` for the
    /// statement already in `transcript`; if not, returns `rejected`, the proof's own error.
    /// Everything here is public, so it runs in variable time.
    pub(crate) fn verify(
        &self,
        mut transcript: Transcript,
        bases: [RistrettoPoint; WITNESSES],
        public: RistrettoPoint,
        rejected: PrivacyError,
    ) -> Result<(), PrivacyError> {
        transcript.append_message(NONCE_COMMITMENT_LABEL, self.nonce_commitment.as_bytes());
        let challenge = domain::challenge_scalar(&mut transcript, CHALLENGE_LABEL);
        // Σ s_i·B_i − c·P must equal R.
        let recomputed = RistrettoPoint::vartime_multiscalar_mul(
            self.responses.iter().copied().chain([-challenge]),
            bases.into_iter().chain([public]),
        );
        if recomputed.compress() == self.nonce_commitment {
            Ok(())
        } else {
            Err(rejected)
        }
    }

    /// `R ‖ s_1 ‖ … ‖ s_n`. `LEN` is the caller's array length; it must be
    /// [`SigmaProof::ENCODED_LEN`], which the compiler checks.
    pub(crate) fn to_bytes<const LEN: usize>(&self) -> [u8; LEN] {
        const { assert!(LEN == Self::ENCODED_LEN) };
        let mut out = [0u8; LEN];
        let (point, scalars) = out.split_at_mut(POINT_LEN);
        point.copy_from_slice(self.nonce_commitment.as_bytes());
        for (chunk, response) in scalars.chunks_exact_mut(SCALAR_LEN).zip(&self.responses) {
            chunk.copy_from_slice(response.as_bytes());
        }
        out
    }

    /// Decodes `R ‖ s_1 ‖ … ‖ s_n`, refusing a wrong length, a non-canonical point or a
    /// non-canonical scalar as a malformed `what`.
    pub(crate) fn from_bytes(bytes: &[u8], what: &'static str) -> Result<Self, PrivacyError> {
        if bytes.len() != Self::ENCODED_LEN {
            return Err(PrivacyError::Malformed(what));
        }
        let (point, scalars) = bytes.split_at(POINT_LEN);
        let nonce = encoding::point(point, what)?;
        let mut responses = [Scalar::ZERO; WITNESSES];
        for (response, chunk) in responses.iter_mut().zip(scalars.chunks_exact(SCALAR_LEN)) {
            *response = encoding::scalar(chunk, what)?;
        }
        Ok(Self {
            nonce_commitment: nonce.compress(),
            responses,
        })
    }
}
