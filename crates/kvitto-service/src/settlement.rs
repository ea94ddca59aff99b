//! The CPO's side of settlement: which sessions and credit notes each next statement covers,
//! building statements with total proofs from the retained amount openings, and credit notes.
//!
//! [`SettlementBook`] follows the node's own log: for every (counterparty, currency) it keeps the
//! entries since that pair's last statement. It catches up from the store when asked, so it costs
//! nothing between periods and a restart rebuilds it by one scan.

use std::collections::{BTreeMap, HashMap};

use kvitto_core::entry::Entry;
use kvitto_core::keys::SessionId;
use kvitto_core::settlement::{
    self, AmountTotal, CreditNote, DisputeReason, EntryRef, SettlementStatement, TotalKind,
};
use kvitto_ledger::settlement::credit_context;
use kvitto_privacy::{prove_ranges, prove_total, AmountCommitment, AmountOpening};
use kvitto_store::{Batch, Cf, KvStore, LogStore};
use rand_core::{CryptoRng, RngCore};
use serde::Serialize;

use crate::custody::CustodyError;

/// The retained-openings key of a credit note at a log index.
fn credit_key(index: u64) -> Vec<u8> {
    let mut key = b"credit/".to_vec();
    key.extend_from_slice(&index.to_be_bytes());
    key
}

/// What is owed since the last statement, for one counterparty and currency.
#[derive(Debug, Clone, Default)]
struct Pending {
    from_index: u64,
    /// (index, session id, amount commitments excl./incl. VAT)
    sessions: Vec<(u64, SessionId, [u8; 32], [u8; 32])>,
    /// (index, amount commitments excl./incl. VAT)
    credits: Vec<(u64, [u8; 32], [u8; 32])>,
}

/// A statement the sequencer may append: the entry and the index it is proven for.
#[derive(Debug, Clone, Serialize)]
pub struct IssuedStatement {
    pub index: u64,
    pub statement: SettlementStatement,
}

/// A credit note to build: where it is appended (log, index, time) and what it refunds.
#[derive(Debug, Clone)]
pub struct CreditAt<'a> {
    pub origin: &'a str,
    pub index: u64,
    pub now_ms: u64,
    pub session_index: u64,
    pub reason: DisputeReason,
    pub dispute: Option<EntryRef>,
}

/// The settlement state of the node's own log (see the module docs).
#[derive(Debug, Default)]
pub struct SettlementBook {
    scanned_to: u64,
    currencies: HashMap<u64, String>,
    pending: BTreeMap<(String, String), Pending>,
    /// A session record's index and amounts by index, for credit notes.
    sessions: HashMap<u64, (SessionId, String, String)>,
}

impl SettlementBook {
    /// Reads the entries appended since the last call.
    pub fn catch_up<S: KvStore>(
        &mut self,
        store: &LogStore<S>,
        size: u64,
    ) -> Result<(), CustodyError> {
        const CHUNK: usize = 1024;
        while self.scanned_to < size {
            let count = CHUNK.min((size - self.scanned_to) as usize);
            let entries = store.entries(self.scanned_to, count)?;
            if entries.is_empty() {
                return Err(CustodyError::Corrupt(format!(
                    "entry {} is missing",
                    self.scanned_to
                )));
            }
            for bytes in entries {
                let entry = Entry::decode(&bytes).map_err(|e| {
                    CustodyError::Corrupt(format!("entry {}: {e}", self.scanned_to))
                })?;
                self.add(self.scanned_to, &entry);
                self.scanned_to += 1;
            }
        }
        Ok(())
    }

