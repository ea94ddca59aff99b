//! Settlement entries: what a charging operator (CPO) bills an eMSP for a period, how the eMSP
//! answers on its own log, and how the CPO answers a dispute (`specs/settlement.md`).
//!
//! A statement covers, for one counterparty eMSP and one currency, every session record and
//! credit note of the CPO's log from `from_index` up to the statement's own index whose
//! `counterparty` is that eMSP and whose tariff is in that currency. Its totals are in clear, with
//! one total proof each (`kvitto-privacy`) that the total is the sum of the covered amount
//! commitments; no blinding sum is ever revealed. The proofs' statement bytes are
//! [`proof_statement`]. The entries carry no personal data: log indices, party ids, amounts in
//! total, reason codes.

use std::fmt;

use serde::Serialize;

use crate::codec::{DecodeError, Reader, Writer};
use crate::domain;
use crate::limits;

/// A total proof's encoding: `R ‖ s`.
pub const TOTAL_PROOF_LEN: usize = 64;

/// Another log's entry, named by the log's origin line, index and RFC 6962 leaf hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EntryRef {
    pub origin: String,
    pub index: u64,
    #[serde(with = "crate::entry::hex_32")]
    pub leaf_hash: [u8; 32],
}

/// One sum of a statement: how many commitments, their totals in clear and a total proof each.
/// With `count == 0` both totals are 0 and both proofs empty.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AmountTotal {
    pub count: u64,
    pub excl_vat_minor: u64,
    pub incl_vat_minor: u64,
    #[serde(with = "crate::entry::hex_vec")]
    pub proof_excl_vat: Vec<u8>,
    #[serde(with = "crate::entry::hex_vec")]
    pub proof_incl_vat: Vec<u8>,
}

impl AmountTotal {
    pub fn empty() -> Self {
        AmountTotal {
            count: 0,
            excl_vat_minor: 0,
            incl_vat_minor: 0,
            proof_excl_vat: Vec::new(),
            proof_incl_vat: Vec::new(),
        }
    }
}

/// A CPO's bill to one eMSP for one period, in one currency.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SettlementStatement {
    /// The eMSP's party id (`CC*PID`, the member's operator id).
    pub counterparty: String,
    /// ISO 4217 code of every covered amount.
    pub currency: String,
    pub period_start_ms: u64,
    pub period_end_ms: u64,
    /// The first log index covered; the statement's own index ends the range (exclusive).
    pub from_index: u64,
    pub sessions: AmountTotal,
    pub credits: AmountTotal,
}

impl SettlementStatement {
    /// The amount billed, sessions less credits, in minor units (may be negative).
    pub fn net_excl_vat_minor(&self) -> i128 {
        i128::from(self.sessions.excl_vat_minor) - i128::from(self.credits.excl_vat_minor)
    }
    pub fn net_incl_vat_minor(&self) -> i128 {
        i128::from(self.sessions.incl_vat_minor) - i128::from(self.credits.incl_vat_minor)
    }
}

/// A correction to one earlier session, in the session's currency: a committed amount that the
/// next statement to the counterparty subtracts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CreditNote {
    pub counterparty: String,
    pub currency: String,
    /// Log index of the session record it corrects.
    pub session_index: u64,
    pub reason: DisputeReason,
    /// The dispute it answers, if any.
    pub dispute: Option<EntryRef>,
    #[serde(with = "crate::entry::hex_32")]
    pub amount_excl_vat: [u8; 32],
    #[serde(with = "crate::entry::hex_32")]
    pub amount_incl_vat: [u8; 32],
    #[serde(with = "crate::entry::hex_vec")]
    pub range_proof: Vec<u8>,
}

/// The eMSP checked a statement and accepts it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StatementAcknowledgement {
    pub statement: EntryRef,
    /// Sessions the eMSP opened and checked.
    pub sessions_checked: u64,
}

/// The eMSP disputes sessions of a statement, or its total.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StatementDispute {
    pub statement: EntryRef,
    /// Sessions checked, including the disputed ones.
    pub sessions_checked: u64,
    /// At least one; sorted by session index (statement-wide items first), no repeats.
    pub items: Vec<DisputeItem>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DisputeItem {
    /// The disputed session record's index on the CPO's log; `None` disputes the statement.
    pub session_index: Option<u64>,
    pub reason: DisputeReason,
}

