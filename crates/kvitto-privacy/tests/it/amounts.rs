use curve25519_dalek::scalar::Scalar;
use kvitto_privacy::{
    prove_total, sum_openings, verify_total, verify_total_proof, AmountCommitment, AmountOpening,
    BlindingSum, PrivacyError, TotalProof,
};

use crate::{amount_generators, ctx, rng};

fn openings(values: &[u64], seed: u64) -> Vec<AmountOpening> {
    let mut rng = rng(seed);
    values
        .iter()
        .enumerate()
        .map(|(i, &v)| AmountOpening::new(v, &ctx(1, i as u8), &mut rng))
        .collect()
}

fn commitments(openings: &[AmountOpening]) -> Vec<AmountCommitment> {
    openings.iter().map(AmountOpening::commit).collect()
}

#[test]
fn commitments_to_one_value_hide_it() {
    let mut rng = rng(1);
    let a = AmountOpening::new(2_500, &ctx(1, 1), &mut rng);
    let b = AmountOpening::new(2_500, &ctx(1, 2), &mut rng);
    let c = AmountOpening::new(2_500, &ctx(1, 1), &mut rng);
    assert_ne!(a.commit(), b.commit());
    // Same value, same session, fresh seed: still a different blinding.
    assert_ne!(a.commit(), c.commit());
    // The commitment is not v·G: the blinding term is present.
    let (g, _) = amount_generators();
    assert_ne!(
        a.commit().to_bytes(),
        (Scalar::from(2_500u64) * g).compress().to_bytes()
    );
}

#[test]
fn a_repeating_rng_still_gives_distinct_blindings_per_session() {
    // Two CSPRNGs in the same state, as after a VM snapshot restore.
    let a = AmountOpening::new(100, &ctx(1, 1), &mut rng(7));
    let b = AmountOpening::new(100, &ctx(1, 2), &mut rng(7));
    assert_ne!(a.commit(), b.commit());
}

#[test]
fn commitments_sum_homomorphically() {
    let ops = openings(&[1_000, 250, 4_999, 0, 7], 2);
    let cs = commitments(&ops);
    let (total, blinding_sum) = sum_openings(&ops).unwrap();
    assert_eq!(total, 6_256);
    assert_eq!(verify_total(&cs, total, &blinding_sum), Ok(()));
    let pairwise = cs[1..].iter().fold(cs[0], |acc, c| acc + *c);
    assert_eq!(AmountCommitment::sum(&cs).unwrap(), pairwise);
    assert_eq!(
        verify_total(&cs, total + 1, &blinding_sum),
        Err(PrivacyError::TotalMismatch)
    );
    let (_, other_sum) = sum_openings(&ops[1..]).unwrap();
    assert_eq!(
        verify_total(&cs, total, &other_sum),
        Err(PrivacyError::TotalMismatch)
    );
}

#[test]
fn an_opening_of_another_session_is_rejected() {
    let ops = openings(&[1_000, 1_000], 3);
    let cs = commitments(&ops);
    assert_eq!(cs[0].verify_opening(&ops[0]), Ok(()));
    assert_eq!(
        cs[0].verify_opening(&ops[1]),
        Err(PrivacyError::OpeningMismatch)
    );
}

#[test]
fn revealing_blinding_sums_of_overlapping_sets_leaks_an_amount() {
    // Why settlement must use total proofs: two sums that differ by one session give that
    // session's full opening to anyone.
    let ops = openings(&[1_200, 3_400, 5_600], 4);
    let cs = commitments(&ops);
    let (total_all, sum_all) = sum_openings(&ops).unwrap();
    let (total_two, sum_two) = sum_openings(&ops[..2]).unwrap();
    let leaked_blinding = Scalar::from_canonical_bytes(sum_all.to_bytes()).unwrap()
        - Scalar::from_canonical_bytes(sum_two.to_bytes()).unwrap();
    let mut leaked = (total_all - total_two).to_be_bytes().to_vec();
    leaked.extend_from_slice(leaked_blinding.as_bytes());
    let opening = AmountOpening::from_bytes(&leaked).unwrap();
    assert_eq!(cs[2].verify_opening(&opening), Ok(()));
    assert_eq!(opening.value_minor(), 5_600);
}