    fn add(&mut self, index: u64, entry: &Entry) {
        match entry {
            Entry::TariffPublished(t) => {
                if let Some(currency) = tariff_currency(&t.tariff_json) {
                    self.currencies.insert(index, currency);
                }
            }
            Entry::SessionClosed(record) => {
                let (Some(party), Some(privacy), Some(tariff)) =
                    (&record.counterparty, &record.privacy, &record.tariff)
                else {
                    return;
                };
                let Some(currency) = self.currencies.get(&tariff.index).cloned() else {
                    return;
                };
                self.sessions
                    .insert(index, (record.session, party.clone(), currency.clone()));
                self.pending
                    .entry((party.clone(), currency))
                    .or_default()
                    .sessions
                    .push((
                        index,
                        record.session,
                        privacy.amount_excl_vat,
                        privacy.amount_incl_vat,
                    ));
            }
            Entry::CreditNote(c) => {
                self.pending
                    .entry((c.counterparty.clone(), c.currency.clone()))
                    .or_default()
                    .credits
                    .push((index, c.amount_excl_vat, c.amount_incl_vat));
            }
            Entry::SettlementStatement(s) => {
                self.pending.insert(
                    (s.counterparty.clone(), s.currency.clone()),
                    Pending {
                        from_index: index + 1,
                        ..Pending::default()
                    },
                );
            }
            _ => {}
        }
    }

    /// Statements for every counterparty and currency with something pending, proven for the
    /// indices `first_index`, `first_index + 1`, … in that order. Appending them in that order
    /// makes the book follow on the next [`SettlementBook::catch_up`]. None is addressed to
    /// `own_party`: what this operator's own tokens authorised stays pending, unbilled.
    pub fn statements<S: KvStore, R: RngCore + CryptoRng>(
        &self,
        store: &LogStore<S>,
        origin: &str,
        first_index: u64,
        period: (u64, u64),
        own_party: Option<&str>,
        rng: &mut R,
    ) -> Result<Vec<IssuedStatement>, CustodyError> {
        let mut out = Vec::new();
        for ((party, currency), pending) in &self.pending {
            if pending.sessions.is_empty() && pending.credits.is_empty() {
                continue;
            }
            // Its own drivers at its own chargers: nothing to settle with anyone.
            if own_party == Some(party.as_str()) {
                continue;
            }
            let index = first_index + out.len() as u64;
            let mut statement = SettlementStatement {
                counterparty: party.clone(),
                currency: currency.clone(),
                period_start_ms: period.0,
                period_end_ms: period.1,
                from_index: pending.from_index,
                sessions: AmountTotal::empty(),
                credits: AmountTotal::empty(),
            };
            let session_openings = pending
                .sessions
                .iter()
                .map(|(_, session, _, _)| openings(store, &session.0))
                .collect::<Result<Vec<_>, _>>()?;
            let credit_openings = pending
                .credits
                .iter()
                .map(|(i, _, _)| openings(store, &credit_key(*i)))
                .collect::<Result<Vec<_>, _>>()?;
            let session_commitments: Vec<_> = pending
                .sessions
                .iter()
                .map(|(_, _, e, i)| (*e, *i))
                .collect();
            let credit_commitments: Vec<_> =
                pending.credits.iter().map(|(_, e, i)| (*e, *i)).collect();
            statement.sessions = total(
                origin,
                index,
                &statement,
                [TotalKind::SessionsExclVat, TotalKind::SessionsInclVat],
                &session_commitments,
                &session_openings,
                rng,
            )?;
            statement.credits = total(
                origin,
                index,
                &statement,
                [TotalKind::CreditsExclVat, TotalKind::CreditsInclVat],
                &credit_commitments,
                &credit_openings,
                rng,
            )?;
            out.push(IssuedStatement { index, statement });
        }
        Ok(out)
    }

