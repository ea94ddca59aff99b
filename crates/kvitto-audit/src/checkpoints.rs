//! Checkpoints, cosignatures and split views: every signed note the node holds about a log is
//! verified under the log's key and its root compared with the tree recomputed from the
//! entries; cosignatures are checked against the network's policy.

use std::collections::{HashMap, HashSet};

use kvitto_tlog::checkpoint::Checkpoint;
use kvitto_tlog::note::{Note, Verifier};
use kvitto_tlog::policy::{Policy, VerifyError};
use kvitto_tlog::Hash;
use kvitto_witness::{LogState, SplitView};

use crate::check_names::{CHECKPOINTS, COSIGNATURES, SPLIT_VIEWS};
use crate::report::Finding;
use crate::rules::*;
use crate::source::{LogInput, SourceError, StoredNote};
use crate::{AuditInput, Counts};

/// The auditing node's witness: its latest view of each other log, and the split views it
/// recorded. Encodings that do not decode are left out (the node itself would refuse them at
/// start).
#[derive(Debug, Default)]
pub(crate) struct WitnessView {
    states: Vec<LogState>,
    own_split_view: Option<SplitView>,
}

impl WitnessView {
    pub(crate) fn decode(input: &AuditInput<'_>) -> WitnessView {
        WitnessView {
            states: input
                .witness_states
                .iter()
                .filter_map(|bytes| LogState::decode(bytes).ok())
                .collect(),
            own_split_view: input
                .own_split_view
                .as_deref()
                .and_then(|bytes| SplitView::decode(bytes).ok()),
        }
    }
}

/// Where a note to check came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NoteSource {
    /// The log's checkpoint history.
    Stored,
    Latest,
    Cosigned,
    Witnessed,
    /// The auditing node's witness's latest view of the log.
    WitnessState,
}

impl NoteSource {
    fn name(self) -> &'static str {
        match self {
            NoteSource::Stored => "stored checkpoint",
            NoteSource::Latest => "latest checkpoint",
            NoteSource::Cosigned => "cosigned checkpoint",
            NoteSource::Witnessed => "witnessed checkpoint",
            NoteSource::WitnessState => "this node's witness state",
        }
    }
}

/// A note to check, with the tree size its text claims (`None` when it does not parse).
#[derive(Debug)]
pub(crate) struct NoteToCheck {
    source: NoteSource,
    note: Vec<u8>,
    pub(crate) size: Option<u64>,
}

fn claimed_size(note: &[u8]) -> Option<u64> {
    let note = Note::parse(note).ok()?;
    Checkpoint::parse(note.text()).ok().map(|c| c.size())
}

/// Every note the node holds about `log`.
pub(crate) fn notes_of(
    log: &LogInput<'_>,
    witness: &WitnessView,
) -> Result<Vec<NoteToCheck>, SourceError> {
    let mut notes: Vec<(NoteSource, Vec<u8>)> = log
        .source
        .checkpoints()?
        .into_iter()
        .map(|(_, note)| (NoteSource::Stored, note))
        .collect();
    for (source, which) in [
        (NoteSource::Latest, StoredNote::Latest),
        (NoteSource::Cosigned, StoredNote::Cosigned),
        (NoteSource::Witnessed, StoredNote::Witnessed),
    ] {
        if let Some(note) = log.source.note(which)? {
            notes.push((source, note));
        }
    }
    for state in &witness.states {
        if state.origin() == log.origin {
            if let Some(latest) = state.latest() {
                notes.push((
                    NoteSource::WitnessState,
                    latest.note().to_string().into_bytes(),
                ));
            }
        }
    }
    Ok(notes
        .into_iter()
        .map(|(source, note)| NoteToCheck {
            source,
            size: claimed_size(&note),
            note,
        })
        .collect())
}