/// The CPO's answer to a dispute: each item credited or rejected.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DisputeAnswer {
    pub dispute: EntryRef,
    /// One per disputed item, in the dispute's order.
    pub items: Vec<AnswerItem>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AnswerItem {
    pub session_index: Option<u64>,
    pub outcome: AnswerOutcome,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum AnswerOutcome {
    /// Corrected by the credit note at this index of the CPO's log.
    Credited { credit_index: u64 },
    /// Upheld; the reason in words (no personal data by rule).
    Rejected { reason: String },
}

/// Why an eMSP disputes a session or a statement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DisputeReason {
    /// The price recomputed from the signed readings and the tariff differs from the committed one.
    PriceMismatch,
    /// The session's token is not one the eMSP issued.
    UnknownToken,
    /// The session's readings are billed in another session, on this or another log.
    Duplicate,
    /// The signed readings are not available or do not match the record.
    MissingReadings,
    /// The tariff was not in force when the session started.
    TariffNotInForce,
    /// The openings do not open the session's commitments.
    OpeningMismatch,
    /// The CPO did not deliver the session's evidence.
    EvidenceUnavailable,
    /// The statement's totals do not equal the sum of the sessions the eMSP opened.
    TotalMismatch,
    /// The statement's total proofs do not verify against the covered commitments.
    ProofInvalid,
    /// The statement covers a session of another counterparty or currency, or misses one.
    CoverageMismatch,
}

impl DisputeReason {
    pub const ALL: [DisputeReason; 10] = [
        DisputeReason::PriceMismatch,
        DisputeReason::UnknownToken,
        DisputeReason::Duplicate,
        DisputeReason::MissingReadings,
        DisputeReason::TariffNotInForce,
        DisputeReason::OpeningMismatch,
        DisputeReason::EvidenceUnavailable,
        DisputeReason::TotalMismatch,
        DisputeReason::ProofInvalid,
        DisputeReason::CoverageMismatch,
    ];

    pub fn code(self) -> u8 {
        match self {
            DisputeReason::PriceMismatch => 1,
            DisputeReason::UnknownToken => 2,
            DisputeReason::Duplicate => 3,
            DisputeReason::MissingReadings => 4,
            DisputeReason::TariffNotInForce => 5,
            DisputeReason::OpeningMismatch => 6,
            DisputeReason::EvidenceUnavailable => 7,
            DisputeReason::TotalMismatch => 8,
            DisputeReason::ProofInvalid => 9,
            DisputeReason::CoverageMismatch => 10,
        }
    }

    pub fn from_code(code: u8) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.code() == code)
    }

    pub fn name(self) -> &'static str {
        match self {
            DisputeReason::PriceMismatch => "price_mismatch",
            DisputeReason::UnknownToken => "unknown_token",
            DisputeReason::Duplicate => "duplicate",
            DisputeReason::MissingReadings => "missing_readings",
            DisputeReason::TariffNotInForce => "tariff_not_in_force",
            DisputeReason::OpeningMismatch => "opening_mismatch",
            DisputeReason::EvidenceUnavailable => "evidence_unavailable",
            DisputeReason::TotalMismatch => "total_mismatch",
            DisputeReason::ProofInvalid => "proof_invalid",
            DisputeReason::CoverageMismatch => "coverage_mismatch",
        }
    }
}

impl fmt::Display for DisputeReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Which of a statement's four sums a total proof covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TotalKind {
    SessionsExclVat,
    SessionsInclVat,
    CreditsExclVat,
    CreditsInclVat,
}

impl TotalKind {
    pub const ALL: [TotalKind; 4] = [
        TotalKind::SessionsExclVat,
        TotalKind::SessionsInclVat,
        TotalKind::CreditsExclVat,
        TotalKind::CreditsInclVat,
    ];

    fn label(self) -> &'static str {
        match self {
            TotalKind::SessionsExclVat => "sessions excl_vat",
            TotalKind::SessionsInclVat => "sessions incl_vat",
            TotalKind::CreditsExclVat => "credits excl_vat",
            TotalKind::CreditsInclVat => "credits incl_vat",
        }
    }
}

/// The caller statement a total proof is bound to: the domain label, the log, the statement's
/// index and every field that defines what is covered, and which sum. A proof made for one
/// statement, log, counterparty, period or sum does not verify for another.
pub fn proof_statement(
    origin: &str,
    index: u64,
    statement: &SettlementStatement,
    kind: TotalKind,
) -> Vec<u8> {
    let mut w = Writer::new();
    w.text(domain::SETTLEMENT_TOTAL_STATEMENT)
        .text(origin)
        .u64(index)
        .text(&statement.counterparty)
        .text(&statement.currency)
        .u64(statement.period_start_ms)
        .u64(statement.period_end_ms)
        .u64(statement.from_index)
        .text(kind.label());
    w.finish()
}

/// A party id as OCPI writes it joined: two uppercase letters, `*`, three uppercase letters or
/// digits (`SE*N01`).
pub fn is_party_id(text: &str) -> bool {
    let b = text.as_bytes();
    b.len() == 6
        && b[..2].iter().all(u8::is_ascii_uppercase)
        && b[2] == b'*'
        && b[3..]
            .iter()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
}

