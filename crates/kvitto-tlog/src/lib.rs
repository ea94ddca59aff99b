//! The transparency-log formats and mathematics of kvitto.
//!
//! This crate is what an independent verifier of a kvitto log needs, and what the node uses to
//! build one:
//!
//! - [`merkle`]: RFC 6962 / RFC 9162 Merkle tree hashing, inclusion and consistency proofs (and
//!   the subtree proofs of draft-ietf-plants-merkle-tree-certs), a [`merkle::Frontier`] that
//!   appends leaves and reports every node that became complete, and the [`merkle::HashReader`]
//!   trait through which proofs are computed from stored node hashes.
//! - [`tiles`]: the C2SP tlog-tiles layout: tile and entry-bundle paths, which node hashes a tile
//!   holds, bundle encoding, and a client that recomputes roots and proofs from fetched tiles.
//! - [`note`]: C2SP signed notes and their Ed25519 keys; the one Ed25519 verification rule of the
//!   project ([`note::ed25519_verify_strict`]).
//! - [`checkpoint`], [`cosignature`], [`policy`], [`tlog_proof`]: the C2SP tlog-checkpoint,
//!   tlog-cosignature (Ed25519, type 0x04), tlog-policy and tlog-proof formats.
//! - [`limits`]: every size and count this crate bounds.
//!
//! What it is not: it does no IO and knows nothing of storage, networks, clocks or randomness
//! sources. Node hashes come in through [`merkle::HashReader`], time comes in as an argument
//! (cosignature timestamps), and key generation takes the caller's random number generator.
//! It never panics on untrusted input: every parser and verifier returns an error instead.
//!
//! The exact formats are specified in `specs/tlog.md` at the repository root.

pub mod checkpoint;
pub mod cosignature;
pub mod limits;
pub mod merkle;
pub mod note;
pub mod policy;
pub mod tiles;
pub mod tlog_proof;

mod text;

pub use merkle::{Hash, NodeId};
