//! The one error type of this crate.

/// Why a commitment, proof, opening or bundle was refused.
///
/// Verification failures do not say which equation failed: a forger learns nothing from them
/// beyond "rejected".
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PrivacyError {
    /// Bytes that do not decode to the named type.
    #[error("malformed {0}")]
    Malformed(&'static str),
    /// A session context field out of bounds.
    #[error("invalid session context: {0}")]
    InvalidContext(&'static str),
    /// An opening that does not open the commitment it was given with.
    #[error("the opening does not match the commitment")]
    OpeningMismatch,
    /// A sum of commitments that does not open to the claimed total.
    #[error("the commitments do not sum to the claimed total")]
    TotalMismatch,
    /// A range proof that does not verify for these commitments and this context.
    #[error("range proof rejected")]
    RangeProofRejected,
    /// A total proof that does not verify for these commitments, total and statement.
    #[error("total proof rejected")]
    TotalProofRejected,
    /// An ownership proof that does not verify for this commitment, session and challenge.
    #[error("ownership proof rejected")]
    OwnershipProofRejected,
    /// A possession proof that does not verify for this driver and challenge.
    #[error("possession proof rejected")]
    PossessionProofRejected,
    /// An evidence bundle that does not decrypt under this key and session context.
    #[error("evidence bundle does not open under this key and session")]
    EvidenceRejected,
    /// A count outside what the operation accepts.
    #[error("{what}: {count} is outside 1..={max}")]
    Count {
        what: &'static str,
        count: usize,
        max: usize,
    },
    /// Input longer than its limit.
    #[error("{what} is {len} bytes, more than {max}")]
    TooLong {
        what: &'static str,
        len: usize,
        max: usize,
    },
    /// Two lists that must pair up have different lengths.
    #[error("{what}: {left} and {right} items do not pair up")]
    LengthMismatch {
        what: &'static str,
        left: usize,
        right: usize,
    },
    /// A sum of amounts that does not fit in `u64` minor units.
    #[error("amount sum overflows u64 minor units")]
    AmountOverflow,
    /// The Bulletproofs prover refused its input (it cannot for inputs this crate builds).
    #[error("range prover failed: {0}")]
    Prover(String),
}

/// Refuses two lists that must pair up item by item (`left[i]` goes with `right[i]`) but differ
/// in length, naming them as `what`.
pub(crate) fn check_paired<L, R>(
    what: &'static str,
    left: &[L],
    right: &[R],
) -> Result<(), PrivacyError> {
    if left.len() == right.len() {
        Ok(())
    } else {
        Err(PrivacyError::LengthMismatch {
            what,
            left: left.len(),
            right: right.len(),
        })
    }
}
