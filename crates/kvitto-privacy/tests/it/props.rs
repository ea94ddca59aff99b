use kvitto_privacy::{
    prove_total, sum_openings, verify_total, verify_total_proof, AmountCommitment, AmountOpening,
    PrivacyError,
};
use proptest::prelude::*;

use crate::{ctx, rng};

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn sums_of_commitments_open_to_sums_of_amounts(
        values in prop::collection::vec(0u64..(u64::MAX >> 8), 1..40),
        seed in any::<u64>(),
    ) {
        let mut rng = rng(seed);
        let openings: Vec<AmountOpening> = values
            .iter()
            .enumerate()
            .map(|(i, &v)| AmountOpening::new(v, &ctx(9, i as u8), &mut rng))
            .collect();
        let commitments: Vec<AmountCommitment> = openings.iter().map(AmountOpening::commit).collect();
        let expected: u64 = values.iter().sum();

        let (total, blinding_sum) = sum_openings(&openings).unwrap();
        prop_assert_eq!(total, expected);
        prop_assert_eq!(verify_total(&commitments, total, &blinding_sum), Ok(()));
        prop_assert_eq!(
            verify_total(&commitments, total.wrapping_add(1), &blinding_sum),
            Err(PrivacyError::TotalMismatch)
        );

        let (proven, proof) = prove_total(b"prop", &commitments, &openings, &mut rng).unwrap();
        prop_assert_eq!(proven, expected);
        prop_assert_eq!(verify_total_proof(b"prop", &commitments, expected, &proof), Ok(()));
        prop_assert_eq!(
            verify_total_proof(b"prop", &commitments, expected.wrapping_add(1), &proof),
            Err(PrivacyError::TotalProofRejected)
        );
    }

    #[test]
    fn openings_round_trip(value in any::<u64>(), seed in any::<u64>()) {
        let opening = AmountOpening::new(value, &ctx(1, 1), &mut rng(seed));
        let back = AmountOpening::from_bytes(&opening.to_bytes()).unwrap();
        prop_assert_eq!(back.commit(), opening.commit());
        prop_assert_eq!(back.value_minor(), value);
    }
}
