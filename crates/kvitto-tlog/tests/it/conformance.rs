//! The transparency-dev/merkle proof vectors in `shared/conformance/merkle/testdata`, every file,
//! each run through one `check` helper that compares the outcome with the file's `wantErr`.

use std::path::{Path, PathBuf};

use kvitto_tlog::merkle::leaf_hash;
use kvitto_tlog::merkle::{
    verify_consistency, verify_inclusion, verify_subtree_consistency, verify_subtree_inclusion,
    ProofError,
};
use kvitto_tlog::Hash;
use serde::de::DeserializeOwned;
use serde::Deserialize;

/// Vectors carry hashes as base64 byte strings of any length: "" and `V3JvbmdSb290`
/// ("WrongRoot") stand for values that are not hashes at all, while kvitto's verifiers take
/// `[u8; 32]`. Values that the verifier hashes (leaf hashes, proof hashes) must decode to 32
/// bytes, or the typed caller rejects them before verifying: that is the outcome such a vector
/// gets. Roots are only ever compared, and some vectors expect two equal non-hash roots to be
/// accepted (equal sizes need no proof), so a wrongly sized root is mapped to a 32-byte stand-in
/// that equals the stand-in of the same bytes and nothing else: equality between the values of a
/// vector, which is all a verifier looks at in a root, is preserved.
fn root(text: &str) -> Hash {
    let bytes = base64_decode(text);
    Hash::from_slice(&bytes).unwrap_or_else(|_| stand_in(&bytes))
}

fn stand_in(bytes: &[u8]) -> Hash {
    let mut tagged = b"kvitto conformance: not a 32-byte hash\n".to_vec();
    tagged.extend_from_slice(bytes);
    leaf_hash(&tagged)
}

/// A leaf or proof hash; a wrongly sized one is the error the typed caller would report.
fn hash(text: &str) -> Result<Hash, String> {
    Hash::from_slice(&base64_decode(text)).map_err(|error| error.to_string())
}

fn hashes(texts: &Option<Vec<String>>) -> Result<Vec<Hash>, String> {
    texts.iter().flatten().map(|text| hash(text)).collect()
}

fn base64_decode(text: &str) -> Vec<u8> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD
        .decode(text)
        .expect("vector base64")
}

trait Vector: DeserializeOwned {
    fn want_err(&self) -> bool;
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Inclusion {
    leaf_idx: u64,
    tree_size: u64,
    root: String,
    leaf_hash: String,
    proof: Option<Vec<String>>,
    #[allow(dead_code)]
    desc: String,
    want_err: bool,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Consistency {
    size1: u64,
    size2: u64,
    root1: String,
    root2: String,
    proof: Option<Vec<String>>,
    #[allow(dead_code)]
    desc: String,
    want_err: bool,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct SubtreeInclusion {
    leaf_idx: u64,
    start: u64,
    end: u64,
    root: String,
    leaf_hash: String,
    proof: Option<Vec<String>>,
    #[allow(dead_code)]
    desc: String,
    want_err: bool,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct SubtreeConsistency {
    start: u64,
    end: u64,
    size: u64,
    root1: String,
    root2: String,
    proof: Option<Vec<String>>,
    #[allow(dead_code)]
    desc: String,
    want_err: bool,
}

macro_rules! impl_vector {
    ($($name:ident),*) => {
        $(impl Vector for $name {
            fn want_err(&self) -> bool {
                self.want_err
            }
        })*
    };
}

impl_vector!(Inclusion, Consistency, SubtreeInclusion, SubtreeConsistency);

fn json_files(dir: &Path, found: &mut Vec<PathBuf>) {
    let mut children: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|error| panic!("{}: {error}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .collect();
    children.sort();
    for child in children {
        if child.is_dir() {
            json_files(&child, found);
        } else if child.extension().is_some_and(|ext| ext == "json") {
            found.push(child);
        }
    }
}

/// Runs `verify` on every vector below `dir` and returns how many there were; fails listing
/// every vector whose outcome is not the one its `wantErr` says.
fn check<V: Vector>(dir: &str, verify: impl Fn(&V) -> Result<(), String>) -> usize {
    let root = crate::shared("conformance/merkle/testdata").join(dir);
    let mut files = Vec::new();
    json_files(&root, &mut files);
    let mut failures = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        let vector: V = serde_json::from_str(&text)
            .unwrap_or_else(|error| panic!("{}: {error}", file.display()));
        let name = file.strip_prefix(&root).unwrap().display().to_string();
        match (vector.want_err(), verify(&vector)) {
            (true, Ok(())) => failures.push(format!("{name}: accepted, want an error")),
            (false, Err(error)) => failures.push(format!("{name}: {error}")),
            _ => {}
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} vectors failed:\n{}",
        failures.len(),
        files.len(),
        failures.join("\n")
    );
    files.len()
}

fn err(error: ProofError) -> String {
    error.to_string()
}

#[test]
fn inclusion_vectors() {
    let count = check("inclusion", |v: &Inclusion| {
        let (leaf, proof) = (hash(&v.leaf_hash)?, hashes(&v.proof)?);
        verify_inclusion(v.leaf_idx, v.tree_size, &leaf, &proof, &root(&v.root)).map_err(err)
    });
    assert_eq!(count, 98);
}

#[test]
fn consistency_vectors() {
    let count = check("consistency", |v: &Consistency| {
        let (root1, root2, proof) = (root(&v.root1), root(&v.root2), hashes(&v.proof)?);
        verify_consistency(v.size1, v.size2, &root1, &root2, &proof).map_err(err)
    });
    assert_eq!(count, 98);
}

#[test]
fn subtree_inclusion_vectors() {
    let count = check("subtreeinclusion", |v: &SubtreeInclusion| {
        let (leaf, proof, root) = (hash(&v.leaf_hash)?, hashes(&v.proof)?, root(&v.root));
        verify_subtree_inclusion(v.leaf_idx, v.start, v.end, &leaf, &proof, &root).map_err(err)
    });
    assert_eq!(count, 204);
}

#[test]
fn subtree_consistency_vectors() {
    let count = check("subtreeconsistency", |v: &SubtreeConsistency| {
        let (root1, root2, proof) = (root(&v.root1), root(&v.root2), hashes(&v.proof)?);
        verify_subtree_consistency(v.start, v.end, v.size, &root1, &root2, &proof).map_err(err)
    });
    assert_eq!(count, 118);
}

#[test]
fn stand_ins_equal_no_genuine_hash() {
    // A stand-in equal to a genuine hash of some vector could make that vector pass by accident.
    let root = crate::shared("conformance/merkle/testdata");
    let mut files = Vec::new();
    json_files(&root, &mut files);
    let mut genuine = std::collections::BTreeSet::new();
    let mut foreign = std::collections::BTreeSet::new();
    for file in files {
        let json: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(file).unwrap()).unwrap();
        let strings = ["root", "root1", "root2", "leafHash"]
            .iter()
            .filter_map(|key| json[key].as_str())
            .chain(
                json["proof"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|p| p.as_str()),
            );
        // Stand-ins are only made for roots, but must differ from every genuine value.
        for text in strings {
            let bytes = base64_decode(text);
            match Hash::from_slice(&bytes) {
                Ok(hash) => genuine.insert(hash),
                Err(_) => foreign.insert(stand_in(&bytes)),
            };
        }
    }
    assert!(!foreign.is_empty());
    assert!(genuine.is_disjoint(&foreign));
}
