//! Settlement across the network, as one node sees it from its own log and its mirrors: every
//! statement, credit note, acknowledgement, dispute and answer, which statements are still open,
//! which readings are billed in more than one session, and the period overview with netting.
//!
//! [`SettlementIndex::refresh`] reads only the entries appended since the last call, so the
//! index is cheap to keep current. It holds public ledger data only.
//!
//! With running sums ([`SettlementIndex::with_running_sums`]) it also adds up, per log,
//! counterparty and currency, the amount commitments since that pair's last statement, as they
//! arrive. A statement that starts where the last one ended (as every kvitto node issues them)
//! then checks without decompressing its commitments again ([`SettlementIndex::verify`]).

use std::collections::{BTreeMap, HashMap};

use kvitto_core::entry::{Entry, SessionRecord};
use kvitto_core::keys::{KeyId, SessionId};
use kvitto_core::settlement::{
    CreditNote, DisputeAnswer, SettlementStatement, StatementAcknowledgement, StatementDispute,
};
use kvitto_ledger::settlement::{
    verify_statement, verify_statement_summed, Coverage, CoverageSums, StatementProblem,
};
use kvitto_store::{KvStore, LogStore, StoreError};
use serde::{Deserialize, Serialize};

use crate::logs::LogSet;
use crate::settlement::tariff_currency;

/// Entries read from a store at a time.
const SCAN_CHUNK: usize = 512;

/// Where an entry is: its log, the log's operator, its index and leaf hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct At {
    pub origin: String,
    pub operator: String,
    pub index: u64,
    #[serde(with = "hex32")]
    pub leaf_hash: [u8; 32],
}

impl At {
    pub fn entry_ref(&self) -> kvitto_core::settlement::EntryRef {
        kvitto_core::settlement::EntryRef {
            origin: self.origin.clone(),
            index: self.index,
            leaf_hash: self.leaf_hash,
        }
    }

    fn is(&self, r: &kvitto_core::settlement::EntryRef) -> bool {
        self.origin == r.origin && self.index == r.index && self.leaf_hash == r.leaf_hash
    }
}

/// A session record's readings, for finding readings billed twice.
#[derive(Debug, Clone)]
pub struct BilledReadings {
    pub origin: String,
    pub index: u64,
    pub first_counter: u64,
    pub last_counter: u64,
}

#[derive(Debug, Default)]
struct LogScan {
    operator: String,
    scanned_to: u64,
    currencies: HashMap<u64, String>,
}

/// See the module docs.
#[derive(Debug, Default)]
pub struct SettlementIndex {
    logs: BTreeMap<String, LogScan>,
    pub statements: Vec<(At, SettlementStatement)>,
    pub credits: Vec<(At, CreditNote)>,
    pub acknowledgements: Vec<(At, StatementAcknowledgement)>,
    pub disputes: Vec<(At, StatementDispute)>,
    pub answers: Vec<(At, DisputeAnswer)>,
    readings: HashMap<KeyId, Vec<BilledReadings>>,
    /// `Some` when running sums are kept (see the module docs).
    sums: Option<RunningSums>,
    /// Each statement's check against its log ([`SettlementIndex::verify`]), made once, when
    /// the statement is read: a log only grows, so the answer never changes.
    verdicts: HashMap<(String, u64), Result<(), StatementProblem>>,
    /// The ids of the sessions each checked statement covers, in log order (for invoice
    /// reconciliation), kept from the same read.
    covered: HashMap<(String, u64), Vec<SessionId>>,
}

/// The running sums of every (log, counterparty, currency) since its last statement, and the
/// sums each statement covered when it arrived.
#[derive(Debug, Default)]
struct RunningSums {
    open: HashMap<(String, String, String), Window>,
    /// By (log, statement index): the sums of what the statement covers, if it started where
    /// its window did and every commitment in it decoded.
    statements: HashMap<(String, u64), CoverageSums>,
}

/// Commitments summed since `since` (the index after the pair's last statement, or 0).
#[derive(Debug, Default)]
struct Window {
    since: u64,
    sums: CoverageSums,
    /// A commitment that did not decode: the sums are not the coverage's.
    broken: bool,
}

/// Where a statement stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StatementStatus {
    Pending,
    Acknowledged,
    Disputed,
    /// Disputed, and the CPO answered.
    Answered,
}

impl StatementStatus {
    /// Settled between its parties: acknowledged, or disputed and answered (the answer closes
    /// the exchange: what it upholds is owed, what it credits the next statement refunds).
    pub fn is_closed(self) -> bool {
        matches!(
            self,
            StatementStatus::Acknowledged | StatementStatus::Answered
        )
    }

    /// The name the overview uses.
    pub fn name(self) -> &'static str {
        match self {
            StatementStatus::Pending => "pending",
            StatementStatus::Acknowledged => "acknowledged",
            StatementStatus::Disputed => "disputed",
            StatementStatus::Answered => "answered",
        }
    }
}

