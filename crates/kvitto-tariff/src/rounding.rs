//! The rounding rule: how exact prices become amounts in the currency's minor unit.
//!
//! # The rounding rule
//!
//! OCPI leaves rounding to law and contract ("The OCPI specification stays out of these
//! matters"), so the rule is an explicit input, [`RoundingRule`], agreed per contract:
//!
//! * `minor_unit_digits`: decimals of the currency's minor unit (EUR 2, JPY 0, KWD 3); taken from
//!   ISO 4217 by [`RoundingRule::for_currency`].
//! * `mode`: [`RoundingMode::HalfUp`] (ties away from zero: 0.125 → 0.13, −0.125 → −0.13) or
//!   [`RoundingMode::HalfEven`] (banker's: 0.125 → 0.12).
//! * `scope`: [`RoundingScope::Totals`] rounds only the totals, each from its exact value;
//!   [`RoundingScope::PerLine`] rounds every breakdown line and adds the rounded lines.
//!
//! **Default** ([`RoundingRule::for_currency`]): the currency's ISO 4217 digits, `HalfUp`,
//! `Totals`. Everything up to the totals is computed exactly (amounts are carried scaled by
//! 360 000 000, so even sums of per-hour prices over milliseconds are exact): billed volumes after
//! `step_size`, times unit prices, times `1 + vat/100`, summed, clamped to
//! `min_price`/`max_price`; only then is each total rounded, once, from its exact value.
//!
//! This default is the one that reproduces the figures of the OCPI 2.2.1 examples. The complex
//! tariff example lists incl.-VAT lines of 2.875 + 3.30 + 4.125 and a total of 10.30: rounding
//! the lines first would give 2.88 + 3.30 + 4.13 = 10.31. The `tariff_alt_url` example bills
//! 5.125 as 5.13, which needs half-up (half-even gives 5.12). The specification's figures are
//! otherwise unrounded where they happen to need more digits (its 13.861 incl. VAT): the engine
//! always rounds totals to the minor unit, so a figure like that is reported with two decimals.
//!
//! A consequence of rounding totals independently: the rounded sub-totals (fixed, energy, time,
//! parking, reservation) need not add up to the rounded `total_cost`. Contracts that require
//! that use `PerLine`.

use std::fmt;

use rust_decimal::{Decimal, RoundingStrategy};
use serde::Serialize;

/// How ties are broken when rounding to the minor unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum RoundingMode {
    /// Ties away from zero (commercial rounding).
    HalfUp,
    /// Ties to the even digit (banker's rounding).
    HalfEven,
}

/// Where rounding happens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum RoundingScope {
    /// Only totals are rounded, each from its exact value.
    Totals,
    /// Every breakdown line is rounded; totals are sums of rounded lines.
    PerLine,
}

/// The rounding rule of a contract; see the [module documentation](self).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct RoundingRule {
    /// Decimals of the currency's minor unit.
    pub minor_unit_digits: u32,
    /// Tie-breaking.
    pub mode: RoundingMode,
    /// Per line or totals only.
    pub scope: RoundingScope,
}

/// A currency code that is not three upper-case letters.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not an ISO 4217 currency code")]
pub struct UnknownCurrency(pub String);

/// ISO 4217 currencies whose minor unit is not two digits.
const NON_TWO_DIGIT_CURRENCIES: &[(&str, u32)] = &[
    ("BHD", 3),
    ("BIF", 0),
    ("CLF", 4),
    ("CLP", 0),
    ("DJF", 0),
    ("GNF", 0),
    ("IQD", 3),
    ("ISK", 0),
    ("JOD", 3),
    ("JPY", 0),
    ("KMF", 0),
    ("KRW", 0),
    ("KWD", 3),
    ("LYD", 3),
    ("OMR", 3),
    ("PYG", 0),
    ("RWF", 0),
    ("TND", 3),
    ("UGX", 0),
    ("UYI", 0),
    ("UYW", 4),
    ("VND", 0),
    ("VUV", 0),
    ("XAF", 0),
    ("XOF", 0),
    ("XPF", 0),
];

/// The number of minor-unit digits of an ISO 4217 currency (2 unless listed otherwise).
pub fn minor_unit_digits(currency: &str) -> Result<u32, UnknownCurrency> {
    if currency.len() != 3 || !currency.bytes().all(|b| b.is_ascii_uppercase()) {
        return Err(UnknownCurrency(currency.to_owned()));
    }
    Ok(NON_TWO_DIGIT_CURRENCIES
        .iter()
        .find(|(code, _)| *code == currency)
        .map_or(2, |(_, digits)| *digits))
}

impl RoundingRule {
    /// The documented default for a currency: its ISO 4217 digits, half-up, totals only.
    pub fn for_currency(currency: &str) -> Result<RoundingRule, UnknownCurrency> {
        Ok(RoundingRule {
            minor_unit_digits: minor_unit_digits(currency)?,
            mode: RoundingMode::HalfUp,
            scope: RoundingScope::Totals,
        })
    }

    /// Rounds an amount to the minor unit.
    pub fn round(&self, amount: Decimal) -> Decimal {
        let strategy = match self.mode {
            RoundingMode::HalfUp => RoundingStrategy::MidpointAwayFromZero,
            RoundingMode::HalfEven => RoundingStrategy::MidpointNearestEven,
        };
        let mut rounded = amount.round_dp_with_strategy(self.minor_unit_digits, strategy);
        // Keep the full number of digits, so 5 EUR prints as 5.00.
        rounded.rescale(self.minor_unit_digits);
        rounded
    }

    /// An amount already rounded by [`RoundingRule::round`] as an integer of minor units.
    pub fn to_minor_units(&self, rounded: Decimal) -> Option<i64> {
        use rust_decimal::prelude::ToPrimitive;
        let factor = Decimal::from(10i64.checked_pow(self.minor_unit_digits)?);
        rounded.checked_mul(factor)?.trunc().to_i64()
    }
}

impl fmt::Display for RoundingRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mode = match self.mode {
            RoundingMode::HalfUp => "half-up",
            RoundingMode::HalfEven => "half-even",
        };
        let scope = match self.scope {
            RoundingScope::Totals => "totals",
            RoundingScope::PerLine => "each line",
        };
        write!(f, "{} decimals, {mode}, on {scope}", self.minor_unit_digits)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    #[test]
    fn currencies_have_their_iso_digits() {
        assert_eq!(minor_unit_digits("EUR"), Ok(2));
        assert_eq!(minor_unit_digits("JPY"), Ok(0));
        assert_eq!(minor_unit_digits("KWD"), Ok(3));
        assert!(minor_unit_digits("eur").is_err());
    }

    #[test]
    fn half_up_and_half_even_differ_on_ties() {
        let mut rule = RoundingRule::for_currency("EUR").unwrap();
        assert_eq!(rule.round(dec!(5.125)).to_string(), "5.13");
        assert_eq!(rule.round(dec!(-5.125)).to_string(), "-5.13");
        assert_eq!(rule.round(dec!(5)).to_string(), "5.00");
        rule.mode = RoundingMode::HalfEven;
        assert_eq!(rule.round(dec!(5.125)).to_string(), "5.12");
        assert_eq!(rule.to_minor_units(dec!(5.12)), Some(512));
    }
}
