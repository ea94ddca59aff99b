//! A naive, recursive transcription of RFC 6962 section 2.1 (and of the subtree proofs of
//! draft-ietf-plants-merkle-tree-certs section 4), to check the real implementation against.

use kvitto_tlog::merkle::{node_hash, EMPTY_ROOT};
use kvitto_tlog::Hash;

/// Largest power of two smaller than `n`.
fn k(n: usize) -> usize {
    let mut k = 1;
    while k * 2 < n {
        k *= 2;
    }
    k
}

/// MTH(D[n]), from leaf hashes.
pub fn mth(leaves: &[Hash]) -> Hash {
    match leaves {
        [] => EMPTY_ROOT,
        [leaf] => *leaf,
        _ => {
            let k = k(leaves.len());
            node_hash(&mth(&leaves[..k]), &mth(&leaves[k..]))
        }
    }
}

/// PATH(m, D[n]).
pub fn path(m: usize, leaves: &[Hash]) -> Vec<Hash> {
    if leaves.len() <= 1 {
        return Vec::new();
    }
    let k = k(leaves.len());
    if m < k {
        let mut proof = path(m, &leaves[..k]);
        proof.push(mth(&leaves[k..]));
        proof
    } else {
        let mut proof = path(m - k, &leaves[k..]);
        proof.push(mth(&leaves[..k]));
        proof
    }
}

/// PROOF(m, D[n]) = SUBPROOF(m, D[n], true).
pub fn proof(m: usize, leaves: &[Hash]) -> Vec<Hash> {
    subproof(m, leaves, true)
}

fn subproof(m: usize, leaves: &[Hash], b: bool) -> Vec<Hash> {
    let n = leaves.len();
    if m == n {
        return if b { Vec::new() } else { vec![mth(leaves)] };
    }
    let k = k(n);
    if m <= k {
        let mut proof = subproof(m, &leaves[..k], b);
        proof.push(mth(&leaves[k..]));
        proof
    } else {
        let mut proof = subproof(m - k, &leaves[k..], false);
        proof.push(mth(&leaves[..k]));
        proof
    }
}

/// SUBTREE_PROOF(start, end, D[n]).
pub fn subtree_proof(start: usize, end: usize, leaves: &[Hash]) -> Vec<Hash> {
    subtree_subproof(start, end, leaves, true)
}

fn subtree_subproof(start: usize, end: usize, leaves: &[Hash], b: bool) -> Vec<Hash> {
    let n = leaves.len();
    if start == 0 && end == n {
        return if b { Vec::new() } else { vec![mth(leaves)] };
    }
    let k = k(n);
    if end <= k {
        let mut proof = subtree_subproof(start, end, &leaves[..k], b);
        proof.push(mth(&leaves[k..]));
        proof
    } else if start >= k {
        let mut proof = subtree_subproof(start - k, end - k, &leaves[k..], b);
        proof.push(mth(&leaves[..k]));
        proof
    } else {
        let mut proof = subtree_subproof(0, end - k, &leaves[k..], false);
        proof.push(mth(&leaves[..k]));
        proof
    }
}

/// Every valid subtree [start, end) with end <= n.
pub fn subtrees(n: u64) -> Vec<(u64, u64)> {
    let mut all = Vec::new();
    for start in 0..n {
        for end in start + 1..=n {
            let alignment = (end - start).next_power_of_two();
            if start % alignment == 0 {
                all.push((start, end));
            }
        }
    }
    all
}
