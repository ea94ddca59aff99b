//! A seeded, deterministic simulation of witnessing nodes over a faulty network, in the style of
//! TigerBeetle's VOPR: one seed decides everything, so any failure replays exactly.
//!
//! # The world
//!
//! `honest_nodes` nodes each run a log (an in-memory tree whose checkpoints they sign), a
//! [`Witness`] of every other log, and a mirror of every other log: the leaf hashes of the
//! latest checkpoint their witness cosigned. Optionally one byzantine node runs a log that, at
//! `fork_step`, starts two histories and shows one to each half of the honest nodes. The
//! network delivers encoded messages after a random delay (which reorders them), and during the
//! *safety phase* also drops and duplicates them, partitions nodes, and crashes honest nodes,
//! which later restart from what they persisted. Then the network *heals*: every node is up,
//! every link works, nothing is dropped, and logs stop growing (the *liveness phase*).
//!
//! # The protocol
//!
//! - A log that grows signs a checkpoint, persists it, and sends every peer a `Replicate`: the
//!   leaves since the size it believes the peer has, with an add-checkpoint request (the
//!   checkpoint and a consistency proof from that size).
//! - A node that receives leaves that extend its mirror to the checkpoint's root asks its
//!   witness to cosign, persists the new witness state and mirror together, and gossips the
//!   cosigned checkpoint; the log merges the cosignatures onto its own checkpoint, for its
//!   receipts. Leaves that do not fit go to the witness with the sender's proof,
//!   which may show a split view; otherwise the node replies with its own latest checkpoint.
//! - Every few steps each node announces its latest checkpoint of every log (its own with the
//!   cosignatures it collected), or the evidence if it flagged the log, or `Empty`. A node that receives a
//!   checkpoint replies with its own if it is behind, replicates to the sender if the sender is
//!   behind on the same history, and builds split-view evidence from its mirror if the
//!   checkpoint contradicts it. Evidence is verified, persisted and forwarded to every peer.
//!
//! # The invariants
//!
//! Checked at every step: no honest witness cosigns two inconsistent checkpoints of a log (an
//! independent checker holds every history each log ever signed), nor a checkpoint of a log
//! it flagged; no honest log is ever flagged; every witness's latest checkpoint is its mirror's
//! root; every message decodes and fits its limit; restarted nodes restore exactly what they
//! persisted. After healing, within `liveness_steps_max` steps: every honest node's witness holds
//! the latest checkpoint of every honest log, and each honest log holds its latest checkpoint
//! cosigned by every other honest node (a tlog-policy quorum); and if checkpoints of both byzantine histories past the fork were
//! cosigned by honest witnesses, every honest node has flagged the byzantine log.

use std::collections::BTreeMap;
use std::fmt;

use kvitto_tlog::checkpoint::Checkpoint;
use kvitto_tlog::cosignature::CosignatureSigner;
use kvitto_tlog::merkle::{consistency_proof, leaf_hash, root, MemoryTree};
use kvitto_tlog::note::{Ed25519Signer, Ed25519Verifier, Note};
use kvitto_tlog::policy::Policy;
use kvitto_tlog::Hash;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};

use crate::codec::{DecodeError, Reader, Writer};
use crate::evidence::SplitView;
use crate::limits::{ADD_CHECKPOINT_SIZE_MAX, MESSAGE_SIZE_MAX, REPLICATE_LEAVES_MAX};
use crate::message::Message;
use crate::policy::{is_witnessed, merge_cosignatures};
use crate::request::{AddCheckpoint, ConsistencyProof};
use crate::state::LogState;
use crate::witness::{EvidenceOutcome, Outcome, Witness, WitnessError};

/// POSIX time of step 0; step `s` happens at `BASE_TIME_SECS + s`.
const BASE_TIME_SECS: u64 = 1_750_000_000;

/// The environment variable that selects one seed to replay.
pub const SEED_VARIABLE: &str = "KVITTO_SIM_SEED";

/// How to replay a seed.
pub fn replay_command(seed: u64) -> String {
    format!("{SEED_VARIABLE}={seed} cargo test -p kvitto-witness --test it sim -- --nocapture")
}

/// The shape of one simulated world; [`Config::random`] draws one from the seed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    pub honest_nodes: usize,
    pub byzantine: bool,
    /// Steps of the safety phase, with faults and growing logs.
    pub safety_steps: u64,
    /// Steps after healing within which everything must have converged.
    pub liveness_steps_max: u64,
    pub announce_interval_steps: u64,
    /// Peers each node announces to per interval during the safety phase (all after healing).
    pub announce_fanout: usize,
    pub delay_steps_max: u64,
    pub drop_percent: u32,
    pub duplicate_percent: u32,
    pub crash_per_mille: u32,
    pub down_steps_max: u64,
    pub partition_per_mille: u32,
    pub partition_steps_max: u64,
    /// Chance per step that an up log grows.
    pub append_percent: u32,
    pub log_size_max: u64,
    /// When the byzantine log starts its second history.
    pub fork_step: Option<u64>,
    /// Whether the fork comes with a partition between the two halves of the honest nodes.
    pub fork_partition: bool,
    /// Chance that the byzantine log shows a peer the other history than its half's.
    pub equivocation_percent: u32,
    /// Chance per announcement that the byzantine node sends a forgery: evidence against an
    /// honest log, or a checkpoint of an honest log signed with its own key.
    pub forgery_percent: u32,
}

impl Config {
    /// A world drawn from `rng`: sizes, fault rates and the fork vary from seed to seed, so the
    /// seeds together explore calm and hostile networks alike.
    pub fn random(rng: &mut StdRng) -> Config {
        let honest_nodes = rng.gen_range(3..=5);
        let safety_steps = rng.gen_range(120..=240);
        let byzantine = rng.gen_bool(0.6);
        Config {
            honest_nodes,
            byzantine,
            safety_steps,
            liveness_steps_max: 200,
            announce_interval_steps: rng.gen_range(3..=6),
            announce_fanout: rng.gen_range(1..=honest_nodes),
            delay_steps_max: rng.gen_range(1..=4),
            drop_percent: rng.gen_range(0..=30),
            duplicate_percent: rng.gen_range(0..=10),
            crash_per_mille: rng.gen_range(0..=20),
            down_steps_max: rng.gen_range(5..=40),
            partition_per_mille: rng.gen_range(0..=15),
            partition_steps_max: rng.gen_range(10..=60),
            append_percent: rng.gen_range(2..=8),
            log_size_max: rng.gen_range(16..=120),
            fork_step: byzantine.then(|| rng.gen_range(0..safety_steps)),
            fork_partition: rng.gen_bool(0.5),
            equivocation_percent: rng.gen_range(0..=30),
            forgery_percent: rng.gen_range(0..=20),
        }
    }
}

/// What one run did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Report {
    pub seed: u64,
    pub honest_nodes: usize,
    pub byzantine: bool,
    pub steps: u64,
    pub messages_sent: u64,
    pub messages_delivered: u64,
    pub messages_dropped: u64,
    pub messages_duplicated: u64,
    pub crashes: u64,
    pub partitions: u64,
    pub checkpoints_signed: u64,
    pub cosignatures: u64,
    /// Times an honest node flagged the byzantine log (by detection or by evidence).
    pub flags: u64,
    /// Forged evidence and impostor checkpoints the byzantine node sent.
    pub forgeries: u64,
    /// Checkpoints and evidence that honest nodes refused.
    pub refused: u64,
    /// Whether honest witnesses cosigned checkpoints of both byzantine histories past the fork.
    pub fork_reached_both: bool,
    /// Steps from healing until every liveness condition held.
    pub settled_after_steps: u64,
}

