//! Daily statistics from the public session records: what anyone reading the logs can count.

use std::collections::BTreeMap;

use crate::replay::Scan;
use crate::report::DailyStats;
use crate::source::LogInput;

/// Sessions and energy per UTC day (of each record's hour-rounded start) and log, ordered by
/// day, then by log in input order.
pub(crate) fn daily(logs: &[LogInput<'_>], scans: &[Scan]) -> Vec<DailyStats> {
    let mut days: BTreeMap<(String, usize), (u64, u64)> = BTreeMap::new();
    for (position, scan) in scans.iter().enumerate() {
        for record in &scan.records {
            let (sessions, energy_wh) = days.entry((day(record.start_ms), position)).or_default();
            *sessions += 1;
            *energy_wh = energy_wh.saturating_add(record.energy_wh);
        }
    }
    days.into_iter()
        .map(|((date, position), (sessions, energy_wh))| DailyStats {
            date,
            operator: logs[position].operator.clone(),
            origin: logs[position].origin.clone(),
            sessions,
            energy_wh,
        })
        .collect()
}

/// The UTC day of `ms`, `YYYY-MM-DD`.
pub(crate) fn day(ms: u64) -> String {
    i64::try_from(ms)
        .ok()
        .and_then(chrono::DateTime::from_timestamp_millis)
        .map(|t| t.format("%Y-%m-%d").to_string())
        .unwrap_or_else(|| "invalid".to_owned())
}
