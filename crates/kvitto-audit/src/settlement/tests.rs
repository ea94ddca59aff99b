//! The settlement check on logs built from its input type: real amount commitments, real
//! statements with total proofs, and references by leaf hash, as a CPO's and an eMSP's logs hold
//! them. (`crate::tests` runs settlement entries through the whole audit.)

use std::collections::HashMap;

use kvitto_core::entry::Entry;
use kvitto_core::settlement::{
    proof_statement, AmountTotal, AnswerItem, AnswerOutcome, CreditNote, DisputeAnswer,
    DisputeItem, DisputeReason, EntryRef, SettlementStatement, StatementAcknowledgement,
    StatementDispute, TotalKind,
};
use kvitto_ledger::settlement::credit_context;
use kvitto_privacy::{prove_total, AmountCommitment, AmountOpening, SessionContext};
use kvitto_tlog::merkle::leaf_hash;
use rand_core::OsRng;

use super::{check, rules, BilledSession, LogEntries, SettlementCounts, SettlementEntry};
use crate::report::Finding;

const EMSP: &str = "SE*BBB";

/// A log as the check sees it, with the amount openings its operator keeps.
struct Log {
    log: LogEntries,
    /// (excl., incl. VAT) openings of each session record and credit note, by index.
    openings: HashMap<u64, (AmountOpening, AmountOpening)>,
}

impl Log {
    fn new(operator: &str) -> Log {
        let id = operator.replace('*', "-").to_ascii_lowercase();
        Log {
            log: LogEntries {
                origin: format!("kvitto/test/{id}"),
                operator: operator.to_owned(),
                size: 0,
                sessions: Vec::new(),
                entries: Vec::new(),
            },
            openings: HashMap::new(),
        }
    }

    fn origin(&self) -> &str {
        &self.log.origin
    }

    /// An entry the settlement check does not keep (a registration, a tariff).
    fn other(&mut self) -> u64 {
        self.log.size += 1;
        self.log.size - 1
    }

    /// A session record billed to `counterparty` in `currency`.
    fn session(&mut self, counterparty: &str, currency: &str, excl_minor: u64) -> u64 {
        let index = self.other();
        let ctx = SessionContext::new(self.origin(), [1; 16], [index as u8; 16]).unwrap();
        let excl = AmountOpening::new(excl_minor, &ctx, &mut OsRng);
        let incl = AmountOpening::new(excl_minor * 125 / 100, &ctx, &mut OsRng);
        self.log.sessions.push(BilledSession {
            index,
            counterparty: counterparty.to_owned(),
            currency: currency.to_owned(),
            amount_excl_vat: excl.commit().to_bytes(),
            amount_incl_vat: incl.commit().to_bytes(),
        });
        self.openings.insert(index, (excl, incl));
        index
    }

    fn push(&mut self, entry: Entry) -> EntryRef {
        let index = self.other();
        let leaf_hash = leaf_hash(&entry.encode()).0;
        self.log.entries.push(SettlementEntry {
            index,
            leaf_hash,
            entry,
        });
        EntryRef {
            origin: self.origin().to_owned(),
            index,
            leaf_hash,
        }
    }

    fn credit(&mut self, session_index: u64, excl_minor: u64, dispute: Option<EntryRef>) -> u64 {
        let index = self.log.size;
        let ctx = credit_context(self.origin(), index).unwrap();
        let excl = AmountOpening::new(excl_minor, &ctx, &mut OsRng);
        let incl = AmountOpening::new(excl_minor * 125 / 100, &ctx, &mut OsRng);
        self.push(Entry::CreditNote(CreditNote {
            counterparty: EMSP.into(),
            currency: "EUR".into(),
            session_index,
            reason: DisputeReason::PriceMismatch,
            dispute,
            amount_excl_vat: excl.commit().to_bytes(),
            amount_incl_vat: incl.commit().to_bytes(),
            range_proof: Vec::new(),
        }));
        self.openings.insert(index, (excl, incl));
        index
    }

