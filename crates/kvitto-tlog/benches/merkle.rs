//! Append throughput and proof generation/verification of the Merkle tree.
//!
//! Run with `cargo bench -p kvitto-tlog`. Figures are per operation on this machine; a store
//! adds its own read cost on top of proof generation (one batched read per proof).

// A bench that cannot build its input has nothing to measure.
#![allow(clippy::unwrap_used)]

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use kvitto_tlog::merkle::{
    consistency_proof, inclusion_proof, leaf_hash, node_hash, root, verify_consistency,
    verify_inclusion, Frontier, MemoryTree,
};
use kvitto_tlog::tiles::{read_tile, TileHashes, TileId};
use kvitto_tlog::Hash;

const APPENDS: u64 = 10_000;
const TREE_SIZE: u64 = 1 << 20;

fn leaves(count: u64) -> Vec<Hash> {
    (0..count).map(|i| leaf_hash(&i.to_le_bytes())).collect()
}

fn hashing(c: &mut Criterion) {
    let mut group = c.benchmark_group("hash");
    let entry = [7u8; 256];
    group.bench_function("leaf_hash 256 bytes", |b| {
        b.iter(|| leaf_hash(black_box(&entry)))
    });
    let (left, right) = (leaf_hash(b"l"), leaf_hash(b"r"));
    group.bench_function("node_hash", |b| {
        b.iter(|| node_hash(black_box(&left), black_box(&right)))
    });
    group.finish();
}

fn append(c: &mut Criterion) {
    let leaves = leaves(APPENDS);
    let mut group = c.benchmark_group("append");
    group.throughput(Throughput::Elements(APPENDS));
    group.bench_function("frontier 10k leaves", |b| {
        b.iter_batched(
            Frontier::new,
            |mut frontier| {
                for leaf in &leaves {
                    black_box(frontier.append(*leaf).unwrap());
                }
                frontier.root()
            },
            BatchSize::SmallInput,
        )
    });
    group.bench_function("memory tree 10k leaves", |b| {
        b.iter_batched(
            MemoryTree::new,
            |mut tree| {
                for leaf in &leaves {
                    tree.push_leaf_hash(*leaf).unwrap();
                }
                tree.root()
            },
            BatchSize::SmallInput,
        )
    });
    group.finish();
}

fn proofs(c: &mut Criterion) {
    let mut tree = MemoryTree::new();
    for leaf in leaves(TREE_SIZE) {
        tree.push_leaf_hash(leaf).unwrap();
    }
    let size = TREE_SIZE - 3;
    let tree_root = root(&tree, size).unwrap();
    let index: u64 = 123_457;
    let leaf = leaf_hash(&index.to_le_bytes());
    let size1 = 700_001;
    let root1 = root(&tree, size1).unwrap();

    let mut group = c.benchmark_group("proof");
    group.bench_function("root of 2^20 - 3", |b| {
        b.iter(|| root(&tree, black_box(size)))
    });
    group.bench_function("inclusion in 2^20 - 3", |b| {
        b.iter(|| inclusion_proof(&tree, black_box(index), size).unwrap())
    });
    group.bench_function("consistency 700001 to 2^20 - 3", |b| {
        b.iter(|| consistency_proof(&tree, black_box(size1), size).unwrap())
    });
    let inclusion = inclusion_proof(&tree, index, size).unwrap();
    group.bench_function("verify inclusion", |b| {
        b.iter(|| verify_inclusion(black_box(index), size, &leaf, &inclusion, &tree_root))
    });
    let consistency = consistency_proof(&tree, size1, size).unwrap();
    group.bench_function("verify consistency", |b| {
        b.iter(|| verify_consistency(black_box(size1), size, &root1, &tree_root, &consistency))
    });
    group.bench_function("frontier from reader", |b| {
        b.iter(|| Frontier::from_reader(&tree, black_box(size)).unwrap())
    });
    group.finish();

    // A client that already holds the tiles: recomputing the root and a proof from them.
    let mut tiles = TileHashes::new(size);
    for (level, count) in [(0u8, size >> 8), (1, size >> 16), (2, 0)] {
        for index in 0..=count {
            if let Some(tile) = TileId::in_tree(level, index, size) {
                tiles
                    .insert(tile, &read_tile(&tree, tile).unwrap())
                    .unwrap();
            }
        }
    }
    let mut group = c.benchmark_group("tiles");
    group.bench_function("root from tiles", |b| {
        b.iter(|| root(&tiles, black_box(size)).unwrap())
    });
    group.bench_function("inclusion from tiles", |b| {
        b.iter(|| inclusion_proof(&tiles, black_box(index), size).unwrap())
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(30)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    targets = hashing, append, proofs
}
criterion_main!(benches);
