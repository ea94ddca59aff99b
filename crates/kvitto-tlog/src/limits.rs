//! Every size and count that this crate bounds, in one place.
//!
//! Parsers reject input beyond these limits before doing work proportional to it. Relations
//! between limits, and the minimums the C2SP specifications require, are checked at compile time
//! at the bottom of this file.

/// Bytes in a SHA-256 hash, and so in every Merkle tree node hash.
pub const HASH_SIZE: usize = 32;

/// Height of a tlog tile: a tile at tile level `L` holds node hashes of tree level `8 * L`.
pub const TILE_HEIGHT: u8 = 8;

/// Hashes in a full tile (tlog-tiles: "Full tiles MUST be exactly 256 hashes wide").
pub const TILE_WIDTH_MAX: u16 = 1 << TILE_HEIGHT;

/// Bytes in a full tile.
pub const TILE_SIZE_MAX: usize = TILE_WIDTH_MAX as usize * HASH_SIZE;

/// Largest tile level a tile path may name (tlog-tiles: "between 0 and 63").
///
/// Tiles above level 7 would hold nodes of tree level 64 or more, which no tree with a `u64`
/// size has; the parser rejects them as out of range even though the path syntax allows them.
pub const TILE_LEVEL_MAX: u8 = 63;

/// Longest tile path: `tile/63/` and a 20-digit index in 7 groups and `.p/255` fit in 51 bytes.
pub const TILE_PATH_SIZE_MAX: usize = 64;

/// Largest entry in an entry bundle: the length prefix is a big-endian `u16`.
pub const ENTRY_SIZE_MAX: usize = u16::MAX as usize;

/// Largest entry bundle: a full bundle of largest entries, each with its 2-byte length prefix.
pub const BUNDLE_SIZE_MAX: usize = TILE_WIDTH_MAX as usize * (2 + ENTRY_SIZE_MAX);

/// Hashes in any inclusion or consistency proof of a tree with a `u64` size (tlog-witness:
/// "The client MUST NOT send more than 63 consistency proof lines"; an inclusion proof in a
/// tree of up to 2^64 - 1 leaves has at most 64).
pub const PROOF_HASHES_MAX: usize = 64;

/// Largest signed note, in bytes, that [`crate::note::Note::parse`] accepts.
///
/// Generous enough for [`NOTE_SIGNATURES_MAX`] post-quantum (ML-DSA-44, 3.3 KB in base64)
/// cosignature lines next to a checkpoint.
pub const NOTE_SIZE_MAX: usize = 256 * 1024;

/// Signature lines in one note (signed-note: verifiers "MUST accept at least up to 16").
pub const NOTE_SIGNATURES_MAX: usize = 64;

/// Decoded bytes of one note signature, key ID included (ML-DSA-87 signatures are 4,627 bytes).
pub const NOTE_SIGNATURE_SIZE_MAX: usize = 8 * 1024;

/// Bytes in a key name or checkpoint origin. The ML-DSA-44 cosigned message encodes both with a
/// one-byte length, so longer names could never be cosigned by a post-quantum witness.
pub const KEY_NAME_SIZE_MAX: usize = 255;

/// Extension lines in a checkpoint.
pub const CHECKPOINT_EXTENSIONS_MAX: usize = 16;

/// Largest cosignature timestamp (tlog-cosignature: "It MUST NOT exceed 2^63 - 1").
pub const COSIGNATURE_TIMESTAMP_MAX: u64 = (1 << 63) - 1;

/// Largest policy file, in bytes.
pub const POLICY_SIZE_MAX: usize = 64 * 1024;

/// Logs in one policy (tlog-policy: "strongly recommended ... at least up to 32 logs").
pub const POLICY_LOGS_MAX: usize = 64;

/// Witnesses in one policy (tlog-policy recommends at least 32).
pub const POLICY_WITNESSES_MAX: usize = 64;

/// Groups in one policy (tlog-policy recommends at least 32).
pub const POLICY_GROUPS_MAX: usize = 64;

/// Bytes of opaque extra data in a tlog-proof.
pub const TLOG_PROOF_EXTRA_SIZE_MAX: usize = 4 * 1024;

/// Largest tlog-proof, in bytes: header lines, proof hashes and a checkpoint note.
pub const TLOG_PROOF_SIZE_MAX: usize = NOTE_SIZE_MAX + 2 * TLOG_PROOF_EXTRA_SIZE_MAX + 8 * 1024;

const _: () = assert!(
    NOTE_SIGNATURES_MAX >= 16,
    "signed-note requires accepting 16 signatures"
);
const _: () = assert!(POLICY_LOGS_MAX >= 32 && POLICY_WITNESSES_MAX >= 32);
const _: () = assert!(POLICY_GROUPS_MAX >= 32);
const _: () = assert!(TILE_WIDTH_MAX == 256 && TILE_SIZE_MAX == 8192);
const _: () = assert!(
    (TILE_HEIGHT as u32) * 8 == u64::BITS,
    "levels 0..8 cover every u64 tree"
);
const _: () = assert!(PROOF_HASHES_MAX >= u64::BITS as usize);
const _: () = assert!(
    NOTE_SIGNATURE_SIZE_MAX >= 4 + 8 + 2420,
    "room for ML-DSA-44 cosignatures"
);
const _: () = assert!(KEY_NAME_SIZE_MAX < NOTE_SIZE_MAX);
const _: () = assert!(TLOG_PROOF_SIZE_MAX > NOTE_SIZE_MAX + PROOF_HASHES_MAX * 45);
