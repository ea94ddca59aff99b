//! `kvitto tariff`: price, explain and lint OCPI 2.2.1 tariffs offline.

use std::path::Path;

use anyhow::{bail, Context, Result};
use kvitto_tariff::{
    explain_cdr, lint, parse_cdr, parse_tariff, price_cdr_periods, CdrPricing, Severity, Tariff,
};

fn read(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))
}

fn load_tariff(path: &Path) -> Result<Tariff> {
    let parsed =
        parse_tariff(&read(path)?).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    for field in &parsed.unknown_fields {
        eprintln!("note: {}: unknown field {field} ignored", path.display());
    }
    Ok(parsed.value)
}

fn pricing(tz: &str) -> Result<CdrPricing> {
    let time_zone = tz
        .parse()
        .map_err(|_| anyhow::anyhow!("--tz {tz:?} is not an IANA time zone name"))?;
    Ok(CdrPricing {
        time_zone,
        rounding: None,
    })
}

/// `kvitto tariff price`: the OCPI totals of a CDR's charging periods under a tariff (or the
/// tariffs the CDR embeds), as JSON.
pub fn price(tariff: Option<&Path>, cdr: &Path, tz: &str) -> Result<String> {
    let tariff = tariff.map(load_tariff).transpose()?;
    let cdr = parse_cdr(&read(cdr)?)
        .map_err(|e| anyhow::anyhow!("{}: {e}", cdr.display()))?
        .value;
    let totals = price_cdr_periods(tariff.as_ref(), &cdr, &pricing(tz)?)
        .map_err(|e| anyhow::anyhow!("pricing: {e}"))?;
    Ok(serde_json::to_string_pretty(&totals)?)
}

/// `kvitto tariff explain`: the line-by-line breakdown a receipt shows.
pub fn explain(tariff: Option<&Path>, cdr: &Path, tz: &str) -> Result<String> {
    let tariff = tariff.map(load_tariff).transpose()?;
    let cdr = parse_cdr(&read(cdr)?)
        .map_err(|e| anyhow::anyhow!("{}: {e}", cdr.display()))?
        .value;
    let breakdown = explain_cdr(tariff.as_ref(), &cdr, &pricing(tz)?)
        .map_err(|e| anyhow::anyhow!("pricing: {e}"))?;
    Ok(breakdown.to_string())
}

/// `kvitto tariff lint`: findings, one per line; an error if any finding is an error.
pub fn lint_file(path: &Path) -> Result<String> {
    let tariff = load_tariff(path)?;
    let findings = lint(&tariff);
    let mut out = String::new();
    for f in &findings {
        out.push_str(&format!("{:?} {}: {}\n", f.severity, f.path, f.message).to_lowercase_first());
    }
    if findings.is_empty() {
        out.push_str("ok   no findings\n");
    }
    if findings.iter().any(|f| f.severity == Severity::Error) {
        print!("{out}");
        bail!("{} finding(s), at least one an error", findings.len());
    }
    Ok(out)
}

trait LowerFirst {
    fn to_lowercase_first(self) -> String;
}

impl LowerFirst for String {
    fn to_lowercase_first(self) -> String {
        let mut chars = self.chars();
        match chars.next() {
            Some(c) => c.to_lowercase().chain(chars).collect(),
            None => self,
        }
    }
}