impl std::fmt::Display for StatementStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl SettlementIndex {
    /// An index that also keeps running sums of the commitments statements cover (see the
    /// module docs): each commitment is decompressed once, as it arrives.
    pub fn with_running_sums() -> Self {
        SettlementIndex {
            sums: Some(RunningSums::default()),
            ..SettlementIndex::default()
        }
    }

    /// Checks the statement at `at` against `coverage` (from [`SettlementIndex::coverage`]):
    /// from the running sums when the index kept them for it, otherwise from the coverage's
    /// commitments.
    pub fn verify(
        &self,
        at: &At,
        s: &SettlementStatement,
        coverage: &Coverage,
    ) -> Result<(), StatementProblem> {
        let kept = self
            .sums
            .as_ref()
            .and_then(|sums| sums.statements.get(&(at.origin.clone(), at.index)));
        match kept {
            Some(sums) => verify_statement_summed(&at.origin, at.index, s, coverage, sums),
            None => verify_statement(&at.origin, at.index, s, coverage),
        }
    }

    /// Whether the statement at `at` checks from running sums (for tests and logs).
    pub fn has_running_sums(&self, at: &At) -> bool {
        self.sums
            .as_ref()
            .is_some_and(|sums| sums.statements.contains_key(&(at.origin.clone(), at.index)))
    }

    /// Reads what every log appended since the last refresh.
    pub fn refresh<S: KvStore>(&mut self, logs: &LogSet<S>) -> Result<(), StoreError> {
        for log in logs.iter() {
            let size = log.view.published().size;
            let scan = self.logs.entry(log.info.origin.clone()).or_default();
            scan.operator.clone_from(&log.info.operator);
            let from = scan.scanned_to;
            let origin = log.info.origin.clone();
            let operator = log.info.operator.clone();
            let mut index = from;
            while index < size {
                let count = SCAN_CHUNK.min((size - index) as usize);
                let chunk = log.store.entries(index, count)?;
                if chunk.is_empty() {
                    break;
                }
                for bytes in chunk {
                    if let Ok(entry) = Entry::decode(&bytes) {
                        let at = At {
                            origin: origin.clone(),
                            operator: operator.clone(),
                            index,
                            leaf_hash: kvitto_tlog::merkle::leaf_hash(&bytes).0,
                        };
                        self.add(at, entry);
                    }
                    index += 1;
                }
                // After every chunk: a read that fails later resumes here, adding nothing twice.
                if let Some(scan) = self.logs.get_mut(&origin) {
                    scan.scanned_to = index;
                }
            }
            self.check_statements(&origin, &log.store)?;
        }
        Ok(())
    }

    /// Checks every statement of the log `origin` (stored in `store`) that has no verdict yet.
    fn check_statements<S: KvStore>(
        &mut self,
        origin: &str,
        store: &LogStore<S>,
    ) -> Result<(), StoreError> {
        let unchecked: Vec<(At, SettlementStatement)> = self
            .statements
            .iter()
            .filter(|(at, _)| at.origin == origin)
            .filter(|(at, _)| !self.verdicts.contains_key(&(at.origin.clone(), at.index)))
            .cloned()
            .collect();
        for (at, s) in unchecked {
            let (coverage, records) = self.coverage(store, &at, &s)?;
            let verdict = self.verify(&at, &s, &coverage);
            let key = (at.origin.clone(), at.index);
            self.covered.insert(
                key.clone(),
                records.iter().map(|(_, r)| r.session).collect(),
            );
            self.verdicts.insert(key, verdict);
        }
        Ok(())
    }

    /// Whether the statement at `at` checks against its log ([`SettlementIndex::verify`] with
    /// its coverage); `None` until the refresh that reads it.
    pub fn checked(&self, at: &At) -> Option<&Result<(), StatementProblem>> {
        self.verdicts.get(&(at.origin.clone(), at.index))
    }

    fn add(&mut self, at: At, entry: Entry) {
        self.add_to_sums(&at, &entry);
        match entry {
            Entry::TariffPublished(t) => {
                if let Some(currency) = tariff_currency(&t.tariff_json) {
                    if let Some(scan) = self.logs.get_mut(&at.origin) {
                        scan.currencies.insert(at.index, currency);
                    }
                }
            }
            Entry::SessionClosed(record) => {
                self.readings
                    .entry(record.key_id)
                    .or_default()
                    .push(BilledReadings {
                        origin: at.origin,
                        index: at.index,
                        first_counter: record.first_counter,
                        last_counter: record.last_counter,
                    });
            }
            Entry::SettlementStatement(s) => self.statements.push((at, s)),
            Entry::CreditNote(c) => self.credits.push((at, c)),
            Entry::StatementAcknowledged(a) => self.acknowledgements.push((at, a)),
            Entry::StatementDisputed(d) => self.disputes.push((at, d)),
            Entry::DisputeAnswered(a) => self.answers.push((at, a)),
            _ => {}
        }
    }

