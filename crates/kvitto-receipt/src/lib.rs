//! A driver's receipt: one self-contained JSON file that proves what a charging session was,
//! what it cost, that it is on the operator's log, and that it is the driver's.
//!
//! - [`Receipt`]: the file format (`specs/receipts.md`). The node builds it from its store;
//!   this crate only defines it.
//! - [`verify`]: the complete offline verifier. It recomputes everything it can from the signed
//!   readings and the logged entries, and reports one [`Check`] per property, in a fixed order,
//!   each passed, failed (with the reason) or skipped (because a check it depends on failed).
//! - [`render_text`]: the receipt in plain words for a person.
//!
//! Pure: no IO, no clock. The only randomness is the range-proof verifier's, from the caller.
//! The trust policy comes from the caller: a receipt carries its network's policy for display,
//! but checking a receipt against the policy inside it proves only that it is self-consistent,
//! and [`Trust::Embedded`] says so in its check.

mod format;
mod ownership;
mod text;
mod verify;

pub use format::{
    EvidenceBundle, LogRef, Openings, ProvenEntry, Receipt, Summary, TokenRef, EVIDENCE_FORMAT,
    FORMAT,
};
pub use text::render_text;

/// The message a driver's possession proof covers to fetch receipts from the node whose log is
/// `origin`: `blake3_derive(HASH_RECEIPT_FETCH, u16 len(origin) ‖ origin ‖ challenge)`. Binding
/// the origin keeps a node that relays another node's challenge from using the driver's proof.
pub fn fetch_binding(origin: &str, challenge: &[u8]) -> [u8; 32] {
    let len = u16::try_from(origin.len())
        .unwrap_or(u16::MAX)
        .to_be_bytes();
    kvitto_core::domain::digest(
        kvitto_core::domain::HASH_RECEIPT_FETCH,
        &[&len, origin.as_bytes(), challenge],
    )
}
pub use ownership::{prove_ownership_of, verify_ownership_of};
pub use verify::{minor_totals, time_text, verify, Check, CheckName, Outcome, Report, Trust};

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rand_core::OsRng;

    fn assert_rejected(report: &Report) {
        assert_eq!(
            report.checks.len(),
            14,
            "every check is reported: {report:?}"
        );
        assert!(!report.all_passed());
        assert_eq!(report.checks[0].name, CheckName::Format);
        assert_eq!(report.checks[0].outcome, Outcome::Fail);
    }

    proptest! {
        /// Any bytes: a report with every check, the format failed, never a panic.
        #[test]
        fn arbitrary_bytes_are_rejected_without_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
            assert_rejected(&verify(&bytes, Trust::Embedded, &mut OsRng));
        }

        /// A well-formed receipt skeleton with arbitrary field text: rejected, never a panic.
        #[test]
        fn arbitrary_fields_are_rejected_without_panic(
            text in "[0-9a-f]{0,200}",
            index in any::<u64>(),
            readings in proptest::collection::vec("[0-9a-f]{0,400}", 0..4),
        ) {
            let proven = ProvenEntry { index, entry: text.clone(), proof: vec![text.clone()] };
            let receipt = Receipt {
                format: FORMAT.into(),
                summary: Summary {
                    operator: text.clone(), evse_id: text.clone(), start: text.clone(), stop: text.clone(),
                    energy_kwh: text.clone(), currency: None, total_excl_vat: None, total_incl_vat: None,
                },
                log: LogRef { origin: format!("kvitto/n/{text}"), key: text.clone() },
                checkpoint: text.clone(),
                policy: text.clone(),
                session: proven.clone(),
                charger: proven.clone(),
                tariff: Some(proven),
                readings,
                time_zone: "Europe/Stockholm".into(),
                breakdown: None,
                openings: Openings { amount_excl_vat: text.clone(), amount_incl_vat: text.clone(), identity: text.clone() },
                driver: text,
            };
            assert_rejected(&verify(receipt.to_json().as_bytes(), Trust::Embedded, &mut OsRng));
        }
    }
}
