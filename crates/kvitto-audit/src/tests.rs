//! Two operators' logs built in memory with the ledger's API, audited: honest logs are clean,
//! one that re-ingests the other's charger key and readings is caught across logs, tampering is
//! caught by the replay at its index, and bad checkpoints and cosignatures are named.

use std::collections::{HashMap, HashSet};

use ed25519_dalek::SigningKey;
use kvitto_core::charger::SoftCharger;
use kvitto_core::entry::{ChargerRegistration, Entry, SessionPrivacy};
use kvitto_core::keys::{KeyId, NetworkId, SessionId};
use kvitto_core::reading::{ReadingKind, SignedReading};
use kvitto_ledger::{Effects, IngestConfig, Ledger, ReadingArchive, RecordLookup, VerifiedReading};
use kvitto_privacy::{commit_session, DriverSecret, PersonKey, SessionContext};
use kvitto_tlog::checkpoint::Checkpoint;
use kvitto_tlog::cosignature::CosignatureSigner;
use kvitto_tlog::merkle::MemoryTree;
use kvitto_tlog::note::{Ed25519Signer, Note};
use kvitto_tlog::policy::Policy;
use rand_core::OsRng;

use crate::source::{LogInput, LogKind, MemoryLog};
use crate::{audit, html, rules, AuditInput, NoProgress, Report, Verdict};

const NETWORK: &str = "test";
const T0: u64 = 1_764_000_000_000;
const MIN: u64 = 60_000;
const DAY: u64 = 24 * 60 * MIN;

fn network() -> NetworkId {
    NetworkId::of_name(NETWORK)
}

fn charger(seed: u8) -> SoftCharger {
    SoftCharger::new(SigningKey::from_bytes(&[seed; 32]), network())
}

/// What an operator's store holds besides the entries: started sessions and closed records.
#[derive(Default)]
struct Sessions {
    started: HashSet<SessionId>,
    records: HashMap<SessionId, u64>,
}

/// An operator's node: its ledger and its log as the store holds it.
struct Operator {
    operator: String,
    origin: String,
    ledger: Ledger,
    log: MemoryLog,
    sessions: Sessions,
    signer: Ed25519Signer,
    witness: CosignatureSigner,
}

struct ArchiveView<'a>(&'a MemoryLog, &'a Sessions);

impl ReadingArchive for ArchiveView<'_> {
    fn reading(&self, key_id: &KeyId, counter: u64) -> Option<SignedReading> {
        self.0.readings.get(&(*key_id, counter)).cloned()
    }
    fn session_exists(&self, session: &SessionId) -> bool {
        self.1.started.contains(session)
    }
    fn session_record(&self, session: &SessionId) -> RecordLookup {
        match self.1.records.get(session) {
            Some(&index) => RecordLookup::At(index),
            None => RecordLookup::NotClosed,
        }
    }
}

impl Operator {
    fn new(party: &str, seed: u8) -> Operator {
        let log_id = party.replace('*', "-").to_ascii_lowercase();
        let origin = format!("kvitto/{NETWORK}/{log_id}");
        Operator {
            operator: party.to_owned(),
            ledger: Ledger::new(network(), origin.clone(), IngestConfig::default()),
            log: MemoryLog::default(),
            sessions: Sessions::default(),
            signer: Ed25519Signer::from_seed(&origin, &[seed; 32]).unwrap(),
            witness: CosignatureSigner::from_seed(&format!("{origin}/witness"), &[seed ^ 0xFF; 32])
                .unwrap(),
            origin,
        }
    }

