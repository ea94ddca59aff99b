//! Exports: CSV of obligations, positions and transfers; JSON of a whole [`Netting`]; the OCPI
//! invoice reconciliation record of one statement. Amounts stay integers in minor units in every
//! format. Columns and fields are listed in `specs/settlement-netting.md`.

use std::collections::HashSet;

use chrono::{DateTime, SecondsFormat};
use serde::{Deserialize, Serialize};

use crate::error::SettleError;
use crate::limits;
use crate::netting::{CurrencyNetting, Netting, Position, Transfer};
use crate::obligation::{Obligation, StatementRef};

/// Columns of [`obligations_to_csv`], in order.
pub const OBLIGATIONS_COLUMNS: [&str; 6] =
    ["origin", "index", "cpo", "emsp", "currency", "amount_minor"];
/// Columns of [`positions_to_csv`], in order.
pub const POSITIONS_COLUMNS: [&str; 4] = ["period", "currency", "party", "net_minor"];
/// Columns of [`transfers_to_csv`], in order.
pub const TRANSFERS_COLUMNS: [&str; 6] =
    ["period", "currency", "seq", "from", "to", "amount_minor"];

#[derive(Serialize, Deserialize)]
struct ObligationRow {
    origin: String,
    index: u64,
    cpo: String,
    emsp: String,
    currency: String,
    amount_minor: i64,
}

#[derive(Serialize, Deserialize)]
struct PositionRow {
    period: String,
    currency: String,
    party: String,
    net_minor: i64,
}

#[derive(Serialize, Deserialize)]
struct TransferRow {
    period: String,
    currency: String,
    seq: u64,
    from: String,
    to: String,
    amount_minor: i64,
}

/// One row per obligation, in the given order, under a header row.
pub fn obligations_to_csv(obligations: &[Obligation]) -> Result<String, SettleError> {
    write_csv(
        &OBLIGATIONS_COLUMNS,
        obligations.iter().map(|o| ObligationRow {
            origin: o.statement.origin.clone(),
            index: o.statement.index,
            cpo: o.cpo.clone(),
            emsp: o.emsp.clone(),
            currency: o.currency.clone(),
            amount_minor: o.amount_minor,
        }),
    )
}

/// Reads [`obligations_to_csv`]. The header must be exactly [`OBLIGATIONS_COLUMNS`]; the values
/// are not validated here ([`crate::net`] does that).
pub fn obligations_from_csv(text: &str) -> Result<Vec<Obligation>, SettleError> {
    read_csv(text, &OBLIGATIONS_COLUMNS, |row: ObligationRow, _| {
        Ok(Obligation {
            statement: StatementRef {
                origin: row.origin,
                index: row.index,
            },
            cpo: row.cpo,
            emsp: row.emsp,
            currency: row.currency,
            amount_minor: row.amount_minor,
        })
    })
}

/// One row per position: currencies in the netting's order, parties in each currency's order.
pub fn positions_to_csv(netting: &Netting) -> Result<String, SettleError> {
    write_csv(
        &POSITIONS_COLUMNS,
        netting.currencies.iter().flat_map(|c| {
            c.positions.iter().map(|p| PositionRow {
                period: netting.period.clone(),
                currency: c.currency.clone(),
                party: p.party.clone(),
                net_minor: p.net_minor,
            })
        }),
    )
}

/// One row per transfer: currencies in the netting's order, each currency's transfers in order,
/// `seq` counting from 0 within the currency.
pub fn transfers_to_csv(netting: &Netting) -> Result<String, SettleError> {
    write_csv(
        &TRANSFERS_COLUMNS,
        netting.currencies.iter().flat_map(|c| {
            c.transfers.iter().enumerate().map(|(seq, t)| TransferRow {
                period: netting.period.clone(),
                currency: c.currency.clone(),
                seq: seq as u64,
                from: t.from.clone(),
                to: t.to.clone(),
                amount_minor: t.amount_minor,
            })
        }),
    )
}

