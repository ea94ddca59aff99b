//! The receipt in plain words.

use std::fmt::Write;

use crate::format::Receipt;

/// What was charged, where, when, how much energy, the price breakdown and the trust chain.
/// It repeats what the receipt claims; [`crate::verify`] says whether the claims hold.
pub fn render_text(receipt: &Receipt) -> String {
    let s = &receipt.summary;
    let mut out = String::new();
    let _ = writeln!(out, "Charging receipt");
    let _ = writeln!(out, "  Operator      {}", s.operator);
    let _ = writeln!(out, "  Charge point  {}", s.evse_id);
    let _ = writeln!(out, "  Started       {}", s.start);
    let _ = writeln!(out, "  Stopped       {}", s.stop);
    let _ = writeln!(out, "  Energy        {} kWh", s.energy_kwh);
    match (&s.currency, &s.total_excl_vat) {
        (Some(currency), Some(excl)) => {
            let incl = s
                .total_incl_vat
                .as_deref()
                .map(|incl| format!(", {incl} {currency} incl. VAT"))
                .unwrap_or_else(|| ", no VAT stated".into());
            let _ = writeln!(out, "  Price         {excl} {currency} excl. VAT{incl}");
        }
        _ if receipt.tariff.is_some() => {
            let _ = writeln!(
                out,
                "  Price         not priced: the tariff could not price these readings (see `kvitto receipt verify`)"
            );
        }
        _ => {
            let _ = writeln!(out, "  Price         free (the charger names no tariff)");
        }
    }
    if let Some(lines) = receipt
        .breakdown
        .as_ref()
        .and_then(|b| b.get("lines"))
        .and_then(|l| l.as_array())
    {
        let _ = writeln!(out, "  Breakdown");
        for line in lines {
            let field = |name: &str| {
                line.get(name)
                    .map(|v| {
                        v.as_str()
                            .map(str::to_owned)
                            .unwrap_or_else(|| v.to_string())
                    })
                    .unwrap_or_default()
            };
            let _ = writeln!(
                out,
                "    {:<8} {:>10} × {:>8} = {:>8}   ({} – {})",
                field("dimension").to_lowercase(),
                field("volume"),
                field("unit_price"),
                field("excl_vat"),
                field("period_start"),
                field("period_end"),
            );
        }
    }
    let _ = writeln!(out, "  Trust chain");
    let _ = writeln!(
        out,
        "    {} readings signed by the charger's meter key, registered on the log at entry {}",
        receipt.readings.len(),
        receipt.charger.index
    );
    if let Some(tariff) = &receipt.tariff {
        let _ = writeln!(
            out,
            "    the tariff, published on the log at entry {}",
            tariff.index
        );
    }
    let _ = writeln!(
        out,
        "    the session record at entry {}: commitments to the price and to you, no name or card number",
        receipt.session.index
    );
    let cosigners = receipt
        .checkpoint
        .lines()
        .skip_while(|l| !l.is_empty())
        .filter(|l| l.starts_with('—'))
        .count();
    let _ = writeln!(
        out,
        "    all in a checkpoint of log {} carrying {cosigners} signature(s): the log's and its witnesses'",
        receipt.log.origin
    );
    out
}
