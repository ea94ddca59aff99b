//! Checkpoints: the spec example, strict parsing, signing and a snapshot of the wire bytes.

use kvitto_tlog::checkpoint::{Checkpoint, CheckpointError};
use kvitto_tlog::cosignature::CosignatureSigner;
use kvitto_tlog::merkle::{MemoryTree, EMPTY_ROOT};
use kvitto_tlog::note::{Ed25519Signer, Note, NoteError};
use kvitto_tlog::Hash;
use proptest::prelude::*;

pub fn log_signer() -> Ed25519Signer {
    Ed25519Signer::from_seed("example.com/kvitto", &[0x11; 32]).unwrap()
}

pub fn witness_signer(number: u8) -> CosignatureSigner {
    CosignatureSigner::from_seed(&format!("witness.example/w{number}"), &[0x20 + number; 32])
        .unwrap()
}

/// The checkpoint of a tree of `size` entries made by [`crate::entries`].
pub fn checkpoint(size: u64) -> Checkpoint {
    let tree = MemoryTree::from_entries(crate::entries(size)).unwrap();
    Checkpoint::new("example.com/kvitto", size, tree.root(), Vec::new()).unwrap()
}

const SPEC_BODY: &str =
    "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n";

#[test]
fn spec_example_parses() {
    let checkpoint = Checkpoint::parse(SPEC_BODY).unwrap();
    assert_eq!(checkpoint.origin(), "example.com/behind-the-sofa");
    assert_eq!(checkpoint.size(), 20852163);
    assert_eq!(
        checkpoint.root().to_base64(),
        "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I="
    );
    assert!(checkpoint.extensions().is_empty());
    assert_eq!(checkpoint.to_text(), SPEC_BODY);
    let note = format!("{SPEC_BODY}\n\u{2014} example.com/behind-the-sofa Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7u5/Zhcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=\n");
    let note = Note::parse(note.as_bytes()).unwrap();
    assert_eq!(Checkpoint::parse(note.text()).unwrap(), checkpoint);
}

#[test]
fn malformed_bodies_are_rejected() {
    let root = EMPTY_ROOT.to_base64();
    let cases = [
        (
            format!("o\n0\n{root}"),
            CheckpointError::NotNewlineTerminated,
        ),
        (
            "o\n0\n".to_owned(),
            CheckpointError::TooFewLines { lines: 2 },
        ),
        (
            format!("\n0\n{root}\n"),
            CheckpointError::EmptyLine { line: 1 },
        ),
        (
            format!("o\n\n{root}\n"),
            CheckpointError::EmptyLine { line: 2 },
        ),
        (
            format!("o\n0\n{root}\n\n"),
            CheckpointError::EmptyLine { line: 4 },
        ),
        (
            format!("o\n0\n{root}\next\n\n"),
            CheckpointError::EmptyLine { line: 5 },
        ),
        (format!("o\n00\n{root}\n"), CheckpointError::InvalidSize),
        (format!("o\n01\n{root}\n"), CheckpointError::InvalidSize),
        (format!("o\n+1\n{root}\n"), CheckpointError::InvalidSize),
        (format!("o\n 1\n{root}\n"), CheckpointError::InvalidSize),
        (
            format!("o\n18446744073709551616\n{root}\n"),
            CheckpointError::InvalidSize,
        ),
        ("o\n0\nAAAA\n".to_owned(), CheckpointError::InvalidRoot),
        (
            format!("o\n0\n{}\n", root.trim_end_matches('=')),
            CheckpointError::InvalidRoot,
        ),
        (format!("o\n0\n{root} \n"), CheckpointError::InvalidRoot),
        (
            format!("o\n0\n{}\n", Hash([0; 32]).to_base64()),
            CheckpointError::EmptyTreeRoot,
        ),
        (
            format!("o\r\n0\n{root}\n"),
            CheckpointError::ControlCharacter { line: 1 },
        ),
        (
            format!("o\n0\n{root}\n{}", "e\n".repeat(17)),
            CheckpointError::TooManyExtensions { max: 16 },
        ),
        (
            format!("{}\n0\n{root}\n", "o".repeat(256)),
            CheckpointError::OriginTooLong { max: 255 },
        ),
    ];
    for (text, expected) in cases {
        assert_eq!(Checkpoint::parse(&text), Err(expected), "{text:?}");
    }
    // Any root goes with a non-empty tree; spaces and plus signs are allowed in the origin.
    let zero = Hash([0; 32]).to_base64();
    assert!(Checkpoint::parse(&format!("o + o\n1\n{zero}\n")).is_ok());
    assert_eq!(
        Checkpoint::parse(&format!("o\n0\n{root}\n"))
            .unwrap()
            .size(),
        0
    );
}