    /// Adds `entry`'s commitments to its window, or closes the window at a statement.
    fn add_to_sums(&mut self, at: &At, entry: &Entry) {
        let Some(sums) = self.sums.as_mut() else {
            return;
        };
        let Some(scan) = self.logs.get(&at.origin) else {
            return;
        };
        let currency_of = |i: u64| scan.currencies.get(&i).cloned();
        let key = match entry {
            Entry::SessionClosed(record) => {
                let (Some(counterparty), Some(tariff)) = (&record.counterparty, record.tariff)
                else {
                    return;
                };
                let Some(currency) = currency_of(tariff.index) else {
                    return;
                };
                (at.origin.clone(), counterparty.clone(), currency)
            }
            Entry::CreditNote(c) => (
                at.origin.clone(),
                c.counterparty.clone(),
                c.currency.clone(),
            ),
            Entry::SettlementStatement(s) => {
                let key = (
                    at.origin.clone(),
                    s.counterparty.clone(),
                    s.currency.clone(),
                );
                let closed = sums.open.insert(
                    key,
                    Window {
                        since: at.index + 1,
                        ..Window::default()
                    },
                );
                let window = closed.unwrap_or_default();
                if window.since == s.from_index && !window.broken {
                    sums.statements
                        .insert((at.origin.clone(), at.index), window.sums);
                }
                return;
            }
            _ => return,
        };
        let window = sums.open.entry(key.clone()).or_default();
        if window
            .sums
            .add(entry, &key.1, &key.2, &currency_of)
            .is_err()
        {
            window.broken = true;
        }
    }

    /// The currency of the tariff at `tariff_index` of the log `origin`.
    pub fn currency(&self, origin: &str, tariff_index: u64) -> Option<String> {
        self.logs
            .get(origin)?
            .currencies
            .get(&tariff_index)
            .cloned()
    }

    /// The counterparty's answer to a statement: an acknowledgement or a dispute, from the
    /// counterparty's own log (an answer from any other log does not count).
    fn response(&self, at: &At, s: &SettlementStatement) -> StatementStatus {
        let acked = self
            .acknowledgements
            .iter()
            .any(|(a, ack)| a.operator == s.counterparty && at.is(&ack.statement));
        if acked {
            return StatementStatus::Acknowledged;
        }
        let parts = self.disputes_of(at, s);
        if parts.is_empty() {
            StatementStatus::Pending
        } else if parts.iter().all(|(d, _)| self.answer_to(d).is_some()) {
            StatementStatus::Answered
        } else {
            StatementStatus::Disputed
        }
    }

    pub fn status(&self, at: &At, s: &SettlementStatement) -> StatementStatus {
        self.response(at, s)
    }

    /// The dispute of a statement by its counterparty: one entry, or several parts when it has
    /// more items than one entry holds (each part is answered by itself). The parts are the
    /// first counting dispute and those at the indexes right after it on the same log, as the
    /// `Settle` command appends them; a dispute appended later does not reopen the statement.
    pub fn disputes_of(&self, at: &At, s: &SettlementStatement) -> Vec<&(At, StatementDispute)> {
        let mut counting = self
            .disputes
            .iter()
            .filter(|(d, dispute)| d.operator == s.counterparty && at.is(&dispute.statement));
        let Some(first) = counting.next() else {
            return Vec::new();
        };
        let mut parts = vec![first];
        for next in counting {
            let last = &parts[parts.len() - 1].0;
            if next.0.origin != last.origin || next.0.index != last.index + 1 {
                break;
            }
            parts.push(next);
        }
        parts
    }

    /// The CPO's answer to a dispute, from the log the statement is on.
    pub fn answer_to(&self, dispute: &At) -> Option<&(At, DisputeAnswer)> {
        let statement_origin = self
            .disputes
            .iter()
            .find(|(d, _)| d == dispute)
            .map(|(_, d)| d.statement.origin.clone())?;
        self.answers
            .iter()
            .find(|(a, answer)| a.origin == statement_origin && dispute.is(&answer.dispute))
    }

    /// Statements to `party` not yet acknowledged or disputed.
    pub fn open_statements(&self, party: &str) -> Vec<(At, SettlementStatement)> {
        self.statements
            .iter()
            .filter(|(at, s)| {
                s.counterparty == party && self.response(at, s) == StatementStatus::Pending
            })
            .cloned()
            .collect()
    }

    /// Disputes of statements on `origin` not yet answered there, with the statement each
    /// disputes. Only a dispute from the statement's counterparty's log that names the statement
    /// exactly (origin, index, leaf hash) counts; any other is not the CPO's to answer.
    pub fn open_disputes(
        &self,
        origin: &str,
    ) -> Vec<(At, StatementDispute, At, SettlementStatement)> {
        self.disputes
            .iter()
            .filter(|(at, d)| d.statement.origin == origin && self.answer_to(at).is_none())
            .filter_map(|(at, d)| {
                let (s_at, s) = self
                    .statements
                    .iter()
                    .find(|(s_at, s)| s_at.is(&d.statement) && at.operator == s.counterparty)?;
                Some((at.clone(), d.clone(), s_at.clone(), s.clone()))
            })
            .collect()
    }

