use curve25519_dalek::scalar::Scalar;
use kvitto_privacy::{
    prove_range, prove_ranges, sum_openings, verify_range, verify_ranges, verify_total,
    AmountCommitment, AmountOpening, AmountRangeProof, PrivacyError, SessionContext,
};

use crate::{amount_generators, ctx, rng, ORIGIN};

const REJECTED: Result<(), PrivacyError> = Err(PrivacyError::RangeProofRejected);

/// A commitment to an arbitrary scalar, which no `AmountOpening` can express: `value·G + r·H`.
fn commitment_to_scalar(value: Scalar, blinding: Scalar) -> AmountCommitment {
    let (g, h) = amount_generators();
    AmountCommitment::from_bytes((value * g + blinding * h).compress().as_bytes()).unwrap()
}

#[test]
fn a_range_proof_verifies_for_its_session() {
    let mut rng = rng(10);
    for value in [0, 1, 2_599, u64::MAX] {
        let opening = AmountOpening::new(value, &ctx(1, 1), &mut rng);
        let (commitment, proof) = prove_range(&ctx(1, 1), &opening, &mut rng).unwrap();
        assert_eq!(commitment, opening.commit());
        assert_eq!(proof.to_bytes().len(), 672);
        assert_eq!(
            verify_range(&ctx(1, 1), &commitment, &proof, &mut rng),
            Ok(())
        );
        let decoded = AmountRangeProof::from_bytes(&proof.to_bytes()).unwrap();
        assert_eq!(
            verify_range(&ctx(1, 1), &commitment, &decoded, &mut rng),
            Ok(())
        );
    }
}

#[test]
fn a_proof_moved_to_another_entry_is_rejected() {
    let mut rng = rng(11);
    let opening = AmountOpening::new(4_200, &ctx(1, 1), &mut rng);
    let (commitment, proof) = prove_range(&ctx(1, 1), &opening, &mut rng).unwrap();
    let other_session = ctx(1, 2);
    let other_charger = ctx(2, 1);
    let other_log = SessionContext::new("kvitto/kvitto-devnet/de-xyz", [1; 16], [1; 16]).unwrap();
    for moved in [other_session, other_charger, other_log] {
        assert_ne!(moved.origin().len(), 0);
        assert_eq!(
            verify_range(&moved, &commitment, &proof, &mut rng),
            REJECTED
        );
    }
    assert_eq!(ctx(1, 1).origin(), ORIGIN);
}

#[test]
fn a_proof_for_another_commitment_is_rejected() {
    let mut rng = rng(12);
    let opening = AmountOpening::new(4_200, &ctx(1, 1), &mut rng);
    let (_, proof) = prove_range(&ctx(1, 1), &opening, &mut rng).unwrap();
    // Same value, other blinding; and another value.
    let same_value = AmountOpening::new(4_200, &ctx(1, 1), &mut rng).commit();
    let other_value = AmountOpening::new(4_201, &ctx(1, 1), &mut rng).commit();
    assert_eq!(
        verify_range(&ctx(1, 1), &same_value, &proof, &mut rng),
        REJECTED
    );
    assert_eq!(
        verify_range(&ctx(1, 1), &other_value, &proof, &mut rng),
        REJECTED
    );
}

#[test]
fn a_tampered_proof_is_rejected() {
    let mut rng = rng(13);
    let opening = AmountOpening::new(77, &ctx(1, 1), &mut rng);
    let (commitment, proof) = prove_range(&ctx(1, 1), &opening, &mut rng).unwrap();
    let bytes = proof.to_bytes();
    // One byte in each 32-byte element: A, S, T1, T2, t_x, t_x blinding, e blinding, L/R, a, b.
    for element in 0..bytes.len() / 32 {
        let mut tampered = bytes.clone();
        tampered[element * 32 + 3] ^= 0x10;
        if let Ok(proof) = AmountRangeProof::from_bytes(&tampered) {
            assert_eq!(
                verify_range(&ctx(1, 1), &commitment, &proof, &mut rng),
                REJECTED,
                "element {element}"
            );
        }
    }
}

#[test]
fn a_negative_amount_is_rejected() {
    let mut rng = rng(14);
    let r = Scalar::from(991_u64);
    // ℓ − 1, which acts as −1 in every sum.
    let minus_one = commitment_to_scalar(-Scalar::ONE, r);
    // Why it matters: with a blinding sum, −1 plus 6 passes as a total of 5.
    let six = AmountOpening::new(6, &ctx(1, 2), &mut rng);
    let (_, six_blinding) = sum_openings(std::slice::from_ref(&six)).unwrap();
    let shifted_sum = Scalar::from_canonical_bytes(six_blinding.to_bytes()).unwrap() + r;
    let shifted_sum = kvitto_privacy::BlindingSum::from_bytes(shifted_sum.as_bytes()).unwrap();
    assert_eq!(
        verify_total(&[minus_one, six.commit()], 5, &shifted_sum),
        Ok(())
    );

    // No range proof transfers to it: not one for a real amount in the same session,
    let honest = AmountOpening::new(5, &ctx(1, 1), &mut rng);
    let (_, proof) = prove_range(&ctx(1, 1), &honest, &mut rng).unwrap();
    assert_eq!(
        verify_range(&ctx(1, 1), &minus_one, &proof, &mut rng),
        REJECTED
    );
    // nor one for u64::MAX (the largest value in range),
    let max = AmountOpening::new(u64::MAX, &ctx(1, 1), &mut rng);
    let (_, max_proof) = prove_range(&ctx(1, 1), &max, &mut rng).unwrap();
    assert_eq!(
        verify_range(&ctx(1, 1), &minus_one, &max_proof, &mut rng),
        REJECTED
    );
    // nor an aggregated one with the negative commitment swapped in.
    let contexts = [ctx(1, 1), ctx(1, 2)];
    let (commitments, aggregated) =
        prove_ranges(&contexts, &[honest.clone(), six.clone()], &mut rng).unwrap();
    assert_eq!(
        verify_ranges(&contexts, &commitments, &aggregated, &mut rng),
        Ok(())
    );
    assert_eq!(
        verify_ranges(
            &contexts,
            &[minus_one, commitments[1]],
            &aggregated,
            &mut rng
        ),
        REJECTED
    );
}

