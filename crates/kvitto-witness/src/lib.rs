//! The witness core of kvitto: each node witnesses every other member's log.
//!
//! - [`Witness`]: the C2SP tlog-witness state machine. Per log it keeps the latest checkpoint it
//!   verified, cosigns (tlog-cosignature, Ed25519, type 0x04) only checkpoints proven consistent
//!   with it, and returns an [`Outcome`] that says what to persist and what to gossip.
//! - [`SplitView`]: evidence that a log signed two checkpoints that cannot both be true, which
//!   anyone can verify from the evidence and the log's key alone. A witness that detects or
//!   receives valid evidence flags the log and never cosigns it again.
//! - [`policy`]: whether a cosigned checkpoint is witnessed under a C2SP tlog-policy.
//! - [`Message`], [`LogState`]: the closed set of messages and the per-log state, each with a
//!   canonical encoding and limits named in [`limits`].
//! - [`sim`]: a seeded, deterministic simulation of honest nodes and a byzantine log over a
//!   faulty in-memory network, checking the witness invariants at every step.
//!
//! What it is not: it does no IO and knows nothing of tokio, libp2p, RocksDB, files or clocks.
//! Time is an argument, persistence and sending are the caller's, driven by the returned
//! outcomes. Mirroring log entries and serving tiles belong to the node; the simulation models
//! them with in-memory trees.
//!
//! The rules, encodings and what convicts a log are specified in `specs/witness.md` at the
//! repository root.

pub mod codec;
pub mod evidence;
pub mod limits;
pub mod message;
pub mod policy;
pub mod request;
pub mod sim;
pub mod state;
pub mod witness;

#[cfg(test)]
mod testing;

pub use evidence::{Conviction, ConvictionKind, EvidenceError, SplitView};
pub use message::Message;
pub use request::{AddCheckpoint, ConsistencyProof};
pub use state::{Latest, LogState};
pub use witness::{Cosigned, EvidenceOutcome, Outcome, Witness, WitnessError};
