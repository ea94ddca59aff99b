//! The report as one self-contained HTML page: inline CSS and inline SVG charts, no scripts and
//! no external assets, so it can be archived, mailed and opened offline.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use crate::report::{Finding, Report, Verdict};

/// Series colours, one per log in report order (repeating after eight).
const PALETTE: [&str; 8] = [
    "#2563eb", "#d97706", "#059669", "#7c3aed", "#db2777", "#0891b2", "#65a30d", "#dc2626",
];

const STYLE: &str = r#"
:root { --ink:#111827; --muted:#6b7280; --line:#e5e7eb; --bg:#f8fafc; --ok:#047857; --bad:#b91c1c; }
* { box-sizing: border-box; }
body { margin:0; background:var(--bg); color:var(--ink);
  font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
header { background:#0f172a; color:#f8fafc; padding:28px 40px 24px; }
header .kicker { text-transform:uppercase; letter-spacing:.08em; font-size:12px; color:#94a3b8; }
header h1 { margin:4px 0 6px; font-size:28px; font-weight:650; }
header .meta { color:#cbd5e1; font-size:13px; }
.verdict { display:inline-block; margin-top:14px; padding:8px 16px; border-radius:999px;
  font-weight:650; font-size:16px; }
.verdict.clean { background:#d1fae5; color:var(--ok); }
.verdict.findings { background:#fee2e2; color:var(--bad); }
main { max-width:1120px; margin:0 auto; padding:24px 40px 48px; }
section { margin-top:28px; }
h2 { font-size:18px; margin:0 0 12px; font-weight:650; }
.cards { display:grid; grid-template-columns:repeat(5, 1fr); gap:12px; }
.card { background:#fff; border:1px solid var(--line); border-radius:10px; padding:14px 16px; }
.card .n { font-size:24px; font-weight:650; font-variant-numeric:tabular-nums; }
.card .l { color:var(--muted); font-size:12px; text-transform:uppercase; letter-spacing:.05em; }
.card.bad .n { color:var(--bad); }
table { width:100%; border-collapse:collapse; background:#fff; border:1px solid var(--line);
  border-radius:10px; overflow:hidden; font-size:13px; }
th, td { text-align:left; padding:8px 10px; border-bottom:1px solid var(--line); vertical-align:top; }
th { background:#f1f5f9; font-weight:600; color:#334155; }
td code { overflow-wrap:anywhere; word-break:break-all; }
td code.name { white-space:nowrap; word-break:normal; }
td.num, th.num { text-align:right; font-variant-numeric:tabular-nums; }
tr:last-child td { border-bottom:none; }
.chart { background:#fff; border:1px solid var(--line); border-radius:10px; padding:14px 16px;
  margin-bottom:14px; }
.chart h3 { margin:0 0 4px; font-size:14px; font-weight:600; }
.legend { display:flex; flex-wrap:wrap; gap:14px; font-size:12px; color:#374151; margin:4px 0 6px; }
.legend i { display:inline-block; width:10px; height:10px; border-radius:2px; margin-right:5px; }
svg text { font-family:inherit; }
.finding { background:#fff; border:1px solid var(--line); border-left:4px solid var(--bad);
  border-radius:10px; padding:14px 18px; margin-bottom:12px; }
.finding .head { display:flex; flex-wrap:wrap; gap:8px; align-items:baseline; }
.rule { font-family:ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size:13px;
  background:#fee2e2; color:var(--bad); padding:2px 8px; border-radius:6px; font-weight:600; }
.where { color:#334155; font-size:13px; }
.finding p { margin:8px 0; }
dl { display:grid; grid-template-columns:max-content 1fr; gap:4px 14px; margin:8px 0 0;
  font-size:13px; }
dt { color:var(--muted); }
dd { margin:0; overflow-wrap:anywhere; font-family:ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }
dd pre { margin:0; white-space:pre-wrap; font-size:12px; }
.none { color:var(--ok); font-weight:600; }
.muted { color:var(--muted); }
code { font-family:ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size:12.5px; }
footer { color:var(--muted); font-size:12px; margin-top:32px; }
"#;

/// Renders the report as a complete HTML document.
pub fn render(report: &Report) -> String {
    let mut page = String::with_capacity(32 * 1024);
    let findings = report.findings.len();
    let (verdict_class, verdict_text) = match report.verdict {
        Verdict::Clean => ("clean", "No findings: every check passed".to_owned()),
        Verdict::Findings => (
            "findings",
            format!(
                "{findings} finding{} — action needed",
                if findings == 1 { "" } else { "s" }
            ),
        ),
    };
    let _ = write!(
        page,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>kvitto audit — {network}</title><style>{STYLE}</style></head><body>\
         <header><div class=\"kicker\">kvitto network audit</div>\
         <h1>{network}</h1>\
         <div class=\"meta\">Generated {generated} from the data of <code>{auditor}</code> · \
         {logs} logs audited</div>\
         <div class=\"verdict {verdict_class}\">{verdict_text}</div></header><main>",
        network = esc(&report.network),
        generated = esc(&report.generated_at),
        auditor = esc(&report.auditor),
        logs = report.logs.len(),
        verdict_text = esc(&verdict_text),
    );
    summary_cards(&mut page, report);
    activity(&mut page, report);
    anomalies(&mut page, report);
    findings_list(&mut page, report);
    logs_table(&mut page, report);
    checks_table(&mut page, report);
    let _ = writeln!(
        page,
        "<footer>Report format <code>{}</code>. Energy and sessions come from the public, \
         coarse session records (energy to the kWh, times to the hour, days in UTC). \
         The same data is in <code>report.json</code>.</footer></main></body></html>",
        esc(&report.format)
    );
    page
}

fn summary_cards(page: &mut String, report: &Report) {
    let entries: u64 = report.logs.iter().map(|l| l.size).sum();
    let replayed: u64 = report.logs.iter().map(|l| l.entries_replayed).sum();
    let sessions: u64 = report.logs.iter().map(|l| l.sessions).sum();
    let energy_wh: u64 = report
        .logs
        .iter()
        .fold(0u64, |sum, l| sum.saturating_add(l.energy_wh));
    let card = |page: &mut String, n: String, label: &str, bad: bool| {
        let _ = write!(
            page,
            "<div class=\"card{}\"><div class=\"n\">{}</div><div class=\"l\">{}</div></div>",
            if bad { " bad" } else { "" },
            esc(&n),
            esc(label)
        );
    };
    page.push_str("<section class=\"cards\">");
    card(page, report.logs.len().to_string(), "logs", false);
    card(
        page,
        format!("{replayed} / {entries}"),
        "entries replayed",
        replayed < entries,
    );
    card(page, grouped(sessions), "sessions", false);
    card(
        page,
        format!("{} kWh", grouped(energy_wh / 1000)),
        "energy",
        false,
    );
    card(
        page,
        report.findings.len().to_string(),
        "findings",
        !report.findings.is_empty(),
    );
    page.push_str("</section>");
}

/// Energy and sessions per day, stacked by log.
fn activity(page: &mut String, report: &Report) {
    let days: Vec<String> = report
        .daily
        .iter()
        .map(|d| d.date.clone())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let series = |value: &dyn Fn(&crate::report::DailyStats) -> u64| -> Vec<Series> {
        report
            .logs
            .iter()
            .enumerate()
            .map(|(i, log)| Series {
                label: log.operator.clone(),
                color: PALETTE[i % PALETTE.len()],
                values: days
                    .iter()
                    .map(|day| {
                        report
                            .daily
                            .iter()
                            .filter(|d| d.date == *day && d.origin == log.origin)
                            .map(value)
                            .sum()
                    })
                    .collect(),
            })
            .collect()
    };
    page.push_str("<section><h2>Activity per operator and day</h2>");
    chart(
        page,
        "Energy delivered (kWh)",
        &days,
        &series(&|d| d.energy_wh / 1000),
        "kWh",
    );
    chart(
        page,
        "Charging sessions",
        &days,
        &series(&|d| d.sessions),
        "sessions",
    );
    page.push_str("</section>");
}

struct Series {
    label: String,
    color: &'static str,
    values: Vec<u64>,
}

/// A stacked bar chart, one bar per day.
fn chart(page: &mut String, title: &str, days: &[String], series: &[Series], unit: &str) {
    let _ = write!(page, "<div class=\"chart\"><h3>{}</h3>", esc(title));
    legend(page, series.iter().map(|s| (s.label.as_str(), s.color)));
    let (width, height) = (1000.0_f64, 240.0_f64);
    let (left, right, top, bottom) = (56.0, 12.0, 10.0, 34.0);
    let plot_w = width - left - right;
    let plot_h = height - top - bottom;
    let totals: Vec<u64> = (0..days.len())
        .map(|i| series.iter().map(|s| s.values[i]).sum())
        .collect();
    let max = totals.iter().copied().max().unwrap_or(0);
    let (step, top_value) = nice_scale(max);
    let _ = write!(
        page,
        "<svg viewBox=\"0 0 {width} {height}\" width=\"100%\" role=\"img\" aria-label=\"{}\">",
        esc(title)
    );
    let y = |v: f64| top + plot_h - v / top_value as f64 * plot_h;
    let mut tick = 0;
    while tick <= top_value {
        let ty = y(tick as f64);
        let _ = write!(
            page,
            "<line x1=\"{left}\" x2=\"{}\" y1=\"{ty:.1}\" y2=\"{ty:.1}\" stroke=\"#e5e7eb\"/>\
             <text x=\"{}\" y=\"{:.1}\" font-size=\"11\" fill=\"#6b7280\" text-anchor=\"end\">{}</text>",
            width - right,
            left - 6.0,
            ty + 4.0,
            grouped(tick)
        );
        tick += step;
    }
    if days.is_empty() {
        let _ = write!(
            page,
            "<text x=\"{}\" y=\"{}\" font-size=\"13\" fill=\"#6b7280\" text-anchor=\"middle\">no session records</text>",
            left + plot_w / 2.0,
            top + plot_h / 2.0
        );
    }
    let slot = plot_w / days.len().max(1) as f64;
    let bar = (slot * 0.7).min(48.0);
    // At most about 12 date labels, whatever the number of days.
    let label_every = days.len().div_ceil(12).max(1);
    for (i, day) in days.iter().enumerate() {
        let x = left + slot * i as f64 + (slot - bar) / 2.0;
        let mut base = 0u64;
        for s in series {
            let v = s.values[i];
            if v == 0 {
                continue;
            }
            let (y1, y0) = (y((base + v) as f64), y(base as f64));
            let _ = write!(
                page,
                "<rect x=\"{x:.1}\" y=\"{y1:.1}\" width=\"{bar:.1}\" height=\"{:.1}\" fill=\"{}\">\
                 <title>{} {}: {} {}</title></rect>",
                (y0 - y1).max(0.5),
                s.color,
                esc(&s.label),
                esc(day),
                grouped(v),
                esc(unit)
            );
            base += v;
        }
        if i % label_every == 0 {
            let _ = write!(
                page,
                "<text x=\"{:.1}\" y=\"{}\" font-size=\"11\" fill=\"#374151\" text-anchor=\"middle\">{}</text>",
                x + bar / 2.0,
                height - bottom + 18.0,
                esc(day)
            );
        }
    }
    let _ = write!(
        page,
        "<line x1=\"{left}\" x2=\"{}\" y1=\"{:.1}\" y2=\"{:.1}\" stroke=\"#9ca3af\"/></svg></div>",
        width - right,
        top + plot_h,
        top + plot_h
    );
}

fn legend<'a>(page: &mut String, items: impl Iterator<Item = (&'a str, &'a str)>) {
    page.push_str("<div class=\"legend\">");
    for (label, color) in items {
        let _ = write!(
            page,
            "<span><i style=\"background:{color}\"></i>{}</span>",
            esc(label)
        );
    }
    page.push_str("</div>");
}

/// Findings by rule, stacked by log.
fn anomalies(page: &mut String, report: &Report) {
    let mut by_rule: BTreeMap<&str, BTreeMap<&str, u64>> = BTreeMap::new();
    for f in &report.findings {
        *by_rule
            .entry(f.rule.as_str())
            .or_default()
            .entry(f.origin.as_str())
            .or_default() += 1;
    }
    let _ = write!(
        page,
        "<section><h2>Anomalies</h2><div class=\"chart\"><h3>Findings by rule ({} in all)</h3>",
        report.findings.len()
    );
    let color_of = |origin: &str| {
        report
            .logs
            .iter()
            .position(|l| l.origin == origin)
            .map_or("#6b7280", |i| PALETTE[i % PALETTE.len()])
    };
    legend(
        page,
        report
            .logs
            .iter()
            .filter(|l| by_rule.values().any(|m| m.contains_key(l.origin.as_str())))
            .map(|l| (l.operator.as_str(), color_of(&l.origin))),
    );
    let row_h = 28.0_f64;
    let (width, left, right) = (1000.0_f64, 240.0_f64, 60.0_f64);
    let height = (by_rule.len().max(1) as f64) * row_h + 12.0;
    let _ = write!(
        page,
        "<svg viewBox=\"0 0 {width} {height}\" width=\"100%\" role=\"img\" aria-label=\"findings by rule\">"
    );
    if by_rule.is_empty() {
        let _ = write!(
            page,
            "<text x=\"{}\" y=\"24\" font-size=\"14\" fill=\"#047857\" text-anchor=\"middle\">No findings</text>",
            width / 2.0
        );
    }
    let max = by_rule
        .values()
        .map(|m| m.values().sum::<u64>())
        .max()
        .unwrap_or(1)
        .max(1);
    let scale = (width - left - right) / max as f64;
    for (row, (rule, origins)) in by_rule.iter().enumerate() {
        let y = 6.0 + row as f64 * row_h;
        let _ = write!(
            page,
            "<text x=\"{}\" y=\"{:.1}\" font-size=\"12\" fill=\"#111827\" text-anchor=\"end\" \
             font-family=\"ui-monospace, Menlo, monospace\">{}</text>",
            left - 10.0,
            y + 15.0,
            esc(rule)
        );
        let mut x = left;
        let mut total = 0;
        for (origin, n) in origins {
            let w = *n as f64 * scale;
            let _ = write!(
                page,
                "<rect x=\"{x:.1}\" y=\"{y:.1}\" width=\"{w:.1}\" height=\"20\" rx=\"3\" fill=\"{}\">\
                 <title>{}: {n}</title></rect>",
                color_of(origin),
                esc(origin)
            );
            x += w;
            total += n;
        }
        let _ = write!(
            page,
            "<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"12\" fill=\"#374151\">{total}</text>",
            x + 6.0,
            y + 15.0
        );
    }
    page.push_str("</svg></div></section>");
}

fn findings_list(page: &mut String, report: &Report) {
    page.push_str("<section><h2>Findings</h2>");
    if report.findings.is_empty() {
        page.push_str("<p class=\"none\">No findings.</p></section>");
        return;
    }
    for f in &report.findings {
        finding(page, report, f);
    }
    page.push_str("</section>");
}

fn finding(page: &mut String, report: &Report, f: &Finding) {
    let operator = |origin: &str| {
        report
            .logs
            .iter()
            .find(|l| l.origin == origin)
            .map_or(String::new(), |l| format!("{} · ", l.operator))
    };
    let mut place = format!("{}{}", operator(&f.origin), f.origin);
    if let Some(index) = f.index {
        let _ = write!(place, " · entry {index}");
    }
    if let Some(size) = f.tree_size {
        let _ = write!(place, " · checkpoint of size {size}");
    }
    let _ = write!(
        page,
        "<div class=\"finding\"><div class=\"head\"><span class=\"rule\">{}</span>\
         <span class=\"where\">{}</span><span class=\"muted\">found by {}</span></div><p>{}</p><dl>",
        esc(&f.rule),
        esc(&place),
        esc(&f.check),
        esc(&f.message)
    );
    for r in &f.related {
        let _ = write!(
            page,
            "<dt>conflicts with</dt><dd>{}{} entry {}</dd>",
            esc(&operator(&r.origin)),
            esc(&r.origin),
            r.index
        );
    }
    for (name, value) in &f.evidence {
        if value.contains('\n') {
            let _ = write!(
                page,
                "<dt>{}</dt><dd><pre>{}</pre></dd>",
                esc(name),
                esc(value)
            );
        } else {
            let _ = write!(page, "<dt>{}</dt><dd>{}</dd>", esc(name), esc(value));
        }
    }
    page.push_str("</dl></div>");
}

fn logs_table(page: &mut String, report: &Report) {
    page.push_str(
        "<section><h2>Logs audited</h2><table><thead><tr><th>operator</th><th>origin</th>\
         <th>kind</th><th class=\"num\">entries</th><th class=\"num\">replayed</th>\
         <th class=\"num\">sessions</th><th class=\"num\">energy</th>\
         <th class=\"num\">checkpoints</th><th class=\"num\">witnessed at</th>\
         <th>cosigners</th></tr></thead><tbody>",
    );
    for l in &report.logs {
        let size = |s: Option<u64>| s.map_or("—".to_owned(), |s| s.to_string());
        let kind = match l.kind {
            crate::LogKind::Own => "own",
            crate::LogKind::Mirror => "mirror",
        };
        let _ = write!(
            page,
            "<tr><td>{}</td><td><code>{}</code><div class=\"muted\"><code>root {}</code></div></td>\
             <td>{kind}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>\
             <td class=\"num\">{}</td><td class=\"num\">{} kWh</td>\
             <td class=\"num\">{} (latest {})</td><td class=\"num\">{}</td><td>{}</td></tr>",
            esc(&l.operator),
            esc(&l.origin),
            esc(&l.root),
            grouped(l.size),
            grouped(l.entries_replayed),
            grouped(l.sessions),
            grouped(l.energy_wh / 1000),
            l.checkpoints,
            size(l.latest_checkpoint_size),
            size(l.witnessed_size),
            if l.cosigners.is_empty() {
                "<span class=\"muted\">none</span>".to_owned()
            } else {
                l.cosigners
                    .iter()
                    .map(|c| format!("<code>{}</code>", esc(c)))
                    .collect::<Vec<_>>()
                    .join("<br>")
            },
        );
    }
    page.push_str("</tbody></table></section>");
}

fn checks_table(page: &mut String, report: &Report) {
    page.push_str(
        "<section><h2>Checks run</h2><table><thead><tr><th>check</th><th>what it does</th>\
         <th class=\"num\">checked</th><th class=\"num\">findings</th></tr></thead><tbody>",
    );
    for c in &report.checks {
        let counts: Vec<String> = c
            .counts
            .iter()
            .map(|(name, n)| format!("{} {}", esc(name), grouped(*n)))
            .collect();
        let counts = if counts.is_empty() {
            String::new()
        } else {
            format!("<br>{}", counts.join(" · "))
        };
        let _ = write!(
            page,
            "<tr><td><code class=\"name\">{}</code></td><td>{}{counts}</td><td class=\"num\">{}</td>\
             <td class=\"num\">{}</td></tr>",
            esc(&c.check),
            esc(&c.description),
            grouped(c.checked),
            c.findings
        );
    }
    page.push_str("</tbody></table></section>");
}

/// A step and an axis top for values up to `max`: 1, 2 or 5 times a power of ten, about five
/// steps.
fn nice_scale(max: u64) -> (u64, u64) {
    if max == 0 {
        return (1, 1);
    }
    let rough = max.div_ceil(5).max(1);
    let mut power = 1u64;
    while power.saturating_mul(10) <= rough {
        power *= 10;
    }
    let step = [1, 2, 5, 10]
        .iter()
        .map(|m| m * power)
        .find(|s| *s >= rough)
        .unwrap_or(power * 10);
    (step, max.div_ceil(step) * step)
}

/// `n` with thin spaces between groups of three digits.
fn grouped(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3 * 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push('\u{2009}');
        }
        out.push(c);
    }
    out
}

/// Escapes text for HTML element content and double-quoted attributes.
fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scales_and_numbers_read_well() {
        assert_eq!(nice_scale(0), (1, 1));
        assert_eq!(nice_scale(7), (2, 8));
        assert_eq!(nice_scale(100), (20, 100));
        assert_eq!(nice_scale(1234), (500, 1500));
        assert_eq!(grouped(1234567), "1\u{2009}234\u{2009}567");
        assert_eq!(grouped(12), "12");
        assert_eq!(esc("<a href=\"x\">&"), "&lt;a href=&quot;x&quot;&gt;&amp;");
    }
}
