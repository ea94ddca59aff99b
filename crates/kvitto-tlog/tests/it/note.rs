//! Signed notes: the golang.org/x/mod known answers, the spec example, and malformed notes.

use kvitto_tlog::limits::NOTE_SIGNATURES_MAX;
use kvitto_tlog::note::{
    ed25519_verify_strict, Ed25519Signer, Ed25519Verifier, KeyError, KeyId, Note, NoteError,
    Signature, Verifier,
};
use serde::Deserialize;

#[derive(Deserialize)]
struct Vectors {
    verifier_keys: std::collections::BTreeMap<String, String>,
    signer_key: String,
    text: String,
    signed_by_peter: String,
    signed_by_peter_and_enoch: String,
    notes: Vec<String>,
}

fn vectors() -> Vectors {
    let text = std::fs::read_to_string(crate::shared("conformance/signed-note/vectors.json"));
    serde_json::from_str(&text.unwrap()).unwrap()
}

fn peter() -> Ed25519Verifier {
    Ed25519Verifier::parse(&vectors().verifier_keys["PeterNeumann"]).unwrap()
}

fn enoch() -> Ed25519Verifier {
    Ed25519Verifier::parse(&vectors().verifier_keys["EnochRoot"]).unwrap()
}

#[test]
fn the_vectors_notes_are_the_tests_below() {
    // Each of the vectors' notes is one test in this module; fail if the list grows.
    let notes = vectors().notes;
    assert_eq!(notes.len(), 3);
    assert!(notes[0].starts_with("Signing `text` with signer_key"));
    assert!(notes[1].starts_with("Opening signed_by_peter_and_enoch with only PeterNeumann"));
    assert!(notes[2].starts_with("Key name and key ID together identify a key"));
}

/// "Signing `text` with signer_key must give exactly signed_by_peter (Ed25519 is deterministic)."
#[test]
fn signing_text_gives_signed_by_peter() {
    let vectors = vectors();
    let signer = Ed25519Signer::parse(&vectors.signer_key).unwrap();
    assert_eq!(signer.name(), "PeterNeumann");
    assert_eq!(signer.key_id(), KeyId(0xc74f20a3));
    assert_eq!(*signer.to_private_key_string(), vectors.signer_key);
    assert_eq!(signer.verifier(), peter());
    let mut note = Note::new(vectors.text).unwrap();
    note.sign(&signer).unwrap();
    assert_eq!(note.to_string(), vectors.signed_by_peter);
}

/// "Opening signed_by_peter_and_enoch with only PeterNeumann's key must succeed and report the
/// EnochRoot line as an unverified (unknown-key) signature."
#[test]
fn opening_with_one_known_key_reports_the_other_as_unverified() {
    let vectors = vectors();
    let note = Note::parse(vectors.signed_by_peter_and_enoch.as_bytes()).unwrap();
    let opened = note.open(&[&peter()]).unwrap();
    assert_eq!(opened.text(), vectors.text);
    assert_eq!(opened.verified().len(), 1);
    assert_eq!(opened.verified()[0].signature.name(), "PeterNeumann");
    assert_eq!(opened.unverified().len(), 1);
    assert_eq!(opened.unverified()[0].name(), "EnochRoot");
    assert_eq!(opened.unverified()[0].key_id(), KeyId(0xaf0cfe78));

    let both = Note::parse(vectors.signed_by_peter_and_enoch.as_bytes()).unwrap();
    let opened = both.open(&[&enoch(), &peter()]).unwrap();
    assert_eq!(opened.verified().len(), 2);
    assert!(opened.is_signed_by(0) && opened.is_signed_by(1));
}

