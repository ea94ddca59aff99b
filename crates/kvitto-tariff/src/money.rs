//! Exact money arithmetic.
//!
//! A time-priced line costs `price_per_hour × milliseconds / 3_600_000`, which is rarely a finite
//! decimal, and adding several such quotients can land a sum a hair below a rounding tie that the
//! true sum sits on. So amounts are carried as [`Exact`]: the amount multiplied by
//! [`SCALE`] = 360 000 000 (= 3 600 000 ms per hour × 100 for VAT percentages). Every line's
//! scaled value is a product of decimals, hence exact; sums of them are exact; clamping compares
//! exact values; and the single division by `SCALE` happens once per total, just before rounding.
//! A quotient that is a tie terminates and is therefore computed exactly by `rust_decimal`.

use rust_decimal::Decimal;

/// Amounts are stored multiplied by this.
pub(crate) const SCALE: i64 = 360_000_000;

/// Scale factor for a `FLAT` line (volume is 1).
pub(crate) const FLAT_FACTOR: i64 = 3_600_000;
/// Scale factor for an `ENERGY` line whose volume is in Wh and price per kWh.
pub(crate) const ENERGY_WH_FACTOR: i64 = 3_600;
/// Scale factor for a time line whose volume is in ms and price per hour.
pub(crate) const TIME_MS_FACTOR: i64 = 1;

/// A computation left rust_decimal's range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Overflow;

/// An exact amount of money: the amount × [`SCALE`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Exact(Decimal);

impl Exact {
    pub(crate) const ZERO: Exact = Exact(Decimal::ZERO);

    pub(crate) fn from_amount(amount: Decimal) -> Result<Exact, Overflow> {
        amount
            .checked_mul(Decimal::from(SCALE))
            .map(Exact)
            .ok_or(Overflow)
    }

    /// The excl. and incl. VAT value of `volume` units at `price`, where `factor` converts the
    /// volume's unit to the price's unit times `SCALE / 100`.
    ///
    /// `vat: None` means VAT is not applicable, so the amount including VAT equals the amount
    /// excluding it.
    pub(crate) fn line(
        price: Decimal,
        volume: Decimal,
        factor: i64,
        vat: Option<Decimal>,
    ) -> Result<(Exact, Exact), Overflow> {
        let base = price
            .checked_mul(volume)
            .and_then(|v| v.checked_mul(Decimal::from(factor)))
            .ok_or(Overflow)?;
        let excl = base.checked_mul(Decimal::ONE_HUNDRED).ok_or(Overflow)?;
        let incl = match vat {
            Some(vat) => Decimal::ONE_HUNDRED
                .checked_add(vat)
                .and_then(|rate| base.checked_mul(rate))
                .ok_or(Overflow)?,
            None => excl,
        };
        Ok((Exact(excl), Exact(incl)))
    }

    pub(crate) fn checked_add(self, other: Exact) -> Result<Exact, Overflow> {
        self.0.checked_add(other.0).map(Exact).ok_or(Overflow)
    }

    pub(crate) fn checked_sub(self, other: Exact) -> Result<Exact, Overflow> {
        self.0.checked_sub(other.0).map(Exact).ok_or(Overflow)
    }

    /// The amount, divided out once (exact whenever the true value is a finite decimal of at most
    /// 28 significant digits).
    pub(crate) fn to_amount(self) -> Decimal {
        // Cannot fail: SCALE is not zero and dividing by it only shrinks the value.
        self.0
            .checked_div(Decimal::from(SCALE))
            .unwrap_or(Decimal::ZERO)
            .normalize()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    #[test]
    fn thirds_of_an_hour_add_up_exactly() {
        // 20 minutes at 0.015/h three times is exactly 0.015, a tie at two decimals.
        let (third, _) = Exact::line(dec!(0.015), dec!(1_200_000), TIME_MS_FACTOR, None).unwrap();
        let sum = third
            .checked_add(third)
            .unwrap()
            .checked_add(third)
            .unwrap();
        assert_eq!(sum.to_amount(), dec!(0.015));
    }

    #[test]
    fn vat_none_equals_excl() {
        let (excl, incl) = Exact::line(dec!(0.25), dec!(1000), ENERGY_WH_FACTOR, None).unwrap();
        assert_eq!(excl, incl);
        let (_, incl) =
            Exact::line(dec!(0.25), dec!(1000), ENERGY_WH_FACTOR, Some(dec!(10))).unwrap();
        assert_eq!(incl.to_amount(), dec!(0.275));
    }
}