#[test]
fn a_value_of_two_to_the_64_is_rejected() {
    let mut rng = rng(15);
    let two_64 = Scalar::from(u64::MAX) + Scalar::ONE;
    let blinding = Scalar::from(5u64);
    let too_big = commitment_to_scalar(two_64, blinding);
    let max = AmountOpening::new(u64::MAX, &ctx(1, 1), &mut rng);
    let (_, proof) = prove_range(&ctx(1, 1), &max, &mut rng).unwrap();
    assert_eq!(
        verify_range(&ctx(1, 1), &too_big, &proof, &mut rng),
        REJECTED
    );
}

fn sessions(count: u8) -> (Vec<SessionContext>, Vec<AmountOpening>) {
    let mut rng = rng(100 + u64::from(count));
    let contexts: Vec<_> = (0..count).map(|i| ctx(3, i)).collect();
    let openings = contexts
        .iter()
        .enumerate()
        .map(|(i, c)| AmountOpening::new(1_000 * i as u64 + 1, c, &mut rng))
        .collect();
    (contexts, openings)
}

#[test]
fn aggregated_proofs_verify_with_padding() {
    let mut rng = rng(16);
    for (count, len) in [(2, 736), (3, 800), (5, 864), (8, 864)] {
        let (contexts, openings) = sessions(count);
        let (commitments, proof) = prove_ranges(&contexts, &openings, &mut rng).unwrap();
        assert_eq!(proof.to_bytes().len(), len, "{count} sessions");
        assert_eq!(proof.parties(), usize::from(count).next_power_of_two());
        assert_eq!(
            verify_ranges(&contexts, &commitments, &proof, &mut rng),
            Ok(())
        );
        for (opening, commitment) in openings.iter().zip(&commitments) {
            assert_eq!(commitment.verify_opening(opening), Ok(()));
        }
    }
}

#[test]
fn aggregated_proof_of_64_sessions_verifies() {
    let mut rng = rng(17);
    let (contexts, openings) = sessions(64);
    let (commitments, proof) = prove_ranges(&contexts, &openings, &mut rng).unwrap();
    assert_eq!(proof.to_bytes().len(), 1056);
    assert_eq!(
        verify_ranges(&contexts, &commitments, &proof, &mut rng),
        Ok(())
    );
    let (contexts, openings) = sessions(65);
    assert!(matches!(
        prove_ranges(&contexts, &openings, &mut rng),
        Err(PrivacyError::Count { count: 65, .. })
    ));
}

#[test]
fn aggregated_proofs_bind_order_contexts_and_count() {
    let mut rng = rng(18);
    let (contexts, openings) = sessions(3);
    let (commitments, proof) = prove_ranges(&contexts, &openings, &mut rng).unwrap();

    let swapped = [commitments[1], commitments[0], commitments[2]];
    assert_eq!(
        verify_ranges(&contexts, &swapped, &proof, &mut rng),
        REJECTED
    );
    let mut moved = contexts.clone();
    moved[2] = ctx(3, 9);
    assert_eq!(
        verify_ranges(&moved, &commitments, &proof, &mut rng),
        REJECTED
    );
    // Padding is the verifier's: claiming the padded slot as a fourth (zero) session fails.
    let mut four_contexts = contexts.clone();
    four_contexts.push(ctx(3, 3));
    let zero = AmountCommitment::from_bytes(&[0u8; 32]).unwrap();
    let mut four = commitments.clone();
    four.push(zero);
    assert_eq!(
        verify_ranges(&four_contexts, &four, &proof, &mut rng),
        REJECTED
    );
    // A proof for two of them does not verify for one, or for three.
    assert_eq!(
        verify_ranges(&contexts[..2], &commitments[..2], &proof, &mut rng),
        REJECTED
    );
    assert_eq!(
        verify_range(&contexts[0], &commitments[0], &proof, &mut rng),
        REJECTED
    );
    assert!(matches!(
        verify_ranges(&contexts, &commitments[..2], &proof, &mut rng),
        Err(PrivacyError::LengthMismatch { .. })
    ));
}

#[test]
fn range_proofs_round_trip_through_json() {
    let mut rng = rng(19);
    let opening = AmountOpening::new(12, &ctx(1, 1), &mut rng);
    let (commitment, proof) = prove_range(&ctx(1, 1), &opening, &mut rng).unwrap();
    let json = serde_json::to_string(&proof).unwrap();
    let back: AmountRangeProof = serde_json::from_str(&json).unwrap();
    assert_eq!(back, proof);
    assert_eq!(
        verify_range(&ctx(1, 1), &commitment, &back, &mut rng),
        Ok(())
    );
}
