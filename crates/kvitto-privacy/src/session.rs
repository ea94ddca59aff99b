//! The commitments of one closed session, as the session record's privacy extension carries
//! them: two amounts (excluding and including VAT) under one aggregated range proof, and the
//! driver's identity commitment (`specs/privacy.md`, "For the node integration").

use rand_core::{CryptoRng, RngCore};

use crate::amount::{AmountCommitment, AmountOpening};
use crate::context::SessionContext;
use crate::error::PrivacyError;
use crate::identity::{DriverPublic, IdentityCommitment, IdentityOpening};
use crate::person::PersonKey;
use crate::range::{prove_ranges, verify_ranges, AmountRangeProof};

/// What goes on the ledger.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionCommitments {
    pub amount_excl_vat: AmountCommitment,
    pub amount_incl_vat: AmountCommitment,
    /// Over `[amount_excl_vat, amount_incl_vat]`, both in the session's context, in that order.
    pub range_proof: AmountRangeProof,
    pub identity: IdentityCommitment,
}

/// What opens them: for the evidence bundle and the driver's receipt, never for the ledger.
#[derive(Clone)]
pub struct SessionOpenings {
    pub amount_excl_vat: AmountOpening,
    pub amount_incl_vat: AmountOpening,
    pub identity: IdentityOpening,
}

impl std::fmt::Debug for SessionOpenings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SessionOpenings(<redacted>)")
    }
}

/// Commits a session's price (minor units, excluding and including VAT) and its driver, with
/// fresh amount blindings and the identity blinding derived from the person key.
pub fn commit_session<R: RngCore + CryptoRng>(
    ctx: &SessionContext,
    excl_vat_minor: u64,
    incl_vat_minor: u64,
    driver: &DriverPublic,
    person: &PersonKey,
    rng: &mut R,
) -> Result<(SessionCommitments, SessionOpenings), PrivacyError> {
    let excl = AmountOpening::new(excl_vat_minor, ctx, rng);
    let incl = AmountOpening::new(incl_vat_minor, ctx, rng);
    let (commitments, range_proof) = prove_ranges(
        &[ctx.clone(), ctx.clone()],
        &[excl.clone(), incl.clone()],
        rng,
    )?;
    let identity_opening = person.identity_opening(ctx);
    let identity = IdentityCommitment::new(driver, &identity_opening);
    Ok((
        SessionCommitments {
            amount_excl_vat: commitments[0],
            amount_incl_vat: commitments[1],
            range_proof,
            identity,
        },
        SessionOpenings {
            amount_excl_vat: excl,
            amount_incl_vat: incl,
            identity: identity_opening,
        },
    ))
}

/// Checks the range proof of a session's two amount commitments, as every mirror and receipt
/// verifier does.
pub fn verify_session_ranges<R: RngCore + CryptoRng>(
    ctx: &SessionContext,
    amount_excl_vat: &AmountCommitment,
    amount_incl_vat: &AmountCommitment,
    range_proof: &AmountRangeProof,
    rng: &mut R,
) -> Result<(), PrivacyError> {
    verify_ranges(
        &[ctx.clone(), ctx.clone()],
        &[*amount_excl_vat, *amount_incl_vat],
        range_proof,
        rng,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::DriverSecret;
    use rand::rngs::OsRng;

    fn ctx(session: u8) -> SessionContext {
        SessionContext::new("kvitto/test/se-kvt", [1; 16], [session; 16]).unwrap()
    }

    #[test]
    fn commitments_open_and_prove() {
        let driver = DriverSecret::generate(&mut OsRng).public();
        let person = PersonKey::generate(&mut OsRng);
        let (c, o) = commit_session(&ctx(1), 500, 550, &driver, &person, &mut OsRng).unwrap();
        c.amount_excl_vat
            .verify_opening(&o.amount_excl_vat)
            .unwrap();
        c.amount_incl_vat
            .verify_opening(&o.amount_incl_vat)
            .unwrap();
        c.identity.verify_opening(&driver, &o.identity).unwrap();
        verify_session_ranges(
            &ctx(1),
            &c.amount_excl_vat,
            &c.amount_incl_vat,
            &c.range_proof,
            &mut OsRng,
        )
        .unwrap();
        // Bound to the session and to the order of the two amounts.
        assert!(verify_session_ranges(
            &ctx(2),
            &c.amount_excl_vat,
            &c.amount_incl_vat,
            &c.range_proof,
            &mut OsRng
        )
        .is_err());
        assert!(verify_session_ranges(
            &ctx(1),
            &c.amount_incl_vat,
            &c.amount_excl_vat,
            &c.range_proof,
            &mut OsRng
        )
        .is_err());
        // Never the same blinding twice, even for equal amounts.
        let (c2, _) = commit_session(&ctx(1), 500, 550, &driver, &person, &mut OsRng).unwrap();
        assert_ne!(c.amount_excl_vat, c2.amount_excl_vat);
    }
}
