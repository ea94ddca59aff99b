//! Settlement checks across logs: statements against the commitments they cover, the ranges
//! successive statements cover, and the references between a statement, its acknowledgement or
//! dispute, and the dispute's answer (`specs/audit.md`, "Settlement").
//!
//! While the audit reads a log, a [`Collector`] keeps only what these checks need: per session
//! record that a statement can cover, its index, counterparty, currency (resolved from the
//! tariff it names) and amount commitments; and every settlement entry with its leaf hash.
//! [`check`] then compares them across all logs. The coverage rule and the total check are
//! `kvitto_ledger::settlement`'s; which acknowledgement, dispute or answer counts follows the
//! network-wide settlement view a node keeps (an acknowledgement or dispute counts only from the
//! counterparty's log, an answer only from the statement's log, each naming its entry by origin,
//! index and leaf hash).

use std::collections::{BTreeMap, HashMap};

use kvitto_core::entry::{Entry, SessionRecord, TariffPublication};
use kvitto_core::settlement::{
    self as core_settlement, AnswerOutcome, EntryRef, SettlementStatement, StatementDispute,
};
use kvitto_ledger::settlement::{verify_statement, Coverage, StatementProblem};

use crate::check_names::SETTLEMENT as CHECK;
use crate::report::Finding;

/// Rule codes of the settlement check.
pub mod rules {
    /// A statement's totals do not verify against the commitments it covers.
    pub const STATEMENT_TOTAL_INVALID: &str = "statement_total_invalid";
    /// A statement covers entries the previous statement for its counterparty and currency
    /// already covered.
    pub const STATEMENT_COVERAGE_OVERLAP: &str = "statement_coverage_overlap";
    /// A statement leaves entries after the previous statement (or, for the first, covered
    /// entries before it) uncovered.
    pub const STATEMENT_COVERAGE_GAP: &str = "statement_coverage_gap";
    /// An acknowledgement, dispute, answer or credit note names an entry that is not there, or
    /// comes from a log whose word does not count.
    pub const SETTLEMENT_REFERENCE_UNKNOWN: &str = "settlement_reference_unknown";
    /// A dispute with no answer on the statement's log.
    pub const DISPUTE_UNANSWERED: &str = "dispute_unanswered";
    /// An answer whose items are not the dispute's, or whose credit is not a credit note for
    /// the item's session.
    pub const ANSWER_ITEM_MISMATCH: &str = "answer_item_mismatch";
    /// The counterparty both acknowledged and disputed a statement.
    pub const STATEMENT_BOTH_ACKNOWLEDGED_AND_DISPUTED: &str =
        "statement_both_acknowledged_and_disputed";
}

/// The rule codes [`check`] reports.
pub const RULES: &[&str] = &[
    rules::STATEMENT_TOTAL_INVALID,
    rules::STATEMENT_COVERAGE_OVERLAP,
    rules::STATEMENT_COVERAGE_GAP,
    rules::SETTLEMENT_REFERENCE_UNKNOWN,
    rules::DISPUTE_UNANSWERED,
    rules::ANSWER_ITEM_MISMATCH,
    rules::STATEMENT_BOTH_ACKNOWLEDGED_AND_DISPUTED,
];

/// A session record a statement can cover: billed to a counterparty, priced by a tariff of
/// the same log whose currency is known, with amount commitments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BilledSession {
    pub index: u64,
    pub counterparty: String,
    pub currency: String,
    pub amount_excl_vat: [u8; 32],
    pub amount_incl_vat: [u8; 32],
}

/// A settlement entry, where it is and its RFC 6962 leaf hash.
#[derive(Debug, Clone)]
pub struct SettlementEntry {
    pub index: u64,
    pub leaf_hash: [u8; 32],
    pub entry: Entry,
}

