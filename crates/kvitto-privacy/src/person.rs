//! The per-person key: the one secret whose destruction is erasure.
//!
//! The serving operator keeps one [`PersonKey`] per person it serves (per contract, in practice).
//! From it and a session context it derives that session's identity blinding `ρ` and evidence
//! key. It is the only thing that lets the operator link the person's identity commitments on
//! the ledger, and the only thing that opens their evidence bundles. Destroying it (erasure, or
//! the end of the retention period) therefore:
//! - makes the person's identity commitments perfectly hiding again, to the operator too;
//! - makes their evidence bundles unreadable, while the bundle digests on the ledger still hold;
//! - leaves the ledger and every receipt already issued valid: a receipt carries its own `ρ` and
//!   amount opening, and the driver still holds their secret.
//!
//! Amount openings are *not* derived from it: amounts stay provable for tax after erasure.

use std::fmt;

use rand_core::{CryptoRng, RngCore};
use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::context::SessionContext;
use crate::domain;
use crate::evidence::EvidenceKey;
use crate::identity::{DriverPublic, IdentityCommitment, IdentityOpening};

/// An erasable per-person key held by the serving operator. Zeroised on drop.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct PersonKey([u8; 32]);

impl PersonKey {
    pub fn generate<R: RngCore + CryptoRng>(rng: &mut R) -> Self {
        let mut bytes = [0u8; 32];
        rng.fill_bytes(&mut bytes);
        Self(bytes)
    }

    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// The raw key, for the operator's key store (and nowhere else).
    pub fn to_bytes(&self) -> [u8; 32] {
        self.0
    }

    /// `ρ = wide(blake3_derive(KDF_IDENTITY_BLINDING, key ‖ encode(ctx)))`. Session contexts are
    /// unique, so no two sessions share a blinding.
    pub fn identity_opening(&self, ctx: &SessionContext) -> IdentityOpening {
        IdentityOpening::from_scalar(domain::derive_scalar(
            domain::KDF_IDENTITY_BLINDING,
            &[&self.0, &ctx.encode()],
        ))
    }

    /// The identity commitment of `driver` for session `ctx`.
    pub fn identity_commitment(
        &self,
        driver: &DriverPublic,
        ctx: &SessionContext,
    ) -> IdentityCommitment {
        IdentityCommitment::new(driver, &self.identity_opening(ctx))
    }

    /// Whether the tag `commitment` of session `ctx` is `driver`'s under this key: how the
    /// operator finds a person's sessions while it still holds the key.
    pub fn links(
        &self,
        driver: &DriverPublic,
        ctx: &SessionContext,
        commitment: &IdentityCommitment,
    ) -> bool {
        self.identity_commitment(driver, ctx) == *commitment
    }

    /// `blake3_derive(KDF_EVIDENCE_KEY, key ‖ encode(ctx))`: the session's evidence key. It can
    /// be disclosed alone, to a regulator, without disclosing any other session.
    pub fn evidence_key(&self, ctx: &SessionContext) -> EvidenceKey {
        EvidenceKey::from_bytes(domain::derive_32(
            domain::KDF_EVIDENCE_KEY,
            &[&self.0, &ctx.encode()],
        ))
    }
}

impl fmt::Debug for PersonKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PersonKey(<redacted>)")
    }
}
