//! Readings billed twice: the same (charger key, counter), or the same readings digest, in two
//! session records of any logs. Each log's replay accepts a session whose readings another log
//! also billed (a reading is signed for the network, not for a log), so only this check across
//! logs finds an operator that registered another operator's charger key and re-ingested its
//! readings.

use std::collections::{BTreeSet, HashMap};

use kvitto_core::keys::KeyId;

use crate::check_names::READING_BILLED_TWICE as CHECK;
use crate::replay::{RecordSummary, Scan};
use crate::report::Finding;
use crate::rules::READING_BILLED_TWICE;
use crate::source::{LogInput, SourceError};

/// A record by log position and record position in that log's scan.
type At = (usize, usize);

/// One finding per pair of records that share a counter of one charger key or a readings
/// digest; the later record in audit order (logs in input order, then entry index) is the one
/// the finding is about, the earlier one its related entry.
pub(crate) fn check(
    logs: &[LogInput<'_>],
    scans: &[Scan],
) -> Result<Vec<Finding>, (String, SourceError)> {
    let record = |(log, i): At| -> &RecordSummary { &scans[log].records[i] };
    let mut by_key: HashMap<KeyId, Vec<At>> = HashMap::new();
    let mut by_digest: HashMap<[u8; 32], Vec<At>> = HashMap::new();
    for (log, scan) in scans.iter().enumerate() {
        for (i, r) in scan.records.iter().enumerate() {
            by_key.entry(r.key_id).or_default().push((log, i));
            by_digest
                .entry(r.readings_digest)
                .or_default()
                .push((log, i));
        }
    }
    // Pairs in audit order (earlier, later).
    let mut pairs: BTreeSet<(At, At)> = BTreeSet::new();
    for records in by_key.values_mut() {
        records.sort_by_key(|&at| (record(at).first_counter, at));
        // Records whose counter range may still overlap the next one's.
        let mut open: Vec<At> = Vec::new();
        for &at in records.iter() {
            let r = record(at);
            open.retain(|&o| record(o).last_counter >= r.first_counter);
            for &o in &open {
                pairs.insert((o.min(at), o.max(at)));
            }
            if r.last_counter >= r.first_counter {
                open.push(at);
            }
        }
    }
    for records in by_digest.values() {
        for (n, &a) in records.iter().enumerate() {
            for &b in &records[n + 1..] {
                pairs.insert((a.min(b), a.max(b)));
            }
        }
    }
    let mut findings = Vec::with_capacity(pairs.len());
    for (earlier, later) in pairs {
        findings.push(finding(logs, scans, earlier, later)?);
    }
    Ok(findings)
}

fn finding(
    logs: &[LogInput<'_>],
    scans: &[Scan],
    earlier: At,
    later: At,
) -> Result<Finding, (String, SourceError)> {
    let (a_log, b_log) = (&logs[earlier.0], &logs[later.0]);
    let a = &scans[earlier.0].records[earlier.1];
    let b = &scans[later.0].records[later.1];
    let same_key = a.key_id == b.key_id;
    let low = a.first_counter.max(b.first_counter);
    let high = a.last_counter.min(b.last_counter);
    let overlap = same_key && low <= high;
    let same_digest = a.readings_digest == b.readings_digest;
    let where_ = |log: &LogInput<'_>, r: &RecordSummary| {
        if log.origin == b_log.origin && log.origin == a_log.origin {
            format!("entry {}", r.index)
        } else {
            format!("{} entry {}", log.origin, r.index)
        }
    };
    let message = if overlap {
        format!(
            "charger key {} counters {low}..={high} are billed in session {} ({}) and in session {} ({})",
            b.key_id,
            b.session,
            where_(b_log, b),
            a.session,
            where_(a_log, a)
        )
    } else {
        format!(
            "the session records {} and {} bind the same readings digest",
            where_(b_log, b),
            where_(a_log, a)
        )
    };
    let mut finding = Finding::new(CHECK, READING_BILLED_TWICE, &b_log.origin, message)
        .at(b.index)
        .related(&a_log.origin, a.index)
        .with("charger_key_id", b.key_id)
        .with("session", b.session)
        .with("other_session", a.session)
        .with("same_readings_digest", same_digest)
        .with("readings_digest", hex::encode(b.readings_digest));
    if !same_key {
        finding = finding.with("other_charger_key_id", a.key_id);
    }
    if overlap {
        finding = finding
            .with("counters", format!("{low}..={high}"))
            .with("readings", high - low + 1);
        // Whether both logs hold the very same signed reading at the first shared counter:
        // identical readings were ingested twice; different ones mean the key signed two
        // readings with one counter (cloned).
        let first = |log: &LogInput<'_>| {
            log.source
                .readings(&b.key_id, low, low)
                .map(|r| r.and_then(|r| r.first().map(|r| r.hash())))
                .map_err(|e| (log.origin.clone(), e))
        };
        let same = match (first(a_log)?, first(b_log)?) {
            (Some(x), Some(y)) if x == y => "identical signed readings",
            (Some(_), Some(_)) => "different signed readings under one counter (a cloned key)",
            _ => "not held by this node",
        };
        finding = finding.with("first_shared_reading", same);
    }
    // Where each log registered the charger key: a key on two logs is how one operator
    // bills another's charger.
    for (name, at, key_id) in [
        ("registered", later, b.key_id),
        ("other_registered", earlier, a.key_id),
    ] {
        if let Some((index, evse_id)) = scans[at.0].registrations.get(&key_id) {
            finding = finding.with(
                name,
                format!("{} entry {index}, EVSE {evse_id}", logs[at.0].origin),
            );
        }
    }
    Ok(finding)
}
