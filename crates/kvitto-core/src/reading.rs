//! Signed meter readings: the charger's unit of evidence.
//!
//! A reading body is 106 bytes, fixed layout, big-endian (see `specs/readings.md`):
//!
//! | offset | size | field |
//! |---|---|---|
//! | 0 | 1 | format version, `1` |
//! | 1 | 16 | network id |
//! | 17 | 16 | charger key id |
//! | 33 | 16 | session id |
//! | 49 | 8 | counter (per charger, first reading is 1) |
//! | 57 | 1 | kind: 1 start, 2 intermediate, 3 stop |
//! | 58 | 8 | timestamp, milliseconds since the Unix epoch, UTC |
//! | 66 | 8 | cumulative meter register, Wh |
//! | 74 | 32 | hash of this charger's previous reading (zeros for counter 1) |
//!
//! The signed reading is the body followed by a 64-byte Ed25519 signature over
//! `SIG_READING || 0x00 || body`. Fixed width and a closed set of values for the version and kind
//! bytes make the encoding canonical: a reading has exactly one valid encoding.

use ed25519_dalek::{SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};

use crate::codec::{DecodeError, Reader, Writer};
use crate::domain;
use crate::keys::{self, KeyId, NetworkId, SessionId, VerifyError};

pub const READING_VERSION: u8 = 1;
pub const BODY_LEN: usize = 106;
pub const SIGNED_LEN: usize = BODY_LEN + 64;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReadingKind {
    Start,
    Intermediate,
    Stop,
}

impl ReadingKind {
    fn to_byte(self) -> u8 {
        match self {
            ReadingKind::Start => 1,
            ReadingKind::Intermediate => 2,
            ReadingKind::Stop => 3,
        }
    }
    fn from_byte(b: u8) -> Result<Self, DecodeError> {
        match b {
            1 => Ok(ReadingKind::Start),
            2 => Ok(ReadingKind::Intermediate),
            3 => Ok(ReadingKind::Stop),
            other => Err(DecodeError::invalid(
                "kind",
                format!("{other} is not 1, 2 or 3"),
            )),
        }
    }
}

/// The fields a charger signs.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct UnsignedReading {
    pub network: NetworkId,
    pub key_id: KeyId,
    pub session: SessionId,
    pub counter: u64,
    pub kind: ReadingKind,
    pub timestamp_ms: u64,
    pub register_wh: u64,
    pub prev_hash: [u8; 32],
}

impl UnsignedReading {
    pub fn encode(&self) -> [u8; BODY_LEN] {
        let mut w = Writer::new();
        w.u8(READING_VERSION)
            .fixed(&self.network.0)
            .fixed(&self.key_id.0)
            .fixed(&self.session.0)
            .u64(self.counter)
            .u8(self.kind.to_byte())
            .u64(self.timestamp_ms)
            .u64(self.register_wh)
            .fixed(&self.prev_hash);
        let bytes = w.finish();
        let mut out = [0u8; BODY_LEN];
        out.copy_from_slice(&bytes);
        out
    }

    pub fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(bytes);
        let version = r.u8("version")?;
        if version != READING_VERSION {
            return Err(DecodeError::invalid(
                "version",
                format!("{version} is not {READING_VERSION}"),
            ));
        }
        let reading = UnsignedReading {
            network: NetworkId(r.array("network")?),
            key_id: KeyId(r.array("key_id")?),
            session: SessionId(r.array("session")?),
            counter: r.u64("counter")?,
            kind: ReadingKind::from_byte(r.u8("kind")?)?,
            timestamp_ms: r.u64("timestamp_ms")?,
            register_wh: r.u64("register_wh")?,
            prev_hash: r.array("prev_hash")?,
        };
        r.finish()?;
        if reading.counter == 0 {
            return Err(DecodeError::invalid("counter", "counters start at 1"));
        }
        Ok(reading)
    }

    /// Signs the body with the charger's key.
    pub fn sign(self, key: &SigningKey) -> SignedReading {
        let body = self.encode();
        let signature = keys::sign(key, domain::SIG_READING, &body);
        SignedReading {
            reading: self,
            body,
            signature,
        }
    }
}

/// A reading with its signature. Holding one means it decoded; it does not mean it verified.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SignedReading {
    pub reading: UnsignedReading,
    body: [u8; BODY_LEN],
    signature: [u8; 64],
}

