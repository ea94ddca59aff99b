use kvitto_privacy::{
    prove_ownership, prove_possession, verify_ownership, verify_possession, DriverSecret,
    IdentityCommitment, IdentityOpening, OwnershipProof, PersonKey, PossessionProof, PrivacyError,
};

use crate::{ctx, rng};

#[test]
fn two_sessions_of_one_driver_get_unrelated_tags() {
    let mut rng = rng(20);
    let driver = DriverSecret::generate(&mut rng).public();
    let person = PersonKey::generate(&mut rng);
    let t1 = person.identity_commitment(&driver, &ctx(1, 1));
    let t2 = person.identity_commitment(&driver, &ctx(1, 2));
    let t3 = person.identity_commitment(&driver, &ctx(2, 1));
    assert_ne!(t1, t2);
    assert_ne!(t1, t3);
    assert_ne!(t2, t3);
    // The driver's pseudonym X appears in none of them, nor does a hash of it.
    let x = driver.to_bytes();
    for t in [t1, t2, t3] {
        assert_ne!(t.to_bytes(), x);
        assert_ne!(t.to_bytes(), *blake3::hash(&x).as_bytes());
    }
}

#[test]
fn a_tag_fits_every_driver_equally_well() {
    // Perfect hiding, concretely: the same tag opens for two different drivers once the
    // blinding of each is known, so a tag alone says nothing about whose it is. (Finding the
    // second blinding needs log_H(G), which is why the test builds the tag from both sides.)
    let mut rng = rng(21);
    let alice = DriverSecret::generate(&mut rng).public();
    let bob = DriverSecret::generate(&mut rng).public();
    let person = PersonKey::generate(&mut rng);
    let opening = person.identity_opening(&ctx(1, 1));
    let tag = IdentityCommitment::new(&alice, &opening);
    assert_eq!(tag.verify_opening(&alice, &opening), Ok(()));
    assert_eq!(
        tag.verify_opening(&bob, &opening),
        Err(PrivacyError::OpeningMismatch)
    );
    // Tags of Alice's and Bob's sessions are indistinguishable by form: all are canonical
    // points that decode, and none equals another.
    let bob_tag = person.identity_commitment(&bob, &ctx(1, 2));
    assert!(IdentityCommitment::from_bytes(&bob_tag.to_bytes()).is_ok());
    assert_ne!(bob_tag, tag);
}

#[test]
fn only_the_person_key_links_sessions() {
    let mut rng = rng(22);
    let alice = DriverSecret::generate(&mut rng).public();
    let bob = DriverSecret::generate(&mut rng).public();
    let alice_key = PersonKey::generate(&mut rng);
    let bob_key = PersonKey::generate(&mut rng);
    let ledger: Vec<_> = (0..6u8)
        .map(|i| {
            let c = ctx(1, i);
            let t = match i % 2 {
                0 => alice_key.identity_commitment(&alice, &c),
                _ => bob_key.identity_commitment(&bob, &c),
            };
            (c, t)
        })
        .collect();
    let found: Vec<u8> = ledger
        .iter()
        .filter(|(c, t)| alice_key.links(&alice, c, t))
        .map(|(c, _)| c.session_id()[0])
        .collect();
    assert_eq!(found, vec![0, 2, 4]);
    // Knowing Alice's pseudonym without her person key finds nothing.
    let stranger = PersonKey::generate(&mut rng);
    assert!(ledger.iter().all(|(c, t)| !stranger.links(&alice, c, t)));
    assert!(ledger.iter().all(|(c, t)| !bob_key.links(&alice, c, t)));
}

#[test]
fn the_driver_proves_a_session_is_theirs() {
    let mut rng = rng(23);
    let secret = DriverSecret::generate(&mut rng);
    let person = PersonKey::generate(&mut rng);
    let session = ctx(1, 1);
    let opening = person.identity_opening(&session);
    let tag = person.identity_commitment(&secret.public(), &session);
    let challenge = b"node nonce 8d1f";
    let proof = prove_ownership(&session, &tag, &secret, &opening, challenge, &mut rng).unwrap();
    assert_eq!(verify_ownership(&session, &tag, challenge, &proof), Ok(()));
    let decoded = OwnershipProof::from_bytes(&proof.to_bytes()).unwrap();
    assert_eq!(
        verify_ownership(&session, &tag, challenge, &decoded),
        Ok(())
    );
    // The proof reveals neither the pseudonym nor the blinding.
    let bytes = proof.to_bytes();
    assert!(!bytes
        .windows(32)
        .any(|w| w == secret.public().to_bytes() || w == opening.to_bytes()));
}

