//! Every bound of the replication layer, in one place.

use kvitto_core::limits::{ENTRY_LEN_MAX, READINGS_PER_SESSION_MAX};
use kvitto_core::reading::SIGNED_LEN;

/// Entries one fetch request may ask for.
pub const ENTRIES_PER_REQUEST_MAX: usize = 1024;

/// Bytes of entries and readings a responder puts in one response before it stops adding
/// entries (it always sends at least one, which may take up to [`ENTRY_SERVED_LEN_MAX`]).
pub const ENTRIES_RESPONSE_BUDGET: usize = 4 * 1024 * 1024;

/// Bytes of one served entry with every reading its session may have.
pub const ENTRY_SERVED_LEN_MAX: usize =
    4 + ENTRY_LEN_MAX + 4 + READINGS_PER_SESSION_MAX as usize * SIGNED_LEN;

/// Bytes of a checkpoint note in a response (the witness crate's gossip limit for notes).
pub const NOTE_LEN_MAX: usize = kvitto_witness::limits::NOTE_SIZE_MAX;

/// Hashes in a consistency proof.
pub const PROOF_HASHES_MAX: usize = kvitto_witness::limits::PROOF_HASHES_MAX;

/// Bytes of a tile or entry bundle in a response. Hash tiles are at most 8 KiB; an entry bundle
/// of very large entries can exceed this, and is then refused (fetch entries instead).
pub const TILE_LEN_MAX: usize = kvitto_net::limits::RESPONSE_SIZE_MAX - 64;
/// Longest sealed evidence bundle in a response: what fits beside the index and key.
pub const SEALED_EVIDENCE_LEN_MAX: usize = kvitto_net::limits::RESPONSE_SIZE_MAX - 128;
/// How long the operator's node may take to record a disclosure and answer.
pub const EVIDENCE_ANSWER_TIMEOUT_MS: u64 = 10_000;

/// Entries verified in memory before they are written: a chunk is written only once it is
/// proven to be a prefix of a signed checkpoint.
pub const COMMIT_CHUNK_ENTRIES: u64 = 16 * 1024;
/// ... or once the chunk holds this many bytes of entries and readings, whichever comes first.
pub const COMMIT_CHUNK_BYTES: usize = 64 * 1024 * 1024;

/// Recent checkpoints per log whose cosignatures are still collected.
pub const COSIGNED_NOTES_KEPT: usize = 16;

/// Queue of checkpoints and results flowing to the replica's main loop.
pub const EVENT_QUEUE_LEN: usize = 1024;

/// How often each mirror asks the log's owner for its latest checkpoint (in case gossip missed
/// one) and may retry a failed sync.
pub const PULL_INTERVAL_MS: u64 = 2_000;

/// Recently published gossip remembered, to skip republishing the same bytes.
pub const PUBLISHED_REMEMBERED_MAX: usize = 4096;

/// Evidence against flagged logs is re-announced this often.
pub const EVIDENCE_ANNOUNCE_INTERVAL_MS: u64 = 5 * PULL_INTERVAL_MS;

/// Bytes published within this window are not published again: gossipsub refuses what it saw
/// within its duplicate cache time (60 s), plus a margin.
pub const DUPLICATE_WINDOW_MS: u64 = 65_000;

/// A failed sync is retried after `PULL_INTERVAL_MS × 2^failures`, the exponent capped here
/// (2 s × 32 = 64 s).
pub const RETRY_DOUBLINGS_MAX: u32 = 5;

/// How often the main loop looks for a new checkpoint of the node's own log to gossip.
pub const OWN_CHECKPOINT_POLL_MS: u64 = 100;

const _: () = assert!(
    ENTRY_SERVED_LEN_MAX + ENTRIES_RESPONSE_BUDGET + 64 <= kvitto_net::limits::RESPONSE_SIZE_MAX,
    "a full response fits the network's response limit"
);