impl SignedReading {
    pub fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        if bytes.len() != SIGNED_LEN {
            if bytes.len() < SIGNED_LEN {
                return Err(DecodeError::Truncated {
                    field: "signed reading",
                    needed: SIGNED_LEN - bytes.len(),
                });
            }
            return Err(DecodeError::TrailingBytes(bytes.len() - SIGNED_LEN));
        }
        let (body_bytes, sig_bytes) = bytes.split_at(BODY_LEN);
        let reading = UnsignedReading::decode(body_bytes)?;
        let mut body = [0u8; BODY_LEN];
        body.copy_from_slice(body_bytes);
        let mut signature = [0u8; 64];
        signature.copy_from_slice(sig_bytes);
        Ok(SignedReading {
            reading,
            body,
            signature,
        })
    }

    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(SIGNED_LEN);
        out.extend_from_slice(&self.body);
        out.extend_from_slice(&self.signature);
        out
    }

    pub fn body(&self) -> &[u8; BODY_LEN] {
        &self.body
    }

    pub fn signature(&self) -> &[u8; 64] {
        &self.signature
    }

    /// Checks the signature under the strict rule.
    pub fn verify(&self, key: &VerifyingKey) -> Result<(), VerifyError> {
        keys::verify_with(key, domain::SIG_READING, &self.body, &self.signature)
    }

    /// The chain hash: `blake3-derive(HASH_READING, signed bytes)`. The next reading of the same
    /// charger carries it as `prev_hash`.
    pub fn hash(&self) -> [u8; 32] {
        domain::digest(domain::HASH_READING, &[&self.body, &self.signature])
    }
}

/// The digest over a session's signed readings, in order:
/// `blake3-derive(HASH_SESSION_READINGS, signed reading 1 || ... || signed reading n)`.
/// Signed readings have a fixed length, so the concatenation is unambiguous.
pub fn session_readings_digest<'a>(
    readings: impl IntoIterator<Item = &'a SignedReading>,
) -> [u8; 32] {
    let mut hasher = blake3::Hasher::new_derive_key(domain::HASH_SESSION_READINGS);
    for r in readings {
        hasher.update(&r.body);
        hasher.update(&r.signature);
    }
    *hasher.finalize().as_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn sample(counter: u64, kind: ReadingKind) -> UnsignedReading {
        UnsignedReading {
            network: NetworkId::of_name("test"),
            key_id: KeyId([1; 16]),
            session: SessionId([2; 16]),
            counter,
            kind,
            timestamp_ms: 1_700_000_000_000,
            register_wh: 12_345,
            prev_hash: [3; 32],
        }
    }

    #[test]
    fn encoding_snapshot() {
        let key = SigningKey::from_bytes(&[9u8; 32]);
        let signed = sample(1, ReadingKind::Start).sign(&key);
        insta::assert_snapshot!(hex::encode(signed.encode()));
    }

    #[test]
    fn signature_binds_every_byte() {
        let key = SigningKey::from_bytes(&[9u8; 32]);
        let signed = sample(5, ReadingKind::Stop).sign(&key);
        signed.verify(&key.verifying_key()).unwrap();
        let bytes = signed.encode();
        for i in 0..bytes.len() {
            let mut flipped = bytes.clone();
            flipped[i] ^= 0x01;
            match SignedReading::decode(&flipped) {
                Err(_) => {}
                Ok(r) => assert!(
                    r.verify(&key.verifying_key()).is_err(),
                    "byte {i} not bound"
                ),
            }
        }
    }

    #[test]
    fn counter_zero_and_bad_kind_rejected() {
        let mut body = sample(1, ReadingKind::Start).encode();
        body[57] = 4;
        assert!(UnsignedReading::decode(&body)
            .unwrap_err()
            .to_string()
            .contains("kind"));
        let zero = sample(0, ReadingKind::Start).encode();
        assert!(UnsignedReading::decode(&zero)
            .unwrap_err()
            .to_string()
            .contains("counter"));
    }

    proptest! {
        #[test]
        fn round_trip_and_reject_truncations(
            counter in 1u64.., ts in any::<u64>(), wh in any::<u64>(), kind in 1u8..=3,
            seed in any::<[u8; 32]>(), session in any::<[u8; 16]>(),
        ) {
            let kind = ReadingKind::from_byte(kind).unwrap();
            let mut r = sample(counter, kind);
            r.timestamp_ms = ts;
            r.register_wh = wh;
            r.session = SessionId(session);
            let key = SigningKey::from_bytes(&seed);
            let signed = r.clone().sign(&key);
            let bytes = signed.encode();
            let back = SignedReading::decode(&bytes).unwrap();
            prop_assert_eq!(&back, &signed);
            prop_assert_eq!(back.encode(), bytes.clone());
            for cut in 0..bytes.len() {
                prop_assert!(SignedReading::decode(&bytes[..cut]).is_err());
            }
            let mut longer = bytes.clone();
            longer.push(0);
            prop_assert!(SignedReading::decode(&longer).is_err());
        }
    }
}