/// A broken invariant, with the seed that replays it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failure {
    pub seed: u64,
    pub step: u64,
    pub invariant: &'static str,
    pub detail: String,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "seed {} failed at step {}: {}: {}\n  replay: {}",
            self.seed,
            self.step,
            self.invariant,
            self.detail,
            replay_command(self.seed)
        )
    }
}

impl std::error::Error for Failure {}

/// Runs the world of `seed` to the end.
pub fn run(seed: u64) -> Result<Report, Failure> {
    let mut rng = StdRng::seed_from_u64(seed);
    let config = Config::random(&mut rng);
    run_with(seed, config, rng)
}

/// The world [`run`] builds for `seed`.
pub fn config(seed: u64) -> Config {
    Config::random(&mut StdRng::seed_from_u64(seed))
}

/// Runs `config` with randomness from `seed`.
pub fn run_config(seed: u64, config: Config) -> Result<Report, Failure> {
    run_with(seed, config, StdRng::seed_from_u64(seed))
}

fn run_with(seed: u64, config: Config, rng: StdRng) -> Result<Report, Failure> {
    let mut sim = Sim::new(seed, config, rng).map_err(|v| v.at(seed, 0))?;
    sim.run().map_err(|v| v.at(seed, sim.step))?;
    Ok(sim.report)
}

/// A broken invariant before the seed and step are attached.
#[derive(Debug)]
struct Violation {
    invariant: &'static str,
    detail: String,
}

impl Violation {
    fn new(invariant: &'static str, detail: impl fmt::Display) -> Violation {
        Violation {
            invariant,
            detail: detail.to_string(),
        }
    }

    fn at(self, seed: u64, step: u64) -> Failure {
        Failure {
            seed,
            step,
            invariant: self.invariant,
            detail: self.detail,
        }
    }
}

type Checked<T = ()> = Result<T, Violation>;

/// A failure of the harness itself (a tree operation that cannot fail on well-formed input).
fn harness<T, E: fmt::Display>(result: Result<T, E>) -> Checked<T> {
    result.map_err(|error| Violation::new("harness", error))
}

// ---------------------------------------------------------------------------------------------
// Messages

/// What simulated nodes send: the witness protocol's messages, plus the replication the node
/// will do with tiles.
#[derive(Clone, Debug, PartialEq, Eq)]
enum SimMessage {
    Gossip(Message),
    /// Leaves `[old size, size)` of the log, with the request to cosign the checkpoint.
    Replicate {
        request: AddCheckpoint,
        leaves: Vec<Hash>,
    },
    /// "I have no checkpoint of this log yet."
    Empty {
        origin: String,
    },
}

impl SimMessage {
    fn encode(&self) -> Checked<Vec<u8>> {
        let mut writer = Writer::new();
        match self {
            SimMessage::Gossip(message) => {
                let bytes = message
                    .encode()
                    .map_err(|e| Violation::new("message limit", e))?;
                writer.u8(1).blob(&bytes);
            }
            SimMessage::Replicate { request, leaves } => {
                if leaves.len() > REPLICATE_LEAVES_MAX {
                    return Err(Violation::new("message limit", "too many leaves"));
                }
                writer.u8(2).blob(&request.to_bytes());
                writer.u32(u32::try_from(leaves.len()).unwrap_or(u32::MAX));
                for leaf in leaves {
                    writer.fixed(leaf.as_bytes());
                }
            }
            SimMessage::Empty { origin } => {
                writer.u8(3).text(origin);
            }
        }
        let bytes = writer.finish();
        if bytes.len() > MESSAGE_SIZE_MAX {
            return Err(Violation::new(
                "message limit",
                format!("{} bytes", bytes.len()),
            ));
        }
        Ok(bytes)
    }

    fn decode(bytes: &[u8]) -> Result<SimMessage, DecodeError> {
        let mut reader = Reader::new(bytes, MESSAGE_SIZE_MAX)?;
        let message = match reader.u8("tag")? {
            1 => SimMessage::Gossip(Message::decode(reader.blob("gossip", MESSAGE_SIZE_MAX)?)?),
            2 => {
                let body = reader.blob("request", ADD_CHECKPOINT_SIZE_MAX)?;
                let request = AddCheckpoint::parse(body)
                    .map_err(|e| DecodeError::invalid("request", e.to_string()))?;
                let count = reader.u32("leaves")? as usize;
                if count > REPLICATE_LEAVES_MAX {
                    return Err(DecodeError::invalid("leaves", "too many"));
                }
                let leaves = (0..count)
                    .map(|_| reader.hash("leaves"))
                    .collect::<Result<_, _>>()?;
                SimMessage::Replicate { request, leaves }
            }
            3 => SimMessage::Empty {
                origin: reader.text("origin", kvitto_tlog::limits::KEY_NAME_SIZE_MAX)?,
            },
            tag => return Err(DecodeError::invalid("tag", format!("unknown tag {tag}"))),
        };
        reader.finish()?;
        Ok(message)
    }
}

// ---------------------------------------------------------------------------------------------
// The world

/// Keys and policies every node knows: the membership.
struct Membership {
    /// Log origin of node `i`.
    origins: Vec<String>,
    log_signers: Vec<Ed25519Signer>,
    log_verifiers: Vec<Ed25519Verifier>,
    /// Witness key of honest node `i`.
    cosigners: Vec<CosignatureSigner>,
    /// Per log: its key, every honest witness but its owner, and a quorum of all of them.
    policies: Vec<Policy>,
    honest: usize,
}

impl Membership {
    fn log_of(&self, origin: &str) -> Option<usize> {
        self.origins.iter().position(|o| o == origin)
    }

    fn nodes(&self) -> usize {
        self.origins.len()
    }

    /// Every log but node `id`'s own.
    fn followed(&self, id: usize) -> impl Iterator<Item = usize> {
        (0..self.nodes()).filter(move |&log| log != id)
    }
}

/// A tree and its leaves: a log's own history, or a mirror of another's.
#[derive(Clone, Debug, Default)]
struct History {
    tree: MemoryTree,
    leaves: Vec<Hash>,
}

impl History {
    fn from_leaves(leaves: &[Hash]) -> Checked<History> {
        let mut history = History::default();
        for &leaf in leaves {
            history.push(leaf)?;
        }
        Ok(history)
    }

    fn push(&mut self, leaf: Hash) -> Checked {
        harness(self.tree.push_leaf_hash(leaf))?;
        self.leaves.push(leaf);
        Ok(())
    }

    fn size(&self) -> u64 {
        self.tree.size()
    }

    fn root_at(&self, size: u64) -> Checked<Hash> {
        harness(root(&self.tree, size))
    }

    fn proof(&self, from: u64, to: u64) -> Checked<ConsistencyProof> {
        if from == 0 {
            return Ok(ConsistencyProof::empty(0));
        }
        let hashes = harness(consistency_proof(&self.tree, from, to))?;
        harness(ConsistencyProof::new(from, hashes))
    }