/// "Key name and key ID together identify a key; a signature whose name matches but ID differs is
/// from an unknown key and must be ignored, not failed."
#[test]
fn a_matching_name_with_another_key_id_is_an_unknown_key() {
    let vectors = vectors();
    // Another key named PeterNeumann has another key ID.
    let impostor = Ed25519Signer::from_seed("PeterNeumann", &[7; 32])
        .unwrap()
        .verifier();
    assert_ne!(impostor.key_id(), peter().key_id());
    let note = Note::parse(vectors.signed_by_peter_and_enoch.as_bytes()).unwrap();
    let opened = note.open(&[&impostor, &enoch()]).unwrap();
    assert_eq!(opened.verified().len(), 1);
    assert_eq!(opened.verified()[0].signature.name(), "EnochRoot");
    assert_eq!(opened.unverified()[0].name(), "PeterNeumann");
    // With only the impostor, no known key signed: that is the only failure.
    let note = Note::parse(vectors.signed_by_peter.as_bytes()).unwrap();
    assert_eq!(note.open(&[&impostor]), Err(NoteError::NoVerifiedSignature));

    // The same holds for a matching key ID under another name: a signature line claiming
    // Peter's key ID as "Mallory" is unknown, not a failure.
    let mallory = Note::parse(
        vectors
            .signed_by_peter
            .replace("PeterNeumann", "Mallory")
            .as_bytes(),
    )
    .unwrap();
    assert_eq!(mallory.signatures()[0].key_id(), peter().key_id());
    assert_eq!(
        mallory.open(&[&peter()]),
        Err(NoteError::NoVerifiedSignature)
    );
}

#[test]
fn spec_example_verifies() {
    let vkey = "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k";
    let note = "This is an example message.\n\n\u{2014} example.com/foo Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=\n";
    let verifier = Ed25519Verifier::parse(vkey).unwrap();
    assert_eq!(verifier.to_string(), vkey);
    let opened = Note::parse(note.as_bytes())
        .unwrap()
        .open(&[&verifier])
        .unwrap();
    assert_eq!(opened.text(), "This is an example message.\n");
    assert_eq!(opened.note().to_string(), note);
}

#[test]
fn a_failing_known_signature_rejects_the_note() {
    let vectors = vectors();
    let mut bytes = vectors.signed_by_peter_and_enoch.into_bytes();
    // Change the text: both signatures are now wrong, and Peter's key is known.
    bytes[0] = b'i';
    let note = Note::parse(&bytes).unwrap();
    assert_eq!(
        note.open(&[&peter()]),
        Err(NoteError::InvalidSignature {
            name: "PeterNeumann".into(),
            key_id: KeyId(0xc74f20a3)
        })
    );
}

#[test]
fn repeated_lines_count_once() {
    let vectors = vectors();
    let peter_line = vectors.signed_by_peter.lines().last().unwrap().to_owned() + "\n";
    let enoch_line = vectors
        .signed_by_peter_and_enoch
        .lines()
        .last()
        .unwrap()
        .to_owned()
        + "\n";
    let note = format!(
        "{}{peter_line}{enoch_line}{enoch_line}",
        vectors.signed_by_peter
    );
    let opened = Note::parse(note.as_bytes())
        .unwrap()
        .open(&[&peter()])
        .unwrap();
    assert_eq!(opened.verified().len(), 1);
    assert_eq!(opened.unverified().len(), 1);
}

#[test]
fn parse_and_format_round_trip() {
    let vectors = vectors();
    for text in [&vectors.signed_by_peter, &vectors.signed_by_peter_and_enoch] {
        assert_eq!(Note::parse(text.as_bytes()).unwrap().to_string(), *text);
    }
    // The text may itself contain blank lines; the last one separates the signatures.
    let signer = Ed25519Signer::from_seed("example.com/log", &[1; 32]).unwrap();
    for text in ["a\n\nb\n", "\n", "a\n\n", "a\n\n\u{2014} b c\n"] {
        let mut note = Note::new(text).unwrap();
        note.sign(&signer).unwrap();
        let parsed = Note::parse(note.to_string().as_bytes()).unwrap();
        assert_eq!(parsed.text(), text);
        parsed.open(&[&signer.verifier()]).unwrap();
    }
}

