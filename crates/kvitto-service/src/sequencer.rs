//! The single writer: group commit of ingest and admin commands.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::thread;

use kvitto_core::entry::{
    ChargerRegistration, ChargerRevocation, Entry, EvidenceDisclosure, TariffPublication,
};
use kvitto_core::keys::{KeyId, SessionId};
use kvitto_core::reading::SignedReading;
use kvitto_core::settlement::{AnswerItem, AnswerOutcome, DisputeAnswer, DisputeReason, EntryRef};
use kvitto_ledger::{
    Effects, IngestConfig, Ledger, ReadingArchive, RecordLookup, RegistryError, Rejection,
    VerifiedReading,
};
use kvitto_store::{Batch, KvStore, LogStore, StoreError};
use kvitto_tlog::merkle::Frontier;
use rand_core::OsRng;
use serde::Serialize;
use thiserror::Error;
use tokio::sync::{mpsc, oneshot};

use crate::custody::{
    self, CloseContext, CustodyError, ErasureReport, Retention, TokenInput, TokenOutcome,
};
use crate::settlement::{CreditAt, SettlementBook};
use crate::view::{LogView, Published};
use crate::{limits, CheckpointSigner, Clock};

#[derive(Debug, Clone)]
pub struct SequencerConfig {
    pub ingest: IngestConfig,
    /// Sign a checkpoint at least this often while there are new entries.
    pub checkpoint_interval_ms: u64,
    /// Sign a checkpoint as soon as this many entries are not yet covered by one.
    pub checkpoint_entries: u64,
    /// The zone tariffs are evaluated in when a session is priced at close.
    pub time_zone: chrono_tz::Tz,
    /// How long custody keeps personal data and amount openings.
    pub retention: Retention,
    /// This operator's own party id (`CC*PID`), if it has one. Sessions its own tokens
    /// authorised are not roaming: no statement is addressed to it.
    pub operator: Option<String>,
}

impl Default for SequencerConfig {
    fn default() -> Self {
        SequencerConfig {
            ingest: IngestConfig::default(),
            checkpoint_interval_ms: 1_000,
            checkpoint_entries: 1_000,
            time_zone: chrono_tz::Europe::Stockholm,
            retention: Retention::default(),
            operator: None,
        }
    }
}

/// What an accepted ingest request produced, sent only after it is durable.
#[derive(Debug, Clone, Serialize)]
pub struct IngestReceipt {
    pub accepted: usize,
    pub log_size: u64,
    pub closed_sessions: Vec<ClosedSession>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ClosedSession {
    pub session: SessionId,
    pub record_index: u64,
}

#[derive(Debug, Error)]
pub enum IngestError {
    #[error("{}", .0.message)]
    Rejected(Rejection),
    #[error(transparent)]
    Registry(#[from] RegistryError),
    #[error(transparent)]
    Custody(#[from] CustodyError),
    #[error("the log is not accepting writes: {0}")]
    Unavailable(String),
}

type Reply<T> = oneshot::Sender<Result<T, IngestError>>;

/// How the CPO answers one disputed item.
#[derive(Debug, Clone)]
pub enum AnswerPlan {
    /// Refund the whole session with a credit note.
    Credit {
        session_index: u64,
        reason: DisputeReason,
    },
    /// Uphold the item, saying why.
    Reject {
        session_index: Option<u64>,
        reason: String,
    },
}

pub enum Command {
    Ingest {
        readings: Vec<VerifiedReading>,
        /// Sessions these readings close, sealed ahead by the handler (checked before use).
        preseals: Vec<custody::PreSeal>,
        reply: Reply<IngestReceipt>,
    },
    Register {
        registration: ChargerRegistration,
        reply: Reply<u64>,
    },
    Revoke {
        revocation: ChargerRevocation,
        reply: Reply<u64>,
    },
    PublishTariff {
        publication: TariffPublication,
        reply: Reply<u64>,
    },
    PutToken {
        token: TokenInput,
        reply: Reply<TokenOutcome>,
    },
    Authorize {
        session: SessionId,
        uid: String,
        reply: Reply<()>,
    },
    Erase {
        contract_id: String,
        reply: Reply<ErasureReport>,
    },
    Disclose {
        disclosure: EvidenceDisclosure,
        reply: Reply<u64>,
    },
    /// Erase people and amount openings whose retention period ended.
    Expire { reply: Reply<ExpiryReport> },
    /// Close a settlement period: one statement per counterparty and currency with sessions or
    /// credit notes since its last statement. Replies with the statements' indices.
    IssueStatements {
        period_start_ms: u64,
        period_end_ms: u64,
        reply: Reply<Vec<u64>>,
    },
    /// Append the response to another log's statement: an acknowledgement, or a dispute in one
    /// or more parts. Every part is checked before any is appended, and all are committed in one
    /// write, so a crash never leaves half a dispute. Replies with the first part's index.
    Settle {
        entries: Vec<Entry>,
        reply: Reply<u64>,
    },
    /// Answer a dispute: credit notes for the items credited, then the answer. Replies with the
    /// answer's index.
    AnswerDispute {
        dispute: EntryRef,
        items: Vec<AnswerPlan>,
        reply: Reply<u64>,
    },
    /// Time passed: sign a checkpoint if one is due.
    Tick,
}

/// A cloneable handle that sends commands to the sequencer and awaits their durable outcome.
#[derive(Debug, Clone)]
pub struct SequencerHandle {
    tx: mpsc::Sender<Command>,
}

impl std::fmt::Debug for Command {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let name = match self {
            Command::Ingest { .. } => "Ingest",
            Command::Register { .. } => "Register",
            Command::Revoke { .. } => "Revoke",
            Command::PublishTariff { .. } => "PublishTariff",
            Command::PutToken { .. } => "PutToken",
            Command::Authorize { .. } => "Authorize",
            Command::Erase { .. } => "Erase",
            Command::Disclose { .. } => "Disclose",
            Command::Expire { .. } => "Expire",
            Command::IssueStatements { .. } => "IssueStatements",
            Command::Settle { .. } => "Settle",
            Command::AnswerDispute { .. } => "AnswerDispute",
            Command::Tick => "Tick",
        };
        f.write_str(name)
    }
}

impl SequencerHandle {
    async fn call<T>(&self, make: impl FnOnce(Reply<T>) -> Command) -> Result<T, IngestError> {
        let (reply, rx) = oneshot::channel();
        self.tx
            .send(make(reply))
            .await
            .map_err(|_| IngestError::Unavailable("the sequencer has stopped".into()))?;
        rx.await.map_err(|_| {
            IngestError::Unavailable("the sequencer stopped before answering".into())
        })?
    }

