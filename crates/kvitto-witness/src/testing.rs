//! Fixtures for the unit tests: a log that signs checkpoints of an in-memory tree.

use kvitto_tlog::checkpoint::Checkpoint;
use kvitto_tlog::cosignature::CosignatureSigner;
use kvitto_tlog::merkle::{consistency_proof, root, MemoryTree};
use kvitto_tlog::note::{Ed25519Signer, Ed25519Verifier, Note};
use kvitto_tlog::Hash;

use crate::request::ConsistencyProof;
use crate::witness::Witness;

/// Seconds since the epoch used as "now" in tests.
pub(crate) const NOW: u64 = 1_750_000_000;

pub(crate) struct TestLog {
    pub signer: Ed25519Signer,
    pub tree: MemoryTree,
}

impl TestLog {
    pub fn new(name: &str, seed: u8) -> TestLog {
        TestLog {
            signer: Ed25519Signer::from_seed(name, &[seed; 32]).unwrap(),
            tree: MemoryTree::new(),
        }
    }

    /// A log with the same key and the same first `size` entries.
    pub fn fork(&self, size: u64) -> TestLog {
        let mut fork = TestLog {
            signer: self.signer.clone(),
            tree: MemoryTree::new(),
        };
        for index in 0..size {
            let node = kvitto_tlog::NodeId::leaf(index);
            fork.tree
                .push_leaf_hash(self.tree.node(node).unwrap())
                .unwrap();
        }
        fork
    }

    pub fn verifier(&self) -> Ed25519Verifier {
        self.signer.verifier()
    }

    pub fn origin(&self) -> &str {
        self.signer.name()
    }

    /// Appends `count` entries made of `tag` and their index.
    pub fn grow(&mut self, count: u64, tag: u8) -> &mut TestLog {
        for _ in 0..count {
            let index = self.tree.size();
            let mut entry = vec![tag];
            entry.extend_from_slice(&index.to_be_bytes());
            self.tree.push(&entry).unwrap();
        }
        self
    }

    pub fn root_at(&self, size: u64) -> Hash {
        root(&self.tree, size).unwrap()
    }

    /// The checkpoint of the first `size` entries, signed.
    pub fn note_at(&self, size: u64) -> Note {
        Checkpoint::new(self.origin(), size, self.root_at(size), Vec::new())
            .unwrap()
            .sign(&self.signer)
            .unwrap()
    }

    pub fn note(&self) -> Note {
        self.note_at(self.tree.size())
    }

    pub fn bytes_at(&self, size: u64) -> Vec<u8> {
        self.note_at(size).to_string().into_bytes()
    }

    /// The consistency proof from `from` to `to` entries; empty from the empty tree.
    pub fn proof(&self, from: u64, to: u64) -> ConsistencyProof {
        if from == 0 {
            return ConsistencyProof::empty(0);
        }
        ConsistencyProof::new(from, consistency_proof(&self.tree, from, to).unwrap()).unwrap()
    }
}

pub(crate) fn cosigner(name: &str) -> CosignatureSigner {
    CosignatureSigner::from_seed(name, &[0xc0; 32]).unwrap()
}

pub(crate) fn witness(logs: &[&TestLog]) -> Witness {
    Witness::new(
        cosigner("witness.example/w1"),
        logs.iter().map(|log| log.verifier()),
    )
    .unwrap()
}
