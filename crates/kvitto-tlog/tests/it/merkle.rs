//! The tree against the naive reference: roots, proofs, the frontier, and tampering.

use std::collections::BTreeMap;

use kvitto_tlog::merkle::{
    consistency_proof, inclusion_proof, leaf_hash, root, subtree_consistency_proof, subtree_hash,
    subtree_inclusion_proof, verify_consistency, verify_inclusion, verify_subtree_consistency,
    verify_subtree_inclusion, Frontier, HashReader, MemoryTree, MissingNode, ProofError, Subtree,
    TreeError, EMPTY_ROOT,
};
use kvitto_tlog::{Hash, NodeId};
use proptest::prelude::*;

use crate::reference;

fn tree(size: u64) -> (MemoryTree, Vec<Hash>) {
    let entries = crate::entries(size);
    let leaves = entries.iter().map(|entry| leaf_hash(entry)).collect();
    (MemoryTree::from_entries(&entries).unwrap(), leaves)
}

fn flip(hash: &Hash, bit: usize) -> Hash {
    let mut bytes = hash.0;
    bytes[bit / 8 % 32] ^= 1 << (bit % 8);
    Hash(bytes)
}

fn usize_of(value: u64) -> usize {
    usize::try_from(value).unwrap()
}

#[test]
fn known_answers() {
    // RFC 6962 leaf and node hashing of the empty entry, and the roots of small trees.
    assert_eq!(
        leaf_hash(b"").to_string(),
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"
    );
    let (tree, leaves) = tree(3);
    assert_eq!(tree.root(), reference::mth(&leaves));
    assert_eq!(root(&tree, 0).unwrap(), EMPTY_ROOT);
}

#[test]
fn roots_of_every_prefix_match_reference() {
    let (tree, leaves) = tree(300);
    for size in 0..=300u64 {
        let expected = reference::mth(&leaves[..usize_of(size)]);
        assert_eq!(root(&tree, size).unwrap(), expected, "size {size}");
        assert_eq!(
            Frontier::from_reader(&tree, size).unwrap().root(),
            expected,
            "size {size}"
        );
    }
}

#[test]
fn every_proof_in_small_trees_matches_reference_and_verifies() {
    for size in 1..=40u64 {
        let (tree, leaves) = tree(size);
        let tree_root = tree.root();
        for index in 0..size {
            let proof = inclusion_proof(&tree, index, size).unwrap();
            assert_eq!(
                proof,
                reference::path(usize_of(index), &leaves),
                "{index} in {size}"
            );
            verify_inclusion(index, size, &leaves[usize_of(index)], &proof, &tree_root).unwrap();
        }
        for size1 in 1..=size {
            let proof = consistency_proof(&tree, size1, size).unwrap();
            assert_eq!(
                proof,
                reference::proof(usize_of(size1), &leaves),
                "{size1} to {size}"
            );
            let root1 = reference::mth(&leaves[..usize_of(size1)]);
            verify_consistency(size1, size, &root1, &tree_root, &proof).unwrap();
            verify_subtree_consistency(0, size1, size, &root1, &tree_root, &proof).unwrap();
        }
        for (start, end) in reference::subtrees(size) {
            let subtree = Subtree::new(start, end).unwrap();
            let range = &leaves[usize_of(start)..usize_of(end)];
            let hash = subtree_hash(&tree, subtree).unwrap();
            assert_eq!(hash, reference::mth(range));
            let proof = subtree_consistency_proof(&tree, subtree, size).unwrap();
            let expected = reference::subtree_proof(usize_of(start), usize_of(end), &leaves);
            assert_eq!(proof, expected, "[{start}, {end}) in {size}");
            verify_subtree_consistency(start, end, size, &hash, &tree_root, &proof).unwrap();
            for index in start..end {
                let proof = subtree_inclusion_proof(&tree, index, subtree).unwrap();
                assert_eq!(proof, reference::path(usize_of(index - start), range));
                let leaf = &leaves[usize_of(index)];
                verify_subtree_inclusion(index, start, end, leaf, &proof, &hash).unwrap();
            }
        }
    }
}

#[test]
fn frontier_reports_exactly_the_complete_nodes() {
    let size = 1000;
    let (_, leaves) = tree(size);
    let mut frontier = Frontier::new();
    let mut reported = BTreeMap::new();
    for leaf in &leaves {
        for (id, hash) in frontier.append(*leaf).unwrap() {
            assert!(reported.insert(id, hash).is_none(), "{id:?} reported twice");
        }
    }
    let mut expected = BTreeMap::new();
    for level in 0..=10u8 {
        let width = 1u64 << level;
        for index in 0..size / width {
            let range = usize_of(index * width)..usize_of((index + 1) * width);
            expected.insert(NodeId::new(level, index), reference::mth(&leaves[range]));
        }
    }
    assert_eq!(reported, expected);
    assert_eq!(frontier.root(), reference::mth(&leaves));
    let nodes: Vec<NodeId> = frontier.nodes().map(|(id, _)| id).collect();
    assert_eq!(nodes, Frontier::node_ids(size));
}

