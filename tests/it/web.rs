//! The driver's receipt checker page (`GET /receipt`) in a real headless Chromium: a real receipt
//! passes every check the browser runs and lists the complete verifier's checks as not run;
//! tampered copies fail the check that covers the change; hostile text stays text.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::{json, Value};

use crate::common::*;
use crate::network::Testnet;
use crate::privacy::{
    driver_keygen, fetch_receipts, flip_hex, priced_charger, provision, session, Driver,
};

/// The checks the page runs in the browser (WebCrypto and comparisons of the logged entries).
const BROWSER_CHECKS: [&str; 9] = [
    "format",
    "checkpoint",
    "session_inclusion",
    "charger_inclusion",
    "tariff_inclusion",
    "reading_signatures",
    "charger_valid_at_time",
    "tariff_in_force",
    "summary",
];

/// The checks only `kvitto receipt verify` can run (blake3, the tariff engine, ristretto255).
const CLI_CHECKS: [&str; 5] = [
    "readings_match_record",
    "price",
    "amount_openings",
    "range_proof",
    "identity_opening",
];

const CHROMIUM_TIMEOUT: Duration = Duration::from_secs(90);

/// Runs headless Chromium with `args` and its own profile under `work`; returns its stdout.
fn chromium(work: &Path, args: &[&str]) -> String {
    let found = Command::new("chromium")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    assert!(
        found.is_ok_and(|s| s.success()),
        "chromium is not installed: run scripts/setup (it installs Debian's chromium package)"
    );
    let profile = tempfile::tempdir_in(work).unwrap();
    let mut child = Command::new("chromium")
        .args([
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--virtual-time-budget=10000",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args([
            "--no-first-run",
            "--disable-extensions",
            "--disable-sync",
            "--hide-scrollbars",
        ])
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + CHROMIUM_TIMEOUT;
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("chromium did not finish within {CHROMIUM_TIMEOUT:?}: {args:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "chromium {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn page_url(node: &TestNode, receipt: &[u8]) -> String {
    format!(
        "{}/receipt#receipt={}",
        node.url(),
        URL_SAFE_NO_PAD.encode(receipt)
    )
}

/// The value of attribute `name` in the start tag `tag`.
fn attribute<'a>(tag: &'a str, name: &str) -> Option<&'a str> {
    let start = tag.find(&format!(" {name}=\""))? + name.len() + 3;
    let end = tag[start..].find('"')? + start;
    Some(&tag[start..end])
}

/// Check name -> (outcome, where it ran), from the page's DOM once it says it is done.
fn outcomes(dom: &str) -> BTreeMap<String, (String, String)> {
    let body = dom.find("<body").map(|at| &dom[at..]).unwrap_or_default();
    let body_tag = &body[..body.find('>').unwrap_or(0)];
    assert_eq!(
        attribute(body_tag, "data-state"),
        Some("done"),
        "the page did not finish checking: {dom}"
    );
    let mut out = BTreeMap::new();
    for (at, _) in dom.match_indices("<li ") {
        let tag = &dom[at..at + dom[at..].find('>').unwrap()];
        if let Some(name) = attribute(tag, "data-check") {
            let outcome = attribute(tag, "data-outcome").unwrap().to_owned();
            let place = attribute(tag, "data-where").unwrap().to_owned();
            assert!(
                out.insert(name.to_owned(), (outcome, place)).is_none(),
                "check {name} shown twice"
            );
        }
    }
    out
}

/// Opens the page on `receipt` and returns its check outcomes.
fn check_in_browser(
    work: &Path,
    node: &TestNode,
    receipt: &Value,
) -> (String, BTreeMap<String, (String, String)>) {
    let dom = chromium(
        work,
        &[
            "--dump-dom",
            &page_url(node, &serde_json::to_vec(receipt).unwrap()),
        ],
    );
    let checks = outcomes(&dom);
    (dom, checks)
}

/// Asserts that a tampered copy fails `expected` in the browser.
fn tampered(
    work: &Path,
    node: &TestNode,
    receipt: &Value,
    expected: &str,
    change: impl FnOnce(&mut Value),
) {
    let mut copy = receipt.clone();
    change(&mut copy);
    assert_ne!(&copy, receipt, "{expected}: the change changed nothing");
    let (dom, checks) = check_in_browser(work, node, &copy);
    assert_eq!(
        checks.get(expected).map(|c| c.0.as_str()),
        Some("fail"),
        "{expected} should fail: {checks:?}\n{dom}"
    );
    assert!(dom.contains("This receipt does not check out"), "{dom}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_receipt_page_checks_in_the_browser_and_fails_tampered_receipts() {
    let mut node = TestNode::init();
    node.start();
    let client = reqwest::Client::new();
    let now = now_ms();
    let work = tempfile::tempdir().unwrap();

    // A priced, authorised session, and its receipt as the driver fetches it.
    let mut charger = priced_charger(&client, &node, now).await;
    let (secret_file, pseudonym) = driver_keygen(work.path(), "driver");
    let driver = Driver {
        uid: "04C0FFEE0001",
        contract: "SE-EMP-C00000001-1",
        plate: "WEB123",
        secret_file,
        pseudonym,
    };
    provision(&client, &node, &driver).await;
    // After the tariff is in force (it cannot be backdated by more than a minute), and with
    // readings at most minutes ahead of the node's clock.
    session(
        &client,
        &node,
        &mut charger,
        Some(driver.uid),
        now - 40_000,
        8_000,
    )
    .await;
    let files = fetch_receipts(&node, &driver, &work.path().join("receipts"), 1);
    let bytes = std::fs::read(&files[0]).unwrap();
    let receipt: Value = serde_json::from_slice(&bytes).unwrap();

    // The good receipt: every browser check passes, the complete verifier's are listed, not run.
    let dom = chromium(work.path(), &["--dump-dom", &page_url(&node, &bytes)]);
    let checks = outcomes(&dom);
    for name in BROWSER_CHECKS {
        assert_eq!(
            checks.get(name),
            Some(&("pass".to_owned(), "browser".to_owned())),
            "{name}: {checks:?}\n{dom}"
        );
    }
    for name in CLI_CHECKS {
        assert_eq!(
            checks.get(name),
            Some(&("not-run".to_owned(), "cli".to_owned())),
            "{name}: {checks:?}"
        );
    }
    assert_eq!(
        checks.len(),
        BROWSER_CHECKS.len() + CLI_CHECKS.len(),
        "{checks:?}"
    );
    let energy = format!("{} kWh", receipt["summary"]["energy_kwh"].as_str().unwrap());
    for said in [
        "Everything this browser can check passed",
        "kvitto receipt verify",
        "inside the receipt",
        "SE*TST*E7",
        &energy,
    ] {
        assert!(dom.contains(said), "the page does not say {said:?}: {dom}");
    }
    // The page shows the log key so the driver can compare it with their eMSP's.
    let logs: Value = fetch_json(&client, format!("{}/logs", node.url())).await;
    let log_key = logs[0]["verifier_key"].as_str().unwrap();
    assert!(
        dom.contains(log_key),
        "the page does not show the log key {log_key}"
    );

    // A screenshot for people to look at.
    let screenshot = work.path().join("receipt.png");
    chromium(
        work.path(),
        &[
            "--window-size=1000,3600",
            &format!("--screenshot={}", screenshot.display()),
            &page_url(&node, &bytes),
        ],
    );
    let png = std::fs::read(&screenshot).unwrap();
    assert!(
        png.starts_with(b"\x89PNG\r\n\x1a\n") && png.len() > 10_000,
        "not a screenshot: {} bytes",
        png.len()
    );
    // KVITTO_WEB_KEEP=<dir> keeps the screenshot and the receipt for a person to look at.
    if let Some(dir) = std::env::var_os("KVITTO_WEB_KEEP") {
        std::fs::copy(&screenshot, Path::new(&dir).join("receipt.png")).unwrap();
        std::fs::write(Path::new(&dir).join("receipt.json"), &bytes).unwrap();
    }

    // The driver page lists receipt files (here given in the address, as the checker takes
    // one), each linked to the checker; markup in a receipt stays text.
    let mut hostile = receipt.clone();
    hostile["summary"]["evse_id"] = json!("<img src=x id=injected>");
    let driver_url = format!(
        "{}/driver#receipt={}&receipt={}",
        node.url(),
        URL_SAFE_NO_PAD.encode(&bytes),
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(&hostile).unwrap())
    );
    let dom = dom_when(work.path(), &driver_url, "listed");
    assert!(dom.contains("2 receipts"), "{dom}");
    let row = text_of(&dom, "data-receipt", "receipt 1 (from the address)");
    let total = receipt["summary"]["total_incl_vat"].as_str().unwrap();
    for said in ["SE*TST*E7", &energy, total] {
        assert!(row.contains(said), "{said:?} not in {row}");
    }
    assert!(
        !dom.contains("id=\"injected\"") && dom.contains("&lt;img src=x id=injected&gt;"),
        "{dom}"
    );
    assert!(dom.contains("href=\"/receipt#receipt="), "{dom}");
    assert!(dom.contains("kvitto driver receipts --node"), "{dom}");

    // The driver page proves possession in the browser (BLAKE3, merlin, ristretto255 in
    // JavaScript) and the node's Rust verifier accepts it: the page lists the driver's receipt,
    // the same one the CLI fetched. Another driver's secret gets nothing.
    let secret = std::fs::read_to_string(&driver.secret_file).unwrap();
    let fetch_url = format!("{}/driver#secret={}", node.url(), secret.trim());
    let dom = dom_when(work.path(), &fetch_url, "listed");
    assert!(dom.contains("Fetched 1 receipt."), "{dom}");
    let index = receipt["session"]["index"].as_u64().unwrap();
    let row = text_of(&dom, "data-receipt", &format!("receipt-{index}.json"));
    for said in ["SE*TST*E7", &energy, total] {
        assert!(row.contains(said), "{said:?} not in {row}");
    }
    assert!(!dom.contains(secret.trim()), "the secret is not shown");
    let (other_secret, _) = driver_keygen(work.path(), "stranger");
    let other = std::fs::read_to_string(&other_secret).unwrap();
    let dom = dom_when(
        work.path(),
        &format!("{}/driver#secret={}", node.url(), other.trim()),
        "fetch-failed",
    );
    assert!(dom.contains("holds no sessions for your secret"), "{dom}");
    take_screenshot(work.path(), &fetch_url, "driver", 1100);

    // Tampered copies fail the check that covers the change.
    tampered(work.path(), &node, &receipt, "reading_signatures", |v| {
        let text = v["readings"][1].as_str().unwrap().to_owned();
        v["readings"][1] = json!(flip_hex(&text, 80));
    });
    tampered(work.path(), &node, &receipt, "session_inclusion", |v| {
        let text = v["session"]["proof"][0].as_str().unwrap().to_owned();
        v["session"]["proof"][0] = json!(flip_hex(&text, 5));
    });
    tampered(work.path(), &node, &receipt, "checkpoint", |v| {
        let note = v["checkpoint"].as_str().unwrap().to_owned();
        let mut lines: Vec<String> = note.lines().map(str::to_owned).collect();
        lines[1] = (lines[1].parse::<u64>().unwrap() + 1).to_string();
        v["checkpoint"] = json!(lines.join("\n") + "\n");
    });

    // Hostile input: markup in the receipt is shown as text, never run or parsed as HTML.
    let mut hostile = receipt.clone();
    hostile["summary"]["evse_id"] = json!("<img src=x id=injected>");
    let (dom, checks) = check_in_browser(work.path(), &node, &hostile);
    assert_eq!(checks["summary"].0, "fail", "{checks:?}");
    assert!(
        !dom.contains("id=\"injected\"") && dom.contains("&lt;img src=x id=injected&gt;"),
        "{dom}"
    );
    // Not a receipt at all: a clear error and a failed format check, and the page still finishes.
    let dom = chromium(
        work.path(),
        &["--dump-dom", &page_url(&node, b"{\"format\": 1")],
    );
    let checks = outcomes(&dom);
    assert_eq!(checks["format"].0, "fail", "{checks:?}");
    assert!(dom.contains("not JSON"), "{dom}");
}

/// The start tag of the first element whose attribute `name` is `value`.
fn tag_with<'a>(dom: &'a str, name: &str, value: &str) -> Option<&'a str> {
    let at = dom.find(&format!(" {name}=\"{value}\""))?;
    let start = dom[..at].rfind('<')?;
    let end = dom[at..].find('>')? + at;
    Some(&dom[start..end])
}

