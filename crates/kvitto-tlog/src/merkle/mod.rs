//! RFC 6962 Merkle tree hashing and proofs.
//!
//! The tree is the one of RFC 6962 section 2.1 (= RFC 9162 section 2.1.1) over SHA-256: leaves
//! hash as `SHA-256(0x00 || entry)`, interior nodes as `SHA-256(0x01 || left || right)`, and a
//! tree of `n > 1` leaves splits at the largest power of two smaller than `n`.
//!
//! Storage is addressed by [`NodeId`]: `(level, index)` names the root of the *perfect* subtree
//! over leaves `[index * 2^level, (index + 1) * 2^level)`. Only perfect subtrees are ever stored;
//! every other hash (the root of a tree whose size is not a power of two, the right-hand parts of
//! proofs) is computed from them. [`Frontier::append`] returns each node that becomes complete, so
//! a store that keeps what it returns can answer every [`HashReader`] request this module makes.
//!
//! Proof generation ([`inclusion_proof`], [`consistency_proof`], ...) reads all the nodes a proof
//! needs in one [`HashReader::read_hashes`] batch. Verification ([`verify_inclusion`],
//! [`verify_consistency`], ...) needs no reader.
//!
//! Besides RFC 9162 proofs, the module implements the *subtree* proofs of
//! draft-ietf-plants-merkle-tree-certs (section 4): a [`Subtree`] `[start, end)` is a range that
//! appears as a node in the RFC 6962 recursion of some tree.

use std::fmt;
use std::ops::Range;

use sha2::{Digest, Sha256};

use crate::limits::HASH_SIZE;

mod frontier;
mod memory;
mod prove;
mod verify;

pub use frontier::{Frontier, FrontierLengthError, TreeFull};
pub use memory::{MemoryTree, MissingNode};
pub use prove::{
    consistency_proof, inclusion_proof, root, subtree_consistency_proof, subtree_hash,
    subtree_inclusion_proof,
};
pub use verify::{
    verify_consistency, verify_inclusion, verify_subtree_consistency, verify_subtree_inclusion,
};

/// A SHA-256 hash: a leaf hash, an interior node hash or a tree root.
///
/// Displays as lowercase hex; the C2SP text formats use [`Hash::to_base64`].
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Hash(pub [u8; HASH_SIZE]);

/// The root of the empty tree: SHA-256 of the empty string (RFC 6962 section 2.1).
pub const EMPTY_ROOT: Hash = Hash([
    0xe3, 0xb0, 0xc4, 0x42, 0x98, 0xfc, 0x1c, 0x14, 0x9a, 0xfb, 0xf4, 0xc8, 0x99, 0x6f, 0xb9, 0x24,
    0x27, 0xae, 0x41, 0xe4, 0x64, 0x9b, 0x93, 0x4c, 0xa4, 0x95, 0x99, 0x1b, 0x78, 0x52, 0xb8, 0x55,
]);

/// Why bytes or text could not be turned into a [`Hash`].
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum HashDecodeError {
    #[error("hash has {len} bytes, expected 32")]
    WrongLength { len: usize },
    #[error("hash is not canonical standard base64")]
    InvalidBase64,
    #[error("hash is not 64 lowercase hex digits")]
    InvalidHex,
}

impl Hash {
    /// Takes exactly 32 bytes.
    pub fn from_slice(bytes: &[u8]) -> Result<Hash, HashDecodeError> {
        <[u8; HASH_SIZE]>::try_from(bytes)
            .map(Hash)
            .map_err(|_| HashDecodeError::WrongLength { len: bytes.len() })
    }

    /// Decodes canonical standard base64 (with padding) of exactly 32 bytes.
    pub fn from_base64(text: &str) -> Result<Hash, HashDecodeError> {
        let bytes = crate::text::decode_base64(text).ok_or(HashDecodeError::InvalidBase64)?;
        Hash::from_slice(&bytes)
    }

    /// Decodes 64 lowercase hex digits.
    pub fn from_hex(text: &str) -> Result<Hash, HashDecodeError> {
        if text.bytes().any(|b| b.is_ascii_uppercase()) {
            return Err(HashDecodeError::InvalidHex);
        }
        let mut bytes = [0; HASH_SIZE];
        hex::decode_to_slice(text, &mut bytes).map_err(|_| HashDecodeError::InvalidHex)?;
        Ok(Hash(bytes))
    }

    pub fn to_base64(&self) -> String {
        crate::text::encode_base64(&self.0)
    }

    pub const fn as_bytes(&self) -> &[u8; HASH_SIZE] {
        &self.0
    }
}