/// An ISO 4217 currency code: three uppercase letters.
pub fn is_currency(text: &str) -> bool {
    text.len() == 3 && text.bytes().all(|c| c.is_ascii_uppercase())
}

pub(crate) fn encode_ref(w: &mut Writer, r: &EntryRef) {
    w.text(&r.origin).u64(r.index).fixed(&r.leaf_hash);
}

pub(crate) fn decode_ref(r: &mut Reader<'_>) -> Result<EntryRef, DecodeError> {
    Ok(EntryRef {
        origin: r.text("origin", limits::TEXT_LEN_MAX)?,
        index: r.u64("index")?,
        leaf_hash: r.array("leaf_hash")?,
    })
}

fn encode_total(w: &mut Writer, t: &AmountTotal) {
    w.u64(t.count)
        .u64(t.excl_vat_minor)
        .u64(t.incl_vat_minor)
        .blob(&t.proof_excl_vat)
        .blob(&t.proof_incl_vat);
}

fn decode_total(r: &mut Reader<'_>) -> Result<AmountTotal, DecodeError> {
    Ok(AmountTotal {
        count: r.u64("count")?,
        excl_vat_minor: r.u64("excl_vat_minor")?,
        incl_vat_minor: r.u64("incl_vat_minor")?,
        proof_excl_vat: r.blob("proof_excl_vat", TOTAL_PROOF_LEN)?,
        proof_incl_vat: r.blob("proof_incl_vat", TOTAL_PROOF_LEN)?,
    })
}

pub(crate) fn encode_statement(w: &mut Writer, s: &SettlementStatement) {
    w.text(&s.counterparty)
        .text(&s.currency)
        .u64(s.period_start_ms)
        .u64(s.period_end_ms)
        .u64(s.from_index);
    encode_total(w, &s.sessions);
    encode_total(w, &s.credits);
}

pub(crate) fn decode_statement(r: &mut Reader<'_>) -> Result<SettlementStatement, DecodeError> {
    Ok(SettlementStatement {
        counterparty: r.text("counterparty", limits::TEXT_LEN_MAX)?,
        currency: r.text("currency", limits::TEXT_LEN_MAX)?,
        period_start_ms: r.u64("period_start_ms")?,
        period_end_ms: r.u64("period_end_ms")?,
        from_index: r.u64("from_index")?,
        sessions: decode_total(r)?,
        credits: decode_total(r)?,
    })
}

pub(crate) fn encode_credit(w: &mut Writer, c: &CreditNote) {
    w.text(&c.counterparty)
        .text(&c.currency)
        .u64(c.session_index)
        .u8(c.reason.code());
    match &c.dispute {
        None => {
            w.u8(0);
        }
        Some(d) => {
            w.u8(1);
            encode_ref(w, d);
        }
    }
    w.fixed(&c.amount_excl_vat)
        .fixed(&c.amount_incl_vat)
        .blob(&c.range_proof);
}

fn decode_reason(r: &mut Reader<'_>) -> Result<DisputeReason, DecodeError> {
    let code = r.u8("reason")?;
    DisputeReason::from_code(code)
        .ok_or_else(|| DecodeError::invalid("reason", format!("unknown reason code {code}")))
}

pub(crate) fn decode_credit(r: &mut Reader<'_>) -> Result<CreditNote, DecodeError> {
    Ok(CreditNote {
        counterparty: r.text("counterparty", limits::TEXT_LEN_MAX)?,
        currency: r.text("currency", limits::TEXT_LEN_MAX)?,
        session_index: r.u64("session_index")?,
        reason: decode_reason(r)?,
        dispute: match r.option_tag("dispute")? {
            false => None,
            true => Some(decode_ref(r)?),
        },
        amount_excl_vat: r.array("amount_excl_vat")?,
        amount_incl_vat: r.array("amount_incl_vat")?,
        range_proof: r.blob("range_proof", limits::RANGE_PROOF_LEN_MAX)?,
    })
}

fn encode_session_index(w: &mut Writer, index: Option<u64>) {
    match index {
        None => w.u8(0),
        Some(i) => w.u8(1).u64(i),
    };
}

fn decode_session_index(r: &mut Reader<'_>) -> Result<Option<u64>, DecodeError> {
    Ok(match r.option_tag("session_index")? {
        false => None,
        true => Some(r.u64("session_index")?),
    })
}

