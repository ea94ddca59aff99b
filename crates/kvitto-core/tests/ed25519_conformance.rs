//! Pins kvitto's one Ed25519 rule against every C2SP/CCTV edge-case vector.
//!
//! The rule (`specs/crypto.md`) accepts a vector exactly when none of these flags is set:
//! `low_order_A`, `low_order_R`, `non_canonical_A`, `non_canonical_R`, `low_order_residue`.
//! Mixed-order keys (`low_order_component_*` alone) are accepted when the cofactorless equation
//! holds, which is what `verify_strict` does.

use ed25519_dalek::VerifyingKey;
use kvitto_core::keys::verify_raw;
use serde::Deserialize;

#[derive(Deserialize)]
struct Vector {
    number: u32,
    key: String,
    sig: String,
    msg: String,
    flags: Option<Vec<String>>,
}

const REJECTING_FLAGS: &[&str] = &[
    "low_order_A",
    "low_order_R",
    "non_canonical_A",
    "non_canonical_R",
    "low_order_residue",
];

#[test]
fn every_vector_matches_the_strict_rule() {
    // Read at run time (cargo sets it), as kvitto-tariff's tests do.
    let path = std::env::var_os("CARGO_MANIFEST_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")))
        .join("../../../shared/conformance/ed25519/ed25519vectors.json");
    let text = std::fs::read_to_string(path).expect("conformance vectors at ../shared");
    let vectors: Vec<Vector> = serde_json::from_str(&text).unwrap();
    assert!(vectors.len() > 900, "expected the full vector set");
    let (mut accepted, mut rejected) = (0, 0);
    for v in &vectors {
        let flags = v.flags.clone().unwrap_or_default();
        let want_accept = !flags.iter().any(|f| REJECTING_FLAGS.contains(&f.as_str()));
        let key: [u8; 32] = hex::decode(&v.key).unwrap().try_into().unwrap();
        let sig: [u8; 64] = hex::decode(&v.sig).unwrap().try_into().unwrap();
        let got_accept = match VerifyingKey::from_bytes(&key) {
            Ok(vk) => verify_raw(&vk, v.msg.as_bytes(), &sig).is_ok(),
            Err(_) => false,
        };
        assert_eq!(
            got_accept, want_accept,
            "vector {} flags {:?}",
            v.number, flags
        );
        if got_accept {
            accepted += 1
        } else {
            rejected += 1
        }
    }
    // Both outcomes must occur, or the test would pass with a rule that always says one thing.
    assert!(
        accepted > 0 && rejected > 0,
        "accepted {accepted} rejected {rejected}"
    );
}