    /// The credit note on `origin` that already refunds the session at `session_index`, if any.
    pub fn credit_for(&self, origin: &str, session_index: u64) -> Option<u64> {
        self.credits
            .iter()
            .find(|(at, c)| at.origin == origin && c.session_index == session_index)
            .map(|(at, _)| at.index)
    }

    /// Statements on the same log for the same counterparty and currency whose covered range
    /// overlaps this one's: sessions billed in two statements.
    pub fn overlapping_statements(&self, at: &At, s: &SettlementStatement) -> Vec<At> {
        self.statements
            .iter()
            .filter(|(o_at, o)| {
                o_at.origin == at.origin
                    && o_at.index != at.index
                    && o.counterparty == s.counterparty
                    && o.currency == s.currency
                    && o.from_index < at.index
                    && s.from_index < o_at.index
            })
            .map(|(o_at, _)| o_at.clone())
            .collect()
    }

    /// Other session records, on any log, that bill any of the readings `first..=last` of the
    /// charger key `key_id`.
    pub fn billed_elsewhere(
        &self,
        key_id: &KeyId,
        first: u64,
        last: u64,
        origin: &str,
        index: u64,
    ) -> Vec<BilledReadings> {
        self.readings
            .get(key_id)
            .into_iter()
            .flatten()
            .filter(|b| !(b.origin == origin && b.index == index))
            .filter(|b| b.first_counter <= last && first <= b.last_counter)
            .cloned()
            .collect()
    }

    /// The commitments the statement at `at` covers, from its log's store.
    pub fn coverage<S: KvStore>(
        &self,
        store: &LogStore<S>,
        at: &At,
        s: &SettlementStatement,
    ) -> Result<(Coverage, Vec<(u64, SessionRecord)>), StoreError> {
        let mut coverage = Coverage::default();
        let mut records = Vec::new();
        let currency_of = |i: u64| self.currency(&at.origin, i);
        let mut index = s.from_index;
        while index < at.index {
            let count = SCAN_CHUNK.min((at.index - index) as usize);
            let chunk = store.entries(index, count)?;
            if chunk.is_empty() {
                break;
            }
            for bytes in chunk {
                if let Ok(entry) = Entry::decode(&bytes) {
                    let before = coverage.sessions.len();
                    coverage.add(index, &entry, &s.counterparty, &s.currency, &currency_of);
                    if coverage.sessions.len() > before {
                        if let Entry::SessionClosed(record) = entry {
                            records.push((index, record));
                        }
                    }
                }
                index += 1;
            }
        }
        Ok((coverage, records))
    }

    /// The ids of the sessions the statement at `at` covers, in log order; `None` until the
    /// refresh that reads it.
    pub fn covered_sessions(&self, at: &At) -> Option<&[SessionId]> {
        self.covered
            .get(&(at.origin.clone(), at.index))
            .map(Vec::as_slice)
    }

    /// Why the statement at `at` must not be netted, as anyone holding the logs can check: its
    /// totals do not add up to what it covers, or it bills sessions an earlier statement of the
    /// same log to the same counterparty already billed.
    fn statement_problem(&self, at: &At, s: &SettlementStatement) -> Option<String> {
        match self.checked(at) {
            None => return Some("not checked yet".into()),
            Some(Err(problem)) => {
                return Some(format!("does not check against its log: {problem}"))
            }
            Some(Ok(())) => {}
        }
        let earlier: Vec<String> = self
            .overlapping_statements(at, s)
            .iter()
            .filter(|o| o.index < at.index)
            .map(|o| o.index.to_string())
            .collect();
        (!earlier.is_empty()).then(|| {
            format!(
                "bills sessions that the statement at entry {} of this log already billed",
                earlier.join(", ")
            )
        })
    }

    /// The row of a statement's dispute, its parts taken together.
    fn dispute_row(&self, parts: &[&(At, StatementDispute)]) -> Option<DisputeRow> {
        let (first, _) = parts.first()?;
        let answers: Vec<Option<&(At, DisputeAnswer)>> =
            parts.iter().map(|(d, _)| self.answer_to(d)).collect();
        Some(DisputeRow {
            origin: first.origin.clone(),
            index: first.index,
            parts: parts.iter().map(|(d, _)| d.index).collect(),
            items: parts
                .iter()
                .flat_map(|(_, dispute)| &dispute.items)
                .map(|i| DisputeItemRow {
                    session_index: i.session_index,
                    reason: i.reason.name().to_owned(),
                })
                .collect(),
            answered: answers
                .iter()
                .map(|a| a.map(|(at, _)| at.index))
                .collect::<Option<Vec<u64>>>()
                .and_then(|indexes| indexes.into_iter().max()),
            credited: answers
                .iter()
                .flatten()
                .flat_map(|(_, answer)| &answer.items)
                .filter(|i| {
                    matches!(
                        i.outcome,
                        kvitto_core::settlement::AnswerOutcome::Credited { .. }
                    )
                })
                .count(),
        })
    }

