//! The C2SP tlog-tiles layout: tile and entry-bundle coordinates, paths and encodings, and a
//! client-side [`TileHashes`] that computes roots and proofs from fetched tiles.
//!
//! A tile at tile level `L` and index `N` holds the hashes of tree nodes at level `8 * L` with
//! indices `N * 256 .. N * 256 + W`; a full tile has `W = 256`, a partial one `1 <= W < 256`.
//! Levels between tile levels are not stored: they are recomputed by hashing within one tile.
//! Paths are relative to the log's prefix, without a leading slash: `tile/<L>/<N>[.p/<W>]` and
//! `tile/entries/<N>[.p/<W>]`, with `N` in zero-padded three-digit groups, all but the last
//! prefixed with `x`.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::ops::Range;

use crate::limits::{
    ENTRY_SIZE_MAX, HASH_SIZE, TILE_HEIGHT, TILE_LEVEL_MAX, TILE_PATH_SIZE_MAX, TILE_WIDTH_MAX,
};
use crate::merkle::{node_hash, Hash, HashReader, NodeId, TreeError};

/// A tile of node hashes: its level, index and width in hashes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TileId {
    level: u8,
    index: u64,
    width: u16,
}

/// An entry bundle: the entries of the level 0 tile with the same index.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BundleId {
    index: u64,
    width: u16,
}

/// A parsed tile path.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TilePath {
    Tile(TileId),
    Bundle(BundleId),
}

/// Why tile coordinates or bytes were rejected.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TileError {
    #[error("tile width {width} is not between 1 and 256")]
    InvalidWidth { width: u16 },
    #[error("tile level {level} index {index} width {width} covers leaves beyond any u64 tree")]
    OutOfRange { level: u8, index: u64, width: u16 },
    #[error("tile {tile} should be {expected} bytes, got {actual}")]
    WrongSize {
        tile: String,
        expected: usize,
        actual: usize,
    },
    #[error("tile {tile} is narrower than the {needed} hashes a tree of size {size} has there")]
    TooNarrow {
        tile: String,
        needed: u16,
        size: u64,
    },
    #[error("tile {tile} does not exist in a tree of size {size}")]
    NotInTree { tile: String, size: u64 },
}

/// Why a tile path was rejected.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("malformed tile path {path:?}: {reason}")]
pub struct TilePathError {
    pub path: String,
    pub reason: &'static str,
}

/// Why an entry bundle could not be encoded or decoded.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum BundleError {
    #[error("entry of {size} bytes is larger than the {max} bytes a bundle can hold")]
    EntryTooLarge { size: usize, max: usize },
    #[error("a bundle holds 1 to 256 entries, got {count}")]
    WrongEntryCount { count: usize },
    #[error("bundle ends inside entry {entry}")]
    Truncated { entry: usize },
    #[error("bundle has {extra} bytes after its {width} entries")]
    TrailingBytes { width: u16, extra: usize },
}

/// Reading node hashes from a [`TileHashes`] needs tiles it does not have.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TileReadError {
    #[error("{} tiles are missing", .0.len())]
    MissingTiles(Vec<TileId>),
    #[error("node at level {} index {} is not complete in the tree", .0.level, .0.index)]
    NodeNotInTree(NodeId),
}

impl TileId {
    /// A tile of `width` hashes (256 for a full tile).
    pub fn new(level: u8, index: u64, width: u16) -> Result<TileId, TileError> {
        if !(1..=TILE_WIDTH_MAX).contains(&width) {
            return Err(TileError::InvalidWidth { width });
        }
        let shift = u32::from(level) * u32::from(TILE_HEIGHT);
        let nodes_end = u128::from(index) * u128::from(TILE_WIDTH_MAX) + u128::from(width);
        // The last node's last leaf must have an index below u64::MAX, the largest tree size.
        let fits = shift < u64::BITS && nodes_end << shift <= u128::from(u64::MAX);
        if level > TILE_LEVEL_MAX || !fits {
            return Err(TileError::OutOfRange {
                level,
                index,
                width,
            });
        }
        Ok(TileId {
            level,
            index,
            width,
        })
    }

