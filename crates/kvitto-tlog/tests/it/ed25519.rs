//! The C2SP/CCTV Ed25519 edge cases pin the project's one verification rule.

use kvitto_tlog::note::ed25519_verify_strict;
use serde::Deserialize;

#[derive(Deserialize)]
struct Vector {
    number: u32,
    key: String,
    sig: String,
    msg: String,
    flags: Option<Vec<String>>,
}

/// `verify_strict` accepts exactly the vectors whose only edge cases are low-order *components*
/// (points that also have a prime-order part): every low-order point, non-canonical encoding and
/// unreduced equation (`low_order_residue`) is rejected.
#[test]
fn strict_verification_accepts_only_vectors_without_edge_points() {
    let text = std::fs::read_to_string(crate::shared("conformance/ed25519/ed25519vectors.json"));
    let vectors: Vec<Vector> = serde_json::from_str(&text.unwrap()).unwrap();
    assert_eq!(vectors.len(), 914);
    let tolerated = ["low_order_component_A", "low_order_component_R"];
    let mut accepted = 0;
    for vector in &vectors {
        let key: [u8; 32] = hex::decode(&vector.key).unwrap().try_into().unwrap();
        let sig: [u8; 64] = hex::decode(&vector.sig).unwrap().try_into().unwrap();
        let flags = vector.flags.clone().unwrap_or_default();
        let expected = flags.iter().all(|flag| tolerated.contains(&flag.as_str()));
        let actual = ed25519_verify_strict(&key, vector.msg.as_bytes(), &sig);
        assert_eq!(
            actual, expected,
            "vector {} with flags {flags:?}",
            vector.number
        );
        accepted += usize::from(actual);
    }
    assert_eq!(accepted, 1 + 7 + 35);
}
