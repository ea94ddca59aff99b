//! `kvitto devnet`, kvitto's main job, end to end: a roaming network of five node processes
//! settles a period, and everything it writes verifies; with one CPO billing another's session
//! again, the regulator's audit finds exactly that.

use std::path::{Path, PathBuf};
use std::process::Output;

use serde_json::Value;

use crate::common::{free_ports, kvitto};

/// The devnet's node count (its default): each needs an HTTP and a peer-to-peer port.
const NODES: u16 = 5;

/// Runs `kvitto devnet --exit-when-settled` into a new directory.
fn devnet(extra: &[&str]) -> (tempfile::TempDir, PathBuf, Output) {
    let work = tempfile::tempdir().unwrap();
    let out = work.path().join("out");
    let output = kvitto()
        .args([
            "devnet",
            "--exit-when-settled",
            "--chargers",
            "2",
            "--sessions",
            "3",
        ])
        .args(["--http-port", &free_ports(NODES).to_string()])
        .args(["--p2p-port", &free_ports(NODES).to_string()])
        .arg("--dir")
        .arg(work.path().join("nodes"))
        .arg("--out")
        .arg(&out)
        .args(extra)
        .output()
        .unwrap();
    (work, out, output)
}

fn json(path: &Path) -> Value {
    serde_json::from_slice(
        &std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display())),
    )
    .unwrap()
}

fn files(dir: &Path, suffix: &str) -> Vec<PathBuf> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            found.extend(files(&path, suffix));
        } else if path.to_string_lossy().ends_with(suffix) {
            found.push(path);
        }
    }
    found
}

#[test]
fn the_devnet_settles_a_period_and_everything_it_writes_verifies() {
    let (work, out, output) = devnet(&[]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("Everything verified."), "{stdout}");

    // Every statement acknowledged by its eMSP; the netting balances to zero.
    let outcome = json(&out.join("outcome.json"));
    assert_eq!(outcome["statements"], 4, "{outcome}");
    assert_eq!(outcome["statements_acknowledged"], 4, "{outcome}");
    assert_eq!(outcome["netting_balanced"], true, "{outcome}");
    let statements = json(&out.join("settlement/statements.json"));
    let statements = statements.as_array().unwrap();
    assert_eq!(statements.len(), 4);
    let sessions: u64 = statements
        .iter()
        .map(|s| s["sessions"].as_u64().unwrap())
        .sum();
    assert_eq!(
        sessions,
        2 * 2 * 3,
        "every session billed once: {statements:?}"
    );
    let netting = json(&out.join("settlement/period1-netting.json"));
    let positions = netting["currencies"][0]["positions"].as_array().unwrap();
    assert_eq!(positions.len(), 4, "{netting}");
    let sum: i64 = positions
        .iter()
        .map(|p| p["net_minor"].as_i64().unwrap())
        .sum();
    assert_eq!(sum, 0, "{netting}");
    // What the eMSPs owe is what the statements say, VAT included.
    let owed: i64 = statements
        .iter()
        .map(|s| s["total_incl_vat_minor"].as_i64().unwrap())
        .sum();
    let credit: i64 = positions
        .iter()
        .map(|p| p["net_minor"].as_i64().unwrap())
        .filter(|v| *v > 0)
        .sum();
    assert!(credit > 0 && credit <= owed, "{netting} vs {owed}");
    let records = json(&out.join("settlement/period1-invoice-reconciliation.json"));
    assert_eq!(records.as_array().unwrap().len(), 4, "{records}");
    // One record per statement, listing exactly the sessions it bills.
    for record in records.as_array().unwrap() {
        let statement = statements
            .iter()
            .find(|s| {
                record["invoice_id"] == format!("{}/{}", s["origin"].as_str().unwrap(), s["index"])
            })
            .unwrap_or_else(|| panic!("no statement for {record}"));
        assert_eq!(
            record["cdrs"].as_array().unwrap().len() as u64,
            statement["sessions"].as_u64().unwrap(),
            "{record}"
        );
    }

    // `kvitto receipt verify` accepts every receipt the devnet wrote.
    let policy = work.path().join("nodes/policy.txt");
    let receipts = files(&out.join("receipts"), ".json");
    assert_eq!(receipts.len(), 12, "one receipt per session: {receipts:?}");
    for receipt in &receipts {
        let verified = kvitto()
            .args(["receipt", "verify"])
            .arg(receipt)
            .arg("--policy")
            .arg(&policy)
            .output()
            .unwrap();
        assert!(
            verified.status.success(),
            "{}: {}",
            receipt.display(),
            String::from_utf8_lossy(&verified.stdout)
        );
    }

    // The regulator's audit found nothing, and covered all five logs.
    let report = json(&out.join("audit/report.json"));
    assert_eq!(report["verdict"], "clean", "{report}");
    assert_eq!(report["findings"].as_array().unwrap().len(), 0);
    assert_eq!(report["logs"].as_array().unwrap().len(), 5);
}