#[test]
fn every_truncation_is_rejected_or_drops_whole_signature_lines() {
    let vectors = vectors();
    let note = vectors.signed_by_peter_and_enoch;
    // Cutting right after a signature line leaves a valid note with fewer signatures: the format
    // cannot tell, and verifiers count what is there. Every other cut is rejected, on character
    // boundaries or not.
    let valid_prefix = vectors.signed_by_peter.len();
    for end in 0..note.len() {
        let truncated = &note.as_bytes()[..end];
        match Note::parse(truncated) {
            Ok(parsed) => {
                assert_eq!(end, valid_prefix);
                assert_eq!(parsed.to_string(), vectors.signed_by_peter);
            }
            Err(_) => assert_ne!(end, valid_prefix),
        }
    }
    let single = vectors.signed_by_peter;
    for end in 0..single.len() {
        assert!(
            Note::parse(&single.as_bytes()[..end]).is_err(),
            "{:?}",
            &single[..end]
        );
    }
}

#[test]
fn malformed_notes_are_rejected() {
    let sig = "\u{2014} PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=";
    let cases: Vec<(String, NoteError)> = vec![
        (format!("text\n{sig}\n"), NoteError::NoSignatureBlock),
        (
            format!("text\n\n{sig}"),
            NoteError::MalformedSignatureLine { line: 1 },
        ),
        ("text\n\n".into(), NoteError::NoSignatures),
        (format!("text\n\n{sig}\n\n"), NoteError::NoSignatures),
        (
            format!("te\rxt\n\n{sig}\n"),
            NoteError::ControlCharacter { byte: b'\r' },
        ),
        (
            format!("text\n\n{sig}\r\n"),
            NoteError::ControlCharacter { byte: b'\r' },
        ),
        (
            format!("text\t\n\n{sig}\n"),
            NoteError::ControlCharacter { byte: b'\t' },
        ),
        (
            format!("text\n\n{}\n", sig.replace('\u{2014}', "-")),
            NoteError::MalformedSignatureLine { line: 1 },
        ),
        (
            format!("text\n\n{}\n", sig.replace("PeterNeumann", "")),
            NoteError::InvalidKeyName {
                name: String::new(),
            },
        ),
        (
            format!("text\n\n{}\n", sig.replace("PeterNeumann", "Peter+Neumann")),
            NoteError::InvalidKeyName {
                name: "Peter+Neumann".into(),
            },
        ),
        (
            format!(
                "text\n\n{}\n",
                sig.replace("PeterNeumann", "Peter\u{a0}Neumann")
            ),
            NoteError::InvalidKeyName {
                name: "Peter\u{a0}Neumann".into(),
            },
        ),
        (
            format!(
                "text\n\n{}\n",
                sig.replace("PeterNeumann ", "PeterNeumann  ")
            ),
            NoteError::MalformedSignatureLine { line: 1 },
        ),
        (
            format!("text\n\n{}\n", sig.replace("AM=", "AN=")),
            NoteError::MalformedSignatureLine { line: 1 },
        ),
        (
            format!("text\n\n{}\n", sig.replace('=', "")),
            NoteError::MalformedSignatureLine { line: 1 },
        ),
        (
            "text\n\n\u{2014} name AAAAAA==\n".into(),
            NoteError::InvalidSignatureSize { size: 4, max: 8192 },
        ),
        (
            "text\n\n\u{2014} name AAAA\n".into(),
            NoteError::InvalidSignatureSize { size: 3, max: 8192 },
        ),
        (
            format!("text\n\n{sig}\n \n"),
            NoteError::MalformedSignatureLine { line: 2 },
        ),
    ];
    for (note, expected) in cases {
        assert_eq!(Note::parse(note.as_bytes()), Err(expected), "{note:?}");
    }
    assert_eq!(Note::parse(b"\xff\n\n"), Err(NoteError::NotUtf8));
    assert_eq!(
        Note::new("no newline"),
        Err(NoteError::TextNotNewlineTerminated)
    );
    assert_eq!(
        Note::new("bell\x07\n"),
        Err(NoteError::ControlCharacter { byte: 7 })
    );
    let huge = vec![b'a'; kvitto_tlog::limits::NOTE_SIZE_MAX + 1];
    assert!(matches!(
        Note::parse(&huge),
        Err(NoteError::TooLarge { .. })
    ));
}