/// Rebuilds a [`Netting`] of `period` from [`positions_to_csv`] and [`transfers_to_csv`].
///
/// Every row must carry `period`, and each currency's `seq` must count 0, 1, 2, … in row order.
/// A new currency group starts wherever the currency differs from the previous row's, so rows
/// out of order come back out of order and [`Netting::check`] reports them. Nothing else is
/// checked here.
pub fn netting_from_csv(
    period: &str,
    positions_csv: &str,
    transfers_csv: &str,
) -> Result<Netting, SettleError> {
    let mut currencies: Vec<CurrencyNetting> = Vec::new();
    let same_period = |found: &str, row: u64| match found == period {
        true => Ok(()),
        false => Err(SettleError::CsvRow {
            row,
            reason: format!("period {found:?}, expected {period:?}"),
        }),
    };
    let positions = read_csv(
        positions_csv,
        &POSITIONS_COLUMNS,
        |row: PositionRow, line| {
            same_period(&row.period, line)?;
            Ok(row)
        },
    )?;
    for row in positions {
        let position = Position {
            party: row.party,
            net_minor: row.net_minor,
        };
        match currencies.last_mut() {
            Some(last) if last.currency == row.currency => last.positions.push(position),
            _ => currencies.push(CurrencyNetting {
                currency: row.currency,
                positions: vec![position],
                transfers: Vec::new(),
            }),
        }
    }
    let transfers = read_csv(
        transfers_csv,
        &TRANSFERS_COLUMNS,
        |row: TransferRow, line| {
            same_period(&row.period, line)?;
            Ok((line, row))
        },
    )?;
    for (line, row) in transfers {
        let transfer = Transfer {
            from: row.from,
            to: row.to,
            amount_minor: row.amount_minor,
        };
        let group = match currencies.iter().position(|c| c.currency == row.currency) {
            Some(at) => &mut currencies[at],
            None => {
                currencies.push(CurrencyNetting {
                    currency: row.currency,
                    positions: Vec::new(),
                    transfers: Vec::new(),
                });
                let last = currencies.len() - 1;
                &mut currencies[last]
            }
        };
        if row.seq != group.transfers.len() as u64 {
            return Err(SettleError::CsvRow {
                row: line,
                reason: format!(
                    "seq {} in {}, expected {}",
                    row.seq,
                    group.currency,
                    group.transfers.len()
                ),
            });
        }
        group.transfers.push(transfer);
    }
    Ok(Netting {
        period: period.to_owned(),
        currencies,
    })
}

/// The whole netting as pretty-printed JSON (the fields of [`Netting`], names unchanged).
pub fn netting_to_json(netting: &Netting) -> Result<String, SettleError> {
    serde_json::to_string_pretty(netting).map_err(|e| SettleError::Json(e.to_string()))
}

/// Reads [`netting_to_json`]; unknown fields are refused. Check the result with
/// [`Netting::check`].
pub fn netting_from_json(text: &str) -> Result<Netting, SettleError> {
    check_len(text)?;
    serde_json::from_str(text).map_err(|e| SettleError::Json(e.to_string()))
}

/// The Invoice Reconciliation Record of OCPI 2.3.0 (module `invoicereconciliation`, added in the
/// 2.3.0 `payments` release branch): an invoice id and the CDRs the invoice covers, nothing
/// more. Here the invoice is one settlement statement and the owner is its CPO.
///
/// This follows the draft shape as reproduced by a third-party typed model of that branch; the
/// official OCPI text was not available to us. Only the fields that source names are here, with
/// its lengths: `id` `CiString(36)`, `invoice_id` `CiString(255)`, `cdrs` one or more
/// `CiString(36)` (unique, compared case-insensitively), `last_updated` an OCPI `DateTime` in
/// UTC. The record carries no amount: the receiver adds up the CDRs it holds and compares the
/// sum with the invoice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InvoiceReconciliationRecord {
    /// ISO 3166-1 alpha-2 country code of the party that owns the record (the CPO).
    pub country_code: String,
    /// The owner's 3-character party id.
    pub party_id: String,
    /// Identifies this record.
    pub id: String,
    /// The invoice this record is about.
    pub invoice_id: String,
    /// The CDR ids the invoice covers.
    pub cdrs: Vec<String>,
    /// When the record was issued.
    pub last_updated: String,
}