    pub async fn ingest(
        &self,
        readings: Vec<VerifiedReading>,
    ) -> Result<IngestReceipt, IngestError> {
        self.ingest_presealed(readings, Vec::new()).await
    }

    /// [`SequencerHandle::ingest`] with sessions sealed ahead ([`custody::preseal`]).
    pub async fn ingest_presealed(
        &self,
        readings: Vec<VerifiedReading>,
        preseals: Vec<custody::PreSeal>,
    ) -> Result<IngestReceipt, IngestError> {
        self.call(|reply| Command::Ingest {
            readings,
            preseals,
            reply,
        })
        .await
    }

    pub async fn register(&self, registration: ChargerRegistration) -> Result<u64, IngestError> {
        self.call(|reply| Command::Register {
            registration,
            reply,
        })
        .await
    }

    pub async fn revoke(&self, revocation: ChargerRevocation) -> Result<u64, IngestError> {
        self.call(|reply| Command::Revoke { revocation, reply })
            .await
    }

    pub async fn publish_tariff(&self, publication: TariffPublication) -> Result<u64, IngestError> {
        self.call(|reply| Command::PublishTariff { publication, reply })
            .await
    }

    pub async fn put_token(&self, token: TokenInput) -> Result<TokenOutcome, IngestError> {
        self.call(|reply| Command::PutToken { token, reply }).await
    }

    pub async fn authorize(&self, session: SessionId, uid: String) -> Result<(), IngestError> {
        self.call(|reply| Command::Authorize {
            session,
            uid,
            reply,
        })
        .await
    }

    pub async fn erase(&self, contract_id: String) -> Result<ErasureReport, IngestError> {
        self.call(|reply| Command::Erase { contract_id, reply })
            .await
    }

    pub async fn disclose(&self, disclosure: EvidenceDisclosure) -> Result<u64, IngestError> {
        self.call(|reply| Command::Disclose { disclosure, reply })
            .await
    }

    pub async fn issue_statements(
        &self,
        period_start_ms: u64,
        period_end_ms: u64,
    ) -> Result<Vec<u64>, IngestError> {
        self.call(|reply| Command::IssueStatements {
            period_start_ms,
            period_end_ms,
            reply,
        })
        .await
    }

    /// Appends a statement's response: an acknowledgement or the parts of a dispute (see
    /// [`Command::Settle`]). Returns the first entry's index.
    pub async fn settle(&self, entries: Vec<Entry>) -> Result<u64, IngestError> {
        self.call(|reply| Command::Settle { entries, reply }).await
    }

    pub async fn answer_dispute(
        &self,
        dispute: EntryRef,
        items: Vec<AnswerPlan>,
    ) -> Result<u64, IngestError> {
        self.call(|reply| Command::AnswerDispute {
            dispute,
            items,
            reply,
        })
        .await
    }

    pub async fn expire(&self) -> Result<ExpiryReport, IngestError> {
        self.call(|reply| Command::Expire { reply }).await
    }

    /// Asks for a checkpoint check; returns at once.
    pub fn tick(&self) {
        let _ = self.tx.try_send(Command::Tick);
    }
}

/// The sequencer's state. Runs on its own OS thread because its work is blocking IO.
pub struct Sequencer<S: KvStore> {
    store: Arc<LogStore<S>>,
    ledger: Ledger,
    frontier: Frontier,
    view: LogView,
    signer: Arc<dyn CheckpointSigner>,
    clock: Arc<dyn Clock>,
    config: SequencerConfig,
    checkpoint_size: u64,
    checkpoint_at_ms: u64,
    /// Follows the log for settlement; caught up only when a period closes or a dispute is
    /// answered.
    book: SettlementBook,
}

#[derive(Debug, Error)]
pub enum StartError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("stored state is inconsistent: {0}")]
    Inconsistent(String),
}

