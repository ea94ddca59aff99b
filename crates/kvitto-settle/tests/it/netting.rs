use kvitto_settle::{net, CurrencyNetting, Netting, Position, SettleError, StatementRef, Transfer};

use crate::{owes, three_operators, A, B, C};

fn position(party: &str, net_minor: i64) -> Position {
    Position {
        party: party.to_owned(),
        net_minor,
    }
}

fn transfer(from: &str, to: &str, amount_minor: i64) -> Transfer {
    Transfer {
        from: from.to_owned(),
        to: to.to_owned(),
        amount_minor,
    }
}

#[test]
fn three_operators_net_to_two_exact_transfers() {
    let obligations = three_operators();
    let netting = net("2026-11", &obligations).unwrap();
    // A: +100 +50 −30 = 120; B: −100 +80 +30 = 10; C: −50 −80 = −130.
    assert_eq!(
        netting,
        Netting {
            period: "2026-11".into(),
            currencies: vec![CurrencyNetting {
                currency: "SEK".into(),
                positions: vec![position(A, 120), position(B, 10), position(C, -130)],
                transfers: vec![transfer(C, A, 120), transfer(C, B, 10)],
            }],
        }
    );
    netting.check(&obligations).unwrap();
    netting.check_balanced().unwrap();
}

#[test]
fn ties_go_to_the_smaller_party_id() {
    // Two creditors of 50 each, one debtor of 100: A is paid first.
    let obligations = vec![owes(1, C, B, "EUR", 50), owes(2, C, A, "EUR", 50)];
    let netting = net("p", &obligations).unwrap();
    assert_eq!(
        netting.currencies[0].transfers,
        vec![transfer(C, A, 50), transfer(C, B, 50)]
    );
    // Two debtors of 50 each, one creditor: A pays first.
    let obligations = vec![owes(1, B, C, "EUR", 50), owes(2, A, C, "EUR", 50)];
    let netting = net("p", &obligations).unwrap();
    assert_eq!(
        netting.currencies[0].transfers,
        vec![transfer(A, C, 50), transfer(B, C, 50)]
    );
}

#[test]
fn the_largest_debtor_pays_the_largest_creditor_first() {
    // D owes 70 to A and 10 to B; E owes 5 to B. Positions: A +70, B +15, D −80, E −5.
    let d = "SE*DDD";
    let e = "SE*EEE";
    let obligations = vec![
        owes(1, d, A, "SEK", 70),
        owes(2, d, B, "SEK", 10),
        owes(3, e, B, "SEK", 5),
    ];
    let netting = net("p", &obligations).unwrap();
    assert_eq!(
        netting.currencies[0].transfers,
        vec![transfer(d, A, 70), transfer(d, B, 10), transfer(e, B, 5)]
    );
}

#[test]
fn currencies_net_separately_and_zero_positions_are_listed() {
    let obligations = vec![
        owes(1, B, A, "SEK", 100),
        owes(2, A, B, "SEK", 100),
        owes(3, B, A, "EUR", 7),
        owes(4, C, A, "EUR", -3),
    ];
    let netting = net("p", &obligations).unwrap();
    let currencies: Vec<_> = netting
        .currencies
        .iter()
        .map(|c| c.currency.as_str())
        .collect();
    assert_eq!(currencies, ["EUR", "SEK"]);
    // EUR: A +7 −3 = 4, B −7, C +3 (a negative statement: the CPO owes the eMSP).
    assert_eq!(
        netting.currencies[0].positions,
        vec![position(A, 4), position(B, -7), position(C, 3)]
    );
    assert_eq!(
        netting.currencies[0].transfers,
        vec![transfer(B, A, 4), transfer(B, C, 3)]
    );
    // SEK: everyone at zero, listed, and no transfer.
    assert_eq!(
        netting.currencies[1].positions,
        vec![position(A, 0), position(B, 0)]
    );
    assert!(netting.currencies[1].transfers.is_empty());
    netting.check(&obligations).unwrap();
}