    /// A full tile.
    pub fn full(level: u8, index: u64) -> Result<TileId, TileError> {
        TileId::new(level, index, TILE_WIDTH_MAX)
    }

    /// The tile at `level` and `index` as it is in a tree of `size` leaves: full, partial, or
    /// `None` where that tree has no node for it.
    pub fn in_tree(level: u8, index: u64, size: u64) -> Option<TileId> {
        let shift = u32::from(level) * u32::from(TILE_HEIGHT);
        let nodes = size.checked_shr(shift).unwrap_or(0);
        let width = tile_width(nodes, index)?;
        TileId::new(level, index, width).ok()
    }

    pub fn level(&self) -> u8 {
        self.level
    }

    pub fn index(&self) -> u64 {
        self.index
    }

    /// Number of hashes: 256 for a full tile.
    pub fn width(&self) -> u16 {
        self.width
    }

    pub fn is_partial(&self) -> bool {
        self.width < TILE_WIDTH_MAX
    }

    /// Bytes of the tile: 32 per hash.
    pub fn byte_size(&self) -> usize {
        usize::from(self.width) * HASH_SIZE
    }

    /// The tree level of the tile's hashes: `8 * level`.
    pub fn node_level(&self) -> u8 {
        self.level * TILE_HEIGHT
    }

    /// The nodes whose hashes the tile holds, in order.
    pub fn node_ids(&self) -> impl Iterator<Item = NodeId> {
        let level = self.node_level();
        let first = self.index * u64::from(TILE_WIDTH_MAX);
        (first..first + u64::from(self.width)).map(move |index| NodeId::new(level, index))
    }

    /// The path below the log prefix: `tile/<L>/<N>[.p/<W>]`.
    pub fn path(&self) -> String {
        format!("tile/{}/{}", self.level, index_path(self.index, self.width))
    }

    /// Parses a hash tile path, accepting only the canonical form.
    pub fn parse(path: &str) -> Result<TileId, TilePathError> {
        match parse_path(path)? {
            TilePath::Tile(tile) => Ok(tile),
            TilePath::Bundle(_) => Err(path_error(path, "an entry bundle, not a hash tile")),
        }
    }
}

impl fmt::Display for TileId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.path())
    }
}

impl BundleId {
    /// A bundle of `width` entries (256 for a full bundle).
    pub fn new(index: u64, width: u16) -> Result<BundleId, TileError> {
        let tile = TileId::new(0, index, width)?;
        Ok(BundleId {
            index: tile.index,
            width: tile.width,
        })
    }

    /// The bundle at `index` as it is in a tree of `size` leaves.
    pub fn in_tree(index: u64, size: u64) -> Option<BundleId> {
        let width = tile_width(size, index)?;
        BundleId::new(index, width).ok()
    }

    /// The bundle holding leaf `leaf` in a tree of `size` leaves.
    pub fn for_leaf(leaf: u64, size: u64) -> Option<BundleId> {
        if leaf >= size {
            return None;
        }
        BundleId::in_tree(leaf / u64::from(TILE_WIDTH_MAX), size)
    }

    pub fn index(&self) -> u64 {
        self.index
    }

    pub fn width(&self) -> u16 {
        self.width
    }

    pub fn is_partial(&self) -> bool {
        self.width < TILE_WIDTH_MAX
    }

    /// The indices of the entries in the bundle.
    pub fn leaf_range(&self) -> Range<u64> {
        let first = self.index * u64::from(TILE_WIDTH_MAX);
        first..first + u64::from(self.width)
    }

    /// The level 0 tile that holds the leaf hashes of the bundle's entries.
    pub fn tile(&self) -> TileId {
        TileId {
            level: 0,
            index: self.index,
            width: self.width,
        }
    }

    /// The path below the log prefix: `tile/entries/<N>[.p/<W>]`.
    pub fn path(&self) -> String {
        format!("tile/entries/{}", index_path(self.index, self.width))
    }

