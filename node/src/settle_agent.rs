//! The node's part in settlement, run in the background.
//!
//! - As an eMSP: every statement another member's log addresses to this operator is checked once
//!   its mirror holds a witnessed checkpoint past it. The statement's total proofs must verify
//!   against the commitments it covers; every covered session's evidence is fetched from the CPO
//!   (the eMSP is entitled to its own tokens' sessions), opened, and its receipt rebuilt from the
//!   mirror and verified; the token must be one this eMSP issued; the readings must not be billed
//!   in any other session on any log; and the opened amounts must add up to the totals. Then an
//!   acknowledgement or a dispute with reason codes goes on this node's log.
//! - As a CPO: every dispute of this log's statements by the statement's counterparty is answered
//!   on this log. Duplicates are rejected with where else the readings are billed (a matter for
//!   the regulator: the CPO cannot tell the original from the copy), statement-wide items with
//!   the outcome of re-verifying the statement, sessions the statement does not cover or that a
//!   credit note already refunds with that reason; every other session item is credited in full
//!   with one credit note per session (the eMSP opened the evidence; this policy does not
//!   second-guess it). The policy is the node's, not the protocol's.
//! - With `[settlement] period_s`, periods close on their own at each multiple of the period.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use kvitto_core::entry::SessionRecord;
use kvitto_core::keys::SessionId;
use kvitto_core::settlement::{
    DisputeItem, DisputeReason, SettlementStatement, StatementAcknowledgement, StatementDispute,
};
use kvitto_ledger::settlement::StatementProblem;
use kvitto_net::Role;
use kvitto_receipt::{CheckName, Outcome};
use kvitto_service::receipts::{open_disclosed, DisclosedError};
use kvitto_service::settlement_index::{At, SettlementIndex};
use kvitto_service::{AnswerPlan, Clock, EvidenceSource, LogSet, SequencerHandle, SystemClock};
use kvitto_store::{KvStore, LogStore, RocksStore};

/// What the agent needs from the node.
pub struct Agent {
    pub operator: String,
    pub origin: String,
    pub role: Role,
    pub logs: Arc<LogSet<RocksStore>>,
    pub store: Arc<LogStore<RocksStore>>,
    pub sequencer: SequencerHandle,
    pub evidence: Option<Arc<dyn EvidenceSource>>,
    pub policy: String,
    pub interval: Duration,
    pub period_s: Option<u64>,
}