    /// An honest statement to `EMSP` in EUR at the next index, from `from_index`: its totals
    /// proven over what it covers.
    fn statement(&mut self, from_index: u64) -> EntryRef {
        let index = self.log.size;
        let coverage = super::coverage(&self.log, EMSP, "EUR", from_index, index);
        let mut s = SettlementStatement {
            counterparty: EMSP.into(),
            currency: "EUR".into(),
            period_start_ms: 0,
            period_end_ms: 86_400_000,
            from_index,
            sessions: AmountTotal::empty(),
            credits: AmountTotal::empty(),
        };
        let total = |items: &[(u64, [u8; 32], [u8; 32])], kinds: [TotalKind; 2]| {
            if items.is_empty() {
                return AmountTotal::empty();
            }
            let mut sums = Vec::new();
            for (incl, kind) in [(false, kinds[0]), (true, kinds[1])] {
                let commitments: Vec<_> = items
                    .iter()
                    .map(|(_, e, i)| {
                        AmountCommitment::from_bytes(if incl { i } else { e }).unwrap()
                    })
                    .collect();
                let openings: Vec<_> = items
                    .iter()
                    .map(|(at, _, _)| {
                        let (e, i) = &self.openings[at];
                        if incl {
                            i.clone()
                        } else {
                            e.clone()
                        }
                    })
                    .collect();
                let bytes = proof_statement(self.origin(), index, &s, kind);
                sums.push(prove_total(&bytes, &commitments, &openings, &mut OsRng).unwrap());
            }
            AmountTotal {
                count: items.len() as u64,
                excl_vat_minor: sums[0].0,
                incl_vat_minor: sums[1].0,
                proof_excl_vat: sums[0].1.to_bytes().to_vec(),
                proof_incl_vat: sums[1].1.to_bytes().to_vec(),
            }
        };
        let sessions = total(
            &coverage.sessions,
            [TotalKind::SessionsExclVat, TotalKind::SessionsInclVat],
        );
        let credits = total(
            &coverage.credits,
            [TotalKind::CreditsExclVat, TotalKind::CreditsInclVat],
        );
        s.sessions = sessions;
        s.credits = credits;
        self.push(Entry::SettlementStatement(s))
    }

    fn acknowledge(&mut self, statement: &EntryRef) -> EntryRef {
        self.push(Entry::StatementAcknowledged(StatementAcknowledgement {
            statement: statement.clone(),
            sessions_checked: 2,
        }))
    }

    fn dispute(&mut self, statement: &EntryRef, sessions: &[Option<u64>]) -> EntryRef {
        self.push(Entry::StatementDisputed(StatementDispute {
            statement: statement.clone(),
            sessions_checked: 2,
            items: sessions
                .iter()
                .map(|&session_index| DisputeItem {
                    session_index,
                    reason: DisputeReason::PriceMismatch,
                })
                .collect(),
        }))
    }

    fn answer(&mut self, dispute: &EntryRef, items: &[(Option<u64>, Option<u64>)]) -> EntryRef {
        self.push(Entry::DisputeAnswered(DisputeAnswer {
            dispute: dispute.clone(),
            items: items
                .iter()
                .map(|&(session_index, credit)| AnswerItem {
                    session_index,
                    outcome: match credit {
                        Some(credit_index) => AnswerOutcome::Credited { credit_index },
                        None => AnswerOutcome::Rejected {
                            reason: "the price follows the tariff".into(),
                        },
                    },
                })
                .collect(),
        }))
    }

    /// Replaces the entry at `at` (re-hashing it), as a dishonest operator would rewrite it.
    fn rewrite(&mut self, at: &EntryRef, change: impl FnOnce(&mut Entry)) {
        let held = self
            .log
            .entries
            .iter_mut()
            .find(|e| e.index == at.index)
            .unwrap();
        change(&mut held.entry);
        held.leaf_hash = leaf_hash(&held.entry.encode()).0;
    }
}

/// A CPO with sessions to the eMSP (and one to another eMSP, one in another currency), a credit
/// note, and a statement over them; and the eMSP's log.
fn cpo_and_emsp() -> (Log, Log, EntryRef) {
    let mut cpo = Log::new("SE*AAA");
    let emsp = Log::new(EMSP);
    cpo.other();
    let first = cpo.session(EMSP, "EUR", 1000);
    cpo.session("SE*CCC", "EUR", 700);
    cpo.session(EMSP, "SEK", 9000);
    cpo.session(EMSP, "EUR", 400);
    cpo.credit(first, 100, None);
    let statement = cpo.statement(0);
    (cpo, emsp, statement)
}