impl<S: KvStore> Sequencer<S> {
    /// Loads the log and checks that the latest checkpoint matches the stored tree, so the node
    /// can never sign a checkpoint inconsistent with one it signed before a crash.
    pub fn start(
        store: Arc<LogStore<S>>,
        network: kvitto_core::NetworkId,
        signer: Arc<dyn CheckpointSigner>,
        clock: Arc<dyn Clock>,
        config: SequencerConfig,
        verify_checkpoint: impl Fn(&[u8]) -> Option<(u64, kvitto_tlog::Hash)>,
    ) -> Result<(SequencerHandle, LogView, thread::JoinHandle<()>), StartError> {
        let state = store.load()?;
        let mut checkpoint_size = 0;
        if let Some(note) = &state.checkpoint {
            let (size, root) = verify_checkpoint(note).ok_or_else(|| {
                StartError::Inconsistent(
                    "the latest checkpoint does not verify under the log key".into(),
                )
            })?;
            if size > state.size {
                return Err(StartError::Inconsistent(format!(
                    "the latest checkpoint covers {size} entries but only {} are stored",
                    state.size
                )));
            }
            let stored_root = kvitto_tlog::merkle::root(&store.tree(), size)
                .map_err(|e| StartError::Inconsistent(format!("tree: {e}")))?;
            if stored_root != root {
                return Err(StartError::Inconsistent(format!(
                    "the stored tree at size {size} does not match the latest checkpoint"
                )));
            }
            checkpoint_size = size;
        }
        let keys = state
            .chargers
            .iter()
            .filter_map(|c| Some((c.key_id(), *c.verifying_key()?)))
            .collect();
        let view = LogView::new(
            Published {
                size: state.size,
                root: state.frontier.root(),
                checkpoint: state.checkpoint.clone().map(Arc::new),
                checkpoint_size,
            },
            keys,
        );
        let ledger = Ledger::restore(
            network,
            signer.origin(),
            config.ingest,
            state.chargers,
            state.tariffs,
            state.size,
        );
        view.set_tariffs(ledger.tariffs().clone());
        // The key of sessions nobody authorised exists before any handler or seal needs it; only
        // this thread (and the sequencer after it) ever writes it.
        custody::ensure_anonymous(&store, &mut OsRng)
            .map_err(|e| StartError::Inconsistent(format!("custody: {e}")))?;
        let (tx, rx) = mpsc::channel(limits::COMMAND_QUEUE_LEN);
        let now = clock.now_ms();
        let sequencer = Sequencer {
            store,
            ledger,
            frontier: state.frontier,
            view: view.clone(),
            signer,
            clock,
            config,
            checkpoint_size,
            checkpoint_at_ms: now,
            book: SettlementBook::default(),
        };
        let thread = thread::Builder::new()
            .name("kvitto-sequencer".into())
            .spawn(move || sequencer.run(rx))
            .map_err(|e| {
                StartError::Inconsistent(format!("cannot start the sequencer thread: {e}"))
            })?;
        Ok((SequencerHandle { tx }, view, thread))
    }

    fn run(mut self, mut rx: mpsc::Receiver<Command>) {
        // The first checkpoint, so a fresh log serves one at once.
        if self.view.published().checkpoint.is_none() {
            self.checkpoint(true);
        }
        while let Some(first) = rx.blocking_recv() {
            let mut readings = match &first {
                Command::Ingest { readings, .. } => readings.len(),
                _ => 0,
            };
            let mut group = vec![first];
            while group.len() < limits::GROUP_COMMANDS_MAX && readings < limits::GROUP_READINGS_MAX
            {
                match rx.try_recv() {
                    Ok(cmd) => {
                        if let Command::Ingest { readings: r, .. } = &cmd {
                            readings += r.len();
                        }
                        group.push(cmd)
                    }
                    Err(_) => break,
                }
            }
            self.apply_group(group);
            self.checkpoint(false);
        }
        tracing::info!("sequencer stopped: all handles dropped");
    }