#[test]
fn order_of_obligations_does_not_matter() {
    let mut obligations = three_operators();
    let netting = net("p", &obligations).unwrap();
    obligations.reverse();
    assert_eq!(net("p", &obligations).unwrap(), netting);
}

#[test]
fn no_obligations_net_to_nothing() {
    let netting = net("p", &[]).unwrap();
    assert!(netting.currencies.is_empty());
    netting.check(&[]).unwrap();
}

#[test]
fn bad_obligations_are_refused() {
    let mut duplicate = three_operators();
    duplicate.push(owes(1, C, A, "SEK", 1));
    assert_eq!(
        net("p", &duplicate),
        Err(SettleError::DuplicateStatement(StatementRef {
            origin: "kvitto/test/se-aaa".into(),
            index: 1
        }))
    );

    let own = owes(9, A, A, "SEK", 1);
    assert_eq!(
        net("p", std::slice::from_ref(&own)),
        Err(SettleError::SelfObligation {
            statement: own.statement.clone(),
            party: A.into()
        })
    );

    for currency in ["sek", "SEKK", "S1K", ""] {
        let bad = owes(1, B, A, currency, 1);
        assert_eq!(
            net("p", std::slice::from_ref(&bad)),
            Err(SettleError::BadCurrency {
                statement: bad.statement,
                currency: currency.into()
            })
        );
    }

    let bad = owes(1, "=cmd", A, "SEK", 1);
    assert!(matches!(
        net("p", &[bad]),
        Err(SettleError::BadParty { party, .. }) if party == "=cmd"
    ));

    let mut bad = owes(1, B, A, "SEK", 1);
    bad.statement.origin = "a\nb".into();
    assert!(matches!(
        net("p", &[bad]),
        Err(SettleError::BadOrigin { .. })
    ));

    assert!(matches!(
        net("", &three_operators()),
        Err(SettleError::BadPeriod { .. })
    ));
}

#[test]
fn positions_beyond_i64_are_refused() {
    let obligations = vec![owes(1, B, A, "SEK", i64::MAX), owes(2, C, A, "SEK", 1)];
    assert_eq!(
        net("p", &obligations),
        Err(SettleError::Overflow {
            currency: "SEK".into(),
            party: A.into()
        })
    );
    // i64::MIN owed: the debtor's position would be +2^63.
    let obligations = vec![owes(1, B, A, "SEK", i64::MIN)];
    assert_eq!(
        net("p", &obligations),
        Err(SettleError::Overflow {
            currency: "SEK".into(),
            party: B.into()
        })
    );
    // The extremes that do fit net and check.
    let obligations = vec![
        owes(1, B, A, "SEK", i64::MAX),
        owes(2, C, B, "SEK", i64::MAX),
    ];
    let netting = net("p", &obligations).unwrap();
    assert_eq!(
        netting.currencies[0].transfers,
        vec![transfer(C, A, i64::MAX)]
    );
    netting.check(&obligations).unwrap();
}

/// The three-operator netting, modified by `tamper`, checked against the real obligations.
fn check_tampered(tamper: impl FnOnce(&mut CurrencyNetting)) -> Result<(), SettleError> {
    let obligations = three_operators();
    let mut netting = net("2026-11", &obligations).unwrap();
    tamper(&mut netting.currencies[0]);
    netting.check(&obligations)
}

#[test]
fn a_changed_transfer_leaves_a_party_unsettled() {
    assert_eq!(
        check_tampered(|c| c.transfers[0].amount_minor = 121),
        Err(SettleError::Unsettled {
            currency: "SEK".into(),
            party: A.into(),
            position_minor: 120,
            residual_minor: -1
        })
    );
    assert_eq!(
        check_tampered(|c| c.transfers[1].to = A.into()),
        Err(SettleError::Unsettled {
            currency: "SEK".into(),
            party: A.into(),
            position_minor: 120,
            residual_minor: -10
        })
    );
    assert_eq!(
        check_tampered(|c| {
            c.transfers.pop();
        }),
        Err(SettleError::Unsettled {
            currency: "SEK".into(),
            party: B.into(),
            position_minor: 10,
            residual_minor: 10
        })
    );
}

