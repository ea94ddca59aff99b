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

/// Receipts one driver request returns: the newest this many sessions (about 8 KiB each).
pub const RECEIPTS_PER_REQUEST_MAX: usize = 500;

const _: () = assert!(BATCH_READINGS_MAX <= GROUP_READINGS_MAX);
const _: () = assert!(GROUP_COMMANDS_MAX <= COMMAND_QUEUE_LEN);
