//! The audit report (`report.json`): what was audited, which checks ran on how many items, the
//! findings with their evidence, and daily statistics. `specs/audit.md` describes every field.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::source::LogKind;

/// The report format's name and version.
pub const REPORT_FORMAT: &str = "kvitto-audit/1";

/// Everything one audit found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Report {
    /// [`REPORT_FORMAT`].
    pub format: String,
    /// The roaming network's name.
    pub network: String,
    /// When the audit ran, RFC 3339 UTC, from the caller's clock.
    pub generated_at: String,
    /// The origin of the node whose data was audited.
    pub auditor: String,
    /// `clean` when there are no findings, else `findings`.
    pub verdict: Verdict,
    pub logs: Vec<LogReport>,
    pub checks: Vec<CheckReport>,
    pub findings: Vec<Finding>,
    /// Sessions and energy per operator per UTC day, from the public session records.
    pub daily: Vec<DailyStats>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Clean,
    Findings,
}

/// One audited log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LogReport {
    pub origin: String,
    pub operator: String,
    pub kind: LogKind,
    /// Entries the node holds.
    pub size: u64,
    /// RFC 6962 root of those entries, base64.
    pub root: String,
    /// Entries that replayed from index 0 before the first replay finding (all of them when
    /// there is none).
    pub entries_replayed: u64,
    /// Session records held.
    pub sessions: u64,
    /// Energy of those records, as published (to the kWh), in Wh.
    pub energy_wh: u64,
    /// Stored signed checkpoints.
    pub checkpoints: u64,
    /// Size of the latest checkpoint held, if any.
    pub latest_checkpoint_size: Option<u64>,
    /// Size of the latest checkpoint with collected cosignatures, if any.
    pub cosigned_size: Option<u64>,
    /// Names of the witness keys whose cosignatures on that checkpoint verify.
    pub cosigners: Vec<String>,
    /// Size of the latest checkpoint witnessed under the network's policy, if any.
    pub witnessed_size: Option<u64>,
}

/// One check and how many items it covered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CheckReport {
    /// A stable snake_case name (`specs/audit.md`).
    pub check: String,
    /// What the check does, in a sentence.
    pub description: String,
    /// Items checked (entries, readings, checkpoints, cosignatures, records, …).
    pub checked: u64,
    /// Findings this check produced.
    pub findings: u64,
    /// Further named counts, for checks that have them (`settlement`: statements by status).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub counts: BTreeMap<String, u64>,
}

/// A log entry, named by its log's origin and its index.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct EntryRef {
    pub origin: String,
    pub index: u64,
}

/// Something that is wrong, with what is needed to act on it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// The check that found it (a [`CheckReport::check`] name).
    pub check: String,
    /// A stable snake_case code (`specs/audit.md`); for a replay finding, the replay's code.
    pub rule: String,
    /// The log at fault (or, for a reading billed twice, the later of the two in audit order).
    pub origin: String,
    /// The entry index, when the finding is about an entry.
    pub index: Option<u64>,
    /// The tree size, when the finding is about a checkpoint.
    pub tree_size: Option<u64>,
    /// A lower-case sentence saying what was seen.
    pub message: String,
    /// Other entries the finding involves (the entry it conflicts with).
    pub related: Vec<EntryRef>,
    /// Named values: keys, counters, roots, notes; stable names per rule.
    pub evidence: BTreeMap<String, String>,
}

impl Finding {
    pub(crate) fn new(
        check: &str,
        rule: &str,
        origin: &str,
        message: impl Into<String>,
    ) -> Finding {
        Finding {
            check: check.to_owned(),
            rule: rule.to_owned(),
            origin: origin.to_owned(),
            index: None,
            tree_size: None,
            message: message.into(),
            related: Vec::new(),
            evidence: BTreeMap::new(),
        }
    }

    pub(crate) fn at(mut self, index: u64) -> Finding {
        self.index = Some(index);
        self
    }

    pub(crate) fn at_size(mut self, size: u64) -> Finding {
        self.tree_size = Some(size);
        self
    }

    pub(crate) fn with(mut self, name: &str, value: impl ToString) -> Finding {
        self.evidence.insert(name.to_owned(), value.to_string());
        self
    }

    pub(crate) fn related(mut self, origin: &str, index: u64) -> Finding {
        self.related.push(EntryRef {
            origin: origin.to_owned(),
            index,
        });
        self
    }
}

/// One operator's public session records of one UTC day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DailyStats {
    /// `YYYY-MM-DD`, the UTC day of the records' (hour-rounded) start.
    pub date: String,
    pub operator: String,
    pub origin: String,
    pub sessions: u64,
    /// Sum of the records' energy (each rounded to the kWh), in Wh.
    pub energy_wh: u64,
}

impl Report {
    pub fn is_clean(&self) -> bool {
        self.findings.is_empty()
    }

    /// The report as pretty-printed JSON.
    pub fn to_json(&self) -> String {
        // Every field is a string, number, bool, list or map with string keys: serialising
        // cannot fail.
        serde_json::to_string_pretty(self).unwrap_or_default()
    }
}