    fn leaves_from(&self, from: u64) -> Checked<Vec<Hash>> {
        let from = harness(usize::try_from(from))?;
        Ok(self.leaves.get(from..).unwrap_or_default().to_vec())
    }
}

/// What a crash does not lose.
#[derive(Clone, Debug, Default)]
struct Disk {
    states: BTreeMap<String, Vec<u8>>,
    mirrors: BTreeMap<usize, Vec<Hash>>,
    own_leaves: Vec<Hash>,
    own_note: Vec<u8>,
}

struct Honest {
    me: usize,
    own: History,
    witness: Witness,
    mirrors: BTreeMap<usize, History>,
    /// The latest checkpoint of each log this node holds (its own log's, or the one its witness
    /// cosigned), with every valid cosignature it has seen.
    collected: BTreeMap<usize, Note>,
    /// The size each peer was last seen to hold of each log.
    known: BTreeMap<(usize, usize), u64>,
}

/// A log that equivocates, and a node that forges.
struct Byzantine {
    /// Before the fork both histories are equal.
    branches: [History; 2],
    notes: [Note; 2],
    is_forked: bool,
    /// Which history each node is mostly shown.
    side: Vec<usize>,
    /// The size each peer last claimed to hold, of either history.
    known: BTreeMap<usize, u64>,
    /// The last two distinct checkpoints seen of each honest log, to forge with.
    seen: BTreeMap<usize, [Option<Note>; 2]>,
    rng: StdRng,
    equivocation_percent: u32,
    forgery_percent: u32,
}

enum NodeState {
    Down,
    Honest(Box<Honest>),
    Byzantine(Box<Byzantine>),
}

struct Node {
    state: NodeState,
    disk: Disk,
    restart_at: Option<u64>,
}

struct Envelope {
    deliver_at: u64,
    from: usize,
    to: usize,
    bytes: Vec<u8>,
}

/// The independent judge: every history each log signed, and what each witness cosigned.
struct Checker {
    /// Per log, its histories (two for the byzantine log).
    histories: Vec<Vec<History>>,
    /// Per (witness, log): which histories are consistent with everything it cosigned.
    consistent: BTreeMap<(usize, usize), Vec<bool>>,
    flagged: BTreeMap<(usize, usize), u64>,
    byzantine: Option<usize>,
    reached: [bool; 2],
}

impl Checker {
    fn appended(&mut self, log: usize, branch: usize, leaf: Hash) -> Checked {
        match self.histories.get_mut(log).and_then(|h| h.get_mut(branch)) {
            Some(history) => history.push(leaf),
            None => Err(Violation::new("harness", "no such history")),
        }
    }

    /// Which histories contain the tree head `(size, root)`.
    fn matching(&self, log: usize, size: u64, root: &Hash) -> Checked<Vec<bool>> {
        let histories = self
            .histories
            .get(log)
            .map(Vec::as_slice)
            .unwrap_or_default();
        histories
            .iter()
            .map(|h| Ok(h.size() >= size && h.root_at(size)? == *root))
            .collect()
    }

    fn cosigned(&mut self, witness: usize, log: usize, checkpoint: &Checkpoint) -> Checked {
        if self.flagged.contains_key(&(witness, log)) {
            return Err(Violation::new(
                "no cosignature after a flag",
                format!(
                    "node {witness} cosigned log {log} at size {}",
                    checkpoint.size()
                ),
            ));
        }
        let matching = self.matching(log, checkpoint.size(), checkpoint.root())?;
        if !matching.contains(&true) {
            return Err(Violation::new(
                "cosigned only what the log signed",
                format!(
                    "node {witness} cosigned log {log} at size {}",
                    checkpoint.size()
                ),
            ));
        }
        let consistent = self
            .consistent
            .entry((witness, log))
            .or_insert_with(|| vec![true; matching.len()]);
        for (is_consistent, matches) in consistent.iter_mut().zip(&matching) {
            *is_consistent &= matches;
        }
        if !consistent.contains(&true) {
            return Err(Violation::new(
                "no inconsistent cosignatures",
                format!(
                    "node {witness} cosigned log {log} at size {}, inconsistent with an earlier cosignature",
                    checkpoint.size()
                ),
            ));
        }
        if Some(log) == self.byzantine {
            match matching.as_slice() {
                [true, false] => self.reached[0] = true,
                [false, true] => self.reached[1] = true,
                _ => {}
            }
        }
        Ok(())
    }

    fn flagged(&mut self, witness: usize, log: usize, step: u64) -> Checked {
        if Some(log) != self.byzantine {
            return Err(Violation::new(
                "honest logs are never flagged",
                format!("node {witness} flagged log {log}"),
            ));
        }
        self.flagged.entry((witness, log)).or_insert(step);
        Ok(())
    }

    fn reached_both(&self) -> bool {
        self.reached == [true, true]
    }
}

/// What a handler needs besides its node.
struct Env<'a> {
    step: u64,
    members: &'a Membership,
    checker: &'a mut Checker,
    report: &'a mut Report,
    /// Messages to send, each to its recipients; encoded once per entry.
    out: Vec<(Vec<usize>, SimMessage)>,
}

impl Env<'_> {
    fn now_secs(&self) -> u64 {
        BASE_TIME_SECS + self.step
    }

    fn send(&mut self, to: usize, message: SimMessage) {
        self.out.push((vec![to], message));
    }

    fn send_to(&mut self, recipients: &[usize], message: SimMessage) {
        self.out.push((recipients.to_vec(), message));
    }

    fn broadcast(&mut self, from: usize, message: SimMessage) {
        let peers: Vec<usize> = (0..self.members.nodes()).filter(|&p| p != from).collect();
        self.out.push((peers, message));
    }
}

struct Sim {
    config: Config,
    rng: StdRng,
    step: u64,
    members: Membership,
    nodes: Vec<Node>,
    queue: Vec<Envelope>,
    /// `blocked[a][b]`: messages from `a` to `b` are lost.
    blocked: Vec<Vec<bool>>,
    partition_ends_at: Option<u64>,
    checker: Checker,
    report: Report,
}

