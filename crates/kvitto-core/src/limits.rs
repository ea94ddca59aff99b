//! Named limits on everything kvitto accepts. Relations between them are checked at compile time.

/// Longest EVSE id (OCPI `evse_id` is at most 48 characters).
pub const EVSE_ID_LEN_MAX: usize = 48;
/// Longest meter serial number.
pub const METER_SERIAL_LEN_MAX: usize = 64;
/// Longest tariff document stored in one log entry.
pub const TARIFF_JSON_LEN_MAX: usize = 32 * 1024;
/// Longest encoded log entry. tlog-tiles entry bundles length-prefix entries with a u16.
pub const ENTRY_LEN_MAX: usize = 60 * 1024;
/// Readings in one session, start and stop included.
pub const READINGS_PER_SESSION_MAX: u32 = 4096;
/// Longest range proof in a session record (an aggregated Bulletproof for up to 64 values).
pub const RANGE_PROOF_LEN_MAX: usize = 32 * (9 + 2 * 12);
/// Longest case reference in a disclosure entry.
pub const CASE_REF_LEN_MAX: usize = 64;
/// Longest free-text field (reasons, ids) in an entry.
pub const TEXT_LEN_MAX: usize = 256;
/// Commitments one statement total covers (`specs/privacy.md`: sums stay below 2^84).
pub const STATEMENT_COMMITMENTS_MAX: u64 = 1 << 20;
/// Items in one dispute or dispute answer. Each is at most 10 (dispute) or
/// 10 + [`TEXT_LEN_MAX`] bytes (answer).
pub const DISPUTE_ITEMS_MAX: usize = 128;

const _: () = assert!(DISPUTE_ITEMS_MAX * (11 + TEXT_LEN_MAX) + 2 * 1024 <= ENTRY_LEN_MAX);

const _: () = assert!(TARIFF_JSON_LEN_MAX + 1024 <= ENTRY_LEN_MAX);
const _: () = assert!(ENTRY_LEN_MAX <= u16::MAX as usize);
