//! `kvitto log verify`: an fsck of a stopped node's log.
//!
//! Re-reads every entry, checks it decodes, recomputes every Merkle node hash and compares it
//! with the stored one, checks the leaf-hash index, and checks every stored checkpoint's signature
//! and root against the recomputed tree.

use std::collections::BTreeMap;

use anyhow::{bail, Context, Result};
use indicatif::{ProgressBar, ProgressStyle};
use kvitto_core::Entry;
use kvitto_store::{LogStore, RocksStore};
use kvitto_tlog::checkpoint::Checkpoint;
use kvitto_tlog::merkle::{leaf_hash, Frontier, HashReader};

use crate::config::NodeDir;

#[derive(Debug, serde::Serialize)]
pub struct VerifyReport {
    pub entries: u64,
    pub checkpoints: usize,
    pub root: String,
    pub entry_types: BTreeMap<String, u64>,
}

const CHUNK: usize = 4096;

pub fn verify(dir: &std::path::Path, show_progress: bool) -> Result<VerifyReport> {
    let node_dir = NodeDir(dir.to_path_buf());
    let verifier = crate::node::log_verifier(dir)?;
    if !node_dir.db().join("CURRENT").exists() {
        bail!(
            "{} holds no database; has this node run yet?",
            node_dir.db().display()
        );
    }
    let kv = RocksStore::open(&node_dir.db()).with_context(|| {
        format!(
            "opening {} (stop the node first: the database is locked while it runs)",
            node_dir.db().display()
        )
    })?;
    let store = LogStore::open(kv)?;
    let size = store.size()?;
    let checkpoints = store.checkpoints()?;
    let mut by_size: BTreeMap<u64, Vec<Vec<u8>>> = BTreeMap::new();
    for (cp_size, note) in &checkpoints {
        by_size.entry(*cp_size).or_default().push(note.clone());
    }
    let bar = if show_progress {
        ProgressBar::new(size)
    } else {
        ProgressBar::hidden()
    };
    bar.set_style(
        ProgressStyle::with_template("verifying [{bar:40}] {pos}/{len} entries")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let mut frontier = Frontier::new();
    let mut types = BTreeMap::new();
    let tree = store.tree();
    let check_checkpoints = |frontier: &Frontier| -> Result<()> {
        for note in by_size.get(&frontier.size()).into_iter().flatten() {
            let signed = Checkpoint::open(note, &verifier)
                .map_err(|e| anyhow::anyhow!("checkpoint at size {}: {e}", frontier.size()))?;
            if *signed.checkpoint.root() != frontier.root() {
                bail!(
                    "checkpoint at size {} has root {} but the stored entries give {}",
                    frontier.size(),
                    signed.checkpoint.root().to_base64(),
                    frontier.root().to_base64()
                );
            }
        }
        Ok(())
    };
    check_checkpoints(&frontier)?;
    let mut index = 0u64;
    while index < size {
        let count = CHUNK.min((size - index) as usize);
        let entries = store.entries(index, count)?;
        for bytes in entries {
            let entry = Entry::decode(&bytes).map_err(|e| anyhow::anyhow!("entry {index}: {e}"))?;
            *types.entry(entry.type_name().to_string()).or_insert(0) += 1;
            let leaf = leaf_hash(&bytes);
            if store.leaf_index(&leaf)? != Some(index) && !is_duplicate_leaf(&store, &leaf, index)?
            {
                bail!("entry {index}: the leaf-hash index does not point at it");
            }
            let nodes = frontier
                .append(leaf)
                .map_err(|_| anyhow::anyhow!("tree full"))?;
            let ids: Vec<_> = nodes.iter().map(|(id, _)| *id).collect();
            let stored = tree
                .read_hashes(&ids)
                .with_context(|| format!("reading node hashes for entry {index}"))?;
            for ((id, computed), stored) in nodes.iter().zip(stored) {
                if *computed != stored {
                    bail!(
                        "node {id:?} is stored as {} but recomputes to {}",
                        stored.to_base64(),
                        computed.to_base64()
                    );
                }
            }
            index += 1;
            check_checkpoints(&frontier)?;
        }
        bar.inc(count as u64);
    }
    bar.finish_and_clear();
    if let Some((&last, _)) = by_size.iter().next_back() {
        if last > size {
            bail!("a checkpoint covers {last} entries but only {size} are stored");
        }
    }
    Ok(VerifyReport {
        entries: size,
        checkpoints: checkpoints.len(),
        root: frontier.root().to_base64(),
        entry_types: types,
    })
}

/// Two identical entries share a leaf hash; the index then points at the later one.
fn is_duplicate_leaf(
    store: &LogStore<RocksStore>,
    leaf: &kvitto_tlog::Hash,
    index: u64,
) -> Result<bool> {
    Ok(store.leaf_index(leaf)?.is_some_and(|i| i > index))
}