/// What [`check`] needs of one log.
#[derive(Debug, Clone)]
pub struct LogEntries {
    pub origin: String,
    /// The member's operator (party id): whose acknowledgements and disputes the log carries.
    pub operator: String,
    /// Entries the node holds of the log.
    pub size: u64,
    /// Session records a statement can cover, in log order.
    pub sessions: Vec<BilledSession>,
    /// Settlement entries, in log order.
    pub entries: Vec<SettlementEntry>,
}

/// What [`check`] counted. `acknowledged`, `disputed` (not answered), `answered` and `pending`
/// split `statements`, as a node's settlement view does: an acknowledgement wins over a
/// dispute, and a statement is answered when its counterparty's first dispute is.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SettlementCounts {
    /// Settlement entries of all logs.
    pub entries: u64,
    pub statements: u64,
    pub acknowledged: u64,
    pub disputed: u64,
    pub answered: u64,
    pub pending: u64,
}

impl SettlementCounts {
    /// The counts as the check report names them.
    pub fn named(&self) -> BTreeMap<String, u64> {
        [
            ("statements", self.statements),
            ("acknowledged", self.acknowledged),
            ("disputed", self.disputed),
            ("answered", self.answered),
            ("pending", self.pending),
        ]
        .into_iter()
        .map(|(name, n)| (name.to_owned(), n))
        .collect()
    }
}

/// Whether the audit keeps `entry` for [`check`] as a settlement entry.
pub fn is_settlement_entry(entry: &Entry) -> bool {
    matches!(
        entry,
        Entry::SettlementStatement(_)
            | Entry::CreditNote(_)
            | Entry::StatementAcknowledged(_)
            | Entry::StatementDisputed(_)
            | Entry::DisputeAnswered(_)
    )
}

/// Collects one log's [`LogEntries`] while the audit reads it, entry by entry in log order.
#[derive(Debug, Default)]
pub struct Collector {
    /// Currency of each tariff published so far, by index; a session names an earlier tariff.
    currencies: HashMap<u64, String>,
    sessions: Vec<BilledSession>,
    entries: Vec<SettlementEntry>,
}

impl Collector {
    pub fn tariff(&mut self, index: u64, tariff: &TariffPublication) {
        if let Some(currency) = tariff_currency(&tariff.tariff_json) {
            self.currencies.insert(index, currency);
        }
    }

    /// Keeps the record if a statement can cover it (`kvitto_ledger::settlement::covers`: a
    /// counterparty, amount commitments and a tariff with a currency).
    pub fn session(&mut self, index: u64, record: &SessionRecord) {
        let (Some(counterparty), Some(privacy), Some(tariff)) =
            (&record.counterparty, &record.privacy, &record.tariff)
        else {
            return;
        };
        let Some(currency) = self.currencies.get(&tariff.index) else {
            return;
        };
        self.sessions.push(BilledSession {
            index,
            counterparty: counterparty.clone(),
            currency: currency.clone(),
            amount_excl_vat: privacy.amount_excl_vat,
            amount_incl_vat: privacy.amount_incl_vat,
        });
    }

    /// Keeps `entry` if it is a settlement entry.
    pub fn entry(&mut self, index: u64, leaf_hash: [u8; 32], entry: Entry) {
        if is_settlement_entry(&entry) {
            self.entries.push(SettlementEntry {
                index,
                leaf_hash,
                entry,
            });
        }
    }

    pub fn finish(self, origin: String, operator: String, size: u64) -> LogEntries {
        LogEntries {
            origin,
            operator,
            size,
            sessions: self.sessions,
            entries: self.entries,
        }
    }
}

/// The currency of an OCPI tariff: its `currency` field, if it is an ISO 4217 code.
fn tariff_currency(json: &str) -> Option<String> {
    let value: serde_json::Value = serde_json::from_str(json).ok()?;
    let currency = value.get("currency")?.as_str()?;
    core_settlement::is_currency(currency).then(|| currency.to_owned())
}