/// The reconciliation record for `obligation`'s statement, owned by its CPO.
///
/// The CPO's party id must be an OCPI party id, `CC*PPP` or `CCPPP` (country code two upper-case
/// letters, party id three upper-case letters or digits). `record_id`, `invoice_id` and the CDR
/// ids are the caller's (kvitto's statements do not carry OCPI ids); their lengths and the
/// uniqueness of the CDR ids are checked. `last_updated_ms` is milliseconds since the Unix epoch.
pub fn invoice_reconciliation_record(
    obligation: &Obligation,
    record_id: &str,
    invoice_id: &str,
    cdr_ids: &[String],
    last_updated_ms: u64,
) -> Result<InvoiceReconciliationRecord, SettleError> {
    let (country_code, party_id) = split_ocpi_party(&obligation.cpo).ok_or_else(|| {
        SettleError::Ocpi(format!(
            "cpo {:?} is not an OCPI party id (CC*PPP)",
            obligation.cpo
        ))
    })?;
    check_ocpi_id("id", record_id, limits::OCPI_RECORD_ID_LEN_MAX)?;
    check_ocpi_id("invoice_id", invoice_id, limits::OCPI_INVOICE_ID_LEN_MAX)?;
    if cdr_ids.is_empty() || cdr_ids.len() > limits::OCPI_CDRS_MAX {
        return Err(SettleError::Ocpi(format!(
            "{} cdrs, expected 1 to {}",
            cdr_ids.len(),
            limits::OCPI_CDRS_MAX
        )));
    }
    let mut seen = HashSet::with_capacity(cdr_ids.len());
    for cdr in cdr_ids {
        check_ocpi_id("cdr id", cdr, limits::OCPI_CDR_ID_LEN_MAX)?;
        if !seen.insert(cdr.to_ascii_lowercase()) {
            return Err(SettleError::Ocpi(format!("cdr {cdr:?} is listed twice")));
        }
    }
    let last_updated = i64::try_from(last_updated_ms)
        .ok()
        .and_then(DateTime::from_timestamp_millis)
        .ok_or_else(|| SettleError::Ocpi(format!("time {last_updated_ms} ms is out of range")))?
        .to_rfc3339_opts(SecondsFormat::AutoSi, true);
    Ok(InvoiceReconciliationRecord {
        country_code: country_code.to_owned(),
        party_id: party_id.to_owned(),
        id: record_id.to_owned(),
        invoice_id: invoice_id.to_owned(),
        cdrs: cdr_ids.to_vec(),
        last_updated,
    })
}

/// `CC*PPP` or `CCPPP` into `(CC, PPP)`.
fn split_ocpi_party(party: &str) -> Option<(&str, &str)> {
    let (country, id) = match party.len() {
        6 if party.as_bytes()[2] == b'*' => (&party[..2], &party[3..]),
        5 => (&party[..2], &party[2..]),
        _ => return None,
    };
    let is_country = country.bytes().all(|b| b.is_ascii_uppercase());
    let is_id = id
        .bytes()
        .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit());
    (is_country && is_id).then_some((country, id))
}

/// OCPI `CiString`: printable ASCII, here also non-empty.
fn check_ocpi_id(what: &str, value: &str, max: usize) -> Result<(), SettleError> {
    let printable = value.bytes().all(|b| (0x20..0x7f).contains(&b));
    if value.is_empty() || value.len() > max || !printable {
        return Err(SettleError::Ocpi(format!(
            "{what} {value:?} is not 1 to {max} printable ASCII characters"
        )));
    }
    Ok(())
}

fn write_csv<R: Serialize>(
    columns: &[&str],
    rows: impl Iterator<Item = R>,
) -> Result<String, SettleError> {
    // The header is written by hand so that an empty export still names its columns.
    let mut writer = csv::WriterBuilder::new()
        .has_headers(false)
        .from_writer(Vec::new());
    writer
        .write_record(columns)
        .map_err(|e| SettleError::Csv(e.to_string()))?;
    for row in rows {
        writer
            .serialize(row)
            .map_err(|e| SettleError::Csv(e.to_string()))?;
    }
    let bytes = writer
        .into_inner()
        .map_err(|e| SettleError::Csv(e.to_string()))?;
    String::from_utf8(bytes).map_err(|e| SettleError::Csv(e.to_string()))
}

fn read_csv<R, T>(
    text: &str,
    columns: &[&str],
    mut each: impl FnMut(R, u64) -> Result<T, SettleError>,
) -> Result<Vec<T>, SettleError>
where
    R: for<'de> Deserialize<'de>,
{
    check_len(text)?;
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .from_reader(text.as_bytes());
    let header = reader
        .headers()
        .map_err(|e| SettleError::Csv(e.to_string()))?;
    if !header.iter().eq(columns.iter().copied()) {
        return Err(SettleError::Csv(format!(
            "header {:?}, expected {:?}",
            header.iter().collect::<Vec<_>>(),
            columns
        )));
    }
    let header = header.clone();
    let mut out = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| SettleError::CsvRow {
            row: e.position().map_or(0, |p| p.line()),
            reason: e.to_string(),
        })?;
        let line = record.position().map_or(0, |p| p.line());
        let row = record
            .deserialize(Some(&header))
            .map_err(|e| SettleError::CsvRow {
                row: line,
                reason: e.to_string(),
            })?;
        out.push(each(row, line)?);
    }
    Ok(out)
}

fn check_len(text: &str) -> Result<(), SettleError> {
    match text.len() <= limits::IMPORT_LEN_MAX {
        true => Ok(()),
        false => Err(SettleError::TooLong {
            len: text.len(),
            max: limits::IMPORT_LEN_MAX,
        }),
    }
}
