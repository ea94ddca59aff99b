//! `kvitto audit`: the regulator's audit of the whole network from one node's data.
//!
//! Opens the node's own log and every mirror read-only (the node may keep running), hands them
//! to `kvitto_audit::audit` with the membership's keys and policy, and writes `report.json` and
//! `report.html`. The audit logic lives in `kvitto-audit`; this module only opens stores, draws
//! progress and prints.

use std::io::IsTerminal as _;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use indicatif::{ProgressBar, ProgressStyle};
use kvitto_audit::{AuditInput, LogInput, LogKind, LogSource, Report, SourceError, StoredNote};
use kvitto_core::keys::KeyId;
use kvitto_core::reading::SignedReading;
use kvitto_store::{
    LogStore, RocksStore, StoreError, META_COSIGNED, META_OWN_SPLIT_VIEW, META_WITNESSED,
    META_WITNESS_PREFIX,
};

use crate::config::{NodeConfig, NodeDir};

/// What `kvitto audit` produced.
#[derive(Debug)]
pub struct AuditOutcome {
    pub report: Report,
    pub json: PathBuf,
    pub html: PathBuf,
}

/// A log's store, opened read-only, as the audit reads it.
struct StoreSource(LogStore<RocksStore>);

fn source_error(e: StoreError) -> SourceError {
    SourceError(e.to_string())
}

impl LogSource for StoreSource {
    fn size(&self) -> Result<u64, SourceError> {
        self.0.size().map_err(source_error)
    }

    fn entries(&self, start: u64, count: usize) -> Result<Vec<Vec<u8>>, SourceError> {
        self.0.entries(start, count).map_err(source_error)
    }

    fn readings(
        &self,
        key_id: &KeyId,
        first: u64,
        last: u64,
    ) -> Result<Option<Vec<SignedReading>>, SourceError> {
        let mut readings = Vec::new();
        for counter in first..=last {
            match self.0.reading(key_id, counter).map_err(source_error)? {
                Some(reading) => readings.push(reading),
                None => return Ok(None),
            }
        }
        Ok(Some(readings))
    }

    fn checkpoints(&self) -> Result<Vec<(u64, Vec<u8>)>, SourceError> {
        self.0.checkpoints().map_err(source_error)
    }

    fn note(&self, which: StoredNote) -> Result<Option<Vec<u8>>, SourceError> {
        match which {
            // The store writes the latest checkpoint into the history too.
            StoredNote::Latest => Ok(None),
            StoredNote::Cosigned => self.0.meta(META_COSIGNED).map_err(source_error),
            StoredNote::Witnessed => self.0.meta(META_WITNESSED).map_err(source_error),
        }
    }
}

fn open_read_only(path: &Path) -> Result<StoreSource> {
    if !path.join("CURRENT").exists() {
        bail!("{} holds no database", path.display());
    }
    let kv = RocksStore::open_read_only(path)
        .with_context(|| format!("opening {} read-only", path.display()))?;
    let store =
        LogStore::open(kv).with_context(|| format!("reading the log in {}", path.display()))?;
    Ok(StoreSource(store))
}

/// One progress bar per log on stderr, hidden when stderr is not a terminal.
struct Bars {
    show: bool,
    bar: ProgressBar,
}

