//! The worked examples of `specs/tlog.md`, so that the document stays true. The values were
//! computed independently (Python `hashlib` and `cryptography`) before being written down.

use kvitto_tlog::checkpoint::Checkpoint;
use kvitto_tlog::merkle::{
    consistency_proof, inclusion_proof, leaf_hash, root, MemoryTree, NodeId, EMPTY_ROOT,
};
use kvitto_tlog::note::{Ed25519Verifier, KeyId, Note, Verifier};
use kvitto_tlog::tiles::{encode_bundle, BundleId, TileId};
use kvitto_tlog::Hash;

use crate::checkpoint::{log_signer, witness_signer};

fn hex(text: &str) -> Hash {
    Hash::from_hex(text).unwrap()
}

const LEAF_A: &str = "022a6979e6dab7aa5ae4c3e5e45f7e977112a7e63593820dbec1ec738a24f93c";
const LEAF_C: &str = "597fcb31282d34654c200d3418fca5705c648ebf326ec73d8ddef11841f876d8";
const LEAF_D: &str = "d070dc5b8da9aea7dc0f5ad4c29d89965200059c9a0ceca3abd5da2492dcb71d";
const LEAF_E: &str = "2824a7ccda2caa720c85c9fba1e8b5b735eecfdb03878e4f8dfe6c3625030bc4";
const NODE_AB: &str = "b137985ff484fb600db93107c77b0365c80d78f5b429ded0fd97361d077999eb";
const NODE_ABCD: &str = "33376a3bd63e9993708a84ddfe6c28ae58b83505dd1fed711bd924ec5a6239f0";
const ROOT_3: &str = "36642e73c2540ab121e3a6bf9545b0a24982cd830eb13d3cd19de3ce6c021ec1";
const ROOT_5: &str = "fe14a5426fbd70c0fa73f52342afed0da0bd23c4838662ccf6b88a3070ead97b";

const CHECKPOINT_NOTE: &str = "example.com/kvitto
5
/hSlQm+9cMD6c/UjQq/tDaC9I8SDhmLM9riKMHDq2Xs=

\u{2014} example.com/kvitto 92ANDl8M/gwmflW2DPpcqOjsLzsUsVe99KDDQo1jAeCrWr/YmKopEjUSXsz0wFu1KIMcyLqakSO8Lb1vPpJlykvVUAU=
\u{2014} witness.example/w1 yG1qPwAAAABlU/EAski+rTxpolCbVhih+zZXTkFYn+31HHRbtoTBVk7HRRlLgAGVGENDOJi1aLd/5LkrtAdsrEleOm25uCojm3yZAg==
";

#[test]
fn hashes_and_proofs() {
    assert_eq!(
        EMPTY_ROOT,
        hex("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    );
    let tree = MemoryTree::from_entries([b"a", b"b", b"c", b"d", b"e"]).unwrap();
    assert_eq!(leaf_hash(b"a"), hex(LEAF_A));
    assert_eq!(tree.node(NodeId::new(1, 0)), Some(hex(NODE_AB)));
    assert_eq!(tree.node(NodeId::new(2, 0)), Some(hex(NODE_ABCD)));
    assert_eq!(root(&tree, 3).unwrap(), hex(ROOT_3));
    assert_eq!(tree.root(), hex(ROOT_5));
    assert_eq!(
        tree.root().to_base64(),
        "/hSlQm+9cMD6c/UjQq/tDaC9I8SDhmLM9riKMHDq2Xs="
    );
    assert_eq!(
        inclusion_proof(&tree, 2, 5).unwrap(),
        [hex(LEAF_D), hex(NODE_AB), hex(LEAF_E)]
    );
    assert_eq!(
        consistency_proof(&tree, 3, 5).unwrap(),
        [hex(LEAF_C), hex(LEAF_D), hex(NODE_AB), hex(LEAF_E)]
    );
}

#[test]
fn keys_and_notes() {
    assert_eq!(
        KeyId::derive("example.com/foo", 0x01, &{
            let vkey = Ed25519Verifier::parse(
                "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",
            )
            .unwrap();
            *vkey.public_key()
        }),
        KeyId(0x530d903a)
    );
    assert_eq!(
        log_signer().verifier().to_string(),
        "example.com/kvitto+f7600d0e+AdBKsjJ0K7SrOhNovUYV5ObQIkq3GgFrr4UgozLJd4c3"
    );
    assert_eq!(
        *log_signer().to_private_key_string(),
        "PRIVATE+KEY+example.com/kvitto+f7600d0e+ARERERERERERERERERERERERERERERERERERERERERER"
    );
    assert_eq!(
        witness_signer(1).verifier().to_string(),
        "witness.example/w1+c86d6a3f+BIhLiFf06qFhPGFQTbNNS+rzRlF6DjHePN3U2bQgHZ0L"
    );

    let tree = MemoryTree::from_entries([b"a", b"b", b"c", b"d", b"e"]).unwrap();
    let checkpoint = Checkpoint::new("example.com/kvitto", 5, tree.root(), vec![]).unwrap();
    let mut note = checkpoint.sign(&log_signer()).unwrap();
    note.push_signature(
        witness_signer(1)
            .cosign(&checkpoint, 1_700_000_000)
            .unwrap(),
    )
    .unwrap();
    assert_eq!(note.to_string(), CHECKPOINT_NOTE);
    let (log, witness) = (log_signer().verifier(), witness_signer(1).verifier());
    let opened = Note::parse(CHECKPOINT_NOTE.as_bytes())
        .unwrap()
        .open(&[&log, &witness])
        .unwrap();
    assert_eq!(opened.verified().len(), 2);
    assert_eq!(witness.key_id(), KeyId(0xc86d6a3f));
}

#[test]
fn tiles() {
    assert_eq!(
        TileId::full(0, 1234067).unwrap().path(),
        "tile/0/x001/x234/067"
    );
    assert_eq!(
        TileId::in_tree(1, 1, 70_000).unwrap().path(),
        "tile/1/001.p/17"
    );
    assert_eq!(
        BundleId::in_tree(273, 70_000).unwrap().path(),
        "tile/entries/273.p/112"
    );
    assert_eq!(
        encode_bundle(&[b"a".as_slice(), b"bc"]).unwrap(),
        [0, 1, b'a', 0, 2, b'b', b'c']
    );
}