impl Sim {
    fn new(seed: u64, config: Config, mut rng: StdRng) -> Checked<Sim> {
        let honest = config.honest_nodes;
        let total = honest + usize::from(config.byzantine);
        let mut origins = Vec::new();
        let mut log_signers = Vec::new();
        let mut cosigners = Vec::new();
        for id in 0..total {
            let origin = format!("sim.kvitto.example/log{id}");
            log_signers.push(harness(Ed25519Signer::from_seed(&origin, &rng.gen()))?);
            origins.push(origin);
            cosigners.push(harness(CosignatureSigner::from_seed(
                &format!("sim.kvitto.example/witness{id}"),
                &rng.gen(),
            ))?);
        }
        let log_verifiers: Vec<Ed25519Verifier> =
            log_signers.iter().map(Ed25519Signer::verifier).collect();
        let mut policies = Vec::new();
        for (log, verifier) in log_verifiers.iter().enumerate() {
            let mut text = format!("log {verifier}\n");
            let witnesses: Vec<usize> = (0..honest).filter(|&w| w != log).collect();
            for &w in &witnesses {
                text.push_str(&format!("witness w{w} {}\n", cosigners[w].verifier()));
            }
            let names: Vec<String> = witnesses.iter().map(|w| format!("w{w}")).collect();
            text.push_str(&format!(
                "group honest all {}\nquorum honest\n",
                names.join(" ")
            ));
            policies.push(harness(Policy::parse(&text))?);
        }
        let members = Membership {
            origins,
            log_signers,
            log_verifiers,
            cosigners,
            policies,
            honest,
        };
        let checker = Checker {
            histories: (0..total)
                .map(|log| {
                    let branches = if log < honest { 1 } else { 2 };
                    vec![History::default(); branches]
                })
                .collect(),
            consistent: BTreeMap::new(),
            flagged: BTreeMap::new(),
            byzantine: config.byzantine.then_some(honest),
            reached: [false; 2],
        };
        let mut nodes = Vec::new();
        for id in 0..total {
            let empty = sign(&members, id, &History::default())?;
            let disk = Disk {
                own_note: empty.to_string().into_bytes(),
                ..Disk::default()
            };
            let state = if id < honest {
                NodeState::Honest(Box::new(restore(&members, id, &disk)?))
            } else {
                // Each half of the honest nodes is shown one history; at least one node each.
                let mut side: Vec<usize> = (0..total).map(|n| n % 2).collect();
                side.shuffle(&mut rng);
                NodeState::Byzantine(Box::new(Byzantine {
                    branches: [History::default(), History::default()],
                    notes: [empty.clone(), empty],
                    is_forked: false,
                    side,
                    known: BTreeMap::new(),
                    seen: BTreeMap::new(),
                    rng: StdRng::seed_from_u64(rng.gen()),
                    equivocation_percent: config.equivocation_percent,
                    forgery_percent: config.forgery_percent,
                }))
            };
            nodes.push(Node {
                state,
                disk,
                restart_at: None,
            });
        }
        let report = Report {
            seed,
            honest_nodes: honest,
            byzantine: config.byzantine,
            ..Report::default()
        };
        Ok(Sim {
            config,
            rng,
            step: 0,
            members,
            nodes,
            queue: Vec::new(),
            blocked: vec![vec![false; total]; total],
            partition_ends_at: None,
            checker,
            report,
        })
    }

    fn run(&mut self) -> Checked {
        let heal_step = self.config.safety_steps;
        let end = heal_step + self.config.liveness_steps_max;
        let stable_steps = 3 * self.config.announce_interval_steps + self.config.delay_steps_max;
        let mut stable_since: Option<u64> = None;
        for step in 0..end {
            self.step = step;
            self.report.steps = step + 1;
            let is_safety = step < heal_step;
            if step == heal_step {
                self.heal()?;
            }
            if is_safety {
                self.faults()?;
                self.grow()?;
            }
            self.restarts()?;
            self.announce(is_safety)?;
            self.deliver(is_safety)?;
            self.check_nodes()?;
            if is_safety {
                continue;
            }
            if self.lagging_node().is_some() {
                stable_since = None;
                continue;
            }
            let since = *stable_since.get_or_insert(step);
            if step >= since + stable_steps && self.is_witnessed()? {
                self.report.settled_after_steps = since - heal_step;
                self.report.fork_reached_both = self.checker.reached_both();
                return Ok(());
            }
        }
        Err(Violation::new(
            "convergence after healing",
            format!(
                "not settled {} steps after healing: {}",
                self.config.liveness_steps_max,
                self.lagging()
            ),
        ))
    }

    fn env(&mut self) -> (Env<'_>, &mut Vec<Node>) {
        (
            Env {
                step: self.step,
                members: &self.members,
                checker: &mut self.checker,
                report: &mut self.report,
                out: Vec::new(),
            },
            &mut self.nodes,
        )
    }