    /// Parses an entry bundle path, accepting only the canonical form.
    pub fn parse(path: &str) -> Result<BundleId, TilePathError> {
        match parse_path(path)? {
            TilePath::Bundle(bundle) => Ok(bundle),
            TilePath::Tile(_) => Err(path_error(path, "a hash tile, not an entry bundle")),
        }
    }
}

impl fmt::Display for BundleId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.path())
    }
}

/// Width of tile `index` on a level with `nodes` complete nodes, if the tile is not empty.
fn tile_width(nodes: u64, index: u64) -> Option<u16> {
    let first = index.checked_mul(u64::from(TILE_WIDTH_MAX))?;
    let remaining = nodes
        .checked_sub(first)
        .filter(|&remaining| remaining > 0)?;
    u16::try_from(remaining.min(u64::from(TILE_WIDTH_MAX))).ok()
}

/// `<N>[.p/<W>]`: `N` in three-digit groups, all but the last prefixed with `x`.
fn index_path(index: u64, width: u16) -> String {
    let mut groups = Vec::new();
    let mut rest = index;
    loop {
        groups.push(rest % 1000);
        rest /= 1000;
        if rest == 0 {
            break;
        }
    }
    let mut path = String::new();
    for (position, group) in groups.iter().rev().enumerate() {
        let separator = if position + 1 < groups.len() { "x" } else { "" };
        let slash = if position == 0 { "" } else { "/" };
        path.push_str(&format!("{slash}{separator}{group:03}"));
    }
    if width < TILE_WIDTH_MAX {
        path.push_str(&format!(".p/{width}"));
    }
    path
}

fn path_error(path: &str, reason: &'static str) -> TilePathError {
    TilePathError {
        path: path.to_owned(),
        reason,
    }
}

/// Parses a tile or entry bundle path, accepting only the canonical form: the one
/// [`TileId::path`] or [`BundleId::path`] produces.
pub fn parse_path(path: &str) -> Result<TilePath, TilePathError> {
    if path.len() > TILE_PATH_SIZE_MAX {
        let start: String = path.chars().take(TILE_PATH_SIZE_MAX).collect();
        return Err(path_error(&start, "longer than any tile path"));
    }
    let error = |reason| path_error(path, reason);
    let rest = path
        .strip_prefix("tile/")
        .ok_or_else(|| error("does not start with tile/"))?;
    let (kind, rest) = rest.split_once('/').ok_or_else(|| error("has no index"))?;
    let (index_text, width) = match rest.split_once(".p/") {
        None => (rest, TILE_WIDTH_MAX),
        Some((index_text, width_text)) => {
            let width = crate::text::parse_decimal(width_text)
                .and_then(|width| u16::try_from(width).ok())
                .filter(|width| (1..TILE_WIDTH_MAX).contains(width))
                .ok_or_else(|| error("partial width is not a decimal from 1 to 255"))?;
            (index_text, width)
        }
    };
    let index = parse_index(index_text).ok_or_else(|| error("index is not x-prefixed groups"))?;
    let parsed = if kind == "entries" {
        TilePath::Bundle(BundleId::new(index, width).map_err(|_| error("index out of range"))?)
    } else {
        let level = crate::text::parse_decimal(kind)
            .and_then(|level| u8::try_from(level).ok())
            .filter(|&level| level <= TILE_LEVEL_MAX)
            .ok_or_else(|| error("level is not a decimal from 0 to 63"))?;
        TilePath::Tile(TileId::new(level, index, width).map_err(|_| error("index out of range"))?)
    };
    let canonical = match parsed {
        TilePath::Tile(tile) => tile.path(),
        TilePath::Bundle(bundle) => bundle.path(),
    };
    if canonical != path {
        return Err(error("not in canonical form"));
    }
    Ok(parsed)
}

