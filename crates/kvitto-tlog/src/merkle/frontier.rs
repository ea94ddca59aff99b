//! The right border of a growing tree.

use super::prove::fold_from_right;
use super::{node_hash, Hash, HashReader, NodeId, Subtree, TreeError};

/// The compact range `[0, size)`: the hashes of the perfect subtrees that the tree of `size`
/// leaves decomposes into, one per set bit of `size`. It is all an appender needs to compute the
/// next root, and what it must keep in memory between appends.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Frontier {
    size: u64,
    /// Hashes of [`Frontier::node_ids`] for `size`, from the highest level down.
    nodes: Vec<Hash>,
}

/// The tree already has `u64::MAX` leaves, the most a `u64` size can count.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("the tree is full")]
pub struct TreeFull;

/// The hashes given for a frontier do not match its size.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("a frontier of size {size} has {expected} nodes, got {actual}")]
pub struct FrontierLengthError {
    pub size: u64,
    pub expected: usize,
    pub actual: usize,
}

impl Frontier {
    /// The frontier of the empty tree.
    pub fn new() -> Frontier {
        Frontier::default()
    }

    /// The nodes a frontier of `size` consists of, from the highest level down.
    pub fn node_ids(size: u64) -> Vec<NodeId> {
        Subtree::tree(size)
            .map(|tree| tree.nodes().collect())
            .unwrap_or_default()
    }

    /// Builds the frontier of `size` from the hashes of [`Frontier::node_ids`], in that order.
    pub fn from_hashes(size: u64, hashes: Vec<Hash>) -> Result<Frontier, FrontierLengthError> {
        let expected = size.count_ones() as usize;
        if hashes.len() != expected {
            return Err(FrontierLengthError {
                size,
                expected,
                actual: hashes.len(),
            });
        }
        Ok(Frontier {
            size,
            nodes: hashes,
        })
    }

    /// Reads the frontier of `size` from stored nodes, in one batch.
    pub fn from_reader<R: HashReader>(
        reader: &R,
        size: u64,
    ) -> Result<Frontier, TreeError<R::Error>> {
        let ids = Frontier::node_ids(size);
        let hashes = reader.read_hashes(&ids).map_err(TreeError::Read)?;
        Frontier::from_hashes(size, hashes).map_err(|error| TreeError::ReadCount {
            expected: error.expected,
            actual: error.actual,
        })
    }

    /// Number of leaves.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The tree root: [`super::EMPTY_ROOT`] for the empty tree.
    pub fn root(&self) -> Hash {
        fold_from_right(&self.nodes)
    }

    /// The frontier's nodes and their hashes, from the highest level down.
    pub fn nodes(&self) -> impl Iterator<Item = (NodeId, Hash)> + '_ {
        Frontier::node_ids(self.size)
            .into_iter()
            .zip(self.nodes.iter().copied())
    }

    /// Appends a leaf and returns every node that became complete, bottom up: the leaf itself,
    /// then each parent it completed. Storing all of them keeps a [`HashReader`] able to serve
    /// every root and proof up to the new size.
    pub fn append(&mut self, leaf_hash: Hash) -> Result<Vec<(NodeId, Hash)>, TreeFull> {
        let index = self.size;
        let size = index.checked_add(1).ok_or(TreeFull)?;
        // Each trailing one bit of `index` is a perfect subtree on the right border that the new
        // leaf completes into one a level higher; they are the last `merges` frontier nodes.
        let merges = index.trailing_ones() as usize;
        let keep = self.nodes.len().saturating_sub(merges);
        let mut completed = Vec::with_capacity(merges + 1);
        completed.push((NodeId::leaf(index), leaf_hash));
        let mut hash = leaf_hash;
        let mut id = NodeId::leaf(index);
        for left in self.nodes.drain(keep..).rev() {
            hash = node_hash(&left, &hash);
            id = NodeId::new(id.level + 1, id.index >> 1);
            completed.push((id, hash));
        }
        self.nodes.push(hash);
        self.size = size;
        Ok(completed)
    }
}

#[cfg(test)]
mod tests {
    use super::super::{leaf_hash, EMPTY_ROOT};
    use super::*;

    #[test]
    fn append_reports_completed_nodes() {
        let mut frontier = Frontier::new();
        assert_eq!(frontier.root(), EMPTY_ROOT);
        let leaves: Vec<Hash> = (0u8..4).map(|i| leaf_hash(&[i])).collect();
        let ids = |nodes: Vec<(NodeId, Hash)>| nodes.into_iter().map(|(id, _)| id).collect();
        let ids: fn(Vec<(NodeId, Hash)>) -> Vec<NodeId> = ids;
        assert_eq!(ids(frontier.append(leaves[0]).unwrap()), [NodeId::leaf(0)]);
        assert_eq!(frontier.root(), leaves[0]);
        let second = frontier.append(leaves[1]).unwrap();
        assert_eq!(ids(second.clone()), [NodeId::leaf(1), NodeId::new(1, 0)]);
        assert_eq!(second[1].1, node_hash(&leaves[0], &leaves[1]));
        assert_eq!(ids(frontier.append(leaves[2]).unwrap()), [NodeId::leaf(2)]);
        assert_eq!(
            ids(frontier.append(leaves[3]).unwrap()),
            [NodeId::leaf(3), NodeId::new(1, 1), NodeId::new(2, 0)]
        );
        assert_eq!(frontier.size(), 4);
        assert_eq!(frontier.nodes().count(), 1);
    }

    #[test]
    fn full_tree_refuses_more() {
        let mut frontier = Frontier::from_hashes(u64::MAX, vec![EMPTY_ROOT; 64]).unwrap();
        assert_eq!(frontier.append(EMPTY_ROOT), Err(TreeFull));
        assert!(Frontier::from_hashes(3, vec![EMPTY_ROOT]).is_err());
    }
}
