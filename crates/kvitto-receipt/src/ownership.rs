//! Proving to a third party that a receipt's session is yours: the ownership proof of
//! `specs/privacy.md` (knowledge of the identity scalar and the blinding behind the session's
//! identity commitment), answering that party's challenge.

use kvitto_core::entry::Entry;
use kvitto_privacy::{
    prove_ownership, verify_ownership, DriverSecret, IdentityCommitment, IdentityOpening,
    OwnershipProof, SessionContext,
};
use rand_core::{CryptoRng, RngCore};

use crate::format::Receipt;

/// The session a receipt names: its context and identity commitment, from the session record.
fn target(receipt: &Receipt) -> Result<(SessionContext, IdentityCommitment), String> {
    let bytes =
        hex::decode(&receipt.session.entry).map_err(|e| format!("the session entry: {e}"))?;
    let Ok(Entry::SessionClosed(record)) = Entry::decode(&bytes) else {
        return Err("the receipt's session entry is not a session record".into());
    };
    let privacy = record
        .privacy
        .ok_or("the session record has no identity commitment")?;
    let ctx = SessionContext::new(&receipt.log.origin, record.key_id.0, record.session.0)
        .map_err(|e| format!("session context: {e}"))?;
    let commitment = IdentityCommitment::from_bytes(&privacy.identity)
        .map_err(|e| format!("the identity commitment: {e}"))?;
    Ok((ctx, commitment))
}

/// The driver's answer to a verifier's `challenge` for this receipt's session.
pub fn prove_ownership_of<R: RngCore + CryptoRng>(
    receipt: &Receipt,
    secret: &DriverSecret,
    challenge: &[u8],
    rng: &mut R,
) -> Result<Vec<u8>, String> {
    let (ctx, commitment) = target(receipt)?;
    let opening = hex::decode(&receipt.openings.identity)
        .ok()
        .and_then(|b| IdentityOpening::from_bytes(&b).ok())
        .ok_or("the receipt's identity opening does not decode")?;
    prove_ownership(&ctx, &commitment, secret, &opening, challenge, rng)
        .map(|p| p.to_bytes().to_vec())
        .map_err(|_| "this secret is not the one behind this session's identity commitment".into())
}

/// Checks a driver's answer to the verifier's own `challenge`. The receipt itself must be
/// verified as well: this only says who holds the session.
pub fn verify_ownership_of(
    receipt: &Receipt,
    challenge: &[u8],
    proof: &[u8],
) -> Result<String, String> {
    let (ctx, commitment) = target(receipt)?;
    let proof =
        OwnershipProof::from_bytes(proof).map_err(|e| format!("the ownership proof: {e}"))?;
    verify_ownership(&ctx, &commitment, challenge, &proof)
        .map(|()| {
            "whoever answered your challenge holds the driver secret behind this session".into()
        })
        .map_err(|_| {
            "the ownership proof does not verify for this session and your challenge".into()
        })
}