fn run(logs: &[&Log]) -> (Vec<Finding>, SettlementCounts) {
    let logs: Vec<LogEntries> = logs.iter().map(|l| l.log.clone()).collect();
    check(&logs)
}

fn rules_of(findings: &[Finding]) -> Vec<&str> {
    findings.iter().map(|f| f.rule.as_str()).collect()
}

#[test]
fn an_honest_statement_acknowledged_has_no_findings() {
    let (cpo, mut emsp, statement) = cpo_and_emsp();
    emsp.acknowledge(&statement);
    let (findings, counts) = run(&[&cpo, &emsp]);
    assert_eq!(rules_of(&findings), Vec::<&str>::new(), "{findings:#?}");
    assert_eq!(
        counts,
        SettlementCounts {
            entries: 3,
            statements: 1,
            acknowledged: 1,
            ..SettlementCounts::default()
        }
    );
    // The statement covers the two EUR sessions to the eMSP and the credit note.
    let Entry::SettlementStatement(s) = &cpo.log.entries[1].entry else {
        panic!("not a statement")
    };
    assert_eq!((s.sessions.count, s.sessions.excl_vat_minor), (2, 1400));
    assert_eq!((s.credits.count, s.credits.excl_vat_minor), (1, 100));
    // Without the acknowledgement it is pending, which is no finding.
    let (findings, counts) = run(&[&cpo, &Log::new(EMSP)]);
    assert!(findings.is_empty(), "{findings:#?}");
    assert_eq!((counts.statements, counts.pending), (1, 1));
}

#[test]
fn a_wrong_total_is_statement_total_invalid() {
    let (mut cpo, mut emsp, statement) = cpo_and_emsp();
    cpo.rewrite(&statement, |e| {
        if let Entry::SettlementStatement(s) = e {
            s.sessions.incl_vat_minor += 1;
        }
    });
    // The eMSP acknowledges what the log now holds.
    let statement = EntryRef {
        leaf_hash: cpo.log.entries[1].leaf_hash,
        ..statement
    };
    emsp.acknowledge(&statement);
    let (findings, _) = run(&[&cpo, &emsp]);
    assert_eq!(rules_of(&findings), vec![rules::STATEMENT_TOTAL_INVALID]);
    let f = &findings[0];
    assert_eq!(
        (f.origin.as_str(), f.index),
        (cpo.origin(), Some(statement.index))
    );
    assert_eq!(f.evidence["sum"], "sessions incl. VAT");
    assert_eq!(f.evidence["failure"], "proof");

    // A session the statement leaves out, though it lies in its range: the counts differ.
    let mut cpo = Log::new("SE*AAA");
    cpo.session(EMSP, "EUR", 1000);
    cpo.session(EMSP, "EUR", 400);
    let hidden = cpo.log.sessions.pop().unwrap();
    cpo.statement(0);
    cpo.log.sessions.push(hidden);
    let (findings, _) = run(&[&cpo]);
    assert_eq!(rules_of(&findings), vec![rules::STATEMENT_TOTAL_INVALID]);
    assert_eq!(findings[0].evidence["failure"], "count");
    assert_eq!(findings[0].evidence["stated_count"], "1");
    assert_eq!(findings[0].evidence["covered_count"], "2");
}

#[test]
fn overlapping_statements_bill_sessions_twice() {
    let (mut cpo, mut emsp, first) = cpo_and_emsp();
    emsp.acknowledge(&first);
    cpo.session(EMSP, "EUR", 250);
    // Honest totals over its range, but the range starts before the first statement's end.
    let second = cpo.statement(2);
    emsp.acknowledge(&second);
    let (findings, counts) = run(&[&cpo, &emsp]);
    assert_eq!(rules_of(&findings), vec![rules::STATEMENT_COVERAGE_OVERLAP]);
    let f = &findings[0];
    assert_eq!(f.index, Some(second.index));
    assert_eq!(f.related[0].index, first.index);
    assert_eq!(
        f.evidence["expected_from_index"],
        (first.index + 1).to_string()
    );
    // Sessions 4 and the credit note 5 are in both statements.
    assert_eq!(f.evidence["entries_covered_twice"], "2");
    assert_eq!((counts.statements, counts.acknowledged), (2, 2));

    // Starting right after the first statement is clean.
    let (mut cpo, _, first) = cpo_and_emsp();
    cpo.session(EMSP, "EUR", 250);
    cpo.statement(first.index + 1);
    assert!(run(&[&cpo]).0.is_empty());
}