    /// Runs `handle` on node `id` and sends what it queued.
    fn with_node(
        &mut self,
        id: usize,
        is_safety: bool,
        handle: impl FnOnce(&mut Node, &mut Env<'_>) -> Checked,
    ) -> Checked {
        let (mut env, nodes) = self.env();
        let node = nodes
            .get_mut(id)
            .ok_or_else(|| Violation::new("harness", "no such node"))?;
        handle(node, &mut env)?;
        let out = env.out;
        for (recipients, message) in out {
            let bytes = message.encode()?;
            for to in recipients {
                self.send(id, to, &bytes, is_safety)?;
            }
        }
        Ok(())
    }

    fn send(&mut self, from: usize, to: usize, bytes: &[u8], is_safety: bool) -> Checked {
        self.report.messages_sent += 1;
        if self.blocked[from][to] || (is_safety && self.percent(self.config.drop_percent)) {
            self.report.messages_dropped += 1;
            return Ok(());
        }
        let copies = if is_safety && self.percent(self.config.duplicate_percent) {
            self.report.messages_duplicated += 1;
            2
        } else {
            1
        };
        for _ in 0..copies {
            let delay = self.rng.gen_range(1..=self.config.delay_steps_max);
            self.queue.push(Envelope {
                deliver_at: self.step + delay,
                from,
                to,
                bytes: bytes.to_vec(),
            });
        }
        Ok(())
    }

    fn percent(&mut self, percent: u32) -> bool {
        self.rng.gen_range(0..100) < percent
    }

    fn per_mille(&mut self, per_mille: u32) -> bool {
        self.rng.gen_range(0..1000) < per_mille
    }

    fn deliver(&mut self, is_safety: bool) -> Checked {
        let step = self.step;
        let (mut due, later): (Vec<Envelope>, Vec<Envelope>) = std::mem::take(&mut self.queue)
            .into_iter()
            .partition(|e| e.deliver_at <= step);
        self.queue = later;
        due.shuffle(&mut self.rng);
        for envelope in due {
            let is_down = matches!(self.nodes[envelope.to].state, NodeState::Down);
            if self.blocked[envelope.from][envelope.to] || is_down {
                self.report.messages_dropped += 1;
                continue;
            }
            let message = SimMessage::decode(&envelope.bytes)
                .map_err(|e| Violation::new("messages decode", e))?;
            self.report.messages_delivered += 1;
            let from = envelope.from;
            self.with_node(envelope.to, is_safety, |node, env| match &mut node.state {
                NodeState::Down => Ok(()),
                NodeState::Honest(honest) => honest.receive(&mut node.disk, env, from, message),
                NodeState::Byzantine(byzantine) => byzantine.receive(env, from, message),
            })?;
        }
        Ok(())
    }

    fn announce(&mut self, is_safety: bool) -> Checked {
        let total = self.members.nodes();
        for id in 0..total {
            if !(self.step + id as u64).is_multiple_of(self.config.announce_interval_steps) {
                continue;
            }
            let mut peers: Vec<usize> = (0..total).filter(|&p| p != id).collect();
            if is_safety {
                peers.shuffle(&mut self.rng);
                peers.truncate(self.config.announce_fanout);
            }
            self.with_node(id, is_safety, |node, env| {
                match &mut node.state {
                    NodeState::Down => {}
                    NodeState::Honest(honest) => {
                        for log in 0..env.members.nodes() {
                            let status = honest.status(env.members, log);
                            env.send_to(&peers, status);
                        }
                    }
                    NodeState::Byzantine(byzantine) => {
                        for &peer in &peers {
                            let branch = byzantine.branch_for(peer);
                            let note = byzantine.notes[branch].clone();
                            env.send(peer, SimMessage::Gossip(Message::Checkpoint(note)));
                            byzantine.forge(env, peer)?;
                        }
                    }
                }
                Ok(())
            })?;
        }
        Ok(())
    }

    /// Logs grow: each up log with some chance appends a few leaves and signs a checkpoint.
    fn grow(&mut self) -> Checked {
        if self.config.fork_step == Some(self.step) {
            self.fork();
        }
        for id in 0..self.members.nodes() {
            if !self.percent(self.config.append_percent) {
                continue;
            }
            // Two batches: the byzantine log's histories grow apart, in content and in size.
            let counts = [
                self.rng.gen_range(1..=3usize),
                self.rng.gen_range(0..=3usize),
            ];
            let leaves: Vec<Vec<Hash>> = counts
                .iter()
                .map(|&count| {
                    (0..count)
                        .map(|_| leaf_hash(&self.rng.gen::<[u8; 16]>()))
                        .collect()
                })
                .collect();
            let size_max = self.config.log_size_max;
            self.with_node(id, true, |node, env| match &mut node.state {
                NodeState::Down => Ok(()),
                NodeState::Honest(honest) => {
                    honest.append(&mut node.disk, env, &leaves[0], size_max)
                }
                NodeState::Byzantine(byzantine) => byzantine.append(env, &leaves, size_max),
            })?;
        }
        Ok(())
    }

    /// The byzantine log starts its second history, perhaps cutting the honest halves apart.
    fn fork(&mut self) {
        let Some(NodeState::Byzantine(byzantine)) = self
            .nodes
            .get_mut(self.members.honest)
            .map(|n| &mut n.state)
        else {
            return;
        };
        byzantine.is_forked = true;
        if !self.config.fork_partition {
            return;
        }
        let side = byzantine.side.clone();
        let honest = self.members.honest;
        for a in 0..honest {
            for b in 0..honest {
                self.blocked[a][b] = side[a] != side[b];
            }
        }
        self.report.partitions += 1;
        self.partition_ends_at = Some(self.step + self.config.partition_steps_max);
    }

    fn faults(&mut self) -> Checked {
        if self.partition_ends_at == Some(self.step) {
            self.clear_partition();
        }
        if self.partition_ends_at.is_none() && self.per_mille(self.config.partition_per_mille) {
            let total = self.members.nodes();
            let groups: Vec<bool> = (0..total).map(|_| self.rng.gen_bool(0.5)).collect();
            for a in 0..total {
                for b in 0..total {
                    self.blocked[a][b] = groups[a] != groups[b];
                }
            }
            self.report.partitions += 1;
            let length = self.rng.gen_range(1..=self.config.partition_steps_max);
            self.partition_ends_at = Some(self.step + length);
        }
        let honest = self.members.honest;
        let down = self.nodes[..honest]
            .iter()
            .filter(|n| matches!(n.state, NodeState::Down))
            .count();
        if down < honest / 2 + 1 && self.per_mille(self.config.crash_per_mille) {
            let id = self.rng.gen_range(0..honest);
            if !matches!(self.nodes[id].state, NodeState::Down) {
                self.nodes[id].state = NodeState::Down;
                let length = self.rng.gen_range(1..=self.config.down_steps_max);
                self.nodes[id].restart_at = Some(self.step + length);
                self.report.crashes += 1;
            }
        }
        Ok(())
    }

    fn clear_partition(&mut self) {
        for row in &mut self.blocked {
            row.fill(false);
        }
        self.partition_ends_at = None;
    }

    fn restarts(&mut self) -> Checked {
        for id in 0..self.members.honest {
            let node = &mut self.nodes[id];
            if node.restart_at.is_some_and(|at| at <= self.step) {
                node.state = NodeState::Honest(Box::new(restore(&self.members, id, &node.disk)?));
                node.restart_at = None;
            }
        }
        Ok(())
    }

    fn heal(&mut self) -> Checked {
        self.clear_partition();
        for node in &mut self.nodes {
            if node.restart_at.is_some() {
                node.restart_at = Some(self.step);
            }
        }
        Ok(())
    }

    /// Per-step invariants of every up honest node.
    fn check_nodes(&self) -> Checked {
        for (id, node) in self.nodes.iter().enumerate() {
            let NodeState::Honest(honest) = &node.state else {
                continue;
            };
            for log in self.members.followed(id) {
                let origin = &self.members.origins[log];
                let state = honest
                    .witness
                    .state(origin)
                    .ok_or_else(|| Violation::new("harness", "log not followed"))?;
                if state.is_flagged() && log < self.members.honest {
                    return Err(Violation::new(
                        "honest logs are never flagged",
                        format!("node {id} flagged log {log}"),
                    ));
                }
                let mirror = honest.mirrors.get(&log);
                let (mirror_size, mirror_root) = match mirror {
                    Some(mirror) => (mirror.size(), mirror.tree.root()),
                    None => (0, kvitto_tlog::merkle::EMPTY_ROOT),
                };
                let (size, root) = match state.latest() {
                    Some(latest) => (latest.checkpoint().size(), *latest.checkpoint().root()),
                    None => (0, kvitto_tlog::merkle::EMPTY_ROOT),
                };
                if (size, root) != (mirror_size, mirror_root) {
                    return Err(Violation::new(
                        "witness and mirror agree",
                        format!("node {id} log {log}: witness at {size}, mirror at {mirror_size}"),
                    ));
                }
            }
        }
        Ok(())
    }

    fn lagging(&self) -> String {
        match self.lagging_node() {
            Some(lag) => lag,
            None => "every checkpoint held, but not cosigned by the quorum".to_owned(),
        }
    }

    /// Who is not settled yet, if anyone: every honest witness must hold every honest log's
    /// latest checkpoint, and every honest node must have flagged the byzantine log if both its
    /// histories reached honest witnesses.
    fn lagging_node(&self) -> Option<String> {
        let honest = self.members.honest;
        for owner in 0..honest {
            let NodeState::Honest(owner_node) = &self.nodes[owner].state else {
                return Some(format!("node {owner} is down"));
            };
            let target = (owner_node.own.size(), owner_node.own.tree.root());
            for (id, node) in self.nodes[..honest].iter().enumerate() {
                if id == owner {
                    continue;
                }
                let NodeState::Honest(node) = &node.state else {
                    return Some(format!("node {id} is down"));
                };
                let held = node
                    .witness
                    .state(&self.members.origins[owner])
                    .and_then(LogState::latest)
                    .map(|l| (l.checkpoint().size(), *l.checkpoint().root()));
                if held != Some(target) {
                    return Some(format!(
                        "node {id} holds log {owner} at {:?}, the log is at size {}",
                        held.map(|(size, _)| size),
                        target.0
                    ));
                }
            }
        }
        if let (Some(byzantine), true) = (self.checker.byzantine, self.checker.reached_both()) {
            for (id, node) in self.nodes[..honest].iter().enumerate() {
                let NodeState::Honest(node) = &node.state else {
                    return Some(format!("node {id} is down"));
                };
                let origin = &self.members.origins[byzantine];
                if !node.witness.state(origin).is_some_and(LogState::is_flagged) {
                    return Some(format!("node {id} has not detected the split view"));
                }
            }
        }
        None
    }

    /// Whether every honest log holds its latest checkpoint cosigned by a quorum of the other
    /// honest nodes under its policy: what its receipts carry.
    fn is_witnessed(&self) -> Checked<bool> {
        for (log, node) in self.nodes[..self.members.honest].iter().enumerate() {
            let NodeState::Honest(node) = &node.state else {
                return Ok(false);
            };
            let Some(note) = node.collected.get(&log) else {
                return Ok(false);
            };
            if !is_witnessed(&self.members.policies[log], note) {
                return Ok(false);
            }
        }
        Ok(true)
    }
}

/// The checkpoint of `history` signed by log `id`.
fn sign(members: &Membership, id: usize, history: &History) -> Checked<Note> {
    let checkpoint = harness(Checkpoint::new(
        members.origins[id].clone(),
        history.size(),
        history.tree.root(),
        Vec::new(),
    ))?;
    harness(checkpoint.sign(&members.log_signers[id]))
}

/// An honest node as it comes up from `disk`: its own log, its witness state (verified again),
/// and mirrors that must match the witness state exactly.
fn restore(members: &Membership, id: usize, disk: &Disk) -> Checked<Honest> {
    let disk_error = |what: &str, e: &dyn fmt::Display| {
        Violation::new(
            "restart restores what was persisted",
            format!("node {id}: {what}: {e}"),
        )
    };
    let states = disk
        .states
        .values()
        .map(|bytes| LogState::decode(bytes))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| disk_error("state", &e))?;
    let followed = members
        .followed(id)
        .map(|log| members.log_verifiers[log].clone());
    let witness = Witness::restore(members.cosigners[id].clone(), followed, states)
        .map_err(|e| disk_error("witness", &e))?;
    let own = History::from_leaves(&disk.own_leaves)?;
    let own_note = Note::parse(&disk.own_note).map_err(|e| disk_error("own note", &e))?;
    let own_checkpoint = Checkpoint::open(&disk.own_note, &members.log_verifiers[id])
        .map_err(|e| disk_error("own note", &e))?
        .checkpoint;
    if (own_checkpoint.size(), *own_checkpoint.root()) != (own.size(), own.tree.root()) {
        return Err(disk_error("own log", &"checkpoint is not the tree's"));
    }
    let mut collected = BTreeMap::from([(id, own_note)]);
    let mut mirrors = BTreeMap::new();
    for log in members.followed(id) {
        let history = History::from_leaves(
            disk.mirrors
                .get(&log)
                .map(Vec::as_slice)
                .unwrap_or_default(),
        )?;
        let latest = witness
            .state(&members.origins[log])
            .and_then(LogState::latest);
        let held = latest.map_or((0, kvitto_tlog::merkle::EMPTY_ROOT), |l| {
            (l.checkpoint().size(), *l.checkpoint().root())
        });
        if held != (history.size(), history.tree.root()) {
            return Err(disk_error(
                "mirror",
                &format!("log {log} differs from the witness state"),
            ));
        }
        if let Some(latest) = latest {
            collected.insert(log, latest.note().clone());
        }
        mirrors.insert(log, history);
    }
    Ok(Honest {
        me: id,
        own,
        witness,
        mirrors,
        collected,
        known: BTreeMap::new(),
    })
}

