//! The regulator's audit of a whole roaming network, from one node's data.
//!
//! A node mirrors every member's log. [`audit`] reads each of them (and the node's own) through
//! a [`LogSource`] and checks, per log: every entry replayed from index 0 with
//! [`kvitto_ledger::Ledger`]'s replay (reading signatures, registration at signing time,
//! counters, tariffs, power, registers, the privacy extension; its error code becomes the
//! finding's rule), every stored checkpoint against the log key and the tree recomputed from the
//! entries, cosignatures against the network's policy, and stored split-view evidence. Across
//! logs it finds readings billed twice: the same (charger key, counter) or the same readings
//! digest in two session records anywhere, which no single log's replay can see. It checks
//! settlement across logs ([`settlement`]): every statement's totals against the commitments it
//! covers, the ranges successive statements cover, and the acknowledgements, disputes and
//! answers between operators' logs. It adds daily statistics from the public session records
//! and renders the [`Report`] as JSON and as a self-contained HTML page ([`html::render`]).
//!
//! Not here: opening stores (the node does that, read-only), clocks (the caller gives the time),
//! or progress bars (the caller implements [`Progress`]).

mod checkpoints;
mod double_billing;
pub mod html;
mod replay;
mod report;
pub mod settlement;
mod source;
mod stats;

pub use report::{
    CheckReport, DailyStats, EntryRef, Finding, LogReport, Report, Verdict, REPORT_FORMAT,
};
pub use source::{LogInput, LogKind, LogSource, MemoryLog, SourceError, StoredNote};

use std::collections::HashSet;

use kvitto_core::NetworkId;
use kvitto_tlog::policy::Policy;

/// Rule codes of the findings this crate makes itself; replay findings carry the replay's code.
pub mod rules {
    /// The same (charger key, counter), or the same readings digest, in two session records.
    pub const READING_BILLED_TWICE: &str = "reading_billed_twice";
    /// The node does not hold the signed readings a session record binds; replay stops there.
    pub const READINGS_UNAVAILABLE: &str = "readings_unavailable";
    /// A stored checkpoint does not verify under the log's key.
    pub const CHECKPOINT_SIGNATURE_INVALID: &str = "checkpoint_signature_invalid";
    /// A stored checkpoint's root is not the root of the entries at its size.
    pub const CHECKPOINT_ROOT_MISMATCH: &str = "checkpoint_root_mismatch";
    /// A stored checkpoint covers more entries than the node holds.
    pub const CHECKPOINT_BEYOND_LOG: &str = "checkpoint_beyond_log";
    /// A cosignature by a policy witness does not verify.
    pub const COSIGNATURE_INVALID: &str = "cosignature_invalid";
    /// A log's checkpoint carries a cosignature by the log's own operator's witness.
    pub const OWN_LOG_COSIGNED: &str = "own_log_cosigned";
    /// The checkpoint stored as witnessed does not satisfy the network's policy.
    pub const WITNESSED_QUORUM_NOT_MET: &str = "witnessed_quorum_not_met";
    /// Two checkpoints signed by the log that cannot both be true.
    pub const SPLIT_VIEW: &str = "split_view";
}

/// What to audit.
#[derive(Debug)]
pub struct AuditInput<'a> {
    /// The roaming network's name (readings are bound to its id).
    pub network: String,
    /// The origin of the node whose data this is.
    pub auditor: String,
    /// When the audit runs, Unix milliseconds (for `generated_at`).
    pub now_ms: u64,
    /// The network's tlog-policy from the membership; `None` for a node outside a network
    /// (cosignatures are then not checked).
    pub policy: Option<Policy>,
    /// Every log: the node's own and each mirror.
    pub logs: Vec<LogInput<'a>>,
    /// The auditing node's witness states of other logs (`kvitto_witness::LogState` encodings).
    pub witness_states: Vec<Vec<u8>>,
    /// Evidence, stored by the node, that its own log showed a split view (a `SplitView`
    /// encoding).
    pub own_split_view: Option<Vec<u8>>,
}

/// Why the audit could not run: the input is unusable.
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    #[error("reading the log {origin}: {error}")]
    Source { origin: String, error: SourceError },
    #[error("{0}")]
    Input(String),
}

/// Told how far the audit is; the node draws a progress bar with it.
pub trait Progress {
    /// A log of `entries` entries is being read.
    fn log_started(&mut self, origin: &str, entries: u64);
    /// `count` more entries of it were read and replayed.
    fn advanced(&mut self, count: u64);
    fn log_finished(&mut self);
}

/// A [`Progress`] that shows nothing.
#[derive(Debug, Default)]
pub struct NoProgress;

impl Progress for NoProgress {
    fn log_started(&mut self, _origin: &str, _entries: u64) {}
    fn advanced(&mut self, _count: u64) {}
    fn log_finished(&mut self) {}
}

/// Counts per check, summed over logs.
#[derive(Debug, Default)]
pub(crate) struct Counts {
    pub entries: u64,
    pub entries_replayed: u64,
    pub readings_verified: u64,
    pub checkpoints: u64,
    pub cosignatures: u64,
    pub witnessed: u64,
    pub split_views: u64,
    pub records: u64,
    pub settlement: settlement::SettlementCounts,
}

