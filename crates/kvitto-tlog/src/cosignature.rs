//! C2SP tlog-cosignature, Ed25519 version (signature type 0x04).
//!
//! A cosignature is a note signature on a checkpoint whose bytes are a `timestamped_signature`:
//! an 8-byte big-endian POSIX timestamp and a 64-byte Ed25519 signature over
//!
//! ```text
//! cosignature/v1
//! time <timestamp>
//! <checkpoint note text>
//! ```
//!
//! The ML-DSA-44 version (type 0x06) is not implemented; its signatures are unknown keys to
//! [`crate::note::Note::open`] and so ignored.

use std::fmt;

use ed25519_dalek::SigningKey;
use rand_core::CryptoRngCore;
use zeroize::Zeroizing;

use crate::checkpoint::Checkpoint;
use crate::limits::COSIGNATURE_TIMESTAMP_MAX;
use crate::note::{
    KeyError, KeyId, NamedSigningKey, NamedVerifyingKey, NoteError, Signature, Verifier,
};

/// Signature type byte of timestamped Ed25519 cosignatures.
pub const ALG_COSIGNATURE_V1: u8 = 0x04;

/// Bytes of a `timestamped_signature` with an Ed25519 signature.
pub const COSIGNATURE_SIZE: usize = 8 + 64;

/// Why a cosignature could not be made or read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CosignatureError {
    #[error("cosignature timestamp {timestamp} exceeds 2^63 - 1")]
    TimestampTooLarge { timestamp: u64 },
    #[error("cosignature has {actual} bytes, expected 72")]
    WrongSize { actual: usize },
    #[error("cosignature line is invalid")]
    Note(#[from] NoteError),
}

/// A decoded `timestamped_signature`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cosignature {
    pub timestamp: u64,
    pub signature: [u8; 64],
}

impl Cosignature {
    /// Decodes the bytes of a note signature after its key ID.
    pub fn from_bytes(bytes: &[u8]) -> Result<Cosignature, CosignatureError> {
        let wrong_size = CosignatureError::WrongSize {
            actual: bytes.len(),
        };
        let (timestamp, signature) = bytes.split_first_chunk::<8>().ok_or(wrong_size.clone())?;
        let signature: [u8; 64] = signature.try_into().map_err(|_| wrong_size)?;
        let timestamp = u64::from_be_bytes(*timestamp);
        if timestamp > COSIGNATURE_TIMESTAMP_MAX {
            return Err(CosignatureError::TimestampTooLarge { timestamp });
        }
        Ok(Cosignature {
            timestamp,
            signature,
        })
    }

    pub fn to_bytes(&self) -> [u8; COSIGNATURE_SIZE] {
        let mut bytes = [0; COSIGNATURE_SIZE];
        let (timestamp, signature) = bytes.split_at_mut(8);
        timestamp.copy_from_slice(&self.timestamp.to_be_bytes());
        signature.copy_from_slice(&self.signature);
        bytes
    }
}

/// The message a cosigner signs: `cosignature/v1\ntime <timestamp>\n` and the note text.
pub fn signed_message(text: &str, timestamp: u64) -> Vec<u8> {
    format!("cosignature/v1\ntime {timestamp}\n{text}").into_bytes()
}

/// A witness's cosigning key.
#[derive(Clone, Debug)]
pub struct CosignatureSigner(NamedSigningKey);

/// A witness's public key, as a note [`Verifier`] of its cosignatures.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CosignatureVerifier(NamedVerifyingKey);

impl CosignatureSigner {
    /// A new random key named `name`.
    pub fn generate<R: CryptoRngCore + ?Sized>(name: &str, rng: &mut R) -> Result<Self, KeyError> {
        NamedSigningKey::new(name, ALG_COSIGNATURE_V1, SigningKey::generate(rng))
            .map(CosignatureSigner)
    }

    /// The key with the RFC 8032 secret `seed`.
    pub fn from_seed(name: &str, seed: &[u8; 32]) -> Result<Self, KeyError> {
        NamedSigningKey::new(name, ALG_COSIGNATURE_V1, SigningKey::from_bytes(seed))
            .map(CosignatureSigner)
    }

    /// Parses `PRIVATE+KEY+<name>+<hex key ID>+<base64(0x04 || seed)>` (the signed-note private
    /// key form with the cosignature type byte; a kvitto convention, C2SP defines none).
    pub fn parse(text: &str) -> Result<Self, KeyError> {
        NamedSigningKey::parse(text, ALG_COSIGNATURE_V1).map(CosignatureSigner)
    }

    /// The private key string that [`CosignatureSigner::parse`] reads. It is the secret.
    pub fn to_private_key_string(&self) -> Zeroizing<String> {
        self.0.to_private_key_string()
    }

    pub fn verifier(&self) -> CosignatureVerifier {
        CosignatureVerifier(self.0.verifying_key())
    }

    pub fn name(&self) -> &str {
        self.0.name()
    }

    pub fn key_id(&self) -> KeyId {
        self.0.key_id()
    }

    /// Cosigns `checkpoint` as of `timestamp` (POSIX seconds, at most 2^63 - 1).
    pub fn cosign(
        &self,
        checkpoint: &Checkpoint,
        timestamp: u64,
    ) -> Result<Signature, CosignatureError> {
        if timestamp > COSIGNATURE_TIMESTAMP_MAX {
            return Err(CosignatureError::TimestampTooLarge { timestamp });
        }
        let signature = self
            .0
            .sign(&signed_message(&checkpoint.to_text(), timestamp));
        let bytes = Cosignature {
            timestamp,
            signature,
        }
        .to_bytes()
        .to_vec();
        Ok(Signature::new(self.0.name(), self.0.key_id(), bytes)?)
    }
}

impl CosignatureVerifier {
    pub fn new(name: &str, public_key: &[u8; 32]) -> Result<Self, KeyError> {
        NamedVerifyingKey::new(name, ALG_COSIGNATURE_V1, public_key).map(CosignatureVerifier)
    }

    /// Parses a vkey: `<name>+<hex key ID>+<base64(0x04 || public key)>`.
    pub fn parse(text: &str) -> Result<Self, KeyError> {
        NamedVerifyingKey::parse(text, ALG_COSIGNATURE_V1).map(CosignatureVerifier)
    }

    pub fn public_key(&self) -> &[u8; 32] {
        self.0.public_key()
    }
}

impl Verifier for CosignatureVerifier {
    fn name(&self) -> &str {
        self.0.name()
    }

    fn key_id(&self) -> KeyId {
        self.0.key_id()
    }

    fn verify(&self, text: &str, signature: &[u8]) -> bool {
        let Ok(cosignature) = Cosignature::from_bytes(signature) else {
            return false;
        };
        self.0.verify(
            &signed_message(text, cosignature.timestamp),
            &cosignature.signature,
        )
    }
}

impl fmt::Display for CosignatureVerifier {
    /// The vkey.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl std::str::FromStr for CosignatureVerifier {
    type Err = KeyError;

    fn from_str(text: &str) -> Result<Self, KeyError> {
        CosignatureVerifier::parse(text)
    }
}
