//! Building a driver's receipt from a log's store and a session's opened evidence bundle.
//!
//! The serving node builds receipts for drivers; a regulator's node builds one from a disclosed
//! bundle and its mirror of the serving log, and runs the same verifier on it (an audit).

use kvitto_core::entry::Entry;
use kvitto_core::reading::SignedReading;
use kvitto_receipt::{
    minor_totals, time_text, EvidenceBundle, LogRef, ProvenEntry, Receipt, Summary, FORMAT,
};
use kvitto_store::{KvStore, LogStore};
use kvitto_tlog::merkle::inclusion_proof;
use thiserror::Error;

use crate::logs::LogInfo;

#[derive(Debug, Error)]
pub enum ReceiptError {
    #[error("the session record at index {index} is not covered by the checkpoint (size {size}) yet; try again after the next checkpoint")]
    NotYetCovered { index: u64, size: u64 },
    #[error("the log has no entry at index {0}")]
    MissingEntry(u64),
    #[error("entry {0} is not what the session refers to")]
    WrongEntry(u64),
    #[error("the evidence bundle is not this session's: {0}")]
    BundleMismatch(String),
    #[error("the charger of the session is not in the store")]
    UnknownCharger,
    #[error("storage: {0}")]
    Store(String),
}

/// The checkpoint a receipt is proven against: its note and the tree size it signs.
pub struct ReceiptCheckpoint<'a> {
    pub note: &'a str,
    pub size: u64,
}

fn proven<S: KvStore>(
    store: &LogStore<S>,
    index: u64,
    size: u64,
) -> Result<(ProvenEntry, Vec<u8>), ReceiptError> {
    let entry = store
        .entry(index)
        .map_err(|e| ReceiptError::Store(e.to_string()))?
        .ok_or(ReceiptError::MissingEntry(index))?;
    let proof = inclusion_proof(&store.tree(), index, size)
        .map_err(|e| ReceiptError::Store(e.to_string()))?;
    Ok((
        ProvenEntry {
            index,
            entry: hex::encode(&entry),
            proof: proof.iter().map(|h| hex::encode(h.0)).collect(),
        },
        entry,
    ))
}

/// Builds the receipt of the session record at `index` from the log's store (own or mirror),
/// the session's opened evidence bundle and a checkpoint that covers the record.
pub fn build_receipt<S: KvStore>(
    store: &LogStore<S>,
    log: &LogInfo,
    policy: &str,
    checkpoint: ReceiptCheckpoint<'_>,
    index: u64,
    bundle: &EvidenceBundle,
) -> Result<Receipt, ReceiptError> {
    let size = checkpoint.size;
    if index >= size {
        return Err(ReceiptError::NotYetCovered { index, size });
    }
    let (session, bytes) = proven(store, index, size)?;
    let Ok(Entry::SessionClosed(record)) = Entry::decode(&bytes) else {
        return Err(ReceiptError::WrongEntry(index));
    };
    if bundle.session != record.session.to_hex() || bundle.origin != log.origin {
        return Err(ReceiptError::BundleMismatch(
            "another session or log".into(),
        ));
    }
    let charger = store
        .charger(&record.key_id)
        .map_err(|e| ReceiptError::Store(e.to_string()))?
        .ok_or(ReceiptError::UnknownCharger)?;
    let (charger_entry, _) = proven(store, charger.registered_at_index, size)?;
    let tariff = match &record.tariff {
        None => None,
        Some(t) => {
            let (proven_tariff, bytes) = proven(store, t.index, size)?;
            match Entry::decode(&bytes) {
                Ok(Entry::TariffPublished(p)) => Some((proven_tariff, p.tariff_json)),
                _ => return Err(ReceiptError::WrongEntry(t.index)),
            }
        }
    };
    let summary = summary(
        log,
        &charger.registration.evse_id,
        bundle,
        tariff.as_ref().map(|t| t.1.as_str()),
    )?;
    Ok(Receipt {
        format: FORMAT.into(),
        summary,
        log: LogRef {
            origin: log.origin.clone(),
            key: log.verifier_key.clone(),
        },
        checkpoint: checkpoint.note.to_owned(),
        policy: policy.to_owned(),
        session,
        charger: charger_entry,
        tariff: tariff.map(|t| t.0),
        readings: bundle.readings.clone(),
        time_zone: bundle.time_zone.clone(),
        breakdown: bundle.breakdown.clone(),
        openings: bundle.openings.clone(),
        driver: bundle.driver.clone(),
    })
}

