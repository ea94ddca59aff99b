//! Roots and proofs computed from stored node hashes.
//!
//! Every proof is planned first as a list of [`Subtree`]s whose hashes it consists of (the
//! recursion of RFC 6962 section 2.1.1 and 2.1.2, generalised to subtrees), then all their
//! perfect nodes are read in one batch and folded.

use super::{
    node_hash, split_point, Hash, HashReader, NodeId, ProofError, Subtree, TreeError, EMPTY_ROOT,
};

/// The root of the tree of `size` leaves.
pub fn root<R: HashReader>(reader: &R, size: u64) -> Result<Hash, TreeError<R::Error>> {
    match Subtree::tree(size) {
        None => Ok(EMPTY_ROOT),
        Some(tree) => subtree_hash(reader, tree),
    }
}

/// The hash of a subtree: `MTH(D[start:end])` in the notation of RFC 6962.
pub fn subtree_hash<R: HashReader>(
    reader: &R,
    subtree: Subtree,
) -> Result<Hash, TreeError<R::Error>> {
    let hashes = read_subtrees(reader, &[subtree])?;
    hashes.into_iter().next().ok_or(TreeError::ReadCount {
        expected: 1,
        actual: 0,
    })
}

/// The inclusion proof of leaf `index` in the tree of `size` leaves: RFC 6962 `PATH(index,
/// D[0:size])`, from the leaf's sibling up to a child of the root.
pub fn inclusion_proof<R: HashReader>(
    reader: &R,
    index: u64,
    size: u64,
) -> Result<Vec<Hash>, TreeError<R::Error>> {
    if index >= size {
        return Err(ProofError::IndexOutOfRange { index, size }.into());
    }
    read_subtrees(reader, &plan(index, index + 1, 0, size))
}

/// The consistency proof from the tree of `size1` leaves to the tree of `size2` leaves: RFC 6962
/// `PROOF(size1, D[0:size2])`. Empty when the sizes are equal.
///
/// The empty tree has no consistency proof to a larger one (it is consistent with every tree);
/// asking for it is [`ProofError::EmptyFirstTree`], as verifying it would be.
pub fn consistency_proof<R: HashReader>(
    reader: &R,
    size1: u64,
    size2: u64,
) -> Result<Vec<Hash>, TreeError<R::Error>> {
    if size1 > size2 {
        return Err(ProofError::Size1GreaterThanSize2 { size1, size2 }.into());
    }
    if size1 == size2 {
        return Ok(Vec::new());
    }
    if size1 == 0 {
        return Err(ProofError::EmptyFirstTree { size2 }.into());
    }
    read_subtrees(reader, &plan(0, size1, 0, size2))
}

/// The inclusion proof of leaf `index` in `subtree`, verified against the subtree's hash.
pub fn subtree_inclusion_proof<R: HashReader>(
    reader: &R,
    index: u64,
    subtree: Subtree,
) -> Result<Vec<Hash>, TreeError<R::Error>> {
    if !subtree.contains(index) {
        let (start, end) = (subtree.start(), subtree.end());
        return Err(ProofError::IndexOutsideSubtree { index, start, end }.into());
    }
    read_subtrees(
        reader,
        &plan(index, index + 1, subtree.start(), subtree.end()),
    )
}

/// The subtree consistency proof that `subtree` is part of the tree of `size` leaves
/// (draft-ietf-plants-merkle-tree-certs section 4.4). For `[0, m)` it is the RFC 6962
/// consistency proof from `m` to `size`.
pub fn subtree_consistency_proof<R: HashReader>(
    reader: &R,
    subtree: Subtree,
    size: u64,
) -> Result<Vec<Hash>, TreeError<R::Error>> {
    if subtree.end() > size {
        return Err(ProofError::SubtreeBeyondTree {
            end: subtree.end(),
            size,
        }
        .into());
    }
    read_subtrees(reader, &plan(subtree.start(), subtree.end(), 0, size))
}