    /// Stores `effects` as the sequencer does, attaching the privacy extension to session
    /// records.
    fn record(&mut self, mut effects: Effects) -> Vec<u64> {
        for (_, entry, bytes) in &mut effects.entries {
            if let Entry::SessionClosed(record) = entry {
                let ctx =
                    SessionContext::new(&self.origin, record.key_id.0, record.session.0).unwrap();
                let driver = DriverSecret::generate(&mut OsRng).public();
                let person = PersonKey::generate(&mut OsRng);
                let excl = record.energy_wh * 35 / 10;
                let (c, _) =
                    commit_session(&ctx, excl, excl * 125 / 100, &driver, &person, &mut OsRng)
                        .unwrap();
                record.privacy = Some(SessionPrivacy {
                    amount_excl_vat: c.amount_excl_vat.to_bytes(),
                    amount_incl_vat: c.amount_incl_vat.to_bytes(),
                    range_proof: c.range_proof.to_bytes(),
                    identity: c.identity.to_bytes(),
                    evidence_digest: [0x5E; 32],
                });
                *bytes = entry.encode();
            }
        }
        for r in &effects.readings {
            self.log
                .readings
                .insert((r.reading.key_id, r.reading.counter), r.clone());
            if r.reading.kind == ReadingKind::Start {
                self.sessions.started.insert(r.reading.session);
            }
        }
        self.sessions
            .records
            .extend(effects.closed_sessions.iter().copied());
        effects
            .entries
            .into_iter()
            .map(|(index, _, bytes)| {
                assert_eq!(index, self.log.entries.len() as u64);
                self.log.entries.push(bytes);
                index
            })
            .collect()
    }

    fn register(&mut self, c: &SoftCharger, evse_id: &str) -> u64 {
        let registration = ChargerRegistration {
            public_key: c.public_key(),
            evse_id: evse_id.into(),
            meter_serial: "MTR-1".into(),
            max_power_w: 22_000,
            valid_from_ms: T0,
            tariff_id: None,
        };
        let effects = self.ledger.register_charger(registration, T0).unwrap();
        self.record(effects)[0]
    }

    /// Ingests `readings` as one batch; returns the indices of the records it closed.
    fn push(&mut self, readings: &[SignedReading]) -> Vec<u64> {
        let batch = readings
            .iter()
            .map(|r| {
                let key = self.ledger.charger(&r.reading.key_id).unwrap();
                VerifiedReading::verify(r.clone(), key.verifying_key().unwrap()).unwrap()
            })
            .collect();
        let archive = ArchiveView(&self.log, &self.sessions);
        let effects = self
            .ledger
            .ingest(batch, T0 + 30 * DAY, &archive)
            .map_err(|(r, _)| r)
            .unwrap();
        self.record(effects)
    }

    fn checkpoint_note(&self, size: u64) -> Note {
        let root = MemoryTree::from_entries(&self.log.entries[..size as usize])
            .unwrap()
            .root();
        Checkpoint::new(self.origin.clone(), size, root, Vec::new())
            .unwrap()
            .sign(&self.signer)
            .unwrap()
    }

    /// Signs a checkpoint of the whole log and stores it as the latest.
    fn checkpoint(&mut self) -> Note {
        let size = self.log.entries.len() as u64;
        let note = self.checkpoint_note(size);
        let bytes = note.to_string().into_bytes();
        self.log.checkpoints.insert(size, bytes.clone());
        self.log.latest = Some(bytes);
        note
    }

    fn input(&self, kind: LogKind) -> LogInput<'_> {
        LogInput {
            origin: self.origin.clone(),
            operator: self.operator.clone(),
            kind,
            log_key: self.signer.verifier(),
            source: &self.log,
        }
    }
}

/// One session of `c`: start, a meter reading, stop, `energy_wh` in all.
fn session(c: &mut SoftCharger, at_ms: u64, energy_wh: u64) -> Vec<SignedReading> {
    vec![
        c.start(at_ms),
        c.meter(at_ms + 60 * MIN, energy_wh / 2),
        c.stop(at_ms + 120 * MIN, energy_wh - energy_wh / 2),
    ]
}

/// Two honest operators, each with a charger and sessions on two days, checkpointed.
fn honest() -> (Operator, Operator) {
    let mut a = Operator::new("SE*AAA", 1);
    let mut b = Operator::new("SE*BBB", 2);
    let mut ca = charger(11);
    let mut cb = charger(12);
    a.register(&ca, "SE*AAA*E1");
    b.register(&cb, "SE*BBB*E1");
    a.push(&session(&mut ca, T0 + MIN, 7_000));
    a.checkpoint();
    a.push(&session(&mut ca, T0 + DAY, 12_000));
    b.push(&session(&mut cb, T0 + 2 * MIN, 3_000));
    a.checkpoint();
    b.checkpoint();
    (a, b)
}

