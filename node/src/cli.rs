//! The command line.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::{Args, Parser, Subcommand};

use crate::client::Client;

#[derive(Debug, Parser)]
#[command(
    name = "kvitto",
    version,
    about = "A privacy-preserving ledger and settlement node for EV charging across roaming operators"
)]
pub struct Cli {
    /// Log filter, e.g. `info` or `kvitto_service=debug`.
    #[arg(long, global = true, env = "KVITTO_LOG", default_value = "info")]
    pub log: String,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// kvitto's main job: a small roaming network on loopback (CPOs and eMSPs alternating, a
    /// regulator last), each node its own process with embedded RocksDB; simulated chargers and
    /// drivers under different tariffs, witnessed checkpoints, one settlement period closed,
    /// checked and netted, receipts fetched and verified, and the regulator's audit. Prints where
    /// to look and runs until Ctrl-C, or with --exit-when-settled writes everything into --out
    /// and exits 0 only if everything verified.
    Devnet {
        /// Nodes, 3 to 16 (at least a CPO, an eMSP and the regulator).
        #[arg(long, default_value_t = 5)]
        nodes: usize,
        /// Simulated chargers per CPO, 1 to 64.
        #[arg(long, default_value_t = 2)]
        chargers: usize,
        /// Sessions per charger, 1 to 1000.
        #[arg(long, default_value_t = 4)]
        sessions: usize,
        /// Drivers per eMSP, 1 to 1000.
        #[arg(long, default_value_t = 2)]
        drivers: usize,
        /// Where the nodes live (default: a new directory under the system's temp dir).
        #[arg(long)]
        dir: Option<PathBuf>,
        /// Node i's HTTP port is this plus i, on 127.0.0.1.
        #[arg(long, default_value_t = 7700)]
        http_port: u16,
        /// Node i's peer-to-peer port is this plus i, on 127.0.0.1.
        #[arg(long, default_value_t = 7750)]
        p2p_port: u16,
        /// Run one settlement period, write the results into --out and exit.
        #[arg(long)]
        exit_when_settled: bool,
        /// Where receipts, statements, netting and audit reports go (default: `out` in the
        /// devnet directory).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Fault injection for testing the audit: the second CPO bills a session of the first
        /// again.
        #[arg(long, hide = true)]
        double_bill: bool,
        /// Fault injection for testing credit notes: one driver's token is unknown to their eMSP,
        /// which disputes those sessions; the CPOs credit them in a second period.
        #[arg(long, hide = true)]
        unknown_token: bool,
    },
    /// Create a node directory: configuration, log key, peer key and admin token (all 0600).
    Init(InitArgs),
    /// Run a node: its log on RocksDB, served over HTTP.
    Node(NodeArgs),
    /// Charger keys, registration, and simulated chargers.
    #[command(subcommand)]
    Charger(ChargerCommand),
    /// Inspect a node's log.
    #[command(subcommand)]
    Log(LogCommand),
    /// Fetch proofs from a node and check them locally.
    #[command(subcommand)]
    Proof(ProofCommand),
    /// Price, explain and lint OCPI 2.2.1 tariffs offline.
    #[command(subcommand)]
    Tariff(TariffCommand),
    /// Benchmarks that print figures and ratios.
    #[command(subcommand)]
    Bench(BenchCommand),
    /// Show a node's logs (own and mirrored), their witnessed checkpoints, peers and alerts.
    /// Exits 2 when a split view has been detected.
    Status {
        #[arg(long, default_value = "http://127.0.0.1:7800")]
        node: String,
        #[arg(long)]
        json: bool,
    },
    /// Audit the whole network from this node's data (its own log and every mirror, opened
    /// read-only; the node may be running): replay, checkpoints, cosignatures, readings billed
    /// twice across logs. Writes report.json and report.html. Exits 0 with no findings, 1 with
    /// findings, 2 when the node's data cannot be audited.
    Audit {
        #[arg(long, env = "KVITTO_DIR")]
        dir: PathBuf,
        /// Where to write the reports (default: <dir>/audit).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Local multi-operator networks.
    #[command(subcommand)]
    Testnet(TestnetCommand),
    /// A driver's secret and their receipts.
    #[command(subcommand)]
    Driver(DriverCommand),
    /// Check and read receipt files offline.
    #[command(subcommand)]
    Receipt(ReceiptCommand),
    /// Operator: provision tokens, authorise sessions, erase people.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Settlement between operators: close a period, show statements, acknowledgements and
    /// disputes with the netting, export them as CSV and JSON.
    #[command(subcommand)]
    Settle(SettleCommand),
}

#[derive(Debug, Subcommand)]
pub enum SettleCommand {
    /// Close a period on a CPO's node: one statement per counterparty eMSP and currency with
    /// sessions or credit notes since its last statement, appended to its log.
    Close {
        #[arg(long, default_value = "http://127.0.0.1:7800")]
        node: String,
        #[arg(long)]
        admin_token_file: PathBuf,
        /// The period's start: RFC 3339 or milliseconds since the epoch (default: a day before
        /// its end).
        #[arg(long, value_parser = parse_time)]
        start: Option<u64>,
        /// The period's end (default: now).
        #[arg(long, value_parser = parse_time)]
        end: Option<u64>,
    },
    /// Show every period as the node sees the network: statements, their status, disputes and
    /// answers, and the netting of the closed (acknowledged or answered) statements that check
    /// against their logs.
    Show {
        #[arg(long, default_value = "http://127.0.0.1:7800")]
        node: String,
        #[arg(long)]
        json: bool,
    },
    /// Write the statements, obligations, netting (JSON and CSV) and OCPI 2.3 invoice
    /// reconciliation records into a directory.
    Export {
        #[arg(long, default_value = "http://127.0.0.1:7800")]
        node: String,
        #[arg(long)]
        out: PathBuf,
    },
}

/// A time as RFC 3339 or milliseconds since the Unix epoch.
pub fn parse_time(text: &str) -> Result<u64, String> {
    if let Ok(ms) = text.parse::<u64>() {
        return Ok(ms);
    }
    chrono::DateTime::parse_from_rfc3339(text)
        .map_err(|e| format!("{text:?} is neither RFC 3339 nor milliseconds: {e}"))
        .and_then(|t| u64::try_from(t.timestamp_millis()).map_err(|_| "before 1970".into()))
}

#[derive(Debug, Subcommand)]
pub enum DriverCommand {
    /// Create a driver secret (mode 0600) and print the pseudonym the eMSP registers with the
    /// token. The secret never leaves the driver.
    Keygen {
        #[arg(long)]
        out: PathBuf,
    },
    /// Fetch your receipts from the operator's node by proving you hold the secret.
    Receipts {
        #[arg(long, default_value = "http://127.0.0.1:7800")]
        node: String,
        /// The driver secret file from `kvitto driver keygen`.
        #[arg(long)]
        secret: PathBuf,
        /// Directory to write `receipt-<session>.json` files into.
        #[arg(long)]
        out: PathBuf,
        /// The log origin of the operator you charged with; the proof is refused to any other.
        #[arg(long)]
        expect_origin: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum ReceiptCommand {
    /// Check every part of a receipt offline; one line per check. Exits 0 only if all pass.
    Verify {
        receipt: PathBuf,
        /// The trust policy (C2SP tlog-policy text) to check the checkpoint against.
        #[arg(long)]
        policy: Option<PathBuf>,
        /// Check the checkpoint against the policy inside the receipt (self-consistency only).
        #[arg(long)]
        trust_embedded_policy: bool,
        /// With --ownership-proof: the challenge (hex) you gave the driver.
        #[arg(long, requires = "ownership_proof")]
        ownership_challenge: Option<String>,
        /// The driver's answer from `kvitto receipt prove-ownership` (hex): adds the `ownership`
        /// check.
        #[arg(long, requires = "ownership_challenge")]
        ownership_proof: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Prove to someone that a receipt's session is yours, answering their challenge (hex).
    ProveOwnership {
        receipt: PathBuf,
        /// Your driver secret file.
        #[arg(long)]
        secret: PathBuf,
        /// The verifier's challenge, hex (at most 256 bytes).
        #[arg(long)]
        challenge: String,
    },
    /// Print a receipt in plain words.
    Show { receipt: PathBuf },
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Provision a token from an eMSP (OCPI Tokens), with the driver's pseudonym.
    Provision {
        #[arg(long, default_value = "http://127.0.0.1:7800")]
        node: String,
        #[arg(long)]
        admin_token_file: PathBuf,
        /// eMSP country code and party id, e.g. `SE` and `EMP`.
        #[arg(long)]
        country_code: String,
        #[arg(long)]
        party_id: String,
        #[arg(long)]
        uid: String,
        /// RFID, APP_USER, AD_HOC_USER or OTHER.
        #[arg(long = "type", default_value = "RFID")]
        kind: String,
        #[arg(long)]
        contract_id: String,
        #[arg(long)]
        license_plate: Option<String>,
        /// The driver's pseudonym (hex), from `kvitto driver keygen`.
        #[arg(long)]
        driver: String,
    },
    /// Tell the node which token authorised a session (before its stop reading).
    Authorize {
        #[arg(long, default_value = "http://127.0.0.1:7800")]
        node: String,
        #[arg(long)]
        admin_token_file: PathBuf,
        #[arg(long)]
        session: String,
        #[arg(long)]
        uid: String,
    },
    /// Erase a person: destroy the keys that link their sessions to them.
    Erase {
        #[arg(long, default_value = "http://127.0.0.1:7800")]
        node: String,
        #[arg(long)]
        admin_token_file: PathBuf,
        #[arg(long)]
        contract_id: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum TestnetCommand {
    /// Create node directories and a shared, pinned membership for a local network.
    Init {
        /// Where to create `node1`, `node2`, ... and `membership.toml`.
        #[arg(long)]
        dir: PathBuf,
        #[arg(long, default_value_t = 3)]
        nodes: usize,
        #[arg(long, default_value = "kvitto-testnet")]
        network: String,
        /// The nodes' IP addresses: one for all (loopback), or one per node, comma-separated.
        #[arg(long, value_delimiter = ',', default_value = "127.0.0.1")]
        hosts: Vec<std::net::IpAddr>,
        /// HTTP port of node 1; node i listens on this + i - 1.
        #[arg(long, default_value_t = 7801)]
        http_port: u16,
        /// libp2p port of node 1; node i listens on this + i - 1.
        #[arg(long, default_value_t = 7901)]
        p2p_port: u16,
        /// Cosignatures of other members that make a checkpoint witnessed.
        #[arg(long)]
        quorum: Option<usize>,
        #[arg(long)]
        json: bool,
    },
    /// Wait until every node serves the same witnessed checkpoint of every log; exit 1 if they
    /// have not converged within the timeout.
    Check {
        /// A node's HTTP address; give one per node.
        #[arg(long = "node", required = true)]
        nodes: Vec<String>,
        #[arg(long, default_value_t = 60)]
        timeout_s: u64,
    },
}

#[derive(Debug, Subcommand)]
pub enum TariffCommand {
    /// Price the charging periods of an OCPI 2.2.1 CDR; prints the OCPI totals as JSON.
    Price {
        /// The tariff (OCPI 2.2.1 JSON). Without it, the tariffs embedded in the CDR are used.
        #[arg(long)]
        tariff: Option<PathBuf>,
        /// The CDR (OCPI 2.2.1 JSON).
        #[arg(long)]
        cdr: PathBuf,
        /// The location's IANA time zone (OCPI CDRs do not carry one).
        #[arg(long, default_value = "UTC")]
        tz: String,
    },
    /// Show the price breakdown of a CDR under a tariff: periods, dimensions, volumes, unit
    /// prices, step rounding and VAT.
    Explain {
        #[arg(long)]
        tariff: Option<PathBuf>,
        #[arg(long)]
        cdr: PathBuf,
        #[arg(long, default_value = "UTC")]
        tz: String,
    },
    /// Report elements that can never apply, contradictory restrictions and missing fallbacks.
    Lint {
        /// The tariff (OCPI 2.2.1 JSON).
        tariff: PathBuf,
    },
}

#[derive(Debug, Args)]
pub struct InitArgs {
    /// The node directory to create.
    #[arg(long, env = "KVITTO_DIR")]
    pub dir: PathBuf,
    /// The roaming network's name.
    #[arg(long, default_value = "kvitto-devnet")]
    pub network: String,
    /// The operator's OCPI party id.
    #[arg(long, default_value = "SE*KVT")]
    pub operator: String,
    /// Where the HTTP API will listen.
    #[arg(long, default_value = "127.0.0.1:7800")]
    pub http: SocketAddr,
}

#[derive(Debug, Args)]
pub struct NodeArgs {
    /// The node directory (made by `kvitto init`).
    #[arg(long, env = "KVITTO_DIR")]
    pub dir: PathBuf,
    /// Override the configured listen address.
    #[arg(long)]
    pub http: Option<SocketAddr>,
}

#[derive(Debug, Subcommand)]
pub enum ChargerCommand {
    /// Register N software chargers on a node and push M signed sessions from each.
    Simulate(SimulateArgs),
    /// Generate a charger's Ed25519 key into a new file (mode 0600); print its public key and id.
    Keygen {
        /// The key file to create (refuses to overwrite).
        #[arg(long)]
        out: PathBuf,
    },
    /// Register a charger key on a node's log (operator admin token needed).
    Register {
        #[arg(long, default_value = "http://127.0.0.1:7800")]
        node: String,
        #[arg(long)]
        admin_token_file: PathBuf,
        /// The charger's key file, from `kvitto charger keygen`.
        #[arg(long)]
        key: PathBuf,
        /// The EVSE id, e.g. SE*KVT*E0001*1.
        #[arg(long)]
        evse_id: String,
        #[arg(long)]
        meter_serial: String,
        /// The charger's maximum power, in watts.
        #[arg(long)]
        max_power_w: u32,
        /// The OCPI tariff id that prices this charger's sessions.
        #[arg(long)]
        tariff_id: Option<String>,
    },
}

#[derive(Debug, Args)]
pub struct SimulateArgs {
    /// The node's HTTP address.
    #[arg(long, default_value = "http://127.0.0.1:7800")]
    pub node: String,
    /// A file holding the node's admin token (needed to register the chargers).
    #[arg(long)]
    pub admin_token_file: PathBuf,
    /// The network the chargers sign for; must match the node's.
    #[arg(long, default_value = "kvitto-devnet")]
    pub network: String,
    /// Number of software chargers, each with a fresh key.
    #[arg(long, default_value_t = 10)]
    pub chargers: usize,
    /// Sessions per charger.
    #[arg(long, default_value_t = 100)]
    pub sessions: usize,
    /// Intermediate readings per session, between start and stop.
    #[arg(long, default_value_t = 4)]
    pub intermediate: usize,
    /// Readings per HTTP request.
    #[arg(long, default_value_t = 1)]
    pub batch: usize,
    /// Tariff id the chargers are registered with.
    #[arg(long)]
    pub tariff_id: Option<String>,
    /// Authorise every session of the first charger with this provisioned token uid.
    #[arg(long)]
    pub authorize_uid: Option<String>,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum LogCommand {
    /// Recompute the tree from the stored entries and check every stored checkpoint (fsck).
    /// The node must be stopped.
    Verify {
        #[arg(long, env = "KVITTO_DIR")]
        dir: PathBuf,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum ProofCommand {
    /// Prove that entry INDEX is in the log at its latest checkpoint.
    Inclusion {
        #[arg(long, default_value = "http://127.0.0.1:7800")]
        node: String,
        /// The log id (default: the node's own log).
        #[arg(long = "log-id")]
        log_id: Option<String>,
        /// Pin the log's verifier key instead of trusting the one the node lists.
        #[arg(long)]
        verifier: Option<String>,
        index: u64,
    },
    /// Prove that the log at an earlier size and root is a prefix of its latest checkpoint.
    Consistency {
        #[arg(long, default_value = "http://127.0.0.1:7800")]
        node: String,
        /// The log id (default: the node's own log).
        #[arg(long = "log-id")]
        log_id: Option<String>,
        #[arg(long)]
        verifier: Option<String>,
        /// The earlier tree size.
        #[arg(long)]
        first: u64,
        /// The earlier root, base64.
        #[arg(long)]
        first_root: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Durable ingest throughput and latency, against bare Ed25519 verification on the same cores.
    Ingest {
        /// Concurrent chargers (one client task each).
        #[arg(long, default_value_t = 64)]
        chargers: usize,
        /// Sessions per charger.
        #[arg(long, default_value_t = 50)]
        sessions: usize,
        /// Intermediate readings per session.
        #[arg(long, default_value_t = 8)]
        intermediate: usize,
        /// Readings per request.
        #[arg(long, default_value_t = 32)]
        batch: usize,
        #[arg(long)]
        json: bool,
    },
    /// Catch-up of a restarted mirror over libp2p on loopback (two nodes in this process),
    /// against in-process ledger replay and bare Ed25519 verification on the same cores.
    Catchup {
        /// Chargers registered on node 1.
        #[arg(long, default_value_t = 64)]
        chargers: usize,
        /// Sessions per charger.
        #[arg(long, default_value_t = 50)]
        sessions: usize,
        /// Intermediate readings per session.
        #[arg(long, default_value_t = 8)]
        intermediate: usize,
        #[arg(long)]
        json: bool,
    },
    /// Latency from a checkpoint to its witnessing under the policy, and gossip bytes per
    /// checkpoint, on loopback testnets of child `kvitto node` processes.
    Witness {
        /// Testnet sizes, comma-separated.
        #[arg(long, value_delimiter = ',', default_value = "3,5,10")]
        nodes: Vec<usize>,
        /// Sessions pushed into node 1, one checkpoint each.
        #[arg(long, default_value_t = 10)]
        rounds: usize,
        #[arg(long)]
        json: bool,
    },
    /// The cost to close a session (price, commitments, range proof, append) and to verify its
    /// receipt, against bare Bulletproofs prove and verify calls measured in the same run.
    Privacy {
        /// Sessions closed over HTTP and receipts verified; also the iterations of each bare call.
        #[arg(long, default_value_t = 200)]
        sessions: usize,
        #[arg(long)]
        json: bool,
    },
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?)
}

pub fn run(cli: Cli) -> Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_new(&cli.log)
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    match cli.command {
        Command::Init(args) => {
            let report = crate::node::init(&args.dir, &args.network, &args.operator, args.http)?;
            println!("created node in {}", report.dir.display());
            println!("  log origin:    {}", report.origin);
            println!("  verifier key:  {}", report.verifier_key);
            println!("  admin token:   {} (mode 0600)", report.admin_token_file.display());
            println!("  peer key:      {} (mode 0600)", report.peer_key_file.display());
            println!("start it with: kvitto node --dir {}", report.dir.display());
            Ok(())
        }
        Command::Node(args) => runtime()?.block_on(async {
            let shutdown = async {
                let _ = tokio::signal::ctrl_c().await;
                tracing::info!("shutting down");
            };
            let node = crate::node::start(&args.dir, args.http, shutdown).await?;
            println!("kvitto node serving {} at http://{}{}/", node.info.origin, node.addr, node.info.prefix);
            println!("  verifier key: {}", node.info.verifier_key);
            node.run().await
        }),
        Command::Charger(ChargerCommand::Simulate(args)) => runtime()?.block_on(async {
            let token = crate::keyfile::read_secret(&args.admin_token_file)?;
            let client = Client::new(&args.node, Some(token.to_string()))?;
            let options = crate::simulate::SimulateOptions {
                network: args.network,
                chargers: args.chargers,
                sessions_per_charger: args.sessions,
                intermediate_readings: args.intermediate,
                batch: args.batch,
                max_power_w: 22_000,
                tariff_id: args.tariff_id,
                show_progress: !args.json,
            };
            let report = crate::simulate::run_with(&client, options, args.authorize_uid).await?;
            if args.json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                println!(
                    "{} chargers pushed {} readings in {:.1} s ({:.0} readings/s); {} sessions closed; log size {}",
                    report.chargers, report.readings, report.elapsed_ms as f64 / 1000.0, report.readings_per_second, report.sessions, report.log_size
                );
            }
            Ok(())
        }),
        Command::Charger(ChargerCommand::Keygen { out }) => {
            let key = kvitto_core::keys::generate_signing_key();
            crate::keyfile::write_secret(&out, &zeroize::Zeroizing::new(hex::encode(key.to_bytes())))?;
            let public = key.verifying_key().to_bytes();
            println!("created charger key {} (mode 0600)", out.display());
            println!("  public key: {}", hex::encode(public));
            println!("  key id:     {}", kvitto_core::KeyId::of(&public));
            Ok(())
        }
        Command::Charger(ChargerCommand::Register { node, admin_token_file, key, evse_id, meter_serial, max_power_w, tariff_id }) => {
            runtime()?.block_on(async {
                let token = crate::keyfile::read_secret(&admin_token_file)?;
                let seed = crate::keyfile::seed_from_hex(&crate::keyfile::read_secret(&key)?)?;
                let public = ed25519_dalek::SigningKey::from_bytes(&seed).verifying_key().to_bytes();
                let client = Client::new(&node, Some(token.to_string()))?;
                let now = kvitto_service::Clock::now_ms(&kvitto_service::SystemClock);
                let body = serde_json::json!({
                    "public_key": hex::encode(public), "evse_id": evse_id, "meter_serial": meter_serial,
                    "max_power_w": max_power_w, "valid_from_ms": now, "tariff_id": tariff_id,
                });
                let answer: serde_json::Value = client.admin_post("/v1/admin/chargers", &body).await?;
                println!("registered charger {} as log entry {}", answer["key_id"].as_str().unwrap_or("?"), answer["index"]);
                Ok(())
            })
        }
        Command::Audit { dir, out } => match crate::audit_cmd::run(&dir, out.as_deref()) {
            Ok(outcome) => {
                print!("{}", crate::audit_cmd::summary(&outcome));
                if !outcome.report.is_clean() {
                    std::process::exit(1);
                }
                Ok(())
            }
            Err(err) => {
                eprintln!("Error: {err:#}");
                std::process::exit(2);
            }
        },
        Command::Log(LogCommand::Verify { dir, json }) => {
            let report = crate::verify::verify(&dir, !json)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                println!("ok   {} entries decode and hash to root {}", report.entries, report.root);
                println!("ok   every stored node hash matches the recomputed tree");
                println!("ok   {} stored checkpoints verify and match the tree", report.checkpoints);
                for (kind, n) in &report.entry_types {
                    println!("     {n:>8} {kind}");
                }
            }
            Ok(())
        }
        Command::Proof(command) => runtime()?.block_on(async {
            let lines = match command {
                ProofCommand::Inclusion { node, log_id, verifier, index } => {
                    crate::proof::inclusion(&Client::new(&node, None)?, log_id.as_deref(), verifier.as_deref(), index).await?
                }
                ProofCommand::Consistency { node, log_id, verifier, first, first_root } => {
                    crate::proof::consistency(&Client::new(&node, None)?, log_id.as_deref(), verifier.as_deref(), first, &first_root).await?
                }
            };
            for line in lines {
                println!("{line}");
            }
            Ok(())
        }),
        Command::Tariff(command) => {
            let out = match command {
                TariffCommand::Price { tariff, cdr, tz } => crate::tariff_cmd::price(tariff.as_deref(), &cdr, &tz)?,
                TariffCommand::Explain { tariff, cdr, tz } => crate::tariff_cmd::explain(tariff.as_deref(), &cdr, &tz)?,
                TariffCommand::Lint { tariff } => crate::tariff_cmd::lint_file(&tariff)?,
            };
            print!("{out}");
            if !out.ends_with('\n') {
                println!();
            }
            Ok(())
        }
        Command::Status { node, json } => runtime()?.block_on(async {
            let (status, text, alarmed) = crate::status::status(&Client::new(&node, None)?).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&status)?);
            } else {
                print!("{text}");
            }
            if alarmed {
                std::process::exit(2);
            }
            Ok(())
        }),
        Command::Testnet(TestnetCommand::Init { dir, nodes, network, hosts, http_port, p2p_port, quorum, json }) => {
            let options = crate::testnet::TestnetOptions {
                dir,
                nodes,
                network,
                hosts,
                http_port_base: http_port,
                p2p_port_base: p2p_port,
                quorum,
            };
            let (membership, nodes) = crate::testnet::init(&options)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&serde_json::json!({"membership": membership, "nodes": nodes}))?);
            } else {
                print!("{}", crate::testnet::describe(&membership, &nodes));
            }
            Ok(())
        }
        Command::Testnet(TestnetCommand::Check { nodes, timeout_s }) => runtime()?.block_on(async {
            let clients = nodes.iter().map(|n| Client::new(n, None)).collect::<Result<Vec<_>>>()?;
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(timeout_s);
            loop {
                let report = crate::testnet::convergence(&clients).await;
                let done = matches!(&report, Ok(r) if r.converged);
                if done || std::time::Instant::now() >= deadline {
                    match report {
                        Ok(report) => {
                            for (id, seen) in &report.logs {
                                println!("{id}: {}", seen[0].as_deref().unwrap_or("(no checkpoint)"));
                            }
                            for problem in &report.problems {
                                println!("not converged: {problem}");
                            }
                            if report.converged {
                                println!("converged: {} nodes serve the same witnessed checkpoint of {} logs", clients.len(), report.logs.len());
                                return Ok(());
                            }
                            std::process::exit(1);
                        }
                        Err(e) => return Err(e),
                    }
                }
                tokio::time::sleep(std::time::Duration::from_millis(500)).await;
            }
        }),
        Command::Driver(DriverCommand::Keygen { out }) => {
            let pseudonym = crate::receipt_cmd::driver_keygen(&out)?;
            println!("created driver secret {} (mode 0600); keep it, it proves your sessions are yours", out.display());
            println!("  pseudonym for your eMSP: {pseudonym}");
            Ok(())
        }
        Command::Driver(DriverCommand::Receipts { node, secret, out, expect_origin }) => runtime()?.block_on(async {
            let secret = crate::receipt_cmd::load_driver_secret(&secret)?;
            let (receipts, pending) =
                crate::receipt_cmd::fetch_from(&Client::new(&node, None)?, &secret, expect_origin.as_deref()).await?;
            for path in crate::receipt_cmd::write_receipts(&out, &receipts)? {
                println!("wrote {}", path.display());
            }
            println!("{} receipt(s); {pending} session(s) not yet in a checkpoint", receipts.len());
            Ok(())
        }),
        Command::Receipt(ReceiptCommand::Verify { receipt, policy, trust_embedded_policy, ownership_challenge, ownership_proof, json }) => {
            let mut report = crate::receipt_cmd::verify_file(&receipt, policy.as_deref(), trust_embedded_policy)?;
            if let (Some(challenge), Some(proof)) = (ownership_challenge, ownership_proof) {
                report.checks.push(crate::receipt_cmd::ownership_check(&receipt, &challenge, &proof)?);
            }
            if json {
                println!("{}", serde_json::to_string_pretty(&serde_json::json!({"verified": report.all_passed(), "checks": report.checks}))?);
            } else {
                print!("{}", crate::receipt_cmd::report_text(&report));
            }
            if !report.all_passed() {
                std::process::exit(1);
            }
            Ok(())
        }
        Command::Receipt(ReceiptCommand::ProveOwnership { receipt, secret, challenge }) => {
            println!("{}", crate::receipt_cmd::prove_ownership(&receipt, &secret, &challenge)?);
            Ok(())
        }
        Command::Receipt(ReceiptCommand::Show { receipt }) => {
            print!("{}", crate::receipt_cmd::show_file(&receipt)?);
            Ok(())
        }
        Command::Devnet { nodes, chargers, sessions, drivers, dir, http_port, p2p_port, exit_when_settled, out, double_bill, unknown_token } => runtime()?.block_on(async {
            let (dir, out) = crate::devnet::default_dirs(dir.as_deref(), out.as_deref());
            let outcome = crate::devnet::run(crate::devnet::DevnetOptions {
                dir,
                nodes,
                chargers,
                sessions,
                drivers,
                http_port,
                p2p_port,
                exit_when_settled,
                out,
                double_bill,
                unknown_token,
            })
            .await?;
            if exit_when_settled && !outcome.all_verified() {
                std::process::exit(1);
            }
            Ok(())
        }),
        Command::Settle(command) => runtime()?.block_on(async {
            match command {
                SettleCommand::Close { node, admin_token_file, start, end } => {
                    let token = crate::keyfile::read_secret(&admin_token_file)?;
                    let client = Client::new(&node, Some(token.to_string()))?;
                    let end = end.unwrap_or_else(|| kvitto_service::Clock::now_ms(&kvitto_service::SystemClock));
                    let start = start.unwrap_or(end.saturating_sub(24 * 3600 * 1000));
                    let statements = crate::settle_cmd::close(&client, start, end).await?;
                    if statements.is_empty() {
                        println!("Period closed: nothing billed to any counterparty since the last statements.");
                    } else {
                        println!("Period closed: {} statement(s) appended at log indices {statements:?}.", statements.len());
                    }
                }
                SettleCommand::Show { node, json } => {
                    let client = Client::new(&node, None)?;
                    if json {
                        let value: serde_json::Value = client.get_json("/v1/settlement").await?;
                        println!("{}", serde_json::to_string_pretty(&value)?);
                    } else {
                        let overview = crate::settle_cmd::fetch(&client, false).await?;
                        print!("{}", crate::settle_cmd::render(&overview));
                    }
                }
                SettleCommand::Export { node, out } => {
                    let client = Client::new(&node, None)?;
                    let overview = crate::settle_cmd::fetch(&client, true).await?;
                    let written = crate::settle_cmd::export(&overview, &out, kvitto_service::Clock::now_ms(&kvitto_service::SystemClock))?;
                    println!("Wrote {} files into {}: {}", written.len(), out.display(), written.join(", "));
                }
            }
            Ok(())
        }),
        Command::Token(command) => runtime()?.block_on(async {
            let (node, token_file) = match &command {
                TokenCommand::Provision { node, admin_token_file, .. }
                | TokenCommand::Authorize { node, admin_token_file, .. }
                | TokenCommand::Erase { node, admin_token_file, .. } => (node.clone(), admin_token_file.clone()),
            };
            let token = crate::keyfile::read_secret(&token_file)?;
            let client = Client::new(&node, Some(token.to_string()))?;
            let answer: serde_json::Value = match command {
                TokenCommand::Provision { country_code, party_id, uid, kind, contract_id, license_plate, driver, .. } => {
                    let body = serde_json::json!({
                        "country_code": country_code, "party_id": party_id, "uid": uid, "type": kind,
                        "contract_id": contract_id, "license_plate": license_plate, "driver": driver,
                    });
                    client.admin_put("/v1/admin/tokens", &body).await?
                }
                TokenCommand::Authorize { session, uid, .. } => {
                    client.admin_post(&format!("/v1/admin/sessions/{session}/authorize"), &serde_json::json!({"uid": uid})).await?
                }
                TokenCommand::Erase { contract_id, .. } => {
                    client.admin_post("/v1/admin/erasures", &serde_json::json!({"contract_id": contract_id})).await?
                }
            };
            println!("{}", serde_json::to_string_pretty(&answer)?);
            Ok(())
        }),
        Command::Bench(BenchCommand::Ingest { chargers, sessions, intermediate, batch, json }) => runtime()?.block_on(async {
            let report = crate::bench::ingest(crate::bench::BenchOptions { chargers, sessions_per_charger: sessions, intermediate_readings: intermediate, batch })
                .await
                .context("running the ingest benchmark")?;
            if json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                println!("readings:                 {}", report.readings);
                println!("cores:                    {}", report.cores);
                println!("bare verify_strict:       {:.0} readings/s", report.verify_per_second);
                println!("durable ingest:           {:.0} readings/s (HTTP, {} readings per request)", report.ingest_per_second, batch);
                println!("ack latency per request:  p50 {:.2} ms, p99 {:.2} ms", report.request_latency_ms_p50, report.request_latency_ms_p99);
                println!("ratio ingest/verify:      {:.2}", report.ratio);
            }
            Ok(())
        }),
        Command::Bench(BenchCommand::Catchup { chargers, sessions, intermediate, json }) => runtime()?.block_on(async {
            let report = crate::bench_net::catchup(crate::bench_net::CatchupOptions { chargers, sessions_per_charger: sessions, intermediate_readings: intermediate, batch: 32 })
                .await
                .context("running the catch-up benchmark")?;
            if json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                let r = &report;
                println!("entries caught up:        {} session records, {} signed readings", r.entries, r.readings);
                println!("cores:                    {}", r.cores);
                println!("catch-up over libp2p:     {:.2} s: {:.0} entries/s, {:.0} readings/s ({} response bytes)", r.seconds, r.entries_per_second, r.readings_per_second, r.response_bytes);
                println!("joining alone:            {:.2} s (restart with nothing to fetch: start, dial, first checkpoint poll; varies up to ~2 s)", r.join_seconds);
                println!("in-process replay_batch:  {:.0} entries/s, {:.0} readings/s", r.replay_entries_per_second, r.replay_readings_per_second);
                println!("bare verify_strict:       {:.0} readings/s (bounds entries at {:.0}/s)", r.verify_readings_per_second, r.verify_bound_entries_per_second);
                println!("ratio catch-up/replay:    {:.2}", r.ratio_catchup_replay);
                println!("ratio replay/verify:      {:.2} (readings/s)", r.ratio_replay_verify);
                println!("aim {:.0} entries/s:      {}", r.aim_entries_per_second, if r.aim_reached { "reached" } else { "not reached" });
            }
            Ok(())
        }),
        Command::Bench(BenchCommand::Witness { nodes, rounds, json }) => runtime()?.block_on(async {
            let rows = crate::bench_net::witness(crate::bench_net::WitnessOptions { nodes, rounds })
                .await
                .context("running the witness benchmark")?;
            if json {
                println!("{}", serde_json::to_string_pretty(&rows)?);
            } else {
                println!("nodes quorum  converge  ack->ckpt p50  ckpt->witnessed p50/p95/max    gossip rx B (msgs)  gossip tx B  fetch B  idle gossip rx B/s");
                for r in &rows {
                    println!(
                        "{:>5} {:>6} {:>8.1}s {:>11.0} ms  {:>8.0} /{:>5.0} /{:>5.0} ms  {:>11.0} ({:>4.1}) {:>11.0} {:>8.0} {:>18.0}",
                        r.nodes, r.quorum, r.converge_seconds, r.checkpoint_ms_p50, r.witness_ms_p50, r.witness_ms_p95, r.witness_ms_max,
                        r.gossip_received_bytes, r.gossip_received_messages, r.gossip_published_bytes, r.fetch_bytes, r.idle_gossip_received_bytes_per_second
                    );
                }
                println!("bytes and messages are per node and per checkpoint (payloads, without libp2p framing)");
            }
            Ok(())
        }),
        Command::Bench(BenchCommand::Privacy { sessions, json }) => runtime()?.block_on(async {
            let report = crate::bench_privacy::privacy(crate::bench_privacy::PrivacyOptions { sessions })
                .await
                .context("running the privacy benchmark")?;
            if json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                print!("{}", crate::bench_privacy::text(&report));
            }
            Ok(())
        }),
    }
}