/// The subtrees whose hashes prove that `[start, end)` is consistent with `[lo, hi)`, in proof
/// order (deepest first): `SUBTREE_PROOF` of draft-ietf-plants-merkle-tree-certs section 4.4.1,
/// which for `start == 0` is RFC 6962 `PROOF` and for `end == start + 1` is RFC 6962 `PATH`.
///
/// Both ranges must be valid subtrees with `lo <= start < end <= hi`.
pub(crate) fn plan(start: u64, end: u64, lo: u64, hi: u64) -> Vec<Subtree> {
    let (mut start, mut lo, mut hi) = (start, lo, hi);
    // Whether the verifier already knows the hash of [start, end), so that the proof can omit it
    // once the recursion reaches it as a whole node.
    let mut is_known = true;
    let mut siblings = Vec::new();
    while !(start == lo && end == hi) {
        // [start, end) is strictly inside [lo, hi), so hi - lo >= 2.
        let mid = lo + split_point(hi - lo);
        if end <= mid {
            siblings.push(Subtree {
                start: mid,
                end: hi,
            });
            hi = mid;
        } else {
            siblings.push(Subtree {
                start: lo,
                end: mid,
            });
            if start < mid {
                // The subtree straddles the split; being aligned, it starts at lo. Its right
                // part [mid, end) is not a node the verifier knows.
                start = mid;
                is_known = false;
            }
            lo = mid;
        }
    }
    if !is_known {
        siblings.push(Subtree { start: lo, end: hi });
    }
    siblings.reverse();
    siblings
}

/// Reads the hashes of `subtrees` in one batch.
fn read_subtrees<R: HashReader>(
    reader: &R,
    subtrees: &[Subtree],
) -> Result<Vec<Hash>, TreeError<R::Error>> {
    let ids: Vec<NodeId> = subtrees.iter().flat_map(Subtree::nodes).collect();
    let hashes = reader.read_hashes(&ids).map_err(TreeError::Read)?;
    let mismatch = TreeError::ReadCount {
        expected: ids.len(),
        actual: hashes.len(),
    };
    if hashes.len() != ids.len() {
        return Err(mismatch);
    }
    let mut rest = hashes.as_slice();
    let mut folded = Vec::with_capacity(subtrees.len());
    for subtree in subtrees {
        let Some((nodes, tail)) = rest.split_at_checked(subtree.node_count()) else {
            return Err(mismatch);
        };
        folded.push(fold_from_right(nodes));
        rest = tail;
    }
    Ok(folded)
}

/// Hashes a subtree from its perfect nodes, given left to right.
pub(crate) fn fold_from_right(nodes: &[Hash]) -> Hash {
    let mut from_right = nodes.iter().rev();
    match from_right.next() {
        None => EMPTY_ROOT,
        Some(last) => from_right.fold(*last, |right, left| node_hash(left, &right)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ranges(subtrees: &[Subtree]) -> Vec<(u64, u64)> {
        subtrees.iter().map(|s| (s.start(), s.end())).collect()
    }

    #[test]
    fn plans_match_rfc_6962_examples() {
        // RFC 6962 section 2.1.3: the tree of 7 leaves d0..d6.
        // Inclusion of d0 is [b, h, l]: d1, [2,4), [4,7).
        assert_eq!(ranges(&plan(0, 1, 0, 7)), [(1, 2), (2, 4), (4, 7)]);
        // Inclusion of d3 is [c, g, l].
        assert_eq!(ranges(&plan(3, 4, 0, 7)), [(2, 3), (0, 2), (4, 7)]);
        // Inclusion of d4 is [f, j, k].
        assert_eq!(ranges(&plan(4, 5, 0, 7)), [(5, 6), (6, 7), (0, 4)]);
        // Consistency of 3 with 7 is [c, d, g, l].
        assert_eq!(ranges(&plan(0, 3, 0, 7)), [(2, 3), (3, 4), (0, 2), (4, 7)]);
        // Consistency of 4 with 7 is [l].
        assert_eq!(ranges(&plan(0, 4, 0, 7)), [(4, 7)]);
        // Consistency of 6 with 7 is [i, j, k].
        assert_eq!(ranges(&plan(0, 6, 0, 7)), [(4, 6), (6, 7), (0, 4)]);
    }

    #[test]
    fn plans_subtree_consistency() {
        // The tlog-witness sign-subtree example: [8, 13) in a tree of 14 leaves.
        assert_eq!(
            ranges(&plan(8, 13, 0, 14)),
            [(12, 13), (13, 14), (8, 12), (0, 8)]
        );
    }
}