fn run(logs: Vec<LogInput<'_>>, policy: Option<Policy>) -> Report {
    let auditor = logs[0].origin.clone();
    let input = AuditInput {
        network: NETWORK.into(),
        auditor,
        now_ms: T0 + 40 * DAY,
        policy,
        logs,
        witness_states: Vec::new(),
        own_split_view: None,
    };
    audit(&input, &mut NoProgress).unwrap()
}

fn rules_of(report: &Report) -> Vec<&str> {
    report.findings.iter().map(|f| f.rule.as_str()).collect()
}

#[test]
fn honest_logs_have_no_findings() {
    let (a, b) = honest();
    let report = run(vec![a.input(LogKind::Own), b.input(LogKind::Mirror)], None);
    assert_eq!(rules_of(&report), Vec::<&str>::new(), "{report:#?}");
    assert_eq!(report.verdict, Verdict::Clean);
    assert_eq!(report.logs[0].size, 3);
    assert_eq!(report.logs[0].entries_replayed, 3);
    assert_eq!(report.logs[0].sessions, 2);
    assert_eq!(report.logs[0].checkpoints, 2);
    assert_eq!(report.logs[1].energy_wh, 3_000);
    let replay = report.checks.iter().find(|c| c.check == "replay").unwrap();
    assert_eq!(replay.checked, 5);
    let signatures = report
        .checks
        .iter()
        .find(|c| c.check == "reading_signatures")
        .unwrap();
    assert_eq!(signatures.checked, 9);
    let daily: Vec<(&str, &str, u64, u64)> = report
        .daily
        .iter()
        .map(|d| {
            (
                d.date.as_str(),
                d.operator.as_str(),
                d.sessions,
                d.energy_wh,
            )
        })
        .collect();
    assert_eq!(
        daily,
        vec![
            ("2025-11-24", "SE*AAA", 1, 7_000),
            ("2025-11-24", "SE*BBB", 1, 3_000),
            ("2025-11-25", "SE*AAA", 1, 12_000),
        ]
    );
}

#[test]
fn readings_re_ingested_on_another_log_are_billed_twice() {
    let (mut a, mut b) = honest();
    // B registers A's charger key under an EVSE id of its own and ingests A's signed readings.
    let mut victim = charger(21);
    a.register(&victim, "SE*AAA*E2");
    let readings = session(&mut victim, T0 + 3 * DAY, 20_000);
    let honest_index = a.push(&readings)[0];
    b.register(&victim, "SE*BBB*E9");
    let copied_index = b.push(&readings)[0];
    a.checkpoint();
    b.checkpoint();
    let report = run(vec![a.input(LogKind::Own), b.input(LogKind::Mirror)], None);
    // Each log's replay accepts its session: only the cross-log check sees it.
    assert_eq!(rules_of(&report), vec![rules::READING_BILLED_TWICE]);
    let finding = &report.findings[0];
    assert_eq!(finding.origin, b.origin);
    assert_eq!(finding.index, Some(copied_index));
    assert_eq!(finding.related.len(), 1);
    assert_eq!(finding.related[0].origin, a.origin);
    assert_eq!(finding.related[0].index, honest_index);
    assert_eq!(finding.evidence["counters"], "1..=3");
    assert_eq!(finding.evidence["same_readings_digest"], "true");
    assert_eq!(
        finding.evidence["first_shared_reading"],
        "identical signed readings"
    );
    assert!(finding.evidence["registered"].contains("SE*BBB*E9"));
    assert!(finding.evidence["other_registered"].contains("SE*AAA*E2"));
    assert_eq!(report.verdict, Verdict::Findings);
    let check = report
        .checks
        .iter()
        .find(|c| c.check == "reading_billed_twice")
        .unwrap();
    assert_eq!((check.checked, check.findings), (5, 1));
}