    fn apply_group(&mut self, group: Vec<Command>) {
        let now = self.clock.now_ms();
        let mut batch = Batch::default();
        // Readings and sessions staged by earlier commands of this group are not in the store yet.
        let store = self.store.clone();
        let mut staged = GroupArchive {
            store: store.as_ref(),
            readings: HashMap::new(),
            sessions: HashSet::new(),
            tariffs: HashMap::new(),
            records: HashMap::new(),
        };
        let mut answers: Vec<Box<dyn FnOnce()>> = Vec::with_capacity(group.len());
        let mut new_keys = Vec::new();
        // Effects in log order, staged (and their sessions sealed, in parallel) at the end of the
        // group or before a custody command writes.
        let mut queued: Vec<Effects> = Vec::new();
        let mut presealed: HashMap<SessionId, custody::PreSeal> = HashMap::new();
        let mut tariffs_changed = false;
        for cmd in group {
            match cmd {
                Command::Ingest {
                    readings,
                    preseals,
                    reply,
                } => {
                    let accepted = readings.len();
                    presealed.extend(preseals.into_iter().map(|p| (p.session, p)));
                    match self.ledger.ingest(readings, now, &staged) {
                        Ok(effects) => {
                            staged.add(&effects);
                            let closed_sessions = effects
                                .closed_sessions
                                .iter()
                                .map(|(session, index)| ClosedSession {
                                    session: *session,
                                    record_index: *index,
                                })
                                .collect();
                            queued.push(effects);
                            let log_size = self.ledger.size();
                            answers.push(Box::new(move || {
                                let _ = reply.send(Ok(IngestReceipt {
                                    accepted,
                                    log_size,
                                    closed_sessions,
                                }));
                            }));
                        }
                        Err((rejection, evidence)) => {
                            if let Some(effects) = evidence {
                                tracing::warn!(
                                    code = rejection.code.as_str(),
                                    "charger key clone evidence recorded"
                                );
                                queued.push(*effects);
                            }
                            answers.push(Box::new(move || {
                                let _ = reply.send(Err(IngestError::Rejected(rejection)));
                            }));
                        }
                    }
                }
                Command::Register {
                    registration,
                    reply,
                } => {
                    let key =
                        ed25519_dalek::VerifyingKey::from_bytes(&registration.public_key).ok();
                    let key_id = registration.key_id();
                    let result = self
                        .ledger
                        .register_charger(registration, now)
                        .map(|effects| {
                            if let Some(key) = key {
                                new_keys.push((key_id, key));
                            }
                            let index = effects.entries[0].0;
                            queued.push(effects);
                            index
                        });
                    answers.push(Box::new(move || {
                        let _ = reply.send(result.map_err(IngestError::from));
                    }));
                }
                Command::Revoke { revocation, reply } => {
                    let result = self.ledger.revoke_charger(revocation).map(|effects| {
                        let index = effects.entries[0].0;
                        queued.push(effects);
                        index
                    });
                    answers.push(Box::new(move || {
                        let _ = reply.send(result.map_err(IngestError::from));
                    }));
                }
                Command::PublishTariff { publication, reply } => {
                    let result = self.ledger.publish_tariff(publication, now).map(|effects| {
                        tariffs_changed = true;
                        staged.add(&effects);
                        let index = effects.entries[0].0;
                        queued.push(effects);
                        index
                    });
                    answers.push(Box::new(move || {
                        let _ = reply.send(result.map_err(IngestError::from));
                    }));
                }
                Command::PutToken { token, reply } => {
                    // Custody writes go to disk at once, in order, so a later command of the same
                    // group (an authorisation) reads them.
                    self.stage_queued(&mut batch, &mut queued, &mut presealed, &staged, now);
                    self.flush(&mut batch);
                    let mut custody_batch = Batch::default();
                    let result =
                        custody::put_token(&self.store, &mut custody_batch, token, now, &mut OsRng);
                    if result.is_ok() {
                        self.write(custody_batch);
                    }
                    answers.push(Box::new(move || {
                        let _ = reply.send(result.map_err(IngestError::from));
                    }));
                }
                Command::Authorize {
                    session,
                    uid,
                    reply,
                } => {
                    self.stage_queued(&mut batch, &mut queued, &mut presealed, &staged, now);
                    self.flush(&mut batch);
                    let mut custody_batch = Batch::default();
                    let result = custody::authorize(&self.store, &mut custody_batch, session, &uid);
                    if result.is_ok() {
                        self.write(custody_batch);
                    }
                    answers.push(Box::new(move || {
                        let _ = reply.send(result.map_err(IngestError::from));
                    }));
                }
                Command::Erase { contract_id, reply } => {
                    self.stage_queued(&mut batch, &mut queued, &mut presealed, &staged, now);
                    self.flush(&mut batch);
                    let result = self.erase(&contract_id);
                    answers.push(Box::new(move || {
                        let _ = reply.send(result.map_err(IngestError::from));
                    }));
                }
                Command::Disclose { disclosure, reply } => {
                    let result = self.ledger.disclose(disclosure, &staged).map(|effects| {
                        let index = effects.entries[0].0;
                        queued.push(effects);
                        index
                    });
                    answers.push(Box::new(move || {
                        let _ = reply.send(result.map_err(IngestError::from));
                    }));
                }
                Command::Expire { reply } => {
                    self.stage_queued(&mut batch, &mut queued, &mut presealed, &staged, now);
                    self.flush(&mut batch);
                    let result = self.expire(now);
                    answers.push(Box::new(move || {
                        let _ = reply.send(result.map_err(IngestError::from));
                    }));
                }
                Command::IssueStatements {
                    period_start_ms,
                    period_end_ms,
                    reply,
                } => {
                    self.stage_queued(&mut batch, &mut queued, &mut presealed, &staged, now);
                    self.flush(&mut batch);
                    let result =
                        self.issue_statements((period_start_ms, period_end_ms))
                            .map(|all| {
                                let indices = all.iter().map(|e| e.entries[0].0).collect();
                                queued.extend(all);
                                indices
                            });
                    answers.push(Box::new(move || {
                        let _ = reply.send(result);
                    }));
                }
                Command::Settle { entries, reply } => {
                    let result = self.stage_response(entries).map(|all| {
                        let index = all[0].entries[0].0;
                        queued.extend(all);
                        index
                    });
                    answers.push(Box::new(move || {
                        let _ = reply.send(result);
                    }));
                }
                Command::AnswerDispute {
                    dispute,
                    items,
                    reply,
                } => {
                    self.stage_queued(&mut batch, &mut queued, &mut presealed, &staged, now);
                    self.flush(&mut batch);
                    let result = self
                        .answer_dispute(&mut batch, now, dispute, items)
                        .map(|all| {
                            let index = all.last().map_or(0, |e| e.entries[0].0);
                            queued.extend(all);
                            index
                        });
                    answers.push(Box::new(move || {
                        let _ = reply.send(result);
                    }));
                }
                Command::Tick => {}
            }
        }
        self.stage_queued(&mut batch, &mut queued, &mut presealed, &staged, now);
        if !batch.is_empty() {
            self.write(batch);
        }
        // Only now, with the batch durable, do readers and clients learn of it.
        if tariffs_changed {
            self.view.set_tariffs(self.ledger.tariffs().clone());
        }
        for (key_id, key) in new_keys {
            self.view.add_key(key_id, key);
        }
        let (size, root) = (self.frontier.size(), self.frontier.root());
        self.view.publish(|p| {
            p.size = size;
            p.root = root;
        });
        for answer in answers {
            answer();
        }
    }