/// Checks the settlement entries of all logs against each other (see the module docs).
/// Findings come in audit order: logs as given, then entry index.
pub fn check(logs: &[LogEntries]) -> (Vec<Finding>, SettlementCounts) {
    let network = Network::new(logs);
    let mut counts = SettlementCounts {
        entries: logs.iter().map(|l| l.entries.len() as u64).sum(),
        ..SettlementCounts::default()
    };
    let mut findings = Vec::new();
    for log in logs {
        check_totals(log, &mut findings);
        check_coverage_ranges(log, &mut findings);
    }
    let responses = network.responses(&mut findings);
    let answers = network.answers(&mut findings);
    network.credit_references(&mut findings);
    for log in logs {
        for (index, statement) in statements(log) {
            counts.statements += 1;
            let key = (log.origin.as_str(), index);
            let acks = responses.acks.get(&key).map_or(&[][..], Vec::as_slice);
            let disputes = responses.disputes.get(&key).map_or(&[][..], Vec::as_slice);
            if let (Some(&ack), Some(&(d_origin, d_index, _))) = (acks.first(), disputes.first()) {
                let dispute = (d_origin, d_index);
                let (later, earlier, what) = if ack.1 > dispute.1 {
                    (ack, dispute, "acknowledged it after disputing it")
                } else {
                    (dispute, ack, "disputed it after acknowledging it")
                };
                findings.push(
                    Finding::new(
                        CHECK,
                        rules::STATEMENT_BOTH_ACKNOWLEDGED_AND_DISPUTED,
                        later.0,
                        format!(
                            "{} both acknowledged and disputed the statement at {} entry {index}: it {what} (entry {})",
                            statement.counterparty, log.origin, earlier.1
                        ),
                    )
                    .at(later.1)
                    .related(&log.origin, index)
                    .related(earlier.0, earlier.1)
                    .with("counterparty", &statement.counterparty),
                );
            }
            for &(origin, dispute_index, dispute) in disputes {
                if answers.contains_key(&(origin, dispute_index)) {
                    continue;
                }
                findings.push(
                    Finding::new(
                        CHECK,
                        rules::DISPUTE_UNANSWERED,
                        origin,
                        format!(
                            "the dispute of {} item(s) of the statement at {} entry {index} has no answer on {}",
                            dispute.items.len(),
                            log.origin,
                            log.origin
                        ),
                    )
                    .at(dispute_index)
                    .related(&log.origin, index)
                    .with("items", dispute.items.len())
                    .with("answer_expected_on", &log.origin),
                );
            }
            match (acks.first(), disputes.first()) {
                (Some(_), _) => counts.acknowledged += 1,
                (None, Some(&(origin, dispute_index, _))) => {
                    if answers.contains_key(&(origin, dispute_index)) {
                        counts.answered += 1;
                    } else {
                        counts.disputed += 1;
                    }
                }
                (None, None) => counts.pending += 1,
            }
        }
    }
    let position: HashMap<&str, usize> = logs
        .iter()
        .enumerate()
        .map(|(i, l)| (l.origin.as_str(), i))
        .collect();
    findings.sort_by_key(|f| (position.get(f.origin.as_str()).copied(), f.index));
    (findings, counts)
}

fn statements(log: &LogEntries) -> impl Iterator<Item = (u64, &SettlementStatement)> {
    log.entries.iter().filter_map(|e| match &e.entry {
        Entry::SettlementStatement(s) => Some((e.index, s)),
        _ => None,
    })
}

