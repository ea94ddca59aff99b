//! The kvitto node: configuration, key files, wiring of store, sequencer and HTTP, and the
//! command-line tools (simulated chargers, log verification, proofs, benchmarks).
//!
//! The wiring lives here rather than in `main.rs` so integration tests can start a node
//! in-process ([`node::start`]).

pub mod audit_cmd;
pub mod bench;
pub mod bench_net;
pub mod bench_privacy;
pub mod cli;
pub mod client;
pub mod config;
pub mod devnet;
pub mod disclosure;
pub mod keyfile;
pub mod network;
pub mod node;
pub mod proof;
pub mod receipt_cmd;
pub mod settle_agent;
pub mod settle_cmd;
pub mod simulate;
pub mod status;
pub mod tariff_cmd;
pub mod testnet;
pub mod verify;
