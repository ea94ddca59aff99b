//! `kvitto driver`, `kvitto receipt` and `kvitto token`: the driver's and the operator's side of
//! personal data.

use std::path::Path;

use anyhow::{bail, Context, Result};
use kvitto_privacy::{prove_possession, DriverSecret};
use kvitto_receipt::{render_text, verify, Outcome, Receipt, Report, Trust};
use kvitto_tlog::policy::Policy;
use rand_core::OsRng;
use serde_json::{json, Value};

use crate::client::Client;

/// Creates a driver secret (mode 0600) and returns the pseudonym `X` the eMSP registers.
pub fn driver_keygen(out: &Path) -> Result<String> {
    let secret = DriverSecret::generate(&mut OsRng);
    crate::keyfile::write_secret(
        out,
        &zeroize::Zeroizing::new(hex::encode(secret.to_bytes())),
    )?;
    Ok(hex::encode(secret.public().to_bytes()))
}

pub fn load_driver_secret(path: &Path) -> Result<DriverSecret> {
    let seed = crate::keyfile::seed_from_hex(&crate::keyfile::read_secret(path)?)
        .with_context(|| format!("driver secret {}", path.display()))?;
    Ok(DriverSecret::from_bytes(*seed))
}

/// Fetches the driver's receipts: a challenge, a possession proof over it and the node's log
/// origin, then the receipts. With `expect_origin`, refuses to prove to any other log.
pub async fn fetch(client: &Client, secret: &DriverSecret) -> Result<(Vec<Value>, u64)> {
    fetch_from(client, secret, None).await
}

pub async fn fetch_from(
    client: &Client,
    secret: &DriverSecret,
    expect_origin: Option<&str>,
) -> Result<(Vec<Value>, u64)> {
    let challenge_answer: Value = client.get_json("/v1/receipts/challenge").await?;
    let challenge_hex = challenge_answer["challenge"]
        .as_str()
        .context("the node's challenge answer has no challenge")?;
    let challenge = hex::decode(challenge_hex).context("the node's challenge is not hex")?;
    let origin = challenge_answer["origin"]
        .as_str()
        .context("the node's challenge answer names no log")?;
    if let Some(expected) = expect_origin {
        if origin != expected {
            bail!(
                "the node serves the log {origin:?}, not {expected:?}; not proving anything to it"
            );
        }
    }
    let binding = kvitto_receipt::fetch_binding(origin, &challenge);
    let proof = prove_possession(secret, &binding, &mut OsRng)
        .map_err(|e| anyhow::anyhow!("proving possession: {e}"))?;
    let body = json!({
        "driver": hex::encode(secret.public().to_bytes()),
        "challenge": challenge_hex,
        "proof": hex::encode(proof.to_bytes()),
    });
    let answer: Value = client.admin_post("/v1/receipts", &body).await?;
    let receipts = answer["receipts"].as_array().cloned().unwrap_or_default();
    Ok((receipts, answer["pending"].as_u64().unwrap_or(0)))
}

/// Writes each receipt as `<out>/receipt-<session id>.json`; returns the paths.
pub fn write_receipts(out: &Path, receipts: &[Value]) -> Result<Vec<std::path::PathBuf>> {
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    let mut paths = Vec::new();
    for receipt in receipts {
        let parsed: Receipt =
            serde_json::from_value(receipt.clone()).context("the node sent a malformed receipt")?;
        let entry = hex::decode(&parsed.session.entry).unwrap_or_default();
        // The session id is the record's first field after version and type.
        let session = entry
            .get(2..18)
            .map(hex::encode)
            .unwrap_or_else(|| parsed.session.index.to_string());
        let path = out.join(format!("receipt-{session}.json"));
        // A receipt holds the driver's pseudonym and openings: private, like a key file.
        crate::keyfile::write_private(&path, parsed.to_json().as_bytes())?;
        paths.push(path);
    }
    Ok(paths)
}

/// Verifies a receipt file against a policy file, or the receipt's own policy if asked.
pub fn verify_file(path: &Path, policy: Option<&Path>, trust_embedded: bool) -> Result<Report> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let policy = match (policy, trust_embedded) {
        (Some(_), true) => bail!("give either --policy or --trust-embedded-policy, not both"),
        (None, false) => bail!(
            "a receipt is checked against a trust policy you hold: pass --policy FILE (your \
             network's tlog policy, e.g. from your eMSP), or --trust-embedded-policy to check only \
             that the receipt is consistent with the policy it carries"
        ),
        (Some(p), false) => {
            let text =
                std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?;
            Some(Policy::parse(&text).map_err(|e| anyhow::anyhow!("{}: {e}", p.display()))?)
        }
        (None, true) => None,
    };
    let trust = match &policy {
        Some(p) => Trust::Policy(p),
        None => Trust::Embedded,
    };
    Ok(verify(&bytes, trust, &mut OsRng))
}

/// One line per check: `ok`, `FAIL` or `skip`, the check's name, and what it found.
pub fn report_text(report: &Report) -> String {
    let mut out = String::new();
    for check in &report.checks {
        let mark = match check.outcome {
            Outcome::Pass => "ok  ",
            Outcome::Fail => "FAIL",
            Outcome::Skip => "skip",
        };
        out.push_str(&format!(
            "{mark} {:<22} {}\n",
            check.name.as_str(),
            check.detail
        ));
    }
    out.push_str(if report.all_passed() {
        "receipt verified: every check passed\n"
    } else {
        "receipt NOT verified\n"
    });
    out
}

fn read_receipt(path: &Path) -> Result<Receipt> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    serde_json::from_slice(&bytes)
        .with_context(|| format!("{} is not a kvitto receipt", path.display()))
}

/// The driver's answer (hex) to a verifier's challenge for the receipt's session.
pub fn prove_ownership(receipt: &Path, secret: &Path, challenge: &str) -> Result<String> {
    let receipt = read_receipt(receipt)?;
    let secret = load_driver_secret(secret)?;
    let challenge = hex::decode(challenge).context("--challenge: expected hex")?;
    kvitto_receipt::prove_ownership_of(&receipt, &secret, &challenge, &mut OsRng)
        .map(hex::encode)
        .map_err(|e| anyhow::anyhow!(e))
}

/// The `ownership` check for a driver's answer to the verifier's own challenge.
pub fn ownership_check(
    receipt: &Path,
    challenge: &str,
    proof: &str,
) -> Result<kvitto_receipt::Check> {
    let receipt = read_receipt(receipt)?;
    let challenge = hex::decode(challenge).context("--ownership-challenge: expected hex")?;
    let proof = hex::decode(proof).context("--ownership-proof: expected hex")?;
    let result = kvitto_receipt::verify_ownership_of(&receipt, &challenge, &proof);
    Ok(kvitto_receipt::Check {
        name: kvitto_receipt::CheckName::Ownership,
        outcome: if result.is_ok() {
            Outcome::Pass
        } else {
            Outcome::Fail
        },
        detail: result.unwrap_or_else(|e| e),
    })
}

pub fn show_file(path: &Path) -> Result<String> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let receipt: Receipt = serde_json::from_slice(&bytes)
        .with_context(|| format!("{} is not a kvitto receipt", path.display()))?;
    Ok(render_text(&receipt))
}