/// The session records and credit notes of `log` a statement for (`counterparty`, `currency`)
/// covers in `from..to`, in log order.
fn coverage(log: &LogEntries, counterparty: &str, currency: &str, from: u64, to: u64) -> Coverage {
    let mut coverage = Coverage::default();
    if from >= to {
        return coverage;
    }
    let first = log.sessions.partition_point(|s| s.index < from);
    coverage.sessions = log.sessions[first..]
        .iter()
        .take_while(|s| s.index < to)
        .filter(|s| s.counterparty == counterparty && s.currency == currency)
        .map(|s| (s.index, s.amount_excl_vat, s.amount_incl_vat))
        .collect();
    let first = log.entries.partition_point(|e| e.index < from);
    coverage.credits = log.entries[first..]
        .iter()
        .take_while(|e| e.index < to)
        .filter_map(|e| match &e.entry {
            Entry::CreditNote(c) if c.counterparty == counterparty && c.currency == currency => {
                Some((e.index, c.amount_excl_vat, c.amount_incl_vat))
            }
            _ => None,
        })
        .collect();
    coverage
}

/// Rule 1: each statement's four totals against the commitments it covers.
fn check_totals(log: &LogEntries, findings: &mut Vec<Finding>) {
    for (index, s) in statements(log) {
        let covered = coverage(log, &s.counterparty, &s.currency, s.from_index, index);
        let Err(problem) = verify_statement(&log.origin, index, s, &covered) else {
            continue;
        };
        let finding = Finding::new(
            CHECK,
            rules::STATEMENT_TOTAL_INVALID,
            &log.origin,
            format!(
                "the statement to {} in {} for entries {}..{index} does not check: {problem}",
                s.counterparty, s.currency, s.from_index
            ),
        )
        .at(index)
        .with("counterparty", &s.counterparty)
        .with("currency", &s.currency)
        .with("from_index", s.from_index);
        findings.push(match problem {
            StatementProblem::CountMismatch {
                kind,
                stated,
                covered,
            } => finding
                .with("sum", kind)
                .with("failure", "count")
                .with("stated_count", stated)
                .with("covered_count", covered),
            StatementProblem::ProofRejected { kind, reason } => finding
                .with("sum", kind)
                .with("failure", "proof")
                .with("reason", reason),
        });
    }
}

/// Rule 2: per (counterparty, currency), each statement starts right after the previous one;
/// the first leaves nothing it could cover before it.
fn check_coverage_ranges(log: &LogEntries, findings: &mut Vec<Finding>) {
    let mut previous: HashMap<(&str, &str), u64> = HashMap::new();
    for (index, s) in statements(log) {
        let pair = (s.counterparty.as_str(), s.currency.as_str());
        let items = |from: u64, to: u64| {
            let c = coverage(log, pair.0, pair.1, from, to);
            let first = c.sessions.first().map(|x| x.0).into_iter();
            let first = first.chain(c.credits.first().map(|x| x.0)).min();
            (c.sessions.len() + c.credits.len(), first)
        };
        let what = format!("the statement to {} in {}", s.counterparty, s.currency);
        match previous.insert(pair, index) {
            None => {
                let (uncovered, first) = items(0, s.from_index);
                if let Some(first) = first {
                    findings.push(
                        Finding::new(
                            CHECK,
                            rules::STATEMENT_COVERAGE_GAP,
                            &log.origin,
                            format!(
                                "{what} is the first and covers from entry {}, leaving {uncovered} earlier session record(s) and credit note(s) it covers unbilled, from entry {first}",
                                s.from_index
                            ),
                        )
                        .at(index)
                        .with("from_index", s.from_index)
                        .with("entries_uncovered", uncovered)
                        .with("first_uncovered_index", first),
                    );
                }
            }
            Some(before) => {
                let expected = before + 1;
                if s.from_index < expected {
                    let (twice, _) = items(s.from_index, before);
                    findings.push(
                        Finding::new(
                            CHECK,
                            rules::STATEMENT_COVERAGE_OVERLAP,
                            &log.origin,
                            format!(
                                "{what} covers from entry {}, but the previous one (entry {before}) covers up to it; {twice} session record(s) and credit note(s) are billed twice",
                                s.from_index
                            ),
                        )
                        .at(index)
                        .related(&log.origin, before)
                        .with("from_index", s.from_index)
                        .with("expected_from_index", expected)
                        .with("entries_covered_twice", twice),
                    );
                } else if s.from_index > expected {
                    let (uncovered, _) = items(expected, s.from_index);
                    findings.push(
                        Finding::new(
                            CHECK,
                            rules::STATEMENT_COVERAGE_GAP,
                            &log.origin,
                            format!(
                                "{what} covers from entry {}, but the previous one is at entry {before}; entries {expected}..{} are in no statement, {uncovered} of them session record(s) and credit note(s) it covers",
                                s.from_index, s.from_index
                            ),
                        )
                        .at(index)
                        .related(&log.origin, before)
                        .with("from_index", s.from_index)
                        .with("expected_from_index", expected)
                        .with("entries_uncovered", uncovered),
                    );
                }
            }
        }
    }
}