    /// Seals every session the queued effects close (price and driver commitments, the sealed
    /// evidence: one Bulletproofs prove each, spread over the cores), then stages the effects in
    /// log order. A record is never staged without its commitments.
    fn stage_queued(
        &mut self,
        batch: &mut Batch,
        queued: &mut Vec<Effects>,
        presealed: &mut HashMap<SessionId, custody::PreSeal>,
        staged: &GroupArchive<'_, S>,
        now: u64,
    ) {
        let mut all = std::mem::take(queued);
        // Sessions sealed ahead by their request handler, if the seal still matches.
        for effects in &mut all {
            for (index, entry, bytes) in &mut effects.entries {
                let Entry::SessionClosed(record) = entry else {
                    continue;
                };
                let Some(preseal) = presealed.remove(&record.session) else {
                    continue;
                };
                match custody::apply_preseal(
                    &self.store,
                    batch,
                    record,
                    *index,
                    now,
                    preseal,
                    &mut OsRng,
                ) {
                    Ok(true) => *bytes = entry.encode(),
                    Ok(false) => {
                        tracing::debug!(index, "a pre-sealed session changed; sealing it again")
                    }
                    Err(e) => fail_stop(&format!("checking a pre-sealed session failed: {e}")),
                }
            }
        }
        let mut jobs = Vec::new();
        for (e, effects) in all.iter().enumerate() {
            for (n, (index, entry, _)) in effects.entries.iter().enumerate() {
                let Entry::SessionClosed(record) = entry else {
                    continue;
                };
                if record.privacy.is_some() {
                    continue;
                }
                let readings: Option<Vec<SignedReading>> = (record.first_counter
                    ..=record.last_counter)
                    .map(|counter| staged.reading(&record.key_id, counter))
                    .collect();
                let Some(readings) = readings else {
                    fail_stop("a closing session's readings are not in the archive");
                };
                let tariff = match &record.tariff {
                    None => None,
                    Some(t) => match staged.tariffs.get(&t.index) {
                        Some(json) => Some(json.clone()),
                        None => custody::tariff_json(&self.store, record).unwrap_or_else(|e| {
                            fail_stop(&format!("reading a session's tariff: {e}"))
                        }),
                    },
                };
                jobs.push(SealJob {
                    at: (e, n),
                    index: *index,
                    record: record.clone(),
                    readings,
                    tariff,
                });
            }
        }
        if !jobs.is_empty() {
            // Created before the workers run, so they all use the same one.
            if let Err(e) = custody::ensure_anonymous(&self.store, &mut OsRng) {
                fail_stop(&format!("creating the anonymous custody key failed: {e}"));
            }
            let origin = self.signer.origin().to_owned();
            let close = CloseContext {
                origin: &origin,
                time_zone: self.config.time_zone,
                now_ms: now,
            };
            for (job, custody_batch) in seal_in_parallel(&self.store, &close, jobs) {
                let (e, n) = job.at;
                let (_, entry, bytes) = &mut all[e].entries[n];
                *entry = Entry::SessionClosed(job.record);
                *bytes = entry.encode();
                batch.append(custody_batch);
            }
        }
        for effects in &all {
            self.stage(batch, effects);
        }
    }

    /// Writes what the group staged so far, so the next command reads it from the store.
    fn flush(&mut self, batch: &mut Batch) {
        if !batch.is_empty() {
            self.write(std::mem::take(batch));
        }
    }

    fn erase(&mut self, contract_id: &str) -> Result<ErasureReport, CustodyError> {
        let mut batch = Batch::default();
        let report = custody::erase(&self.store, &mut batch, contract_id)?;
        self.write(batch);
        if let Err(e) = self.store.kv().purge(kvitto_store::Cf::People) {
            fail_stop(&format!("purging erased data failed: {e}"));
        }
        tracing::info!(
            tokens = report.tokens,
            sessions = report.sessions_unlinked,
            "person erased"
        );
        Ok(report)
    }

    fn expire(&mut self, now: u64) -> Result<ExpiryReport, CustodyError> {
        let retention = self.config.retention;
        let mut people = 0;
        for contract in custody::expired_people(&self.store, &retention, now)? {
            self.erase(&contract)?;
            people += 1;
        }
        let mut batch = Batch::default();
        let amounts = custody::expire_amounts(&self.store, &mut batch, &retention, now)?;
        if !batch.is_empty() {
            self.write(batch);
            if let Err(e) = self.store.kv().purge(kvitto_store::Cf::Retained) {
                fail_stop(&format!("purging expired amounts failed: {e}"));
            }
        }
        Ok(ExpiryReport { people, amounts })
    }

