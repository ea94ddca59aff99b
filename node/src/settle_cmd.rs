//! `kvitto settle`: close a period on a CPO's node, show the network's statements,
//! acknowledgements and disputes as a node sees them, and export them with the netting.

use std::fmt::Write as _;
use std::path::Path;

use anyhow::{Context, Result};
use kvitto_settle::{Netting, Obligation};
use serde::Deserialize;

use crate::client::Client;

/// The `GET /v1/settlement` answer is the node's overview; the CLI reads the same types the node
/// writes.
pub use kvitto_service::settlement_index::{
    DisputeItemRow as DisputeItem, DisputeRow as Dispute, Overview, PeriodRow as Period,
    StatementRow as Statement,
};

/// Closes the period `[start_ms, end_ms)` on the node: one statement per counterparty.
pub async fn close(client: &Client, start_ms: u64, end_ms: u64) -> Result<Vec<u64>> {
    #[derive(Deserialize)]
    struct Closed {
        statements: Vec<u64>,
    }
    let closed: Closed = client
        .admin_post(
            "/v1/admin/settlement/close",
            &serde_json::json!({ "period_start_ms": start_ms, "period_end_ms": end_ms }),
        )
        .await?;
    Ok(closed.statements)
}

pub async fn fetch(client: &Client, sessions: bool) -> Result<Overview> {
    let path = if sessions {
        "/v1/settlement?sessions=true"
    } else {
        "/v1/settlement"
    };
    client.get_json(path).await
}

/// The obligations of a period's owed statements (what each eMSP owes, VAT included): closed
/// between their parties and checked against their log, as the node nets them.
pub fn obligations(period: &Period) -> Vec<Obligation> {
    kvitto_service::settlement_index::obligations(&period.statements)
}

/// Nets a period's closed statements and checks the result.
pub fn net(period: &Period) -> Result<Netting> {
    let obligations = obligations(period);
    let label = period_label(period);
    let netting = kvitto_settle::net(&label, &obligations)
        .with_context(|| format!("netting period {label}"))?;
    netting
        .check(&obligations)
        .with_context(|| format!("checking the netting of {label}"))?;
    Ok(netting)
}

pub fn period_label(period: &Period) -> String {
    format!("{}..{}", time(period.start_ms), time(period.end_ms))
}

fn time(ms: u64) -> String {
    chrono::DateTime::from_timestamp_millis(ms as i64)
        .map(|t| t.format("%Y-%m-%d %H:%M:%SZ").to_string())
        .unwrap_or_else(|| ms.to_string())
}

fn money(minor: i64, currency: &str) -> String {
    let sign = if minor < 0 { "-" } else { "" };
    let m = minor.unsigned_abs();
    format!("{sign}{}.{:02} {currency}", m / 100, m % 100)
}

/// Session record indexes listed per reason before the rest are counted.
const RECORDS_LISTED: usize = 8;

/// A dispute's items, by reason: what it says of the statement, then how many sessions and
/// which (the first few; `--json` and `GET /v1/settlement` list them all).
fn render_dispute(out: &mut String, d: &Dispute) {
    let mut by_reason: Vec<(&str, Vec<u64>)> = Vec::new();
    for item in &d.items {
        match item.session_index {
            None => {
                let _ = writeln!(out, "      disputed: the statement: {}", item.reason);
            }
            Some(i) => match by_reason.iter_mut().find(|(r, _)| *r == item.reason) {
                Some((_, records)) => records.push(i),
                None => by_reason.push((&item.reason, vec![i])),
            },
        }
    }
    for (reason, records) in by_reason {
        let mut listed: Vec<String> = records
            .iter()
            .take(RECORDS_LISTED)
            .map(u64::to_string)
            .collect();
        if records.len() > RECORDS_LISTED {
            listed.push(format!("and {} more", records.len() - RECORDS_LISTED));
        }
        let _ = writeln!(
            out,
            "      disputed: {} session{}: {reason} (record{} {})",
            records.len(),
            if records.len() == 1 { "" } else { "s" },
            if records.len() == 1 { "" } else { "s" },
            listed.join(", ")
        );
    }
    if d.parts.len() > 1 {
        let parts: Vec<String> = d.parts.iter().map(u64::to_string).collect();
        let _ = writeln!(
            out,
            "      disputed in {} entries of {}: {}",
            d.parts.len(),
            d.origin,
            parts.join(", ")
        );
    }
}

/// The overview in plain text: per period, each statement with its status and disputes, then the
/// netting of the closed ones.
pub fn render(overview: &Overview) -> String {
    let mut out = String::new();
    if overview.periods.is_empty() {
        out.push_str("No settlement period has been closed yet.\n");
        return out;
    }
    for period in &overview.periods {
        let _ = writeln!(out, "Period {}", period_label(period));
        let _ = writeln!(
            out,
            "  {:<8} {:<8} {:>8} {:>7} {:>16} {:>16}  status",
            "CPO", "eMSP", "sessions", "credits", "excl. VAT", "incl. VAT"
        );
        for s in &period.statements {
            let _ = writeln!(
                out,
                "  {:<8} {:<8} {:>8} {:>7} {:>16} {:>16}  {} (statement {} of {})",
                s.cpo,
                s.emsp,
                s.sessions,
                s.credits,
                money(s.total_excl_vat_minor, &s.currency),
                money(s.total_incl_vat_minor, &s.currency),
                s.status,
                s.index,
                s.origin
            );
            if let Some(problem) = &s.problem {
                let _ = writeln!(out, "      NOT NETTED: {problem}");
            }
            if let Some(d) = &s.dispute {
                render_dispute(&mut out, d);
                match d.answered {
                    Some(i) => {
                        let _ = writeln!(
                            out,
                            "      answered by the CPO at entry {i}: {} credited, {} rejected",
                            d.credited,
                            d.items.len() - d.credited.min(d.items.len())
                        );
                    }
                    None => {
                        let _ = writeln!(out, "      not answered yet");
                    }
                }
            }
        }
        match net(period) {
            Ok(netting) if !netting.currencies.is_empty() => {
                for c in &netting.currencies {
                    let _ = writeln!(out, "  Net positions ({}):", c.currency);
                    for p in &c.positions {
                        let _ = writeln!(
                            out,
                            "    {:<8} {:>16}",
                            p.party,
                            money(p.net_minor, &c.currency)
                        );
                    }
                    let _ = writeln!(out, "  Transfers that settle them:");
                    for t in &c.transfers {
                        let _ = writeln!(
                            out,
                            "    {} pays {} {}",
                            t.from,
                            t.to,
                            money(t.amount_minor, &c.currency)
                        );
                    }
                }
            }
            Ok(_) => {
                let _ = writeln!(out, "  No acknowledged statement yet: nothing to net.");
            }
            Err(e) => {
                let _ = writeln!(out, "  Netting failed: {e:#}");
            }
        }
    }
    out
}

