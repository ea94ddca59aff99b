use std::collections::BTreeSet;

use kvitto_settle::export::{netting_from_csv, positions_to_csv, transfers_to_csv};
use kvitto_settle::{net, Obligation, SettleError, StatementRef};
use proptest::prelude::*;

const PARTIES: [&str; 8] = [
    "SE*AAA", "SE*BBB", "NO*CCC", "DE*DDD", "DE*EEE", "FI*FFF", "DK*GGG", "NL*HHH",
];
const CURRENCIES: [&str; 3] = ["EUR", "NOK", "SEK"];

/// Random obligations between distinct parties, each with its own statement.
fn obligations() -> impl Strategy<Value = Vec<Obligation>> {
    let amount = prop_oneof![
        4 => -1_000_000i64..1_000_000_000,
        1 => Just(0i64),
        1 => -(1i64 << 40)..(1i64 << 40),
    ];
    let one = (
        0..PARTIES.len(),
        1..PARTIES.len(),
        0..CURRENCIES.len(),
        amount,
    );
    prop::collection::vec(one, 0..60).prop_map(|rows| {
        rows.into_iter()
            .enumerate()
            .map(|(i, (cpo, offset, currency, amount_minor))| {
                let emsp = (cpo + offset) % PARTIES.len();
                Obligation {
                    statement: StatementRef {
                        origin: format!("kvitto/test/{cpo}"),
                        index: i as u64,
                    },
                    cpo: PARTIES[cpo].to_owned(),
                    emsp: PARTIES[emsp].to_owned(),
                    currency: CURRENCIES[currency].to_owned(),
                    amount_minor,
                }
            })
            .collect()
    })
}

proptest! {
    #[test]
    fn netting_checks_and_is_short(obligations in obligations()) {
        let netting = net("p", &obligations).unwrap();
        netting.check(&obligations).unwrap();
        for currency in &netting.currencies {
            let nonzero = currency.positions.iter().filter(|p| p.net_minor != 0).count();
            prop_assert!(currency.transfers.len() <= nonzero.saturating_sub(1));
            let sum: i128 = currency.positions.iter().map(|p| i128::from(p.net_minor)).sum();
            prop_assert_eq!(sum, 0);
            // Debtors only pay, creditors only receive.
            let payers: BTreeSet<_> = currency.transfers.iter().map(|t| &t.from).collect();
            for position in &currency.positions {
                if payers.contains(&position.party) {
                    prop_assert!(position.net_minor < 0);
                }
            }
        }
        let mut reversed = obligations.clone();
        reversed.reverse();
        prop_assert_eq!(&net("p", &reversed).unwrap(), &netting);
        let back = netting_from_csv(
            "p",
            &positions_to_csv(&netting).unwrap(),
            &transfers_to_csv(&netting).unwrap(),
        )
        .unwrap();
        prop_assert_eq!(back, netting);
    }

    #[test]
    fn any_changed_transfer_fails_the_check(
        obligations in obligations(),
        pick in any::<prop::sample::Index>(),
        delta in prop_oneof![Just(-1i64), Just(1i64), 2i64..1000],
    ) {
        let mut netting = net("p", &obligations).unwrap();
        let transfers: Vec<(usize, usize)> = netting
            .currencies
            .iter()
            .enumerate()
            .flat_map(|(c, n)| (0..n.transfers.len()).map(move |t| (c, t)))
            .collect();
        prop_assume!(!transfers.is_empty());
        let (c, t) = transfers[pick.index(transfers.len())];
        netting.currencies[c].transfers[t].amount_minor += delta;
        let outcome = netting.check(&obligations);
        prop_assert!(
            matches!(
                outcome,
                Err(SettleError::Unsettled { .. } | SettleError::NonPositiveTransfer { .. })
            ),
            "{:?}",
            outcome
        );
    }
}