impl fmt::Display for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl fmt::Debug for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Hash({self})")
    }
}

impl From<[u8; HASH_SIZE]> for Hash {
    fn from(bytes: [u8; HASH_SIZE]) -> Hash {
        Hash(bytes)
    }
}

impl AsRef<[u8]> for Hash {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

/// `SHA-256(0x00 || entry)`: the hash of a log entry as a leaf.
pub fn leaf_hash(entry: &[u8]) -> Hash {
    let mut sha = Sha256::new();
    sha.update([0x00]);
    sha.update(entry);
    Hash(sha.finalize().into())
}

/// `SHA-256(0x01 || left || right)`: the hash of an interior node.
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut sha = Sha256::new();
    sha.update([0x01]);
    sha.update(left.0);
    sha.update(right.0);
    Hash(sha.finalize().into())
}

/// The root of the perfect subtree over leaves `[index * 2^level, (index + 1) * 2^level)`.
///
/// Level 0 nodes are leaf hashes. Ordering is by level, then index.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeId {
    pub level: u8,
    pub index: u64,
}

impl NodeId {
    pub const fn new(level: u8, index: u64) -> NodeId {
        NodeId { level, index }
    }

    /// The leaf at `index`.
    pub const fn leaf(index: u64) -> NodeId {
        NodeId { level: 0, index }
    }

    /// The leaves this node covers, or `None` if they do not all have `u64` indices.
    pub fn leaf_range(&self) -> Option<Range<u64>> {
        let shift = u32::from(self.level);
        if shift >= u64::BITS {
            return None;
        }
        let start = u128::from(self.index) << shift;
        let end = (u128::from(self.index) + 1) << shift;
        // The last leaf index must itself be below u64::MAX, the largest possible tree size.
        Some(u64::try_from(start).ok()?..u64::try_from(end).ok()?)
    }
}

/// A range of leaves `[start, end)` whose hash is defined by the RFC 6962 recursion: it is not
/// empty and `start` is a multiple of `end - start` rounded up to a power of two
/// (draft-ietf-plants-merkle-tree-certs section 4.1).
///
/// Every whole tree `[0, size)` is a subtree, and so is every range that RFC 6962 proofs hash.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Subtree {
    start: u64,
    end: u64,
}

impl Subtree {
    pub fn new(start: u64, end: u64) -> Result<Subtree, ProofError> {
        let is_aligned = match end.checked_sub(start) {
            None | Some(0) => false,
            // Sizes above 2^63 round up to 2^64, of which only 0 is a multiple below 2^64.
            Some(size) => size
                .checked_next_power_of_two()
                .map_or(start == 0, |a| start.is_multiple_of(a)),
        };
        if !is_aligned {
            return Err(ProofError::InvalidSubtree { start, end });
        }
        Ok(Subtree { start, end })
    }

    /// The whole tree of `size` leaves; `None` for the empty tree, which has no nodes.
    pub fn tree(size: u64) -> Option<Subtree> {
        (size > 0).then_some(Subtree {
            start: 0,
            end: size,
        })
    }

    pub const fn start(&self) -> u64 {
        self.start
    }

    pub const fn end(&self) -> u64 {
        self.end
    }

    /// Number of leaves.
    pub const fn size(&self) -> u64 {
        self.end - self.start
    }

    pub const fn contains(&self, index: u64) -> bool {
        self.start <= index && index < self.end
    }

    /// The perfect subtrees this subtree decomposes into, left to right and so from the highest
    /// level down. Its hash folds them from the right: `h = node_hash(left, h)`.
    pub fn nodes(&self) -> impl Iterator<Item = NodeId> + '_ {
        let size = self.size();
        let mut position = self.start;
        (0..u64::BITS as u8).rev().filter_map(move |level| {
            let width = 1u64 << level;
            if size & width == 0 {
                return None;
            }
            // `start` is aligned to the next power of two above `size`, so `position` is aligned
            // to `width`, and `position + width <= end` cannot overflow.
            let node = NodeId::new(level, position >> level);
            position = position.wrapping_add(width);
            Some(node)
        })
    }

    pub(crate) fn node_count(&self) -> usize {
        self.size().count_ones() as usize
    }
}