    /// A credit note at `index` that refunds the whole of the session at `session_index`, with the
    /// retained openings it stages into `batch`.
    pub fn credit<S: KvStore, R: RngCore + CryptoRng>(
        &self,
        store: &LogStore<S>,
        batch: &mut Batch,
        at: CreditAt<'_>,
        rng: &mut R,
    ) -> Result<CreditNote, CustodyError> {
        let CreditAt {
            origin,
            index,
            now_ms,
            session_index,
            reason,
            dispute,
        } = at;
        let (session, party, currency) =
            self.sessions
                .get(&session_index)
                .cloned()
                .ok_or_else(|| CustodyError::Invalid {
                    field: "session_index",
                    message: format!(
                        "entry {session_index} is not a session billed to a counterparty"
                    ),
                })?;
        let (excl, incl) = openings(store, &session.0)?;
        let ctx = credit_context(origin, index)
            .map_err(|e| CustodyError::Corrupt(format!("credit context: {e}")))?;
        let openings = [
            AmountOpening::new(excl.value_minor(), &ctx, rng),
            AmountOpening::new(incl.value_minor(), &ctx, rng),
        ];
        let (commitments, proof) = prove_ranges(&[ctx.clone(), ctx], &openings, rng)
            .map_err(|e| CustodyError::Corrupt(format!("credit range proof: {e}")))?;
        let mut retained = now_ms.to_be_bytes().to_vec();
        retained.extend_from_slice(&openings[0].to_bytes());
        retained.extend_from_slice(&openings[1].to_bytes());
        batch.put(Cf::Retained, credit_key(index), retained);
        Ok(CreditNote {
            counterparty: party,
            currency,
            session_index,
            reason,
            dispute,
            amount_excl_vat: commitments[0].to_bytes(),
            amount_incl_vat: commitments[1].to_bytes(),
            range_proof: proof.to_bytes(),
        })
    }
}

/// A tariff's ISO 4217 currency, from its OCPI JSON.
pub fn tariff_currency(json: &str) -> Option<String> {
    let value: serde_json::Value = serde_json::from_str(json).ok()?;
    let currency = value.get("currency")?.as_str()?;
    settlement::is_currency(currency).then(|| currency.to_owned())
}

/// The retained amount openings (excl., incl. VAT) under `key`.
fn openings<S: KvStore>(
    store: &LogStore<S>,
    key: &[u8],
) -> Result<(AmountOpening, AmountOpening), CustodyError> {
    let value = store.kv().get(Cf::Retained, key)?.ok_or_else(|| {
        CustodyError::Corrupt(format!(
            "the amount openings of {} are not retained",
            hex::encode(key)
        ))
    })?;
    const LEN: usize = AmountOpening::ENCODED_LEN;
    if value.len() != 8 + 2 * LEN {
        return Err(CustodyError::Corrupt("retained openings length".into()));
    }
    let parse = |bytes: &[u8]| {
        AmountOpening::from_bytes(bytes)
            .map_err(|e| CustodyError::Corrupt(format!("retained opening: {e}")))
    };
    Ok((parse(&value[8..8 + LEN])?, parse(&value[8 + LEN..])?))
}

/// One sum of a statement, with a total proof for each of the two amounts.
fn total<R: RngCore + CryptoRng>(
    origin: &str,
    index: u64,
    statement: &SettlementStatement,
    kinds: [TotalKind; 2],
    commitments: &[([u8; 32], [u8; 32])],
    openings: &[(AmountOpening, AmountOpening)],
    rng: &mut R,
) -> Result<AmountTotal, CustodyError> {
    if commitments.is_empty() {
        return Ok(AmountTotal::empty());
    }
    let corrupt = |e: kvitto_privacy::PrivacyError| CustodyError::Corrupt(format!("total: {e}"));
    let mut out = AmountTotal::empty();
    out.count = commitments.len() as u64;
    for (n, kind) in kinds.into_iter().enumerate() {
        let points = commitments
            .iter()
            .map(|(e, i)| AmountCommitment::from_bytes(if n == 0 { e } else { i }))
            .collect::<Result<Vec<_>, _>>()
            .map_err(corrupt)?;
        let opened: Vec<AmountOpening> = openings
            .iter()
            .map(|(e, i)| if n == 0 { e.clone() } else { i.clone() })
            .collect();
        let bytes = settlement::proof_statement(origin, index, statement, kind);
        let (value, proof) = prove_total(&bytes, &points, &opened, rng).map_err(corrupt)?;
        if n == 0 {
            out.excl_vat_minor = value;
            out.proof_excl_vat = proof.to_bytes().to_vec();
        } else {
            out.incl_vat_minor = value;
            out.proof_incl_vat = proof.to_bytes().to_vec();
        }
    }
    Ok(out)
}
