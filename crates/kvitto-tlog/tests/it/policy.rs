//! tlog-policy: parsing, quorum evaluation, and verifying cosigned checkpoints.

use kvitto_tlog::checkpoint::Checkpoint;
use kvitto_tlog::cosignature::CosignatureSigner;
use kvitto_tlog::note::{Ed25519Signer, Note, NoteError};
use kvitto_tlog::policy::{LineError, Member, Policy, PolicyError, Quorum, VerifyError};

use crate::checkpoint::{checkpoint, log_signer, witness_signer};

fn witnesses() -> Vec<CosignatureSigner> {
    (1..=6).map(witness_signer).collect()
}

/// The spec's two-level example, with real keys.
fn example_policy() -> String {
    let w = witnesses();
    let vkey = |i: usize| w[i].verifier().to_string();
    format!(
        "# kvitto test policy\n\
         log {}\n\
         \n\
         witness X1 {}\n\
         witness X2 {} https://x2.example/\n\
         witness X3 {}\n\
         group X-witnesses 2 X1 X2 X3\n\
         \n\
         \t  witness Y1 {}   \n\
         witness\tY2 {}\n\
         witness Y3 {}\n\
         group Y-witnesses any Y1 Y2 Y3\n\
         \n\
         group X-and-Y all X-witnesses Y-witnesses\n\
         quorum X-and-Y\n",
        log_signer().verifier(),
        vkey(0),
        vkey(1),
        vkey(2),
        vkey(3),
        vkey(4),
        vkey(5),
    )
}

#[test]
fn the_spec_example_parses() {
    let policy = Policy::parse(&example_policy()).unwrap();
    assert_eq!(policy.logs().len(), 1);
    assert_eq!(policy.witnesses().len(), 6);
    assert_eq!(
        policy.witnesses()[1].url.as_deref(),
        Some("https://x2.example/")
    );
    assert_eq!(policy.witnesses()[3].name, "Y1");
    assert_eq!(policy.groups().len(), 3);
    assert_eq!(policy.groups()[0].threshold, 2);
    assert_eq!(policy.groups()[1].threshold, 1);
    assert_eq!(policy.groups()[2].threshold, 2);
    assert_eq!(
        policy.groups()[2].members,
        [Member::Group(0), Member::Group(1)]
    );
    assert_eq!(policy.quorum(), Quorum::Member(Member::Group(2)));
}

#[test]
fn quorum_needs_two_x_and_one_y() {
    let policy = Policy::parse(&example_policy()).unwrap();
    for mask in 0u32..64 {
        let cosigned: Vec<bool> = (0..6).map(|i| mask & (1 << i) != 0).collect();
        let xs = cosigned[..3].iter().filter(|&&c| c).count();
        let ys = cosigned[3..].iter().filter(|&&c| c).count();
        assert_eq!(
            policy.is_quorum_met(&cosigned),
            xs >= 2 && ys >= 1,
            "{cosigned:?}"
        );
    }
}

fn cosigned(checkpoint: &Checkpoint, by: &[usize]) -> Note {
    let mut note = checkpoint.sign(&log_signer()).unwrap();
    let w = witnesses();
    for &i in by {
        note.push_signature(w[i].cosign(checkpoint, 1_700_000_000 + i as u64).unwrap())
            .unwrap();
    }
    note
}