    /// Statements for the period, appended to the ledger (not yet staged). All or none.
    fn issue_statements(&mut self, period: (u64, u64)) -> Result<Vec<Effects>, IngestError> {
        self.book.catch_up(&self.store, self.ledger.size())?;
        let origin = self.signer.origin().to_owned();
        let issued = self.book.statements(
            &self.store,
            &origin,
            self.ledger.size(),
            period,
            self.config.operator.as_deref(),
            &mut OsRng,
        )?;
        let mut all = Vec::with_capacity(issued.len());
        for issued in issued {
            // Checked before any is appended would be nicer; a statement the book built and
            // the ledger refuses is a bug, and stops the node rather than leave half a period.
            let effects = self
                .ledger
                .settle(Entry::SettlementStatement(issued.statement))
                .unwrap_or_else(|e| fail_stop(&format!("a statement was refused: {e}")));
            if effects.entries[0].0 != issued.index {
                fail_stop("a statement was appended at another index than it was proven for");
            }
            all.push(effects);
        }
        Ok(all)
    }

    /// A statement's response ([`Command::Settle`]): an acknowledgement alone, or the parts of
    /// one dispute, all naming the same statement; checked whole, then appended.
    fn stage_response(&mut self, entries: Vec<Entry>) -> Result<Vec<Effects>, IngestError> {
        let invalid = |reason: String| {
            IngestError::Registry(RegistryError::InvalidField {
                field: "entries",
                reason,
            })
        };
        let statement = |entry: &Entry| match entry {
            Entry::StatementAcknowledged(a) if entries.len() == 1 => Ok(a.statement.clone()),
            Entry::StatementAcknowledged(_) => Err(invalid(
                "an acknowledgement is appended alone, not with other entries".into(),
            )),
            Entry::StatementDisputed(d) => Ok(d.statement.clone()),
            other => Err(invalid(format!(
                "{} is appended by its own command, not as a settlement answer",
                other.type_name()
            ))),
        };
        let Some(first) = entries.first() else {
            return Err(invalid("no entry to append".into()));
        };
        let named = statement(first)?;
        for entry in &entries {
            if statement(entry)? != named {
                return Err(invalid(
                    "the parts of a dispute all name the same statement".into(),
                ));
            }
            self.ledger
                .check_settlement(entry)
                .map_err(|e| IngestError::from(RegistryError::Settlement(e)))?;
        }
        // Every part was checked just above against the same rules: a refusal now is a bug, and
        // stops the node rather than leave parts in the ledger that are never written.
        Ok(entries
            .into_iter()
            .map(|entry| {
                self.ledger
                    .settle(entry)
                    .unwrap_or_else(|e| fail_stop(&format!("a checked response was refused: {e}")))
            })
            .collect())
    }

    /// Credit notes for the credited items, then the answer, appended to the ledger.
    fn answer_dispute(
        &mut self,
        batch: &mut Batch,
        now: u64,
        dispute: EntryRef,
        plans: Vec<AnswerPlan>,
    ) -> Result<Vec<Effects>, IngestError> {
        check_answer(&dispute, &plans)?;
        self.book.catch_up(&self.store, self.ledger.size())?;
        let origin = self.signer.origin().to_owned();
        // Build every credit first: nothing is appended if one cannot be.
        let mut credits = Vec::new();
        for plan in &plans {
            if let AnswerPlan::Credit {
                session_index,
                reason,
            } = plan
            {
                let index = self.ledger.size() + credits.len() as u64;
                let mut staged = Batch::default();
                let credit = self.book.credit(
                    &self.store,
                    &mut staged,
                    CreditAt {
                        origin: &origin,
                        index,
                        now_ms: now,
                        session_index: *session_index,
                        reason: *reason,
                        dispute: Some(dispute.clone()),
                    },
                    &mut OsRng,
                )?;
                credits.push((credit, staged));
            }
        }
        let mut all = Vec::new();
        let mut credit_indices = Vec::new();
        let mut retained = Batch::default();
        for (credit, staged) in credits {
            let effects = self
                .ledger
                .settle(Entry::CreditNote(credit))
                .unwrap_or_else(|e| fail_stop(&format!("a credit note was refused: {e}")));
            credit_indices.push(effects.entries[0].0);
            retained.append(staged);
            all.push(effects);
        }
        let mut credit_indices = credit_indices.into_iter();
        let items = plans
            .into_iter()
            .map(|plan| match plan {
                AnswerPlan::Credit { session_index, .. } => AnswerItem {
                    session_index: Some(session_index),
                    outcome: AnswerOutcome::Credited {
                        credit_index: credit_indices.next().unwrap_or_default(),
                    },
                },
                AnswerPlan::Reject {
                    session_index,
                    reason,
                } => AnswerItem {
                    session_index,
                    outcome: AnswerOutcome::Rejected { reason },
                },
            })
            .collect();
        let answer = self
            .ledger
            .settle(Entry::DisputeAnswered(DisputeAnswer { dispute, items }))
            .unwrap_or_else(|e| fail_stop(&format!("a dispute answer was refused: {e}")));
        all.push(answer);
        batch.append(retained);
        Ok(all)
    }

