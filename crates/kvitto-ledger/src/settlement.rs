//! Settlement rules (`specs/settlement.md`): what a settlement entry must satisfy to be appended,
//! which records a statement covers, and the check anyone can run that a statement's totals are
//! the sums of the covered commitments.
//!
//! Appending (`Ledger::settle`) checks what one log can show: field formats, limits, that indices
//! point backwards, and a credit note's range proof. Whether a statement's totals add up needs the
//! covered commitments, which a verifier collects with [`Coverage`] from the log's entries and
//! checks with [`verify_statement`]. Counterparties do that before they acknowledge, and the
//! regulator's audit does it for every statement. A verifier that follows the log as it grows
//! can keep [`CoverageSums`] instead, adding each commitment once as it arrives, and check a
//! statement over any number of sessions with [`verify_statement_summed`] without decompressing
//! them again.

use kvitto_core::entry::{Entry, SessionRecord};
use kvitto_core::settlement::{
    self, AmountTotal, CreditNote, SettlementStatement, TotalKind, TOTAL_PROOF_LEN,
};
use kvitto_core::{domain, limits};
use kvitto_privacy::{
    verify_ranges, verify_total_proof, verify_total_proof_summed, AmountCommitment,
    AmountRangeProof, CommitmentSum, PrivacyError, SessionContext, TotalProof,
};
use rand_core::OsRng;
use thiserror::Error;

use crate::registry::RegistryError;
use crate::Ledger;

/// Why a settlement entry cannot be appended.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SettlementError {
    #[error("{field}: {reason}")]
    Invalid { field: &'static str, reason: String },
    #[error("{field} {index} is not before this entry's index {size}")]
    IndexAhead {
        field: &'static str,
        index: u64,
        size: u64,
    },
    #[error("the credit note's range proof does not verify: {0}")]
    CreditRangeProof(String),
}

impl SettlementError {
    pub fn code(&self) -> &'static str {
        match self {
            SettlementError::Invalid { .. } => "settlement_invalid",
            SettlementError::IndexAhead { .. } => "settlement_index_ahead",
            SettlementError::CreditRangeProof(_) => "credit_range_proof",
        }
    }
}

fn invalid(field: &'static str, reason: impl Into<String>) -> SettlementError {
    SettlementError::Invalid {
        field,
        reason: reason.into(),
    }
}

fn party(field: &'static str, text: &str) -> Result<(), SettlementError> {
    if settlement::is_party_id(text) {
        Ok(())
    } else {
        Err(invalid(
            field,
            format!("{text:?} is not a party id like SE*N01"),
        ))
    }
}

fn origin(field: &'static str, text: &str) -> Result<(), SettlementError> {
    if text.is_empty() || text.len() > limits::TEXT_LEN_MAX || text.chars().any(char::is_control) {
        return Err(invalid(
            field,
            format!(
                "a log origin of 1 to {} bytes without control characters",
                limits::TEXT_LEN_MAX
            ),
        ));
    }
    Ok(())
}

fn total_shape(field: &'static str, total: &AmountTotal) -> Result<(), SettlementError> {
    let proofs = [&total.proof_excl_vat, &total.proof_incl_vat];
    if total.count == 0 {
        if total.excl_vat_minor != 0 || total.incl_vat_minor != 0 {
            return Err(invalid(field, "no commitments, yet a total other than 0"));
        }
        if proofs.iter().any(|p| !p.is_empty()) {
            return Err(invalid(field, "no commitments, yet a total proof"));
        }
    } else {
        if total.count > limits::STATEMENT_COMMITMENTS_MAX {
            return Err(invalid(
                field,
                format!(
                    "{} commitments, at most {} per statement",
                    total.count,
                    limits::STATEMENT_COMMITMENTS_MAX
                ),
            ));
        }
        if proofs.iter().any(|p| p.len() != TOTAL_PROOF_LEN) {
            return Err(invalid(
                field,
                format!("each total proof is {TOTAL_PROOF_LEN} bytes"),
            ));
        }
        if total.incl_vat_minor < total.excl_vat_minor {
            return Err(invalid(
                field,
                "the total including VAT is below the total excluding it",
            ));
        }
    }
    Ok(())
}

