//! tlog-tiles paths, encodings, and an independent client computing roots and proofs from tiles.

use kvitto_tlog::merkle::{
    consistency_proof, inclusion_proof, leaf_hash, root, Frontier, MemoryTree,
};
use kvitto_tlog::tiles::{
    decode_bundle, decode_tile, encode_bundle, parse_path, read_tile, BundleError, BundleId,
    TileError, TileHashes, TileId, TilePath, TileReadError,
};
use kvitto_tlog::NodeId;
use proptest::prelude::*;

#[test]
fn paths_follow_the_spec_examples() {
    assert_eq!(
        TileId::full(0, 1234067).unwrap().path(),
        "tile/0/x001/x234/067"
    );
    assert_eq!(
        TileId::new(0, 1234067, 8).unwrap().path(),
        "tile/0/x001/x234/067.p/8"
    );
    assert_eq!(TileId::full(1, 0).unwrap().path(), "tile/1/000");
    assert_eq!(
        TileId::new(2, 1000, 255).unwrap().path(),
        "tile/2/x001/000.p/255"
    );
    assert_eq!(
        BundleId::new(1234067, 256).unwrap().path(),
        "tile/entries/x001/x234/067"
    );
    assert_eq!(BundleId::new(5, 1).unwrap().path(), "tile/entries/005.p/1");
    let largest = TileId::new(0, (u64::MAX - 1) / 256, 255).unwrap();
    assert_eq!(largest.path(), "tile/0/x072/x057/x594/x037/x927/935.p/255");
}

#[test]
fn tile_widths_follow_the_spec_example() {
    // "a tree of size 70,000 will be represented by 273 full level 0 tiles, one partial level 0
    // tile of width 112, one full level 1 tile, one partial level 1 tile of width 17, and one
    // partial level 2 tile of width 1."
    let size = 70_000;
    assert!(!TileId::in_tree(0, 272, size).unwrap().is_partial());
    assert_eq!(TileId::in_tree(0, 273, size).unwrap().width(), 112);
    assert_eq!(TileId::in_tree(0, 274, size), None);
    assert!(!TileId::in_tree(1, 0, size).unwrap().is_partial());
    assert_eq!(TileId::in_tree(1, 1, size).unwrap().width(), 17);
    assert_eq!(TileId::in_tree(2, 0, size).unwrap().width(), 1);
    assert_eq!(TileId::in_tree(3, 0, size), None);
    // "a tree of size 256 will be represented by a full level 0 tile and a partial level 1 tile
    // of width 1."
    assert!(!TileId::in_tree(0, 0, 256).unwrap().is_partial());
    assert_eq!(TileId::in_tree(0, 1, 256), None);
    assert_eq!(TileId::in_tree(1, 0, 256).unwrap().width(), 1);
    assert_eq!(
        BundleId::for_leaf(69_999, size).unwrap().path(),
        "tile/entries/273.p/112"
    );
}

#[test]
fn tiles_hold_nodes_at_eight_times_their_level() {
    let tile = TileId::new(1, 2, 3).unwrap();
    let nodes: Vec<NodeId> = tile.node_ids().collect();
    assert_eq!(
        nodes,
        [
            NodeId::new(8, 512),
            NodeId::new(8, 513),
            NodeId::new(8, 514)
        ]
    );
    assert_eq!(BundleId::new(2, 3).unwrap().leaf_range(), 512..515);
}

#[test]
fn non_canonical_paths_are_rejected() {
    for path in [
        "",
        "tile",
        "tile/",
        "tile/0",
        "tile/0/",
        "/tile/0/000",
        "tile/0/000/",
        "tile/0/0",
        "tile/0/00",
        "tile/0/0000",
        "tile/0/x000",
        "tile/0/x000/001",
        "tile/0/x001/x234",
        "tile/0/001/234",
        "tile/0/X001/234",
        "tile/0/x01/234",
        "tile/0/x0001/234",
        "tile/00/000",
        "tile/01/000",
        "tile/+1/000",
        "tile/64/000",
        "tile/8/000",
        "tile/0/000.p/0",
        "tile/0/000.p/256",
        "tile/0/000.p/01",
        "tile/0/000.p/",
        "tile/0/000.p",
        "tile/0/000.p/1/",
        "tile/0/000.q/1",
        "tile/0/000.p/1.p/1",
        "tile/0/-01",
        "tile/0/ 01",
        "tile/entries/",
        "tile/entries/0",
        "tile/entries/x000/000",
        "tile/entry/000",
        "tile/Entries/000",
        "tile/0/x072/x057/x594/x037/x927/936",
        "tile/0/x100/x000/x000/x000/x000/x000/x000/000",
        "tile/1/x000/x000/x000/x000/x000/x000/x000/x000/x000/x000/x000/x000/x000/000",
    ] {
        assert!(parse_path(path).is_err(), "{path:?} parsed");
    }
}

