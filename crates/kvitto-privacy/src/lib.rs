//! kvitto's privacy cryptography: what lets the shared ledger hold amounts and drivers without
//! holding personal data.
//!
//! - [`AmountCommitment`]: a Pedersen commitment on `ristretto255` to a session's price in minor
//!   units, with its [`AmountOpening`]; sums, [`verify_total`] for holders of every opening, and
//!   the settlement-safe [`prove_total`]/[`verify_total_proof`] that never reveals a blinding sum.
//! - [`prove_range`]/[`prove_ranges`]: Bulletproofs 64-bit range proofs, single or aggregated,
//!   whose transcript binds the log origin, charger, session and commitment of every session.
//! - [`IdentityCommitment`]: a per-session tag `X + ρ·H_id` that hides the driver; the driver's
//!   [`prove_ownership`] and [`prove_possession`].
//! - [`PersonKey`]: the erasable per-person key from which the operator derives identity
//!   blindings and [`EvidenceKey`]s; dropping it is erasure.
//! - [`SealedEvidence`]: an AEAD-sealed off-ledger evidence bundle whose digest goes on the ledger.
//!
//! It is pure: no IO, no clock, no threads, no global randomness. Every function that needs
//! randomness takes a `&mut (impl RngCore + CryptoRng)`. It knows nothing of log entries, HTTP or
//! storage; it does not decide what goes on the ledger (`specs/privacy.md` does). Every label it
//! uses is in [`domain`]; every limit in [`limits`].

pub mod domain;
pub mod limits;

mod amount;
mod context;
mod encoding;
mod error;
mod evidence;
mod generators;
mod identity;
mod person;
mod range;
mod session;
mod sigma;

pub use amount::{
    prove_total, sum_openings, verify_total, verify_total_proof, verify_total_proof_summed,
    AmountCommitment, AmountOpening, BlindingSum, CommitmentSum, TotalProof,
};
pub use context::SessionContext;
pub use error::PrivacyError;
pub use evidence::{EvidenceKey, SealedEvidence};
pub use generators::generator_encodings;
pub use identity::{
    prove_ownership, prove_possession, verify_ownership, verify_possession, DriverPublic,
    DriverSecret, IdentityCommitment, IdentityOpening, OwnershipProof, PossessionProof,
};
pub use person::PersonKey;
pub use range::{prove_range, prove_ranges, verify_range, verify_ranges, AmountRangeProof};
pub use session::{commit_session, verify_session_ranges, SessionCommitments, SessionOpenings};