/// The range-proof context of a credit note at `index` of the log `origin`: its own, so a session's
/// range proof cannot stand for a credit's.
pub fn credit_context(origin: &str, index: u64) -> Result<SessionContext, PrivacyError> {
    let id = domain::digest(domain::HASH_CREDIT_NOTE_ID, &[&index.to_be_bytes()]);
    let mut key = [0u8; 16];
    key.copy_from_slice(&domain::digest(domain::HASH_CREDIT_NOTE_ID, &[b"key"])[..16]);
    let mut session = [0u8; 16];
    session.copy_from_slice(&id[..16]);
    SessionContext::new(origin, key, session)
}

impl Ledger {
    /// Appends a settlement entry (statement, credit note, acknowledgement, dispute or answer)
    /// after checking what this log can show.
    pub fn settle(&mut self, entry: Entry) -> Result<crate::Effects, RegistryError> {
        self.check_settlement(&entry)
            .map_err(RegistryError::Settlement)?;
        let mut effects = crate::Effects::default();
        self.append(&mut effects, entry);
        Ok(effects)
    }

    /// The rules for a settlement entry at the next index (`specs/settlement.md`).
    pub fn check_settlement(&self, entry: &Entry) -> Result<(), SettlementError> {
        let size = self.size;
        let before = |field: &'static str, index: u64| {
            if index < size {
                Ok(())
            } else {
                Err(SettlementError::IndexAhead { field, index, size })
            }
        };
        match entry {
            Entry::SettlementStatement(s) => {
                party("counterparty", &s.counterparty)?;
                if !settlement::is_currency(&s.currency) {
                    return Err(invalid("currency", "an ISO 4217 code like EUR"));
                }
                if s.period_end_ms <= s.period_start_ms {
                    return Err(invalid("period_end_ms", "the period ends before it starts"));
                }
                if s.from_index > size {
                    return Err(SettlementError::IndexAhead {
                        field: "from_index",
                        index: s.from_index,
                        size,
                    });
                }
                total_shape("sessions", &s.sessions)?;
                total_shape("credits", &s.credits)?;
            }
            Entry::CreditNote(c) => {
                party("counterparty", &c.counterparty)?;
                if !settlement::is_currency(&c.currency) {
                    return Err(invalid("currency", "an ISO 4217 code like EUR"));
                }
                before("session_index", c.session_index)?;
                if let Some(d) = &c.dispute {
                    origin("dispute.origin", &d.origin)?;
                }
                verify_credit_ranges(&self.origin, size, c)?;
            }
            Entry::StatementAcknowledged(a) => {
                origin("statement.origin", &a.statement.origin)?;
                if a.statement.origin == self.origin {
                    return Err(invalid(
                        "statement.origin",
                        "a log does not acknowledge itself",
                    ));
                }
            }
            Entry::StatementDisputed(d) => {
                origin("statement.origin", &d.statement.origin)?;
                if d.statement.origin == self.origin {
                    return Err(invalid("statement.origin", "a log does not dispute itself"));
                }
                if d.items.is_empty() || d.items.len() > limits::DISPUTE_ITEMS_MAX {
                    return Err(invalid(
                        "items",
                        format!("1 to {} disputed items", limits::DISPUTE_ITEMS_MAX),
                    ));
                }
                let keys: Vec<_> = d
                    .items
                    .iter()
                    .map(|i| (i.session_index, i.reason))
                    .collect();
                if keys.windows(2).any(|w| w[0] >= w[1]) {
                    return Err(invalid(
                        "items",
                        "sorted by session (statement-wide first), then reason, without repeats",
                    ));
                }
            }
            Entry::DisputeAnswered(a) => {
                origin("dispute.origin", &a.dispute.origin)?;
                if a.items.is_empty() || a.items.len() > limits::DISPUTE_ITEMS_MAX {
                    return Err(invalid(
                        "items",
                        format!("1 to {} answered items", limits::DISPUTE_ITEMS_MAX),
                    ));
                }
                for item in &a.items {
                    match &item.outcome {
                        settlement::AnswerOutcome::Credited { credit_index } => {
                            before("credit_index", *credit_index)?;
                        }
                        settlement::AnswerOutcome::Rejected { reason } => {
                            if reason.is_empty()
                                || reason.len() > limits::TEXT_LEN_MAX
                                || reason.chars().any(char::is_control)
                            {
                                return Err(invalid(
                                    "reason",
                                    "a rejection says why, without control characters",
                                ));
                            }
                        }
                    }
                }
            }
            other => {
                return Err(invalid(
                    "entry",
                    format!("{} is not a settlement entry", other.type_name()),
                ))
            }
        }
        Ok(())
    }
}