/// Why a proof could not be made or did not verify.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ProofError {
    #[error("leaf index {index} is out of range for tree size {size}")]
    IndexOutOfRange { index: u64, size: u64 },
    #[error("leaf index {index} is outside subtree [{start}, {end})")]
    IndexOutsideSubtree { index: u64, start: u64, end: u64 },
    #[error("first tree size {size1} is greater than second tree size {size2}")]
    Size1GreaterThanSize2 { size1: u64, size2: u64 },
    #[error("consistency of the empty tree with tree size {size2} needs and has no proof")]
    EmptyFirstTree { size2: u64 },
    #[error("[{start}, {end}) is not a valid subtree")]
    InvalidSubtree { start: u64, end: u64 },
    #[error("subtree end {end} is beyond tree size {size}")]
    SubtreeBeyondTree { end: u64, size: u64 },
    #[error("proof has {actual} hashes, expected {expected}")]
    WrongProofLength { expected: usize, actual: usize },
    #[error("the root of an empty tree must be the sha-256 hash of the empty string")]
    EmptyTreeRoot,
    #[error("first root {expected} does not match {computed} computed from the proof")]
    FirstRootMismatch { computed: Hash, expected: Hash },
    #[error("root {expected} does not match {computed} computed from the proof")]
    RootMismatch { computed: Hash, expected: Hash },
}

/// Reads stored perfect-subtree hashes; the one storage boundary of this module.
///
/// Implementations must return exactly one hash per id, in the order of `ids`. A request only
/// names nodes that are complete in the tree size it is for, so a store that keeps every node
/// [`Frontier::append`] returned can always answer.
pub trait HashReader {
    type Error: std::error::Error + Send + Sync + 'static;

    fn read_hashes(&self, ids: &[NodeId]) -> Result<Vec<Hash>, Self::Error>;
}

impl<R: HashReader + ?Sized> HashReader for &R {
    type Error = R::Error;

    fn read_hashes(&self, ids: &[NodeId]) -> Result<Vec<Hash>, Self::Error> {
        (**self).read_hashes(ids)
    }
}

/// Why a hash could not be computed from a [`HashReader`].
#[derive(Debug, thiserror::Error)]
pub enum TreeError<E> {
    #[error(transparent)]
    InvalidRequest(#[from] ProofError),
    #[error("reading node hashes failed")]
    Read(#[source] E),
    #[error("hash reader returned {actual} hashes for {expected} node ids")]
    ReadCount { expected: usize, actual: usize },
}

/// Largest power of two strictly below `n`; `n` must be at least 2.
pub(crate) fn split_point(n: u64) -> u64 {
    1u64 << (u64::BITS - 1 - (n - 1).leading_zeros())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_root_is_sha256_of_nothing() {
        assert_eq!(EMPTY_ROOT, Hash(Sha256::digest(b"").into()));
    }

    #[test]
    fn split_point_is_largest_power_of_two_below() {
        assert_eq!(split_point(2), 1);
        assert_eq!(split_point(3), 2);
        assert_eq!(split_point(4), 2);
        assert_eq!(split_point(5), 4);
        assert_eq!(split_point(u64::MAX), 1 << 63);
    }

    #[test]
    fn subtree_validity() {
        assert!(Subtree::new(4, 7).is_ok());
        assert!(Subtree::new(8, 13).is_ok());
        assert!(Subtree::new(0, u64::MAX).is_ok());
        assert!(Subtree::new(3, 5).is_err());
        assert!(Subtree::new(1, 1).is_err());
        assert!(Subtree::new(2, 1).is_err());
        assert!(Subtree::new(1, (1 << 63) + 2).is_err());
    }

    #[test]
    fn subtree_nodes_decompose_left_to_right() {
        let nodes: Vec<_> = Subtree::new(8, 13).unwrap().nodes().collect();
        assert_eq!(nodes, [NodeId::new(2, 2), NodeId::new(0, 12)]);
        let all: Vec<_> = Subtree::tree(u64::MAX).unwrap().nodes().collect();
        assert_eq!(all.len(), 64);
        assert_eq!(all[63], NodeId::leaf(u64::MAX - 1));
    }

    #[test]
    fn node_leaf_ranges() {
        assert_eq!(NodeId::new(3, 2).leaf_range(), Some(16..24));
        assert_eq!(NodeId::new(63, 1).leaf_range(), None);
        assert_eq!(NodeId::new(64, 0).leaf_range(), None);
    }

    #[test]
    fn hash_text_forms() {
        let text = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
        assert_eq!(Hash::from_hex(text), Ok(EMPTY_ROOT));
        assert_eq!(EMPTY_ROOT.to_string(), text);
        assert_eq!(Hash::from_base64(&EMPTY_ROOT.to_base64()), Ok(EMPTY_ROOT));
        assert!(Hash::from_hex(&text.to_uppercase()).is_err());
        assert_eq!(
            Hash::from_base64("AA=="),
            Err(HashDecodeError::WrongLength { len: 1 })
        );
    }
}