    fn stage(&mut self, batch: &mut Batch, effects: &Effects) {
        if let Err(e) = self.store.stage(batch, &mut self.frontier, effects) {
            fail_stop(&format!("staging a write failed: {e}"));
        }
    }

    fn write(&self, batch: Batch) {
        if let Err(e) = self.store.write(batch) {
            fail_stop(&format!("a durable write failed: {e}"));
        }
    }

    /// Signs and persists a checkpoint if one is due (or `force`), then publishes it.
    fn checkpoint(&mut self, force: bool) {
        let now = self.clock.now_ms();
        let size = self.frontier.size();
        let pending = size - self.checkpoint_size;
        let due = pending >= self.config.checkpoint_entries
            || (pending > 0
                && now.saturating_sub(self.checkpoint_at_ms) >= self.config.checkpoint_interval_ms);
        if !(force || due) {
            return;
        }
        let root = self.frontier.root();
        let note = self.signer.sign(size, &root);
        let mut batch = Batch::default();
        self.store.stage_checkpoint(&mut batch, size, &note);
        // Persist before publishing: a checkpoint nobody saw can be re-signed identically after a
        // crash, but one that was published must never be contradicted.
        self.write(batch);
        self.checkpoint_size = size;
        self.checkpoint_at_ms = now;
        let note = Arc::new(note);
        self.view.publish(|p| {
            p.checkpoint = Some(note);
            p.checkpoint_size = size;
        });
        tracing::debug!(size, "checkpoint signed");
    }
}

/// One closing session to seal: where its record is in the queued effects, and its inputs.
struct SealJob {
    at: (usize, usize),
    index: u64,
    record: kvitto_core::entry::SessionRecord,
    readings: Vec<SignedReading>,
    tariff: Option<String>,
}

/// Seals `jobs` on up to as many threads as there are cores; returns them, sealed, in order,
/// each with the custody writes it made.
fn seal_in_parallel<S: KvStore>(
    store: &LogStore<S>,
    close: &CloseContext<'_>,
    jobs: Vec<SealJob>,
) -> Vec<(SealJob, Batch)> {
    let seal = |mut job: SealJob| {
        let mut custody_batch = Batch::default();
        let result = custody::seal_session(
            store,
            &mut custody_batch,
            close,
            custody::Closing {
                index: job.index,
                record: &mut job.record,
                readings: &job.readings,
                tariff_json: job.tariff.as_deref(),
            },
            &mut OsRng,
        );
        if let Err(e) = result {
            fail_stop(&format!("sealing a session failed: {e}"));
        }
        (job, custody_batch)
    };
    let threads = thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(jobs.len());
    if threads <= 1 {
        return jobs.into_iter().map(seal).collect();
    }
    let per_thread = jobs.len().div_ceil(threads);
    let mut chunks: Vec<Vec<SealJob>> = Vec::new();
    let mut jobs = jobs.into_iter().peekable();
    while jobs.peek().is_some() {
        chunks.push(jobs.by_ref().take(per_thread).collect());
    }
    thread::scope(|scope| {
        let handles: Vec<_> = chunks
            .into_iter()
            .map(|chunk| scope.spawn(move || chunk.into_iter().map(seal).collect::<Vec<_>>()))
            .collect();
        handles
            .into_iter()
            .flat_map(|h| {
                h.join()
                    .unwrap_or_else(|_| fail_stop("a sealing thread panicked"))
            })
            .collect()
    })
}

/// What a retention run removed.
#[derive(Debug, Clone, Serialize)]
pub struct ExpiryReport {
    pub people: usize,
    pub amounts: usize,
}

/// The store plus what this group has staged but not yet written.
struct GroupArchive<'a, S> {
    store: &'a LogStore<S>,
    readings: HashMap<(KeyId, u64), SignedReading>,
    sessions: HashSet<SessionId>,
    /// Tariff JSON by log index, published in this group.
    tariffs: HashMap<u64, String>,
    /// Records closed in this group, by session.
    records: HashMap<SessionId, u64>,
}

impl<S: KvStore> GroupArchive<'_, S> {
    fn add(&mut self, effects: &Effects) {
        for r in &effects.readings {
            self.readings
                .insert((r.reading.key_id, r.reading.counter), r.clone());
            if r.reading.kind == kvitto_core::ReadingKind::Start {
                self.sessions.insert(r.reading.session);
            }
        }
        self.records.extend(effects.closed_sessions.iter().copied());
        for (index, entry, _) in &effects.entries {
            if let Entry::TariffPublished(p) = entry {
                self.tariffs.insert(*index, p.tariff_json.clone());
            }
        }
    }
}

impl<S: KvStore> ReadingArchive for GroupArchive<'_, S> {
    fn reading(&self, key_id: &KeyId, counter: u64) -> Option<SignedReading> {
        self.readings
            .get(&(*key_id, counter))
            .cloned()
            .or_else(|| ReadingArchive::reading(self.store, key_id, counter))
    }

    fn session_exists(&self, session: &SessionId) -> bool {
        self.sessions.contains(session) || ReadingArchive::session_exists(self.store, session)
    }

    fn session_record(&self, session: &SessionId) -> RecordLookup {
        match self.records.get(session) {
            Some(index) => RecordLookup::At(*index),
            None => self.store.session_record(session),
        }
    }
}

