use kvitto_privacy::{PersonKey, PrivacyError, SealedEvidence};

use crate::{ctx, rng};

const BUNDLE: &[u8] = b"signed readings | CDR | openings | token DE*ABC*C12345678*9";

#[test]
fn evidence_seals_and_opens_for_its_session() {
    let mut rng = rng(30);
    let person = PersonKey::generate(&mut rng);
    let session = ctx(1, 1);
    let key = person.evidence_key(&session);
    let sealed = key.seal(&session, BUNDLE, &mut rng).unwrap();
    assert_eq!(key.open(&session, &sealed).unwrap().as_slice(), BUNDLE);
    // The plaintext does not show through, not even the token reference.
    let bytes = sealed.to_bytes();
    assert!(!bytes.windows(9).any(|w| w == b"C12345678"));
    let decoded = SealedEvidence::from_bytes(&bytes).unwrap();
    assert_eq!(key.open(&session, &decoded).unwrap().as_slice(), BUNDLE);
}

#[test]
fn evidence_does_not_open_for_another_session_key_or_byte() {
    let mut rng = rng(31);
    let person = PersonKey::generate(&mut rng);
    let session = ctx(1, 1);
    let key = person.evidence_key(&session);
    let sealed = key.seal(&session, BUNDLE, &mut rng).unwrap();
    let rejected = Err(PrivacyError::EvidenceRejected);
    // Another session's context (the AAD), with the right key.
    assert_eq!(key.open(&ctx(1, 2), &sealed).map(|_| ()), rejected);
    // Another session's key.
    assert_eq!(
        person
            .evidence_key(&ctx(1, 2))
            .open(&session, &sealed)
            .map(|_| ()),
        rejected
    );
    // Every byte of the sealed form matters.
    let bytes = sealed.to_bytes();
    for i in 0..bytes.len() {
        let mut tampered = bytes.clone();
        tampered[i] ^= 0x01;
        let tampered = SealedEvidence::from_bytes(&tampered).unwrap();
        assert_eq!(
            key.open(&session, &tampered).map(|_| ()),
            rejected,
            "byte {i}"
        );
    }
}

#[test]
fn the_digest_binds_session_and_every_byte() {
    let mut rng = rng(32);
    let person = PersonKey::generate(&mut rng);
    let session = ctx(1, 1);
    let key = person.evidence_key(&session);
    let sealed = key.seal(&session, BUNDLE, &mut rng).unwrap();
    let digest = sealed.digest(&session);
    assert_ne!(sealed.digest(&ctx(1, 2)), digest);
    let mut tampered = sealed.to_bytes();
    tampered[60] ^= 1;
    assert_ne!(
        SealedEvidence::from_bytes(&tampered)
            .unwrap()
            .digest(&session),
        digest
    );
    // Sealing the same bundle twice gives different ciphertexts and digests (random nonce).
    let again = key.seal(&session, BUNDLE, &mut rng).unwrap();
    assert_ne!(again.digest(&session), digest);
    // The digest is not a plain hash of the plaintext.
    assert_ne!(digest, *blake3::hash(BUNDLE).as_bytes());
}

#[test]
fn oversized_bundles_are_refused() {
    let mut rng = rng(33);
    let key = PersonKey::generate(&mut rng).evidence_key(&ctx(1, 1));
    let big = vec![0u8; kvitto_privacy::limits::EVIDENCE_LEN_MAX + 1];
    assert!(matches!(
        key.seal(&ctx(1, 1), &big, &mut rng),
        Err(PrivacyError::TooLong { .. })
    ));
    assert_eq!(
        SealedEvidence::from_bytes(&[0u8; 40]),
        Err(PrivacyError::Malformed("sealed evidence"))
    );
}