#[test]
fn a_session_record_repeated_in_one_log_is_billed_twice_and_fails_replay() {
    let (mut a, b) = honest();
    let copy = a.log.entries[1].clone();
    a.log.entries.push(copy);
    let report = run(vec![a.input(LogKind::Own), b.input(LogKind::Mirror)], None);
    let replay: Vec<_> = report
        .findings
        .iter()
        .filter(|f| f.check == "replay")
        .collect();
    assert_eq!(replay.len(), 1, "{:#?}", report.findings);
    assert_eq!(replay[0].index, Some(3));
    let twice: Vec<_> = report
        .findings
        .iter()
        .filter(|f| f.rule == rules::READING_BILLED_TWICE)
        .collect();
    assert_eq!(twice.len(), 1);
    assert_eq!(
        (twice[0].origin.as_str(), twice[0].index),
        (a.origin.as_str(), Some(3))
    );
    assert_eq!(twice[0].related[0].index, 1);
}

#[test]
fn a_tampered_entry_is_a_replay_finding_at_its_index() {
    let (mut a, b) = honest();
    // The second session record claims more energy than its readings show, and the log signs it.
    let Entry::SessionClosed(mut record) = Entry::decode(&a.log.entries[2]).unwrap() else {
        panic!("entry 2 is a session record");
    };
    record.energy_wh += 5_000;
    a.log.entries[2] = Entry::SessionClosed(record).encode();
    a.log.checkpoints.clear();
    a.checkpoint();
    let report = run(vec![a.input(LogKind::Own), b.input(LogKind::Mirror)], None);
    assert_eq!(
        rules_of(&report),
        vec!["entry_mismatch"],
        "{:#?}",
        report.findings
    );
    let finding = &report.findings[0];
    assert_eq!(
        (finding.origin.as_str(), finding.index),
        (a.origin.as_str(), Some(2))
    );
    assert_eq!(finding.evidence["field"], "energy_wh");
    assert_eq!(finding.evidence["entries_not_replayed"], "1");
    assert_eq!(report.logs[0].entries_replayed, 2);
}

#[test]
fn a_tampered_entry_after_its_checkpoint_breaks_the_checkpoint_too() {
    let (mut a, b) = honest();
    let mut bytes = a.log.entries[0].clone();
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    a.log.entries[0] = bytes;
    let report = run(vec![a.input(LogKind::Own), b.input(LogKind::Mirror)], None);
    let replay: Vec<_> = report
        .findings
        .iter()
        .filter(|f| f.check == "replay")
        .collect();
    assert_eq!(replay.len(), 1);
    assert_eq!(replay[0].index, Some(0));
    let roots: Vec<_> = report
        .findings
        .iter()
        .filter(|f| f.rule == rules::CHECKPOINT_ROOT_MISMATCH)
        .map(|f| f.tree_size)
        .collect();
    // Both stored checkpoints (sizes 2 and 3) and the latest, which repeats the size-3 one.
    assert_eq!(roots, vec![Some(2), Some(3)]);
}

#[test]
fn a_checkpoint_by_another_key_is_named() {
    let (mut a, b) = honest();
    let forger = Ed25519Signer::from_seed(&a.origin, &[99; 32]).unwrap();
    let root = MemoryTree::from_entries(&a.log.entries).unwrap().root();
    let forged = Checkpoint::new(a.origin.clone(), 3, root, Vec::new())
        .unwrap()
        .sign(&forger)
        .unwrap();
    a.log.latest = Some(forged.to_string().into_bytes());
    let report = run(vec![a.input(LogKind::Own), b.input(LogKind::Mirror)], None);
    assert_eq!(rules_of(&report), vec![rules::CHECKPOINT_SIGNATURE_INVALID]);
    assert_eq!(report.findings[0].tree_size, Some(3));
}

