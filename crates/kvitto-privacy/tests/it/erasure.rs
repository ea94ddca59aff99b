//! The erasure story end to end: a node serves sessions, issues a receipt, discloses one session
//! to a regulator, then destroys the person key.

use kvitto_privacy::{
    prove_ownership, prove_range, verify_ownership, verify_range, AmountOpening, DriverSecret,
    IdentityCommitment, IdentityOpening, PersonKey, PrivacyError, SealedEvidence,
};

use crate::{ctx, rng};

/// What the public ledger holds for one session.
struct LedgerRecord {
    amount: kvitto_privacy::AmountCommitment,
    range_proof: kvitto_privacy::AmountRangeProof,
    identity: IdentityCommitment,
    evidence_digest: [u8; 32],
}

/// What the driver's receipt holds (besides readings and inclusion proofs).
struct Receipt {
    amount_opening: AmountOpening,
    identity_opening: IdentityOpening,
}

#[test]
fn after_erasure_receipts_verify_and_nothing_links() {
    let mut rng = rng(40);
    let driver = DriverSecret::generate(&mut rng);
    let public = driver.public();
    let person = PersonKey::generate(&mut rng);

    let sessions = [ctx(1, 1), ctx(1, 2), ctx(2, 3)];
    let mut ledger = Vec::new();
    let mut receipts = Vec::new();
    let mut bundles = Vec::new();
    for (i, session) in sessions.iter().enumerate() {
        let amount_opening = AmountOpening::new(1_000 + i as u64, session, &mut rng);
        let (amount, range_proof) = prove_range(session, &amount_opening, &mut rng).unwrap();
        let identity_opening = person.identity_opening(session);
        let identity = IdentityCommitment::new(&public, &identity_opening);
        let bundle = format!("readings, CDR, token DE*ABC*C0000000{i}");
        let sealed = person
            .evidence_key(session)
            .seal(session, bundle.as_bytes(), &mut rng)
            .unwrap();
        ledger.push(LedgerRecord {
            amount,
            range_proof,
            identity,
            evidence_digest: sealed.digest(session),
        });
        bundles.push(sealed.to_bytes());
        receipts.push(Receipt {
            amount_opening,
            identity_opening,
        });
    }

    // Before erasure: the operator links all three, and a regulator given one session's
    // evidence key opens that bundle and no other.
    assert!(sessions
        .iter()
        .zip(&ledger)
        .all(|(c, r)| person.links(&public, c, &r.identity)));
    let disclosed = person.evidence_key(&sessions[1]);
    let bundle_1 = SealedEvidence::from_bytes(&bundles[1]).unwrap();
    assert_eq!(bundle_1.digest(&sessions[1]), ledger[1].evidence_digest);
    assert!(disclosed.open(&sessions[1], &bundle_1).is_ok());
    let bundle_0 = SealedEvidence::from_bytes(&bundles[0]).unwrap();
    assert_eq!(
        disclosed.open(&sessions[0], &bundle_0).map(|_| ()),
        Err(PrivacyError::EvidenceRejected)
    );

    // Erasure: the node destroys the person key (zeroised on drop).
    drop(person);
    let node_after = PersonKey::generate(&mut rng);

    for ((session, record), receipt) in sessions.iter().zip(&ledger).zip(&receipts) {
        // The ledger still verifies.
        assert_eq!(
            verify_range(session, &record.amount, &record.range_proof, &mut rng),
            Ok(())
        );
        // The receipt still verifies: the amount opening, the identity opening against the
        // driver's pseudonym, and a fresh ownership proof from the driver's secret.
        assert_eq!(
            record.amount.verify_opening(&receipt.amount_opening),
            Ok(())
        );
        assert_eq!(
            record
                .identity
                .verify_opening(&public, &receipt.identity_opening),
            Ok(())
        );
        let proof = prove_ownership(
            session,
            &record.identity,
            &driver,
            &receipt.identity_opening,
            b"auditor nonce",
            &mut rng,
        )
        .unwrap();
        assert_eq!(
            verify_ownership(session, &record.identity, b"auditor nonce", &proof),
            Ok(())
        );
        // The node can no longer link the session to the person, nor read the bundle, whose
        // digest on the ledger still matches the stored ciphertext.
        assert!(!node_after.links(&public, session, &record.identity));
        let sealed =
            SealedEvidence::from_bytes(&bundles[session.session_id()[0] as usize - 1]).unwrap();
        assert_eq!(sealed.digest(session), record.evidence_digest);
        assert_eq!(
            node_after
                .evidence_key(session)
                .open(session, &sealed)
                .map(|_| ()),
            Err(PrivacyError::EvidenceRejected)
        );
    }
}