#[test]
fn statements_that_skip_covered_entries_leave_a_gap() {
    // A first statement that starts after a session it would cover.
    let mut cpo = Log::new("SE*AAA");
    let skipped = cpo.session(EMSP, "EUR", 1000);
    cpo.other();
    let statement = cpo.statement(1);
    let (findings, _) = run(&[&cpo]);
    assert_eq!(rules_of(&findings), vec![rules::STATEMENT_COVERAGE_GAP]);
    assert_eq!(findings[0].index, Some(statement.index));
    assert_eq!(
        findings[0].evidence["first_uncovered_index"],
        skipped.to_string()
    );
    // Starting late past entries it does not cover is fine.
    let mut cpo = Log::new("SE*AAA");
    cpo.session("SE*CCC", "EUR", 1000);
    cpo.session(EMSP, "EUR", 1000);
    cpo.statement(1);
    assert!(run(&[&cpo]).0.is_empty());
    // A later statement that does not start right after the previous one.
    let (mut cpo, _, first) = cpo_and_emsp();
    cpo.session(EMSP, "EUR", 250);
    cpo.session(EMSP, "EUR", 250);
    cpo.statement(first.index + 2);
    let (findings, _) = run(&[&cpo]);
    assert_eq!(rules_of(&findings), vec![rules::STATEMENT_COVERAGE_GAP]);
    assert_eq!(findings[0].evidence["entries_uncovered"], "1");
}

#[test]
fn a_dispute_needs_an_answer_that_matches_its_items() {
    let (mut cpo, mut emsp, statement) = cpo_and_emsp();
    let dispute = emsp.dispute(&statement, &[None, Some(1), Some(4)]);
    let (findings, counts) = run(&[&cpo, &emsp]);
    assert_eq!(rules_of(&findings), vec![rules::DISPUTE_UNANSWERED]);
    let f = &findings[0];
    assert_eq!(
        (f.origin.as_str(), f.index),
        (emsp.origin(), Some(dispute.index))
    );
    assert_eq!(f.evidence["items"], "3");
    assert_eq!(f.related[0].index, statement.index);
    assert_eq!((counts.disputed, counts.pending), (1, 0));

    // Credited by a credit note for session 4, the rest rejected: answered, no findings.
    let credit = cpo.credit(4, 400, Some(dispute.clone()));
    let unanswered = cpo.log.clone();
    cpo.answer(
        &dispute,
        &[(None, None), (Some(1), None), (Some(4), Some(credit))],
    );
    let (findings, counts) = run(&[&cpo, &emsp]);
    assert!(findings.is_empty(), "{findings:#?}");
    assert_eq!((counts.answered, counts.disputed), (1, 0));

    // An answer that skips an item, and credits by an entry that is no credit note for it.
    cpo.log = unanswered.clone();
    cpo.answer(
        &dispute,
        &[(Some(1), None), (Some(4), Some(statement.index))],
    );
    let (findings, counts) = run(&[&cpo, &emsp]);
    assert_eq!(
        rules_of(&findings),
        vec![rules::ANSWER_ITEM_MISMATCH, rules::ANSWER_ITEM_MISMATCH],
        "{findings:#?}"
    );
    assert_eq!(findings[0].evidence["answer_items"], "2");
    assert_eq!(findings[0].evidence["dispute_items"], "3");
    assert_eq!(
        findings[1].evidence["credit_index"],
        statement.index.to_string()
    );
    assert_eq!(counts.answered, 1);
    // A credit note for another session.
    cpo.log = unanswered;
    cpo.answer(
        &dispute,
        &[(None, None), (Some(1), Some(credit)), (Some(4), None)],
    );
    let (findings, _) = run(&[&cpo, &emsp]);
    assert_eq!(rules_of(&findings), vec![rules::ANSWER_ITEM_MISMATCH]);
    assert!(
        findings[0].message.contains("session at entry 4"),
        "{}",
        findings[0].message
    );
}

