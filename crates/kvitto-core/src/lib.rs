//! kvitto's wire formats and cryptography.
//!
//! This crate defines every byte string that is signed, hashed or stored by kvitto: the charger's
//! signed meter reading ([`reading`]), the typed log entries ([`entry`]), the canonical binary
//! codec both use ([`codec`]), the key types ([`keys`]) and the one table of domain-separation
//! labels ([`domain`]). It also pins the project's single Ed25519 verification rule
//! ([`keys::verify_strict`]).
//!
//! It is a leaf crate: no IO, no clocks, no async, no storage. Everything here is a pure function
//! of its inputs, so an independent verifier can be written from `specs/` and checked against it.

pub mod charger;
pub mod codec;
pub mod domain;
pub mod entry;
pub mod keys;
pub mod limits;
pub mod reading;
pub mod settlement;

pub use entry::{Entry, EntryError};
pub use keys::{KeyId, NetworkId, VerifyError};
pub use reading::{ReadingKind, SignedReading, UnsignedReading};