#[test]
fn a_dropped_or_changed_position_is_found() {
    assert_eq!(
        check_tampered(|c| {
            c.positions.remove(1);
        }),
        Err(SettleError::MissingPosition {
            currency: "SEK".into(),
            party: B.into(),
            expected_minor: 10
        })
    );
    assert_eq!(
        check_tampered(|c| c.positions[2].net_minor = -131),
        Err(SettleError::PositionMismatch {
            currency: "SEK".into(),
            party: C.into(),
            expected_minor: -130,
            found_minor: -131
        })
    );
    assert_eq!(
        check_tampered(|c| c.positions.push(Position {
            party: "SE*ZZZ".into(),
            net_minor: 0
        })),
        Err(SettleError::UnexpectedPosition {
            currency: "SEK".into(),
            party: "SE*ZZZ".into()
        })
    );
    assert_eq!(
        check_tampered(|c| c.positions.swap(0, 1)),
        Err(SettleError::PositionOrder {
            currency: "SEK".into(),
            party: A.into()
        })
    );
}

#[test]
fn zero_self_and_surplus_transfers_are_found() {
    assert_eq!(
        check_tampered(|c| c.transfers.push(transfer(A, B, 0))),
        Err(SettleError::NonPositiveTransfer {
            currency: "SEK".into(),
            index: 2,
            amount_minor: 0
        })
    );
    assert_eq!(
        check_tampered(|c| c.transfers.insert(0, transfer(B, B, 5))),
        Err(SettleError::SelfTransfer {
            currency: "SEK".into(),
            index: 0,
            party: B.into()
        })
    );
    assert_eq!(
        check_tampered(|c| c.transfers.push(transfer("SE*ZZZ", A, 1))),
        Err(SettleError::TransferUnknownParty {
            currency: "SEK".into(),
            index: 2,
            party: "SE*ZZZ".into()
        })
    );
    // Settles, but in four transfers where two suffice.
    assert_eq!(
        check_tampered(|c| {
            c.transfers.push(transfer(A, B, 5));
            c.transfers.push(transfer(B, A, 5));
        }),
        Err(SettleError::TooManyTransfers {
            currency: "SEK".into(),
            count: 4,
            parties: 3,
            max: 2
        })
    );
}

#[test]
fn another_settling_transfer_list_passes() {
    // B pays its share through A instead: C→A 130, A→B 10. Still two transfers, still settles.
    check_tampered(|c| c.transfers = vec![transfer(C, A, 130), transfer(A, B, 10)]).unwrap();
}

#[test]
fn currencies_must_match_the_obligations() {
    let obligations = three_operators();
    let mut netting = net("p", &obligations).unwrap();
    netting.currencies[0].currency = "EUR".into();
    assert_eq!(
        netting.check(&obligations),
        Err(SettleError::MissingCurrency {
            currency: "SEK".into()
        })
    );
    let mut netting = net("p", &obligations).unwrap();
    let mut extra = netting.currencies[0].clone();
    extra.currency = "USD".into();
    netting.currencies.push(extra);
    assert_eq!(
        netting.check(&obligations),
        Err(SettleError::UnexpectedCurrency {
            currency: "USD".into()
        })
    );
    // A netting checked against obligations that differ from its own.
    let netting = net("p", &obligations).unwrap();
    let mut other = obligations.clone();
    other[0].amount_minor += 1;
    assert!(matches!(
        netting.check(&other),
        Err(SettleError::PositionMismatch { .. })
    ));
}

#[test]
fn the_balance_check_needs_no_obligations() {
    let mut netting = net("p", &three_operators()).unwrap();
    netting.currencies[0].positions[0].net_minor += 1;
    assert_eq!(
        netting.check_balanced(),
        Err(SettleError::PositionsDoNotSumToZero {
            currency: "SEK".into(),
            sum_minor: 1
        })
    );
}

#[test]
fn errors_read_as_sentences() {
    let own = owes(9, A, A, "SEK", 1);
    let text = net("p", &[own]).unwrap_err().to_string();
    assert_eq!(
        text,
        "statement kvitto/test/se-aaa#9: SE*AAA cannot owe itself"
    );
}
