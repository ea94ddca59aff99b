//! `kvitto proof`: fetch and check proofs from a node, trusting only the log's verifier key.

use anyhow::{bail, Context, Result};
use kvitto_tlog::checkpoint::Checkpoint;
use kvitto_tlog::merkle::{leaf_hash, verify_consistency, verify_inclusion};
use kvitto_tlog::note::Ed25519Verifier;
use kvitto_tlog::tiles::{decode_bundle, BundleId};
use kvitto_tlog::Hash;
use serde_json::Value;

use crate::client::Client;

/// Resolves the log to check and its verifier: pinned by the caller, or else as the node lists it.
pub async fn log_and_verifier(
    client: &Client,
    log: Option<&str>,
    verifier: Option<&str>,
) -> Result<(String, Ed25519Verifier, bool)> {
    let logs: Vec<Value> = client.get_json("/logs").await?;
    let entry = match log {
        Some(id) => logs
            .iter()
            .find(|l| l["id"] == id)
            .with_context(|| format!("the node serves no log {id:?}"))?,
        None => logs.first().context("the node serves no logs")?,
    };
    let prefix = entry["prefix"].as_str().context("log prefix")?.to_string();
    let (text, pinned) = match verifier {
        Some(v) => (v.to_string(), true),
        None => (
            entry["verifier_key"]
                .as_str()
                .context("verifier key")?
                .to_string(),
            false,
        ),
    };
    let verifier =
        Ed25519Verifier::parse(&text).map_err(|e| anyhow::anyhow!("verifier key: {e}"))?;
    Ok((prefix, verifier, pinned))
}

pub async fn checkpoint(
    client: &Client,
    prefix: &str,
    verifier: &Ed25519Verifier,
) -> Result<Checkpoint> {
    let note = client.get_bytes(&format!("{prefix}/checkpoint")).await?;
    let signed = Checkpoint::open(&note, verifier)
        .map_err(|e| anyhow::anyhow!("the checkpoint does not verify: {e}"))?;
    Ok(signed.checkpoint)
}

fn hashes(value: &Value) -> Result<Vec<Hash>> {
    value
        .as_array()
        .context("proof")?
        .iter()
        .map(|h| {
            Hash::from_base64(h.as_str().unwrap_or(""))
                .map_err(|e| anyhow::anyhow!("proof hash: {e}"))
        })
        .collect()
}

/// Proves entry `index` is in the log at the latest checkpoint. Returns printable lines.
pub async fn inclusion(
    client: &Client,
    log: Option<&str>,
    verifier: Option<&str>,
    index: u64,
) -> Result<Vec<String>> {
    let (prefix, verifier, pinned) = log_and_verifier(client, log, verifier).await?;
    let mut lines = vec![];
    if !pinned {
        lines.push(
            "note: using the verifier key the node itself lists; pass --verifier to pin it"
                .to_string(),
        );
    }
    let cp = checkpoint(client, &prefix, &verifier).await?;
    lines.push(format!(
        "ok   checkpoint signed by {} (size {}, root {})",
        verifier,
        cp.size(),
        cp.root().to_base64()
    ));
    if index >= cp.size() {
        bail!(
            "entry {index} is not covered by the latest checkpoint (size {})",
            cp.size()
        );
    }
    // Fetch the entry itself from its bundle, and hash it here.
    let bundle = BundleId::for_leaf(index, cp.size()).context("bundle for entry")?;
    let bytes = client
        .get_bytes(&format!("{prefix}/{}", bundle.path()))
        .await?;
    let entries =
        decode_bundle(bundle, &bytes).map_err(|e| anyhow::anyhow!("entry bundle: {e}"))?;
    let entry = entries
        .get((index - bundle.leaf_range().start) as usize)
        .context("entry in bundle")?;
    let leaf = leaf_hash(entry);
    let proof: Value = client
        .get_json(&format!(
            "{prefix}/proof/inclusion?index={index}&size={}",
            cp.size()
        ))
        .await?;
    verify_inclusion(
        index,
        cp.size(),
        &leaf,
        &hashes(&proof["proof"])?,
        cp.root(),
    )
    .map_err(|e| anyhow::anyhow!("inclusion proof for entry {index}: {e}"))?;
    let kind = kvitto_core::Entry::decode(entry)
        .map(|e| e.type_name())
        .unwrap_or("undecodable");
    lines.push(format!(
        "ok   entry {index} ({kind}, leaf hash {}) is included at size {}",
        leaf.to_base64(),
        cp.size()
    ));
    Ok(lines)
}

/// Proves the log at `first` is a prefix of the log at the latest checkpoint.
pub async fn consistency(
    client: &Client,
    log: Option<&str>,
    verifier: Option<&str>,
    first: u64,
    first_root: &str,
) -> Result<Vec<String>> {
    let (prefix, verifier, pinned) = log_and_verifier(client, log, verifier).await?;
    let mut lines = vec![];
    if !pinned {
        lines.push(
            "note: using the verifier key the node itself lists; pass --verifier to pin it"
                .to_string(),
        );
    }
    let cp = checkpoint(client, &prefix, &verifier).await?;
    if first == 0 {
        // RFC 9162 2.1.4: the empty tree is a prefix of every tree; there is nothing to fetch.
        lines.push(format!(
            "ok   the empty log is a prefix of the checkpoint at size {}",
            cp.size()
        ));
        return Ok(lines);
    }
    let old_root =
        Hash::from_base64(first_root).map_err(|e| anyhow::anyhow!("--first-root: {e}"))?;
    let proof: Value = client
        .get_json(&format!(
            "{prefix}/proof/consistency?first={first}&second={}",
            cp.size()
        ))
        .await?;
    verify_consistency(
        first,
        cp.size(),
        &old_root,
        cp.root(),
        &hashes(&proof["proof"])?,
    )
    .map_err(|e| anyhow::anyhow!("consistency from size {first}: {e}"))?;
    lines.push(format!(
        "ok   the log at size {first} is a prefix of the checkpoint at size {}",
        cp.size()
    ));
    Ok(lines)
}
