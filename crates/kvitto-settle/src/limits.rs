//! Named limits on everything this crate accepts.

/// Most obligations one netting covers: one per statement, so one per (CPO, eMSP, currency)
/// pair of a period in practice, with room for many currencies.
pub const OBLIGATIONS_MAX: usize = 1 << 20;
/// Longest party id (an OCPI party id such as `SE*N01` is 5 or 6 bytes).
pub const PARTY_ID_LEN_MAX: usize = 64;
/// Longest statement origin: the CPO log's C2SP origin line.
pub const ORIGIN_LEN_MAX: usize = 256;
/// Longest period label (for example `2026-11`).
pub const PERIOD_LEN_MAX: usize = 256;
/// Longest CSV or JSON text the export readers accept.
pub const IMPORT_LEN_MAX: usize = 256 * 1024 * 1024;
/// Longest OCPI invoice reconciliation record id (OCPI `CiString(36)`).
pub const OCPI_RECORD_ID_LEN_MAX: usize = 36;
/// Longest OCPI invoice id (OCPI `CiString(255)`).
pub const OCPI_INVOICE_ID_LEN_MAX: usize = 255;
/// Longest OCPI CDR id in a reconciliation record (OCPI `CiString(36)`).
pub const OCPI_CDR_ID_LEN_MAX: usize = 36;
/// Most CDR ids one reconciliation record lists: one statement covers at most this many
/// sessions (kvitto-privacy's `TOTAL_COMMITMENTS_MAX`).
pub const OCPI_CDRS_MAX: usize = 1 << 20;

// Every party has at least one obligation, so there are at most twice as many parties as
// obligations; positions are summed in i128, where 2^21 sums of i64 values cannot overflow.
const _: () = assert!((OBLIGATIONS_MAX as u128) < (1u128 << 63));
const _: () = assert!(PARTY_ID_LEN_MAX <= ORIGIN_LEN_MAX);