impl kvitto_audit::Progress for Bars {
    fn log_started(&mut self, origin: &str, entries: u64) {
        self.bar = if self.show {
            ProgressBar::new(entries)
        } else {
            ProgressBar::hidden()
        };
        self.bar.set_style(
            ProgressStyle::with_template("{prefix} [{bar:40}] {pos}/{len} entries ({eta})")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        self.bar.set_prefix(origin.to_owned());
    }

    fn advanced(&mut self, count: u64) {
        self.bar.inc(count);
    }

    fn log_finished(&mut self) {
        self.bar.finish_and_clear();
    }
}

/// Audits the node in `dir` and writes the reports into `out` (default `<dir>/audit`).
pub fn run(dir: &Path, out: Option<&Path>) -> Result<AuditOutcome> {
    let config = NodeConfig::load(dir)?;
    let node_dir = NodeDir(dir.to_path_buf());
    let own_origin = config.origin();
    // Every log: (origin, operator, kind, key, store path).
    let mut logs = Vec::new();
    let policy = match &config.membership {
        Some(_) => {
            let membership = crate::network::load_membership(&config, dir)?;
            if membership.member_by_origin(&own_origin).is_none() {
                bail!("the membership has no member with origin {own_origin}");
            }
            for member in membership.members() {
                let (kind, path) = if member.origin == own_origin {
                    (LogKind::Own, node_dir.db())
                } else {
                    let id = kvitto_replica::log_id(&member.operator);
                    (LogKind::Mirror, node_dir.mirror_db(&id))
                };
                logs.push((
                    member.origin.clone(),
                    member.operator.clone(),
                    kind,
                    member.log_key.clone(),
                    path,
                ));
            }
            Some(membership.policy().clone())
        }
        None => {
            let key = crate::node::log_verifier(dir)?;
            logs.push((
                own_origin.clone(),
                config.operator.clone(),
                LogKind::Own,
                key,
                node_dir.db(),
            ));
            None
        }
    };
    let mut stores = Vec::with_capacity(logs.len());
    for (origin, _, kind, _, path) in &logs {
        let store = open_read_only(path).with_context(|| match kind {
            LogKind::Own => "the node's own log: has this node run yet?".to_owned(),
            LogKind::Mirror => format!(
                "the mirror of {origin}: the node opens a mirror for every member when it starts"
            ),
        })?;
        stores.push(store);
    }
    let own = logs
        .iter()
        .position(|l| l.2 == LogKind::Own)
        .map(|i| &stores[i].0)
        .context("no own log")?;
    let witness_states = own
        .meta_with_prefix(META_WITNESS_PREFIX)?
        .into_iter()
        .map(|(_, state)| state)
        .collect();
    let own_split_view = own.meta(META_OWN_SPLIT_VIEW)?;
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
    let input = AuditInput {
        network: config.network.clone(),
        auditor: own_origin,
        now_ms,
        policy,
        logs: logs
            .into_iter()
            .zip(&stores)
            .map(|((origin, operator, kind, log_key, _), store)| LogInput {
                origin,
                operator,
                kind,
                log_key,
                source: store,
            })
            .collect(),
        witness_states,
        own_split_view,
    };
    let mut bars = Bars {
        show: std::io::stderr().is_terminal(),
        bar: ProgressBar::hidden(),
    };
    let report = kvitto_audit::audit(&input, &mut bars)?;
    let out = out.map_or_else(|| dir.join("audit"), Path::to_path_buf);
    std::fs::create_dir_all(&out).with_context(|| format!("creating {}", out.display()))?;
    let json = out.join("report.json");
    let html = out.join("report.html");
    std::fs::write(&json, report.to_json() + "\n")
        .with_context(|| format!("writing {}", json.display()))?;
    std::fs::write(&html, kvitto_audit::html::render(&report))
        .with_context(|| format!("writing {}", html.display()))?;
    Ok(AuditOutcome { report, json, html })
}

/// The short summary `kvitto audit` prints: logs, checks, the verdict and every finding.
pub fn summary(outcome: &AuditOutcome) -> String {
    let report = &outcome.report;
    let mut text = format!(
        "audit of network {} from {} ({})\n",
        report.network, report.auditor, report.generated_at
    );
    for log in &report.logs {
        text.push_str(&format!(
            "  log  {:<40} {:>8} entries, {:>8} replayed, {:>7} sessions, {:>8} kWh, witnessed at {}\n",
            log.origin,
            log.size,
            log.entries_replayed,
            log.sessions,
            log.energy_wh / 1000,
            log.witnessed_size
                .map_or("-".to_owned(), |s| s.to_string())
        ));
    }
    for check in &report.checks {
        let counts: String = check
            .counts
            .iter()
            .map(|(name, n)| format!(", {n} {name}"))
            .collect();
        text.push_str(&format!(
            "  {}  {:<22} {:>9} checked, {} finding(s){counts}\n",
            if check.findings == 0 { "ok " } else { "BAD" },
            check.check,
            check.checked,
            check.findings
        ));
    }
    if report.findings.is_empty() {
        text.push_str("verdict: clean, no findings\n");
    } else {
        text.push_str(&format!("verdict: {} finding(s)\n", report.findings.len()));
        for f in &report.findings {
            let mut place = f.origin.clone();
            if let Some(index) = f.index {
                place.push_str(&format!(" entry {index}"));
            }
            if let Some(size) = f.tree_size {
                place.push_str(&format!(" checkpoint size {size}"));
            }
            for r in &f.related {
                place.push_str(&format!(" (with {} entry {})", r.origin, r.index));
            }
            text.push_str(&format!("  {}  {place}: {}\n", f.rule, f.message));
        }
    }
    text.push_str(&format!(
        "report: {} and {}\n",
        outcome.json.display(),
        outcome.html.display()
    ));
    text
}