/// What the report says about a log's checkpoints.
#[derive(Debug, Default)]
pub(crate) struct CheckpointSummary {
    pub stored: u64,
    pub latest_size: Option<u64>,
    pub cosigned_size: Option<u64>,
    pub cosigners: Vec<String>,
    pub witnessed_size: Option<u64>,
}

/// Checks every note of `log` against its key, the recomputed `roots` (by tree size) and the
/// policy.
pub(crate) fn check_log(
    log: &LogInput<'_>,
    policy: Option<&Policy>,
    notes: Vec<NoteToCheck>,
    roots: &HashMap<u64, Hash>,
    size: u64,
    counts: &mut Counts,
    findings: &mut Vec<Finding>,
) -> CheckpointSummary {
    let origin = log.origin.as_str();
    let mut summary = CheckpointSummary::default();
    // One note text (one checkpoint) is checked against the key and the tree once, however
    // many stored notes carry it.
    let mut texts_checked: HashSet<String> = HashSet::new();
    for item in notes {
        if item.source == NoteSource::Stored {
            summary.stored += 1;
        }
        let signed = match Checkpoint::open(&item.note, &log.log_key) {
            Ok(signed) => signed,
            Err(error) => {
                counts.checkpoints += 1;
                let mut finding = Finding::new(
                    CHECKPOINTS,
                    CHECKPOINT_SIGNATURE_INVALID,
                    origin,
                    format!(
                        "a {} does not verify under the log's key: {error}",
                        item.source.name()
                    ),
                )
                .with("note_source", item.source.name())
                .with("note", String::from_utf8_lossy(&item.note))
                .with("log_key", &log.log_key);
                if let Some(size) = item.size {
                    finding = finding.at_size(size);
                }
                findings.push(finding);
                continue;
            }
        };
        let checkpoint = &signed.checkpoint;
        let cp_size = checkpoint.size();
        match item.source {
            NoteSource::Stored | NoteSource::Latest => {
                summary.latest_size = summary.latest_size.max(Some(cp_size))
            }
            NoteSource::Cosigned => summary.cosigned_size = Some(cp_size),
            NoteSource::Witnessed => summary.witnessed_size = Some(cp_size),
            NoteSource::WitnessState => {}
        }
        if texts_checked.insert(signed.note.text().to_owned()) {
            check_root(log, &item, checkpoint, roots, size, counts, findings);
        }
        if let Some(policy) = policy {
            let note = signed.note.note();
            if matches!(
                item.source,
                NoteSource::Cosigned | NoteSource::Witnessed | NoteSource::WitnessState
            ) {
                let valid = check_cosignatures(origin, policy, note, cp_size, counts, findings);
                if item.source == NoteSource::Cosigned {
                    summary.cosigners = valid;
                }
            }
            if item.source == NoteSource::Witnessed {
                counts.witnessed += 1;
                if let Err(VerifyError::QuorumNotMet) = policy.verify(&item.note) {
                    findings.push(
                        Finding::new(
                            COSIGNATURES,
                            WITNESSED_QUORUM_NOT_MET,
                            origin,
                            format!(
                                "the checkpoint of size {cp_size} stored as witnessed is not cosigned by a quorum of the network's witnesses"
                            ),
                        )
                        .at_size(cp_size)
                        .with("note", String::from_utf8_lossy(&item.note)),
                    );
                }
            }
        }
    }
    summary
}