/// Storage failed under the sequencer: the in-memory state may now be ahead of the disk. The only
/// safe move is to stop; a restart reloads from what is durable.
/// What the ledger will check of an answer, checked before its credit notes are appended, so an
/// answer is appended whole or not at all.
fn check_answer(dispute: &EntryRef, plans: &[AnswerPlan]) -> Result<(), IngestError> {
    let invalid = |field: &'static str, reason: String| {
        Err(IngestError::Registry(RegistryError::InvalidField {
            field,
            reason,
        }))
    };
    let text_ok = |t: &str| {
        !t.is_empty()
            && t.len() <= kvitto_core::limits::TEXT_LEN_MAX
            && !t.chars().any(char::is_control)
    };
    if !text_ok(&dispute.origin) {
        return invalid("dispute.origin", "a log origin line".into());
    }
    if plans.is_empty() || plans.len() > kvitto_core::limits::DISPUTE_ITEMS_MAX {
        return invalid(
            "items",
            format!(
                "1 to {} answered items",
                kvitto_core::limits::DISPUTE_ITEMS_MAX
            ),
        );
    }
    for plan in plans {
        if let AnswerPlan::Reject { reason, .. } = plan {
            if !text_ok(reason) {
                return invalid(
                    "reason",
                    format!(
                        "a rejection says why in 1 to {} bytes, without control characters",
                        kvitto_core::limits::TEXT_LEN_MAX
                    ),
                );
            }
        }
    }
    Ok(())
}

fn fail_stop(message: &str) -> ! {
    tracing::error!("{message}; stopping the node");
    eprintln!("kvitto: fatal: {message}");
    std::process::exit(70)
}

#[cfg(test)]
mod tests {
    use kvitto_core::settlement::{
        DisputeItem, DisputeReason, EntryRef, StatementAcknowledgement, StatementDispute,
    };
    use kvitto_store::MemoryStore;

    use super::*;

    struct Signer;

    impl CheckpointSigner for Signer {
        fn origin(&self) -> &str {
            "emsp.example/log"
        }
        fn sign(&self, size: u64, root: &kvitto_tlog::Hash) -> Vec<u8> {
            format!("emsp.example/log\n{size}\n{}\n\n— test\n", root.to_base64()).into_bytes()
        }
    }

    fn start() -> (SequencerHandle, Arc<LogStore<MemoryStore>>) {
        let store = Arc::new(LogStore::open(MemoryStore::new()).unwrap());
        let (sequencer, _view, _thread) = Sequencer::start(
            store.clone(),
            kvitto_core::NetworkId::of_name("test"),
            Arc::new(Signer),
            Arc::new(crate::SystemClock),
            SequencerConfig::default(),
            |_| None,
        )
        .unwrap();
        (sequencer, store)
    }

    fn statement(index: u64) -> EntryRef {
        EntryRef {
            origin: "cpo.example/log".into(),
            index,
            leaf_hash: [3; 32],
        }
    }

    fn part(statement: EntryRef, sessions: std::ops::Range<u64>) -> Entry {
        Entry::StatementDisputed(StatementDispute {
            statement,
            sessions_checked: 500,
            items: sessions
                .map(|i| DisputeItem {
                    session_index: Some(i),
                    reason: DisputeReason::UnknownToken,
                })
                .collect(),
        })
    }

    fn ack(statement: EntryRef) -> Entry {
        Entry::StatementAcknowledged(StatementAcknowledgement {
            statement,
            sessions_checked: 500,
        })
    }

    /// The parts of a dispute are appended together, at consecutive indexes; a response that
    /// is not one statement's acknowledgement or dispute, or has one bad part, appends nothing.
    #[tokio::test]
    async fn a_response_is_appended_whole_or_not_at_all() {
        let (sequencer, store) = start();
        let first = sequencer
            .settle(vec![
                part(statement(40), 0..128),
                part(statement(40), 128..130),
            ])
            .await
            .unwrap();
        assert_eq!(first, 0);
        assert_eq!(store.size().unwrap(), 2);

        let refused: Vec<(Vec<Entry>, &str)> = vec![
            (vec![], "no entry"),
            (
                vec![ack(statement(41)), part(statement(41), 0..1)],
                "appended alone",
            ),
            (
                vec![part(statement(42), 0..1), part(statement(43), 1..2)],
                "the same statement",
            ),
            (
                vec![part(statement(44), 0..1), part(statement(44), 1..1)],
                "1 to 128 disputed items",
            ),
            (
                vec![part(
                    EntryRef {
                        origin: "emsp.example/log".into(),
                        ..statement(45)
                    },
                    0..1,
                )],
                "does not dispute itself",
            ),
        ];
        for (entries, why) in refused {
            let error = sequencer.settle(entries).await.unwrap_err();
            assert!(error.to_string().contains(why), "{error} (expected: {why})");
            assert_eq!(store.size().unwrap(), 2, "{why}: nothing appended");
        }
        assert_eq!(sequencer.settle(vec![ack(statement(46))]).await.unwrap(), 2);
    }
}