#[test]
fn an_ownership_proof_binds_session_tag_and_challenge() {
    let mut rng = rng(24);
    let secret = DriverSecret::generate(&mut rng);
    let person = PersonKey::generate(&mut rng);
    let (s1, s2) = (ctx(1, 1), ctx(1, 2));
    let t1 = person.identity_commitment(&secret.public(), &s1);
    let t2 = person.identity_commitment(&secret.public(), &s2);
    let o1 = person.identity_opening(&s1);
    let proof = prove_ownership(&s1, &t1, &secret, &o1, b"c1", &mut rng).unwrap();
    let rejected = Err(PrivacyError::OwnershipProofRejected);
    assert_eq!(verify_ownership(&s2, &t1, b"c1", &proof), rejected);
    assert_eq!(verify_ownership(&s2, &t2, b"c1", &proof), rejected);
    assert_eq!(verify_ownership(&s1, &t2, b"c1", &proof), rejected);
    assert_eq!(verify_ownership(&s1, &t1, b"c2", &proof), rejected);
    let mut tampered = proof.to_bytes();
    tampered[50] ^= 1;
    if let Ok(p) = OwnershipProof::from_bytes(&tampered) {
        assert_eq!(verify_ownership(&s1, &t1, b"c1", &p), rejected);
    }
}

#[test]
fn the_operator_or_a_thief_cannot_prove_ownership() {
    let mut rng = rng(25);
    let driver = DriverSecret::generate(&mut rng);
    let other = DriverSecret::generate(&mut rng);
    let person = PersonKey::generate(&mut rng);
    let session = ctx(1, 1);
    let tag = person.identity_commitment(&driver.public(), &session);
    // Holding ρ (the operator, or a stolen receipt) with any other secret does not open the tag.
    let opening = person.identity_opening(&session);
    assert_eq!(
        prove_ownership(&session, &tag, &other, &opening, b"c", &mut rng).unwrap_err(),
        PrivacyError::OpeningMismatch
    );
    // The right secret with another session's blinding does not either.
    let wrong = person.identity_opening(&ctx(1, 2));
    assert_eq!(
        prove_ownership(&session, &tag, &driver, &wrong, b"c", &mut rng).unwrap_err(),
        PrivacyError::OpeningMismatch
    );
}

#[test]
fn possession_proofs_bind_driver_and_challenge() {
    let mut rng = rng(26);
    let secret = DriverSecret::generate(&mut rng);
    let other = DriverSecret::generate(&mut rng).public();
    let proof = prove_possession(&secret, b"nonce-1", &mut rng).unwrap();
    assert_eq!(
        verify_possession(&secret.public(), b"nonce-1", &proof),
        Ok(())
    );
    let rejected = Err(PrivacyError::PossessionProofRejected);
    assert_eq!(
        verify_possession(&secret.public(), b"nonce-2", &proof),
        rejected
    );
    assert_eq!(verify_possession(&other, b"nonce-1", &proof), rejected);
    let decoded = PossessionProof::from_bytes(&proof.to_bytes()).unwrap();
    assert_eq!(decoded, proof);
    let long = vec![0u8; kvitto_privacy::limits::CHALLENGE_LEN_MAX + 1];
    assert!(matches!(
        prove_possession(&secret, &long, &mut rng),
        Err(PrivacyError::TooLong { .. })
    ));
}

#[test]
fn identity_openings_round_trip_and_refuse_non_canonical_bytes() {
    let mut rng = rng(27);
    let opening = PersonKey::generate(&mut rng).identity_opening(&ctx(1, 1));
    assert_eq!(
        IdentityOpening::from_bytes(&opening.to_bytes()),
        Ok(opening.clone())
    );
    let json = serde_json::to_string(&opening).unwrap();
    assert_eq!(
        serde_json::from_str::<IdentityOpening>(&json).unwrap(),
        opening
    );
    assert!(IdentityOpening::from_bytes(&[0xff; 32]).is_err());
}
