//! The log service: what runs between the HTTP API and the store.
//!
//! - [`sequencer`]: the single writer. It owns the [`kvitto_ledger::Ledger`] and the Merkle
//!   frontier, takes commands from a bounded queue, applies as many as are waiting, writes their
//!   effects in one sync'd batch (group commit), and only then answers each request. It also signs
//!   checkpoints, persisting each before publishing it.
//! - [`view`]: the published state readers see (log size, root, latest checkpoint, key cache).
//! - [`logs`]: every log the node serves (its own and its mirrors) and what the replication
//!   layer publishes about each: cosignatures, the witnessed checkpoint, split views, peers.
//!
//! - [`custody`]: personal data in the operator's custody, off the ledger: tokens, person keys,
//!   session links, sealed evidence bundles, erasure and retention.
//!
//! Not here: HTTP, CLI, key files. Time comes from a [`Clock`] so tests can control it.

pub mod custody;
pub mod limits;
pub mod logs;
pub mod receipts;
pub mod sequencer;
pub mod settlement;
pub mod settlement_index;
pub mod view;

pub use logs::{
    LogInfo, LogKind, LogSet, NetCounters, PeerBoard, PeerView, ServedLog, SplitViewInfo,
    WitnessBoard, WitnessInfo,
};
pub use sequencer::{
    AnswerPlan, Command, ExpiryReport, IngestError, IngestReceipt, Sequencer, SequencerConfig,
    SequencerHandle,
};
pub use view::{LogView, Published};

/// Milliseconds since the Unix epoch.
pub trait Clock: Send + Sync + 'static {
    fn now_ms(&self) -> u64;
}

/// The operating system's clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_ms(&self) -> u64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0)
    }
}

/// One session's evidence as its log's operator disclosed it: the record index, the session's
/// evidence key and the sealed bundle. The receiver checks the bundle against the ledger.
#[derive(Debug, Clone)]
pub struct DisclosedEvidence {
    pub index: u64,
    pub key: [u8; 32],
    pub sealed: Vec<u8>,
}

/// How a node asks another member's operator for a session's evidence (over the network).
pub trait EvidenceSource: Send + Sync + 'static {
    fn fetch(
        &self,
        origin: String,
        session: kvitto_core::keys::SessionId,
        case_ref: String,
    ) -> std::pin::Pin<
        Box<dyn std::future::Future<Output = Result<DisclosedEvidence, String>> + Send>,
    >;
}

/// Signs checkpoint bodies into C2SP signed notes with the log's key.
pub trait CheckpointSigner: Send + Sync + 'static {
    /// The log's origin line.
    fn origin(&self) -> &str;
    /// A signed note for `size` and `root`.
    fn sign(&self, size: u64, root: &kvitto_tlog::Hash) -> Vec<u8>;
}
