//! tlog-proof: encoding, strict parsing and offline verification.

use kvitto_tlog::merkle::{inclusion_proof, leaf_hash, MemoryTree};
use kvitto_tlog::policy::Policy;
use kvitto_tlog::tlog_proof::{TlogProof, TlogProofError};
use kvitto_tlog::Hash;

use crate::checkpoint::{log_signer, witness_signer};

fn proof(index: u64, extra: Option<Vec<u8>>) -> (TlogProof, Policy) {
    let entries = crate::entries(20);
    let tree = MemoryTree::from_entries(&entries).unwrap();
    let checkpoint = crate::checkpoint::checkpoint(20);
    let mut note = checkpoint.sign(&log_signer()).unwrap();
    note.push_signature(
        witness_signer(1)
            .cosign(&checkpoint, 1_700_000_000)
            .unwrap(),
    )
    .unwrap();
    let path = inclusion_proof(&tree, index, 20).unwrap();
    let proof = TlogProof::new(extra, index, path, note).unwrap();
    let policy = format!(
        "log {}\nwitness W1 {}\nquorum W1\n",
        log_signer().verifier(),
        witness_signer(1).verifier()
    );
    (proof, Policy::parse(&policy).unwrap())
}

#[test]
fn proofs_round_trip_and_verify() {
    let (proof, policy) = proof(13, Some(b"receipt context".to_vec()));
    let text = proof.to_text();
    assert!(text.starts_with("c2sp.org/tlog-proof@v1\nextra cmVjZWlwdCBjb250ZXh0\nindex 13\n"));
    let parsed = TlogProof::parse(text.as_bytes()).unwrap();
    assert_eq!(parsed, proof);
    let leaf = leaf_hash(&13u64.to_le_bytes());
    let witnessed = parsed.verify(&leaf, &policy).unwrap();
    assert_eq!(witnessed.checkpoint.size(), 20);
    assert_eq!(witnessed.cosignatures, [(0, 1_700_000_000)]);

    assert!(matches!(
        parsed.verify(&leaf_hash(&12u64.to_le_bytes()), &policy),
        Err(TlogProofError::Inclusion(_))
    ));
    let other_index = text.replace("index 13\n", "index 12\n");
    let other = TlogProof::parse(other_index.as_bytes()).unwrap();
    assert!(matches!(
        other.verify(&leaf, &policy),
        Err(TlogProofError::Inclusion(_))
    ));
    let unwitnessed = Policy::parse(&format!(
        "log {}\nwitness W2 {}\nquorum W2\n",
        log_signer().verifier(),
        witness_signer(2).verifier()
    ))
    .unwrap();
    assert!(matches!(
        parsed.verify(&leaf, &unwitnessed),
        Err(TlogProofError::Policy(_))
    ));
}

#[test]
fn proof_snapshot() {
    let (proof, _) = proof(0, None);
    insta::assert_snapshot!("tlog_proof", proof.to_text());
}

#[test]
fn every_truncation_is_rejected() {
    let (proof, _) = proof(7, Some(vec![1, 2, 3]));
    let text = proof.to_text();
    // Only the cut that drops the whole cosignature line leaves a valid proof.
    let cosignature_line = proof.note().signatures()[1].line();
    let without_cosignature = text.len() - cosignature_line.len();
    for end in 0..text.len() {
        let parsed = TlogProof::parse(&text.as_bytes()[..end]);
        assert_eq!(
            parsed.is_ok(),
            end == without_cosignature,
            "{:?}",
            &text[..end]
        );
    }
}

#[test]
fn malformed_proofs_are_rejected() {
    let (proof, _) = proof(7, None);
    let text = proof.to_text();
    let hash = proof.inclusion_proof()[0].to_base64();
    let cases = [
        (
            text.replacen("c2sp.org/tlog-proof@v1", "c2sp.org/tlog-proof@v2", 1),
            TlogProofError::WrongHeader,
        ),
        (
            text.replacen("index 7", "index 07", 1),
            TlogProofError::InvalidIndex,
        ),
        (
            text.replacen("index 7", "index  7", 1),
            TlogProofError::InvalidIndex,
        ),
        (
            text.replacen("index 7\n", "extra AQ=\nindex 7\n", 1),
            TlogProofError::InvalidExtra { max: 4096 },
        ),
        (
            text.replacen("index 7\n", "index 7\nextra AQ==\n", 1),
            TlogProofError::InvalidHash { line: 3 },
        ),
        (
            text.replacen(&hash, &hash[..40], 1),
            TlogProofError::InvalidHash { line: 3 },
        ),
        (
            text.replacen(&format!("{hash}\n"), &format!("{hash} \n"), 1),
            TlogProofError::InvalidHash { line: 3 },
        ),
    ];
    for (text, expected) in cases {
        assert_eq!(TlogProof::parse(text.as_bytes()), Err(expected), "{text:?}");
    }
    let too_many = text.replacen(&format!("{hash}\n"), &format!("{hash}\n").repeat(65), 1);
    assert_eq!(
        TlogProof::parse(too_many.as_bytes()),
        Err(TlogProofError::TooManyHashes { max: 64 })
    );
    // An empty extra is a value, and round-trips.
    let empty_extra = text.replacen("index 7\n", "extra \nindex 7\n", 1);
    let parsed = TlogProof::parse(empty_extra.as_bytes()).unwrap();
    assert_eq!(parsed.extra(), Some(&[][..]));
    assert_eq!(parsed.to_text(), empty_extra);
    let _: Hash = proof.inclusion_proof()[0];
}