fn summary(
    log: &LogInfo,
    evse_id: &str,
    bundle: &EvidenceBundle,
    tariff_json: Option<&str>,
) -> Result<Summary, ReceiptError> {
    let (mut currency, mut excl, mut incl) = (None, None, None);
    let readings = bundle
        .readings
        .iter()
        .map(|h| {
            hex::decode(h)
                .ok()
                .and_then(|b| SignedReading::decode(&b).ok())
                .ok_or_else(|| ReceiptError::BundleMismatch("a reading does not decode".into()))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let (Some(first), Some(last)) = (readings.first(), readings.last()) else {
        return Err(ReceiptError::BundleMismatch(
            "the bundle has no readings".into(),
        ));
    };
    // The driver's own receipt shows the exact times and energy the charger signed; the public
    // record only has them coarse.
    let (start, stop) = (first.reading.timestamp_ms, last.reading.timestamp_ms);
    let wh = last
        .reading
        .register_wh
        .saturating_sub(first.reading.register_wh);
    if let Some(json) = tariff_json {
        let tz = bundle
            .time_zone
            .parse()
            .map_err(|_| ReceiptError::BundleMismatch("time zone".into()))?;
        if let Ok(b) = kvitto_ledger::pricing::price_readings(&readings, json, tz) {
            if minor_totals(&b).is_ok() {
                currency = Some(b.currency.clone());
                excl = Some(b.totals.total_cost.excl_vat.to_string());
                incl = b.totals.total_cost.incl_vat.map(|d| d.to_string());
            }
        }
    }
    Ok(Summary {
        operator: log.operator.clone(),
        evse_id: evse_id.to_owned(),
        start: time_text(start),
        stop: time_text(stop),
        energy_kwh: format!("{}.{:03}", wh / 1000, wh % 1000),
        currency,
        total_excl_vat: excl,
        total_incl_vat: incl,
    })
}

/// Why a disclosed bundle cannot be audited.
#[derive(Debug, Error)]
pub enum DisclosedError {
    /// The mirror does not hold the record yet.
    #[error("this node's mirror does not hold entry {0} yet; try again shortly")]
    NotReplicated(u64),
    /// No witnessed checkpoint covers the record yet.
    #[error("{0}")]
    NotWitnessed(String),
    /// The bundle, key or record do not fit together.
    #[error("{0}")]
    Mismatch(String),
    #[error("{0}")]
    Internal(String),
}

/// A disclosed bundle, opened and checked: the bundle, the receipt rebuilt from the mirror, and
/// the verifier's report under the node's policy.
pub struct OpenedEvidence {
    pub bundle: EvidenceBundle,
    pub receipt: Receipt,
    pub report: kvitto_receipt::Report,
}

/// Opens a disclosed evidence bundle of `session` against `served` (a mirror): its digest must
/// be the one the ledger record binds, the key must open it, and the receipt rebuilt from the
/// mirror is verified under `policy`. The regulator's audit and the eMSP's statement check.
pub fn open_disclosed<S: KvStore>(
    served: &crate::logs::ServedLog<S>,
    policy: &str,
    session: kvitto_core::keys::SessionId,
    disclosed: crate::DisclosedEvidence,
) -> Result<OpenedEvidence, DisclosedError> {
    use kvitto_privacy::{EvidenceKey, SealedEvidence, SessionContext};
    let mismatch = DisclosedError::Mismatch;
    let index = disclosed.index;
    let entry = served
        .store
        .entry(index)
        .map_err(|e| DisclosedError::Internal(e.to_string()))?
        .ok_or(DisclosedError::NotReplicated(index))?;
    let record = match Entry::decode(&entry) {
        Ok(Entry::SessionClosed(r)) if r.session == session => r,
        _ => {
            return Err(mismatch(format!(
                "entry {index} is not this session's record"
            )))
        }
    };
    let privacy = record
        .privacy
        .as_ref()
        .ok_or_else(|| mismatch("the record binds no evidence".into()))?;
    let ctx = SessionContext::new(&served.info.origin, record.key_id.0, session.0)
        .map_err(|e| DisclosedError::Internal(e.to_string()))?;
    let sealed = SealedEvidence::from_bytes(&disclosed.sealed)
        .map_err(|e| mismatch(format!("the sealed bundle: {e}")))?;
    if sealed.digest(&ctx) != privacy.evidence_digest {
        return Err(mismatch(
            "the bundle is not the one the ledger binds".into(),
        ));
    }
    let plain = EvidenceKey::from_bytes(disclosed.key)
        .open(&ctx, &sealed)
        .map_err(|_| mismatch("the key does not open the bundle".into()))?;
    let bundle: EvidenceBundle = serde_json::from_slice(&plain)
        .map_err(|e| mismatch(format!("the bundle does not parse: {e}")))?;
    let board = served.witness.get();
    let note = board.witnessed.ok_or_else(|| {
        DisclosedError::NotWitnessed("no checkpoint of this log is witnessed yet".into())
    })?;
    let receipt = build_receipt(
        &served.store,
        &served.info,
        policy,
        ReceiptCheckpoint {
            note: &note,
            size: board.witnessed_size,
        },
        index,
        &bundle,
    )
    .map_err(|e| match e {
        ReceiptError::NotYetCovered { .. } => DisclosedError::NotWitnessed(e.to_string()),
        other => mismatch(other.to_string()),
    })?;
    let trusted = kvitto_tlog::policy::Policy::parse(policy)
        .map_err(|e| DisclosedError::Internal(e.to_string()))?;
    let report = kvitto_receipt::verify(
        receipt.to_json().as_bytes(),
        kvitto_receipt::Trust::Policy(&trusted),
        &mut rand_core::OsRng,
    );
    Ok(OpenedEvidence {
        bundle,
        receipt,
        report,
    })
}