#[test]
fn signature_count_is_bounded() {
    let signer = Ed25519Signer::from_seed("log", &[2; 32]).unwrap();
    let line = signer.sign("text\n").line();
    let at_limit = format!("text\n\n{}", line.repeat(NOTE_SIGNATURES_MAX));
    let opened = Note::parse(at_limit.as_bytes())
        .unwrap()
        .open(&[&signer.verifier()])
        .unwrap();
    assert_eq!(opened.verified().len(), 1);
    let over = format!("text\n\n{}", line.repeat(NOTE_SIGNATURES_MAX + 1));
    assert_eq!(
        Note::parse(over.as_bytes()),
        Err(NoteError::TooManySignatures {
            max: NOTE_SIGNATURES_MAX
        })
    );
    let mut note = Note::parse(at_limit.as_bytes()).unwrap();
    assert!(note.sign(&signer).is_err());
}

#[test]
fn keys_round_trip_and_malformed_keys_are_rejected() {
    let mut rng = rand::rngs::OsRng;
    let signer = Ed25519Signer::generate("example.com/log", &mut rng).unwrap();
    let again = Ed25519Signer::parse(&signer.to_private_key_string()).unwrap();
    assert_eq!(again.verifier(), signer.verifier());
    let vkey = signer.verifier().to_string();
    assert_eq!(Ed25519Verifier::parse(&vkey).unwrap(), signer.verifier());
    let private = signer.to_private_key_string();
    let secret = private.rsplit('+').next().unwrap();
    assert!(!format!("{signer:?}").contains(secret));
    assert_eq!(
        signer.key_id(),
        KeyId::derive("example.com/log", 0x01, signer.verifier().public_key())
    );

    let peter = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
    let cases = [
        (
            "PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW".to_owned(),
            KeyError::KeyIdMismatch {
                found: KeyId(0xc74f20a4),
                derived: KeyId(0xc74f20a3),
            },
        ),
        (peter.replace("c74f20a3", "C74F20A3"), KeyError::Malformed),
        (peter.replace("c74f20a3", "c74f20a"), KeyError::Malformed),
        (
            peter.replace("+ARpc", "+BRpc"),
            KeyError::WrongType {
                found: 0x05,
                expected: 0x01,
            },
        ),
        (peter.replace("W", ""), KeyError::Malformed),
        (format!("{peter}+extra"), KeyError::Malformed),
        (
            peter.replace("PeterNeumann", "Peter Neumann"),
            KeyError::InvalidName {
                name: "Peter Neumann".into(),
            },
        ),
        (
            peter.replace("PeterNeumann", ""),
            KeyError::InvalidName {
                name: String::new(),
            },
        ),
        (
            "name+00000000+AQ==".to_owned(),
            KeyError::WrongLength {
                expected: 32,
                actual: 0,
            },
        ),
    ];
    for (text, expected) in cases {
        assert_eq!(Ed25519Verifier::parse(&text), Err(expected), "{text}");
    }
    // The identity point is a valid encoding of a small-order key: rejected.
    assert_eq!(
        Ed25519Verifier::new("weak", &{
            let mut identity = [0; 32];
            identity[0] = 1;
            identity
        }),
        Err(KeyError::WeakPublicKey)
    );
    assert!(Ed25519Signer::parse(
        "PRIVATE+KEY+PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
    )
    .is_err());
}

#[test]
fn signatures_validate_their_parts() {
    assert!(matches!(
        Signature::new("", KeyId(0), vec![1]),
        Err(NoteError::InvalidKeyName { .. })
    ));
    assert!(matches!(
        Signature::new("a", KeyId(0), vec![]),
        Err(NoteError::InvalidSignatureSize { .. })
    ));
    assert!(matches!(
        Signature::new("a", KeyId(0), vec![0; 8192]),
        Err(NoteError::InvalidSignatureSize { .. })
    ));
    let signer = Ed25519Signer::from_seed("log", &[3; 32]).unwrap();
    let signature = signer.sign("text\n");
    assert!(ed25519_verify_strict(
        signer.verifier().public_key(),
        b"text\n",
        signature.bytes().try_into().unwrap()
    ));
}