fn item_count(r: &mut Reader<'_>) -> Result<usize, DecodeError> {
    let n = usize::from(r.u16("items")?);
    if n > limits::DISPUTE_ITEMS_MAX {
        return Err(DecodeError::invalid(
            "items",
            format!("{n} items, at most {} allowed", limits::DISPUTE_ITEMS_MAX),
        ));
    }
    Ok(n)
}

pub(crate) fn encode_ack(w: &mut Writer, a: &StatementAcknowledgement) {
    encode_ref(w, &a.statement);
    w.u64(a.sessions_checked);
}

pub(crate) fn decode_ack(r: &mut Reader<'_>) -> Result<StatementAcknowledgement, DecodeError> {
    Ok(StatementAcknowledgement {
        statement: decode_ref(r)?,
        sessions_checked: r.u64("sessions_checked")?,
    })
}

pub(crate) fn encode_dispute(w: &mut Writer, d: &StatementDispute) {
    encode_ref(w, &d.statement);
    w.u64(d.sessions_checked);
    w.u16(u16::try_from(d.items.len()).unwrap_or(u16::MAX));
    for item in &d.items {
        encode_session_index(w, item.session_index);
        w.u8(item.reason.code());
    }
}

pub(crate) fn decode_dispute(r: &mut Reader<'_>) -> Result<StatementDispute, DecodeError> {
    let statement = decode_ref(r)?;
    let sessions_checked = r.u64("sessions_checked")?;
    let n = item_count(r)?;
    let mut items = Vec::with_capacity(n);
    for _ in 0..n {
        items.push(DisputeItem {
            session_index: decode_session_index(r)?,
            reason: decode_reason(r)?,
        });
    }
    Ok(StatementDispute {
        statement,
        sessions_checked,
        items,
    })
}

pub(crate) fn encode_answer(w: &mut Writer, a: &DisputeAnswer) {
    encode_ref(w, &a.dispute);
    w.u16(u16::try_from(a.items.len()).unwrap_or(u16::MAX));
    for item in &a.items {
        encode_session_index(w, item.session_index);
        match &item.outcome {
            AnswerOutcome::Credited { credit_index } => w.u8(1).u64(*credit_index),
            AnswerOutcome::Rejected { reason } => w.u8(2).text(reason),
        };
    }
}

pub(crate) fn decode_answer(r: &mut Reader<'_>) -> Result<DisputeAnswer, DecodeError> {
    let dispute = decode_ref(r)?;
    let n = item_count(r)?;
    let mut items = Vec::with_capacity(n);
    for _ in 0..n {
        let session_index = decode_session_index(r)?;
        let outcome = match r.u8("outcome")? {
            1 => AnswerOutcome::Credited {
                credit_index: r.u64("credit_index")?,
            },
            2 => AnswerOutcome::Rejected {
                reason: r.text("reason", limits::TEXT_LEN_MAX)?,
            },
            other => {
                return Err(DecodeError::invalid(
                    "outcome",
                    format!("unknown outcome {other}, expected 1 (credited) or 2 (rejected)"),
                ))
            }
        };
        items.push(AnswerItem {
            session_index,
            outcome,
        });
    }
    Ok(DisputeAnswer { dispute, items })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn party_ids_and_currencies() {
        assert!(is_party_id("SE*N01"));
        assert!(!is_party_id("se*n01"));
        assert!(!is_party_id("SE*N0"));
        assert!(!is_party_id("SEN*01"));
        assert!(is_currency("EUR"));
        assert!(!is_currency("eur"));
        assert!(!is_currency("EURO"));
    }

    #[test]
    fn reasons_round_trip_by_code() {
        for reason in DisputeReason::ALL {
            assert_eq!(DisputeReason::from_code(reason.code()), Some(reason));
        }
        assert_eq!(DisputeReason::from_code(0), None);
        assert_eq!(DisputeReason::from_code(11), None);
    }

    #[test]
    fn proof_statements_differ_by_every_field() {
        let s = SettlementStatement {
            counterparty: "SE*N02".into(),
            currency: "EUR".into(),
            period_start_ms: 1,
            period_end_ms: 2,
            from_index: 3,
            sessions: AmountTotal::empty(),
            credits: AmountTotal::empty(),
        };
        let base = proof_statement("o", 9, &s, TotalKind::SessionsExclVat);
        let mut other = s.clone();
        other.from_index = 4;
        assert_ne!(
            base,
            proof_statement("o", 9, &other, TotalKind::SessionsExclVat)
        );
        assert_ne!(
            base,
            proof_statement("o", 10, &s, TotalKind::SessionsExclVat)
        );
        assert_ne!(
            base,
            proof_statement("p", 9, &s, TotalKind::SessionsExclVat)
        );
        assert_ne!(
            base,
            proof_statement("o", 9, &s, TotalKind::SessionsInclVat)
        );
    }
}
