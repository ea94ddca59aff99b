//! Settlement across the network, as one node sees it from its own log and its mirrors: every
//! statement, credit note, acknowledgement, dispute and answer, which statements are still open,
//! which readings are billed in more than one session, and the period overview with netting.
//!
//! [`SettlementIndex::refresh`] reads only the entries appended since the last call, so the
//! index is cheap to keep current. It holds public ledger data only.

use std::collections::{BTreeMap, HashMap};

use kvitto_core::entry::{Entry, SessionRecord};
use kvitto_core::keys::KeyId;
use kvitto_core::settlement::{
    CreditNote, DisputeAnswer, SettlementStatement, StatementAcknowledgement, StatementDispute,
};
use kvitto_ledger::settlement::Coverage;
use kvitto_store::{KvStore, LogStore, StoreError};
use serde::Serialize;

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
}

/// Where a statement stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StatementStatus {
    Pending,
    Acknowledged,
    Disputed,
    /// Disputed, and the CPO answered.
    Answered,
}

impl SettlementIndex {
    /// Reads what every log appended since the last refresh.
    pub fn refresh<S: KvStore>(&mut self, logs: &LogSet<S>) -> Result<(), StoreError> {
        for log in logs.iter() {
            let size = log.view.published().size;
            let scan = self.logs.entry(log.info.origin.clone()).or_default();
            scan.operator.clone_from(&log.info.operator);
            let from = scan.scanned_to;
            if from >= size {
                continue;
            }
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
        }
        Ok(())
    }

    fn add(&mut self, at: At, entry: Entry) {
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

    /// The dispute of a statement by its counterparty, in log order: one entry, or several parts
    /// when it has more items than one entry holds (each part is answered by itself).
    pub fn disputes_of(&self, at: &At, s: &SettlementStatement) -> Vec<&(At, StatementDispute)> {
        self.disputes
            .iter()
            .filter(|(d, dispute)| d.operator == s.counterparty && at.is(&dispute.statement))
            .collect()
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

    /// The ids of the sessions the statement at `at` covers, from its log's store.
    pub fn session_ids<S: KvStore>(
        &self,
        store: &LogStore<S>,
        at: &At,
        s: &SettlementStatement,
    ) -> Result<Vec<String>, StoreError> {
        let (_, records) = self.coverage(store, at, s)?;
        Ok(records.iter().map(|(_, r)| r.session.to_hex()).collect())
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
                    reason: i.reason.name(),
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
/// and answered (what the answer upholds is owed; what it credits, the next statement refunds).
pub fn obligations(statements: &[StatementRow]) -> Vec<kvitto_settle::Obligation> {
    statements
        .iter()
        .filter(|s| {
            s.status == StatementStatus::Acknowledged || s.status == StatementStatus::Answered
        })
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

#[derive(Debug, Clone, Serialize)]
pub struct Overview {
    pub periods: Vec<PeriodRow>,
}

#[derive(Debug, Clone, Serialize)]
pub struct PeriodRow {
    pub start_ms: u64,
    pub end_ms: u64,
    pub statements: Vec<StatementRow>,
    /// The netting of the period's closed statements; `None` until one is closed.
    pub netting: Option<kvitto_settle::Netting>,
    /// Why the closed statements could not be netted (for example a statement a CPO
    /// addressed to itself), instead of a silent `None`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub netting_error: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
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
    /// The covered sessions' ids (hex), when asked for (`?sessions=true`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session_ids: Option<Vec<String>>,
}

#[derive(Debug, Clone, Serialize)]
pub struct DisputeRow {
    /// The eMSP's log, and the index of the dispute's first part.
    pub origin: String,
    pub index: u64,
    /// The index of every part (one entry holds at most `DISPUTE_ITEMS_MAX` items).
    pub parts: Vec<u64>,
    /// Every part's items, in order.
    pub items: Vec<DisputeItemRow>,
    /// The index of the CPO's last answer, once every part is answered.
    pub answered: Option<u64>,
    /// How many of the items the answers credited (the rest they rejected).
    pub credited: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct DisputeItemRow {
    pub session_index: Option<u64>,
    pub reason: &'static str,
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
        AmountTotal, AnswerItem, AnswerOutcome, DisputeItem, DisputeReason,
    };

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