/// Why a reference names no entry that counts.
enum Unresolved {
    LogNotAudited,
    Beyond { size: u64 },
    NotSettlement,
    LeafHashDiffers { held: [u8; 32] },
    WrongType { found: &'static str },
}

impl Unresolved {
    fn describe(&self, r: &EntryRef, expected: &str) -> String {
        let at = format!("{} entry {}", r.origin, r.index);
        match self {
            Unresolved::LogNotAudited => format!("{at}: the log is not one of the audited logs"),
            Unresolved::Beyond { size } => {
                format!("{at}: the log holds {size} entries")
            }
            Unresolved::NotSettlement => format!("{at} is not a {expected}"),
            Unresolved::LeafHashDiffers { .. } => {
                format!("{at} has another leaf hash")
            }
            Unresolved::WrongType { found } => format!("{at} is a {found}, not a {expected}"),
        }
    }

    /// `finding` with the reason as evidence, related to the referenced entry if the log holds
    /// one at that index.
    fn evidence(&self, r: &EntryRef, finding: Finding) -> Finding {
        let finding = match self {
            Unresolved::LogNotAudited | Unresolved::Beyond { .. } => finding,
            _ => finding.related(&r.origin, r.index),
        };
        match self {
            Unresolved::LogNotAudited => finding.with("reason", "log_not_audited"),
            Unresolved::Beyond { size } => finding
                .with("reason", "beyond_log")
                .with("entries_held", size),
            Unresolved::NotSettlement => finding.with("reason", "wrong_type"),
            Unresolved::LeafHashDiffers { held } => finding
                .with("reason", "leaf_hash_differs")
                .with("held_leaf_hash", hex::encode(held)),
            Unresolved::WrongType { found } => finding
                .with("reason", "wrong_type")
                .with("found_type", found),
        }
    }
}

/// An entry of the audited logs: its log's origin and its index.
type At<'a> = (&'a str, u64);

/// Acknowledgements and disputes that count, by the statement they name.
#[derive(Default)]
struct Responses<'a> {
    acks: HashMap<At<'a>, Vec<At<'a>>>,
    disputes: HashMap<At<'a>, Vec<(&'a str, u64, &'a StatementDispute)>>,
}

/// Every log by origin, for resolving references.
struct Network<'a> {
    logs: &'a [LogEntries],
    by_origin: HashMap<&'a str, &'a LogEntries>,
}

impl<'a> Network<'a> {
    fn new(logs: &'a [LogEntries]) -> Self {
        Network {
            logs,
            by_origin: logs.iter().map(|l| (l.origin.as_str(), l)).collect(),
        }
    }

    /// The settlement entry `r` names, if it is there with its leaf hash.
    fn resolve(&self, r: &EntryRef) -> Result<(&'a LogEntries, &'a Entry), Unresolved> {
        let log = self
            .by_origin
            .get(r.origin.as_str())
            .ok_or(Unresolved::LogNotAudited)?;
        if r.index >= log.size {
            return Err(Unresolved::Beyond { size: log.size });
        }
        let at = log
            .entries
            .binary_search_by_key(&r.index, |e| e.index)
            .map_err(|_| Unresolved::NotSettlement)?;
        let held = &log.entries[at];
        if held.leaf_hash != r.leaf_hash {
            return Err(Unresolved::LeafHashDiffers {
                held: held.leaf_hash,
            });
        }
        Ok((log, &held.entry))
    }

