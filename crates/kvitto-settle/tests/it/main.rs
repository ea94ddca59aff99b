//! kvitto-settle's tests: netting known cases, refusals, tampering found by the check, exports,
//! and properties over random obligations.

// Tests may unwrap: a failure is the finding.
#![allow(clippy::unwrap_used)]

mod export;
mod netting;
mod props;

use kvitto_settle::{Obligation, StatementRef};

pub const A: &str = "SE*AAA";
pub const B: &str = "SE*BBB";
pub const C: &str = "SE*CCC";

/// An obligation of statement `index` on `cpo`'s log: `emsp` owes `cpo` `amount_minor`.
pub fn owes(index: u64, emsp: &str, cpo: &str, currency: &str, amount_minor: i64) -> Obligation {
    Obligation {
        statement: StatementRef {
            origin: format!("kvitto/test/{}", cpo.to_ascii_lowercase().replace('*', "-")),
            index,
        },
        cpo: cpo.to_owned(),
        emsp: emsp.to_owned(),
        currency: currency.to_owned(),
        amount_minor,
    }
}

/// The three-operator case of `specs/settlement-netting.md`: every operator is both CPO and
/// eMSP of the others.
pub fn three_operators() -> Vec<Obligation> {
    vec![
        owes(1, B, A, "SEK", 100),
        owes(2, C, A, "SEK", 50),
        owes(1, C, B, "SEK", 80),
        owes(2, A, B, "SEK", 30),
    ]
}