#[test]
fn requests_out_of_range_are_refused() {
    let (tree, _) = tree(10);
    let refused = |result: Result<Vec<Hash>, TreeError<MissingNode>>| match result {
        Err(TreeError::InvalidRequest(error)) => error,
        other => panic!("expected an invalid request, got {other:?}"),
    };
    assert_eq!(
        refused(inclusion_proof(&tree, 10, 10)),
        ProofError::IndexOutOfRange {
            index: 10,
            size: 10
        }
    );
    assert_eq!(
        refused(consistency_proof(&tree, 5, 4)),
        ProofError::Size1GreaterThanSize2 { size1: 5, size2: 4 }
    );
    assert_eq!(
        refused(consistency_proof(&tree, 0, 4)),
        ProofError::EmptyFirstTree { size2: 4 }
    );
    assert_eq!(consistency_proof(&tree, 0, 0).unwrap(), []);
    assert_eq!(consistency_proof(&tree, 7, 7).unwrap(), []);
    let subtree = Subtree::new(8, 10).unwrap();
    assert_eq!(
        refused(subtree_inclusion_proof(&tree, 7, subtree)),
        ProofError::IndexOutsideSubtree {
            index: 7,
            start: 8,
            end: 10
        }
    );
    assert_eq!(
        refused(subtree_consistency_proof(&tree, subtree, 9)),
        ProofError::SubtreeBeyondTree { end: 10, size: 9 }
    );
}

#[test]
fn missing_nodes_and_short_reads_are_errors() {
    let (tree, _) = tree(5);
    let missing = inclusion_proof(&tree, 0, 8);
    assert!(
        matches!(missing, Err(TreeError::Read(MissingNode(_)))),
        "{missing:?}"
    );

    struct Short;
    impl HashReader for Short {
        type Error = MissingNode;
        fn read_hashes(&self, ids: &[NodeId]) -> Result<Vec<Hash>, MissingNode> {
            Ok(vec![Hash::default(); ids.len().saturating_sub(1)])
        }
    }
    assert!(matches!(
        root(&Short, 7),
        Err(TreeError::ReadCount {
            expected: 3,
            actual: 2
        })
    ));
    assert!(matches!(
        Frontier::from_reader(&Short, 7),
        Err(TreeError::ReadCount { .. })
    ));
}

#[test]
fn verification_errors_are_specific() {
    let (tree, leaves) = tree(7);
    let tree_root = tree.root();
    let proof = inclusion_proof(&tree, 3, 7).unwrap();
    assert_eq!(
        verify_inclusion(7, 7, &leaves[3], &proof, &tree_root),
        Err(ProofError::IndexOutOfRange { index: 7, size: 7 })
    );
    assert_eq!(
        verify_inclusion(3, 7, &leaves[3], &proof[..2], &tree_root),
        Err(ProofError::WrongProofLength {
            expected: 3,
            actual: 2
        })
    );
    assert!(matches!(
        verify_inclusion(3, 7, &leaves[2], &proof, &tree_root),
        Err(ProofError::RootMismatch { .. })
    ));
    let root3 = root(&tree, 3).unwrap();
    let proof = consistency_proof(&tree, 3, 7).unwrap();
    assert_eq!(
        verify_consistency(7, 3, &root3, &tree_root, &proof),
        Err(ProofError::Size1GreaterThanSize2 { size1: 7, size2: 3 })
    );
    assert!(matches!(
        verify_consistency(3, 7, &tree_root, &tree_root, &proof),
        Err(ProofError::FirstRootMismatch { .. })
    ));
    assert!(matches!(
        verify_consistency(3, 7, &root3, &root3, &proof),
        Err(ProofError::RootMismatch { .. })
    ));
    assert_eq!(
        verify_consistency(0, 0, &tree_root, &tree_root, &[]),
        Err(ProofError::EmptyTreeRoot)
    );
    assert_eq!(
        verify_consistency(0, 0, &EMPTY_ROOT, &EMPTY_ROOT, &[]),
        Ok(())
    );
    assert_eq!(
        verify_consistency(0, 7, &EMPTY_ROOT, &tree_root, &[]),
        Err(ProofError::EmptyFirstTree { size2: 7 })
    );
    assert_eq!(
        verify_subtree_inclusion(3, 3, 5, &leaves[3], &[], &tree_root),
        Err(ProofError::InvalidSubtree { start: 3, end: 5 })
    );
}

