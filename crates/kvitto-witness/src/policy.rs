//! Deciding when a checkpoint counts as witnessed, under a C2SP tlog-policy.
//!
//! The policy itself (logs, witnesses, groups, quorum) is `kvitto_tlog::policy::Policy`; this
//! module adds what a node needs around it: the yes/no question, and collecting cosignatures
//! that arrive one witness at a time onto one note.

use kvitto_tlog::note::{Note, NoteError, Verifier};
use kvitto_tlog::policy::{Policy, VerifyError, WitnessedCheckpoint};

/// Why cosignatures could not be merged.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum MergeError {
    #[error("the notes are of different checkpoints")]
    DifferentCheckpoint,
    #[error("merged note would be invalid")]
    Note(#[from] NoteError),
}

/// Whether `note` is a checkpoint signed by one of `policy`'s logs (whose key name is the
/// origin) and cosigned by a quorum of its witnesses, with no invalid signature by a policy key.
pub fn is_witnessed(policy: &Policy, note: &Note) -> bool {
    witnessed(policy, note).is_ok()
}

/// [`is_witnessed`], with the verified checkpoint and cosignatures or the reason it is not.
pub fn witnessed(policy: &Policy, note: &Note) -> Result<WitnessedCheckpoint, VerifyError> {
    policy.verify_note(note.clone())
}

/// Adds to `target` every cosignature of `other` by a witness of `policy` that `target` lacks
/// and that verifies; other signature lines are ignored. Both notes must have the same text.
/// Returns how many cosignatures were added.
pub fn merge_cosignatures(
    policy: &Policy,
    target: &mut Note,
    other: &Note,
) -> Result<usize, MergeError> {
    if target.text() != other.text() {
        return Err(MergeError::DifferentCheckpoint);
    }
    let mut added = 0;
    for signature in other.signatures() {
        let is_present = target
            .signatures()
            .iter()
            .any(|s| s.name() == signature.name() && s.key_id() == signature.key_id());
        if is_present {
            continue;
        }
        let witness = policy
            .witnesses()
            .iter()
            .find(|witness| signature.is_by(&witness.key));
        let Some(witness) = witness else {
            continue;
        };
        if witness.key.verify(other.text(), signature.bytes()) {
            target.push_signature(signature.clone())?;
            added += 1;
        }
    }
    Ok(added)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::request::ConsistencyProof;
    use crate::testing::{TestLog, NOW};
    use crate::witness::Witness;
    use kvitto_tlog::cosignature::CosignatureSigner;

    fn witness(name: &str, seed: u8, log: &TestLog) -> Witness {
        let signer = CosignatureSigner::from_seed(name, &[seed; 32]).unwrap();
        Witness::new(signer, [log.verifier()]).unwrap()
    }

    #[test]
    fn cosignatures_collected_one_by_one_meet_the_quorum() {
        let mut log = TestLog::new("log.example/a", 1);
        log.grow(4, 0);
        let mut witnesses: Vec<Witness> = (0..3u8)
            .map(|i| witness(&format!("w{i}.example"), 10 + i, &log))
            .collect();
        let policy = Policy::parse(&format!(
            "log {}\nwitness w0 {}\nwitness w1 {}\nwitness w2 {}\ngroup two 2 w0 w1 w2\nquorum two\n",
            log.verifier(),
            witnesses[0].verifier(),
            witnesses[1].verifier(),
            witnesses[2].verifier(),
        ))
        .unwrap();
        let mut collected = log.note();
        assert!(!is_witnessed(&policy, &collected));
        let mut cosigned = Vec::new();
        for witness in &mut witnesses {
            let outcome = witness
                .observe(
                    "log.example/a",
                    log.note().to_string().as_bytes(),
                    &ConsistencyProof::empty(0),
                    NOW,
                )
                .unwrap();
            cosigned.push(outcome.cosigned().unwrap().note.clone());
        }
        assert_eq!(
            merge_cosignatures(&policy, &mut collected, &cosigned[0]),
            Ok(1)
        );
        assert_eq!(
            merge_cosignatures(&policy, &mut collected, &cosigned[0]),
            Ok(0)
        );
        assert!(!is_witnessed(&policy, &collected));
        assert_eq!(
            merge_cosignatures(&policy, &mut collected, &cosigned[2]),
            Ok(1)
        );
        let witnessed = witnessed(&policy, &collected).unwrap();
        assert_eq!(witnessed.cosignatures.len(), 2);
        assert!(witnessed
            .cosignatures
            .iter()
            .all(|&(_, timestamp)| timestamp == NOW));
    }

    #[test]
    fn foreign_and_invalid_cosignatures_are_not_merged() {
        let mut log = TestLog::new("log.example/a", 1);
        log.grow(4, 0);
        let mut trusted = witness("w0.example", 10, &log);
        let mut stranger = witness("w9.example", 19, &log);
        let policy = Policy::parse(&format!(
            "log {}\nwitness w0 {}\nquorum w0\n",
            log.verifier(),
            trusted.verifier()
        ))
        .unwrap();
        let bytes = log.note().to_string();
        let by_stranger = stranger
            .observe(
                "log.example/a",
                bytes.as_bytes(),
                &ConsistencyProof::empty(0),
                NOW,
            )
            .unwrap();
        let mut collected = log.note();
        assert_eq!(
            merge_cosignatures(
                &policy,
                &mut collected,
                &by_stranger.cosigned().unwrap().note
            ),
            Ok(0)
        );
        // A cosignature of another checkpoint text does not merge.
        log.grow(1, 0);
        let other = trusted
            .observe(
                "log.example/a",
                log.note().to_string().as_bytes(),
                &ConsistencyProof::empty(0),
                NOW,
            )
            .unwrap();
        assert_eq!(
            merge_cosignatures(&policy, &mut collected, &other.cosigned().unwrap().note),
            Err(MergeError::DifferentCheckpoint)
        );
        // A valid cosignature line moved onto another checkpoint's text does not verify.
        let mut moved = collected.clone();
        moved
            .push_signature(other.cosigned().unwrap().cosignature.clone())
            .unwrap();
        let mut target = log.note_at(4);
        assert_eq!(merge_cosignatures(&policy, &mut target, &moved), Ok(0));
        assert!(!is_witnessed(&policy, &target));
    }
}
