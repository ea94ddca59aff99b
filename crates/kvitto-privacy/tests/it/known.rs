//! Known values pinned in `specs/privacy.md`, so an independent implementation can check itself
//! and any change to a label, derivation or encoding shows up as a failing test.

use kvitto_privacy::{
    domain, generator_encodings, AmountOpening, DriverSecret, PersonKey, SessionContext,
};

fn hex32(bytes: [u8; 32]) -> String {
    hex::encode(bytes)
}

#[test]
fn generators_match_the_spec() {
    let [g_amount, h_amount, g_id, h_id] = generator_encodings().map(hex32);
    assert_eq!(
        g_amount,
        "74b072122a31e3599869e4d7be5d459e73829e103250a1cd05e0d7a0fe1c2b1c"
    );
    assert_eq!(
        h_amount,
        "44cb7b15c114cadaff6dc3e332693124240b2188a902143d35d37e30942a9539"
    );
    assert_eq!(
        g_id,
        "96e7f179c7208f02062b4b7d6def640090db76381d92e5cc35d4d3b432c00e49"
    );
    assert_eq!(
        h_id,
        "3a9a9083cce34edef4695ea3c4ca453757d27cc77a3ea4250ce67681b6cc0d0f"
    );
}

#[test]
fn generators_are_sha512_hash_to_group_of_their_labels() {
    use curve25519_dalek::ristretto::RistrettoPoint;
    use sha2::{Digest, Sha512};
    let labels = [
        domain::GEN_AMOUNT_G,
        domain::GEN_AMOUNT_H,
        domain::GEN_IDENTITY_G,
        domain::GEN_IDENTITY_H,
    ];
    for (label, encoded) in labels.iter().zip(generator_encodings()) {
        let wide: [u8; 64] = Sha512::digest(label.as_bytes()).into();
        let point = RistrettoPoint::from_uniform_bytes(&wide);
        assert_eq!(point.compress().to_bytes(), encoded, "{label}");
    }
}

#[test]
fn derived_values_match_the_spec() {
    let ctx = SessionContext::new("kvitto/test/se-kvt", [0x11; 16], [0x22; 16]).unwrap();
    assert_eq!(
        hex::encode(ctx.encode()),
        "00126b766974746f2f746573742f73652d6b76741111111111111111111111111111111122222222222222222222222222222222"
    );
    // Opening: 2500 minor units, blinding = the scalar 7.
    let mut opening = 2_500u64.to_be_bytes().to_vec();
    let mut seven = [0u8; 32];
    seven[0] = 7;
    opening.extend_from_slice(&seven);
    let opening = AmountOpening::from_bytes(&opening).unwrap();
    assert_eq!(
        hex32(opening.commit().to_bytes()),
        "30c7b7615a5a6af477fdf76bdd9cce9646d4525f365f75da2a521204a1c48e2c"
    );

    let driver = DriverSecret::from_bytes([0x01; 32]).public();
    assert_eq!(
        hex32(driver.to_bytes()),
        "985712b14dc32ec37183e97948dfea70af5c54a42c231dedc9bad6ef10a5af6e"
    );
    let person = PersonKey::from_bytes([0x02; 32]);
    assert_eq!(
        hex32(person.identity_opening(&ctx).to_bytes()),
        "31778822d586487bbc0ddc71b0a46f8e9324275d203a5462aa12606539dad603"
    );
    assert_eq!(
        hex32(person.identity_commitment(&driver, &ctx).to_bytes()),
        "e427d142ec6c8cb723eaa170853c80e543162b1264a568549863e2845e18d74f"
    );
    assert_eq!(
        hex32(person.evidence_key(&ctx).to_bytes()),
        "2e77892a56777d4f810e8d8e06752a5d364f3e62c1103f7001281b6a92e3166a"
    );
}
