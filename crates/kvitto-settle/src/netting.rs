//! Netting: positions from obligations, transfers from positions, and the check.

use std::cmp::{Ordering, Reverse};
use std::collections::{BTreeMap, BinaryHeap, HashSet};

use serde::{Deserialize, Serialize};

use crate::error::SettleError;
use crate::limits;
use crate::obligation::{is_text, Obligation};

/// The outcome of netting one period: per currency, every party's net position and the
/// transfers that settle them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Netting {
    /// The settlement period the obligations belong to, e.g. `2026-11`.
    pub period: String,
    /// One entry per currency that occurs in the obligations, in ascending byte order of the
    /// currency code.
    pub currencies: Vec<CurrencyNetting>,
}

/// The netting of one currency.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CurrencyNetting {
    /// ISO 4217 alphabetic code.
    pub currency: String,
    /// Every party named by an obligation in this currency, zero positions included, in
    /// ascending byte order of the party id.
    pub positions: Vec<Position>,
    /// In the order the greedy rule produces them (`specs/settlement-netting.md`).
    pub transfers: Vec<Transfer>,
}

/// A party's net position in one currency: what it is owed minus what it owes. Creditors are
/// positive, debtors negative.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Position {
    pub party: String,
    pub net_minor: i64,
}

/// `from` pays `to` `amount_minor` (always positive) in the enclosing currency.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Transfer {
    pub from: String,
    pub to: String,
    pub amount_minor: i64,
}

/// Nets `obligations` (the acknowledged statements of period `period`) into positions and
/// transfers, each currency on its own.
///
/// Refuses the whole set if any obligation is malformed (origin, party ids, currency), owed by a
/// party to itself, or names a statement another obligation names, and if any position does not
/// fit in `i64`. The result is the same for every order of `obligations`.
pub fn net(period: &str, obligations: &[Obligation]) -> Result<Netting, SettleError> {
    check_period(period)?;
    let expected = positions(obligations)?;
    let mut currencies = Vec::with_capacity(expected.len());
    for (currency, parties) in expected {
        let positions: Vec<Position> = parties
            .into_iter()
            .map(|(party, net_minor)| Position { party, net_minor })
            .collect();
        let transfers = greedy_transfers(&positions);
        currencies.push(CurrencyNetting {
            currency,
            positions,
            transfers,
        });
    }
    Ok(Netting {
        period: period.to_owned(),
        currencies,
    })
}

impl Netting {
    /// Recomputes the positions from `obligations` and checks this netting against them: the
    /// same currencies and positions, then [`Netting::check_balanced`]. Any transfer list that
    /// settles the positions within the bound passes, not only the one [`net`] makes.
    ///
    /// Findings come in this order, the first one is returned: the obligations themselves (as
    /// [`net`] refuses them), the period label, currency order and set, then per currency in
    /// ascending order: position order, each recomputed position (missing, different), positions
    /// no obligation explains, and the balance checks.
    pub fn check(&self, obligations: &[Obligation]) -> Result<(), SettleError> {
        let expected = positions(obligations)?;
        check_period(&self.period)?;
        self.check_currency_order()?;
        for currency in expected.keys() {
            if !self.currencies.iter().any(|c| &c.currency == currency) {
                return Err(SettleError::MissingCurrency {
                    currency: currency.clone(),
                });
            }
        }
        for netting in &self.currencies {
            let Some(parties) = expected.get(&netting.currency) else {
                return Err(SettleError::UnexpectedCurrency {
                    currency: netting.currency.clone(),
                });
            };
            netting.check_position_order()?;
            let found: BTreeMap<&str, i64> = netting
                .positions
                .iter()
                .map(|p| (p.party.as_str(), p.net_minor))
                .collect();
            for (party, &expected_minor) in parties {
                match found.get(party.as_str()) {
                    None => {
                        return Err(SettleError::MissingPosition {
                            currency: netting.currency.clone(),
                            party: party.clone(),
                            expected_minor,
                        })
                    }
                    Some(&found_minor) if found_minor != expected_minor => {
                        return Err(SettleError::PositionMismatch {
                            currency: netting.currency.clone(),
                            party: party.clone(),
                            expected_minor,
                            found_minor,
                        })
                    }
                    Some(_) => {}
                }
            }
            if let Some(extra) = netting
                .positions
                .iter()
                .find(|p| !parties.contains_key(&p.party))
            {
                return Err(SettleError::UnexpectedPosition {
                    currency: netting.currency.clone(),
                    party: extra.party.clone(),
                });
            }
            netting.check_balanced()?;
        }
        Ok(())
    }

