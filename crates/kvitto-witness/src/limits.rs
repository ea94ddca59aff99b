//! Every size and count that this crate bounds, in one place.
//!
//! Decoders reject input beyond these limits before doing work proportional to it. Relations
//! between the limits, and with the limits of `kvitto-tlog`, are checked at compile time at the
//! bottom of this file.

use kvitto_tlog::cosignature::COSIGNATURE_SIZE;
use kvitto_tlog::limits::{HASH_SIZE, KEY_NAME_SIZE_MAX, NOTE_SIGNATURES_MAX, POLICY_LOGS_MAX};

/// Logs one witness follows: every other member of a network.
pub const LOGS_MAX: usize = 64;

/// Hashes in a consistency proof (tlog-witness: "The client MUST NOT send more than 63
/// consistency proof lines"). An RFC 6962 consistency proof between trees of fewer than 2^63
/// leaves never needs more.
pub const PROOF_HASHES_MAX: usize = 63;

/// Bytes of a checkpoint's text: origin, size, root and extension lines, each with its newline.
///
/// The three mandatory lines need at most 255 + 1, 20 + 1 and 44 + 1 bytes; the rest is room for
/// extension lines.
pub const CHECKPOINT_TEXT_SIZE_MAX: usize = 4 * 1024;

/// Bytes of one signature line of a key type this crate verifies: `— ` (4 bytes), the key name,
/// a space, base64 of the key ID and a 72-byte timestamped cosignature (104 characters; a plain
/// Ed25519 signature is shorter), and the newline.
pub const SIGNATURE_LINE_SIZE_MAX: usize =
    4 + KEY_NAME_SIZE_MAX + 1 + base64_len(4 + COSIGNATURE_SIZE) + 1;

/// Bytes of a note that carries one signature line: a log-signed checkpoint as it appears in
/// split-view evidence.
pub const LOG_NOTE_SIZE_MAX: usize = CHECKPOINT_TEXT_SIZE_MAX + 1 + SIGNATURE_LINE_SIZE_MAX;

/// Bytes of the note a witness stores as its latest checkpoint of a log: the text, the log's
/// signature and the witness's own cosignature.
pub const STORED_NOTE_SIZE_MAX: usize = LOG_NOTE_SIZE_MAX + SIGNATURE_LINE_SIZE_MAX;

/// Bytes of a checkpoint note the witness accepts or gossips, cosignatures of others included.
///
/// Room for the text and a signature line for every one of the
/// [`kvitto_tlog::limits::NOTE_SIGNATURES_MAX`] signatures a note may carry.
pub const NOTE_SIZE_MAX: usize = 40 * 1024;

/// Bytes of an encoded [`crate::SplitView`]: a version byte, the origin with its length, two
/// log-signed notes with their lengths, the prefix root, the proof count and the proof.
pub const EVIDENCE_SIZE_MAX: usize = 1
    + 2
    + KEY_NAME_SIZE_MAX
    + 2 * (4 + LOG_NOTE_SIZE_MAX)
    + HASH_SIZE
    + 1
    + PROOF_HASHES_MAX * HASH_SIZE;

/// Bytes of an encoded [`crate::LogState`]: version, origin, log key, the stored note and
/// evidence, each behind an option tag and a length.
pub const STATE_SIZE_MAX: usize =
    1 + 2 + KEY_NAME_SIZE_MAX + 32 + 1 + 4 + STORED_NOTE_SIZE_MAX + 1 + 4 + EVIDENCE_SIZE_MAX;

/// Bytes of a C2SP add-checkpoint request body: `old <size>`, the proof lines (44 base64
/// characters each), the blank line and the note.
pub const ADD_CHECKPOINT_SIZE_MAX: usize =
    4 + 20 + 1 + PROOF_HASHES_MAX * (base64_len(HASH_SIZE) + 1) + 1 + NOTE_SIZE_MAX;

/// Leaf hashes in one simulated replication message ([`crate::sim`]).
pub const REPLICATE_LEAVES_MAX: usize = 512;

/// Bytes of one encoded message. Equal to gossipsub's default `max_transmit_size`, so every
/// message fits a gossip frame without raising it.
pub const MESSAGE_SIZE_MAX: usize = 64 * 1024;

/// Standard base64 length, with padding, of `n` bytes.
const fn base64_len(n: usize) -> usize {
    n.div_ceil(3) * 4
}

const _: () = assert!(
    LOGS_MAX <= POLICY_LOGS_MAX,
    "every followed log fits in one policy"
);
const _: () = assert!(base64_len(4 + COSIGNATURE_SIZE) == 104 && base64_len(HASH_SIZE) == 44);
const _: () = assert!(CHECKPOINT_TEXT_SIZE_MAX >= KEY_NAME_SIZE_MAX + 1 + 21 + 45);
const _: () = assert!(
    NOTE_SIZE_MAX >= CHECKPOINT_TEXT_SIZE_MAX + 1 + NOTE_SIGNATURES_MAX * SIGNATURE_LINE_SIZE_MAX,
    "a note with the most signatures kvitto-tlog accepts fits"
);
const _: () = assert!(STORED_NOTE_SIZE_MAX < NOTE_SIZE_MAX);
const _: () = assert!(
    PROOF_HASHES_MAX <= u8::MAX as usize,
    "the proof count is one byte"
);
// Every message variant fits one message: a tag, a length and its largest body.
const _: () = assert!(1 + 4 + NOTE_SIZE_MAX <= MESSAGE_SIZE_MAX);
const _: () = assert!(1 + 4 + ADD_CHECKPOINT_SIZE_MAX <= MESSAGE_SIZE_MAX);
const _: () = assert!(1 + 4 + EVIDENCE_SIZE_MAX <= MESSAGE_SIZE_MAX);
const _: () = assert!(
    1 + 4 + ADD_CHECKPOINT_SIZE_MAX + 4 + REPLICATE_LEAVES_MAX * HASH_SIZE <= MESSAGE_SIZE_MAX,
    "a simulated replication message fits one message too"
);

#[cfg(test)]
mod tests {
    use super::*;

    /// The values `specs/witness.md` lists.
    #[test]
    fn values_match_the_specification() {
        assert_eq!(SIGNATURE_LINE_SIZE_MAX, 365);
        assert_eq!(LOG_NOTE_SIZE_MAX, 4_462);
        assert_eq!(STORED_NOTE_SIZE_MAX, 4_827);
        assert_eq!(NOTE_SIZE_MAX, 40_960);
        assert_eq!(EVIDENCE_SIZE_MAX, 11_239);
        assert_eq!(STATE_SIZE_MAX, 16_366);
        assert_eq!(ADD_CHECKPOINT_SIZE_MAX, 43_821);
        assert_eq!(MESSAGE_SIZE_MAX, 65_536);
    }
}