/// The origin line of a note.
fn origin_of(note: &Note) -> &str {
    note.text().split('\n').next().unwrap_or_default()
}

impl Honest {
    fn status(&self, members: &Membership, log: usize) -> SimMessage {
        let origin = members.origins[log].clone();
        if let Some(evidence) = self.witness.state(&origin).and_then(LogState::split_view) {
            return SimMessage::Gossip(Message::SplitView(evidence.clone()));
        }
        match self.collected.get(&log) {
            Some(note) => SimMessage::Gossip(Message::Checkpoint(note.clone())),
            None => SimMessage::Empty { origin },
        }
    }

    fn history(&self, me: usize, log: usize) -> Option<&History> {
        match log == me {
            true => Some(&self.own),
            false => self.mirrors.get(&log),
        }
    }

    /// Sends `peer` the leaves of `log` from `from` with a request to cosign the latest
    /// checkpoint.
    fn replicate(
        &mut self,
        env: &mut Env<'_>,
        me: usize,
        peer: usize,
        log: usize,
        from: u64,
    ) -> Checked {
        let (Some(history), Some(note)) = (self.history(me, log), self.collected.get(&log)) else {
            return Ok(());
        };
        // A peer with nothing is sent even the empty tree's checkpoint, to cosign it.
        if from > history.size() || (from == history.size() && from > 0) {
            return Ok(());
        }
        let proof = history.proof(from, history.size())?;
        let leaves = history.leaves_from(from)?;
        let request = harness(AddCheckpoint::new(proof, note.clone()))?;
        self.known.insert((peer, log), from);
        env.send(peer, SimMessage::Replicate { request, leaves });
        Ok(())
    }

    fn append(
        &mut self,
        disk: &mut Disk,
        env: &mut Env<'_>,
        leaves: &[Hash],
        size_max: u64,
    ) -> Checked {
        let me = self.me;
        let room = size_max.saturating_sub(self.own.size());
        let leaves = &leaves[..leaves.len().min(room as usize)];
        if leaves.is_empty() {
            return Ok(());
        }
        for &leaf in leaves {
            self.own.push(leaf)?;
            env.checker.appended(me, 0, leaf)?;
        }
        let note = sign(env.members, me, &self.own)?;
        // Persist, then publish.
        disk.own_leaves = self.own.leaves.clone();
        disk.own_note = note.to_string().into_bytes();
        self.collected.insert(me, note);
        env.report.checkpoints_signed += 1;
        for peer in 0..env.members.nodes() {
            if peer != me {
                let from = self.known.get(&(peer, me)).copied().unwrap_or(0);
                self.replicate(env, me, peer, me, from)?;
            }
        }
        Ok(())
    }

    fn receive(
        &mut self,
        disk: &mut Disk,
        env: &mut Env<'_>,
        from: usize,
        message: SimMessage,
    ) -> Checked {
        let me = self.me;
        match message {
            SimMessage::Gossip(Message::Checkpoint(note)) => {
                self.on_checkpoint(disk, env, me, from, note)
            }
            SimMessage::Gossip(Message::SplitView(evidence)) => {
                self.on_evidence(disk, env, me, &evidence)
            }
            SimMessage::Gossip(Message::AddCheckpoint(_)) => Ok(()),
            SimMessage::Replicate { request, leaves } => {
                self.on_replicate(disk, env, me, from, request, leaves)
            }
            SimMessage::Empty { origin } => {
                let Some(log) = env.members.log_of(&origin) else {
                    return Ok(());
                };
                match self
                    .witness
                    .state(&origin)
                    .is_some_and(LogState::is_flagged)
                {
                    true => {
                        let status = self.status(env.members, log);
                        env.send(from, status);
                        Ok(())
                    }
                    false => self.replicate(env, me, from, log, 0),
                }
            }
        }
    }