/// Parses `x001/x234/067`; canonical form (no leading zero groups) is checked by the caller.
fn parse_index(text: &str) -> Option<u64> {
    let mut groups = text.split('/').peekable();
    let mut index: u64 = 0;
    while let Some(group) = groups.next() {
        let is_last = groups.peek().is_none();
        let digits = if is_last {
            group
        } else {
            group.strip_prefix('x')?
        };
        if digits.len() != 3 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let value: u64 = digits.parse().ok()?;
        index = index.checked_mul(1000)?.checked_add(value)?;
    }
    Some(index)
}

/// The bytes of a tile: its hashes, concatenated.
pub fn encode_tile(hashes: &[Hash]) -> Vec<u8> {
    hashes.iter().flat_map(|hash| hash.0).collect()
}

/// The hashes of `tile` from its bytes, which must be exactly `32 * width`.
pub fn decode_tile(tile: TileId, bytes: &[u8]) -> Result<Vec<Hash>, TileError> {
    if bytes.len() != tile.byte_size() {
        let (expected, actual) = (tile.byte_size(), bytes.len());
        return Err(TileError::WrongSize {
            tile: tile.path(),
            expected,
            actual,
        });
    }
    Ok(bytes
        .chunks_exact(HASH_SIZE)
        .filter_map(|chunk| Hash::from_slice(chunk).ok())
        .collect())
}

/// Reads a tile's hashes from stored nodes: what a log serves at [`TileId::path`].
pub fn read_tile<R: HashReader>(reader: &R, tile: TileId) -> Result<Vec<u8>, TreeError<R::Error>> {
    let ids: Vec<NodeId> = tile.node_ids().collect();
    let hashes = reader.read_hashes(&ids).map_err(TreeError::Read)?;
    if hashes.len() != ids.len() {
        return Err(TreeError::ReadCount {
            expected: ids.len(),
            actual: hashes.len(),
        });
    }
    Ok(encode_tile(&hashes))
}

/// An entry bundle: each entry as a big-endian `u16` length followed by its bytes.
pub fn encode_bundle<E: AsRef<[u8]>>(entries: &[E]) -> Result<Vec<u8>, BundleError> {
    if entries.is_empty() || entries.len() > usize::from(TILE_WIDTH_MAX) {
        return Err(BundleError::WrongEntryCount {
            count: entries.len(),
        });
    }
    let mut bundle = Vec::new();
    for entry in entries {
        let entry = entry.as_ref();
        let length = u16::try_from(entry.len()).map_err(|_| BundleError::EntryTooLarge {
            size: entry.len(),
            max: ENTRY_SIZE_MAX,
        })?;
        bundle.extend_from_slice(&length.to_be_bytes());
        bundle.extend_from_slice(entry);
    }
    Ok(bundle)
}

/// The entries of `bundle`: exactly its width of them, with no bytes left over.
pub fn decode_bundle(bundle: BundleId, bytes: &[u8]) -> Result<Vec<&[u8]>, BundleError> {
    let mut entries = Vec::with_capacity(usize::from(bundle.width));
    let mut rest = bytes;
    for entry in 0..usize::from(bundle.width) {
        let truncated = BundleError::Truncated { entry };
        let (length, tail) = rest.split_first_chunk::<2>().ok_or(truncated.clone())?;
        let (data, tail) = tail
            .split_at_checked(usize::from(u16::from_be_bytes(*length)))
            .ok_or(truncated)?;
        entries.push(data);
        rest = tail;
    }
    if !rest.is_empty() {
        return Err(BundleError::TrailingBytes {
            width: bundle.width,
            extra: rest.len(),
        });
    }
    Ok(entries)
}

/// Tiles a client fetched for one tree size, read as a [`HashReader`].
///
/// With it, [`crate::merkle::root`], [`crate::merkle::inclusion_proof`] and the other proof
/// functions work from tiles as they do from a log's store. Each needs one batch of nodes, so
/// one attempt tells the client every tile it lacks ([`TileReadError::MissingTiles`]). Tiles are
/// untrusted: compare the computed root with a verified checkpoint before using anything else
/// computed from them.
#[derive(Clone, Debug)]
pub struct TileHashes {
    size: u64,
    /// Hashes by tile (level, index); at least as wide as the tree of `size` needs.
    tiles: BTreeMap<(u8, u64), Vec<Hash>>,
}

