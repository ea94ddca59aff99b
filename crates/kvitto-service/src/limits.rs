//! Named limits of the log service.

/// Commands waiting for the sequencer. Senders wait when it is full (backpressure, no unbounded
/// queue).
pub const COMMAND_QUEUE_LEN: usize = 1024;
/// Commands applied in one group commit.
pub const GROUP_COMMANDS_MAX: usize = 512;
/// Readings in one ingest request.
pub const BATCH_READINGS_MAX: usize = 1024;
/// Readings applied in one group commit, across requests.
pub const GROUP_READINGS_MAX: usize = 16 * 1024;

/// OCPI 2.2.1 `Token.uid` and `Token.contract_id` are at most 36 characters.
pub const TOKEN_UID_LEN_MAX: usize = 36;
pub const CONTRACT_ID_LEN_MAX: usize = 36;
/// OCPI `Token.visual_number` is at most 64 characters.
pub const VISUAL_NUMBER_LEN_MAX: usize = 64;
/// Longest licence plate accepted with a token.
pub const LICENSE_PLATE_LEN_MAX: usize = 16;
/// Members' evidence requests waiting for the node's custody; the replica waits when it is full.
pub const EVIDENCE_ASKS_QUEUE_LEN: usize = 16;
/// How often the node runs retention (also once at start).
pub const RETENTION_RUN_INTERVAL_S: u64 = 3600;
/// Receipts one driver request returns: the newest this many sessions (about 8 KiB each).
pub const RECEIPTS_PER_REQUEST_MAX: usize = 500;

const _: () = assert!(BATCH_READINGS_MAX <= GROUP_READINGS_MAX);
const _: () = assert!(GROUP_COMMANDS_MAX <= COMMAND_QUEUE_LEN);
