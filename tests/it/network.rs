//! Networks of real `kvitto node` processes on loopback: mirroring, witnessing, rebuilding a
//! wiped node, and catching a byzantine log that shows two histories.

use std::path::{Path, PathBuf};
use std::process::Child;
use std::time::{Duration, Instant};

use kvitto_core::entry::{ChargerRegistration, Entry};
use kvitto_net::membership::Membership;
use kvitto_replica::protocol::{Request, Response, ServedEntry};
use kvitto_tlog::checkpoint::Checkpoint;
use kvitto_tlog::merkle::{consistency_proof, MemoryTree};
use kvitto_tlog::note::{Ed25519Signer, Verifier as _};
use serde_json::Value;

use crate::common::{fetch_json, free_ports, kvitto, now_ms};

pub(crate) const NETWORK: &str = "kvitto-testnet";

/// A testnet made by `kvitto testnet init`, with its node processes.
pub(crate) struct Testnet {
    dir: tempfile::TempDir,
    http_ports: Vec<u16>,
    children: Vec<Option<Child>>,
}

impl Testnet {
    pub(crate) fn init(n: usize) -> Testnet {
        let dir = tempfile::tempdir().unwrap();
        let http = free_ports(n as u16);
        let p2p = free_ports(n as u16);
        let out = kvitto()
            .args(["testnet", "init", "--dir"])
            .arg(dir.path())
            .args(["--nodes", &n.to_string(), "--network", NETWORK])
            .args([
                "--http-port",
                &http.to_string(),
                "--p2p-port",
                &p2p.to_string(),
            ])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "testnet init: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Testnet {
            dir,
            http_ports: (0..n as u16).map(|i| http + i).collect(),
            children: (0..n).map(|_| None).collect(),
        }
    }

    pub(crate) fn node_dir(&self, i: usize) -> PathBuf {
        self.dir.path().join(format!("node{}", i + 1))
    }

    pub(crate) fn url(&self, i: usize) -> String {
        format!("http://127.0.0.1:{}", self.http_ports[i])
    }

    pub(crate) fn membership(&self) -> Membership {
        Membership::load(&self.dir.path().join("membership.toml")).unwrap()
    }

    pub(crate) fn start(&mut self, i: usize) {
        let log =
            std::fs::File::create(self.dir.path().join(format!("node{}.log", i + 1))).unwrap();
        let child = kvitto()
            .args(["node", "--dir"])
            .arg(self.node_dir(i))
            .args(["--log", "info"])
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        self.children[i] = Some(child);
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", self.http_ports[i])).is_err() {
            assert!(Instant::now() < deadline, "node {} did not start", i + 1);
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub(crate) fn kill9(&mut self, i: usize) {
        if let Some(mut child) = self.children[i].take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    pub(crate) fn simulate(&self, i: usize, chargers: usize, sessions: usize) {
        let out = kvitto()
            .args([
                "charger",
                "simulate",
                "--node",
                &self.url(i),
                "--admin-token-file",
            ])
            .arg(self.node_dir(i).join("keys/admin.token"))
            .args(["--network", NETWORK, "--json", "--batch", "6"])
            .args(["--chargers", &chargers.to_string()])
            .args(["--sessions", &sessions.to_string()])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "simulate: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// `kvitto testnet check` over `nodes`: true once they converged.
    pub(crate) fn check(&self, nodes: &[usize], timeout_s: u64) -> (bool, String) {
        let mut command = kvitto();
        command.args(["testnet", "check", "--timeout-s", &timeout_s.to_string()]);
        for &i in nodes {
            command.args(["--node", &self.url(i)]);
        }
        let out = command.output().unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    }

    pub(crate) fn logs_of(&self, i: usize) -> String {
        std::fs::read_to_string(self.dir.path().join(format!("node{}.log", i + 1)))
            .unwrap_or_default()
    }
}

impl Drop for Testnet {
    fn drop(&mut self) {
        for i in 0..self.children.len() {
            self.kill9(i);
        }
    }
}

fn get_json(url: &str) -> Value {
    reqwest::blocking::get(url).unwrap().json().unwrap()
}

fn get_text(url: &str) -> (u16, String) {
    let response = reqwest::blocking::get(url).unwrap();
    (response.status().as_u16(), response.text().unwrap())
}

fn log_status<'a>(status: &'a Value, id: &str) -> &'a Value {
    status["logs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["id"] == id)
        .unwrap_or_else(|| panic!("no log {id} in {status}"))
}

#[test]
fn three_nodes_mirror_witness_and_rebuild_a_wiped_node() {
    let mut net = Testnet::init(3);
    for i in 0..3 {
        net.start(i);
    }
    net.simulate(0, 3, 10);
    net.simulate(1, 2, 10);
    let (converged, report) = net.check(&[0, 1, 2], 90);
    assert!(
        converged,
        "{report}\nnode1:\n{}\nnode3:\n{}",
        net.logs_of(0),
        net.logs_of(2)
    );

    // Every node serves every log; the mirrors hold the same entries as the owner.
    let own = get_json(&format!("{}/v1/status", net.url(0)));
    let mirrored = get_json(&format!("{}/v1/status", net.url(2)));
    let size = log_status(&own, "se-n01")["size"].as_u64().unwrap();
    assert!(size > 30, "node 1 logged its sessions: {size}");
    assert_eq!(log_status(&mirrored, "se-n01")["size"], size);
    assert_eq!(log_status(&mirrored, "se-n01")["kind"], "mirror");
    for path in [
        "/log/se-n01/tile/0/000.p/5",
        "/log/se-n01/tile/entries/000.p/5",
    ] {
        assert_eq!(
            get_text(&format!("{}{path}", net.url(0))),
            get_text(&format!("{}{path}", net.url(2))),
            "{path} is the same from the owner and from a mirror"
        );
    }

    // Node 1's witnessed checkpoint, served by node 3, is cosigned by the two others and
    // satisfies the network's policy.
    let membership = net.membership();
    let (status, note) = get_text(&format!("{}/v1/logs/se-n01/witnessed", net.url(2)));
    assert_eq!(status, 200, "{note}");
    let witnessed = membership.policy().verify(note.as_bytes()).unwrap();
    assert!(witnessed.checkpoint.size() > 0);
    for member in &membership.members()[1..] {
        let name = member.witness_key.name();
        assert!(
            note.contains(&format!("— {name} ")),
            "cosigned by {name}: {note}"
        );
    }
    let own_witness = membership.members()[0].witness_key.name().to_owned();
    assert!(
        !note.contains(&format!("— {own_witness} ")),
        "a node never cosigns its own log"
    );

    // Cosignatures and witness state survive a crash: right after a restart, before any new
    // gossip, node 1 serves the same witnessed checkpoint of node 2's log.
    let (_, before) = get_text(&format!("{}/v1/logs/se-n02/witnessed", net.url(0)));
    net.kill9(0);
    net.start(0);
    let (status, after) = get_text(&format!("{}/v1/logs/se-n02/witnessed", net.url(0)));
    assert_eq!((status, after), (200, before));

    // Wipe node 3's mirrors: it rebuilds every log from its peers and verifies it again.
    net.kill9(2);
    std::fs::remove_dir_all(net.node_dir(2).join("mirrors")).unwrap();
    net.start(2);
    let (converged, report) = net.check(&[0, 1, 2], 90);
    assert!(converged, "after the wipe: {report}\n{}", net.logs_of(2));
    let rebuilt = get_json(&format!("{}/v1/status", net.url(2)));
    assert_eq!(log_status(&rebuilt, "se-n01")["size"], size);
}

/// Node 5's keys in the hands of an attacker: it shows history A to nodes 1 and 2 and history
/// B to nodes 3 and 4. Each history is valid on its own.
#[test]
fn a_byzantine_log_showing_two_histories_is_caught_by_every_node() {
    let mut net = Testnet::init(5);
    for i in 0..4 {
        net.start(i);
    }
    let membership = std::sync::Arc::new(net.membership());
    let byzantine_dir = net.node_dir(4);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let started = Instant::now();
    let flagged = runtime.block_on(async {
        let fork = Fork::new(&byzantine_dir, &membership);
        let half_a: Vec<_> = membership.members()[..2]
            .iter()
            .map(|m| m.peer_id)
            .collect();
        let server = impostor(&byzantine_dir, &membership, 4, move |peer, data| {
            let history = if half_a.contains(&peer) {
                &fork.a
            } else {
                &fork.b
            };
            history.answer(data)
        });
        // Every honest node must flag the log.
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let flagged = statuses(&net, 4)
                .await
                .iter()
                .filter(|status| !log_status(status, "se-n05")["split_view"].is_null())
                .count();
            if flagged == 4 || Instant::now() > deadline {
                server.abort();
                break flagged;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    });
    assert_eq!(
        flagged,
        4,
        "every honest node flags the byzantine log\nnode1:\n{}\nnode3:\n{}",
        net.logs_of(0),
        net.logs_of(2)
    );
    eprintln!(
        "all 4 honest nodes flagged the byzantine log within {:.1} s",
        started.elapsed().as_secs_f64()
    );

    // The evidence convicts the log on its own, and the status says so.
    let status = get_json(&format!("{}/v1/status", net.url(3)));
    let evidence = log_status(&status, "se-n05")["split_view"]["evidence"]
        .as_str()
        .unwrap()
        .to_owned();
    let bytes =
        base64::Engine::decode(&base64::engine::general_purpose::STANDARD, evidence).unwrap();
    let evidence = kvitto_witness::SplitView::decode(&bytes).unwrap();
    evidence.verify(&membership.members()[4].log_key).unwrap();
    assert!(status["alerts"][0].as_str().unwrap().contains("split view"));
    let out = kvitto()
        .args(["status", "--node", &net.url(0)])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(2),
        "kvitto status exits 2 on an alert"
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("SPLIT VIEW"), "{text}");

    // Honest logs are unaffected: no honest log is flagged anywhere.
    for i in 0..4 {
        let status = get_json(&format!("{}/v1/status", net.url(i)));
        for id in ["se-n01", "se-n02", "se-n03", "se-n04"] {
            assert!(log_status(&status, id)["split_view"].is_null());
        }
    }
}

/// A member impersonated with the keys in its node directory `dir`: it answers every fetch
/// request with `answer(requester, request)` and ignores gossip.
fn impostor(
    dir: &Path,
    membership: &std::sync::Arc<Membership>,
    member: usize,
    answer: impl Fn(kvitto_net::PeerId, &[u8]) -> Response + Send + 'static,
) -> tokio::task::JoinHandle<()> {
    let keypair =
        kvitto_node::network::load_keypair(&kvitto_node::config::NodeDir(dir.to_path_buf()))
            .unwrap();
    let (handle, mut events) = kvitto_net::spawn(kvitto_net::NetConfig {
        keypair,
        listen: membership.members()[member].addresses.clone(),
        membership: membership.clone(),
        limits: kvitto_net::NetLimits::default(),
    })
    .unwrap();
    tokio::spawn(async move {
        while let Some(event) = events.recv().await {
            match event {
                kvitto_net::NetEvent::Request { peer, data, reply } => {
                    reply.send(answer(peer, &data).encode());
                }
                kvitto_net::NetEvent::Gossip { id, source, .. } => {
                    handle.report(id, source, kvitto_net::Verdict::Ignore)
                }
                _ => {}
            }
        }
    })
}

/// `/v1/status` of the first `n` nodes.
async fn statuses(net: &Testnet, n: usize) -> Vec<Value> {
    let client = reqwest::Client::new();
    let mut statuses = Vec::new();
    for i in 0..n {
        let status = fetch_json(&client, format!("{}/v1/status", net.url(i))).await;
        statuses.push(status);
    }
    statuses
}

/// Two valid histories of one log, signed with its key.
struct Fork {
    a: History,
    b: History,
}

struct History {
    origin: String,
    entries: Vec<Vec<u8>>,
    tree: MemoryTree,
    note: Vec<u8>,
}

impl Fork {
    fn new(dir: &Path, membership: &Membership) -> Fork {
        Fork::new_for(dir, membership, 4)
    }

    /// Two histories of member `member`'s log, signed with the key in `dir`.
    fn new_for(dir: &Path, membership: &Membership, member: usize) -> Fork {
        let text = std::fs::read_to_string(dir.join("keys/log.key")).unwrap();
        let signer = Ed25519Signer::parse(text.trim()).unwrap();
        let origin = membership.members()[member].origin.clone();
        let history = |tag: &str| {
            let entries: Vec<Vec<u8>> = (0..4)
                .map(|i| {
                    let key = kvitto_core::keys::generate_signing_key();
                    Entry::ChargerRegistered(ChargerRegistration {
                        public_key: key.verifying_key().to_bytes(),
                        evse_id: format!("SE*N05*E{tag}{i}"),
                        meter_serial: format!("M-{tag}{i}"),
                        max_power_w: 22_000,
                        valid_from_ms: now_ms(),
                        tariff_id: None,
                    })
                    .encode()
                })
                .collect();
            let tree = MemoryTree::from_entries(&entries).unwrap();
            let note = Checkpoint::new(origin.clone(), tree.size(), tree.root(), Vec::new())
                .unwrap()
                .sign(&signer)
                .unwrap()
                .to_string()
                .into_bytes();
            History {
                origin: origin.clone(),
                entries,
                tree,
                note,
            }
        };
        Fork {
            a: history("A"),
            b: history("B"),
        }
    }
}

impl History {
    fn answer(&self, data: &[u8]) -> Response {
        let Ok(request) = Request::decode(data) else {
            return Response::error("malformed_request", "bad request");
        };
        if request.origin() != self.origin {
            return Response::error("unknown_log", "not this log");
        }
        match request {
            Request::Checkpoint { .. } => Response::Checkpoint(Some(self.note.clone())),
            Request::Entries { start, count, .. } => Response::Entries {
                start,
                entries: self
                    .entries
                    .iter()
                    .skip(start as usize)
                    .take(count as usize)
                    .map(|entry| ServedEntry {
                        entry: entry.clone(),
                        readings: Vec::new(),
                    })
                    .collect(),
            },
            Request::Consistency { first, second, .. } => {
                if first == 0 || first == second {
                    Response::Proof(Vec::new())
                } else {
                    Response::Proof(consistency_proof(&self.tree, first, second).unwrap())
                }
            }
            Request::Tile { .. } | Request::Evidence { .. } => {
                Response::error("not_served", "no tiles or evidence here")
            }
        }
    }
}

/// The membership is pinned by its hash: a node whose file changed refuses to start, and says
/// what to do.
#[test]
fn a_node_refuses_a_membership_that_is_not_the_pinned_one() {
    let net = Testnet::init(2);
    let path = net.node_dir(0).join("membership.toml");
    let mut text = std::fs::read_to_string(&path).unwrap();
    text.push_str("# edited\n");
    std::fs::write(&path, text).unwrap();
    let out = kvitto()
        .args(["node", "--dir"])
        .arg(net.node_dir(0))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("but the configuration pins") && stderr.contains("membership_sha256"),
        "{stderr}"
    );
    // A node that is not in the membership it is given is refused too.
    let other = Testnet::init(2);
    std::fs::copy(
        other.dir.path().join("membership.toml"),
        net.node_dir(1).join("membership.toml"),
    )
    .unwrap();
    let mut config = std::fs::read_to_string(net.node_dir(1).join("kvitto.toml")).unwrap();
    let digest = other.membership().digest_hex();
    let pinned = config
        .lines()
        .find(|l| l.starts_with("membership_sha256"))
        .unwrap()
        .to_owned();
    config = config.replace(&pinned, &format!("membership_sha256 = \"{digest}\""));
    std::fs::write(net.node_dir(1).join("kvitto.toml"), config).unwrap();
    let out = kvitto()
        .args(["node", "--dir"])
        .arg(net.node_dir(1))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("lists another log key"), "{stderr}");
}

