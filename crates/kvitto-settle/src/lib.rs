//! kvitto's multilateral settlement: what turns a period's acknowledged settlement statements
//! into one net position per operator and a short list of transfers that settles them all.
//!
//! - [`Obligation`]: what one acknowledged statement says: the eMSP owes the CPO
//!   `amount_minor` (net of credit notes) in one currency, with the [`StatementRef`] that names
//!   the statement on the CPO's log.
//! - [`net`]: positions per currency and party (creditors positive) and a transfer list made by
//!   a deterministic greedy rule (largest debtor pays largest creditor; ties by party id), at
//!   most `n − 1` transfers for `n` parties with a non-zero position.
//! - [`Netting::check`]: anyone holding the obligations recomputes the positions and checks the
//!   transfers settle them exactly. Any settling transfer list passes, not only the greedy one.
//! - [`export`]: CSV of obligations, positions and transfers; JSON of the whole netting; the
//!   OCPI 2.3 invoice reconciliation record of one statement.
//!
//! It is pure: no IO, no clock, no randomness. It does not read the log, decide which statements
//! are acknowledged, or verify statement totals against amount commitments (the ledger and
//! `kvitto-privacy`'s total proof do that); it takes the obligations it is given. The algorithm,
//! the check and the export formats are in `specs/settlement-netting.md`.

pub mod export;
pub mod limits;

mod error;
mod netting;
mod obligation;

pub use error::SettleError;
pub use netting::{net, CurrencyNetting, Netting, Position, Transfer};
pub use obligation::{Obligation, StatementRef};
