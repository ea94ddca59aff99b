//! Named limits on everything this crate accepts. Relations between them are checked at compile
//! time.

/// Bits of every amount range proof: amounts are `u64` minor units, proven in `[0, 2^64)`.
pub const RANGE_BITS: usize = 64;
/// Most sessions one aggregated range proof covers. Bulletproofs aggregates a power of two.
pub const RANGE_AGGREGATION_MAX: usize = 64;
/// Most commitments one total statement (a sum check or a total proof) covers.
pub const TOTAL_COMMITMENTS_MAX: usize = 1 << 20;
/// Longest log origin in a session context (the log's C2SP origin line).
pub const ORIGIN_LEN_MAX: usize = 256;
/// Longest caller-chosen statement label of a total proof (settlement period, parties).
pub const STATEMENT_LEN_MAX: usize = 1024;
/// Longest verifier challenge (nonce, audience) bound into ownership and possession proofs.
pub const CHALLENGE_LEN_MAX: usize = 256;
/// Largest evidence bundle plaintext: readings (4096 × 170 bytes), a CDR and openings fit.
pub const EVIDENCE_LEN_MAX: usize = 8 * 1024 * 1024;

const _: () = assert!(RANGE_AGGREGATION_MAX.is_power_of_two());
const _: () = assert!(RANGE_AGGREGATION_MAX <= TOTAL_COMMITMENTS_MAX);
const _: () = assert!(RANGE_BITS == 64);
// The encoded origin carries a u16 length.
const _: () = assert!(ORIGIN_LEN_MAX <= u16::MAX as usize);
// 4096 signed readings of 170 bytes each must fit with room for the CDR and openings.
const _: () = assert!(4096 * 170 + 64 * 1024 <= EVIDENCE_LEN_MAX);
// Sums of TOTAL_COMMITMENTS_MAX values below 2^64 stay far below the group order ℓ ≈ 2^252, so
// a sum of range-proven commitments can never wrap.
const _: () = assert!(TOTAL_COMMITMENTS_MAX <= 1 << 32);