fn policy(ops: &[&Operator], quorum: usize) -> Policy {
    let mut text = String::new();
    for op in ops {
        text.push_str(&format!("log {}\n", op.signer.verifier()));
    }
    let mut names = Vec::new();
    for op in ops {
        let name = op.operator.replace('*', "-").to_ascii_lowercase();
        text.push_str(&format!("witness {name} {}\n", op.witness.verifier()));
        names.push(name);
    }
    text.push_str(&format!(
        "group all {quorum} {}\nquorum all\n",
        names.join(" ")
    ));
    Policy::parse(&text).unwrap()
}

fn cosign(note: &Note, by: &Operator) -> Note {
    let checkpoint = Checkpoint::parse(note.text()).unwrap();
    let mut note = note.clone();
    note.push_signature(by.witness.cosign(&checkpoint, 1_764_000_000).unwrap())
        .unwrap();
    note
}

#[test]
fn cosignatures_are_checked_against_the_policy() {
    let (mut a, mut b) = honest();
    let c = Operator::new("SE*CCC", 3);
    let policy = policy(&[&a, &b, &c], 2);
    // A's checkpoint cosigned by B and C: witnessed.
    let note = a.checkpoint();
    let witnessed = cosign(&cosign(&note, &b), &c);
    a.log.cosigned = Some(witnessed.to_string().into_bytes());
    a.log.witnessed = Some(witnessed.to_string().into_bytes());
    // B's "witnessed" checkpoint has one cosignature (by its own operator) where two are needed.
    let note = b.checkpoint();
    let self_cosigned = cosign(&note, &b);
    b.log.witnessed = Some(self_cosigned.to_string().into_bytes());
    let report = run(
        vec![a.input(LogKind::Own), b.input(LogKind::Mirror)],
        Some(policy),
    );
    let mut found: Vec<(&str, &str)> = report
        .findings
        .iter()
        .map(|f| (f.origin.as_str(), f.rule.as_str()))
        .collect();
    found.sort();
    assert_eq!(
        found,
        vec![
            (b.origin.as_str(), rules::OWN_LOG_COSIGNED),
            (b.origin.as_str(), rules::WITNESSED_QUORUM_NOT_MET),
        ]
    );
    assert_eq!(
        report.logs[0].cosigners,
        vec![b.witness.name().to_owned(), c.witness.name().to_owned()]
    );
    assert_eq!(report.logs[0].witnessed_size, Some(3));
}

#[test]
fn a_forged_cosignature_is_named() {
    let (mut a, b) = honest();
    let policy = policy(&[&a, &b], 1);
    let note = a.checkpoint();
    let cosigned = cosign(&note, &b).to_string();
    // Flip one character of the cosignature's base64.
    let line_start = cosigned.rfind("\u{2014} ").unwrap();
    let mut forged = cosigned.into_bytes();
    let at = forged.len() - 5;
    forged[at] = if forged[at] == b'A' { b'B' } else { b'A' };
    assert!(line_start < at);
    a.log.cosigned = Some(forged);
    let report = run(
        vec![a.input(LogKind::Own), b.input(LogKind::Mirror)],
        Some(policy),
    );
    assert_eq!(rules_of(&report), vec![rules::COSIGNATURE_INVALID]);
}

#[test]
fn a_session_whose_readings_the_node_lacks_stops_the_replay_there() {
    let (a, mut b) = honest();
    b.log.readings.clear();
    let report = run(vec![a.input(LogKind::Own), b.input(LogKind::Mirror)], None);
    assert_eq!(rules_of(&report), vec![rules::READINGS_UNAVAILABLE]);
    assert_eq!(report.findings[0].index, Some(1));
    assert_eq!(report.logs[1].entries_replayed, 1);
}