    /// The overview of every period: statements by CPO and eMSP with their status and disputes,
    /// and the netting of the closed ones (acknowledged, or answered) per period.
    pub fn overview(&self) -> Overview {
        let mut periods: BTreeMap<(u64, u64), Vec<StatementRow>> = BTreeMap::new();
        for (at, s) in &self.statements {
            let status = self.response(at, s);
            let dispute = self.dispute_row(&self.disputes_of(at, s));
            periods
                .entry((s.period_start_ms, s.period_end_ms))
                .or_default()
                .push(StatementRow {
                    cpo: at.operator.clone(),
                    emsp: s.counterparty.clone(),
                    origin: at.origin.clone(),
                    index: at.index,
                    sessions: s.sessions.count,
                    credits: s.credits.count,
                    currency: s.currency.clone(),
                    total_excl_vat_minor: clamp(s.net_excl_vat_minor()),
                    total_incl_vat_minor: clamp(s.net_incl_vat_minor()),
                    status,
                    dispute,
                    problem: self.statement_problem(at, s),
                    session_ids: None,
                });
        }
        let periods: Vec<PeriodRow> = periods
            .into_iter()
            .map(|((start_ms, end_ms), statements)| {
                let obligations = obligations(&statements);
                let (netting, netting_error) = if obligations.is_empty() {
                    (None, None)
                } else {
                    match kvitto_settle::net(&format!("{start_ms}-{end_ms}"), &obligations) {
                        Ok(n) => (Some(n), None),
                        Err(e) => (None, Some(e.to_string())),
                    }
                };
                PeriodRow {
                    start_ms,
                    end_ms,
                    statements,
                    netting,
                    netting_error,
                }
            })
            .collect();
        Overview { periods }
    }
}

fn clamp(v: i128) -> i64 {
    i64::try_from(v).unwrap_or(if v < 0 { i64::MIN } else { i64::MAX })
}