/// Writes the overview, the obligations and the netting of every period as JSON and CSV, and an
/// OCPI 2.3 invoice reconciliation record per acknowledged statement, into `dir`.
pub fn export(overview: &Overview, dir: &Path, now_ms: u64) -> Result<Vec<String>> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let mut written = Vec::new();
    let mut write = |name: String, text: String| -> Result<()> {
        let path = dir.join(&name);
        std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
        written.push(name);
        Ok(())
    };
    let statements: Vec<&Statement> = overview
        .periods
        .iter()
        .flat_map(|p| p.statements.iter())
        .collect();
    write(
        "statements.json".into(),
        serde_json::to_string_pretty(&statements)?,
    )?;
    let mut csv = csv::Writer::from_writer(Vec::new());
    csv.write_record([
        "period_start_ms",
        "period_end_ms",
        "cpo",
        "emsp",
        "origin",
        "index",
        "sessions",
        "credits",
        "currency",
        "total_excl_vat_minor",
        "total_incl_vat_minor",
        "status",
        "disputed_items",
    ])?;
    for p in &overview.periods {
        for s in &p.statements {
            csv.write_record([
                p.start_ms.to_string(),
                p.end_ms.to_string(),
                s.cpo.clone(),
                s.emsp.clone(),
                s.origin.clone(),
                s.index.to_string(),
                s.sessions.to_string(),
                s.credits.to_string(),
                s.currency.clone(),
                s.total_excl_vat_minor.to_string(),
                s.total_incl_vat_minor.to_string(),
                s.status.name().to_owned(),
                s.dispute.as_ref().map_or(0, |d| d.items.len()).to_string(),
            ])?;
        }
    }
    write(
        "statements.csv".into(),
        String::from_utf8(csv.into_inner().map_err(|e| anyhow::anyhow!("{e}"))?)?,
    )?;
    for (n, period) in overview.periods.iter().enumerate() {
        let netting = net(period)?;
        let obligations = obligations(period);
        let tag = format!("period{}", n + 1);
        write(
            format!("{tag}-obligations.csv"),
            kvitto_settle::export::obligations_to_csv(&obligations)?,
        )?;
        write(
            format!("{tag}-netting.json"),
            kvitto_settle::export::netting_to_json(&netting)?,
        )?;
        write(
            format!("{tag}-positions.csv"),
            kvitto_settle::export::positions_to_csv(&netting)?,
        )?;
        write(
            format!("{tag}-transfers.csv"),
            kvitto_settle::export::transfers_to_csv(&netting)?,
        )?;
        let mut records = Vec::new();
        for (obligation, s) in obligations
            .iter()
            .zip(period.statements.iter().filter(|s| s.is_owed()))
        {
            let Some(ids) = s.session_ids.as_ref().filter(|ids| !ids.is_empty()) else {
                continue;
            };
            let id = format!("{}-{}", s.cpo.replace('*', ""), s.index);
            records.push(kvitto_settle::export::invoice_reconciliation_record(
                obligation,
                &id,
                &format!("{}/{}", s.origin, s.index),
                ids,
                now_ms,
            )?);
        }
        write(
            format!("{tag}-invoice-reconciliation.json"),
            serde_json::to_string_pretty(&records)?,
        )?;
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A long dispute reads as one line per reason, its records listed up to a point.
    #[test]
    fn a_dispute_reads_by_reason() {
        let mut items = vec![DisputeItem {
            session_index: None,
            reason: "total_mismatch".into(),
        }];
        items.extend((0..140).map(|i| DisputeItem {
            session_index: Some(6 + 2 * i),
            reason: "unknown_token".into(),
        }));
        items.push(DisputeItem {
            session_index: Some(9),
            reason: "price_mismatch".into(),
        });
        let dispute = Dispute {
            origin: "kvitto/devnet/se-n04".into(),
            index: 7,
            parts: vec![7, 8],
            items,
            answered: None,
            credited: 0,
        };
        let mut out = String::new();
        render_dispute(&mut out, &dispute);
        assert_eq!(
            out,
            "      disputed: the statement: total_mismatch\n\
             \x20     disputed: 140 sessions: unknown_token (records 6, 8, 10, 12, 14, 16, 18, 20, and 132 more)\n\
             \x20     disputed: 1 session: price_mismatch (record 9)\n\
             \x20     disputed in 2 entries of kvitto/devnet/se-n04: 7, 8\n"
        );
    }
}