    /// The checks that need no obligations, for whoever holds only the netting (for example the
    /// party executing the transfers): ordering, every currency's positions sum to zero, and its
    /// transfers settle them exactly within the `n − 1` bound.
    pub fn check_balanced(&self) -> Result<(), SettleError> {
        check_period(&self.period)?;
        self.check_currency_order()?;
        for netting in &self.currencies {
            netting.check_position_order()?;
            netting.check_balanced()?;
        }
        Ok(())
    }

    /// How many transfers settle the whole period, over all currencies.
    pub fn transfer_count(&self) -> usize {
        self.currencies.iter().map(|c| c.transfers.len()).sum()
    }

    fn check_currency_order(&self) -> Result<(), SettleError> {
        for pair in self.currencies.windows(2) {
            if pair[0].currency >= pair[1].currency {
                return Err(SettleError::CurrencyOrder {
                    currency: pair[1].currency.clone(),
                });
            }
        }
        Ok(())
    }
}

impl CurrencyNetting {
    fn check_position_order(&self) -> Result<(), SettleError> {
        for pair in self.positions.windows(2) {
            if pair[0].party >= pair[1].party {
                return Err(SettleError::PositionOrder {
                    currency: self.currency.clone(),
                    party: pair[1].party.clone(),
                });
            }
        }
        Ok(())
    }

    /// Positions sum to zero; every transfer moves a positive amount between two different
    /// parties that have positions; after the transfers every position is exactly settled; at
    /// most `n − 1` transfers for `n` non-zero positions.
    fn check_balanced(&self) -> Result<(), SettleError> {
        let sum_minor: i128 = self.positions.iter().map(|p| i128::from(p.net_minor)).sum();
        if sum_minor != 0 {
            return Err(SettleError::PositionsDoNotSumToZero {
                currency: self.currency.clone(),
                sum_minor,
            });
        }
        // residual = position − received + paid; zero for everyone once settled.
        let mut residual: BTreeMap<&str, i128> = self
            .positions
            .iter()
            .map(|p| (p.party.as_str(), i128::from(p.net_minor)))
            .collect();
        for (index, transfer) in self.transfers.iter().enumerate() {
            if transfer.amount_minor <= 0 {
                return Err(SettleError::NonPositiveTransfer {
                    currency: self.currency.clone(),
                    index,
                    amount_minor: transfer.amount_minor,
                });
            }
            if transfer.from == transfer.to {
                return Err(SettleError::SelfTransfer {
                    currency: self.currency.clone(),
                    index,
                    party: transfer.from.clone(),
                });
            }
            let amount = i128::from(transfer.amount_minor);
            for (party, delta) in [(&transfer.from, amount), (&transfer.to, -amount)] {
                match residual.get_mut(party.as_str()) {
                    // At most 2^20 transfers of at most 2^63 each: far inside i128.
                    Some(value) => *value += delta,
                    None => {
                        return Err(SettleError::TransferUnknownParty {
                            currency: self.currency.clone(),
                            index,
                            party: party.clone(),
                        })
                    }
                }
            }
        }
        for position in &self.positions {
            let residual_minor = residual
                .get(position.party.as_str())
                .copied()
                .unwrap_or_default();
            if residual_minor != 0 {
                return Err(SettleError::Unsettled {
                    currency: self.currency.clone(),
                    party: position.party.clone(),
                    position_minor: position.net_minor,
                    residual_minor,
                });
            }
        }
        let parties = self.positions.iter().filter(|p| p.net_minor != 0).count();
        let max = parties.saturating_sub(1);
        if self.transfers.len() > max {
            return Err(SettleError::TooManyTransfers {
                currency: self.currency.clone(),
                count: self.transfers.len(),
                parties,
                max,
            });
        }
        Ok(())
    }
}

