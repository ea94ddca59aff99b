//! Evidence bundles: a session's off-ledger evidence, encrypted under an erasable key.
//!
//! The bundle's bytes (signed readings, CDR, commitment openings, token reference: the format is
//! the node's) are sealed with XChaCha20-Poly1305 under the session's [`EvidenceKey`], with a
//! random 24-byte nonce and associated data `AAD_EVIDENCE ‖ 0x00 ‖ encode(ctx)`. The ledger
//! holds only [`SealedEvidence::digest`].
//!
//! ChaCha20-Poly1305 does not commit to its key: a dishonest sealer could build one ciphertext
//! that opens to two different plaintexts under two keys, and show each to a different party.
//! The sealed form therefore carries `key_commitment = blake3_derive(HASH_EVIDENCE_KEY_COMMITMENT,
//! key)`, the digest covers it, and opening checks it first. A hash of a uniformly random 256-bit
//! key reveals nothing about the key.

use std::fmt;

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{Key, XChaCha20Poly1305, XNonce};
use rand_core::{CryptoRng, RngCore};
use subtle::ConstantTimeEq;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::context::SessionContext;
use crate::domain;
use crate::encoding::serde_hex;
use crate::error::PrivacyError;
use crate::limits;

/// Length of an XChaCha20-Poly1305 nonce.
const NONCE_LEN: usize = 24;
/// Length of a Poly1305 tag.
const TAG_LEN: usize = 16;

/// One session's evidence key. Derived from the [`crate::PersonKey`]; it may be handed to a
/// regulator to disclose exactly one session. Zeroised on drop.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct EvidenceKey([u8; 32]);

impl EvidenceKey {
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// The raw key, for a disclosure over an authorised channel.
    pub fn to_bytes(&self) -> [u8; 32] {
        self.0
    }

    fn commitment(&self) -> [u8; 32] {
        domain::derive_32(domain::HASH_EVIDENCE_KEY_COMMITMENT, &[&self.0])
    }

    /// Encrypts `plaintext` for session `ctx` with a fresh random nonce.
    pub fn seal<R: RngCore + CryptoRng>(
        &self,
        ctx: &SessionContext,
        plaintext: &[u8],
        rng: &mut R,
    ) -> Result<SealedEvidence, PrivacyError> {
        if plaintext.len() > limits::EVIDENCE_LEN_MAX {
            return Err(PrivacyError::TooLong {
                what: "evidence bundle",
                len: plaintext.len(),
                max: limits::EVIDENCE_LEN_MAX,
            });
        }
        let mut nonce = [0u8; NONCE_LEN];
        rng.fill_bytes(&mut nonce);
        let aad = aad(ctx);
        let ciphertext = XChaCha20Poly1305::new(Key::from_slice(&self.0))
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: plaintext,
                    aad: &aad,
                },
            )
            // Encryption fails only for plaintexts beyond 2^38 bytes; EVIDENCE_LEN_MAX is far below.
            .map_err(|_| PrivacyError::TooLong {
                what: "evidence bundle",
                len: plaintext.len(),
                max: limits::EVIDENCE_LEN_MAX,
            })?;
        Ok(SealedEvidence {
            key_commitment: self.commitment(),
            nonce,
            ciphertext,
        })
    }

    /// Decrypts a bundle sealed for session `ctx` under this key. Refuses a bundle sealed under
    /// another key, for another session, or altered in any byte.
    pub fn open(
        &self,
        ctx: &SessionContext,
        sealed: &SealedEvidence,
    ) -> Result<Zeroizing<Vec<u8>>, PrivacyError> {
        if !bool::from(self.commitment().ct_eq(&sealed.key_commitment)) {
            return Err(PrivacyError::EvidenceRejected);
        }
        let aad = aad(ctx);
        XChaCha20Poly1305::new(Key::from_slice(&self.0))
            .decrypt(
                XNonce::from_slice(&sealed.nonce),
                Payload {
                    msg: &sealed.ciphertext,
                    aad: &aad,
                },
            )
            .map(Zeroizing::new)
            .map_err(|_| PrivacyError::EvidenceRejected)
    }
}

impl fmt::Debug for EvidenceKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("EvidenceKey(<redacted>)")
    }
}

/// An encrypted evidence bundle, stored off the ledger by the serving operator.
///
/// Encoding: `key_commitment (32) ‖ nonce (24) ‖ ciphertext (plaintext length + 16)`.
#[derive(Clone, PartialEq, Eq)]
pub struct SealedEvidence {
    key_commitment: [u8; 32],
    nonce: [u8; NONCE_LEN],
    ciphertext: Vec<u8>,
}

impl SealedEvidence {
    /// The digest bound in the session's ledger record:
    /// `blake3_derive(HASH_EVIDENCE_DIGEST, encode(ctx) ‖ to_bytes())`.
    pub fn digest(&self, ctx: &SessionContext) -> [u8; 32] {
        domain::derive_32(
            domain::HASH_EVIDENCE_DIGEST,
            &[
                &ctx.encode(),
                &self.key_commitment,
                &self.nonce,
                &self.ciphertext,
            ],
        )
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(32 + NONCE_LEN + self.ciphertext.len());
        out.extend_from_slice(&self.key_commitment);
        out.extend_from_slice(&self.nonce);
        out.extend_from_slice(&self.ciphertext);
        out
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<Self, PrivacyError> {
        let header = 32 + NONCE_LEN;
        if bytes.len() < header + TAG_LEN {
            return Err(PrivacyError::Malformed("sealed evidence"));
        }
        if bytes.len() > header + TAG_LEN + limits::EVIDENCE_LEN_MAX {
            return Err(PrivacyError::TooLong {
                what: "sealed evidence",
                len: bytes.len(),
                max: header + TAG_LEN + limits::EVIDENCE_LEN_MAX,
            });
        }
        let mut key_commitment = [0u8; 32];
        key_commitment.copy_from_slice(&bytes[..32]);
        let mut nonce = [0u8; NONCE_LEN];
        nonce.copy_from_slice(&bytes[32..header]);
        Ok(Self {
            key_commitment,
            nonce,
            ciphertext: bytes[header..].to_vec(),
        })
    }
}

impl fmt::Debug for SealedEvidence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SealedEvidence")
            .field("key_commitment", &hex::encode(self.key_commitment))
            .field("ciphertext_len", &self.ciphertext.len())
            .finish()
    }
}

serde_hex!(SealedEvidence);

/// `AAD_EVIDENCE ‖ 0x00 ‖ encode(ctx)`.
fn aad(ctx: &SessionContext) -> Vec<u8> {
    let mut out = Vec::from(domain::AAD_EVIDENCE.as_bytes());
    out.push(0);
    out.extend_from_slice(&ctx.encode());
    out
}

#[cfg(test)]
mod tests {
    use rand::rngs::StdRng;
    use rand::SeedableRng;

    use super::*;

    #[test]
    fn sealed_evidence_round_trips() {
        let mut rng = StdRng::seed_from_u64(9);
        let ctx = SessionContext::new("kvitto/test/se-kvt", [1; 16], [2; 16]).unwrap();
        let key = EvidenceKey::from_bytes([3; 32]);
        let sealed = key.seal(&ctx, b"readings", &mut rng).unwrap();
        let back = SealedEvidence::from_bytes(&sealed.to_bytes()).unwrap();
        assert_eq!(back, sealed);
        assert_eq!(back.to_bytes().len(), 32 + 24 + 8 + 16);
        assert!(SealedEvidence::from_bytes(&[0u8; 71]).is_err());
    }
}