/// What each closed statement obliges its eMSP to pay (including VAT): acknowledged, or disputed
/// and answered (what the answer upholds is owed; what it credits, the next statement refunds),
/// and checked: a statement with a `problem` is owed by nobody, whatever its parties said.
pub fn obligations(statements: &[StatementRow]) -> Vec<kvitto_settle::Obligation> {
    statements
        .iter()
        .filter(|s| s.is_owed())
        .map(|s| kvitto_settle::Obligation {
            statement: kvitto_settle::StatementRef {
                origin: s.origin.clone(),
                index: s.index,
            },
            cpo: s.cpo.clone(),
            emsp: s.emsp.clone(),
            currency: s.currency.clone(),
            amount_minor: s.total_incl_vat_minor,
        })
        .collect()
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Overview {
    pub periods: Vec<PeriodRow>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PeriodRow {
    pub start_ms: u64,
    pub end_ms: u64,
    pub statements: Vec<StatementRow>,
    /// The netting of the period's closed statements; `None` until one is closed.
    #[serde(default)]
    pub netting: Option<kvitto_settle::Netting>,
    /// Why the closed statements could not be netted (for example a statement a CPO
    /// addressed to itself), instead of a silent `None`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub netting_error: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StatementRow {
    pub cpo: String,
    pub emsp: String,
    pub origin: String,
    pub index: u64,
    pub sessions: u64,
    pub credits: u64,
    pub currency: String,
    /// Sessions less credits.
    pub total_excl_vat_minor: i64,
    pub total_incl_vat_minor: i64,
    pub status: StatementStatus,
    pub dispute: Option<DisputeRow>,
    /// Why the statement is not netted although anyone can check it: its totals do not check
    /// against its log, or it overlaps an earlier statement. Absent when it checks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub problem: Option<String>,
    /// The covered sessions' ids (hex), when asked for (`?sessions=true`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_ids: Option<Vec<String>>,
}

impl StatementRow {
    /// Whether the eMSP owes the statement: closed, and it checks (no `problem`).
    pub fn is_owed(&self) -> bool {
        self.status.is_closed() && self.problem.is_none()
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DisputeRow {
    /// The eMSP's log, and the index of the dispute's first part.
    pub origin: String,
    pub index: u64,
    /// The index of every part (one entry holds at most `DISPUTE_ITEMS_MAX` items).
    #[serde(default)]
    pub parts: Vec<u64>,
    /// Every part's items, in order.
    pub items: Vec<DisputeItemRow>,
    /// The index of the CPO's last answer, once every part is answered.
    pub answered: Option<u64>,
    /// How many of the items the answers credited (the rest they rejected).
    #[serde(default)]
    pub credited: usize,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DisputeItemRow {
    pub session_index: Option<u64>,
    /// The reason code's name (`unknown_token`, …).
    pub reason: String,
}

mod hex32 {
    use serde::Serializer;

    pub fn serialize<S: Serializer>(v: &[u8; 32], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(v))
    }
}

#[cfg(test)]
mod tests {
    use kvitto_core::settlement::{
        AmountTotal, AnswerItem, AnswerOutcome, DisputeItem, DisputeReason, TotalKind,
    };
    use kvitto_privacy::{prove_total, AmountOpening, SessionContext};
    use rand_core::OsRng;

    use super::*;

    const CPO: &str = "cpo.example/log";
    const EMSP: &str = "emsp.example/log";

    fn at(origin: &str, index: u64) -> At {
        let operator = if origin == CPO { "SE*CPO" } else { "SE*MSP" };
        At {
            origin: origin.into(),
            operator: operator.into(),
            index,
            leaf_hash: [index as u8; 32],
        }
    }

    fn statement() -> SettlementStatement {
        let total = |count, amount| AmountTotal {
            count,
            excl_vat_minor: amount,
            incl_vat_minor: amount,
            proof_excl_vat: vec![0; 64],
            proof_incl_vat: vec![0; 64],
        };
        SettlementStatement {
            counterparty: "SE*MSP".into(),
            currency: "EUR".into(),
            period_start_ms: 1,
            period_end_ms: 2,
            from_index: 0,
            sessions: total(300, 30_000),
            credits: AmountTotal::empty(),
        }
    }

    fn part(sessions: std::ops::Range<u64>) -> StatementDispute {
        StatementDispute {
            statement: at(CPO, 400).entry_ref(),
            sessions_checked: 300,
            items: sessions
                .map(|i| DisputeItem {
                    session_index: Some(i),
                    reason: DisputeReason::UnknownToken,
                })
                .collect(),
        }
    }

    fn answer(dispute: &At, sessions: std::ops::Range<u64>, credited: bool) -> DisputeAnswer {
        DisputeAnswer {
            dispute: dispute.entry_ref(),
            items: sessions
                .map(|i| AnswerItem {
                    session_index: Some(i),
                    outcome: if credited {
                        AnswerOutcome::Credited {
                            credit_index: 1_000 + i,
                        }
                    } else {
                        AnswerOutcome::Rejected {
                            reason: "the token was valid".into(),
                        }
                    },
                })
                .collect(),
        }
    }

    /// A dispute in two parts is one dispute: answered only once both parts are, its items and
    /// credits counted over both.
    #[test]
    fn a_dispute_in_parts_is_answered_when_every_part_is() {
        let mut index = SettlementIndex::default();
        index.add(at(CPO, 400), Entry::SettlementStatement(statement()));
        let (s_at, s) = index.statements[0].clone();
        assert_eq!(index.status(&s_at, &s), StatementStatus::Pending);
        assert_eq!(index.open_statements("SE*MSP").len(), 1);
        assert_eq!(
            index.overview().periods[0].statements[0].problem.as_deref(),
            Some("not checked yet"),
            "a statement is netted only once checked"
        );
        // As the refresh that reads the statement would find (its proofs here are dummies).
        index.verdicts.insert((CPO.into(), 400), Ok(()));

        index.add(at(EMSP, 10), Entry::StatementDisputed(part(0..128)));
        index.add(at(EMSP, 11), Entry::StatementDisputed(part(128..200)));
        assert_eq!(index.status(&s_at, &s), StatementStatus::Disputed);
        assert!(index.open_statements("SE*MSP").is_empty());
        assert_eq!(
            index.open_disputes(CPO).len(),
            2,
            "each part is answered by itself"
        );

        index.add(
            at(CPO, 500),
            Entry::DisputeAnswered(answer(&at(EMSP, 10), 0..128, true)),
        );
        assert_eq!(index.status(&s_at, &s), StatementStatus::Disputed);
        let row = &index.overview().periods[0].statements[0];
        let dispute = row.dispute.as_ref().unwrap();
        assert_eq!((dispute.index, dispute.parts.clone()), (10, vec![10, 11]));
        assert_eq!(dispute.items.len(), 200);
        assert_eq!(dispute.answered, None, "one part is still unanswered");
        assert_eq!(dispute.credited, 128);
        assert!(
            index.overview().periods[0].netting.is_none(),
            "a statement still disputed is not netted"
        );

        index.add(
            at(CPO, 501),
            Entry::DisputeAnswered(answer(&at(EMSP, 11), 128..200, false)),
        );
        assert_eq!(index.status(&s_at, &s), StatementStatus::Answered);
        assert!(index.open_disputes(CPO).is_empty());
        let overview = index.overview();
        let dispute = overview.periods[0].statements[0].dispute.as_ref().unwrap();
        assert_eq!((dispute.answered, dispute.credited), (Some(501), 128));
        assert!(overview.periods[0].netting.is_some());

        // A dispute appended later, apart from the parts, does not reopen the statement.
        index.add(at(EMSP, 30), Entry::StatementDisputed(part(200..210)));
        assert_eq!(index.status(&s_at, &s), StatementStatus::Answered);
        assert_eq!(index.disputes_of(&s_at, &s).len(), 2);
        assert!(index.overview().periods[0].netting.is_some());
    }

    /// A log of sessions billed to SE*MSP and SE*OTH, as running sums see it.
    struct Billed {
        index: SettlementIndex,
        next: u64,
        /// Session and credit commitments since the start, with openings: (index, excl, incl).
        sessions: Vec<(u64, AmountOpening, AmountOpening)>,
    }

    impl Billed {
        fn new() -> Billed {
            let mut index = SettlementIndex::with_running_sums();
            index.logs.insert(CPO.into(), LogScan::default());
            let tariff = Entry::TariffPublished(kvitto_core::entry::TariffPublication {
                tariff_id: "T1".into(),
                counterparty: None,
                valid_from_ms: 0,
                tariff_json: r#"{"currency":"EUR"}"#.into(),
            });
            index.add(at(CPO, 0), tariff);
            Billed {
                index,
                next: 1,
                sessions: Vec::new(),
            }
        }

        fn session(&mut self, counterparty: &str, price: u64) {
            let i = self.next;
            self.next += 1;
            let ctx = SessionContext::new(CPO, [1; 16], [i as u8; 16]).unwrap();
            let excl = AmountOpening::new(price, &ctx, &mut OsRng);
            let incl = AmountOpening::new(price * 5 / 4, &ctx, &mut OsRng);
            let record = SessionRecord {
                session: kvitto_core::keys::SessionId([i as u8; 16]),
                key_id: KeyId([1; 16]),
                first_counter: 2 * i,
                last_counter: 2 * i + 1,
                start_ms: 0,
                stop_ms: 3_600_000,
                energy_wh: 1000,
                reading_count: 2,
                readings_digest: [0; 32],
                tariff: Some(kvitto_core::entry::TariffRef {
                    index: 0,
                    leaf_hash: [0; 32],
                }),
                privacy: Some(kvitto_core::entry::SessionPrivacy {
                    amount_excl_vat: excl.commit().to_bytes(),
                    amount_incl_vat: incl.commit().to_bytes(),
                    range_proof: Vec::new(),
                    identity: [0; 32],
                    evidence_digest: [0; 32],
                }),
                counterparty: Some(counterparty.into()),
                unknown_extensions: Default::default(),
            };
            self.index.add(at(CPO, i), Entry::SessionClosed(record));
            if counterparty == "SE*MSP" {
                self.sessions.push((i, excl, incl));
            }
        }

        /// A statement to SE*MSP over its sessions from `from_index`, proven honestly, with the
        /// coverage a verifier collects for it.
        fn statement(&mut self, from_index: u64) -> (At, SettlementStatement, Coverage) {
            let i = self.next;
            self.next += 1;
            let covered: Vec<_> = self
                .sessions
                .iter()
                .filter(|(index, _, _)| *index >= from_index)
                .collect();
            let mut s = SettlementStatement {
                counterparty: "SE*MSP".into(),
                ..statement()
            };
            s.from_index = from_index;
            let total = |kind, openings: Vec<AmountOpening>| {
                let commitments: Vec<_> = openings.iter().map(AmountOpening::commit).collect();
                let bytes = kvitto_core::settlement::proof_statement(CPO, i, &s, kind);
                let (value, proof) =
                    prove_total(&bytes, &commitments, &openings, &mut OsRng).unwrap();
                (value, proof.to_bytes().to_vec())
            };
            let (excl, pe) = total(
                TotalKind::SessionsExclVat,
                covered.iter().map(|c| c.1.clone()).collect(),
            );
            let (incl, pi) = total(
                TotalKind::SessionsInclVat,
                covered.iter().map(|c| c.2.clone()).collect(),
            );
            s.sessions = AmountTotal {
                count: covered.len() as u64,
                excl_vat_minor: excl,
                incl_vat_minor: incl,
                proof_excl_vat: pe,
                proof_incl_vat: pi,
            };
            let coverage = Coverage {
                sessions: covered
                    .iter()
                    .map(|(index, e, v)| (*index, e.commit().to_bytes(), v.commit().to_bytes()))
                    .collect(),
                credits: Vec::new(),
            };
            self.index
                .add(at(CPO, i), Entry::SettlementStatement(s.clone()));
            (at(CPO, i), s, coverage)
        }
    }

    /// A statement that starts where its pair's last one ended checks from the running sums,
    /// and accepts and refuses exactly what the full check does; one that starts elsewhere
    /// falls back to the full check.
    #[test]
    fn running_sums_check_chained_statements() {
        let mut log = Billed::new();
        for price in [1000, 250, 40] {
            log.session("SE*MSP", price);
            log.session("SE*OTH", 999);
        }
        let (first, s1, c1) = log.statement(0);
        assert!(log.index.has_running_sums(&first));
        assert_eq!(s1.sessions.excl_vat_minor, 1290);
        log.index.verify(&first, &s1, &c1).unwrap();

        let mut wrong = s1.clone();
        wrong.sessions.excl_vat_minor += 1;
        let full = verify_statement(&first.origin, first.index, &wrong, &c1);
        assert!(full.is_err());
        assert_eq!(log.index.verify(&first, &wrong, &c1), full);
        let mut fewer = c1.clone();
        fewer.sessions.pop();
        assert!(matches!(
            log.index.verify(&first, &s1, &fewer),
            Err(StatementProblem::CountMismatch { .. })
        ));

        log.session("SE*MSP", 7);
        log.session("SE*MSP", 8);
        let (second, s2, c2) = log.statement(first.index + 1);
        assert!(log.index.has_running_sums(&second));
        assert_eq!((s2.sessions.count, s2.sessions.excl_vat_minor), (2, 15));
        log.index.verify(&second, &s2, &c2).unwrap();

        // From the start again: overlapping, not chained; still checked, in full.
        let (third, s3, c3) = log.statement(0);
        assert!(!log.index.has_running_sums(&third));
        log.index.verify(&third, &s3, &c3).unwrap();
    }

    /// A statement that bills sessions an earlier one billed, or whose totals do not check,
    /// is shown with its problem and netted by nobody, even once its counterparty closed it.
    #[test]
    fn statements_that_do_not_check_are_not_netted() {
        let mut log = Billed::new();
        log.session("SE*MSP", 1000);
        log.session("SE*MSP", 500);
        let (first, s1, c1) = log.statement(0);
        log.session("SE*MSP", 70);
        let (second, s2, c2) = log.statement(first.index + 1);
        let (again, s3, c3) = log.statement(0);
        for (statement_at, s, c, index) in [
            (&first, &s1, &c1, 20),
            (&second, &s2, &c2, 21),
            (&again, &s3, &c3, 22),
        ] {
            let verdict = log.index.verify(statement_at, s, c);
            assert!(
                verdict.is_ok(),
                "{verdict:?}: every total is proven honestly"
            );
            log.index
                .verdicts
                .insert((statement_at.origin.clone(), statement_at.index), verdict);
            log.index.add(
                at(EMSP, index),
                Entry::StatementAcknowledged(StatementAcknowledgement {
                    statement: statement_at.entry_ref(),
                    sessions_checked: s.sessions.count,
                }),
            );
        }
        let rows = |index: &SettlementIndex| index.overview().periods[0].statements.clone();
        let problems: Vec<Option<String>> =
            rows(&log.index).into_iter().map(|r| r.problem).collect();
        assert_eq!(problems[..2], [None, None]);
        assert_eq!(
            problems[2].as_deref(),
            Some("bills sessions that the statement at entry 3, 5 of this log already billed")
        );
        let owed: Vec<u64> = obligations(&rows(&log.index))
            .iter()
            .map(|o| o.statement.index)
            .collect();
        assert_eq!(
            owed,
            vec![first.index, second.index],
            "all three are acknowledged"
        );

        // A statement whose totals do not check against its log is not owed either.
        log.index.verdicts.insert(
            (second.origin.clone(), second.index),
            Err(StatementProblem::CountMismatch {
                kind: "sessions excl. VAT",
                stated: 1,
                covered: 2,
            }),
        );
        let row = &rows(&log.index)[1];
        assert_eq!(
            row.problem.as_deref(),
            Some("does not check against its log: sessions excl. VAT: the statement counts 1 commitments, the log has 2")
        );
        let owed: Vec<u64> = obligations(&rows(&log.index))
            .iter()
            .map(|o| o.statement.index)
            .collect();
        assert_eq!(owed, vec![first.index]);
    }

    /// Only the counterparty's log disputes a statement: a part from another operator's log
    /// is no part of it.
    #[test]
    fn a_dispute_from_another_operator_is_no_part() {
        let mut index = SettlementIndex::default();
        index.add(at(CPO, 400), Entry::SettlementStatement(statement()));
        let (s_at, s) = index.statements[0].clone();
        let mut stranger = at(EMSP, 12);
        stranger.operator = "SE*OTH".into();
        index.add(stranger, Entry::StatementDisputed(part(0..3)));
        assert_eq!(index.status(&s_at, &s), StatementStatus::Pending);
        assert!(index.disputes_of(&s_at, &s).is_empty());
        assert!(index.open_disputes(CPO).is_empty());
    }
}
