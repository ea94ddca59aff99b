//! `kvitto testnet init`: node directories and a membership for a local multi-operator network.

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use kvitto_net::membership::{render_membership, MemberSpec, Membership, Role};
use kvitto_tlog::cosignature::CosignatureSigner;

use crate::config::{NodeConfig, NodeDir};
use crate::keyfile;
use crate::network::load_keypair;

/// The membership file's name, in every node directory.
pub const MEMBERSHIP_FILE: &str = "membership.toml";
/// The membership's tlog-policy alone, as drivers and verifiers use it.
pub const POLICY_FILE: &str = "policy.txt";

pub struct TestnetOptions {
    pub dir: PathBuf,
    pub nodes: usize,
    pub network: String,
    /// One address per node (all the same for loopback).
    pub hosts: Vec<IpAddr>,
    pub http_port_base: u16,
    pub p2p_port_base: u16,
    /// Cosignatures from other members that make a checkpoint witnessed; default: two thirds
    /// of the others, at least one.
    pub quorum: Option<usize>,
}

#[derive(Debug, serde::Serialize)]
pub struct TestnetNode {
    pub dir: PathBuf,
    pub operator: String,
    pub role: &'static str,
    pub http: String,
    pub p2p: String,
}

/// The role of the `i`th of `n` nodes: the last is the regulator, the others alternate
/// between charging operators and eMSPs.
fn role(i: usize, n: usize) -> Role {
    if i + 1 == n && n >= 3 {
        Role::Regulator
    } else if i.is_multiple_of(2) {
        Role::Cpo
    } else {
        Role::Emsp
    }
}

pub fn init(options: &TestnetOptions) -> Result<(PathBuf, Vec<TestnetNode>)> {
    let n = options.nodes;
    if !(2..=kvitto_net::limits::MEMBERS_MAX).contains(&n) {
        bail!(
            "a testnet has 2 to {} nodes",
            kvitto_net::limits::MEMBERS_MAX
        );
    }
    if options.hosts.len() != 1 && options.hosts.len() != n {
        bail!("give one host for all nodes, or one per node ({n})");
    }
    let quorum = options
        .quorum
        .unwrap_or_else(|| (2 * (n - 1)).div_ceil(3).max(1));
    if quorum == 0 || quorum > n - 1 {
        bail!("the quorum must be 1 to {} (the other members)", n - 1);
    }
    if let Some(existing) = (1..=n)
        .map(|i| options.dir.join(format!("node{i}")))
        .find(|dir| dir.exists())
    {
        bail!(
            "{} already exists; refusing to touch it",
            existing.display()
        );
    }
    let host = |i: usize| options.hosts[if options.hosts.len() == 1 { 0 } else { i }];
    let mut specs = Vec::new();
    let mut nodes = Vec::new();
    for i in 0..n {
        let operator = format!("SE*N{:02}", i + 1);
        let dir = options.dir.join(format!("node{}", i + 1));
        let http = SocketAddr::new(host(i), options.http_port_base + i as u16);
        let p2p = match host(i) {
            IpAddr::V4(ip) => format!("/ip4/{ip}/tcp/{}", options.p2p_port_base + i as u16),
            IpAddr::V6(ip) => format!("/ip6/{ip}/tcp/{}", options.p2p_port_base + i as u16),
        };
        let report = crate::node::init(&dir, &options.network, &operator, http)?;
        let node_dir = NodeDir(dir.clone());
        let witness = CosignatureSigner::parse(&keyfile::read_secret(&node_dir.witness_key())?)
            .map_err(|e| anyhow::anyhow!("witness key: {e}"))?;
        let peer_id = load_keypair(&node_dir)?.public().to_peer_id();
        let role = role(i, n);
        specs.push(MemberSpec {
            operator: operator.clone(),
            role,
            peer_id: peer_id.to_string(),
            addresses: vec![p2p.clone()],
            origin: report.origin.clone(),
            log_key: report.verifier_key.clone(),
            witness_key: witness.verifier().to_string(),
            http: Some(format!("http://{http}")),
        });
        nodes.push(TestnetNode {
            dir,
            operator,
            role: role.as_str(),
            http: format!("http://{http}"),
            p2p,
        });
    }
    let policy = policy(&specs, quorum);
    let text = render_membership(&options.network, &policy, &specs)
        .map_err(|e| anyhow::anyhow!("membership: {e}"))?;
    let digest = Membership::parse(text.as_bytes())
        .map_err(|e| anyhow::anyhow!("membership: {e}"))?
        .digest_hex();
    let shared = options.dir.join(MEMBERSHIP_FILE);
    std::fs::write(&shared, &text).with_context(|| format!("writing {}", shared.display()))?;
    // The network's trust policy on its own, for drivers' `kvitto receipt verify --policy`.
    let policy_file = options.dir.join(POLICY_FILE);
    std::fs::write(&policy_file, &policy)
        .with_context(|| format!("writing {}", policy_file.display()))?;
    for (node, spec) in nodes.iter().zip(&specs) {
        std::fs::write(node.dir.join(MEMBERSHIP_FILE), &text)?;
        let mut config = NodeConfig::load(&node.dir)?;
        config.p2p_listen = Some(spec.addresses[0].clone());
        config.membership = Some(PathBuf::from(MEMBERSHIP_FILE));
        config.membership_sha256 = Some(digest.clone());
        config.save(&node.dir)?;
    }
    Ok((shared, nodes))
}

