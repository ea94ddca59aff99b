//! Property tests: a witness fed checkpoints of two forked histories, with proofs from either
//! history or garbage and old sizes right or wrong, never cosigns two inconsistent checkpoints,
//! only flags the log with evidence that verifies, and its state survives encoding.

use kvitto_tlog::checkpoint::Checkpoint;
use kvitto_tlog::cosignature::CosignatureSigner;
use kvitto_tlog::merkle::{consistency_proof, root, MemoryTree};
use kvitto_tlog::note::{Ed25519Signer, Note};
use kvitto_tlog::Hash;
use kvitto_witness::{ConsistencyProof, LogState, Message, Outcome, Witness, WitnessError};
use proptest::prelude::*;

const ORIGIN: &str = "log.example/forked";
const NOW: u64 = 1_750_000_000;

/// Two histories of one log that share their first `prefix` entries.
struct Forked {
    signer: Ed25519Signer,
    trees: [MemoryTree; 2],
}

impl Forked {
    fn new(prefix: u64, sizes: [u64; 2]) -> Forked {
        let trees = [0u8, 1].map(|branch| {
            let mut tree = MemoryTree::new();
            for index in 0..sizes[usize::from(branch)] {
                let tag = if index < prefix { 9 } else { branch };
                tree.push(&[&[tag][..], &index.to_be_bytes()].concat())
                    .unwrap();
            }
            tree
        });
        Forked {
            signer: Ed25519Signer::from_seed(ORIGIN, &[3; 32]).unwrap(),
            trees,
        }
    }

    fn root(&self, branch: usize, size: u64) -> Hash {
        root(&self.trees[branch], size).unwrap()
    }

    fn note(&self, branch: usize, size: u64) -> Note {
        Checkpoint::new(ORIGIN, size, self.root(branch, size), Vec::new())
            .unwrap()
            .sign(&self.signer)
            .unwrap()
    }

    /// The branches whose history contains `(size, root)`.
    fn branches_with(&self, size: u64, root: &Hash) -> [bool; 2] {
        [0, 1].map(|b| self.trees[b].size() >= size && self.root(b, size) == *root)
    }

    /// A proof from `old` to `size` in `branch`'s tree, if one exists.
    fn proof(&self, branch: usize, old: u64, size: u64) -> Option<Vec<Hash>> {
        match old {
            0 => Some(Vec::new()),
            _ => consistency_proof(&self.trees[branch], old, size).ok(),
        }
    }
}

#[derive(Clone, Debug)]
enum ProofKind {
    /// From the checkpoint's own history.
    Own,
    /// From the other history, up to the same size if it has one.
    Other,
    Garbage(Vec<[u8; 32]>),
}

#[derive(Clone, Debug)]
struct Observation {
    branch: usize,
    /// Which size, as a fraction of the branch's size, in 1/16ths.
    size_sixteenths: u64,
    proof: ProofKind,
    /// Whether the old size is the witness's latest or off by this much.
    old_offset: i8,
}

fn observation() -> impl Strategy<Value = Observation> {
    let proof = prop_oneof![
        3 => Just(ProofKind::Own),
        2 => Just(ProofKind::Other),
        1 => proptest::collection::vec(any::<[u8; 32]>(), 0..6).prop_map(ProofKind::Garbage),
    ];
    (
        0..2usize,
        0..=16u64,
        proof,
        prop_oneof![4 => Just(0i8), 1 => -2..=2i8],
    )
        .prop_map(|(branch, size_sixteenths, proof, old_offset)| Observation {
            branch,
            size_sixteenths,
            proof,
            old_offset,
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn a_witness_never_cosigns_two_histories(
        prefix in 0..8u64,
        extra in [0..20u64, 0..20u64],
        observations in proptest::collection::vec(observation(), 1..24),
    ) {
        let forked = Forked::new(prefix, [prefix + extra[0], prefix + extra[1]]);
        let cosigner = CosignatureSigner::from_seed("witness.example/p", &[4; 32]).unwrap();
        let mut witness = Witness::new(cosigner.clone(), [forked.signer.verifier()]).unwrap();
        // The branches consistent with everything cosigned so far.
        let mut consistent = [true, true];
        for observation in &observations {
            let branch = observation.branch;
            let size = forked.trees[branch].size() * observation.size_sixteenths / 16;
            let latest = witness.state(ORIGIN).unwrap().latest_size();
            let old = latest.saturating_add_signed(i64::from(observation.old_offset)).min(size);
            let hashes = match &observation.proof {
                ProofKind::Own => forked.proof(branch, old, size).unwrap_or_default(),
                ProofKind::Other => forked.proof(1 - branch, old, size).unwrap_or_default(),
                ProofKind::Garbage(hashes) => hashes.iter().map(|&h| Hash(h)).collect(),
            };
            let proof = ConsistencyProof::new(old, hashes).unwrap();
            let note = forked.note(branch, size).to_string();
            let was_flagged = witness.state(ORIGIN).unwrap().is_flagged();
            let outcome = witness.observe(ORIGIN, note.as_bytes(), &proof, NOW);
            if was_flagged {
                let is_refused = matches!(outcome, Err(WitnessError::Flagged { .. }));
                prop_assert!(is_refused, "flagged log was not refused: {outcome:?}");
            }
            match outcome {
                Ok(Outcome::Advanced { ref cosigned, .. } | Outcome::Recosigned { ref cosigned }) => {
                    let matching = forked.branches_with(size, cosigned.checkpoint.root());
                    consistent = [consistent[0] && matching[0], consistent[1] && matching[1]];
                    prop_assert!(consistent.contains(&true), "cosigned two histories");
                }
                Ok(Outcome::SplitView { ref evidence, ref state }) => {
                    prop_assert!(state.is_flagged());
                    prop_assert!(evidence.verify(&forked.signer.verifier()).is_ok());
                    let decoded = Message::decode(&Message::SplitView(evidence.clone()).encode().unwrap()).unwrap();
                    prop_assert_eq!(decoded, Message::SplitView(evidence.clone()));
                }
                Ok(Outcome::Stale { latest_size }) => prop_assert!(size < latest_size),
                Err(_) => {}
            }
            // The state survives encoding and a restart, every step of the way.
            let stored: Vec<LogState> = witness
                .states()
                .map(|state| LogState::decode(&state.encode()).unwrap())
                .collect();
            let restored = Witness::restore(cosigner.clone(), [forked.signer.verifier()], stored).unwrap();
            prop_assert_eq!(restored.state(ORIGIN), witness.state(ORIGIN));
        }
    }
}
