//! `kvitto devnet`: a small roaming network on loopback, kvitto's main job end to end.
//!
//! Each node is its own `kvitto node` process with its own RocksDB: charging operators (CPOs)
//! and eMSPs alternate, the last node is the regulator. The CPOs publish different tariffs (per
//! kWh with an evening rate and parking; a session fee with a price per hour) and register
//! simulated chargers; the eMSPs provision their drivers' tokens with each CPO; the chargers
//! sign sessions the drivers authorise. Every node mirrors and cosigns every log. Then one
//! settlement period closes: each CPO issues statements, each eMSP checks them session by session
//! and acknowledges (or disputes) on its own log, and the closed statements (acknowledged, or disputed and answered) are netted.
//! The regulator's node is audited, the drivers fetch their receipts and every receipt is
//! verified offline.
//!
//! With `--exit-when-settled` it writes everything into `--out` and exits 0 only if every
//! receipt verified, every statement was acknowledged, the netting balances and the audit found
//! nothing. Without it, it prints where to look and runs until Ctrl-C.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use kvitto_core::reading::SignedReading;
use kvitto_core::ReadingKind;
use serde_json::{json, Value};

use kvitto_service::settlement_index::StatementStatus;

use crate::client::Client;
use crate::simulate::{history_span_ms, register_chargers, session_readings, SimulateOptions};
use crate::testnet::{TestnetNode, TestnetOptions};

/// What to run.
#[derive(Debug, Clone)]
pub struct DevnetOptions {
    /// Working directory for the nodes (must not hold nodes yet).
    pub dir: PathBuf,
    /// Nodes: CPOs and eMSPs alternate, the last is the regulator (at least 3).
    pub nodes: usize,
    /// Chargers per CPO.
    pub chargers: usize,
    /// Sessions per charger.
    pub sessions: usize,
    /// Drivers per eMSP.
    pub drivers: usize,
    pub http_port: u16,
    pub p2p_port: u16,
    /// Run one period, write the results into `out` and exit.
    pub exit_when_settled: bool,
    pub out: PathBuf,
    /// Fault injection for the audit's test: the second CPO registers a charger of the first
    /// and bills one of its sessions again.
    pub double_bill: bool,
    /// The last eMSP's first driver's token is provisioned with the CPOs but not with the eMSP
    /// itself: the eMSP disputes those sessions (`unknown_token`), the CPOs credit them, and a
    /// second period carries the credit notes.
    pub unknown_token: bool,
}

/// What one run produced.
#[derive(Debug, Default, serde::Serialize)]
pub struct DevnetOutcome {
    pub sessions: u64,
    pub receipts_written: usize,
    pub receipts_verified: usize,
    pub statements: usize,
    pub statements_acknowledged: usize,
    pub netting_balanced: bool,
    pub audit_findings: usize,
    pub audit_rules: Vec<String>,
    pub problems: Vec<String>,
}

impl DevnetOutcome {
    pub fn all_verified(&self) -> bool {
        self.problems.is_empty()
    }
}

/// Meter readings between a simulated session's start and stop.
const INTERMEDIATE_READINGS: usize = 2;
/// The simulated history ends a minute before the devnet charges it, and its tariffs are
/// published a minute before it starts: the nodes accept tariffs back-dated by the history's
/// span and this margin.
const HISTORY_MARGIN_MS: u64 = 180_000;

/// The devnet's tariffs, by CPO (alternating).
const TARIFF_ENERGY: &str = include_str!("devnet/tariff_energy_evening_parking.json");
const TARIFF_TIME: &str = include_str!("devnet/tariff_session_fee_per_hour.json");

/// The node processes; stopped (SIGINT, then SIGKILL) when dropped.
struct Processes(Vec<Child>);