/// A C2SP tlog-policy: every member's log, every member's witness, and a quorum of `quorum`
/// witnesses. A node never cosigns its own log, so the quorum is met by the others.
fn policy(specs: &[MemberSpec], quorum: usize) -> String {
    let mut text = String::new();
    for spec in specs {
        text.push_str(&format!("log {}\n", spec.log_key));
    }
    let names: Vec<String> = specs
        .iter()
        .map(|s| crate::config::log_id_of(&s.operator))
        .collect();
    for (spec, name) in specs.iter().zip(&names) {
        text.push_str(&format!("witness {name} {}\n", spec.witness_key));
    }
    text.push_str(&format!("group members {quorum} {}\n", names.join(" ")));
    text.push_str("quorum members\n");
    text
}

/// Prints where things are.
pub fn describe(membership: &Path, nodes: &[TestnetNode]) -> String {
    let mut out = format!("membership: {}\n", membership.display());
    for node in nodes {
        out.push_str(&format!(
            "  {:<8} {:<9} {:<24} {:<28} {}\n",
            node.operator,
            node.role,
            node.http,
            node.p2p,
            node.dir.display()
        ));
    }
    out
}

/// What `kvitto testnet check` found on one poll.
#[derive(Debug, serde::Serialize)]
pub struct Convergence {
    pub converged: bool,
    /// Per log id: the checkpoint (first three note lines) each node serves, in node order.
    pub logs: Vec<(String, Vec<Option<String>>)>,
    pub problems: Vec<String>,
}

/// Whether every node serves the same checkpoint of every log, that checkpoint covers every
/// entry its log holds, every node sees it witnessed under the policy, and no node raised an
/// alert.
pub async fn convergence(nodes: &[crate::client::Client]) -> Result<Convergence> {
    let mut problems = Vec::new();
    let first = nodes.first().context("no nodes given")?;
    let logs: Vec<serde_json::Value> = first.get_json("/logs").await?;
    let mut statuses = Vec::new();
    for node in nodes {
        let status: serde_json::Value = node.get_json("/v1/status").await?;
        for alert in status["alerts"].as_array().into_iter().flatten() {
            problems.push(format!(
                "{}: {}",
                node.base(),
                alert.as_str().unwrap_or("?")
            ));
        }
        statuses.push(status);
    }
    let mut table = Vec::new();
    for log in &logs {
        let id = log["id"].as_str().unwrap_or_default().to_owned();
        let mut seen = Vec::new();
        for (node, status) in nodes.iter().zip(&statuses) {
            let note = node
                .get_bytes(&format!("/log/{id}/checkpoint"))
                .await
                .ok()
                .map(|bytes| {
                    String::from_utf8_lossy(&bytes)
                        .lines()
                        .take(3)
                        .collect::<Vec<_>>()
                        .join(" ")
                });
            let entry = status["logs"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|l| l["id"] == id.as_str());
            match entry {
                None => problems.push(format!("{} does not serve {id}", node.base())),
                Some(l) => {
                    if l["kind"] == "own" && l["size"] != l["checkpoint_size"] {
                        problems.push(format!("{id}: entries not yet covered by a checkpoint"));
                    }
                    if l["witnessed_size"] != l["checkpoint_size"] {
                        problems.push(format!(
                            "{}: {id} witnessed at {} of {}",
                            node.base(),
                            l["witnessed_size"],
                            l["checkpoint_size"]
                        ));
                    }
                }
            }
            seen.push(note);
        }
        if seen.iter().any(|s| s != &seen[0]) || seen[0].is_none() {
            problems.push(format!("{id}: nodes serve different checkpoints"));
        }
        table.push((id, seen));
    }
    Ok(Convergence {
        converged: problems.is_empty(),
        logs: table,
        problems,
    })
}