/// The text of the element that starts at the first tag with `name="value"`, tags removed.
fn text_of(dom: &str, name: &str, value: &str) -> String {
    let at = dom
        .find(&format!(" {name}=\"{value}\""))
        .unwrap_or_else(|| panic!("no element with {name}={value:?}: {dom}"));
    let start = dom[..at].rfind('<').unwrap();
    let tag_name: String = dom[start + 1..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric())
        .collect();
    let end = dom[at..].find(&format!("</{tag_name}>")).unwrap() + at;
    let mut text = String::new();
    let mut in_tag = false;
    for c in dom[start..end].chars() {
        match c {
            '<' => in_tag = true,
            '>' => in_tag = false,
            c if !in_tag => text.push(c),
            _ => {}
        }
    }
    text
}

/// Opens `url` in headless Chromium and returns the DOM once the page says it is `state`.
fn dom_when(work: &Path, url: &str, state: &str) -> String {
    let dom = chromium(work, &["--dump-dom", url]);
    let body = dom.find("<body").map(|at| &dom[at..]).unwrap_or_default();
    let body_tag = &body[..body.find('>').unwrap_or(0)];
    assert_eq!(
        attribute(body_tag, "data-state"),
        Some(state),
        "{url} did not get to {state}: {dom}"
    );
    dom
}