#[test]
fn checkpoints_are_verified_under_the_policy() {
    let policy = Policy::parse(&example_policy()).unwrap();
    let checkpoint = checkpoint(9);
    let witnessed = policy
        .verify(cosigned(&checkpoint, &[0, 2, 4]).to_string().as_bytes())
        .unwrap();
    assert_eq!(witnessed.checkpoint, checkpoint);
    assert_eq!(witnessed.log, 0);
    assert_eq!(
        witnessed.cosignatures,
        [(0, 1_700_000_000), (2, 1_700_000_002), (4, 1_700_000_004)]
    );

    for by in [&[][..], &[0, 1, 2], &[3, 4, 5], &[0, 3]] {
        let note = cosigned(&checkpoint, by).to_string();
        assert_eq!(
            policy.verify(note.as_bytes()),
            Err(VerifyError::QuorumNotMet),
            "{by:?}"
        );
    }

    // Unknown witnesses are ignored.
    let mut note = cosigned(&checkpoint, &[0, 1, 5]);
    let stranger = CosignatureSigner::from_seed("stranger.example", &[9; 32]).unwrap();
    note.push_signature(stranger.cosign(&checkpoint, 5).unwrap())
        .unwrap();
    assert!(policy.verify(note.to_string().as_bytes()).is_ok());

    // Witnesses alone do not make a checkpoint: the log must sign it.
    let mut unsigned = Note::new(checkpoint.to_text()).unwrap();
    for signature in cosigned(&checkpoint, &[0, 1, 5])
        .signatures()
        .iter()
        .skip(1)
    {
        unsigned.push_signature(signature.clone()).unwrap();
    }
    assert!(matches!(
        policy.verify(unsigned.to_string().as_bytes()),
        Err(VerifyError::NotSignedByLog { .. })
    ));

    // A log key whose name is not the origin does not count.
    let stray = Checkpoint::new("example.com/elsewhere", 9, *checkpoint.root(), vec![]).unwrap();
    let note = cosigned(&stray, &[0, 1, 5]).to_string();
    assert!(matches!(
        policy.verify(note.as_bytes()),
        Err(VerifyError::NotSignedByLog { .. })
    ));

    // A known witness's invalid cosignature rejects the note.
    let mut forged = cosigned(&checkpoint, &[0, 1]);
    forged
        .push_signature(
            witnesses()[5]
                .cosign(&crate::checkpoint::checkpoint(10), 1)
                .unwrap(),
        )
        .unwrap();
    assert!(matches!(
        policy.verify(forged.to_string().as_bytes()),
        Err(VerifyError::Note(NoteError::InvalidSignature { .. }))
    ));
}

#[test]
fn quorum_none_needs_only_the_log() {
    let policy = Policy::parse(&format!("log {}\nquorum none", log_signer().verifier())).unwrap();
    let note = checkpoint(2).sign(&log_signer()).unwrap().to_string();
    assert!(policy
        .verify(note.as_bytes())
        .unwrap()
        .cosignatures
        .is_empty());
    let other = Ed25519Signer::from_seed("example.com/kvitto", &[0x55; 32]).unwrap();
    let note = checkpoint(2).sign(&other).unwrap().to_string();
    assert_eq!(
        policy.verify(note.as_bytes()),
        Err(VerifyError::Note(NoteError::NoVerifiedSignature))
    );
}