fn size_and_index() -> impl Strategy<Value = (u64, u64)> {
    (1u64..4000).prop_flat_map(|size| (Just(size), 0..size))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn random_trees_agree_with_reference(
        (size, index) in size_and_index(),
        size1_seed in any::<u64>(),
        bit in 0usize..256,
    ) {
        let (tree, leaves) = tree(size);
        let tree_root = tree.root();
        prop_assert_eq!(tree_root, reference::mth(&leaves));
        prop_assert_eq!(root(&tree, size).unwrap(), tree_root);

        let leaf = leaves[usize_of(index)];
        let proof = inclusion_proof(&tree, index, size).unwrap();
        prop_assert_eq!(&proof, &reference::path(usize_of(index), &leaves));
        prop_assert!(verify_inclusion(index, size, &leaf, &proof, &tree_root).is_ok());
        prop_assert!(verify_inclusion(index, size, &flip(&leaf, bit), &proof, &tree_root).is_err());
        prop_assert!(verify_inclusion(index, size, &leaf, &proof, &flip(&tree_root, bit)).is_err());
        for position in 0..proof.len() {
            let mut tampered = proof.clone();
            tampered[position] = flip(&tampered[position], bit);
            prop_assert!(verify_inclusion(index, size, &leaf, &tampered, &tree_root).is_err());
        }
        if size > 1 {
            let other = (index + 1) % size;
            prop_assert!(verify_inclusion(other, size, &leaf, &proof, &tree_root).is_err());
        }

        let size1 = 1 + size1_seed % size;
        let root1 = reference::mth(&leaves[..usize_of(size1)]);
        let proof = consistency_proof(&tree, size1, size).unwrap();
        prop_assert_eq!(&proof, &reference::proof(usize_of(size1), &leaves));
        prop_assert!(verify_consistency(size1, size, &root1, &tree_root, &proof).is_ok());
        prop_assert!(verify_subtree_consistency(0, size1, size, &root1, &tree_root, &proof).is_ok());
        prop_assert!(verify_consistency(size1, size, &flip(&root1, bit), &tree_root, &proof).is_err());
        prop_assert!(verify_consistency(size1, size, &root1, &flip(&tree_root, bit), &proof).is_err());
        for position in 0..proof.len() {
            let mut tampered = proof.clone();
            tampered[position] = flip(&tampered[position], bit);
            prop_assert!(verify_consistency(size1, size, &root1, &tree_root, &tampered).is_err());
            prop_assert!(
                verify_subtree_consistency(0, size1, size, &root1, &tree_root, &tampered).is_err()
            );
        }
        let mut longer = proof.clone();
        longer.push(tree_root);
        prop_assert!(verify_consistency(size1, size, &root1, &tree_root, &longer).is_err());

        // The frontier read back from storage continues the tree as the original would.
        let mut frontier = Frontier::from_reader(&tree, size1).unwrap();
        prop_assert_eq!(frontier.root(), root1);
        for leaf in &leaves[usize_of(size1)..] {
            frontier.append(*leaf).unwrap();
        }
        prop_assert_eq!(frontier.root(), tree_root);
    }

    #[test]
    fn random_subtrees_agree_with_reference(
        (size, index) in size_and_index(),
        level in 0u32..12,
        bit in 0usize..256,
    ) {
        // A subtree around `index`: aligned on 2^level, ending anywhere after index.
        let width = 1u64 << level;
        let start = index / width * width;
        let end = (start + width).min(size);
        prop_assume!(Subtree::new(start, end).is_ok());
        let subtree = Subtree::new(start, end).unwrap();
        let (tree, leaves) = tree(size);
        let range = &leaves[usize_of(start)..usize_of(end)];
        let hash = subtree_hash(&tree, subtree).unwrap();
        prop_assert_eq!(hash, reference::mth(range));

        let proof = subtree_consistency_proof(&tree, subtree, size).unwrap();
        let expected = reference::subtree_proof(usize_of(start), usize_of(end), &leaves);
        prop_assert_eq!(&proof, &expected);
        let tree_root = tree.root();
        prop_assert!(verify_subtree_consistency(start, end, size, &hash, &tree_root, &proof).is_ok());
        let flipped = flip(&hash, bit);
        prop_assert!(verify_subtree_consistency(start, end, size, &flipped, &tree_root, &proof).is_err());
        for position in 0..proof.len() {
            let mut tampered = proof.clone();
            tampered[position] = flip(&tampered[position], bit);
            prop_assert!(
                verify_subtree_consistency(start, end, size, &hash, &tree_root, &tampered).is_err()
            );
        }

        let leaf = leaves[usize_of(index)];
        let proof = subtree_inclusion_proof(&tree, index, subtree).unwrap();
        prop_assert!(verify_subtree_inclusion(index, start, end, &leaf, &proof, &hash).is_ok());
        prop_assert!(verify_subtree_inclusion(index, start, end, &flip(&leaf, bit), &proof, &hash).is_err());
    }
}