#[test]
fn the_html_report_shows_findings_and_charts_without_external_assets() {
    let (mut a, mut b) = honest();
    let mut victim = charger(21);
    a.register(&victim, "SE*AAA*E2");
    let readings = session(&mut victim, T0 + 3 * DAY, 20_000);
    a.push(&readings);
    b.register(&victim, "SE*BBB*E9");
    b.push(&readings);
    let report = run(vec![a.input(LogKind::Own), b.input(LogKind::Mirror)], None);
    let page = html::render(&report);
    // To look at the page: KVITTO_AUDIT_HTML=/tmp/audit.html cargo test -p kvitto-audit html
    if let Some(path) = std::env::var_os("KVITTO_AUDIT_HTML") {
        std::fs::write(path, &page).unwrap();
    }
    assert!(page.starts_with("<!DOCTYPE html>"));
    assert!(page.contains("reading_billed_twice"));
    assert!(page.contains(&b.origin));
    assert!(page.contains("SE*BBB*E9"));
    // Energy and sessions per operator per day, and the findings by rule.
    assert_eq!(page.matches("<svg").count(), 3, "{page}");
    assert!(page.contains("2025-11-27"));
    for external in ["<script", "<link", "src=", "url(", "http://", "https://"] {
        assert!(!page.contains(external), "the page names {external}");
    }
    let clean = html::render(&run(vec![honest().0.input(LogKind::Own)], None));
    assert!(clean.contains("No findings"));
}

#[test]
fn the_json_report_has_the_documented_shape() {
    let (a, b) = honest();
    let report = run(vec![a.input(LogKind::Own), b.input(LogKind::Mirror)], None);
    let json: serde_json::Value = serde_json::from_str(&report.to_json()).unwrap();
    for field in [
        "format",
        "network",
        "generated_at",
        "auditor",
        "verdict",
        "logs",
        "checks",
        "findings",
        "daily",
    ] {
        assert!(json.get(field).is_some(), "missing {field}");
    }
    assert_eq!(json["format"], "kvitto-audit/1");
    assert_eq!(json["verdict"], "clean");
    assert_eq!(json["generated_at"], "2026-01-03T16:00:00Z");
    assert_eq!(json["logs"][1]["kind"], "mirror");
}

#[test]
fn settlement_entries_are_checked_across_logs() {
    use kvitto_core::settlement::{
        AmountTotal, EntryRef, SettlementStatement, StatementAcknowledgement,
    };
    use kvitto_tlog::merkle::leaf_hash;

    let acknowledged = |tamper: bool| {
        let (mut a, mut b) = honest();
        // No record of these logs is billed to a counterparty: the statement covers nothing.
        let statement = Entry::SettlementStatement(SettlementStatement {
            counterparty: b.operator.clone(),
            currency: "EUR".into(),
            period_start_ms: T0,
            period_end_ms: T0 + DAY,
            from_index: 0,
            sessions: AmountTotal::empty(),
            credits: AmountTotal::empty(),
        });
        let effects = a.ledger.settle(statement).unwrap();
        let index = a.record(effects)[0];
        let mut leaf = leaf_hash(&a.log.entries[index as usize]).0;
        if tamper {
            leaf[31] ^= 1;
        }
        let ack = Entry::StatementAcknowledged(StatementAcknowledgement {
            statement: EntryRef {
                origin: a.origin.clone(),
                index,
                leaf_hash: leaf,
            },
            sessions_checked: 0,
        });
        let effects = b.ledger.settle(ack).unwrap();
        let ack_index = b.record(effects)[0];
        let report = run(vec![a.input(LogKind::Own), b.input(LogKind::Mirror)], None);
        (report, b.origin, ack_index)
    };
    let (report, _, _) = acknowledged(false);
    assert_eq!(rules_of(&report), Vec::<&str>::new(), "{report:#?}");
    let check = report
        .checks
        .iter()
        .find(|c| c.check == "settlement")
        .unwrap();
    assert_eq!(check.checked, 2);
    assert_eq!(check.counts["statements"], 1);
    assert_eq!(check.counts["acknowledged"], 1);
    assert_eq!(check.counts["pending"], 0);

    let (report, emsp, ack_index) = acknowledged(true);
    assert_eq!(
        rules_of(&report),
        vec![crate::settlement::rules::SETTLEMENT_REFERENCE_UNKNOWN]
    );
    assert_eq!(report.findings[0].origin, emsp);
    assert_eq!(report.findings[0].index, Some(ack_index));
    let check = report
        .checks
        .iter()
        .find(|c| c.check == "settlement")
        .unwrap();
    assert_eq!((check.findings, check.counts["pending"]), (1, 1));
}