fn verify_credit_ranges(origin: &str, index: u64, c: &CreditNote) -> Result<(), SettlementError> {
    let problem = |e: PrivacyError| SettlementError::CreditRangeProof(e.to_string());
    let ctx = credit_context(origin, index).map_err(problem)?;
    let excl = AmountCommitment::from_bytes(&c.amount_excl_vat).map_err(problem)?;
    let incl = AmountCommitment::from_bytes(&c.amount_incl_vat).map_err(problem)?;
    let proof = AmountRangeProof::from_bytes(&c.range_proof).map_err(problem)?;
    verify_ranges(&[ctx.clone(), ctx], &[excl, incl], &proof, &mut OsRng).map_err(problem)
}

/// The commitments a statement covers, in log order, as a verifier collects them.
#[derive(Debug, Default, Clone)]
pub struct Coverage {
    /// (index, amount excl. VAT, amount incl. VAT) of each covered session record.
    pub sessions: Vec<(u64, [u8; 32], [u8; 32])>,
    /// The same for each covered credit note.
    pub credits: Vec<(u64, [u8; 32], [u8; 32])>,
}

impl Coverage {
    /// Adds `entry` at `index` if a statement for `counterparty` in `currency` covers it.
    /// `currency_of` gives a session's currency from its tariff reference (the tariff's index).
    pub fn add(
        &mut self,
        index: u64,
        entry: &Entry,
        counterparty: &str,
        currency: &str,
        currency_of: &dyn Fn(u64) -> Option<String>,
    ) {
        match entry {
            Entry::SessionClosed(record) if covers(record, counterparty, currency, currency_of) => {
                if let Some(p) = &record.privacy {
                    self.sessions
                        .push((index, p.amount_excl_vat, p.amount_incl_vat));
                }
            }
            Entry::CreditNote(c) if c.counterparty == counterparty && c.currency == currency => {
                self.credits
                    .push((index, c.amount_excl_vat, c.amount_incl_vat));
            }
            _ => {}
        }
    }
}

/// Whether a statement for `counterparty` in `currency` covers `record`: it is billed to the
/// counterparty, priced by a tariff in that currency, and carries amount commitments.
pub fn covers(
    record: &SessionRecord,
    counterparty: &str,
    currency: &str,
    currency_of: &dyn Fn(u64) -> Option<String>,
) -> bool {
    record.counterparty.as_deref() == Some(counterparty)
        && record.privacy.is_some()
        && record
            .tariff
            .and_then(|t| currency_of(t.index))
            .is_some_and(|c| c == currency)
}

/// Why a statement's totals do not check.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum StatementProblem {
    #[error("{kind}: the statement counts {stated} commitments, the log has {covered}")]
    CountMismatch {
        kind: &'static str,
        stated: u64,
        covered: u64,
    },
    #[error("{kind}: {reason}")]
    ProofRejected { kind: &'static str, reason: String },
}

fn kind_name(kind: TotalKind) -> &'static str {
    match kind {
        TotalKind::SessionsExclVat => "sessions excl. VAT",
        TotalKind::SessionsInclVat => "sessions incl. VAT",
        TotalKind::CreditsExclVat => "credits excl. VAT",
        TotalKind::CreditsInclVat => "credits incl. VAT",
    }
}

/// The sums of the commitments a statement covers, kept as the log grows: what
/// [`Coverage::add`] would collect, summed as it arrives (each commitment decompressed once).
#[derive(Debug, Clone, Copy, Default)]
pub struct CoverageSums {
    pub sessions_excl_vat: CommitmentSum,
    pub sessions_incl_vat: CommitmentSum,
    pub credits_excl_vat: CommitmentSum,
    pub credits_incl_vat: CommitmentSum,
}