#[test]
fn an_answer_from_another_log_does_not_count() {
    let (cpo, mut emsp, statement) = cpo_and_emsp();
    let dispute = emsp.dispute(&statement, &[Some(1)]);
    let mut other = Log::new("SE*CCC");
    let answer = other.answer(&dispute, &[(Some(1), None)]);
    let (findings, _) = run(&[&cpo, &emsp, &other]);
    assert_eq!(
        rules_of(&findings),
        vec![
            rules::DISPUTE_UNANSWERED,
            rules::SETTLEMENT_REFERENCE_UNKNOWN
        ]
    );
    assert_eq!(findings[1].index, Some(answer.index));
    assert_eq!(findings[1].evidence["reason"], "not_the_statement_log");
}

#[test]
fn an_acknowledgement_with_a_wrong_leaf_hash_names_nothing() {
    let (cpo, mut emsp, statement) = cpo_and_emsp();
    let mut wrong = statement.clone();
    wrong.leaf_hash[0] ^= 1;
    let ack = emsp.acknowledge(&wrong);
    let (findings, counts) = run(&[&cpo, &emsp]);
    assert_eq!(
        rules_of(&findings),
        vec![rules::SETTLEMENT_REFERENCE_UNKNOWN]
    );
    let f = &findings[0];
    assert_eq!(
        (f.origin.as_str(), f.index),
        (emsp.origin(), Some(ack.index))
    );
    assert_eq!(f.evidence["reason"], "leaf_hash_differs");
    assert_eq!(
        f.evidence["held_leaf_hash"],
        hex::encode(statement.leaf_hash)
    );
    // It does not count: the statement is still pending.
    assert_eq!((counts.acknowledged, counts.pending), (0, 1));
}

#[test]
fn references_to_missing_or_other_entries_are_unknown() {
    let (cpo, _, statement) = cpo_and_emsp();
    let cases: Vec<(EntryRef, &str)> = vec![
        (
            EntryRef {
                origin: "kvitto/test/nobody".into(),
                ..statement.clone()
            },
            "log_not_audited",
        ),
        (
            EntryRef {
                index: 99,
                ..statement.clone()
            },
            "beyond_log",
        ),
        // A session record.
        (
            EntryRef {
                index: 1,
                ..statement.clone()
            },
            "wrong_type",
        ),
        // The credit note, by its own leaf hash.
        (
            EntryRef {
                index: cpo.log.entries[0].index,
                leaf_hash: cpo.log.entries[0].leaf_hash,
                origin: statement.origin.clone(),
            },
            "wrong_type",
        ),
    ];
    for (reference, reason) in cases {
        let mut emsp = Log::new(EMSP);
        emsp.acknowledge(&reference);
        let (findings, _) = run(&[&cpo, &emsp]);
        assert_eq!(
            rules_of(&findings),
            vec![rules::SETTLEMENT_REFERENCE_UNKNOWN],
            "{reason}"
        );
        assert_eq!(findings[0].evidence["reason"], reason);
    }
    // An acknowledgement from a log that is not the counterparty's.
    let mut other = Log::new("SE*CCC");
    other.acknowledge(&statement);
    let (findings, counts) = run(&[&cpo, &other]);
    assert_eq!(
        rules_of(&findings),
        vec![rules::SETTLEMENT_REFERENCE_UNKNOWN]
    );
    assert_eq!(findings[0].evidence["reason"], "not_the_counterparty");
    assert_eq!(counts.pending, 1);
}

#[test]
fn acknowledging_and_disputing_one_statement_is_named() {
    let (mut cpo, mut emsp, statement) = cpo_and_emsp();
    let ack = emsp.acknowledge(&statement);
    let dispute = emsp.dispute(&statement, &[Some(1)]);
    cpo.answer(&dispute, &[(Some(1), None)]);
    let (findings, counts) = run(&[&cpo, &emsp]);
    assert_eq!(
        rules_of(&findings),
        vec![rules::STATEMENT_BOTH_ACKNOWLEDGED_AND_DISPUTED]
    );
    let f = &findings[0];
    assert_eq!(f.index, Some(dispute.index));
    assert_eq!(f.related[1].index, ack.index);
    assert_eq!(counts.acknowledged, 1);
}