fn check_period(period: &str) -> Result<(), SettleError> {
    if is_text(period, limits::PERIOD_LEN_MAX) {
        Ok(())
    } else {
        Err(SettleError::BadPeriod {
            period: period.to_owned(),
        })
    }
}

/// Validates `obligations` and sums them: currency → party → position (creditors positive),
/// both maps in ascending byte order.
fn positions(
    obligations: &[Obligation],
) -> Result<BTreeMap<String, BTreeMap<String, i64>>, SettleError> {
    if obligations.len() > limits::OBLIGATIONS_MAX {
        return Err(SettleError::TooManyObligations {
            count: obligations.len(),
            max: limits::OBLIGATIONS_MAX,
        });
    }
    let mut seen = HashSet::with_capacity(obligations.len());
    // i128 sums: at most OBLIGATIONS_MAX terms of at most 2^63 each cannot overflow.
    let mut sums: BTreeMap<&str, BTreeMap<&str, i128>> = BTreeMap::new();
    for obligation in obligations {
        obligation.validate()?;
        if !seen.insert(&obligation.statement) {
            return Err(SettleError::DuplicateStatement(
                obligation.statement.clone(),
            ));
        }
        let parties = sums.entry(obligation.currency.as_str()).or_default();
        let amount = i128::from(obligation.amount_minor);
        *parties.entry(obligation.cpo.as_str()).or_default() += amount;
        *parties.entry(obligation.emsp.as_str()).or_default() -= amount;
    }
    let mut out = BTreeMap::new();
    for (currency, parties) in sums {
        let mut converted = BTreeMap::new();
        for (party, sum) in parties {
            let net_minor = i64::try_from(sum).map_err(|_| SettleError::Overflow {
                currency: currency.to_owned(),
                party: party.to_owned(),
            })?;
            converted.insert(party.to_owned(), net_minor);
        }
        out.insert(currency.to_owned(), converted);
    }
    Ok(out)
}

/// One side of the greedy matching: the party with the largest outstanding amount first; among
/// equal amounts, the smallest party id (byte order) first.
#[derive(PartialEq, Eq)]
struct Outstanding<'a> {
    amount: i128,
    party: &'a str,
}

impl Ord for Outstanding<'_> {
    fn cmp(&self, other: &Self) -> Ordering {
        self.amount
            .cmp(&other.amount)
            .then_with(|| Reverse(self.party).cmp(&Reverse(other.party)))
    }
}

impl PartialOrd for Outstanding<'_> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// Largest debtor pays largest creditor the smaller of the two amounts, until nobody is owed.
/// Every step settles at least one party and the last settles two, so `n` non-zero positions
/// take at most `n − 1` transfers. `positions` sum to zero.
fn greedy_transfers(positions: &[Position]) -> Vec<Transfer> {
    let mut debtors = BinaryHeap::new();
    let mut creditors = BinaryHeap::new();
    for position in positions {
        let amount = i128::from(position.net_minor);
        let party = position.party.as_str();
        match amount.cmp(&0) {
            Ordering::Less => debtors.push(Outstanding {
                amount: -amount,
                party,
            }),
            Ordering::Greater => creditors.push(Outstanding { amount, party }),
            Ordering::Equal => {}
        }
    }
    let mut transfers = Vec::with_capacity(positions.len().saturating_sub(1));
    while let (Some(debtor), Some(creditor)) = (debtors.pop(), creditors.pop()) {
        let amount = debtor.amount.min(creditor.amount);
        transfers.push(Transfer {
            from: debtor.party.to_owned(),
            to: creditor.party.to_owned(),
            // amount ≤ creditor.amount ≤ i64::MAX: a creditor's position is a positive i64.
            amount_minor: i64::try_from(amount).unwrap_or(i64::MAX),
        });
        if debtor.amount > amount {
            debtors.push(Outstanding {
                amount: debtor.amount - amount,
                party: debtor.party,
            });
        }
        if creditor.amount > amount {
            creditors.push(Outstanding {
                amount: creditor.amount - amount,
                party: creditor.party,
            });
        }
    }
    transfers
}
