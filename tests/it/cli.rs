//! The command line as a user meets it: help everywhere, tariff pricing, clear failures.

use crate::common::kvitto;

fn ocpi_dir() -> String {
    crate::common::manifest_dir()
        .join("../../shared/conformance/ocpi-2.2.1")
        .display()
        .to_string()
}

#[test]
fn every_command_has_help() {
    for args in [
        vec!["--help"],
        vec!["init", "--help"],
        vec!["node", "--help"],
        vec!["charger", "simulate", "--help"],
        vec!["charger", "keygen", "--help"],
        vec!["charger", "register", "--help"],
        vec!["log", "verify", "--help"],
        vec!["proof", "inclusion", "--help"],
        vec!["proof", "consistency", "--help"],
        vec!["tariff", "price", "--help"],
        vec!["tariff", "explain", "--help"],
        vec!["tariff", "lint", "--help"],
        vec!["bench", "ingest", "--help"],
        vec!["bench", "catchup", "--help"],
        vec!["bench", "witness", "--help"],
        vec!["bench", "privacy", "--help"],
        vec!["status", "--help"],
        vec!["testnet", "init", "--help"],
        vec!["testnet", "check", "--help"],
        vec!["driver", "keygen", "--help"],
        vec!["driver", "receipts", "--help"],
        vec!["receipt", "verify", "--help"],
        vec!["receipt", "show", "--help"],
        vec!["receipt", "prove-ownership", "--help"],
        vec!["token", "provision", "--help"],
        vec!["token", "authorize", "--help"],
        vec!["token", "erase", "--help"],
    ] {
        let out = kvitto().args(&args).output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success() && text.contains("Usage: kvitto"),
            "{args:?}: {text}"
        );
    }
}

#[test]
fn tariff_price_reprices_the_spec_cdr_to_the_cent() {
    let out = kvitto()
        .args([
            "tariff",
            "price",
            "--cdr",
            &format!("{}/cdr_example.json", ocpi_dir()),
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let totals: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    // The CDR's own figures: 2 EUR/h, step 300 s, 1.973 h charged, billed as 2 h.
    assert_eq!(
        totals["total_cost"],
        serde_json::json!({"excl_vat": 4.00, "incl_vat": 4.40})
    );
    for key in [
        "total_fixed_cost",
        "total_energy",
        "total_energy_cost",
        "total_time",
        "total_time_cost",
        "total_parking_time",
        "total_parking_cost",
        "total_reservation_cost",
    ] {
        assert!(totals.get(key).is_some(), "{key} missing from {totals}");
    }
}

#[test]
fn tariff_commands_fail_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, r#"{"id": 1}"#).unwrap();
    let cdr = format!("{}/cdr_example.json", ocpi_dir());
    let cases = [
        (
            vec!["tariff", "lint", bad.to_str().unwrap()],
            "country_code",
        ),
        (
            vec!["tariff", "price", "--cdr", "/nonexistent.json"],
            "/nonexistent.json",
        ),
        (
            vec!["tariff", "price", "--cdr", &cdr, "--tz", "Mars/Olympus"],
            "Mars/Olympus",
        ),
    ];
    for (args, named) in cases {
        let out = kvitto().args(&args).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{args:?} should fail");
        assert!(
            stderr.starts_with("Error: ") && stderr.contains(named),
            "{args:?}: {stderr}"
        );
    }
}

/// `kvitto testnet init` checks its options before it creates anything.
#[test]
fn testnet_init_refuses_bad_options_and_creates_nothing() {
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path().join("net");
    for (args, says) in [
        (vec!["--nodes", "1"], "2 to 64 nodes"),
        (
            vec!["--nodes", "3", "--quorum", "3"],
            "the quorum must be 1 to 2",
        ),
        (
            vec!["--nodes", "3", "--hosts", "127.0.0.1,127.0.0.2"],
            "one per node",
        ),
    ] {
        let out = kvitto()
            .args(["testnet", "init", "--dir", dir.to_str().unwrap()])
            .args(&args)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            !out.status.success() && stderr.contains(says),
            "{args:?}: {stderr}"
        );
        assert!(!dir.exists(), "{args:?} created {}", dir.display());
    }
}

/// The devnet refuses a scale or ports it cannot run, naming the option, before it starts a node
/// or creates its directory.
#[test]
fn devnet_refuses_bad_options_and_creates_nothing() {
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path().join("devnet");
    for (args, says) in [
        (vec!["--nodes", "2"], "--nodes 2: must be 3 to 16"),
        (vec!["--chargers", "0"], "--chargers 0: must be 1 to 64"),
        (
            vec!["--sessions", "1001"],
            "--sessions 1001: must be 1 to 1000",
        ),
        (vec!["--drivers", "0"], "--drivers 0: must be 1 to 1000"),
        (
            vec!["--http-port", "20000", "--p2p-port", "20002"],
            "--http-port 20000 and --p2p-port 20002 overlap",
        ),
        (
            vec!["--http-port", "65533"],
            "5 nodes need ports above 65535",
        ),
    ] {
        let out = kvitto()
            .args([
                "devnet",
                "--exit-when-settled",
                "--dir",
                dir.to_str().unwrap(),
            ])
            .args(&args)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            !out.status.success() && stderr.contains(says),
            "{args:?}: {stderr}"
        );
        assert!(!dir.exists(), "{args:?} created {}", dir.display());
    }
}

/// A receipt that is not one, or a file that is missing, gets a clear message and exit 1.
#[test]
fn receipt_verify_explains_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let junk = dir.path().join("junk.json");
    std::fs::write(&junk, b"{\"format\": 1").unwrap();
    let out = kvitto()
        .args([
            "receipt",
            "verify",
            junk.to_str().unwrap(),
            "--trust-embedded-policy",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("FAIL format") && text.contains("not a receipt file"),
        "{text}"
    );
    assert!(text.contains("skip checkpoint"), "{text}");
    let out = kvitto()
        .args([
            "receipt",
            "verify",
            "/nonexistent/receipt.json",
            "--trust-embedded-policy",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("reading /nonexistent/receipt.json"));
}
