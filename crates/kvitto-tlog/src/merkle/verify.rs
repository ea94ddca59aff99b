//! Proof verification, needing no reader.
//!
//! Inclusion and consistency follow RFC 9162 sections 2.1.3.2 and 2.1.4.2 in the bit-twiddling
//! form of transparency-dev/merkle; subtree consistency follows
//! draft-ietf-plants-merkle-tree-certs section 4.4.3. Each checks the proof length first, so a
//! proof with a hash too many or too few fails as [`ProofError::WrongProofLength`].

use super::prove::plan;
use super::{node_hash, Hash, ProofError, Subtree, EMPTY_ROOT};

/// Verifies that `leaf_hash` is leaf `index` of the tree of `size` leaves with root `root`.
pub fn verify_inclusion(
    index: u64,
    size: u64,
    leaf_hash: &Hash,
    proof: &[Hash],
    root: &Hash,
) -> Result<(), ProofError> {
    let computed = inclusion_root(index, size, leaf_hash, proof)?;
    if computed != *root {
        return Err(ProofError::RootMismatch {
            computed,
            expected: *root,
        });
    }
    Ok(())
}

/// Verifies that the tree of `size1` leaves with root `root1` is a prefix of the tree of `size2`
/// leaves with root `root2`.
///
/// Equal sizes need an empty proof and equal roots, and the empty tree's root must be
/// [`EMPTY_ROOT`]. From the empty tree to a larger one there is no proof to check (RFC 9162
/// defines proofs for `0 < size1 < size2` only), so that is [`ProofError::EmptyFirstTree`]:
/// callers that accept any tree as an extension of the empty one decide so before calling.
pub fn verify_consistency(
    size1: u64,
    size2: u64,
    root1: &Hash,
    root2: &Hash,
    proof: &[Hash],
) -> Result<(), ProofError> {
    if size1 > size2 {
        return Err(ProofError::Size1GreaterThanSize2 { size1, size2 });
    }
    if size1 == size2 {
        if !proof.is_empty() {
            return Err(ProofError::WrongProofLength {
                expected: 0,
                actual: proof.len(),
            });
        }
        if size1 == 0 && *root1 != EMPTY_ROOT {
            return Err(ProofError::EmptyTreeRoot);
        }
        if root1 != root2 {
            return Err(ProofError::RootMismatch {
                computed: *root1,
                expected: *root2,
            });
        }
        return Ok(());
    }
    if size1 == 0 {
        return Err(ProofError::EmptyFirstTree { size2 });
    }

    // Now 0 < size1 < size2. The proof is, after an optional seed, the suffix of the inclusion
    // proof of leaf size1 - 1 in the tree of size2 that starts at level `shift`: the level of the
    // largest perfect subtree ending at size1.
    let (inner, border) = decompose_inclusion(size1 - 1, size2);
    let shift = size1.trailing_zeros() as usize;
    // size1 - 1 and size2 - 1 differ in a bit at or above `shift`, so inner > shift.
    let inner = inner.saturating_sub(shift);
    // The seed is the hash of that perfect subtree; if it is the whole first tree, it is root1
    // and the proof omits it.
    let is_seed_root1 = size1.is_power_of_two();
    let expected = usize::from(!is_seed_root1) + inner + border;
    if proof.len() != expected {
        return Err(ProofError::WrongProofLength {
            expected,
            actual: proof.len(),
        });
    }
    let (seed, path) = match (is_seed_root1, proof.split_first()) {
        (true, _) => (root1, proof),
        (false, Some((seed, path))) => (seed, path),
        (false, None) => {
            return Err(ProofError::WrongProofLength {
                expected,
                actual: 0,
            })
        }
    };
    let Some((inner_path, border_path)) = path.split_at_checked(inner) else {
        return Err(ProofError::WrongProofLength {
            expected,
            actual: proof.len(),
        });
    };

    let mask = (size1 - 1) >> shift;
    let computed1 = chain_border_right(chain_inner_right(*seed, inner_path, mask), border_path);
    if computed1 != *root1 {
        return Err(ProofError::FirstRootMismatch {
            computed: computed1,
            expected: *root1,
        });
    }
    let computed2 = chain_border_right(chain_inner(*seed, inner_path, mask), border_path);
    if computed2 != *root2 {
        return Err(ProofError::RootMismatch {
            computed: computed2,
            expected: *root2,
        });
    }
    Ok(())
}

/// Verifies that `leaf_hash` is leaf `index` of the subtree `[start, end)` whose hash is
/// `subtree_root`.
pub fn verify_subtree_inclusion(
    index: u64,
    start: u64,
    end: u64,
    leaf_hash: &Hash,
    proof: &[Hash],
    subtree_root: &Hash,
) -> Result<(), ProofError> {
    let subtree = Subtree::new(start, end)?;
    if !subtree.contains(index) {
        return Err(ProofError::IndexOutsideSubtree { index, start, end });
    }
    verify_inclusion(
        index - start,
        subtree.size(),
        leaf_hash,
        proof,
        subtree_root,
    )
}

