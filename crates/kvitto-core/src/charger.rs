//! A software charger: holds a key and the chain state, and signs consecutive readings.
//!
//! Used by `kvitto charger simulate`, the benchmarks and the tests. It makes exactly the readings
//! a correct charger would; tests derive bad readings from good ones.

use ed25519_dalek::SigningKey;
use rand_core::{OsRng, RngCore};

use crate::keys::{KeyId, NetworkId, SessionId};
use crate::reading::{ReadingKind, SignedReading, UnsignedReading};

#[derive(Debug, Clone)]
pub struct SoftCharger {
    key: SigningKey,
    network: NetworkId,
    counter: u64,
    prev_hash: [u8; 32],
    register_wh: u64,
    session: Option<SessionId>,
}

impl SoftCharger {
    pub fn new(key: SigningKey, network: NetworkId) -> Self {
        SoftCharger {
            key,
            network,
            counter: 0,
            prev_hash: [0; 32],
            register_wh: 0,
            session: None,
        }
    }

    pub fn key_id(&self) -> KeyId {
        KeyId::of(&self.key.verifying_key().to_bytes())
    }

    pub fn public_key(&self) -> [u8; 32] {
        self.key.verifying_key().to_bytes()
    }

    pub fn signing_key(&self) -> &SigningKey {
        &self.key
    }

    pub fn register_wh(&self) -> u64 {
        self.register_wh
    }

    pub fn session(&self) -> Option<SessionId> {
        self.session
    }

    /// Starts a session with a fresh random id.
    pub fn start(&mut self, timestamp_ms: u64) -> SignedReading {
        let mut id = [0u8; 16];
        OsRng.fill_bytes(&mut id);
        self.start_with(SessionId(id), timestamp_ms)
    }

    pub fn start_with(&mut self, session: SessionId, timestamp_ms: u64) -> SignedReading {
        self.session = Some(session);
        self.sign(ReadingKind::Start, timestamp_ms, 0)
    }

    /// An intermediate reading after `energy_wh` more energy.
    pub fn meter(&mut self, timestamp_ms: u64, energy_wh: u64) -> SignedReading {
        self.sign(ReadingKind::Intermediate, timestamp_ms, energy_wh)
    }

    pub fn stop(&mut self, timestamp_ms: u64, energy_wh: u64) -> SignedReading {
        let reading = self.sign(ReadingKind::Stop, timestamp_ms, energy_wh);
        self.session = None;
        reading
    }

    /// The reading this charger would sign next, without advancing its state.
    pub fn peek(&self, kind: ReadingKind, timestamp_ms: u64, energy_wh: u64) -> UnsignedReading {
        UnsignedReading {
            network: self.network,
            key_id: self.key_id(),
            session: self.session.unwrap_or(SessionId([0; 16])),
            counter: self.counter + 1,
            kind,
            timestamp_ms,
            register_wh: self.register_wh + energy_wh,
            prev_hash: self.prev_hash,
        }
    }

    fn sign(&mut self, kind: ReadingKind, timestamp_ms: u64, energy_wh: u64) -> SignedReading {
        let signed = self.peek(kind, timestamp_ms, energy_wh).sign(&self.key);
        self.counter += 1;
        self.register_wh += energy_wh;
        self.prev_hash = signed.hash();
        signed
    }
}