#[test]
fn truncated_paths_are_rejected_or_name_another_tile() {
    for path in [
        "tile/0/x001/x234/067",
        "tile/2/x012/345",
        "tile/entries/x123/456",
    ] {
        for end in 0..path.len() {
            assert!(
                parse_path(&path[..end]).is_err(),
                "{:?} parsed",
                &path[..end]
            );
        }
    }
    // Cutting the width off a partial tile leaves the path of the full tile, or a narrower one;
    // every other truncation is rejected.
    let path = "tile/3/x001/234.p/255";
    let original = parse_path(path).unwrap();
    for end in 0..path.len() {
        let truncated = &path[..end];
        let names_another_tile = [
            "tile/3/x001/234",
            "tile/3/x001/234.p/2",
            "tile/3/x001/234.p/25",
        ]
        .contains(&truncated);
        assert_eq!(
            parse_path(truncated).is_ok(),
            names_another_tile,
            "{truncated:?}"
        );
        if names_another_tile {
            assert_ne!(parse_path(truncated).unwrap(), original);
        }
    }
}

fn tile_strategy() -> impl Strategy<Value = TilePath> {
    prop_oneof![
        (0u8..8, any::<u64>(), 1u16..=256).prop_filter_map(
            "out of range",
            |(level, index, width)| {
                let index = index.checked_shr(8 * u32::from(level) + 8).unwrap_or(0);
                TileId::new(level, index, width).ok().map(TilePath::Tile)
            }
        ),
        (any::<u64>(), 1u16..=256).prop_filter_map("out of range", |(index, width)| {
            BundleId::new(index >> 8, width).ok().map(TilePath::Bundle)
        }),
    ]
}

proptest! {
    #[test]
    fn paths_round_trip(tile in tile_strategy()) {
        let path = match tile {
            TilePath::Tile(tile) => tile.path(),
            TilePath::Bundle(bundle) => bundle.path(),
        };
        prop_assert_eq!(parse_path(&path), Ok(tile));
    }

    #[test]
    fn bundles_round_trip(entries in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..300), 1..=256)) {
        let bytes = encode_bundle(&entries).unwrap();
        let bundle = BundleId::new(7, u16::try_from(entries.len()).unwrap()).unwrap();
        let decoded = decode_bundle(bundle, &bytes).unwrap();
        prop_assert_eq!(decoded, entries.iter().map(Vec::as_slice).collect::<Vec<_>>());
        for end in 0..bytes.len() {
            prop_assert!(decode_bundle(bundle, &bytes[..end]).is_err());
        }
    }
}

#[test]
fn bundle_errors() {
    assert_eq!(
        encode_bundle::<&[u8]>(&[]),
        Err(BundleError::WrongEntryCount { count: 0 })
    );
    let entries = vec![b"x".as_slice(); 257];
    assert_eq!(
        encode_bundle(&entries),
        Err(BundleError::WrongEntryCount { count: 257 })
    );
    let large = vec![0u8; 65_536];
    assert_eq!(
        encode_bundle(&[large.as_slice()]),
        Err(BundleError::EntryTooLarge {
            size: 65_536,
            max: 65_535
        })
    );
    let largest = vec![0u8; 65_535];
    let bytes = encode_bundle(&[largest.as_slice()]).unwrap();
    assert_eq!(&bytes[..2], [0xff, 0xff]);
    let bundle = BundleId::new(0, 1).unwrap();
    assert_eq!(decode_bundle(bundle, &bytes).unwrap(), [largest.as_slice()]);

    let bytes = encode_bundle(&[b"ab".as_slice(), b"".as_slice()]).unwrap();
    assert_eq!(bytes, [0, 2, b'a', b'b', 0, 0]);
    let one = BundleId::new(0, 1).unwrap();
    assert_eq!(
        decode_bundle(one, &bytes),
        Err(BundleError::TrailingBytes { width: 1, extra: 2 })
    );
    let three = BundleId::new(0, 3).unwrap();
    assert_eq!(
        decode_bundle(three, &bytes),
        Err(BundleError::Truncated { entry: 2 })
    );
}

/// Fetches the tiles a computation needs from the log, as a client would, until it succeeds.
fn with_tiles<T>(
    log: &MemoryTree,
    tiles: &mut TileHashes,
    mut compute: impl FnMut(&TileHashes) -> Result<T, kvitto_tlog::merkle::TreeError<TileReadError>>,
) -> T {
    for _ in 0..2 {
        match compute(tiles) {
            Ok(value) => return value,
            Err(kvitto_tlog::merkle::TreeError::Read(TileReadError::MissingTiles(missing))) => {
                for tile in missing {
                    tiles.insert(tile, &read_tile(log, tile).unwrap()).unwrap();
                }
            }
            Err(error) => panic!("{error:?}"),
        }
    }
    panic!("tiles still missing after one round of fetching");
}

