//! An in-memory tree, for tests and for clients that hold a whole small tree.

use super::{leaf_hash, Frontier, Hash, HashReader, NodeId, TreeFull};

/// Every complete node of a tree, in memory, and its [`Frontier`].
///
/// The reference [`HashReader`]: what a persistent store keeps, without the persistence.
#[derive(Clone, Debug, Default)]
pub struct MemoryTree {
    /// `levels[level][index]` is the hash of `NodeId { level, index }`.
    levels: Vec<Vec<Hash>>,
    frontier: Frontier,
}

/// A [`MemoryTree`] was asked for a node it does not have (yet).
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("node at level {} index {} is not in the tree", .0.level, .0.index)]
pub struct MissingNode(pub NodeId);

impl MemoryTree {
    pub fn new() -> MemoryTree {
        MemoryTree::default()
    }

    /// A tree of the given entries, each hashed with [`leaf_hash`].
    pub fn from_entries<E: AsRef<[u8]>>(
        entries: impl IntoIterator<Item = E>,
    ) -> Result<MemoryTree, TreeFull> {
        let mut tree = MemoryTree::new();
        for entry in entries {
            tree.push(entry.as_ref())?;
        }
        Ok(tree)
    }

    /// Appends an entry and returns its index.
    pub fn push(&mut self, entry: &[u8]) -> Result<u64, TreeFull> {
        self.push_leaf_hash(leaf_hash(entry))
    }

    /// Appends a leaf hash and returns its index.
    pub fn push_leaf_hash(&mut self, leaf_hash: Hash) -> Result<u64, TreeFull> {
        let index = self.frontier.size();
        for (id, hash) in self.frontier.append(leaf_hash)? {
            let level = usize::from(id.level);
            if self.levels.len() <= level {
                self.levels.resize_with(level + 1, Vec::new);
            }
            // Nodes complete in index order, so each is the next one of its level.
            if let Some(nodes) = self.levels.get_mut(level) {
                nodes.push(hash);
            }
        }
        Ok(index)
    }

    /// Number of leaves.
    pub fn size(&self) -> u64 {
        self.frontier.size()
    }

    /// The root at the current size.
    pub fn root(&self) -> Hash {
        self.frontier.root()
    }

    pub fn frontier(&self) -> &Frontier {
        &self.frontier
    }

    /// The stored hash of a complete node.
    pub fn node(&self, id: NodeId) -> Option<Hash> {
        let index = usize::try_from(id.index).ok()?;
        self.levels.get(usize::from(id.level))?.get(index).copied()
    }
}

impl HashReader for MemoryTree {
    type Error = MissingNode;

    fn read_hashes(&self, ids: &[NodeId]) -> Result<Vec<Hash>, MissingNode> {
        ids.iter()
            .map(|&id| self.node(id).ok_or(MissingNode(id)))
            .collect()
    }
}