/// The checkpoint's root must be the tree's at its size, and the node must hold that many
/// entries. The witness's view may be ahead of a mirror that is still catching up.
fn check_root(
    log: &LogInput<'_>,
    item: &NoteToCheck,
    checkpoint: &Checkpoint,
    roots: &HashMap<u64, Hash>,
    size: u64,
    counts: &mut Counts,
    findings: &mut Vec<Finding>,
) {
    let cp_size = checkpoint.size();
    if cp_size > size {
        if item.source != NoteSource::WitnessState {
            counts.checkpoints += 1;
            findings.push(
                Finding::new(
                    CHECKPOINTS,
                    CHECKPOINT_BEYOND_LOG,
                    &log.origin,
                    format!(
                        "a {} covers {cp_size} entries but the node holds {size}",
                        item.source.name()
                    ),
                )
                .at_size(cp_size)
                .with("note_source", item.source.name())
                .with("entries_held", size),
            );
        }
        return;
    }
    counts.checkpoints += 1;
    // Every size a note claims was recorded during the scan; a missing one cannot happen.
    let Some(root) = roots.get(&cp_size) else {
        return;
    };
    if root != checkpoint.root() {
        findings.push(
            Finding::new(
                CHECKPOINTS,
                CHECKPOINT_ROOT_MISMATCH,
                &log.origin,
                format!(
                    "the log signed root {} for size {cp_size}, but its first {cp_size} entries give {}",
                    checkpoint.root().to_base64(),
                    root.to_base64()
                ),
            )
            .at_size(cp_size)
            .with("note_source", item.source.name())
            .with("checkpoint_root", checkpoint.root().to_base64())
            .with("tree_root", root.to_base64())
            .with("note", checkpoint.to_text()),
        );
    }
}

/// Verifies every cosignature by a policy witness on `note`; returns the names of those that
/// verify.
fn check_cosignatures(
    origin: &str,
    policy: &Policy,
    note: &Note,
    size: u64,
    counts: &mut Counts,
    findings: &mut Vec<Finding>,
) -> Vec<String> {
    let own_witness = format!("{origin}/witness");
    let mut valid = Vec::new();
    for signature in note.signatures() {
        let Some(witness) = policy.witnesses().iter().find(|w| signature.is_by(&w.key)) else {
            continue;
        };
        counts.cosignatures += 1;
        if !witness.key.verify(note.text(), signature.bytes()) {
            findings.push(
                Finding::new(
                    COSIGNATURES,
                    COSIGNATURE_INVALID,
                    origin,
                    format!(
                        "the cosignature of witness {} on the checkpoint of size {size} does not verify",
                        witness.name
                    ),
                )
                .at_size(size)
                .with("witness", signature.name())
                .with("signature_line", signature.line().trim_end()),
            );
            continue;
        }
        if signature.name() == own_witness {
            findings.push(
                Finding::new(
                    COSIGNATURES,
                    OWN_LOG_COSIGNED,
                    origin,
                    format!(
                        "the log's own operator's witness cosigned its checkpoint of size {size}; a witness never cosigns its own log"
                    ),
                )
                .at_size(size)
                .with("witness", signature.name()),
            );
        }
        valid.push(signature.name().to_owned());
    }
    valid
}

/// Split-view evidence the node stored, verified against the convicted log's key.
pub(crate) fn split_views(
    input: &AuditInput<'_>,
    witness: &WitnessView,
    counts: &mut Counts,
) -> Vec<Finding> {
    let evidence = witness
        .states
        .iter()
        .filter_map(LogState::split_view)
        .chain(witness.own_split_view.as_ref());
    let mut findings = Vec::new();
    for split in evidence {
        counts.split_views += 1;
        let Some(log) = input.logs.iter().find(|l| l.origin == split.origin()) else {
            continue;
        };
        // Evidence that does not verify convicts nobody.
        let Ok(conviction) = split.verify(&log.log_key) else {
            continue;
        };
        let (first, second) = (&conviction.first, &conviction.second);
        findings.push(
            Finding::new(
                SPLIT_VIEWS,
                SPLIT_VIEW,
                &log.origin,
                format!(
                    "the log signed checkpoints of sizes {} and {} that cannot both be true",
                    first.size(),
                    second.size()
                ),
            )
            .at_size(second.size())
            .with("kind", format!("{:?}", conviction.kind))
            .with("first_note", split.first_note())
            .with("second_note", split.second_note()),
        );
    }
    findings
}
