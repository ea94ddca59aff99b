//! Starting and stopping real `kvitto node` processes.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use kvitto_core::charger::SoftCharger;
use kvitto_core::NetworkId;
use serde_json::{json, Value};

pub const NETWORK: &str = "it-net";

/// The node package's directory, read when the test runs (cargo sets it), so a test binary built
/// in another checkout that shares the target directory still finds this checkout's files.
pub fn manifest_dir() -> std::path::PathBuf {
    std::env::var_os("CARGO_MANIFEST_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")))
}

/// OCPI example tariff 8 from the shared conformance vectors.
pub fn tariff_file() -> std::path::PathBuf {
    manifest_dir().join("../../shared/conformance/ocpi-2.2.1/tariff_8_simple_025kwh.json")
}

pub fn kvitto() -> Command {
    Command::new(env!("CARGO_BIN_EXE_kvitto"))
}

/// Where the tests' listening ports come from: below Linux's ephemeral range (32768 and up), so
/// no outgoing connection of a concurrent test can be handed one of them between the check
/// and the node's bind.
const TEST_PORTS: std::ops::Range<u16> = 10_000..32_000;

/// `n` consecutive ports on 127.0.0.1, free now and never handed out before in this process.
/// Blocks go up from a start that depends on the process id, so the test threads of one
/// binary never share a port and runs side by side rarely meet.
pub fn free_ports(n: u16) -> u16 {
    use std::sync::atomic::{AtomicU16, Ordering};
    static NEXT: AtomicU16 = AtomicU16::new(0);
    let span = TEST_PORTS.end - TEST_PORTS.start;
    let _ = NEXT.compare_exchange(
        0,
        TEST_PORTS.start + (std::process::id() % u32::from(span / 2)) as u16,
        Ordering::SeqCst,
        Ordering::SeqCst,
    );
    loop {
        let mut base = NEXT.fetch_add(n, Ordering::SeqCst);
        if base + n > TEST_PORTS.end {
            // Wrap around once the range is used up (only a very long run gets here).
            NEXT.store(TEST_PORTS.start, Ordering::SeqCst);
            base = NEXT.fetch_add(n, Ordering::SeqCst);
        }
        let all_free =
            (base..base + n).all(|port| std::net::TcpListener::bind(("127.0.0.1", port)).is_ok());
        if all_free {
            return base;
        }
    }
}

/// One free port (see [`free_ports`]).
pub fn free_port() -> u16 {
    free_ports(1)
}

/// A node directory made by `kvitto init`, and the running node process if any.
pub struct TestNode {
    pub dir: PathBuf,
    pub port: u16,
    pub token: String,
    pub child: Option<Child>,
    _temp: tempfile::TempDir,
}

impl TestNode {
    pub fn init() -> TestNode {
        let temp = tempfile::tempdir().unwrap();
        let dir = temp.path().join("node");
        let port = free_port();
        let out = kvitto()
            .args([
                "init",
                "--dir",
                dir.to_str().unwrap(),
                "--network",
                NETWORK,
                "--operator",
                "SE*TST",
                "--http",
                &format!("127.0.0.1:{port}"),
            ])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "init: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let token = std::fs::read_to_string(dir.join("keys/admin.token"))
            .unwrap()
            .trim()
            .to_string();
        TestNode {
            dir,
            port,
            token,
            child: None,
            _temp: temp,
        }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn start(&mut self) {
        let child = kvitto()
            .args(["node", "--dir", self.dir.to_str().unwrap(), "--log", "warn"])
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        self.child = Some(child);
        self.wait_listening();
    }

    /// Starts with debug logging, stdout and stderr into `log_file`.
    pub fn start_logging_to(&mut self, log_file: &std::path::Path) {
        let out = std::fs::File::create(log_file).unwrap();
        let child = kvitto()
            .args([
                "node",
                "--dir",
                self.dir.to_str().unwrap(),
                "--log",
                "debug",
            ])
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .spawn()
            .unwrap();
        self.child = Some(child);
        self.wait_listening();
    }

    fn wait_listening(&self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("node did not start listening");
    }

    /// SIGKILL: no shutdown, no flush.
    pub fn kill9(&mut self) {
        if let Some(mut child) = self.child.take() {
            send_sigkill(child.id());
            let _ = child.wait();
        }
    }

    /// SIGINT: graceful shutdown.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            send_sigint(child.id());
            let status = child.wait().unwrap();
            assert!(status.success(), "node exited with {status}");
        }
    }

    pub fn verify_log(&self) -> Value {
        let out = kvitto()
            .args([
                "log",
                "verify",
                "--json",
                "--dir",
                self.dir.to_str().unwrap(),
            ])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "log verify failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    }
}

impl Drop for TestNode {
    fn drop(&mut self) {
        self.kill9();
    }
}

/// Sends a signal with the system's `kill`, so the tests need no unsafe code.
fn signal(pid: u32, name: &str) {
    let status = Command::new("kill")
        .args([&format!("-{name}"), &pid.to_string()])
        .status()
        .unwrap();
    assert!(status.success(), "kill -{name} {pid}");
}

fn send_sigkill(pid: u32) {
    signal(pid, "KILL");
}

fn send_sigint(pid: u32) {
    signal(pid, "INT");
}

pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

pub fn new_charger() -> SoftCharger {
    SoftCharger::new(
        kvitto_core::keys::generate_signing_key(),
        NetworkId::of_name(NETWORK),
    )
}

pub async fn register(
    client: &reqwest::Client,
    node: &TestNode,
    charger: &SoftCharger,
    valid_from_ms: u64,
) {
    let body = json!({
        "public_key": hex::encode(charger.public_key()),
        "evse_id": "SE*TST*E1", "meter_serial": "M-1", "max_power_w": 22000, "valid_from_ms": valid_from_ms,
    });
    let response = client
        .post(format!("{}/v1/admin/chargers", node.url()))
        .bearer_auth(&node.token)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert!(
        response.status().is_success(),
        "{}",
        response.text().await.unwrap()
    );
}

/// Posts readings; returns the status and the JSON answer.
pub async fn post(
    client: &reqwest::Client,
    node: &TestNode,
    readings: &[kvitto_core::SignedReading],
) -> reqwest::Result<(u16, Value)> {
    let body: Vec<u8> = readings.iter().flat_map(|r| r.encode()).collect();
    let response = client
        .post(format!("{}/v1/readings", node.url()))
        .header("content-type", "application/octet-stream")
        .body(body)
        .send()
        .await?;
    let status = response.status().as_u16();
    let value = response.json().await.unwrap_or(Value::Null);
    Ok((status, value))
}

pub async fn get(
    client: &reqwest::Client,
    node: &TestNode,
    path: &str,
    admin: bool,
) -> (u16, Value) {
    let mut request = client.get(format!("{}{path}", node.url()));
    if admin {
        request = request.bearer_auth(&node.token);
    }
    let response = request.send().await.unwrap();
    (
        response.status().as_u16(),
        response.json().await.unwrap_or(Value::Null),
    )
}

/// GETs `url` and reads its body as JSON, whatever the status.
pub async fn fetch_json(client: &reqwest::Client, url: String) -> Value {
    client.get(url).send().await.unwrap().json().await.unwrap()
}