impl TileHashes {
    /// An empty set of tiles for the tree of `size` leaves.
    pub fn new(size: u64) -> TileHashes {
        TileHashes {
            size,
            tiles: BTreeMap::new(),
        }
    }

    pub fn size(&self) -> u64 {
        self.size
    }

    /// Adds a fetched tile. It must exist in the tree of this size and be at least as wide as
    /// that tree needs; a full tile may stand in for a partial one.
    pub fn insert(&mut self, tile: TileId, bytes: &[u8]) -> Result<(), TileError> {
        let needed = TileId::in_tree(tile.level, tile.index, self.size).ok_or_else(|| {
            TileError::NotInTree {
                tile: tile.path(),
                size: self.size,
            }
        })?;
        if tile.width < needed.width {
            let (needed, size) = (needed.width, self.size);
            return Err(TileError::TooNarrow {
                tile: tile.path(),
                needed,
                size,
            });
        }
        let hashes = decode_tile(tile, bytes)?;
        self.tiles.insert((tile.level, tile.index), hashes);
        Ok(())
    }

    /// The root of the tree of this size, computed from the tiles; compare it with the
    /// checkpoint's before using anything else computed from them.
    pub fn root(&self) -> Result<Hash, TreeError<TileReadError>> {
        crate::merkle::root(self, self.size)
    }

    /// The tiles, as the tree of this size has them, that the given nodes are computed from.
    pub fn tiles_for(&self, ids: &[NodeId]) -> Result<Vec<TileId>, TileReadError> {
        let mut tiles = BTreeSet::new();
        for &id in ids {
            let location = self.locate(id).ok_or(TileReadError::NodeNotInTree(id))?;
            tiles.insert(location.tile);
        }
        Ok(tiles.into_iter().collect())
    }

    /// Where a node's hash comes from: the tile, and the span of its hashes to fold.
    fn locate(&self, id: NodeId) -> Option<NodeLocation> {
        let range = id.leaf_range()?;
        if range.end > self.size {
            return None;
        }
        let tile_level = id.level / TILE_HEIGHT;
        let height = id.level % TILE_HEIGHT;
        let first = id.index.checked_shl(u32::from(height))?;
        let index = first / u64::from(TILE_WIDTH_MAX);
        let offset = usize::try_from(first % u64::from(TILE_WIDTH_MAX)).ok()?;
        let tile = TileId::in_tree(tile_level, index, self.size)?;
        Some(NodeLocation {
            tile,
            hashes: offset..offset + (1 << height),
        })
    }
}

struct NodeLocation {
    tile: TileId,
    hashes: Range<usize>,
}

impl HashReader for TileHashes {
    type Error = TileReadError;

    fn read_hashes(&self, ids: &[NodeId]) -> Result<Vec<Hash>, TileReadError> {
        let mut hashes = Vec::with_capacity(ids.len());
        let mut missing = BTreeSet::new();
        for &id in ids {
            let location = self.locate(id).ok_or(TileReadError::NodeNotInTree(id))?;
            let key = (location.tile.level, location.tile.index);
            match self
                .tiles
                .get(&key)
                .and_then(|tile| tile.get(location.hashes))
            {
                Some(span) => hashes.push(fold_perfect(span)),
                None => {
                    missing.insert(location.tile);
                }
            }
        }
        if !missing.is_empty() {
            return Err(TileReadError::MissingTiles(missing.into_iter().collect()));
        }
        Ok(hashes)
    }
}

/// The root of the perfect subtree whose bottom level is `span` (a power of two long).
fn fold_perfect(span: &[Hash]) -> Hash {
    let mut level = span.to_vec();
    while level.len() > 1 {
        level = level
            .chunks(2)
            .map(|pair| match pair {
                [left, right] => node_hash(left, right),
                [single] => *single,
                _ => Hash::default(),
            })
            .collect();
    }
    level.first().copied().unwrap_or_default()
}
