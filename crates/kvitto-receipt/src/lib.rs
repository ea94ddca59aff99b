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
mod text;
mod verify;

pub use format::{
    EvidenceBundle, LogRef, Openings, ProvenEntry, Receipt, Summary, TokenRef, EVIDENCE_FORMAT,
    FORMAT,
};
pub use text::render_text;
pub use verify::{minor_totals, time_text, verify, Check, CheckName, Outcome, Report, Trust};