#[test]
fn every_truncation_is_rejected() {
    let body = checkpoint(5).to_text();
    for end in 0..body.len() {
        assert!(
            Checkpoint::parse(&body[..end]).is_err(),
            "{:?}",
            &body[..end]
        );
    }
    let log = log_signer();
    let mut note = checkpoint(5).sign(&log).unwrap();
    note.push_signature(
        witness_signer(1)
            .cosign(&checkpoint(5), 1_700_000_000)
            .unwrap(),
    )
    .unwrap();
    let bytes = note.to_string();
    Checkpoint::open(bytes.as_bytes(), &log.verifier()).unwrap();
    // Only the cut that drops the whole cosignature line leaves a valid (log-signed) note.
    let log_signed = checkpoint(5).sign(&log).unwrap().to_string();
    for end in 0..bytes.len() {
        let opened = Checkpoint::open(&bytes.as_bytes()[..end], &log.verifier());
        assert_eq!(opened.is_ok(), end == log_signed.len(), "cut at {end}");
    }
}

#[test]
fn signed_checkpoint_snapshot() {
    let checkpoint = checkpoint(10);
    let mut note = checkpoint.sign(&log_signer()).unwrap();
    note.push_signature(
        witness_signer(1)
            .cosign(&checkpoint, 1_700_000_000)
            .unwrap(),
    )
    .unwrap();
    // Snapshots trim the final newline; the wire form has it.
    assert!(note.to_string().ends_with("==\n"));
    insta::assert_snapshot!("signed_checkpoint", note.to_string());
    let with_extensions = Checkpoint::new(
        checkpoint.origin(),
        checkpoint.size(),
        *checkpoint.root(),
        vec!["kvitto-extension one".into(), "two".into()],
    )
    .unwrap();
    insta::assert_snapshot!(
        "checkpoint_with_extensions",
        with_extensions.sign(&log_signer()).unwrap().to_string()
    );
}

#[test]
fn open_checks_the_log_key_and_origin() {
    let log = log_signer();
    let note = checkpoint(3).sign(&log).unwrap().to_string();
    let signed = Checkpoint::open(note.as_bytes(), &log.verifier()).unwrap();
    assert_eq!(signed.checkpoint, checkpoint(3));
    let other = Ed25519Signer::from_seed("example.com/kvitto", &[0x12; 32]).unwrap();
    assert_eq!(
        Checkpoint::open(note.as_bytes(), &other.verifier()),
        Err(CheckpointError::Note(NoteError::NoVerifiedSignature))
    );
    let renamed = Ed25519Signer::from_seed("example.com/other", &[0x11; 32]).unwrap();
    let note = checkpoint(3).sign(&renamed).unwrap().to_string();
    assert!(matches!(
        Checkpoint::open(note.as_bytes(), &renamed.verifier()),
        Err(CheckpointError::OriginMismatch { .. })
    ));
}

fn line_strategy() -> impl Strategy<Value = String> {
    "[^\\x00-\\x1f]{1,40}"
}

proptest! {
    #[test]
    fn bodies_round_trip(
        origin in line_strategy(),
        size in 1u64..,
        root in any::<[u8; 32]>(),
        extensions in proptest::collection::vec(line_strategy(), 0..4),
    ) {
        let checkpoint = Checkpoint::new(origin, size, Hash(root), extensions).unwrap();
        prop_assert_eq!(Checkpoint::parse(&checkpoint.to_text()), Ok(checkpoint.clone()));
        let note = checkpoint.sign(&log_signer()).unwrap();
        let parsed = Note::parse(note.to_string().as_bytes()).unwrap();
        prop_assert_eq!(parsed.text(), checkpoint.to_text());
    }
}