    fn on_checkpoint(
        &mut self,
        disk: &mut Disk,
        env: &mut Env<'_>,
        me: usize,
        from: usize,
        note: Note,
    ) -> Checked {
        let Some(log) = env.members.log_of(origin_of(&note)) else {
            return Ok(());
        };
        let origin = env.members.origins[log].clone();
        if self
            .witness
            .state(&origin)
            .is_some_and(LogState::is_flagged)
        {
            let status = self.status(env.members, log);
            env.send(from, status);
            return Ok(());
        }
        if let Some(mine) = self.collected.get_mut(&log) {
            if mine.text() == note.text() {
                // A log collects the cosignatures on its own checkpoints, for its receipts.
                if log == me {
                    harness(merge_cosignatures(&env.members.policies[log], mine, &note))?;
                }
                self.known
                    .insert((from, log), self.history(me, log).map_or(0, History::size));
                return Ok(());
            }
        }
        // Only parsed: replying with this node's status or replicating to the sender needs no
        // trust in the note, and the witness verifies every note it acts on.
        let Ok(checkpoint) = Checkpoint::parse(note.text()) else {
            return Ok(());
        };
        let (size, root) = (checkpoint.size(), *checkpoint.root());
        let my_size = self.history(me, log).map_or(0, History::size);
        if size > my_size {
            if log != me {
                let status = self.status(env.members, log);
                env.send(from, status);
            }
            return Ok(());
        }
        let prefix = match self.history(me, log) {
            Some(history) => history.root_at(size)?,
            None => kvitto_tlog::merkle::EMPTY_ROOT,
        };
        if prefix == root {
            self.known.insert((from, log), size);
            return self.replicate(env, me, from, log, size);
        }
        let bytes = note.to_string();
        if Checkpoint::open(bytes.as_bytes(), &env.members.log_verifiers[log]).is_err() {
            return Ok(());
        }
        if log == me {
            return Err(Violation::new(
                "honest logs sign one history",
                format!("node {me} received a checkpoint of its own log that it did not sign"),
            ));
        }
        if size == my_size {
            let outcome = self.witness.observe(
                &origin,
                bytes.as_bytes(),
                &ConsistencyProof::empty(size),
                env.now_secs(),
            );
            return self.settle(disk, env, me, log, outcome, None);
        }
        // The sender's checkpoint contradicts this node's mirror: convict with a proof from it.
        let (Some(history), Some(mine)) = (self.mirrors.get(&log), self.collected.get(&log)) else {
            return Err(Violation::new("harness", "mirror without a checkpoint"));
        };
        let proof = history.proof(size, my_size)?;
        let evidence = SplitView::inconsistent(
            &env.members.log_verifiers[log],
            &note,
            mine,
            prefix,
            proof.hashes().to_vec(),
        )
        .map_err(|e| Violation::new("mirror evidence verifies", e))?;
        self.accept(disk, env, me, log, &evidence)
    }

    fn on_evidence(
        &mut self,
        disk: &mut Disk,
        env: &mut Env<'_>,
        me: usize,
        evidence: &SplitView,
    ) -> Checked {
        let Some(log) = env.members.log_of(evidence.origin()) else {
            return Ok(());
        };
        if log == me {
            return match evidence.verify(&env.members.log_verifiers[log]) {
                Ok(_) => Err(Violation::new(
                    "honest logs are never convicted",
                    format!("log {me}"),
                )),
                Err(_) => Ok(()),
            };
        }
        self.accept(disk, env, me, log, evidence)
    }

    fn accept(
        &mut self,
        disk: &mut Disk,
        env: &mut Env<'_>,
        me: usize,
        log: usize,
        evidence: &SplitView,
    ) -> Checked {
        let Ok(outcome) = self.witness.accept_evidence(evidence) else {
            // Forged; honest evidence that fails to verify shows up as a split view that
            // is never detected everywhere.
            env.report.refused += 1;
            return Ok(());
        };
        if let EvidenceOutcome::Flagged { state, evidence } = outcome {
            disk.states
                .insert(state.origin().to_owned(), state.encode());
            env.checker.flagged(me, log, env.step)?;
            env.report.flags += 1;
            env.broadcast(me, SimMessage::Gossip(Message::SplitView(evidence)));
        }
        Ok(())
    }

    fn on_replicate(
        &mut self,
        disk: &mut Disk,
        env: &mut Env<'_>,
        me: usize,
        from: usize,
        request: AddCheckpoint,
        leaves: Vec<Hash>,
    ) -> Checked {
        let Some(log) = request.origin().and_then(|o| env.members.log_of(o)) else {
            return Ok(());
        };
        if log == me {
            return Ok(());
        }
        let origin = env.members.origins[log].clone();
        let Ok(checkpoint) = Checkpoint::parse(request.note().text()) else {
            return Ok(());
        };
        let mirror = self.mirrors.get(&log).cloned().unwrap_or_default();
        let (size, start, my_size) = (checkpoint.size(), request.proof().old_size(), mirror.size());
        // A flagged log's leaves still go to the witness, which must refuse them.
        let latest = self.witness.state(&origin).and_then(LogState::latest);
        if size <= my_size && latest.is_some() {
            return self.on_checkpoint(disk, env, me, from, request.note().clone());
        }
        if leaves.len() as u64 != size - start.min(size) {
            return Err(Violation::new("replication is well formed", "leaf count"));
        }
        if start > my_size {
            let status = self.status(env.members, log);
            env.send(from, status);
            return Ok(());
        }
        let mut extended = mirror;
        for &leaf in leaves
            .get(harness(usize::try_from(my_size - start))?..)
            .unwrap_or_default()
        {
            extended.push(leaf)?;
        }
        let bytes = request.note().to_string();
        if extended.tree.root() != *checkpoint.root() {
            if start != my_size {
                let status = self.status(env.members, log);
                env.send(from, status);
                return Ok(());
            }
            let outcome =
                self.witness
                    .observe(&origin, bytes.as_bytes(), request.proof(), env.now_secs());
            if let Err(WitnessError::InvalidProof(_) | WitnessError::Flagged { .. }) = outcome {
                // The proof cannot show a split view from here, but the sender's mirror can;
                // or the log is flagged already and the sender gets the evidence.
                let status = self.status(env.members, log);
                env.send(from, status);
                return Ok(());
            }
            return self.settle(disk, env, me, log, outcome, None);
        }
        let proof = match start == my_size {
            true => request.proof().clone(),
            false => extended.proof(my_size, size)?,
        };
        let outcome = self
            .witness
            .observe(&origin, bytes.as_bytes(), &proof, env.now_secs());
        if let Err(WitnessError::Flagged { .. }) = outcome {
            let status = self.status(env.members, log);
            env.send(from, status);
            return Ok(());
        }
        self.settle(disk, env, me, log, outcome, Some(extended))
    }

