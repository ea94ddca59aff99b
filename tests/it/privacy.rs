//! Privacy and receipts against the real node: a driver's sessions yield receipts that verify
//! offline, every tampered copy fails naming its check, nothing the ledger stores or serves holds
//! a token uid, contract id, plate or their hashes, two sessions of a driver cannot be linked from
//! the ledger, and after erasure the node cannot link them while ledger and receipts still verify.

use std::path::{Path, PathBuf};

use kvitto_core::entry::{Entry, SessionRecord};
use kvitto_core::keys::SessionId;
use kvitto_privacy::{
    prove_total, sum_openings, verify_total, verify_total_proof, AmountCommitment, AmountOpening,
    DriverPublic, DriverSecret,
};
use kvitto_receipt::{verify, CheckName, Outcome, Report, Trust};
use rand_core::OsRng;
use serde_json::{json, Value};
use sha2::Digest;

use crate::common::*;

const HOUR: u64 = 3600 * 1000;

/// A driver as their eMSP provisioned them.
pub(crate) struct Driver {
    pub uid: &'static str,
    pub contract: &'static str,
    pub plate: &'static str,
    pub secret_file: PathBuf,
    pub pseudonym: String,
}

impl Driver {
    /// The personal identifiers the ledger must never hold, raw and as plain hashes.
    fn needles(&self) -> Vec<(String, Vec<u8>)> {
        let mut out = Vec::new();
        for (what, value) in [
            ("uid", self.uid),
            ("contract id", self.contract),
            ("plate", self.plate),
        ] {
            for form in [
                value.to_owned(),
                value.to_lowercase(),
                value.replace(['-', '*'], ""),
            ] {
                out.push((format!("{what} {form:?}"), form.as_bytes().to_vec()));
                let sha = sha2::Sha256::digest(form.as_bytes()).to_vec();
                let b3 = blake3::hash(form.as_bytes()).as_bytes().to_vec();
                out.push((format!("SHA-256 of {what} {form:?}"), sha.clone()));
                out.push((
                    format!("SHA-256 hex of {what} {form:?}"),
                    hex::encode(&sha).into_bytes(),
                ));
                out.push((format!("blake3 of {what} {form:?}"), b3.clone()));
                out.push((
                    format!("blake3 hex of {what} {form:?}"),
                    hex::encode(&b3).into_bytes(),
                ));
            }
        }
        let x = hex::decode(&self.pseudonym).unwrap();
        out.push(("pseudonym X".into(), x.clone()));
        out.push((
            "pseudonym X hex".into(),
            self.pseudonym.clone().into_bytes(),
        ));
        out
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

pub(crate) fn run_ok(args: &[&str]) -> String {
    let out = kvitto().args(args).output().unwrap();
    assert!(
        out.status.success(),
        "kvitto {args:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

pub(crate) fn driver_keygen(dir: &Path, name: &str) -> (PathBuf, String) {
    let file = dir.join(format!("{name}.secret"));
    let out = run_ok(&["driver", "keygen", "--out", file.to_str().unwrap()]);
    let pseudonym = out
        .lines()
        .find_map(|l| l.trim().strip_prefix("pseudonym for your eMSP: "))
        .unwrap()
        .to_owned();
    (file, pseudonym)
}

pub(crate) async fn admin(
    client: &reqwest::Client,
    node: &TestNode,
    method: reqwest::Method,
    path: &str,
    body: Value,
) -> (u16, Value) {
    let response = client
        .request(method, format!("{}{path}", node.url()))
        .bearer_auth(&node.token)
        .json(&body)
        .send()
        .await
        .unwrap();
    (
        response.status().as_u16(),
        response.json().await.unwrap_or(Value::Null),
    )
}

pub(crate) async fn provision(client: &reqwest::Client, node: &TestNode, d: &Driver) {
    let (status, answer) = admin(
        client,
        node,
        reqwest::Method::PUT,
        "/v1/admin/tokens",
        json!({
            "country_code": "SE", "party_id": "EMP", "uid": d.uid, "type": "RFID",
            "contract_id": d.contract, "license_plate": d.plate, "driver": d.pseudonym,
        }),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
}

/// Runs a session authorised by `uid`; returns its id.
pub(crate) async fn session(
    client: &reqwest::Client,
    node: &TestNode,
    charger: &mut kvitto_core::charger::SoftCharger,
    uid: Option<&str>,
    start_ms: u64,
    energy_wh: u64,
) -> SessionId {
    let start = charger.start(start_ms);
    let id = start.reading.session;
    let (status, v) = post(client, node, &[start]).await.unwrap();
    assert_eq!(status, 200, "{v}");
    if let Some(uid) = uid {
        let (status, v) = admin(
            client,
            node,
            reqwest::Method::POST,
            &format!("/v1/admin/sessions/{id}/authorize"),
            json!({"uid": uid}),
        )
        .await;
        assert_eq!(status, 200, "{v}");
    }
    let rest = vec![
        charger.meter(start_ms + 50_000, energy_wh / 2),
        charger.stop(start_ms + 100_000, energy_wh / 2),
    ];
    let (status, v) = post(client, node, &rest).await.unwrap();
    assert_eq!(status, 200, "{v}");
    id
}

/// Publishes the OCPI example tariff 8 (0.25 EUR/kWh, 10 % VAT), valid from just before `now`
/// (tariffs cannot be backdated further), and registers a DC charger (EVSE `SE*TST*E7`) priced by
/// it. Sessions priced by it must start after `now - 50 s`.
pub(crate) async fn priced_charger(
    client: &reqwest::Client,
    node: &TestNode,
    now: u64,
) -> kvitto_core::charger::SoftCharger {
    let tariff: Value =
        serde_json::from_str(&std::fs::read_to_string(crate::common::tariff_file()).unwrap())
            .unwrap();
    let body = json!({"tariff": tariff, "valid_from_ms": now - 50_000});
    let (status, v) = admin(
        client,
        node,
        reqwest::Method::POST,
        "/v1/admin/tariffs",
        body,
    )
    .await;
    assert_eq!(status, 200, "{v}");
    let charger = new_charger();
    let (status, v) = admin(client, node, reqwest::Method::POST, "/v1/admin/chargers", json!({
        "public_key": hex::encode(charger.public_key()), "evse_id": "SE*TST*E7", "meter_serial": "M-7",
        "max_power_w": 350_000, "valid_from_ms": now - 60_000, "tariff_id": tariff["id"],
    })).await;
    assert_eq!(status, 200, "{v}");
    charger
}

/// `kvitto driver receipts` into `out`, whatever its outcome.
pub(crate) fn try_fetch(node: &TestNode, secret: &Path, out: &Path) -> std::process::Output {
    kvitto()
        .args(["driver", "receipts", "--node", &node.url(), "--secret"])
        .arg(secret)
        .arg("--out")
        .arg(out)
        .output()
        .unwrap()
}

/// Fetches a driver's receipts with the CLI, waiting until every session is in a checkpoint.
pub(crate) fn fetch_receipts(
    node: &TestNode,
    d: &Driver,
    out: &Path,
    expected: usize,
) -> Vec<PathBuf> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let stdout = run_ok(&[
            "driver",
            "receipts",
            "--node",
            &node.url(),
            "--secret",
            d.secret_file.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ]);
        if stdout.contains(&format!("{expected} receipt(s); 0 session(s)")) {
            let mut files: Vec<PathBuf> = std::fs::read_dir(out)
                .unwrap()
                .map(|e| e.unwrap().path())
                .collect();
            files.sort();
            assert_eq!(files.len(), expected, "{stdout}");
            return files;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "receipts not ready: {stdout}"
        );
        std::thread::sleep(std::time::Duration::from_millis(300));
    }
}

fn check(json: &[u8]) -> Report {
    verify(json, Trust::Embedded, &mut OsRng)
}

/// Applies `change` to a copy of the receipt and asserts the named check fails.
fn tampered(receipt: &Value, expect: CheckName, what: &str, change: impl FnOnce(&mut Value)) {
    let mut copy = receipt.clone();
    change(&mut copy);
    assert_ne!(&copy, receipt, "{what}: the change changed nothing");
    let report = check(&serde_json::to_vec(&copy).unwrap());
    assert!(!report.all_passed(), "{what}: a tampered receipt verified");
    assert_eq!(
        report.outcome(expect),
        Some(Outcome::Fail),
        "{what}: expected {} to fail; report: {report:#?}",
        expect.as_str()
    );
}

pub(crate) fn flip_hex(text: &str, at: usize) -> String {
    let mut bytes = hex::decode(text).unwrap();
    let at = at.min(bytes.len() - 1);
    bytes[at] ^= 0x01;
    hex::encode(bytes)
}

fn record_of(receipt: &Value) -> SessionRecord {
    match Entry::decode(&hex::decode(receipt["session"]["entry"].as_str().unwrap()).unwrap())
        .unwrap()
    {
        Entry::SessionClosed(r) => r,
        other => panic!("not a session record: {other:?}"),
    }
}

/// Everything the node serves publicly: log list, checkpoint, status, every entry bundle and
/// hash tile, and an inclusion proof per entry.
async fn public_bytes(client: &reqwest::Client, node: &TestNode) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let fetch = |path: String| {
        let client = client.clone();
        let url = format!("{}{path}", node.url());
        async move {
            let r = client.get(&url).send().await.unwrap();
            (path, r.bytes().await.unwrap().to_vec())
        }
    };
    for path in [
        "/logs",
        "/log/se-tst/checkpoint",
        "/v1/status",
        "/v1/logs/se-tst/witnessed",
        "/v1/receipts/challenge",
        "/receipt",
    ] {
        out.push(fetch(path.to_owned()).await);
    }
    let checkpoint = String::from_utf8(out[1].1.clone()).unwrap();
    let size: u64 = checkpoint.lines().nth(1).unwrap().parse().unwrap();
    let full = size / 256;
    for n in 0..=full {
        let width = if n == full { size % 256 } else { 256 };
        if width == 0 {
            continue;
        }
        let suffix = if width == 256 {
            String::new()
        } else {
            format!(".p/{width}")
        };
        out.push(fetch(format!("/log/se-tst/tile/entries/{n:03}{suffix}")).await);
        out.push(fetch(format!("/log/se-tst/tile/0/{n:03}{suffix}")).await);
    }
    for index in 0..size {
        out.push(
            fetch(format!(
                "/log/se-tst/proof/inclusion?index={index}&size={size}"
            ))
            .await,
        );
    }
    out
}

/// The entries of a tlog-tiles entry bundle: each a u16 big-endian length and the bytes.
pub(crate) fn entry_bundle(mut bytes: &[u8]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    while bytes.len() >= 2 {
        let len = usize::from(u16::from_be_bytes([bytes[0], bytes[1]]));
        out.push(bytes[2..2 + len].to_vec());
        bytes = &bytes[2 + len..];
    }
    out
}

fn scan(what: &str, blobs: &[(String, Vec<u8>)], drivers: &[&Driver]) {
    for (source, bytes) in blobs {
        for d in drivers {
            for (needle_name, needle) in d.needles() {
                assert!(
                    !contains(bytes, &needle),
                    "{what}: {source} holds the {needle_name}"
                );
            }
        }
    }
}

pub(crate) fn files_under(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                out.push((path.display().to_string(), std::fs::read(&path).unwrap()));
            }
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn receipts_verify_tampering_fails_nothing_personal_is_public_and_erasure_unlinks() {
    let mut node = TestNode::init();
    node.start();
    let client = reqwest::Client::new();
    let now = now_ms();
    let work = tempfile::tempdir().unwrap();

    let mut charger = priced_charger(&client, &node, now).await;

    let (secret_a, pseudonym_a) = driver_keygen(work.path(), "a");
    let (secret_b, pseudonym_b) = driver_keygen(work.path(), "b");
    let a = Driver {
        uid: "04A1B2C3D4E5F6",
        contract: "SE-EMP-C12345678-9",
        plate: "ABC123",
        secret_file: secret_a,
        pseudonym: pseudonym_a,
    };
    let b = Driver {
        uid: "04FFEEDDCCBBAA",
        contract: "SE-EMP-C87654321-0",
        plate: "XYZ789",
        secret_file: secret_b,
        pseudonym: pseudonym_b,
    };
    provision(&client, &node, &a).await;
    provision(&client, &node, &b).await;

    // Two sessions of driver A and one of B on one DC charger, 100 s each: after the tariff's
    // start, and at most minutes ahead of the node's clock, as the ingest rules require.
    let a1 = session(
        &client,
        &node,
        &mut charger,
        Some(a.uid),
        now - 40_000,
        8_000,
    )
    .await;
    let b1 = session(
        &client,
        &node,
        &mut charger,
        Some(b.uid),
        now + 70_000,
        5_000,
    )
    .await;
    let a2 = session(
        &client,
        &node,
        &mut charger,
        Some(a.uid),
        now + 180_000,
        3_000,
    )
    .await;

    // Property 3: the driver fetches and opens their own sessions, and only those.
    let a_dir = work.path().join("receipts-a");
    let files = fetch_receipts(&node, &a, &a_dir, 2);
    let mut files = files;
    let mut receipts: Vec<Value> = files
        .iter()
        .map(|f| serde_json::from_slice(&std::fs::read(f).unwrap()).unwrap())
        .collect();
    // In log order.
    if receipts[0]["session"]["index"].as_u64() > receipts[1]["session"]["index"].as_u64() {
        receipts.swap(0, 1);
        files.swap(0, 1);
    }
    let sessions: Vec<SessionId> = receipts.iter().map(|r| record_of(r).session).collect();
    assert_eq!(sessions, vec![a1, a2]);

    // The CLI verifies them, one line per check; exit 0.
    for file in &files {
        let out = run_ok(&[
            "receipt",
            "verify",
            file.to_str().unwrap(),
            "--trust-embedded-policy",
        ]);
        assert_eq!(
            out.lines().filter(|l| l.starts_with("ok ")).count(),
            14,
            "{out}"
        );
        assert!(out.contains("receipt verified"), "{out}");
    }
    // Against a policy the driver holds: the node's own log, no witnesses (a single node).
    let status: Value = client
        .get(format!("{}/logs", node.url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let key = status[0]["verifier_key"].as_str().unwrap().to_owned();
    let policy_file = work.path().join("policy.txt");
    std::fs::write(&policy_file, format!("log {key}\nquorum none\n")).unwrap();
    run_ok(&[
        "receipt",
        "verify",
        files[0].to_str().unwrap(),
        "--policy",
        policy_file.to_str().unwrap(),
    ]);
    // A policy naming another log key rejects it.
    let other = kvitto_tlog::note::Ed25519Signer::generate("kvitto/it-net/se-tst", &mut OsRng)
        .unwrap()
        .verifier()
        .to_string();
    std::fs::write(&policy_file, format!("log {other}\nquorum none\n")).unwrap();
    let out = kvitto()
        .args([
            "receipt",
            "verify",
            files[0].to_str().unwrap(),
            "--policy",
            policy_file.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("FAIL checkpoint"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    // Without a trust decision the CLI refuses to call it verified.
    let out = kvitto()
        .args(["receipt", "verify", files[0].to_str().unwrap()])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--policy"));
    // Property 3, to a third party: the driver proves a session is theirs by answering the
    // verifier's challenge; nobody else can, and the answer fits no other challenge or session.
    let challenge = hex::encode(rand::random::<[u8; 32]>());
    let prove = |file: &Path, secret: &Path, challenge: &str| {
        kvitto()
            .args(["receipt", "prove-ownership"])
            .arg(file)
            .arg("--secret")
            .arg(secret)
            .args(["--challenge", challenge])
            .output()
            .unwrap()
    };
    let answer = prove(&files[0], &a.secret_file, &challenge);
    assert!(
        answer.status.success(),
        "{}",
        String::from_utf8_lossy(&answer.stderr)
    );
    let answer = String::from_utf8(answer.stdout).unwrap().trim().to_owned();
    let verify_ownership = |file: &Path, challenge: &str, answer: &str| {
        kvitto()
            .args(["receipt", "verify"])
            .arg(file)
            .args([
                "--trust-embedded-policy",
                "--ownership-challenge",
                challenge,
            ])
            .args(["--ownership-proof", answer])
            .output()
            .unwrap()
    };
    let out = verify_ownership(&files[0], &challenge, &answer);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("ok   ownership"));
    let other_challenge = hex::encode(rand::random::<[u8; 32]>());
    for (file, challenge) in [(&files[0], &other_challenge), (&files[1], &challenge)] {
        let out = verify_ownership(file, challenge, &answer);
        assert_eq!(out.status.code(), Some(1));
        assert!(String::from_utf8_lossy(&out.stdout).contains("FAIL ownership"));
    }
    let stolen = prove(&files[0], &b.secret_file, &challenge);
    assert!(!stolen.status.success(), "B answered for A's session");
    assert!(String::from_utf8_lossy(&stolen.stderr).contains("not the one behind"));

    // The plain-words rendering says what was charged.
    let shown = run_ok(&["receipt", "show", files[0].to_str().unwrap()]);
    assert!(
        shown.contains("SE*TST*E7") && shown.contains("8.000 kWh") && shown.contains("2.2"),
        "{shown}"
    );

    // Tampering: each field in turn, each failing the check that covers it.
    let r = &receipts[0];
    assert!(check(&serde_json::to_vec(r).unwrap()).all_passed());
    tampered(r, CheckName::ReadingSignatures, "a reading's energy", |v| {
        let text = v["readings"][1].as_str().unwrap().to_owned();
        v["readings"][1] = json!(flip_hex(&text, 80));
    });
    tampered(r, CheckName::TariffInclusion, "the tariff's price", |v| {
        let mut entry = hex::decode(v["tariff"]["entry"].as_str().unwrap()).unwrap();
        let at = entry.windows(4).position(|w| w == b"0.25").unwrap();
        entry[at + 2] = b'1';
        v["tariff"]["entry"] = json!(hex::encode(entry));
    });
    tampered(r, CheckName::Price, "the breakdown's total", |v| {
        v["breakdown"]["totals"]["total_cost"]["incl_vat"] = json!(4.5);
    });
    tampered(r, CheckName::Summary, "the summary's total", |v| {
        v["summary"]["total_incl_vat"] = json!("4.50");
    });
    tampered(r, CheckName::AmountOpenings, "the amount opening", |v| {
        let text = v["openings"]["amount_incl_vat"]
            .as_str()
            .unwrap()
            .to_owned();
        v["openings"]["amount_incl_vat"] = json!(flip_hex(&text, 7));
    });
    tampered(r, CheckName::IdentityOpening, "the identity opening", |v| {
        let text = v["openings"]["identity"].as_str().unwrap().to_owned();
        v["openings"]["identity"] = json!(flip_hex(&text, 0));
    });
    tampered(r, CheckName::SessionInclusion, "a proof node", |v| {
        let text = v["session"]["proof"][0].as_str().unwrap().to_owned();
        v["session"]["proof"][0] = json!(flip_hex(&text, 5));
    });
    tampered(r, CheckName::Checkpoint, "the checkpoint", |v| {
        let note = v["checkpoint"].as_str().unwrap().to_owned();
        let mut lines: Vec<String> = note.lines().map(str::to_owned).collect();
        lines[1] = (lines[1].parse::<u64>().unwrap() + 1).to_string();
        v["checkpoint"] = json!(lines.join("\n") + "\n");
    });
    tampered(r, CheckName::Summary, "the place", |v| {
        v["summary"]["evse_id"] = json!("SE*TST*E8");
    });
    // Forged commitments: another session's range proof, another session's openings.
    let other = &receipts[1];
    tampered(
        r,
        CheckName::RangeProof,
        "a range proof of another session",
        |v| {
            let mut record = record_of(v);
            record.privacy.as_mut().unwrap().range_proof =
                record_of(other).privacy.unwrap().range_proof;
            v["session"]["entry"] = json!(hex::encode(Entry::SessionClosed(record).encode()));
        },
    );
    tampered(
        r,
        CheckName::AmountOpenings,
        "openings of another session",
        |v| {
            v["openings"]["amount_excl_vat"] = other["openings"]["amount_excl_vat"].clone();
            v["openings"]["amount_incl_vat"] = other["openings"]["amount_incl_vat"].clone();
        },
    );
    // The CLI names the failed check and exits 1.
    let mut bad = r.clone();
    bad["summary"]["energy_kwh"] = json!("99.000");
    let bad_file = work.path().join("bad.json");
    std::fs::write(&bad_file, serde_json::to_vec(&bad).unwrap()).unwrap();
    let out = kvitto()
        .args([
            "receipt",
            "verify",
            bad_file.to_str().unwrap(),
            "--trust-embedded-policy",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("FAIL summary") && stdout.contains("energy"),
        "{stdout}"
    );
    let out = kvitto()
        .args([
            "receipt",
            "verify",
            bad_file.to_str().unwrap(),
            "--trust-embedded-policy",
            "--json",
        ])
        .output()
        .unwrap();
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["verified"], json!(false));

    // Property 1: nothing personal on the ledger or in any public answer.
    let served = public_bytes(&client, &node).await;
    scan("public API", &served, &[&a, &b]);
    // The scan can find what it looks for: the operator's own custody API does hold it.
    let (status, evidence) = admin(
        &client,
        &node,
        reqwest::Method::GET,
        &format!("/v1/admin/sessions/{a1}/evidence"),
        Value::Null,
    )
    .await;
    assert_eq!(status, 200, "{evidence}");
    let evidence_bytes = serde_json::to_vec(&evidence).unwrap();
    assert!(
        a.needles()
            .iter()
            .any(|(_, n)| contains(&evidence_bytes, n)),
        "the scan cannot see a uid where one is"
    );

    // Property 2: from the ledger, A's two sessions look no more alike than A's and B's.
    let b_record = {
        let bytes = hex::decode(evidence["session"].as_str().unwrap()).unwrap();
        assert_eq!(bytes, a1.0);
        let entries: Vec<SessionRecord> = served
            .iter()
            .filter(|(p, _)| p.contains("/tile/entries/"))
            .flat_map(|(_, body)| entry_bundle(body))
            .filter_map(|e| match Entry::decode(&e) {
                Ok(Entry::SessionClosed(r)) => Some(r),
                _ => None,
            })
            .collect();
        entries.into_iter().find(|r| r.session == b1).unwrap()
    };
    let (ra1, ra2) = (record_of(&receipts[0]), record_of(&receipts[1]));
    let shared = |x: &SessionRecord, y: &SessionRecord| {
        let (px, py) = (x.privacy.clone().unwrap(), y.privacy.clone().unwrap());
        [
            ("identity", px.identity == py.identity),
            ("amount", px.amount_excl_vat == py.amount_excl_vat),
            ("evidence", px.evidence_digest == py.evidence_digest),
            ("session", x.session == y.session),
            ("charger", x.key_id == y.key_id),
            ("tariff", x.tariff == y.tariff),
        ]
        .into_iter()
        .filter(|(_, same)| *same)
        .map(|(name, _)| name)
        .collect::<Vec<_>>()
    };
    assert_eq!(
        shared(&ra1, &ra2),
        shared(&ra1, &b_record),
        "A's sessions share more with each other than with B's"
    );
    assert_eq!(shared(&ra1, &ra2), vec!["charger", "tariff"]);
    // Metadata: the public record has the start and stop to the hour and energy to the kWh; the
    // exact times the charger signed appear nowhere in what is served.
    for record in [&ra1, &ra2, &b_record] {
        assert_eq!(record.start_ms % 3_600_000, 0, "{record:?}");
        assert_eq!(record.stop_ms % 3_600_000, 0, "{record:?}");
        assert_eq!(record.energy_wh % 1_000, 0, "{record:?}");
    }
    for receipt in &receipts {
        for hex_reading in receipt["readings"].as_array().unwrap() {
            let signed = kvitto_core::SignedReading::decode(
                &hex::decode(hex_reading.as_str().unwrap()).unwrap(),
            )
            .unwrap();
            let exact = signed.reading.timestamp_ms.to_be_bytes();
            for (source, bytes) in &served {
                assert!(
                    !contains(bytes, &exact),
                    "{source} holds an exact reading time"
                );
                assert!(
                    !contains(bytes, signed.signature()),
                    "{source} holds a signed reading"
                );
            }
        }
    }
    // The pseudonym does not link either: T - X is a fresh commitment per session.
    let x_a = DriverPublic::from_bytes(&hex::decode(&a.pseudonym).unwrap()).unwrap();
    assert_ne!(ra1.privacy.as_ref().unwrap().identity, x_a.to_bytes());

    // Property 4: a total over sessions is checked against the sum of their commitments. The
    // driver, holding the openings, checks the sum; anyone checks a total proof, which reveals no
    // blinding (so overlapping totals leak nothing beyond the totals themselves).
    let commitments: Vec<AmountCommitment> = [&ra1, &ra2]
        .iter()
        .map(|r| {
            AmountCommitment::from_bytes(&r.privacy.as_ref().unwrap().amount_incl_vat).unwrap()
        })
        .collect();
    let openings: Vec<AmountOpening> = receipts
        .iter()
        .map(|r| {
            AmountOpening::from_bytes(
                &hex::decode(r["openings"]["amount_incl_vat"].as_str().unwrap()).unwrap(),
            )
            .unwrap()
        })
        .collect();
    let (total, blindings) = sum_openings(&openings).unwrap();
    assert_eq!(total, 220 + 83, "2.20 EUR + 0.83 EUR incl. VAT, in cents");
    verify_total(&commitments, total, &blindings).unwrap();
    assert!(verify_total(&commitments, total + 1, &blindings).is_err());
    let (proven, proof) = prove_total(
        b"it: driver A, 2026-11",
        &commitments,
        &openings,
        &mut OsRng,
    )
    .unwrap();
    assert_eq!(proven, total);
    verify_total_proof(b"it: driver A, 2026-11", &commitments, total, &proof).unwrap();
    assert!(verify_total_proof(b"it: driver A, 2026-11", &commitments, total - 1, &proof).is_err());
    assert!(verify_total_proof(b"another statement", &commitments, total, &proof).is_err());

    // B cannot fetch A's receipts, and a stranger with a made-up secret gets nothing.
    let b_dir = work.path().join("receipts-b");
    let b_files = fetch_receipts(&node, &b, &b_dir, 1);
    assert_eq!(
        record_of(&serde_json::from_slice(&std::fs::read(&b_files[0]).unwrap()).unwrap()).session,
        b1
    );
    let stranger = work.path().join("stranger.secret");
    std::fs::write(
        &stranger,
        hex::encode(DriverSecret::generate(&mut OsRng).to_bytes()),
    )
    .unwrap();
    let out = try_fetch(&node, &stranger, &work.path().join("s"));
    assert!(!out.status.success());

    // Property 5: erasure.
    let out = run_ok(&[
        "token",
        "erase",
        "--node",
        &node.url(),
        "--admin-token-file",
        node.dir.join("keys/admin.token").to_str().unwrap(),
        "--contract-id",
        a.contract,
    ]);
    let report: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(report["sessions_unlinked"], json!(2), "{out}");
    assert_eq!(report["tokens"], json!(1), "{out}");
    // The node can no longer open A's evidence or find A's sessions.
    let (status, answer) = admin(
        &client,
        &node,
        reqwest::Method::GET,
        &format!("/v1/admin/sessions/{a1}/evidence"),
        Value::Null,
    )
    .await;
    assert_eq!(status, 410, "{answer}");
    assert_eq!(answer["error"]["code"], json!("erased"));
    let out = try_fetch(&node, &a.secret_file, &work.path().join("again"));
    assert!(
        !out.status.success(),
        "erased driver still fetched receipts"
    );
    // B is untouched.
    fetch_receipts(&node, &b, &work.path().join("receipts-b2"), 1);
    // Receipts already issued still verify, and so does the ledger.
    for file in &files {
        run_ok(&[
            "receipt",
            "verify",
            file.to_str().unwrap(),
            "--trust-embedded-policy",
        ]);
    }
    node.stop();
    let verified = node.verify_log();
    assert!(verified["entries"].as_u64().unwrap() >= 5, "{verified}");
    // Nothing of A is left anywhere on the node's disk; B's token still is (the scan works).
    let disk = files_under(&node.dir);
    for (needle_name, needle) in a
        .needles()
        .iter()
        .filter(|(n, _)| !n.contains("hex") && !n.contains("SHA") && !n.contains("blake3"))
    {
        for (file, bytes) in &disk {
            assert!(
                !contains(bytes, needle),
                "after erasure {file} still holds A's {needle_name}"
            );
        }
    }
    assert!(
        disk.iter()
            .any(|(_, bytes)| contains(bytes, b.uid.as_bytes())),
        "B's uid should still be in custody on disk"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn custody_routes_refuse_bad_and_unauthorised_input() {
    let mut node = TestNode::init();
    node.start();
    let client = reqwest::Client::new();
    let secret = DriverSecret::generate(&mut OsRng);
    let x = hex::encode(secret.public().to_bytes());
    let token = json!({"country_code": "SE", "party_id": "EMP", "uid": "04AA", "type": "RFID", "contract_id": "SE-EMP-1", "driver": x});

    // Without the admin token: 401, and nothing is provisioned.
    let r = client
        .put(format!("{}/v1/admin/tokens", node.url()))
        .json(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 401);
    let mut charger = new_charger();
    register(&client, &node, &charger, now_ms() - HOUR).await;
    let start = charger.start(now_ms() - 30 * 60_000);
    let session = start.reading.session;
    post(&client, &node, &[start]).await.unwrap();
    let (status, v) = admin(
        &client,
        &node,
        reqwest::Method::POST,
        &format!("/v1/admin/sessions/{session}/authorize"),
        json!({"uid": "04AA"}),
    )
    .await;
    assert_eq!(
        (status, v["error"]["code"].as_str()),
        (404, Some("unknown_token")),
        "{v}"
    );

    // Malformed tokens name the field.
    for (field, value, code) in [
        ("country_code", json!("sweden"), "invalid_token"),
        ("type", json!("CARD"), "invalid_token"),
        ("driver", json!("00"), "invalid_token"),
        ("uid", json!(""), "invalid_token"),
    ] {
        let mut bad = token.clone();
        bad[field] = value;
        let (status, v) = admin(
            &client,
            &node,
            reqwest::Method::PUT,
            "/v1/admin/tokens",
            bad,
        )
        .await;
        assert_eq!(
            (status, v["error"]["code"].as_str()),
            (422, Some(code)),
            "{field}: {v}"
        );
        assert!(
            v["error"]["message"].as_str().unwrap().contains(field),
            "{v}"
        );
    }
    let (status, v) = admin(
        &client,
        &node,
        reqwest::Method::PUT,
        "/v1/admin/tokens",
        token.clone(),
    )
    .await;
    assert_eq!(status, 200, "{v}");
    // Another eMSP cannot take over the contract, nor another contract the pseudonym.
    for (field, value, uid, says) in [
        ("party_id", "OTH", "04BB", "another eMSP"),
        ("contract_id", "SE-EMP-2", "04CC", "another contract"),
    ] {
        let mut other = token.clone();
        other[field] = json!(value);
        other["uid"] = json!(uid);
        let (status, v) = admin(
            &client,
            &node,
            reqwest::Method::PUT,
            "/v1/admin/tokens",
            other,
        )
        .await;
        assert_eq!(
            (status, v["error"]["code"].as_str()),
            (422, Some("invalid_token")),
            "{v}"
        );
        assert!(
            v["error"]["message"].as_str().unwrap().contains(says),
            "{v}"
        );
    }

    // Authorising a closed session is refused.
    let stop = charger.stop(now_ms() - 20 * 60_000, 100);
    let (status, v) = post(&client, &node, &[stop]).await.unwrap();
    assert_eq!(status, 200, "{v}");
    let (status, v) = admin(
        &client,
        &node,
        reqwest::Method::POST,
        &format!("/v1/admin/sessions/{session}/authorize"),
        json!({"uid": "04AA"}),
    )
    .await;
    assert_eq!(
        (status, v["error"]["code"].as_str()),
        (409, Some("session_closed")),
        "{v}"
    );

    // Receipt fetches: a bad proof, a forged challenge, a reused challenge.
    let challenge = || async {
        let v: Value = client
            .get(format!("{}/v1/receipts/challenge", node.url()))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        v["challenge"].as_str().unwrap().to_owned()
    };
    let fetch = |body: Value| {
        let client = client.clone();
        let url = format!("{}/v1/receipts", node.url());
        async move {
            let r = client.post(url).json(&body).send().await.unwrap();
            (r.status().as_u16(), r.json::<Value>().await.unwrap())
        }
    };
    let c = challenge().await;
    let bind =
        |c: &str| kvitto_receipt::fetch_binding("kvitto/it-net/se-tst", &hex::decode(c).unwrap());
    let wrong = kvitto_privacy::prove_possession(
        &DriverSecret::generate(&mut OsRng),
        &bind(&c),
        &mut OsRng,
    )
    .unwrap();
    let (status, v) =
        fetch(json!({"driver": x, "challenge": c, "proof": hex::encode(wrong.to_bytes())})).await;
    assert_eq!(
        (status, v["error"]["code"].as_str()),
        (401, Some("possession_rejected")),
        "{v}"
    );
    let forged = flip_hex(&challenge().await, 3);
    let proof = kvitto_privacy::prove_possession(&secret, &bind(&forged), &mut OsRng).unwrap();
    let (status, v) =
        fetch(json!({"driver": x, "challenge": forged, "proof": hex::encode(proof.to_bytes())}))
            .await;
    assert_eq!(
        (status, v["error"]["code"].as_str()),
        (401, Some("bad_challenge")),
        "{v}"
    );
    // A proof over the bare challenge, or bound to another node's log, is refused: a node that
    // relays this node's challenge cannot use the driver's proof here.
    for other_node in [false, true] {
        let c = challenge().await;
        let raw = hex::decode(&c).unwrap();
        let message = if other_node {
            kvitto_receipt::fetch_binding("kvitto/it-net/se-other", &raw).to_vec()
        } else {
            raw
        };
        let proof = kvitto_privacy::prove_possession(&secret, &message, &mut OsRng).unwrap();
        let (status, v) =
            fetch(json!({"driver": x, "challenge": c, "proof": hex::encode(proof.to_bytes())}))
                .await;
        assert_eq!(
            (status, v["error"]["code"].as_str()),
            (401, Some("possession_rejected")),
            "{v}"
        );
    }
    let c = challenge().await;
    let proof = kvitto_privacy::prove_possession(&secret, &bind(&c), &mut OsRng).unwrap();
    let body = json!({"driver": x, "challenge": c, "proof": hex::encode(proof.to_bytes())});
    let (status, v) = fetch(body.clone()).await;
    // The session closed before it was authorised, so it is nobody's: no receipts, but the
    // pseudonym is known.
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["receipts"].as_array().unwrap().len(), 0, "{v}");
    let (status, v) = fetch(body).await;
    assert_eq!(
        (status, v["error"]["code"].as_str()),
        (401, Some("challenge_used")),
        "{v}"
    );
    // Erasing an unknown contract.
    let (status, v) = admin(
        &client,
        &node,
        reqwest::Method::POST,
        "/v1/admin/erasures",
        json!({"contract_id": "nobody"}),
    )
    .await;
    assert_eq!(
        (status, v["error"]["code"].as_str()),
        (404, Some("unknown_contract")),
        "{v}"
    );
}

/// Retention is configurable: with periods of zero days, a retention run erases the person and
/// the amount openings kept for tax, and the ledger still verifies.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retention_periods_are_configurable_and_erase_when_they_end() {
    let mut node = TestNode::init();
    let config = node.dir.join("kvitto.toml");
    let text = std::fs::read_to_string(&config).unwrap();
    assert!(
        text.contains("person_days = 395"),
        "init writes the default retention: {text}"
    );
    let text = text
        .replace("person_days = 395", "person_days = 0")
        .replace("amounts_days = 3653", "amounts_days = 0");
    std::fs::write(&config, text).unwrap();
    node.start();
    let client = reqwest::Client::new();
    let work = tempfile::tempdir().unwrap();
    let (secret_file, pseudonym) = driver_keygen(work.path(), "r");
    let d = Driver {
        uid: "04D00D00D00D00",
        contract: "SE-EMP-C00000077-1",
        plate: "RET001",
        secret_file,
        pseudonym,
    };
    provision(&client, &node, &d).await;
    let mut charger = new_charger();
    register(&client, &node, &charger, now_ms() - HOUR).await;
    session(
        &client,
        &node,
        &mut charger,
        Some(d.uid),
        now_ms() - 40 * 60_000,
        500,
    )
    .await;
    fetch_receipts(&node, &d, &work.path().join("before"), 1);
    // The contract re-provisioned for another driver: the new pseudonym does not get the earlier
    // driver's session.
    let (secret_file, pseudonym) = driver_keygen(work.path(), "r2");
    let d2 = Driver {
        uid: d.uid,
        contract: d.contract,
        plate: d.plate,
        secret_file,
        pseudonym,
    };
    provision(&client, &node, &d2).await;
    let stdout = run_ok(&[
        "driver",
        "receipts",
        "--node",
        &node.url(),
        "--secret",
        d2.secret_file.to_str().unwrap(),
        "--out",
        work.path().join("r2").to_str().unwrap(),
    ]);
    assert!(stdout.contains("0 receipt(s)"), "{stdout}");

    let (status, report) = admin(
        &client,
        &node,
        reqwest::Method::POST,
        "/v1/admin/retention/run",
        Value::Null,
    )
    .await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(report, json!({"people": 1, "amounts": 1}));
    let out = try_fetch(&node, &d.secret_file, &work.path().join("after"));
    assert!(
        !out.status.success(),
        "the erased driver still fetched receipts"
    );
    let (status, report) = admin(
        &client,
        &node,
        reqwest::Method::POST,
        "/v1/admin/retention/run",
        Value::Null,
    )
    .await;
    assert_eq!((status, report), (200, json!({"people": 0, "amounts": 0})));
    node.stop();
    node.verify_log();
    for (file, bytes) in files_under(&node.dir) {
        assert!(
            !contains(&bytes, d.uid.as_bytes()),
            "{file} still holds the uid"
        );
    }
}