impl Drop for Processes {
    fn drop(&mut self) {
        for child in &mut self.0 {
            let _ = Command::new("kill")
                .args(["-INT", &child.id().to_string()])
                .status();
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        for child in &mut self.0 {
            while Instant::now() < deadline {
                if let Ok(Some(_)) = child.try_wait() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

struct Member {
    node: TestnetNode,
    client: Client,
    admin: Client,
}

struct Driver {
    uid: String,
    contract_id: String,
    plate: String,
    secret_path: PathBuf,
}

/// Runs the devnet (see the module docs).
pub async fn run(options: DevnetOptions) -> Result<DevnetOutcome> {
    check_scale(&options)?;
    let exe = std::env::current_exe().context("finding the kvitto binary")?;
    ports_free(&options)?;
    std::fs::create_dir_all(&options.dir)
        .with_context(|| format!("creating {}", options.dir.display()))?;
    say(&format!(
        "kvitto devnet: {} nodes in {}",
        options.nodes,
        options.dir.display()
    ));
    let (membership, nodes) = crate::testnet::init(&TestnetOptions {
        dir: options.dir.clone(),
        nodes: options.nodes,
        network: "kvitto-devnet".into(),
        hosts: vec![std::net::IpAddr::from([127, 0, 0, 1])],
        http_port_base: options.http_port,
        p2p_port_base: options.p2p_port,
        quorum: None,
    })?;
    // The simulated history is back-dated (see the charging below): let its tariffs be too.
    // The tariffs are published minutes after this: allow an hour more than they need.
    let backdate_ms =
        history_span_ms(options.sessions, INTERMEDIATE_READINGS) + HISTORY_MARGIN_MS + 3_600_000;
    let backdate = format!("tariff_backdate_ms_max = {backdate_ms}");
    for node in &nodes {
        let path = node.dir.join("kvitto.toml");
        let text = std::fs::read_to_string(&path)?;
        let text = text.replace("tariff_backdate_ms_max = 60000", &backdate);
        if !text.contains(&backdate) {
            bail!("{}: cannot set tariff_backdate_ms_max", path.display());
        }
        std::fs::write(&path, text)?;
    }
    let mut processes = Processes(Vec::new());
    for node in &nodes {
        let log = std::fs::File::create(node.dir.with_extension("log"))?;
        let child = Command::new(&exe)
            .args(["node", "--dir"])
            .arg(&node.dir)
            .args(["--log", "warn"])
            .stdout(Stdio::from(log.try_clone()?))
            .stderr(Stdio::from(log))
            .spawn()
            .context("starting a node")?;
        processes.0.push(child);
    }
    let mut members = Vec::new();
    for node in nodes {
        let token = crate::keyfile::read_secret(&node.dir.join("keys").join("admin.token"))?;
        members.push(Member {
            client: Client::new(&node.http, None)?,
            admin: Client::new(&node.http, Some(token.to_string()))?,
            node,
        });
    }
    for (m, child) in members.iter().zip(&mut processes.0) {
        wait_ready(&m.client, child, &m.node.dir.with_extension("log")).await?;
    }
    let cpos: Vec<&Member> = members.iter().filter(|m| m.node.role == "cpo").collect();
    let emsps: Vec<&Member> = members.iter().filter(|m| m.node.role == "emsp").collect();
    let regulator = members
        .iter()
        .find(|m| m.node.role == "regulator")
        .context("no regulator in the devnet")?;

    // Drivers: a secret each; their eMSP provisions the token with itself and with every CPO.
    let drivers_dir = options.dir.join("drivers");
    std::fs::create_dir_all(&drivers_dir)?;
    let mut drivers = Vec::new();
    for (e, emsp) in emsps.iter().enumerate() {
        let party = emsp.node.operator.clone();
        let (cc, pid) = party.split_once('*').context("operator id")?;
        for d in 0..options.drivers {
            let contract_id = format!("{cc}-{pid}-C{:08}-{}", d + 1, d % 10);
            let secret_path = drivers_dir.join(format!("{contract_id}.secret"));
            let pseudonym = crate::receipt_cmd::driver_keygen(&secret_path)?;
            let driver = Driver {
                uid: format!("04{:02X}{:02X}C0FFEE{:02X}", e + 1, d + 1, d + 7),
                contract_id,
                plate: format!("DEV{}{:02}", e + 1, d + 1),
                secret_path,
            };
            let body = json!({
                "country_code": cc, "party_id": pid, "uid": driver.uid, "type": "RFID",
                "contract_id": driver.contract_id, "license_plate": driver.plate, "driver": pseudonym,
            });
            let forgotten = options.unknown_token && e + 1 == emsps.len() && d == 0;
            let own = (!forgotten).then_some(*emsp);
            for target in own.into_iter().chain(cpos.iter().copied()) {
                let _: Value = target
                    .admin
                    .admin_put("/v1/admin/tokens", &body)
                    .await
                    .with_context(|| format!("provisioning a token on {}", target.node.http))?;
            }
            drivers.push(driver);
        }
    }
    say(&format!(
        "{} drivers of {} eMSPs provisioned with {} CPOs",
        drivers.len(),
        emsps.len(),
        cpos.len()
    ));

    // Chargers and sessions.
    let now = kvitto_service::Clock::now_ms(&kvitto_service::SystemClock);
    let span = history_span_ms(options.sessions, INTERMEDIATE_READINGS);
    // Tariffs are published a minute before the history starts, which ends a minute ago.
    let start_ms = now.saturating_sub(span + HISTORY_MARGIN_MS - 60_000);
    let mut outcome = DevnetOutcome::default();
    let mut first_cpo_session: Option<([u8; 32], Vec<SignedReading>, String)> = None;
    let mut turn = 0usize;
    for (c, cpo) in cpos.iter().enumerate() {
        let tariff_text = if c % 2 == 0 {
            TARIFF_ENERGY
        } else {
            TARIFF_TIME
        };
        let tariff_id = publish_tariff(cpo, tariff_text, start_ms - 60_000).await?;
        let sim = SimulateOptions {
            network: "kvitto-devnet".into(),
            chargers: options.chargers,
            sessions_per_charger: options.sessions,
            intermediate_readings: INTERMEDIATE_READINGS,
            batch: 8,
            max_power_w: 22_000,
            tariff_id: Some(tariff_id),
            show_progress: false,
        };
        let chargers = register_chargers(&cpo.admin, &sim, start_ms).await?;
        for mut charger in chargers {
            let public_key = charger.public_key();
            let readings = session_readings(
                &mut charger,
                options.sessions,
                INTERMEDIATE_READINGS,
                22_000,
                start_ms,
            );
            for session in readings.chunk_by(|a, b| a.reading.session == b.reading.session) {
                let driver = &drivers[turn % drivers.len()];
                turn += 1;
                if let Some(start) = session
                    .iter()
                    .find(|r| r.reading.kind == ReadingKind::Start)
                {
                    let _: Value = cpo
                        .admin
                        .admin_post(
                            &format!("/v1/admin/sessions/{}/authorize", start.reading.session),
                            &json!({ "uid": driver.uid }),
                        )
                        .await
                        .context("authorising a session")?;
                }
                let answer = cpo.admin.post_readings(session).await?;
                outcome.sessions += answer["closed_sessions"].as_array().map_or(0, Vec::len) as u64;
                if c == 0 && first_cpo_session.is_none() {
                    first_cpo_session = Some((public_key, session.to_vec(), driver.uid.clone()));
                }
            }
        }
    }
    say(&format!(
        "{} sessions charged at {} CPOs ({} chargers each)",
        outcome.sessions,
        cpos.len(),
        options.chargers
    ));
    if options.double_bill {
        let (Some((public_key, readings, uid)), Some(cheat)) = (&first_cpo_session, cpos.get(1))
        else {
            bail!("--double-bill needs two CPOs");
        };
        double_bill(cheat, public_key, readings, uid, start_ms).await?;
        say(&format!(
            "fault injected: {} billed a session of {} again",
            cheat.node.operator, cpos[0].node.operator
        ));
    }

    let clients: Vec<Client> = members.iter().map(|m| m.client.clone()).collect();
    wait_converged(&clients, CONVERGE_TIMEOUT).await?;
    say("every log is mirrored and witnessed by every node");

    // One settlement period.
    let period_end = kvitto_service::Clock::now_ms(&kvitto_service::SystemClock);
    for cpo in &cpos {
        let statements = crate::settle_cmd::close(&cpo.admin, start_ms, period_end).await?;
        outcome.statements += statements.len();
    }
    say(&format!(
        "settlement period closed: {} statements issued",
        outcome.statements
    ));
    let mut overview = wait_settled(&regulator.client, outcome.statements, SETTLE_TIMEOUT).await?;
    wait_converged(&clients, CONVERGE_TIMEOUT).await?;
    let credited: usize = overview
        .periods
        .iter()
        .flat_map(|p| p.statements.iter())
        .filter_map(|s| s.dispute.as_ref())
        .map(|d| d.credited)
        .sum();
    if credited > 0 {
        // Credit notes were appended: the next period carries them to the eMSPs.
        let next_end = kvitto_service::Clock::now_ms(&kvitto_service::SystemClock);
        for cpo in &cpos {
            let statements = crate::settle_cmd::close(&cpo.admin, period_end, next_end).await?;
            outcome.statements += statements.len();
        }
        say(&format!(
            "{credited} disputed sessions credited; a second period closed to carry the credit notes"
        ));
        overview = wait_settled(&regulator.client, outcome.statements, SETTLE_TIMEOUT).await?;
        wait_converged(&clients, CONVERGE_TIMEOUT).await?;
    }

    // Results.
    let out = &options.out;
    std::fs::create_dir_all(out)?;
    let settlement_dir = out.join("settlement");
    let overview = crate::settle_cmd::fetch(&regulator.client, true)
        .await
        .unwrap_or(overview);
    crate::settle_cmd::export(&overview, &settlement_dir, period_end)?;
    std::fs::write(
        settlement_dir.join("overview.txt"),
        crate::settle_cmd::render(&overview),
    )?;
    let statements: Vec<_> = overview
        .periods
        .iter()
        .flat_map(|p| p.statements.iter())
        .collect();
    outcome.statements_acknowledged = statements
        .iter()
        .filter(|s| s.status == StatementStatus::Acknowledged)
        .count();
    for s in &statements {
        // Settled: acknowledged, or every disputed item credited (the credit notes go into the
        // next period's statement, which must itself be acknowledged).
        let fully_credited = s
            .dispute
            .as_ref()
            .is_some_and(|d| d.answered.is_some() && d.credited == d.items.len());
        if s.status != StatementStatus::Acknowledged && !fully_credited {
            outcome.problems.push(format!(
                "statement {} of {} to {} is {}",
                s.index, s.cpo, s.emsp, s.status
            ));
        }
        if let Some(problem) = &s.problem {
            outcome.problems.push(format!(
                "statement {} of {} to {} is not netted: {problem}",
                s.index, s.cpo, s.emsp
            ));
        }
    }
    outcome.netting_balanced = true;
    for period in &overview.periods {
        match crate::settle_cmd::net(period).and_then(|n| Ok(n.check_balanced()?)) {
            Ok(()) => {}
            Err(e) => {
                outcome.netting_balanced = false;
                outcome.problems.push(format!("netting: {e:#}"));
            }
        }
    }

    // Receipts: each driver fetches from every CPO and verifies offline against the policy.
    let policy_path = membership.with_file_name("policy.txt");
    let receipts_dir = out.join("receipts");
    for driver in &drivers {
        let secret = crate::receipt_cmd::load_driver_secret(&driver.secret_path)?;
        let dir = receipts_dir.join(&driver.contract_id);
        for cpo in &cpos {
            let (receipts, pending) = crate::receipt_cmd::fetch(&cpo.client, &secret).await?;
            if pending > 0 {
                outcome.problems.push(format!(
                    "{pending} receipts of {} at {} not yet covered by a checkpoint",
                    driver.contract_id, cpo.node.operator
                ));
            }
            for path in crate::receipt_cmd::write_receipts(&dir, &receipts)? {
                outcome.receipts_written += 1;
                let report = crate::receipt_cmd::verify_file(&path, Some(&policy_path), false)?;
                if report.all_passed() {
                    outcome.receipts_verified += 1;
                } else {
                    outcome
                        .problems
                        .push(format!("receipt {} does not verify", path.display()));
                }
            }
        }
    }
    if outcome.receipts_written == 0 {
        outcome.problems.push("no receipt was written".into());
    }

    // The regulator's audit, served by its node at /regulator.
    let audit_dir = regulator.node.dir.join("audit");
    let regulator_dir = regulator.node.dir.clone();
    let audited = tokio::task::spawn_blocking(move || {
        crate::audit_cmd::run(&regulator_dir, Some(&audit_dir))
    })
    .await??;
    let report_dir = out.join("audit");
    std::fs::create_dir_all(&report_dir)?;
    std::fs::copy(&audited.json, report_dir.join("report.json"))?;
    std::fs::copy(&audited.html, report_dir.join("report.html"))?;
    outcome.audit_findings = audited.report.findings.len();
    outcome.audit_rules = audited
        .report
        .findings
        .iter()
        .map(|f| f.rule.clone())
        .collect();
    for f in &audited.report.findings {
        outcome.problems.push(format!(
            "audit: {} {} entry {:?}: {}",
            f.rule, f.origin, f.index, f.message
        ));
    }
    std::fs::write(
        out.join("outcome.json"),
        serde_json::to_string_pretty(&outcome)?,
    )?;

    let example = std::fs::read_dir(&receipts_dir)
        .ok()
        .and_then(|mut d| d.next())
        .and_then(|e| e.ok())
        .and_then(|e| std::fs::read_dir(e.path()).ok()?.next()?.ok())
        .map(|e| e.path());
    println!();
    println!("kvitto devnet is up: {} nodes", members.len());
    for m in &members {
        let page = match m.node.role {
            "regulator" => "/regulator",
            _ => "/",
        };
        println!(
            "  {:<9} {:<7} {}{page}",
            m.node.role, m.node.operator, m.node.http
        );
    }
    println!("  driver page: {}/driver", cpos[0].node.http);
    println!();
    println!(
        "Settlement: {} statements, {} acknowledged; netting {}",
        outcome.statements,
        outcome.statements_acknowledged,
        if outcome.netting_balanced {
            "balances to zero"
        } else {
            "DOES NOT BALANCE"
        }
    );
    println!("  {}", settlement_dir.join("overview.txt").display());
    println!(
        "Receipts: {} written, {} verified, in {}",
        outcome.receipts_written,
        outcome.receipts_verified,
        receipts_dir.display()
    );
    if let Some(example) = &example {
        println!(
            "  try: {} receipt verify {} --policy {}",
            exe.display(),
            example.display(),
            policy_path.display()
        );
    }
    println!(
        "Audit: {} finding(s); {}",
        outcome.audit_findings,
        report_dir.join("report.html").display()
    );
    for problem in &outcome.problems {
        println!("  ! {problem}");
    }
    if options.exit_when_settled {
        println!(
            "{}",
            if outcome.all_verified() {
                "Everything verified."
            } else {
                "Not everything verified (see above)."
            }
        );
        return Ok(outcome);
    }
    println!();
    println!("Running until Ctrl-C.");
    // Ctrl-C or a termination request both stop the nodes (dropping `processes`).
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::select! {
        result = tokio::signal::ctrl_c() => result?,
        _ = terminate.recv() => {}
    }
    drop(processes);
    Ok(outcome)
}

fn say(text: &str) {
    eprintln!("== {text}");
}

/// The devnet's scale: at least one of each, and no more than a laptop runs in minutes (each
/// node is a process; sessions are simulated back-dated history, 25 minutes each).
const NODES: std::ops::RangeInclusive<usize> = 3..=16;
const CHARGERS: std::ops::RangeInclusive<usize> = 1..=64;
const SESSIONS: std::ops::RangeInclusive<usize> = 1..=1_000;
const DRIVERS: std::ops::RangeInclusive<usize> = 1..=1_000;

/// Refuses a scale outside the ranges above, naming the option, before anything starts.
fn check_scale(options: &DevnetOptions) -> Result<()> {
    for (flag, value, range, what) in [
        (
            "--nodes",
            options.nodes,
            NODES,
            "a CPO, an eMSP and the regulator at least",
        ),
        ("--chargers", options.chargers, CHARGERS, "chargers per CPO"),
        (
            "--sessions",
            options.sessions,
            SESSIONS,
            "sessions per charger",
        ),
        ("--drivers", options.drivers, DRIVERS, "drivers per eMSP"),
    ] {
        if !range.contains(&value) {
            bail!(
                "{flag} {value}: must be {} to {} ({what})",
                range.start(),
                range.end()
            );
        }
    }
    Ok(())
}

/// Every node listens on loopback at `base + i` for HTTP and for the peer-to-peer network.
/// A port already taken would only show as a node that never answers: say which, before
/// anything starts.
fn ports_free(options: &DevnetOptions) -> Result<()> {
    let (http, p2p, n) = (
        u32::from(options.http_port),
        u32::from(options.p2p_port),
        options.nodes as u32,
    );
    if http < p2p + n && p2p < http + n {
        bail!(
            "--http-port {http} and --p2p-port {p2p} overlap: {n} nodes use {http} to {} and {p2p} to {}",
            http + n - 1,
            p2p + n - 1
        );
    }
    for (what, flag, base) in [
        ("HTTP", "--http-port", options.http_port),
        ("peer-to-peer", "--p2p-port", options.p2p_port),
    ] {
        for i in 0..options.nodes {
            let port = u16::try_from(i)
                .ok()
                .and_then(|i| base.checked_add(i))
                .with_context(|| {
                    format!(
                        "{flag} {base}: {} nodes need ports above 65535",
                        options.nodes
                    )
                })?;
            if let Err(e) = std::net::TcpListener::bind(("127.0.0.1", port)) {
                bail!(
                    "node {}'s {what} port 127.0.0.1:{port} is not free ({e}); \
                     the devnet uses {flag} {base} to {}: choose another base with {flag}",
                    i + 1,
                    u32::from(base) + options.nodes as u32 - 1
                );
            }
        }
    }
    Ok(())
}

/// How long the nodes may take to mirror and witness every log after a change.
const CONVERGE_TIMEOUT: Duration = Duration::from_secs(120);
/// How long the eMSPs may take to check and answer every statement of a period (and the CPOs
/// every dispute).
const SETTLE_TIMEOUT: Duration = Duration::from_secs(180);

/// How long a node process may take to answer its first status request.
const NODE_START_TIMEOUT: Duration = Duration::from_secs(60);

/// Waits until the node answers, and fails at once, with the end of its log, if it exits.
async fn wait_ready(client: &Client, child: &mut Child, log: &Path) -> Result<()> {
    let deadline = Instant::now() + NODE_START_TIMEOUT;
    loop {
        // Exited first: another process on the port must not answer for a node that died.
        if let Some(status) = child.try_wait()? {
            bail!(
                "the node at {} exited ({status}) before it answered; the end of {}:\n{}",
                client.base(),
                log.display(),
                log_tail(log)
            );
        }
        if client.get_json::<Value>("/v1/status").await.is_ok() {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!(
                "{} did not answer within {NODE_START_TIMEOUT:?}; the end of {}:\n{}",
                client.base(),
                log.display(),
                log_tail(log)
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The last lines of a node's log, for an error message.
fn log_tail(log: &Path) -> String {
    const LINES: usize = 20;
    match std::fs::read_to_string(log) {
        Ok(text) => {
            let lines: Vec<&str> = text.lines().collect();
            lines[lines.len().saturating_sub(LINES)..].join("\n")
        }
        Err(e) => format!("(cannot read it: {e})"),
    }
}

async fn wait_converged(clients: &[Client], within: Duration) -> Result<()> {
    let deadline = Instant::now() + within;
    loop {
        let state = crate::testnet::convergence(clients).await?;
        if state.converged {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!(
                "the nodes did not converge within {within:?}: {}",
                state.problems.join("; ")
            );
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Waits until every one of `expected` statements is acknowledged, or disputed and answered.
async fn wait_settled(
    client: &Client,
    expected: usize,
    within: Duration,
) -> Result<crate::settle_cmd::Overview> {
    let deadline = Instant::now() + within;
    loop {
        let overview = crate::settle_cmd::fetch(client, false).await?;
        let statements: Vec<_> = overview
            .periods
            .iter()
            .flat_map(|p| p.statements.iter())
            .collect();
        let done = statements.iter().filter(|s| s.status.is_closed()).count();
        if statements.len() >= expected && done == statements.len() {
            return Ok(overview);
        }
        if Instant::now() > deadline {
            bail!(
                "{done} of {expected} statements settled within {within:?}; see {}/ and the node logs",
                client.base()
            );
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

async fn publish_tariff(cpo: &Member, text: &str, valid_from_ms: u64) -> Result<String> {
    let mut tariff: Value = serde_json::from_str(text).context("a devnet tariff")?;
    let (cc, pid) = cpo.node.operator.split_once('*').context("operator id")?;
    tariff["country_code"] = json!(cc);
    tariff["party_id"] = json!(pid);
    let id = tariff["id"].as_str().unwrap_or("DEVNET").to_owned();
    let _: Value = cpo
        .admin
        .admin_post(
            "/v1/admin/tariffs",
            &json!({ "tariff": tariff, "valid_from_ms": valid_from_ms }),
        )
        .await
        .context("publishing a tariff")?;
    Ok(id)
}

/// The fault the audit must find: `cheat` registers the charger that signed `readings` (its public
/// key is public on the victim's log) and bills the same signed readings again.
async fn double_bill(
    cheat: &Member,
    public_key: &[u8; 32],
    readings: &[SignedReading],
    uid: &str,
    start_ms: u64,
) -> Result<()> {
    let first = readings.first().context("no readings")?;
    let public_key = hex::encode(public_key);
    let tariff_id = "DEVNET-TIME";
    let _: Value = cheat
        .admin
        .admin_post(
            "/v1/admin/chargers",
            &json!({
                "public_key": public_key,
                "evse_id": format!("{}*E9999", cheat.node.operator),
                "meter_serial": "COPIED-1",
                "max_power_w": 22_000,
                "valid_from_ms": start_ms,
                "tariff_id": tariff_id,
            }),
        )
        .await
        .context("registering the copied charger")?;
    let _: Value = cheat
        .admin
        .admin_post(
            &format!("/v1/admin/sessions/{}/authorize", first.reading.session),
            &json!({ "uid": uid }),
        )
        .await?;
    cheat.admin.post_readings(readings).await?;
    Ok(())
}

/// Where `kvitto devnet` puts things when not told.
pub fn default_dirs(dir: Option<&Path>, out: Option<&Path>) -> (PathBuf, PathBuf) {
    let (nodes, default_out) = match dir {
        // The results go inside the given directory, beside the node directories.
        Some(dir) => (dir.to_path_buf(), dir.join("out")),
        None => {
            let base = std::env::temp_dir().join(format!(
                "kvitto-devnet-{}",
                kvitto_service::Clock::now_ms(&kvitto_service::SystemClock)
            ));
            (base.join("nodes"), base.join("out"))
        }
    };
    (nodes, out.map_or(default_out, Path::to_path_buf))
}