    /// Persists and sends what an observation decided. `extended` is the mirror that
    /// reproduced the checkpoint, if one did; only then may the witness have cosigned.
    fn settle(
        &mut self,
        disk: &mut Disk,
        env: &mut Env<'_>,
        me: usize,
        log: usize,
        outcome: Result<Outcome, WitnessError>,
        extended: Option<History>,
    ) -> Checked {
        let outcome = match outcome {
            Ok(outcome) => outcome,
            Err(WitnessError::Checkpoint(_)) => {
                // An impostor's signature.
                env.report.refused += 1;
                return Ok(());
            }
            Err(e) => return Err(Violation::new("well-formed checkpoints are accepted", e)),
        };
        match (outcome, extended) {
            (Outcome::Advanced { state, cosigned }, Some(mirror)) => {
                env.checker.cosigned(me, log, &cosigned.checkpoint)?;
                env.report.cosignatures += 1;
                // The witness state and the mirror are persisted together, atomically.
                disk.states
                    .insert(state.origin().to_owned(), state.encode());
                disk.mirrors.insert(log, mirror.leaves.clone());
                self.mirrors.insert(log, mirror);
                let note = cosigned.note;
                self.collected.insert(log, note.clone());
                env.broadcast(me, SimMessage::Gossip(Message::Checkpoint(note)));
                Ok(())
            }
            (Outcome::SplitView { state, evidence }, _) => {
                disk.states
                    .insert(state.origin().to_owned(), state.encode());
                env.checker.flagged(me, log, env.step)?;
                env.report.flags += 1;
                env.broadcast(me, SimMessage::Gossip(Message::SplitView(evidence)));
                Ok(())
            }
            (outcome, _) => Err(Violation::new(
                "witness and mirror agree",
                format!("node {me} log {log}: unexpected {outcome:?}"),
            )),
        }
    }
}

impl Byzantine {
    fn append(&mut self, env: &mut Env<'_>, leaves: &[Vec<Hash>], size_max: u64) -> Checked {
        let me = env.members.honest;
        let mut is_grown = false;
        for branch in 0..2 {
            // Before the fork both histories get the first batch; after it, one batch each.
            let batch = match self.is_forked {
                true => leaves.get(branch),
                false => leaves.first(),
            };
            let room = size_max.saturating_sub(self.branches[branch].size());
            let batch = batch.map(Vec::as_slice).unwrap_or_default();
            let batch = &batch[..batch.len().min(room as usize)];
            for &leaf in batch {
                self.branches[branch].push(leaf)?;
                env.checker.appended(me, branch, leaf)?;
            }
            if !batch.is_empty() {
                self.notes[branch] = sign(env.members, me, &self.branches[branch])?;
                is_grown = true;
            }
        }
        if !is_grown {
            return Ok(());
        }
        env.report.checkpoints_signed += 1;
        for peer in 0..env.members.honest {
            let from = self.known.get(&peer).copied().unwrap_or(0);
            self.replicate(env, peer, from)?;
        }
        Ok(())
    }

    /// The history to show `peer`: its half's, or now and then the other one.
    fn branch_for(&mut self, peer: usize) -> usize {
        let side = self.side.get(peer).copied().unwrap_or(0);
        match self.rng.gen_range(0..100) < self.equivocation_percent {
            true => 1 - side,
            false => side,
        }
    }

    /// Sends `peer` the leaves of one history from `from`, with a proof from `from`: for a
    /// peer on the other history, a proof its witness must refuse.
    fn replicate(&mut self, env: &mut Env<'_>, peer: usize, from: u64) -> Checked {
        let branch = self.branch_for(peer);
        let history = &self.branches[branch];
        if from > history.size() || (from == history.size() && from > 0) {
            return Ok(());
        }
        let proof = history.proof(from, history.size())?;
        let leaves = history.leaves_from(from)?;
        let request = harness(AddCheckpoint::new(proof, self.notes[branch].clone()))?;
        self.known.insert(peer, from);
        env.send(peer, SimMessage::Replicate { request, leaves });
        Ok(())
    }

    /// Serves peers its histories, from whatever size they claim; remembers honest logs'
    /// checkpoints to forge with.
    fn receive(&mut self, env: &mut Env<'_>, from: usize, message: SimMessage) -> Checked {
        let me = env.members.honest;
        let SimMessage::Gossip(Message::Checkpoint(note)) = message else {
            return match message {
                SimMessage::Empty { origin } if origin == env.members.origins[me] => {
                    self.known.insert(from, 0);
                    self.replicate(env, from, 0)
                }
                _ => Ok(()),
            };
        };
        let Some(log) = env.members.log_of(origin_of(&note)) else {
            return Ok(());
        };
        let Ok(checkpoint) = Checkpoint::parse(note.text()) else {
            return Ok(());
        };
        if log != me {
            let seen = self.seen.entry(log).or_default();
            if seen[1]
                .as_ref()
                .is_none_or(|latest| latest.text() != note.text())
            {
                *seen = [seen[1].take(), Some(note)];
            }
            return Ok(());
        }
        self.known.insert(from, checkpoint.size());
        self.replicate(env, from, checkpoint.size())
    }

    /// Now and then sends `peer` a forgery: evidence against an honest log from two of its
    /// consistent checkpoints, or a checkpoint of an honest log signed with this node's key.
    fn forge(&mut self, env: &mut Env<'_>, peer: usize) -> Checked {
        if self.rng.gen_range(0..100) >= self.forgery_percent {
            return Ok(());
        }
        let logs: Vec<usize> = self.seen.keys().copied().collect();
        let Some(&log) = logs.get(self.rng.gen_range(0..logs.len().max(1))) else {
            return Ok(());
        };
        let origin = env.members.origins[log].clone();
        let seen = self.seen.get(&log).cloned().unwrap_or_default();
        let [Some(older), Some(newer)] = seen else {
            let Some(newer) = seen[1].clone() else {
                return Ok(());
            };
            return self.impostor(env, peer, &origin, &newer);
        };
        if self.rng.gen_bool(0.5) {
            return self.impostor(env, peer, &origin, &newer);
        }
        let proof = (0..self.rng.gen_range(0..4))
            .map(|_| Hash(self.rng.gen()))
            .collect();
        let strip = |note: &Note| -> Checked<Note> {
            let mut stripped = harness(Note::new(note.text()))?;
            if let Some(signature) = note.signatures().first() {
                harness(stripped.push_signature(signature.clone()))?;
            }
            Ok(stripped)
        };
        let evidence = SplitView::unchecked(
            origin,
            strip(&older)?,
            strip(&newer)?,
            Hash(self.rng.gen()),
            proof,
        );
        env.report.forgeries += 1;
        env.send(peer, SimMessage::Gossip(Message::SplitView(evidence)));
        Ok(())
    }

    /// A checkpoint of the honest log `origin`, one leaf past `seen`, signed with this node's
    /// own key under that log's name, sent as a checkpoint and as a replication.
    fn impostor(&mut self, env: &mut Env<'_>, peer: usize, origin: &str, seen: &Note) -> Checked {
        let Ok(checkpoint) = Checkpoint::parse(seen.text()) else {
            return Ok(());
        };
        let signer = harness(Ed25519Signer::from_seed(origin, &self.rng.gen()))?;
        let same_size = harness(Checkpoint::new(
            origin,
            checkpoint.size().max(1),
            Hash(self.rng.gen()),
            Vec::new(),
        ))?;
        let larger = harness(Checkpoint::new(
            origin,
            checkpoint.size() + 1,
            Hash(self.rng.gen()),
            Vec::new(),
        ))?;
        let request = harness(AddCheckpoint::new(
            ConsistencyProof::empty(checkpoint.size()),
            harness(larger.sign(&signer))?,
        ))?;
        env.report.forgeries += 1;
        env.send(
            peer,
            SimMessage::Gossip(Message::Checkpoint(harness(same_size.sign(&signer))?)),
        );
        env.send(
            peer,
            SimMessage::Replicate {
                request,
                leaves: vec![Hash(self.rng.gen())],
            },
        );
        Ok(())
    }
}
