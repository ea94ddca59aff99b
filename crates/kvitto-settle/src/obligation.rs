use std::fmt;

use serde::{Deserialize, Serialize};

use crate::error::SettleError;
use crate::limits;

/// Names a settlement statement on a CPO's log: the log's origin and the entry's index.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatementRef {
    pub origin: String,
    pub index: u64,
}

impl fmt::Display for StatementRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}#{}", self.origin, self.index)
    }
}

/// What one acknowledged settlement statement says: `emsp` owes `cpo` `amount_minor` in
/// `currency`, the sessions' total net of credit notes. The amount may be zero or negative
/// (credits exceeding charges): then the CPO owes the eMSP.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Obligation {
    pub statement: StatementRef,
    /// The creditor: the CPO that wrote the statement, e.g. `SE*N01`.
    pub cpo: String,
    /// The debtor: the eMSP the statement is addressed to.
    pub emsp: String,
    /// ISO 4217 alphabetic code.
    pub currency: String,
    pub amount_minor: i64,
}

impl Obligation {
    /// Checks everything about one obligation that does not depend on the others.
    pub(crate) fn validate(&self) -> Result<(), SettleError> {
        if !is_text(&self.statement.origin, limits::ORIGIN_LEN_MAX) {
            return Err(SettleError::BadOrigin {
                origin: self.statement.origin.clone(),
            });
        }
        for party in [&self.cpo, &self.emsp] {
            if !is_party_id(party) {
                return Err(SettleError::BadParty {
                    statement: self.statement.clone(),
                    party: party.clone(),
                });
            }
        }
        if !is_currency(&self.currency) {
            return Err(SettleError::BadCurrency {
                statement: self.statement.clone(),
                currency: self.currency.clone(),
            });
        }
        if self.cpo == self.emsp {
            return Err(SettleError::SelfObligation {
                statement: self.statement.clone(),
                party: self.cpo.clone(),
            });
        }
        Ok(())
    }
}

/// Three upper-case ASCII letters. Whether the code is assigned by ISO 4217 is not checked: the
/// list changes, and an unknown code nets like any other.
pub(crate) fn is_currency(code: &str) -> bool {
    code.len() == 3 && code.bytes().all(|b| b.is_ascii_uppercase())
}

/// 1 to 64 bytes of ASCII letters, digits, `*`, `-`, `_`, `.`, starting with a letter or digit.
/// OCPI party ids (`SE*N01`) fit; the first-character rule keeps CSV cells from being read as
/// spreadsheet formulas (`=`, `+`, `-`, `@`).
pub(crate) fn is_party_id(party: &str) -> bool {
    let bytes = party.as_bytes();
    match bytes.first() {
        Some(first) if first.is_ascii_alphanumeric() => {}
        _ => return false,
    }
    bytes.len() <= limits::PARTY_ID_LEN_MAX
        && bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'*' | b'-' | b'_' | b'.'))
}

/// Non-empty, at most `max` bytes, no control characters.
pub(crate) fn is_text(text: &str, max: usize) -> bool {
    !text.is_empty() && text.len() <= max && !text.chars().any(char::is_control)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn party_ids() {
        for good in ["SE*N01", "SEN01", "a", "DE-ABC_1.x"] {
            assert!(is_party_id(good), "{good}");
        }
        let long = "A".repeat(65);
        for bad in [
            "",
            "=SUM(A1)",
            "-1",
            "*SE",
            "SE N01",
            "SE,N01",
            "Ö",
            long.as_str(),
        ] {
            assert!(!is_party_id(bad), "{bad}");
        }
    }

    #[test]
    fn currencies() {
        assert!(is_currency("SEK"));
        for bad in ["sek", "SE", "SEKK", "S3K", "", "ÅÄÖ"] {
            assert!(!is_currency(bad), "{bad}");
        }
    }
}