impl CoverageSums {
    /// Adds `entry`'s commitments if a statement for `counterparty` in `currency` covers it
    /// (the rule of [`Coverage::add`]).
    pub fn add(
        &mut self,
        entry: &Entry,
        counterparty: &str,
        currency: &str,
        currency_of: &dyn Fn(u64) -> Option<String>,
    ) -> Result<(), PrivacyError> {
        let (excl, incl, sums) = match entry {
            Entry::SessionClosed(record) if covers(record, counterparty, currency, currency_of) => {
                let Some(p) = &record.privacy else {
                    return Ok(());
                };
                (
                    &p.amount_excl_vat,
                    &p.amount_incl_vat,
                    (&mut self.sessions_excl_vat, &mut self.sessions_incl_vat),
                )
            }
            Entry::CreditNote(c) if c.counterparty == counterparty && c.currency == currency => (
                &c.amount_excl_vat,
                &c.amount_incl_vat,
                (&mut self.credits_excl_vat, &mut self.credits_incl_vat),
            ),
            _ => return Ok(()),
        };
        // Both decode before either is added: a bad entry leaves the sums as they were.
        let (excl, incl) = (
            AmountCommitment::from_bytes(excl)?,
            AmountCommitment::from_bytes(incl)?,
        );
        sums.0.add(&excl);
        sums.1.add(&incl);
        Ok(())
    }
}

/// Checks a statement at `index` of the log `origin` against the commitments it covers: each of
/// its four totals is the sum of the covered commitments, by its total proof. Learns no amount.
pub fn verify_statement(
    origin: &str,
    index: u64,
    statement: &SettlementStatement,
    coverage: &Coverage,
) -> Result<(), StatementProblem> {
    verify_totals(
        origin,
        index,
        statement,
        coverage,
        |_, bytes, encoded, value, proof| {
            let commitments = encoded
                .iter()
                .map(|e| AmountCommitment::from_bytes(e))
                .collect::<Result<Vec<_>, _>>()?;
            verify_total_proof(bytes, &commitments, value, proof)
        },
    )
}

/// [`verify_statement`] with the sums of the covered commitments kept as the log grew: no
/// commitment is decompressed. `sums` must hold exactly the commitments `coverage` lists.
pub fn verify_statement_summed(
    origin: &str,
    index: u64,
    statement: &SettlementStatement,
    coverage: &Coverage,
    sums: &CoverageSums,
) -> Result<(), StatementProblem> {
    verify_totals(
        origin,
        index,
        statement,
        coverage,
        |kind, bytes, encoded, value, proof| {
            let sum = match kind {
                TotalKind::SessionsExclVat => &sums.sessions_excl_vat,
                TotalKind::SessionsInclVat => &sums.sessions_incl_vat,
                TotalKind::CreditsExclVat => &sums.credits_excl_vat,
                TotalKind::CreditsInclVat => &sums.credits_incl_vat,
            };
            verify_total_proof_summed(bytes, encoded, sum, value, proof)
        },
    )
}

