//! Keys, key ids, and the project's single Ed25519 verification rule.

use std::fmt;

use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::domain;

/// Why a signature did not verify.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum VerifyError {
    #[error("public key is not a valid Ed25519 point encoding")]
    BadPublicKey,
    #[error("signature does not verify under the strict rule")]
    BadSignature,
}

/// Verifies `sig` by `public_key` over `label || 0x00 || message`.
///
/// This is kvitto's one verification rule (`specs/crypto.md`): ed25519-dalek's `verify_strict`.
/// It rejects small-order public keys and `R` points, non-canonical `S`, non-canonical encodings
/// of `R`, and uses the cofactorless equation. Batch verification is deliberately not used: its
/// cofactored equation accepts signatures this rule rejects, and one rule must hold everywhere.
pub fn verify_strict(
    public_key: &[u8; 32],
    label: &str,
    message: &[u8],
    sig: &[u8; 64],
) -> Result<(), VerifyError> {
    let key = VerifyingKey::from_bytes(public_key).map_err(|_| VerifyError::BadPublicKey)?;
    verify_with(&key, label, message, sig)
}

/// [`verify_strict`] with an already decoded key, for hot paths that cache keys.
pub fn verify_with(
    key: &VerifyingKey,
    label: &str,
    message: &[u8],
    sig: &[u8; 64],
) -> Result<(), VerifyError> {
    verify_raw(key, &domain::signing_message(label, message), sig)
}

/// The rule itself, over raw message bytes with no domain label. Only the conformance tests call
/// this directly. `kvitto_tlog::note` makes the same `verify_strict` call for C2SP notes (which
/// have their own domain separation); both are pinned by the same conformance vectors.
pub fn verify_raw(key: &VerifyingKey, message: &[u8], sig: &[u8; 64]) -> Result<(), VerifyError> {
    let signature = Signature::from_bytes(sig);
    key.verify_strict(message, &signature)
        .map_err(|_| VerifyError::BadSignature)
}

/// Signs `label || 0x00 || message`.
pub fn sign(key: &SigningKey, label: &str, message: &[u8]) -> [u8; 64] {
    key.sign(&domain::signing_message(label, message))
        .to_bytes()
}

macro_rules! id_type {
    ($(#[$meta:meta])* $name:ident, $len:expr) => {
        $(#[$meta])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(into = "String", try_from = "String")]
        pub struct $name(pub [u8; $len]);

        impl $name {
            pub const LEN: usize = $len;
            pub fn to_hex(&self) -> String {
                hex::encode(self.0)
            }
            pub fn from_hex(s: &str) -> Result<Self, String> {
                let mut out = [0u8; $len];
                hex::decode_to_slice(s, &mut out)
                    .map_err(|e| format!("expected {} hex characters: {e}", 2 * $len))?;
                Ok(Self(out))
            }
        }
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.to_hex())
            }
        }
        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($name), self.to_hex())
            }
        }
        impl From<$name> for String {
            fn from(v: $name) -> String {
                v.to_hex()
            }
        }
        impl TryFrom<String> for $name {
            type Error = String;
            fn try_from(s: String) -> Result<Self, String> {
                Self::from_hex(&s)
            }
        }
    };
}

id_type!(
    /// A charger key's id: the first 16 bytes of `blake3-derive(HASH_CHARGER_KEY_ID, public key)`.
    KeyId,
    16
);
id_type!(
    /// A network's id: the first 16 bytes of `blake3-derive(HASH_NETWORK_ID, network name)`.
    NetworkId,
    16
);
id_type!(
    /// A charging session's id: 16 random bytes chosen by the charger at start.
    SessionId,
    16
);

fn truncate16(full: [u8; 32]) -> [u8; 16] {
    let mut out = [0u8; 16];
    out.copy_from_slice(&full[..16]);
    out
}

impl KeyId {
    pub fn of(public_key: &[u8; 32]) -> Self {
        KeyId(truncate16(domain::digest(
            domain::HASH_CHARGER_KEY_ID,
            &[public_key],
        )))
    }
}

impl NetworkId {
    pub fn of_name(name: &str) -> Self {
        NetworkId(truncate16(domain::digest(
            domain::HASH_NETWORK_ID,
            &[name.as_bytes()],
        )))
    }
}

/// Generates a fresh Ed25519 signing key from the operating system's randomness.
pub fn generate_signing_key() -> SigningKey {
    SigningKey::generate(&mut rand_core::OsRng)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_then_verify_and_domain_binds() {
        let key = generate_signing_key();
        let public = key.verifying_key().to_bytes();
        let sig = sign(&key, domain::SIG_READING, b"m");
        verify_strict(&public, domain::SIG_READING, b"m", &sig).unwrap();
        assert_eq!(
            verify_strict(&public, domain::HASH_READING, b"m", &sig),
            Err(VerifyError::BadSignature)
        );
    }

    #[test]
    fn ids_round_trip_hex() {
        let id = KeyId::of(&[7u8; 32]);
        assert_eq!(KeyId::from_hex(&id.to_hex()).unwrap(), id);
        assert!(KeyId::from_hex("00").is_err());
    }
}