    fn statement(
        &self,
        r: &EntryRef,
    ) -> Result<(&'a LogEntries, &'a SettlementStatement), Unresolved> {
        match self.resolve(r)? {
            (log, Entry::SettlementStatement(s)) => Ok((log, s)),
            (_, other) => Err(Unresolved::WrongType {
                found: other.type_name(),
            }),
        }
    }

    fn dispute(&self, r: &EntryRef) -> Result<&'a StatementDispute, Unresolved> {
        match self.resolve(r)? {
            (_, Entry::StatementDisputed(d)) => Ok(d),
            (_, other) => Err(Unresolved::WrongType {
                found: other.type_name(),
            }),
        }
    }

    /// Rule 3 for acknowledgements and disputes; returns those that count.
    fn responses(&self, findings: &mut Vec<Finding>) -> Responses<'a> {
        let mut responses = Responses::default();
        for log in self.logs {
            for e in &log.entries {
                let (reference, what, dispute) = match &e.entry {
                    Entry::StatementAcknowledged(a) => (&a.statement, "acknowledgement", None),
                    Entry::StatementDisputed(d) => (&d.statement, "dispute", Some(d)),
                    _ => continue,
                };
                let unknown =
                    |message: String| reference_unknown(&log.origin, e.index, reference, message);
                match self.statement(reference) {
                    Err(why) => findings.push(why.evidence(reference, unknown(format!(
                        "the {what} names no statement: {}",
                        why.describe(reference, "settlement_statement")
                    )))),
                    Ok((_, s)) if s.counterparty != log.operator => findings.push(
                        unknown(format!(
                            "the {what} of the statement at {} entry {} comes from the log of {}, but the statement is to {}",
                            reference.origin, reference.index, log.operator, s.counterparty
                        ))
                        .related(&reference.origin, reference.index)
                        .with("reason", "not_the_counterparty")
                        .with("operator", &log.operator)
                        .with("counterparty", &s.counterparty),
                    ),
                    Ok((statement_log, _)) => {
                        let key = (statement_log.origin.as_str(), reference.index);
                        match dispute {
                            None => responses
                                .acks
                                .entry(key)
                                .or_default()
                                .push((log.origin.as_str(), e.index)),
                            Some(d) => responses.disputes.entry(key).or_default().push((
                                log.origin.as_str(),
                                e.index,
                                d,
                            )),
                        }
                    }
                }
            }
        }
        responses
    }

    /// Rules 3 and 4 for answers; returns the disputes, by (origin, index), that an answer on
    /// the statement's log answers, with the answer's place.
    fn answers(&self, findings: &mut Vec<Finding>) -> HashMap<At<'a>, At<'a>> {
        let mut answered = HashMap::new();
        for log in self.logs {
            for e in &log.entries {
                let Entry::DisputeAnswered(answer) = &e.entry else {
                    continue;
                };
                let reference = &answer.dispute;
                let unknown =
                    |message: String| reference_unknown(&log.origin, e.index, reference, message);
                let dispute = match self.dispute(reference) {
                    Ok(d) => d,
                    Err(why) => {
                        findings.push(why.evidence(
                            reference,
                            unknown(format!(
                                "the answer names no dispute: {}",
                                why.describe(reference, "statement_disputed")
                            )),
                        ));
                        continue;
                    }
                };
                if dispute.statement.origin != log.origin {
                    findings.push(
                        unknown(format!(
                            "the answer to the dispute at {} entry {} is on {}, but the disputed statement is on {}",
                            reference.origin, reference.index, log.origin, dispute.statement.origin
                        ))
                        .related(&reference.origin, reference.index)
                        .with("reason", "not_the_statement_log")
                        .with("statement_origin", &dispute.statement.origin),
                    );
                    continue;
                }
                answered
                    .entry((reference.origin.as_str(), reference.index))
                    .or_insert((log.origin.as_str(), e.index));
                let mismatch = |message: String| {
                    Finding::new(CHECK, rules::ANSWER_ITEM_MISMATCH, &log.origin, message)
                        .at(e.index)
                        .related(&reference.origin, reference.index)
                };
                let disputed: Vec<Option<u64>> =
                    dispute.items.iter().map(|i| i.session_index).collect();
                let given: Vec<Option<u64>> =
                    answer.items.iter().map(|i| i.session_index).collect();
                if disputed != given {
                    findings.push(
                        mismatch(format!(
                            "the answer has {} item(s) for sessions {}, the dispute at {} entry {} has {} for sessions {}",
                            given.len(),
                            sessions_text(&given),
                            reference.origin,
                            reference.index,
                            disputed.len(),
                            sessions_text(&disputed)
                        ))
                        .with("answer_items", given.len())
                        .with("dispute_items", disputed.len())
                        .with("answer_sessions", sessions_text(&given))
                        .with("dispute_sessions", sessions_text(&disputed)),
                    );
                }
                for (position, item) in answer.items.iter().enumerate() {
                    let AnswerOutcome::Credited { credit_index } = item.outcome else {
                        continue;
                    };
                    let credit = log
                        .entries
                        .binary_search_by_key(&credit_index, |c| c.index)
                        .ok()
                        .map(|at| &log.entries[at].entry);
                    let problem = match credit {
                        Some(Entry::CreditNote(c)) => match item.session_index {
                            Some(session) if c.session_index != session => Some(format!(
                                "is a credit note for the session at entry {}",
                                c.session_index
                            )),
                            _ => None,
                        },
                        Some(other) => Some(format!("is a {}", other.type_name())),
                        None => Some("is not a credit note".to_owned()),
                    };
                    if let Some(problem) = problem {
                        findings.push(
                            mismatch(format!(
                                "item {position} (session {}) is credited by entry {credit_index}, which {problem}",
                                session_text(item.session_index)
                            ))
                            .related(&log.origin, credit_index)
                            .with("item", position)
                            .with("credit_index", credit_index)
                            .with("session_index", session_text(item.session_index)),
                        );
                    }
                }
            }
        }
        answered
    }

    /// Rule 3 for the dispute a credit note names, if any.
    fn credit_references(&self, findings: &mut Vec<Finding>) {
        for log in self.logs {
            for e in &log.entries {
                let Entry::CreditNote(credit) = &e.entry else {
                    continue;
                };
                let Some(reference) = &credit.dispute else {
                    continue;
                };
                if let Err(why) = self.dispute(reference) {
                    findings.push(why.evidence(
                        reference,
                        reference_unknown(
                            &log.origin,
                            e.index,
                            reference,
                            format!(
                                "the credit note names no dispute: {}",
                                why.describe(reference, "statement_disputed")
                            ),
                        ),
                    ));
                }
            }
        }
    }
}

/// A disputed item's session index; `statement` for a statement-wide item.
fn session_text(item: Option<u64>) -> String {
    item.map_or("statement".to_owned(), |i| i.to_string())
}

/// Items' session indices as a list.
fn sessions_text(items: &[Option<u64>]) -> String {
    let names: Vec<String> = items.iter().copied().map(session_text).collect();
    format!("[{}]", names.join(", "))
}

/// A `settlement_reference_unknown` finding on entry `index` of `origin`, naming the reference.
fn reference_unknown(origin: &str, index: u64, reference: &EntryRef, message: String) -> Finding {
    Finding::new(CHECK, rules::SETTLEMENT_REFERENCE_UNKNOWN, origin, message)
        .at(index)
        .with(
            "reference",
            format!("{}#{}", reference.origin, reference.index),
        )
        .with("leaf_hash", hex::encode(reference.leaf_hash))
}

#[cfg(test)]
mod tests;