/// The statement's four totals, each checked by `verify` (given the total's kind, its proof
/// statement bytes, the covered commitments' encodings, the stated value and the proof) after
/// its count is compared with the coverage.
fn verify_totals(
    origin: &str,
    index: u64,
    statement: &SettlementStatement,
    coverage: &Coverage,
    verify: impl Fn(TotalKind, &[u8], &[[u8; 32]], u64, &TotalProof) -> Result<(), PrivacyError>,
) -> Result<(), StatementProblem> {
    for kind in TotalKind::ALL {
        let (total, items, incl) = match kind {
            TotalKind::SessionsExclVat => (&statement.sessions, &coverage.sessions, false),
            TotalKind::SessionsInclVat => (&statement.sessions, &coverage.sessions, true),
            TotalKind::CreditsExclVat => (&statement.credits, &coverage.credits, false),
            TotalKind::CreditsInclVat => (&statement.credits, &coverage.credits, true),
        };
        let name = kind_name(kind);
        if total.count != items.len() as u64 {
            return Err(StatementProblem::CountMismatch {
                kind: name,
                stated: total.count,
                covered: items.len() as u64,
            });
        }
        if items.is_empty() {
            continue;
        }
        let rejected = |e: PrivacyError| StatementProblem::ProofRejected {
            kind: name,
            reason: e.to_string(),
        };
        let encoded: Vec<[u8; 32]> = items
            .iter()
            .map(|(_, excl, inc)| if incl { *inc } else { *excl })
            .collect();
        let (value, proof) = if incl {
            (total.incl_vat_minor, &total.proof_incl_vat)
        } else {
            (total.excl_vat_minor, &total.proof_excl_vat)
        };
        let proof = TotalProof::from_bytes(proof).map_err(rejected)?;
        let bytes = settlement::proof_statement(origin, index, statement, kind);
        verify(kind, &bytes, &encoded, value, &proof).map_err(rejected)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use kvitto_core::settlement::{
        AnswerItem, AnswerOutcome, DisputeAnswer, DisputeItem, DisputeReason, EntryRef,
        StatementDispute,
    };
    use kvitto_core::NetworkId;
    use kvitto_privacy::{prove_ranges, prove_total, AmountOpening};

    use super::*;
    use crate::IngestConfig;

    const ORIGIN: &str = "kvitto/test/se-n01";

    fn ledger() -> Ledger {
        Ledger::new(NetworkId::of_name("test"), ORIGIN, IngestConfig::default())
    }

    /// Sessions with these (excl, incl) prices: their coverage and openings.
    fn sessions(prices: &[(u64, u64)]) -> (Coverage, Vec<AmountOpening>, Vec<AmountOpening>) {
        let mut coverage = Coverage::default();
        let (mut excl, mut incl) = (Vec::new(), Vec::new());
        for (i, (e, v)) in prices.iter().enumerate() {
            let ctx = SessionContext::new(ORIGIN, [1; 16], [i as u8; 16]).unwrap();
            let (oe, oi) = (
                AmountOpening::new(*e, &ctx, &mut OsRng),
                AmountOpening::new(*v, &ctx, &mut OsRng),
            );
            coverage
                .sessions
                .push((i as u64, oe.commit().to_bytes(), oi.commit().to_bytes()));
            excl.push(oe);
            incl.push(oi);
        }
        (coverage, excl, incl)
    }

    fn statement(
        index: u64,
        coverage: &Coverage,
        excl: &[AmountOpening],
        incl: &[AmountOpening],
    ) -> SettlementStatement {
        let mut s = SettlementStatement {
            counterparty: "SE*N02".into(),
            currency: "EUR".into(),
            period_start_ms: 0,
            period_end_ms: 86_400_000,
            from_index: 0,
            sessions: AmountTotal::empty(),
            credits: AmountTotal::empty(),
        };
        let commitments = |incl: bool| {
            coverage
                .sessions
                .iter()
                .map(|(_, e, i)| AmountCommitment::from_bytes(if incl { i } else { e }).unwrap())
                .collect::<Vec<_>>()
        };
        let (te, pe) = prove_total(
            &settlement::proof_statement(ORIGIN, index, &s, TotalKind::SessionsExclVat),
            &commitments(false),
            excl,
            &mut OsRng,
        )
        .unwrap();
        let (ti, pi) = prove_total(
            &settlement::proof_statement(ORIGIN, index, &s, TotalKind::SessionsInclVat),
            &commitments(true),
            incl,
            &mut OsRng,
        )
        .unwrap();
        s.sessions = AmountTotal {
            count: coverage.sessions.len() as u64,
            excl_vat_minor: te,
            incl_vat_minor: ti,
            proof_excl_vat: pe.to_bytes().to_vec(),
            proof_incl_vat: pi.to_bytes().to_vec(),
        };
        s
    }

    /// Both checks of a statement, which must agree: from the coverage's commitments, and from
    /// sums of them kept as they arrived.
    fn check(
        origin: &str,
        index: u64,
        s: &SettlementStatement,
        coverage: &Coverage,
    ) -> Result<(), StatementProblem> {
        let mut sums = CoverageSums::default();
        for (_, excl, incl) in &coverage.sessions {
            sums.sessions_excl_vat
                .add(&AmountCommitment::from_bytes(excl).unwrap());
            sums.sessions_incl_vat
                .add(&AmountCommitment::from_bytes(incl).unwrap());
        }
        let full = verify_statement(origin, index, s, coverage);
        let summed = verify_statement_summed(origin, index, s, coverage, &sums);
        assert_eq!(full, summed, "the summed check agrees with the full one");
        full
    }

    #[test]
    fn a_statement_checks_against_its_coverage_and_nothing_else() {
        let (coverage, excl, incl) = sessions(&[(1000, 1250), (400, 500), (0, 0)]);
        let s = statement(7, &coverage, &excl, &incl);
        assert_eq!(
            (s.sessions.excl_vat_minor, s.sessions.incl_vat_minor),
            (1400, 1750)
        );
        check(ORIGIN, 7, &s, &coverage).unwrap();

        // Another index or log: the proofs are bound to them.
        assert!(check(ORIGIN, 8, &s, &coverage).is_err());
        assert!(check("kvitto/test/other", 7, &s, &coverage).is_err());
        // A total off by one minor unit.
        let mut wrong = s.clone();
        wrong.sessions.excl_vat_minor += 1;
        let err = check(ORIGIN, 7, &wrong, &coverage).unwrap_err();
        assert!(
            matches!(
                err,
                StatementProblem::ProofRejected {
                    kind: "sessions excl. VAT",
                    ..
                }
            ),
            "{err}"
        );
        // A session left out of, or added to, the coverage.
        let mut fewer = coverage.clone();
        fewer.sessions.pop();
        let err = check(ORIGIN, 7, &s, &fewer).unwrap_err();
        assert!(
            matches!(
                err,
                StatementProblem::CountMismatch {
                    stated: 3,
                    covered: 2,
                    ..
                }
            ),
            "{err}"
        );
        // The same count with one commitment swapped for another session's.
        let (other, _, _) = sessions(&[(1000, 1250)]);
        let mut swapped = coverage.clone();
        swapped.sessions[0] = other.sessions[0];
        assert!(check(ORIGIN, 7, &s, &swapped).is_err());
        // Another counterparty or period in the entry changes the proof statement.
        let mut moved = s.clone();
        moved.counterparty = "SE*N03".into();
        assert!(check(ORIGIN, 7, &moved, &coverage).is_err());
        moved = s.clone();
        moved.period_end_ms += 1;
        assert!(check(ORIGIN, 7, &moved, &coverage).is_err());
    }

    #[test]
    fn statements_are_checked_for_shape_before_they_are_appended() {
        let (coverage, excl, incl) = sessions(&[(1000, 1250)]);
        let good = statement(0, &coverage, &excl, &incl);
        let mut ledger = ledger();
        type Change = Box<dyn Fn(&mut SettlementStatement)>;
        let cases: Vec<(&str, Change)> = vec![
            (
                "counterparty",
                Box::new(|s| s.counterparty = "emsp two".into()),
            ),
            ("currency", Box::new(|s| s.currency = "euro".into())),
            (
                "period_end_ms",
                Box::new(|s| s.period_end_ms = s.period_start_ms),
            ),
            ("from_index", Box::new(|s| s.from_index = 1)),
            (
                "sessions",
                Box::new(|s| s.sessions.proof_excl_vat.pop().map(drop).unwrap_or(())),
            ),
            ("credits", Box::new(|s| s.credits.excl_vat_minor = 5)),
            ("sessions", Box::new(|s| s.sessions.incl_vat_minor = 0)),
        ];
        for (field, change) in cases {
            let mut s = good.clone();
            change(&mut s);
            let err = ledger.settle(Entry::SettlementStatement(s)).unwrap_err();
            assert!(err.to_string().contains(field), "{field}: {err}");
            assert!(err.code().starts_with("settlement_"), "{}", err.code());
        }
        ledger.settle(Entry::SettlementStatement(good)).unwrap();
    }

    #[test]
    fn credit_notes_need_a_range_proof_in_their_own_context() {
        let mut ledger = ledger();
        // Index 0 must exist for the credit to point back to it.
        let (coverage, excl, incl) = sessions(&[(1000, 1250)]);
        ledger
            .settle(Entry::SettlementStatement(statement(
                0, &coverage, &excl, &incl,
            )))
            .unwrap();
        let credit = |ctx: &SessionContext| {
            let openings = [
                AmountOpening::new(300, ctx, &mut OsRng),
                AmountOpening::new(375, ctx, &mut OsRng),
            ];
            let (commitments, proof) =
                prove_ranges(&[ctx.clone(), ctx.clone()], &openings, &mut OsRng).unwrap();
            CreditNote {
                counterparty: "SE*N02".into(),
                currency: "EUR".into(),
                session_index: 0,
                reason: DisputeReason::Duplicate,
                dispute: None,
                amount_excl_vat: commitments[0].to_bytes(),
                amount_incl_vat: commitments[1].to_bytes(),
                range_proof: proof.to_bytes(),
            }
        };
        // A proof made in a session's context, or for the next index, is refused.
        let session_ctx = SessionContext::new(ORIGIN, [1; 16], [0; 16]).unwrap();
        let err = ledger
            .settle(Entry::CreditNote(credit(&session_ctx)))
            .unwrap_err();
        assert_eq!(err.code(), "credit_range_proof");
        let err = ledger
            .settle(Entry::CreditNote(credit(
                &credit_context(ORIGIN, 2).unwrap(),
            )))
            .unwrap_err();
        assert_eq!(err.code(), "credit_range_proof");
        let mut ahead = credit(&credit_context(ORIGIN, 1).unwrap());
        ahead.session_index = 1;
        assert_eq!(
            ledger.settle(Entry::CreditNote(ahead)).unwrap_err().code(),
            "settlement_index_ahead"
        );
        ledger
            .settle(Entry::CreditNote(credit(
                &credit_context(ORIGIN, 1).unwrap(),
            )))
            .unwrap();
    }

    #[test]
    fn disputes_and_answers_are_ordered_and_point_backwards() {
        let mut ledger = ledger();
        let statement = EntryRef {
            origin: "kvitto/test/se-n02".into(),
            index: 4,
            leaf_hash: [1; 32],
        };
        let item = |session_index, reason| DisputeItem {
            session_index,
            reason,
        };
        let dispute = |items| {
            Entry::StatementDisputed(StatementDispute {
                statement: statement.clone(),
                sessions_checked: 3,
                items,
            })
        };
        for items in [
            vec![],
            vec![
                item(Some(2), DisputeReason::Duplicate),
                item(None, DisputeReason::TotalMismatch),
            ],
            vec![
                item(Some(2), DisputeReason::Duplicate),
                item(Some(2), DisputeReason::Duplicate),
            ],
        ] {
            assert_eq!(
                ledger.settle(dispute(items)).unwrap_err().code(),
                "settlement_invalid"
            );
        }
        let mut own = statement.clone();
        own.origin = ORIGIN.into();
        let err = ledger
            .settle(Entry::StatementDisputed(StatementDispute {
                statement: own,
                sessions_checked: 1,
                items: vec![item(None, DisputeReason::TotalMismatch)],
            }))
            .unwrap_err();
        assert!(err.to_string().contains("itself"), "{err}");
        ledger
            .settle(dispute(vec![
                item(None, DisputeReason::TotalMismatch),
                item(Some(2), DisputeReason::Duplicate),
            ]))
            .unwrap();
        let answer = |outcome| {
            Entry::DisputeAnswered(DisputeAnswer {
                dispute: statement.clone(),
                items: vec![AnswerItem {
                    session_index: Some(2),
                    outcome,
                }],
            })
        };
        assert_eq!(
            ledger
                .settle(answer(AnswerOutcome::Credited { credit_index: 1 }))
                .unwrap_err()
                .code(),
            "settlement_index_ahead"
        );
        assert_eq!(
            ledger
                .settle(answer(AnswerOutcome::Rejected {
                    reason: String::new()
                }))
                .unwrap_err()
                .code(),
            "settlement_invalid"
        );
        ledger
            .settle(answer(AnswerOutcome::Rejected {
                reason: "the readings are billed only here".into(),
            }))
            .unwrap();
    }
}