/// Audits every log in `input`. Findings are data in the report; an `Err` means a store could
/// not be read or the input contradicts itself.
pub fn audit(input: &AuditInput<'_>, progress: &mut dyn Progress) -> Result<Report, AuditError> {
    let mut origins = HashSet::new();
    for log in &input.logs {
        if !origins.insert(log.origin.as_str()) {
            return Err(AuditError::Input(format!(
                "the log {} is listed twice",
                log.origin
            )));
        }
        if kvitto_tlog::note::Verifier::name(&log.log_key) != log.origin {
            return Err(AuditError::Input(format!(
                "the key of log {} is named {:?}; a log key is named by its origin",
                log.origin,
                kvitto_tlog::note::Verifier::name(&log.log_key)
            )));
        }
    }
    let network = NetworkId::of_name(&input.network);
    let witness = checkpoints::WitnessView::decode(input);
    let mut counts = Counts::default();
    let mut findings = Vec::new();
    let mut scans = Vec::with_capacity(input.logs.len());
    for log in &input.logs {
        let scan = replay::scan(
            network,
            log,
            &witness,
            input.policy.as_ref(),
            &mut counts,
            &mut findings,
            progress,
        )
        .map_err(|error| AuditError::Source {
            origin: log.origin.clone(),
            error,
        })?;
        scans.push(scan);
    }
    findings.extend(checkpoints::split_views(input, &witness, &mut counts));
    findings.extend(
        double_billing::check(&input.logs, &scans)
            .map_err(|(origin, error)| AuditError::Source { origin, error })?,
    );
    let settlement_logs: Vec<settlement::LogEntries> = input
        .logs
        .iter()
        .zip(&mut scans)
        .map(|(log, scan)| {
            std::mem::take(&mut scan.settlement).finish(
                log.origin.clone(),
                log.operator.clone(),
                scan.size,
            )
        })
        .collect();
    let (settlement_findings, settlement_counts) = settlement::check(&settlement_logs);
    drop(settlement_logs);
    counts.settlement = settlement_counts;
    findings.extend(settlement_findings);
    let daily = stats::daily(&input.logs, &scans);
    let logs = input
        .logs
        .iter()
        .zip(&scans)
        .map(|(log, scan)| scan.report(log))
        .collect();
    let checks = checks(&counts, &findings);
    Ok(Report {
        format: REPORT_FORMAT.to_owned(),
        network: input.network.clone(),
        generated_at: rfc3339(input.now_ms),
        auditor: input.auditor.clone(),
        verdict: if findings.is_empty() {
            Verdict::Clean
        } else {
            Verdict::Findings
        },
        logs,
        checks,
        findings,
        daily,
    })
}

/// Names of the checks, as findings and the report's `checks` carry them.
pub mod check_names {
    pub const REPLAY: &str = "replay";
    pub const READING_SIGNATURES: &str = "reading_signatures";
    pub const CHECKPOINTS: &str = "checkpoints";
    pub const COSIGNATURES: &str = "cosignatures";
    pub const SPLIT_VIEWS: &str = "split_views";
    pub const READING_BILLED_TWICE: &str = "reading_billed_twice";
    pub const PRICE_RECOMPUTATION: &str = "price_recomputation";
    pub const SETTLEMENT: &str = "settlement";
}

/// The checks in report order, with the items each covered and its findings.
fn checks(counts: &Counts, findings: &[Finding]) -> Vec<CheckReport> {
    use check_names::*;
    let row = |check: &str, description: &str, checked: u64| CheckReport {
        check: check.to_owned(),
        description: description.to_owned(),
        checked,
        findings: findings.iter().filter(|f| f.check == check).count() as u64,
        counts: std::collections::BTreeMap::new(),
    };
    vec![
        row(
            REPLAY,
            "every entry re-derived from index 0 under the ledger's rules (registration at signing time, counters, chain, tariff in force, power, registers, privacy extension)",
            counts.entries_replayed,
        ),
        row(
            READING_SIGNATURES,
            "signed readings of replayed session records verified under the registered charger key (strict Ed25519); a bad one is a replay finding",
            counts.readings_verified,
        ),
        row(
            CHECKPOINTS,
            "stored checkpoints verified under the log key, with their roots recomputed from the entries",
            counts.checkpoints,
        ),
        row(
            COSIGNATURES,
            "cosignatures by the policy's witnesses verified, none by the log's own operator, and the witnessed checkpoint's quorum met",
            counts.cosignatures + counts.witnessed,
        ),
        row(
            SPLIT_VIEWS,
            "stored evidence of two checkpoints of one log that cannot both be true, verified",
            counts.split_views,
        ),
        row(
            READING_BILLED_TWICE,
            "session records of all logs compared: no (charger key, counter) and no readings digest in two records",
            counts.records,
        ),
        row(
            PRICE_RECOMPUTATION,
            "prices recomputed from disclosed evidence (amount openings); the node holds none, so none were recomputed",
            0,
        ),
        CheckReport {
            counts: counts.settlement.named(),
            ..row(
                SETTLEMENT,
                "statements' totals verified against the commitments they cover, successive statements' ranges, and acknowledgements, disputes, answers and credit notes against the entries they name",
                counts.settlement.entries,
            )
        },
    ]
}

/// `ms` as RFC 3339 UTC to the second.
fn rfc3339(ms: u64) -> String {
    i64::try_from(ms)
        .ok()
        .and_then(chrono::DateTime::from_timestamp_millis)
        .map(|t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_else(|| format!("{ms} ms"))
}

#[cfg(test)]
mod tests;