/// Verifies that the subtree `[start, end)` with hash `subtree_root` is part of the tree of `size`
/// leaves with root `root`.
///
/// An empty range (`start == end <= size`) is part of every tree: it needs an empty proof and
/// `subtree_root` must be [`EMPTY_ROOT`]; `root` is not examined.
pub fn verify_subtree_consistency(
    start: u64,
    end: u64,
    size: u64,
    subtree_root: &Hash,
    root: &Hash,
    proof: &[Hash],
) -> Result<(), ProofError> {
    if start == end {
        if end > size {
            return Err(ProofError::SubtreeBeyondTree { end, size });
        }
        if !proof.is_empty() {
            return Err(ProofError::WrongProofLength {
                expected: 0,
                actual: proof.len(),
            });
        }
        if *subtree_root != EMPTY_ROOT {
            return Err(ProofError::EmptyTreeRoot);
        }
        return Ok(());
    }
    let subtree = Subtree::new(start, end)?;
    if end > size {
        return Err(ProofError::SubtreeBeyondTree { end, size });
    }
    let expected = plan(start, end, 0, size).len();
    if proof.len() != expected {
        return Err(ProofError::WrongProofLength {
            expected,
            actual: proof.len(),
        });
    }
    let computed = subtree_consistency_root(subtree, size, subtree_root, proof)?;
    if computed != *root {
        return Err(ProofError::RootMismatch {
            computed,
            expected: *root,
        });
    }
    Ok(())
}

/// The root of the tree of `size` leaves implied by a proof of leaf `index`.
fn inclusion_root(
    index: u64,
    size: u64,
    leaf_hash: &Hash,
    proof: &[Hash],
) -> Result<Hash, ProofError> {
    if index >= size {
        return Err(ProofError::IndexOutOfRange { index, size });
    }
    let (inner, border) = decompose_inclusion(index, size);
    let expected = inner + border;
    let wrong_length = ProofError::WrongProofLength {
        expected,
        actual: proof.len(),
    };
    if proof.len() != expected {
        return Err(wrong_length);
    }
    let (inner_path, border_path) = proof.split_at_checked(inner).ok_or(wrong_length)?;
    Ok(chain_border_right(
        chain_inner(*leaf_hash, inner_path, index),
        border_path,
    ))
}

/// The root implied by a subtree consistency proof, after checking that the proof also implies
/// `subtree_root` (draft-ietf-plants-merkle-tree-certs section 4.4.3, steps 2 to 8).
fn subtree_consistency_root(
    subtree: Subtree,
    size: u64,
    subtree_root: &Hash,
    proof: &[Hash],
) -> Result<Hash, ProofError> {
    let wrong_length = || ProofError::WrongProofLength {
        expected: plan(subtree.start(), subtree.end(), 0, size).len(),
        actual: proof.len(),
    };
    // Paths from the root to the subtree's first leaf (first), its last leaf (last) and the
    // tree's last leaf (tree_last); dropping a low bit from all three moves one level up.
    let mut first = subtree.start();
    let mut last = subtree.end() - 1;
    let mut tree_last = size - 1;
    if last == tree_last {
        // The subtree is on the tree's right edge: start from its own root.
        while first != last {
            (first, last, tree_last) = (first >> 1, last >> 1, tree_last >> 1);
        }
    } else {
        // Start from the largest perfect subtree that ends where the subtree ends.
        while first != last && last & 1 == 1 {
            (first, last, tree_last) = (first >> 1, last >> 1, tree_last >> 1);
        }
    }
    let (seed, path) = if first == last {
        // The proof starts at the subtree's own root, which the verifier knows.
        (subtree_root, proof)
    } else {
        proof.split_first().ok_or_else(wrong_length)?
    };
    let mut computed_subtree = *seed;
    let mut computed_root = *seed;
    for sibling in path {
        if tree_last == 0 {
            return Err(wrong_length());
        }
        if last & 1 == 1 || last == tree_last {
            if first < last {
                computed_subtree = node_hash(sibling, &computed_subtree);
            }
            computed_root = node_hash(sibling, &computed_root);
            // Skip the levels where this node is a left child with no right sibling yet.
            while last & 1 == 0 && last != 0 {
                (first, last, tree_last) = (first >> 1, last >> 1, tree_last >> 1);
            }
        } else {
            computed_root = node_hash(&computed_root, sibling);
        }
        (first, last, tree_last) = (first >> 1, last >> 1, tree_last >> 1);
    }
    if tree_last != 0 {
        return Err(wrong_length());
    }
    if computed_subtree != *subtree_root {
        return Err(ProofError::FirstRootMismatch {
            computed: computed_subtree,
            expected: *subtree_root,
        });
    }
    Ok(computed_root)
}

/// Splits the inclusion proof of `index` in a tree of `size` into the part below the point where
/// the leaf's path leaves the tree's right border (`inner`) and the border part.
fn decompose_inclusion(index: u64, size: u64) -> (usize, usize) {
    let inner = (u64::BITS - (index ^ (size - 1)).leading_zeros()) as usize;
    let border = index.checked_shr(inner as u32).unwrap_or(0).count_ones() as usize;
    (inner, border)
}

/// Hashes `seed` up through `path`, the sibling at level `i` on the side bit `i` of `index` says.
fn chain_inner(seed: Hash, path: &[Hash], index: u64) -> Hash {
    path.iter()
        .enumerate()
        .fold(seed, |hash, (level, sibling)| {
            if bit(index, level) {
                node_hash(sibling, &hash)
            } else {
                node_hash(&hash, sibling)
            }
        })
}

/// Like [`chain_inner`], but only through left siblings: it recomputes the smaller tree, to
/// which the right siblings do not belong.
fn chain_inner_right(seed: Hash, path: &[Hash], index: u64) -> Hash {
    path.iter()
        .enumerate()
        .fold(seed, |hash, (level, sibling)| {
            if bit(index, level) {
                node_hash(sibling, &hash)
            } else {
                hash
            }
        })
}

/// Hashes `seed` up the right border of the tree, where every sibling is on the left.
fn chain_border_right(seed: Hash, path: &[Hash]) -> Hash {
    path.iter()
        .fold(seed, |hash, sibling| node_hash(sibling, &hash))
}

fn bit(value: u64, position: usize) -> bool {
    u32::try_from(position)
        .ok()
        .and_then(|position| value.checked_shr(position))
        .is_some_and(|shifted| shifted & 1 == 1)
}
