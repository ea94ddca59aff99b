//! Ed25519 cosignatures (type 0x04): the spec example, signing, verifying and tampering.

use kvitto_tlog::checkpoint::Checkpoint;
use kvitto_tlog::cosignature::{
    signed_message, Cosignature, CosignatureError, CosignatureSigner, CosignatureVerifier,
};
use kvitto_tlog::limits::COSIGNATURE_TIMESTAMP_MAX;
use kvitto_tlog::note::{Ed25519Verifier, KeyError, KeyId, Note, NoteError, Verifier};

use crate::checkpoint::{checkpoint, log_signer, witness_signer};

#[test]
fn spec_example_signature_line_decodes() {
    let line = "\u{2014} witness.example.com/w1 jWbPPwAAAABkGFDLEZMHwSRaJNiIDoe9DYn/zXcrtPHeolMI5OWXEhZCB9dlrDJsX3b2oyin1nPZqhf5nNo0xUe+mbIUBkBIfZ+qnA==\n";
    let body =
        "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n";
    let note = Note::parse(format!("{body}\n{line}").as_bytes()).unwrap();
    let signature = &note.signatures()[0];
    assert_eq!(signature.name(), "witness.example.com/w1");
    assert_eq!(signature.key_id(), KeyId(0x8d66cf3f));
    let cosignature = Cosignature::from_bytes(signature.bytes()).unwrap();
    // The spec's signed-message example uses this very timestamp.
    assert_eq!(cosignature.timestamp, 1679315147);
    assert_eq!(
        signed_message(body, cosignature.timestamp),
        b"cosignature/v1\ntime 1679315147\nexample.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
    );
}

#[test]
fn cosignatures_verify_and_tampering_fails() {
    let witness = witness_signer(1);
    let verifier = witness.verifier();
    let checkpoint = checkpoint(7);
    let signature = witness.cosign(&checkpoint, 1_700_000_000).unwrap();
    assert_eq!(signature.bytes().len(), 72);
    assert_eq!(&signature.bytes()[..8], 1_700_000_000u64.to_be_bytes());
    let text = checkpoint.to_text();
    assert!(verifier.verify(&text, signature.bytes()));

    let mut later = signature.bytes().to_vec();
    later[7] ^= 1;
    assert!(!verifier.verify(&text, &later), "the timestamp is signed");
    assert!(!verifier.verify(
        &crate::checkpoint::checkpoint(8).to_text(),
        signature.bytes()
    ));
    assert!(!verifier.verify(&text, &signature.bytes()[..71]));
    assert!(!verifier.verify(&text, &[signature.bytes(), &[0]].concat()));
    // A plain note signature by the same key is not a cosignature.
    assert!(!verifier.verify(&text, &signature.bytes()[8..]));

    // Through a note, next to the log's signature.
    let mut note = checkpoint.sign(&log_signer()).unwrap();
    note.push_signature(signature).unwrap();
    let opened = note.open(&[&verifier]).unwrap();
    assert_eq!(opened.verified().len(), 1);
    assert_eq!(opened.unverified()[0].name(), "example.com/kvitto");
}

#[test]
fn timestamps_are_bounded() {
    let witness = witness_signer(2);
    let checkpoint = checkpoint(1);
    let signature = witness
        .cosign(&checkpoint, COSIGNATURE_TIMESTAMP_MAX)
        .unwrap();
    assert!(witness
        .verifier()
        .verify(&checkpoint.to_text(), signature.bytes()));
    assert_eq!(
        witness.cosign(&checkpoint, COSIGNATURE_TIMESTAMP_MAX + 1),
        Err(CosignatureError::TimestampTooLarge { timestamp: 1 << 63 })
    );
    let mut bytes = Cosignature {
        timestamp: 0,
        signature: [0; 64],
    }
    .to_bytes();
    bytes[0] = 0x80;
    assert_eq!(
        Cosignature::from_bytes(&bytes),
        Err(CosignatureError::TimestampTooLarge { timestamp: 1 << 63 })
    );
    assert_eq!(
        Cosignature::from_bytes(&bytes[..8]),
        Err(CosignatureError::WrongSize { actual: 8 })
    );
}

#[test]
fn cosigner_key_ids_use_type_0x04() {
    let witness = witness_signer(1);
    let public_key = witness.verifier().public_key().to_owned();
    assert_eq!(
        witness.key_id(),
        KeyId::derive(witness.name(), 0x04, &public_key)
    );
    let as_note_key = Ed25519Verifier::new(witness.name(), &public_key).unwrap();
    assert_ne!(as_note_key.key_id(), witness.key_id());

    let vkey = witness.verifier().to_string();
    assert!(vkey.starts_with("witness.example/w1+"));
    assert_eq!(
        CosignatureVerifier::parse(&vkey).unwrap(),
        witness.verifier()
    );
    assert_eq!(
        Ed25519Verifier::parse(&vkey),
        Err(KeyError::WrongType {
            found: 0x04,
            expected: 0x01
        })
    );
    assert_eq!(
        CosignatureVerifier::parse(&as_note_key.to_string()),
        Err(KeyError::WrongType {
            found: 0x01,
            expected: 0x04
        })
    );
    let private = witness.to_private_key_string();
    assert_eq!(
        CosignatureSigner::parse(&private).unwrap().verifier(),
        witness.verifier()
    );
}

#[test]
fn a_bad_cosignature_by_a_known_witness_rejects_the_note() {
    let witness = witness_signer(1);
    let checkpoint = checkpoint(4);
    let mut note = checkpoint.sign(&log_signer()).unwrap();
    // A cosignature of another checkpoint, pasted onto this one.
    note.push_signature(
        witness
            .cosign(&crate::checkpoint::checkpoint(5), 1)
            .unwrap(),
    )
    .unwrap();
    let verifier = witness.verifier();
    let log = log_signer().verifier();
    assert!(matches!(
        Note::parse(note.to_string().as_bytes())
            .unwrap()
            .open(&[&log, &verifier]),
        Err(NoteError::InvalidSignature { .. })
    ));
    // Without the witness's key, the line is unknown and ignored.
    let opened = Note::parse(note.to_string().as_bytes())
        .unwrap()
        .open(&[&log])
        .unwrap();
    assert_eq!(opened.unverified().len(), 1);
    let _: &Checkpoint = &checkpoint;
}