#[test]
fn malformed_policies_are_rejected() {
    let w = witnesses();
    let (a, b) = (w[0].verifier().to_string(), w[1].verifier().to_string());
    let log = log_signer().verifier().to_string();
    let line = |line: usize, error: LineError| PolicyError::Line { line, error };
    let cases = [
        (format!("log {log}\n"), PolicyError::NoQuorum),
        (
            "quorum A\n".to_owned(),
            line(1, LineError::UndefinedName { name: "A".into() }),
        ),
        (
            format!("group G any A\nwitness A {a}\nquorum G\n"),
            line(1, LineError::UndefinedName { name: "A".into() }),
        ),
        (
            format!("witness A {a}\nwitness A {b}\n"),
            line(2, LineError::DuplicateName { name: "A".into() }),
        ),
        (
            format!("witness A {a}\ngroup A any A\n"),
            line(2, LineError::DuplicateName { name: "A".into() }),
        ),
        (
            format!("witness A {a}\nwitness B {a}\n"),
            line(2, LineError::DuplicateKey),
        ),
        (
            format!("log {log}\nlog {log}\n"),
            line(2, LineError::DuplicateKey),
        ),
        (
            format!("witness none {a}\n"),
            line(1, LineError::ReservedName),
        ),
        (
            format!("witness A {a}\ngroup G any A none\n"),
            line(2, LineError::ReservedName),
        ),
        (
            format!("witness A {a}\ngroup G any A A\n"),
            line(2, LineError::MemberListedTwice { name: "A".into() }),
        ),
        (
            format!("witness A {a}\ngroup G any A\ngroup H any A\n"),
            line(3, LineError::MemberListedTwice { name: "A".into() }),
        ),
        (
            format!("witness A {a}\ngroup G 2 A\n"),
            line(2, LineError::InvalidThreshold),
        ),
        (
            format!("witness A {a}\ngroup G 0 A\n"),
            line(2, LineError::InvalidThreshold),
        ),
        (
            format!("witness A {a}\ngroup G 01 A\n"),
            line(2, LineError::InvalidThreshold),
        ),
        (
            format!("witness A {a}\ngroup G some A\n"),
            line(2, LineError::InvalidThreshold),
        ),
        (
            format!("witness A {a}\ngroup G any\n"),
            line(2, LineError::WrongFieldCount),
        ),
        (
            format!("witness A {a} url extra\n"),
            line(1, LineError::WrongFieldCount),
        ),
        (
            "quorum none\nquorum none\n".to_owned(),
            line(2, LineError::SecondQuorum),
        ),
        ("quorum\n".to_owned(), line(1, LineError::WrongFieldCount)),
        (
            "witnesses A\n".to_owned(),
            line(
                1,
                LineError::UnknownKeyword {
                    keyword: "witnesses".into(),
                },
            ),
        ),
        (
            "quorum none\r\n".to_owned(),
            line(1, LineError::ControlCharacter { byte: b'\r' }),
        ),
        (
            "# \x7f\nquorum none\n".to_owned(),
            line(1, LineError::ControlCharacter { byte: 0x7f }),
        ),
        (
            format!("witness A {log}\n"),
            line(
                1,
                LineError::InvalidKey(kvitto_tlog::note::KeyError::WrongType {
                    found: 1,
                    expected: 4,
                }),
            ),
        ),
        (
            format!("log {a}\n"),
            line(
                1,
                LineError::InvalidKey(kvitto_tlog::note::KeyError::WrongType {
                    found: 4,
                    expected: 1,
                }),
            ),
        ),
    ];
    for (text, expected) in cases {
        assert_eq!(Policy::parse(&text), Err(expected), "{text:?}");
    }
    // Comments, blank lines, tabs and non-ASCII names are fine.
    let policy = format!(
        "  # comment\n\n\twitness Zeugin\u{e4} {a}\t# not a comment: a URL\nquorum Zeugin\u{e4}\n"
    );
    assert!(matches!(
        Policy::parse(&policy),
        Err(PolicyError::Line {
            line: 3,
            error: LineError::WrongFieldCount
        })
    ));
    let policy = format!("  # comment\n\n\twitness Zeugin\u{e4} {a}\t\nquorum Zeugin\u{e4}");
    assert_eq!(
        Policy::parse(&policy).unwrap().quorum(),
        Quorum::Member(Member::Witness(0))
    );
}

#[test]
fn policy_sizes_are_bounded() {
    let mut text = String::new();
    for i in 0..65u8 {
        let signer = CosignatureSigner::from_seed(&format!("w{i}"), &[i; 32]).unwrap();
        text.push_str(&format!("witness W{i} {}\n", signer.verifier()));
    }
    assert!(matches!(
        Policy::parse(&text),
        Err(PolicyError::Line {
            line: 65,
            error: LineError::TooMany { max: 64 }
        })
    ));
    let huge = "#".repeat(kvitto_tlog::limits::POLICY_SIZE_MAX + 1);
    assert_eq!(
        Policy::parse(&huge),
        Err(PolicyError::TooLarge { max: 65536 })
    );
}
