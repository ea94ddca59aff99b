use crate::obligation::StatementRef;

/// Why a netting could not be made, or why a netting does not check against its obligations.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SettleError {
    // Bad input.
    #[error("statement {0} appears in more than one obligation")]
    DuplicateStatement(StatementRef),
    #[error("statement {statement}: {party} cannot owe itself")]
    SelfObligation {
        statement: StatementRef,
        party: String,
    },
    #[error("statement {statement}: currency {currency:?} is not three upper-case ASCII letters (ISO 4217)")]
    BadCurrency {
        statement: StatementRef,
        currency: String,
    },
    #[error("statement {statement}: party id {party:?} is not 1 to 64 ASCII letters, digits, '*', '-', '_' or '.' starting with a letter or digit")]
    BadParty {
        statement: StatementRef,
        party: String,
    },
    #[error(
        "statement origin {origin:?} is empty, longer than 256 bytes or has control characters"
    )]
    BadOrigin { origin: String },
    #[error("period label {period:?} is empty, longer than 256 bytes or has control characters")]
    BadPeriod { period: String },
    #[error("{count} obligations, at most {max} allowed")]
    TooManyObligations { count: usize, max: usize },
    #[error("{currency}: the position of {party} does not fit in i64 minor units")]
    Overflow { currency: String, party: String },

    // Findings of `Netting::check`.
    #[error("netting is for period {found:?}, expected {expected:?}")]
    PeriodMismatch { expected: String, found: String },
    #[error("netting has currency {currency} but no obligation is in it")]
    UnexpectedCurrency { currency: String },
    #[error("netting lacks currency {currency}, which the obligations use")]
    MissingCurrency { currency: String },
    #[error("currencies are not listed once each in ascending order at {currency}")]
    CurrencyOrder { currency: String },
    #[error("{currency}: positions are not listed once each in ascending party order at {party}")]
    PositionOrder { currency: String, party: String },
    #[error("{currency}: no position for {party}, whose obligations net to {expected_minor}")]
    MissingPosition {
        currency: String,
        party: String,
        expected_minor: i64,
    },
    #[error("{currency}: position for {party}, who is in no obligation")]
    UnexpectedPosition { currency: String, party: String },
    #[error(
        "{currency}: position of {party} is {found_minor}, its obligations net to {expected_minor}"
    )]
    PositionMismatch {
        currency: String,
        party: String,
        expected_minor: i64,
        found_minor: i64,
    },
    #[error("{currency}: positions sum to {sum_minor}, not zero")]
    PositionsDoNotSumToZero { currency: String, sum_minor: i128 },
    #[error(
        "{currency}: transfer {index} moves {amount_minor}; a transfer moves a positive amount"
    )]
    NonPositiveTransfer {
        currency: String,
        index: usize,
        amount_minor: i64,
    },
    #[error("{currency}: transfer {index} is from {party} to itself")]
    SelfTransfer {
        currency: String,
        index: usize,
        party: String,
    },
    #[error("{currency}: transfer {index} involves {party}, who has no position")]
    TransferUnknownParty {
        currency: String,
        index: usize,
        party: String,
    },
    #[error("{currency}: transfers leave {party} at {residual_minor} instead of settling its position of {position_minor}")]
    Unsettled {
        currency: String,
        party: String,
        position_minor: i64,
        residual_minor: i128,
    },
    #[error("{currency}: {count} transfers for {parties} parties with a non-zero position; at most {max}")]
    TooManyTransfers {
        currency: String,
        count: usize,
        parties: usize,
        max: usize,
    },

    // Exports.
    #[error("input of {len} bytes, at most {max} accepted")]
    TooLong { len: usize, max: usize },
    #[error("csv: {0}")]
    Csv(String),
    #[error("csv row {row}: {reason}")]
    CsvRow { row: u64, reason: String },
    #[error("json: {0}")]
    Json(String),
    #[error("ocpi record: {0}")]
    Ocpi(String),
}