/// An operator whose log signs one history but serves another: no honest node cosigns its
/// checkpoint, flags it (no second signed checkpoint exists), or stops mirroring the others.
#[test]
fn a_checkpoint_whose_entries_do_not_match_is_never_cosigned() {
    let mut net = Testnet::init(3);
    for i in 0..2 {
        net.start(i);
    }
    let membership = std::sync::Arc::new(net.membership());
    let liar_dir = net.node_dir(2);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let statuses = runtime.block_on(async {
        let fork = Fork::new_for(&liar_dir, &membership, 2);
        // The checkpoint and proofs of history A, the entries of history B.
        let server = impostor(
            &liar_dir,
            &membership,
            2,
            move |_, data| match Request::decode(data) {
                Ok(Request::Entries { .. }) => fork.b.answer(data),
                _ => fork.a.answer(data),
            },
        );
        let deadline = Instant::now() + Duration::from_secs(60);
        let statuses = loop {
            let statuses = statuses(&net, 2).await;
            let reported = statuses
                .iter()
                .all(|s| !log_status(s, "se-n03")["mirror_error"].is_null());
            if reported || Instant::now() > deadline {
                break statuses;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        };
        // A few more poll rounds (retries go to the operator itself) must not change it.
        tokio::time::sleep(Duration::from_secs(5)).await;
        server.abort();
        statuses
    });
    for (i, status) in statuses.iter().enumerate() {
        let liar = log_status(status, "se-n03");
        assert!(
            !liar["mirror_error"].is_null(),
            "node {} reports the stuck mirror: {liar}",
            i + 1
        );
        assert_eq!(liar["checkpoint_size"], 0, "nothing of it was accepted");
        assert!(
            liar["split_view"].is_null(),
            "one signed history is no split view"
        );
    }
    for i in 0..2 {
        let status = get_json(&format!("{}/v1/status", net.url(i)));
        let liar = log_status(&status, "se-n03");
        assert_eq!(liar["witnessed_size"], 0);
        assert!(
            liar["cosigners"].as_array().unwrap().is_empty(),
            "never cosigned: {liar}"
        );
    }
}