#[test]
fn total_proof_verifies_without_the_blinding_sum() {
    let ops = openings(&[1_200, 3_400, 5_600], 5);
    let cs = commitments(&ops);
    let statement = b"settlement 2026-11 se-kvt/de-emsp";
    let (total, proof) = prove_total(statement, &cs, &ops, &mut rng(50)).unwrap();
    assert_eq!(total, 10_200);
    assert_eq!(verify_total_proof(statement, &cs, total, &proof), Ok(()));

    // The proof is 64 bytes, round-trips, and does not carry the blinding sum.
    let bytes = proof.to_bytes();
    assert_eq!(TotalProof::from_bytes(&bytes).unwrap(), proof);
    let (_, blinding_sum) = sum_openings(&ops).unwrap();
    assert!(!bytes.windows(32).any(|w| w == blinding_sum.to_bytes()));
    // Two proofs of one statement differ (fresh nonce), so they cannot be compared either.
    let (_, again) = prove_total(statement, &cs, &ops, &mut rng(51)).unwrap();
    assert_ne!(again, proof);
}

#[test]
fn total_proof_fails_for_a_wrong_total() {
    let ops = openings(&[1_200, 3_400, 5_600], 6);
    let cs = commitments(&ops);
    let (total, proof) = prove_total(b"s", &cs, &ops, &mut rng(60)).unwrap();
    for wrong in [total - 1, total + 1, 0, u64::MAX] {
        assert_eq!(
            verify_total_proof(b"s", &cs, wrong, &proof),
            Err(PrivacyError::TotalProofRejected)
        );
    }
}

#[test]
fn total_proof_fails_for_a_different_set_or_statement() {
    let ops = openings(&[1_200, 3_400, 5_600, 0], 7);
    let cs = commitments(&ops);
    let (total, proof) = prove_total(b"s", &cs[..3], &ops[..3], &mut rng(70)).unwrap();
    let reject = Err(PrivacyError::TotalProofRejected);
    // A zero-amount commitment added keeps the total, but not the set.
    assert_eq!(verify_total_proof(b"s", &cs, total, &proof), reject);
    assert_eq!(verify_total_proof(b"s", &cs[..2], total, &proof), reject);
    let reordered = [cs[2], cs[0], cs[1]];
    assert_eq!(verify_total_proof(b"s", &reordered, total, &proof), reject);
    assert_eq!(verify_total_proof(b"t", &cs[..3], total, &proof), reject);
    let mut tampered = proof.to_bytes();
    tampered[40] ^= 1;
    match TotalProof::from_bytes(&tampered) {
        Ok(t) => assert_eq!(verify_total_proof(b"s", &cs[..3], total, &t), reject),
        Err(e) => assert_eq!(e, PrivacyError::Malformed("total proof")),
    }
}

#[test]
fn total_proof_needs_matching_openings() {
    let ops = openings(&[10, 20], 8);
    let others = openings(&[10, 20], 9);
    let cs = commitments(&ops);
    assert_eq!(
        prove_total(b"s", &cs, &others, &mut rng(80)).unwrap_err(),
        PrivacyError::TotalMismatch
    );
    assert!(matches!(
        prove_total(b"s", &cs, &ops[..1], &mut rng(80)),
        Err(PrivacyError::LengthMismatch { .. })
    ));
    let long = vec![0u8; kvitto_privacy::limits::STATEMENT_LEN_MAX + 1];
    assert!(matches!(
        prove_total(&long, &cs, &ops, &mut rng(80)),
        Err(PrivacyError::TooLong { .. })
    ));
}

#[test]
fn blinding_sums_and_commitments_refuse_non_canonical_bytes() {
    assert!(BlindingSum::from_bytes(&[0xff; 32]).is_err());
    // 0xff… is not a canonical ristretto255 encoding.
    assert_eq!(
        AmountCommitment::from_bytes(&[0xff; 32]),
        Err(PrivacyError::Malformed("amount commitment"))
    );
    assert!(AmountCommitment::from_bytes(&[0u8; 31]).is_err());
}
