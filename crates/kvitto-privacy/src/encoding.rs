//! Byte-level helpers shared by the public types: canonical point and scalar decoding, and serde
//! as lowercase hex of each type's `to_bytes`.

use curve25519_dalek::ristretto::{CompressedRistretto, RistrettoPoint};
use curve25519_dalek::scalar::Scalar;

use crate::error::PrivacyError;

/// Decodes a canonical `ristretto255` encoding. `decompress` rejects every non-canonical
/// encoding, so each point has exactly one accepted byte string.
pub(crate) fn point(bytes: &[u8], what: &'static str) -> Result<RistrettoPoint, PrivacyError> {
    let array: [u8; 32] = bytes
        .try_into()
        .map_err(|_| PrivacyError::Malformed(what))?;
    CompressedRistretto(array)
        .decompress()
        .ok_or(PrivacyError::Malformed(what))
}

/// Decodes a canonical scalar (little-endian, below ℓ).
pub(crate) fn scalar(bytes: &[u8], what: &'static str) -> Result<Scalar, PrivacyError> {
    let array: [u8; 32] = bytes
        .try_into()
        .map_err(|_| PrivacyError::Malformed(what))?;
    Option::from(Scalar::from_canonical_bytes(array)).ok_or(PrivacyError::Malformed(what))
}

/// Implements `Serialize`/`Deserialize` as a lowercase hex string of `to_bytes()`, parsed back
/// with `from_bytes(&[u8])`.
macro_rules! serde_hex {
    ($ty:ty) => {
        impl serde::Serialize for $ty {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(&hex::encode(self.to_bytes()))
            }
        }

        impl<'de> serde::Deserialize<'de> for $ty {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let text =
                    <std::borrow::Cow<'de, str> as serde::Deserialize>::deserialize(deserializer)?;
                let bytes = hex::decode(text.as_ref()).map_err(serde::de::Error::custom)?;
                <$ty>::from_bytes(&bytes).map_err(serde::de::Error::custom)
            }
        }
    };
}

pub(crate) use serde_hex;
