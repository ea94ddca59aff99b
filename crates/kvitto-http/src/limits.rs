//! Named limits of the HTTP API.

use kvitto_core::reading::SIGNED_LEN;
use kvitto_service::limits::BATCH_READINGS_MAX;

/// Readings in one request; the same bound as the sequencer's.
pub const READINGS_PER_REQUEST_MAX: usize = BATCH_READINGS_MAX;
/// Largest ingest body: a full batch as base64 JSON, with room for the JSON around it.
pub const INGEST_BODY_BYTES_MAX: usize = READINGS_PER_REQUEST_MAX * (SIGNED_LEN * 4 / 3 + 8) + 4096;
/// Largest admin body (a tariff document plus its envelope).
pub const ADMIN_BODY_BYTES_MAX: usize = kvitto_core::limits::TARIFF_JSON_LEN_MAX * 2;
/// Requests served at once; more wait.
pub const CONCURRENT_REQUESTS_MAX: usize = 256;
/// A request that takes longer is answered with 408.
pub const REQUEST_TIMEOUT_MS: u64 = 30_000;
/// A receipt-fetch challenge is valid this long after it is issued.
pub const CHALLENGE_VALID_MS: u64 = 60_000;
/// Redeemed challenges remembered at once (each for at most [`CHALLENGE_VALID_MS`]); beyond it,
/// receipt requests are refused with `busy` until old ones expire.
pub const CHALLENGES_REDEEMED_MAX: usize = 100_000;
/// Largest driver request (a pseudonym, a challenge and a proof, hex).
pub const DRIVER_BODY_BYTES_MAX: usize = 1024;
/// Batches longer than this are verified on the blocking pool, off the async workers.
pub const VERIFY_INLINE_MAX: usize = 8;

/// Session records `GET /v1/sessions/recent` returns by default, and at most.
pub const RECENT_SESSIONS_DEFAULT: usize = 20;
pub const RECENT_SESSIONS_MAX: usize = 50;
/// Entries `GET /v1/sessions/recent` scans back from the checkpoint, whatever it finds.
pub const RECENT_SESSIONS_SCAN_ENTRIES_MAX: u64 = 4096;
/// Largest audit report file served (`GET /v1/audit/report`, `GET /audit/report.html`).
pub const AUDIT_REPORT_BYTES_MAX: u64 = 16 * 1024 * 1024;

const _: () = assert!(RECENT_SESSIONS_DEFAULT <= RECENT_SESSIONS_MAX);
const _: () = assert!(READINGS_PER_REQUEST_MAX * SIGNED_LEN <= INGEST_BODY_BYTES_MAX);