impl Agent {
    pub async fn run(self) {
        // Running sums: a statement over many sessions checks without decompressing each again.
        let mut index = SettlementIndex::with_running_sums();
        let mut ticker = tokio::time::interval(self.interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut last_period_end = self.period_s.map(|p| period_floor(SystemClock.now_ms(), p));
        loop {
            ticker.tick().await;
            if let (Some(period_s), Some(last)) = (self.period_s, last_period_end) {
                let now_end = period_floor(SystemClock.now_ms(), period_s);
                if now_end > last {
                    match self.sequencer.issue_statements(last, now_end).await {
                        Ok(indices) => {
                            tracing::info!(statements = indices.len(), "settlement period closed");
                            last_period_end = Some(now_end);
                        }
                        Err(e) => tracing::warn!("closing the settlement period failed: {e}"),
                    }
                }
            }
            let logs = self.logs.clone();
            let refreshed = tokio::task::spawn_blocking(move || {
                let mut fresh = index;
                let result = fresh.refresh(&logs);
                (fresh, result)
            })
            .await;
            index = match refreshed {
                Ok((fresh, Ok(()))) => fresh,
                Ok((fresh, Err(e))) => {
                    tracing::warn!("reading the logs for settlement failed: {e}");
                    fresh
                }
                Err(e) => {
                    tracing::error!("the settlement scan panicked: {e}");
                    return;
                }
            };
            if matches!(self.role, Role::Emsp | Role::Both) {
                for (at, statement) in index.open_statements(&self.operator) {
                    if let Err(e) = self.check(&index, &at, &statement).await {
                        tracing::debug!(origin = %at.origin, index = at.index, "statement not checked yet: {e}");
                    }
                }
            }
            if matches!(self.role, Role::Cpo | Role::Both) {
                // Sessions credited in this round: the index does not show their credit notes
                // until the next refresh, and two disputes may name the same session.
                let mut credited = BTreeSet::new();
                for (at, dispute, s_at, statement) in index.open_disputes(&self.origin) {
                    if let Err(e) = self
                        .answer(&index, &at, &dispute, (&s_at, &statement), &mut credited)
                        .await
                    {
                        tracing::warn!(origin = %at.origin, index = at.index, "dispute not answered: {e}");
                    }
                }
            }
        }
    }

    /// Checks one statement addressed to this eMSP and logs the outcome. `Err` means "not yet"
    /// (the mirror or its witnessed checkpoint is behind); a dispute is an `Ok`.
    async fn check(
        &self,
        index: &SettlementIndex,
        at: &At,
        statement: &SettlementStatement,
    ) -> Result<(), String> {
        let served = self
            .logs
            .by_origin(&at.origin)
            .cloned()
            .ok_or_else(|| format!("no mirror of {}", at.origin))?;
        if served.witness.get().witnessed_size <= at.index {
            return Err("no witnessed checkpoint covers the statement yet".into());
        }
        let (coverage, records) = index
            .coverage(&served.store, at, statement)
            .map_err(|e| e.to_string())?;
        let mut items: BTreeSet<(Option<u64>, DisputeReason)> = BTreeSet::new();
        let overlapping = index.overlapping_statements(at, statement);
        if !overlapping.is_empty() {
            tracing::warn!(origin = %at.origin, index = at.index, others = ?overlapping.iter().map(|o| o.index).collect::<Vec<_>>(), "statement covers sessions another statement covers");
            items.insert((None, DisputeReason::CoverageMismatch));
        }
        // The refresh checked every statement it read; check again only if it could not.
        let verdict = match index.checked(at) {
            Some(verdict) => verdict.clone(),
            None => index.verify(at, statement, &coverage),
        };
        if let Err(problem) = verdict {
            let reason = match problem {
                StatementProblem::CountMismatch { .. } => DisputeReason::CoverageMismatch,
                StatementProblem::ProofRejected { .. } => DisputeReason::ProofInvalid,
            };
            tracing::warn!(origin = %at.origin, index = at.index, "statement does not check: {problem}");
            items.insert((None, reason));
        }
        let source = self
            .evidence
            .clone()
            .ok_or("this node is not in a network")?;
        let (mut excl, mut incl) = (0u128, 0u128);
        let mut opened_all = true;
        // Sessions whose evidence was opened and checked (`sessions_checked`).
        let mut opened = 0u64;
        for (record_index, record) in &records {
            let elsewhere = index.billed_elsewhere(
                &record.key_id,
                record.first_counter,
                record.last_counter,
                &at.origin,
                *record_index,
            );
            if !elsewhere.is_empty() {
                items.insert((Some(*record_index), DisputeReason::Duplicate));
            }
            match self
                .open_session(&served, &source, record, *record_index)
                .await?
            {
                Opened::Checked { reasons, amounts } => {
                    opened += 1;
                    for reason in reasons {
                        items.insert((Some(*record_index), reason));
                    }
                    excl += u128::from(amounts.0);
                    incl += u128::from(amounts.1);
                }
                Opened::Failed(reason) => {
                    items.insert((Some(*record_index), reason));
                    opened_all = false;
                }
            }
        }
        // The totals are compared only when every session was opened: a missing one is already
        // disputed by itself.
        if opened_all
            && (excl != u128::from(statement.sessions.excl_vat_minor)
                || incl != u128::from(statement.sessions.incl_vat_minor))
        {
            items.insert((None, DisputeReason::TotalMismatch));
        }
        let statement_ref = at.entry_ref();
        let checked = opened;
        let entries = if items.is_empty() {
            vec![kvitto_core::Entry::StatementAcknowledged(
                StatementAcknowledgement {
                    statement: statement_ref,
                    sessions_checked: checked,
                },
            )]
        } else {
            dispute_parts(&statement_ref, checked, items)
        };
        let kind = entries[0].type_name();
        let parts = entries.len();
        let logged = self
            .sequencer
            .settle(entries)
            .await
            .map_err(|e| e.to_string())?;
        tracing::info!(origin = %at.origin, statement = at.index, index = logged, kind, parts, sessions = checked, summed = index.has_running_sums(at), "settlement statement checked");
        Ok(())
    }

    /// Fetches, opens and checks one session's evidence.
    async fn open_session(
        &self,
        served: &kvitto_service::ServedLog<RocksStore>,
        source: &Arc<dyn EvidenceSource>,
        record: &SessionRecord,
        record_index: u64,
    ) -> Result<Opened, String> {
        let disclosed = match source
            .fetch(
                served.info.origin.clone(),
                record.session,
                format!("settlement check of entry {record_index}"),
            )
            .await
        {
            Ok(d) => d,
            Err(e) => {
                tracing::warn!(index = record_index, "evidence not delivered: {e}");
                return Ok(Opened::Failed(DisputeReason::EvidenceUnavailable));
            }
        };
        let (served, policy, session) = (served.clone(), self.policy.clone(), record.session);
        let store = self.store.clone();
        // The statement is addressed to this node's operator: its tokens are the ones it pays for.
        let issuer = self.logs.own().info.operator.clone();
        tokio::task::spawn_blocking(move || {
            open_and_check(&served, &policy, session, disclosed, &store, &issuer)
        })
        .await
        .map_err(|e| e.to_string())?
    }

    /// Answers one dispute of this log's statements.
    async fn answer(
        &self,
        index: &SettlementIndex,
        at: &At,
        dispute: &StatementDispute,
        (s_at, s): (&At, &SettlementStatement),
        credited: &mut BTreeSet<u64>,
    ) -> Result<(), String> {
        let own = self.logs.own();
        let (coverage, _) = index
            .coverage(&own.store, s_at, s)
            .map_err(|e| e.to_string())?;
        let covered: BTreeSet<u64> = coverage.sessions.iter().map(|(i, _, _)| *i).collect();
        let before = credited.clone();
        let mut plans = Vec::new();
        for item in &dispute.items {
            let plan = match item.session_index {
                None => {
                    match index.verify(s_at, s, &coverage) {
                        Ok(()) => AnswerPlan::Reject {
                            session_index: None,
                            reason: format!(
                                "the statement's total proofs verify against the {} session and {} credit commitments it covers",
                                coverage.sessions.len(),
                                coverage.credits.len()
                            ),
                        },
                        Err(problem) => AnswerPlan::Reject {
                            session_index: None,
                            reason: format!(
                                "confirmed ({problem}): no node nets this statement; its sessions are not billed again"
                            ),
                        },
                    }
                }
                Some(session_index) if !covered.contains(&session_index) => AnswerPlan::Reject {
                    session_index: Some(session_index),
                    reason: format!("entry {session_index} is not a session this statement covers"),
                },
                Some(session_index) if credited.contains(&session_index) => AnswerPlan::Reject {
                    session_index: Some(session_index),
                    reason: "credited in full under another item or dispute answered now".into(),
                },
                Some(session_index) if index.credit_for(&self.origin, session_index).is_some() => {
                    AnswerPlan::Reject {
                        session_index: Some(session_index),
                        reason: format!(
                            "already refunded by the credit note at entry {}",
                            index.credit_for(&self.origin, session_index).unwrap_or_default()
                        ),
                    }
                }
                Some(session_index) if item.reason == DisputeReason::Duplicate => {
                    let record = own_record(&own.store, session_index)?;
                    let elsewhere = record.as_ref().map(|r| {
                        index.billed_elsewhere(
                            &r.key_id,
                            r.first_counter,
                            r.last_counter,
                            &self.origin,
                            session_index,
                        )
                    });
                    match elsewhere {
                        Some(others) if !others.is_empty() => AnswerPlan::Reject {
                            session_index: Some(session_index),
                            reason: format!(
                                "the charger's readings are signed to this operator's registration; also billed at {} entry {}: a matter for the regulator",
                                others[0].origin, others[0].index
                            ),
                        },
                        _ => AnswerPlan::Reject {
                            session_index: Some(session_index),
                            reason: "no other session on any log bills these readings".into(),
                        },
                    }
                }
                Some(session_index) => {
                    credited.insert(session_index);
                    AnswerPlan::Credit {
                        session_index,
                        reason: item.reason,
                    }
                }
            };
            plans.push(plan);
        }
        let answered = match self.sequencer.answer_dispute(at.entry_ref(), plans).await {
            Ok(i) => i,
            Err(e) => {
                // Nothing was appended: these sessions are not credited after all.
                *credited = before;
                return Err(e.to_string());
            }
        };
        tracing::info!(dispute = %at.origin, index = at.index, answer = answered, "dispute answered");
        Ok(())
    }
}

enum Opened {
    /// Opened: the reasons to dispute it (none if it checks) and its amounts.
    Checked {
        reasons: Vec<DisputeReason>,
        amounts: (u64, u64),
    },
    Failed(DisputeReason),
}

fn open_and_check(
    served: &kvitto_service::ServedLog<RocksStore>,
    policy: &str,
    session: SessionId,
    disclosed: kvitto_service::DisclosedEvidence,
    own: &LogStore<RocksStore>,
    issuer: &str,
) -> Result<Opened, String> {
    let opened = match open_disclosed(served, policy, session, disclosed) {
        Ok(o) => o,
        Err(DisclosedError::Mismatch(m)) => {
            tracing::warn!("evidence does not match the ledger: {m}");
            return Ok(Opened::Failed(DisputeReason::MissingReadings));
        }
        Err(e) => return Err(e.to_string()),
    };
    let mut reasons = BTreeSet::new();
    for check in opened
        .report
        .checks
        .iter()
        .filter(|c| c.outcome == Outcome::Fail)
    {
        reasons.insert(match check.name {
            CheckName::Price | CheckName::Summary => DisputeReason::PriceMismatch,
            CheckName::TariffInForce | CheckName::TariffInclusion => {
                DisputeReason::TariffNotInForce
            }
            CheckName::AmountOpenings | CheckName::RangeProof | CheckName::IdentityOpening => {
                DisputeReason::OpeningMismatch
            }
            _ => DisputeReason::MissingReadings,
        });
    }
    let known = opened
        .bundle
        .token
        .as_ref()
        .map(|t| kvitto_service::custody::issued_token(own, issuer, t))
        .transpose()
        .map_err(|e| e.to_string())?;
    if known != Some(true) {
        reasons.insert(DisputeReason::UnknownToken);
    }
    let value = |hex_text: &str| {
        hex::decode(hex_text)
            .ok()
            .and_then(|b| kvitto_privacy::AmountOpening::from_bytes(&b).ok())
            .map(|o| o.value_minor())
    };
    let amounts = match (
        value(&opened.bundle.openings.amount_excl_vat),
        value(&opened.bundle.openings.amount_incl_vat),
    ) {
        (Some(e), Some(i)) => (e, i),
        _ => return Ok(Opened::Failed(DisputeReason::OpeningMismatch)),
    };
    Ok(Opened::Checked {
        reasons: reasons.into_iter().collect(),
        amounts,
    })
}

fn own_record<S: KvStore>(
    store: &LogStore<S>,
    index: u64,
) -> Result<Option<SessionRecord>, String> {
    let bytes = store.entry(index).map_err(|e| e.to_string())?;
    Ok(match bytes.map(|b| kvitto_core::Entry::decode(&b)) {
        Some(Ok(kvitto_core::Entry::SessionClosed(r))) => Some(r),
        _ => None,
    })
}

fn period_floor(now_ms: u64, period_s: u64) -> u64 {
    let p = period_s.max(1) * 1000;
    now_ms - now_ms % p
}

/// A dispute of every item, in parts of at most [`kvitto_core::limits::DISPUTE_ITEMS_MAX`]
/// items (one entry holds no more), in item order: statement-wide items first, then by session.
/// The parts are appended together and the CPO answers each.
fn dispute_parts(
    statement: &kvitto_core::settlement::EntryRef,
    sessions_checked: u64,
    items: BTreeSet<(Option<u64>, DisputeReason)>,
) -> Vec<kvitto_core::Entry> {
    let items: Vec<DisputeItem> = items
        .into_iter()
        .map(|(session_index, reason)| DisputeItem {
            session_index,
            reason,
        })
        .collect();
    items
        .chunks(kvitto_core::limits::DISPUTE_ITEMS_MAX)
        .map(|part| {
            kvitto_core::Entry::StatementDisputed(StatementDispute {
                statement: statement.clone(),
                sessions_checked,
                items: part.to_vec(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// More items than one entry holds become several parts, in item order, none lost.
    #[test]
    fn a_long_dispute_is_split_into_parts_without_losing_an_item() {
        let max = kvitto_core::limits::DISPUTE_ITEMS_MAX as u64;
        let statement = kvitto_core::settlement::EntryRef {
            origin: "cpo.example/log".into(),
            index: 9_000,
            leaf_hash: [7; 32],
        };
        let mut items: BTreeSet<(Option<u64>, DisputeReason)> = (0..2 * max + 3)
            .map(|i| (Some(i), DisputeReason::UnknownToken))
            .collect();
        items.insert((None, DisputeReason::TotalMismatch));
        let expected: Vec<_> = items.iter().copied().collect();
        let parts = dispute_parts(&statement, 2 * max + 3, items);
        let sizes: Vec<usize> = parts
            .iter()
            .map(|p| match p {
                kvitto_core::Entry::StatementDisputed(d) => {
                    assert_eq!(d.statement, statement);
                    d.items.len()
                }
                other => panic!("{} is not a dispute", other.type_name()),
            })
            .collect();
        assert_eq!(sizes, vec![max as usize, max as usize, 4]);
        let joined: Vec<_> = parts
            .iter()
            .flat_map(|p| match p {
                kvitto_core::Entry::StatementDisputed(d) => d.items.clone(),
                _ => unreachable!(),
            })
            .map(|i| (i.session_index, i.reason))
            .collect();
        assert_eq!(joined, expected, "statement-wide first, then by session");
    }
}
