//! Settlement checks across logs: the extension point for the rules on settlement entries.
//!
//! The settlement entry types (statements, credit notes, acknowledgements, disputes and their
//! answers) are added to `kvitto-core` by the settlement work, which also adds their rules here:
//! [`is_settlement_entry`] selects the entries the audit keeps for [`check`] while it reads each
//! log, and [`check`] compares them across all logs (a statement on one operator's log, its
//! acknowledgement or dispute on another's). Its findings use the check name
//! [`crate::check_names::SETTLEMENT`] and rule codes listed in [`RULES`].

use kvitto_core::entry::Entry;

use crate::report::Finding;

/// The rule codes [`check`] reports; none yet.
pub const RULES: &[&str] = &[];

/// The settlement entries of one log, in log order.
#[derive(Debug, Clone)]
pub struct LogEntries {
    pub origin: String,
    pub operator: String,
    /// Entry index and decoded entry.
    pub entries: Vec<(u64, Entry)>,
}

/// Whether the audit keeps `entry` for [`check`]: every entry type that the ledger's replay and
/// the other checks do not already cover.
pub fn is_settlement_entry(entry: &Entry) -> bool {
    !matches!(
        entry,
        Entry::ChargerRegistered(_)
            | Entry::ChargerRevoked(_)
            | Entry::SessionClosed(_)
            | Entry::TariffPublished(_)
            | Entry::ChargerKeyCloned(_)
            | Entry::EvidenceDisclosed(_)
    )
}

/// Checks the settlement entries of all logs against each other. It returns no findings until
/// the settlement rules are added.
pub fn check(logs: &[LogEntries]) -> Vec<Finding> {
    let _ = logs;
    Vec::new()
}