fn check_tile_client(size: u64, index: u64, size1: u64) {
    let log = MemoryTree::from_entries(crate::entries(size)).unwrap();
    let mut tiles = TileHashes::new(size);
    assert_eq!(
        with_tiles(&log, &mut tiles, |tiles| root(tiles, size)),
        log.root(),
        "size {size}"
    );
    let proof = with_tiles(&log, &mut tiles, |tiles| {
        inclusion_proof(tiles, index, size)
    });
    assert_eq!(proof, inclusion_proof(&log, index, size).unwrap());
    let proof = with_tiles(&log, &mut tiles, |tiles| {
        consistency_proof(tiles, size1, size)
    });
    assert_eq!(proof, consistency_proof(&log, size1, size).unwrap());
}

#[test]
fn tile_client_at_tile_boundaries() {
    for size in [
        1, 255, 256, 257, 511, 512, 513, 65_535, 65_536, 65_537, 70_000,
    ] {
        check_tile_client(size, size - 1, 1 + size / 3);
        check_tile_client(size, 0, size);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn tile_client_agrees_with_the_log(size in 1u64..5000, index_seed: u64, size1_seed: u64) {
        check_tile_client(size, index_seed % size, 1 + size1_seed % size);
    }
}

#[test]
fn bundles_hash_to_level_zero_tiles() {
    let entries = crate::entries(300);
    let log = MemoryTree::from_entries(&entries).unwrap();
    let bundle = BundleId::in_tree(1, 300).unwrap();
    assert_eq!(bundle.width(), 44);
    let bytes = encode_bundle(&entries[256..]).unwrap();
    let hashes: Vec<_> = decode_bundle(bundle, &bytes)
        .unwrap()
        .into_iter()
        .map(leaf_hash)
        .collect();
    let tile = decode_tile(bundle.tile(), &read_tile(&log, bundle.tile()).unwrap()).unwrap();
    assert_eq!(hashes, tile);
}

#[test]
fn tile_client_rejects_unfit_tiles() {
    let log = MemoryTree::from_entries(crate::entries(600)).unwrap();
    let mut tiles = TileHashes::new(600);
    let full = TileId::full(0, 1).unwrap();
    tiles.insert(full, &read_tile(&log, full).unwrap()).unwrap();
    let narrow = TileId::new(0, 2, 50).unwrap();
    assert!(matches!(
        tiles.insert(narrow, &[0; 50 * 32]),
        Err(TileError::TooNarrow { needed: 88, .. })
    ));
    let partial = TileId::new(0, 2, 88).unwrap();
    assert!(matches!(
        tiles.insert(partial, &[0; 32]),
        Err(TileError::WrongSize { .. })
    ));
    let beyond = TileId::full(0, 3).unwrap();
    assert!(matches!(
        tiles.insert(beyond, &[0; 8192]),
        Err(TileError::NotInTree { .. })
    ));
    assert!(matches!(
        decode_tile(partial, &[0; 88 * 32 + 1]),
        Err(TileError::WrongSize { .. })
    ));
    assert_eq!(
        TileId::new(0, 0, 0),
        Err(TileError::InvalidWidth { width: 0 })
    );
    assert_eq!(
        TileId::new(0, 0, 257),
        Err(TileError::InvalidWidth { width: 257 })
    );
    assert!(matches!(
        TileId::full(8, 0),
        Err(TileError::OutOfRange { .. })
    ));
}

#[test]
fn a_full_tile_can_stand_in_for_a_partial_one() {
    let log = MemoryTree::from_entries(crate::entries(512)).unwrap();
    let mut tiles = TileHashes::new(300);
    // The tree of 300 has a partial level 0 tile of width 44 at index 1; give the full one.
    let full = TileId::full(0, 1).unwrap();
    tiles.insert(full, &read_tile(&log, full).unwrap()).unwrap();
    assert_eq!(
        with_tiles(&log, &mut tiles, |tiles| root(tiles, 300)),
        root(&log, 300).unwrap()
    );
}

#[test]
fn the_tiles_for_a_root_are_known_before_fetching() {
    let size = 70_000;
    let log = MemoryTree::from_entries(crate::entries(size)).unwrap();
    let mut tiles = TileHashes::new(size);
    let needed = tiles.tiles_for(&Frontier::node_ids(size)).unwrap();
    let paths: Vec<String> = needed.iter().map(TileId::path).collect();
    // 70,000 = 65,536 + 4,096 + 256 + 64 + 32 + 16: node (16, 0) is hash 0 of tile/2/000;
    // (12, 16) folds hashes 0..16 and (8, 272) is hash 16 of tile/1/001; (6, 1090), (5, 2182) and
    // (4, 4366) fold hashes of tile/0/273. The full tile/1/000 is not needed.
    assert_eq!(
        paths,
        ["tile/0/273.p/112", "tile/1/001.p/17", "tile/2/000.p/1"]
    );
    for tile in needed {
        tiles.insert(tile, &read_tile(&log, tile).unwrap()).unwrap();
    }
    assert_eq!(tiles.root().unwrap(), log.root());
    assert_eq!(
        tiles.tiles_for(&[NodeId::new(0, size)]),
        Err(TileReadError::NodeNotInTree(NodeId::new(0, size)))
    );
}