/// Takes a screenshot of `url` into `work/<name>.png`, checks it is one, and keeps a copy in
/// `KVITTO_WEB_KEEP` if set.
fn take_screenshot(work: &Path, url: &str, name: &str, height: u32) {
    let file = work.join(format!("{name}.png"));
    chromium(
        work,
        &[
            &format!("--window-size=1280,{height}"),
            &format!("--screenshot={}", file.display()),
            url,
        ],
    );
    let png = std::fs::read(&file).unwrap();
    assert!(
        png.starts_with(b"\x89PNG\r\n\x1a\n") && png.len() > 10_000,
        "{name}: not a screenshot ({} bytes)",
        png.len()
    );
    if let Some(dir) = std::env::var_os("KVITTO_WEB_KEEP") {
        std::fs::copy(&file, Path::new(&dir).join(format!("{name}.png"))).unwrap();
    }
}

fn get_json(url: &str) -> (u16, Value) {
    let response = reqwest::blocking::get(url).unwrap();
    let status = response.status().as_u16();
    (status, response.json().unwrap_or(Value::Null))
}

/// Two members: the dashboard shows each log's sizes as `/v1/status` gives them, the peer, the
/// recent sessions as `/v1/sessions/recent` lists them, and settlement as it stands; the
/// regulator page shows an audit report's findings, hostile text as text.
#[test]
fn the_dashboard_and_the_regulator_page_show_what_the_node_serves() {
    let work = tempfile::tempdir().unwrap();
    let mut net = Testnet::init(2);
    net.start(0);
    net.start(1);
    net.simulate(0, 2, 4);
    net.simulate(1, 1, 2);
    let (converged, report) = net.check(&[0, 1], 90);
    assert!(converged, "{report}\n{}", net.logs_of(0));
    let url = net.url(0);
    // Wait for the peer to show as subscribed: the status page shows what the network layer saw.
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        let (_, status) = get_json(&format!("{url}/v1/status"));
        if status["peers"][0]["subscribed"] == true || Instant::now() > deadline {
            break status;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_eq!(status["peers"][0]["connected"], true, "{status}");
    assert_eq!(status["peers"][0]["subscribed"], true, "{status}");

    let dom = dom_when(work.path(), &format!("{url}/"), "ready");
    for log in status["logs"].as_array().unwrap() {
        let id = log["id"].as_str().unwrap();
        let row = tag_with(&dom, "data-log", id).unwrap_or_else(|| panic!("no row for {id}"));
        assert_eq!(
            attribute(row, "data-size"),
            Some(log["size"].to_string().as_str()),
            "{id}: {row}"
        );
        let cells = text_of(&dom, "data-log", id);
        assert!(cells.contains(log["operator"].as_str().unwrap()), "{cells}");
        assert!(log["witnessed_size"].as_u64().unwrap() > 0, "{log}");
        assert!(
            cells.contains("witnessed") && cells.contains("ago"),
            "{cells}"
        );
    }
    let peer = text_of(&dom, "data-peer", "SE*N02");
    assert!(
        peer.contains("connected") && peer.contains("subscribed"),
        "{peer}"
    );
    assert!(dom.contains("No split view detected"), "{dom}");
    let (_, recent) = get_json(&format!("{url}/v1/sessions/recent?limit=20"));
    let sessions = recent["sessions"].as_array().unwrap();
    assert_eq!(sessions.len(), 8, "2 chargers × 4 sessions: {recent}");
    for session in sessions {
        let row = text_of(&dom, "data-session", session["session"].as_str().unwrap());
        let kwh = format!("{} kWh", session["energy_wh"].as_u64().unwrap() / 1000);
        assert!(
            row.contains(&kwh) && row.contains(&session["index"].to_string()),
            "{row}: {session}"
        );
    }
    let (settlement, _) = get_json(&format!("{url}/v1/settlement"));
    if settlement == 404 {
        assert!(dom.contains("No settlement period closed yet."), "{dom}");
    } else {
        assert!(
            dom.contains("class=\"period\"") || dom.contains("No settlement period closed yet."),
            "{dom}"
        );
    }
    take_screenshot(work.path(), &format!("{url}/"), "dashboard", 2000);

    // The regulator page before and after an audit; the report's text stays text.
    let dom = dom_when(work.path(), &format!("{url}/regulator"), "ready");
    assert!(dom.contains("No audit report yet."), "{dom}");
    let audit = net.node_dir(0).join("audit");
    std::fs::create_dir_all(&audit).unwrap();
    let report = json!({
        "verdict": "findings",
        "findings": [
            {"log": "kvitto/kvitto-testnet/se-n02", "index": 3, "rule": "price_commitment", "detail": "<img src=x id=injected>"},
            {"log": "kvitto/kvitto-testnet/se-n01", "index": 5, "rule": "coarse_times", "message": "start not on the hour"},
        ],
        "checks": [{"name": "checkpoint_signatures", "outcome": "pass"}, {"name": "price_commitment", "outcome": "fail"}],
    });
    std::fs::write(audit.join("report.json"), report.to_string()).unwrap();
    std::fs::write(audit.join("report.html"), "<h1>Audit</h1>").unwrap();
    let dom = dom_when(work.path(), &format!("{url}/regulator"), "ready");
    assert_eq!(
        attribute(
            tag_with(&dom, "data-verdict", "bad").unwrap(),
            "data-verdict"
        ),
        Some("bad")
    );
    let finding = text_of(&dom, "data-finding", "price_commitment");
    assert!(
        finding.contains("kvitto/kvitto-testnet/se-n02") && finding.contains('3'),
        "{finding}"
    );
    assert!(
        !dom.contains("id=\"injected\"") && dom.contains("&lt;img src=x id=injected&gt;"),
        "{dom}"
    );
    assert!(text_of(&dom, "data-finding", "coarse_times").contains("start not on the hour"));
    assert!(text_of(&dom, "data-check", "price_commitment").contains("fail"));
    assert!(dom.contains("href=\"/audit/report.html\""), "{dom}");
    take_screenshot(work.path(), &format!("{url}/regulator"), "regulator", 1400);
}

/// A running `kvitto devnet`, stopped with SIGINT (it stops its nodes) when dropped.
struct RunningDevnet {
    child: std::process::Child,
    http_port: u16,
    _work: tempfile::TempDir,
}

impl RunningDevnet {
    /// Starts the devnet and waits until it has settled its period and says it keeps running.
    fn start() -> RunningDevnet {
        use std::io::BufRead;
        let work = tempfile::tempdir().unwrap();
        // Five nodes (the default), each with an HTTP and a peer-to-peer port.
        let http_port = free_ports(5);
        let mut child = kvitto()
            .args(["devnet", "--chargers", "2", "--sessions", "3"])
            .args(["--http-port", &http_port.to_string()])
            .args(["--p2p-port", &free_ports(5).to_string()])
            .arg("--dir")
            .arg(work.path().join("nodes"))
            .arg("--out")
            .arg(work.path().join("out"))
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let mut printed = String::new();
        for line in std::io::BufReader::new(stdout).lines() {
            let line = line.unwrap();
            printed.push_str(&line);
            printed.push('\n');
            if line.starts_with("Running until Ctrl-C") {
                break;
            }
        }
        let devnet = RunningDevnet {
            child,
            http_port,
            _work: work,
        };
        assert!(
            printed.contains("Running until Ctrl-C") && printed.contains("Audit: 0 finding(s)"),
            "the devnet did not come up settled: {printed}"
        );
        devnet
    }

    /// The `n`th node's (1-based) base URL.
    fn url(&self, n: u16) -> String {
        format!("http://127.0.0.1:{}", self.http_port + n - 1)
    }
}

impl Drop for RunningDevnet {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-INT", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The pages against a running devnet: the CPO's dashboard shows the network's settled period
/// (every statement acknowledged, net positions, transfers) and its sessions; the regulator page
/// shows the clean audit; the driver page loads. Screenshots of each.
#[test]
fn the_pages_show_a_settled_devnet() {
    let work = tempfile::tempdir().unwrap();
    let devnet = RunningDevnet::start();
    let cpo = devnet.url(1);
    let dom = dom_when(work.path(), &cpo, "ready");
    let acknowledged = dom.matches("data-status=\"acknowledged\"").count();
    assert_eq!(
        acknowledged, 4,
        "every statement of the period shows acknowledged: {dom}"
    );
    for party in ["SE*N01", "SE*N02", "SE*N03", "SE*N04"] {
        assert!(
            tag_with(&dom, "data-party", party).is_some(),
            "no net position for {party}: {dom}"
        );
    }
    assert!(
        !dom.contains("data-problem") && !dom.contains("data-netting-error"),
        "every statement checks against its log and the period nets: {dom}"
    );
    assert!(dom.contains("data-session=\""), "no recent sessions: {dom}");
    take_screenshot(work.path(), &cpo, "devnet-dashboard", 2200);

    let regulator = format!("{}/regulator", devnet.url(5));
    let dom = dom_when(work.path(), &regulator, "ready");
    assert!(
        tag_with(&dom, "data-verdict", "good").is_some(),
        "the regulator page does not show the clean audit: {dom}"
    );
    take_screenshot(work.path(), &regulator, "devnet-regulator", 1600);

    let driver = format!("{cpo}/driver");
    chromium(work.path(), &["--dump-dom", &driver]);
    take_screenshot(work.path(), &driver, "devnet-driver", 1200);
}