#[test]
fn the_audit_finds_exactly_a_session_billed_twice() {
    let (_work, out, output) = devnet(&["--double-bill"]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(
        output.status.code(),
        Some(1),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report = json(&out.join("audit/report.json"));
    let findings = report["findings"].as_array().unwrap();
    assert_eq!(findings.len(), 1, "{report}");
    let finding = &findings[0];
    assert_eq!(finding["rule"], "reading_billed_twice", "{finding}");
    // The copy is on the second CPO's log; the original, on the first's, is named beside it.
    assert_eq!(
        finding["origin"], "kvitto/kvitto-devnet/se-n03",
        "{finding}"
    );
    let related = finding["related"].as_array().unwrap();
    assert_eq!(related.len(), 1, "{finding}");
    assert_eq!(
        related[0]["origin"], "kvitto/kvitto-devnet/se-n01",
        "{finding}"
    );
    // The eMSP disputed the copy as a duplicate, on the ledger, and the CPO answered.
    let statements = json(&out.join("settlement/statements.json"));
    let disputed: Vec<&Value> = statements
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["dispute"].is_object())
        .collect();
    assert!(
        disputed.iter().any(|s| s["cpo"] == "SE*N03"
            && s["dispute"]["items"]
                .as_array()
                .unwrap()
                .iter()
                .any(|i| i["reason"] == "duplicate")
            && s["dispute"]["answered"].is_u64()),
        "{statements}"
    );
}

#[test]
fn disputed_sessions_are_credited_and_the_next_period_carries_the_credit_notes() {
    let (_work, out, output) = devnet(&["--unknown-token"]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let statements = json(&out.join("settlement/statements.json"));
    let statements = statements.as_array().unwrap();
    assert_eq!(statements.len(), 6, "two periods: {statements:?}");
    // Period one: each CPO's statement to SE*N04 is disputed, every item for the token SE*N04
    // does not know, and every item is credited.
    let mut credited = std::collections::BTreeMap::new();
    for s in statements
        .iter()
        .filter(|s| s["credits"] == 0 && s["emsp"] == "SE*N04")
    {
        assert_eq!(s["status"], "answered", "{s}");
        let dispute = &s["dispute"];
        let items = dispute["items"].as_array().unwrap();
        assert!(!items.is_empty(), "{s}");
        assert!(items.iter().all(|i| i["reason"] == "unknown_token"), "{s}");
        assert_eq!(
            dispute["credited"].as_u64().unwrap(),
            items.len() as u64,
            "{s}"
        );
        credited.insert(s["cpo"].as_str().unwrap().to_owned(), items.len() as u64);
    }
    assert_eq!(credited.len(), 2, "{statements:?}");
    // Period two: one statement per CPO that holds exactly those credit notes, acknowledged, with
    // a negative total (the CPO owes the eMSP).
    let second: Vec<&Value> = statements.iter().filter(|s| s["credits"] != 0).collect();
    assert_eq!(second.len(), 2, "{statements:?}");
    for s in second {
        assert_eq!(s["emsp"], "SE*N04", "{s}");
        assert_eq!(s["sessions"], 0, "{s}");
        assert_eq!(
            s["credits"].as_u64(),
            credited.get(s["cpo"].as_str().unwrap()).copied(),
            "{s}"
        );
        assert_eq!(s["status"], "acknowledged", "{s}");
        assert!(s["total_incl_vat_minor"].as_i64().unwrap() < 0, "{s}");
    }
    // Both periods net to zero, and the audit finds the exchange in order.
    for period in ["period1", "period2"] {
        let netting = json(&out.join(format!("settlement/{period}-netting.json")));
        let sum: i64 = netting["currencies"][0]["positions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["net_minor"].as_i64().unwrap())
            .sum();
        assert_eq!(sum, 0, "{netting}");
    }
    let report = json(&out.join("audit/report.json"));
    assert_eq!(report["verdict"], "clean", "{report}");
}
