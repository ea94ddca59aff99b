//! Cosignatures collected per log: the recent checkpoints with every valid policy cosignature
//! seen for each, and the latest one witnessed under the policy.

use std::collections::BTreeMap;
use std::sync::Arc;

use kvitto_service::ServedLog;
use kvitto_store::{Batch, KvStore, META_COSIGNED, META_WITNESSED};
use kvitto_tlog::checkpoint::Checkpoint;
use kvitto_tlog::note::{Ed25519Verifier, Note};
use kvitto_tlog::policy::Policy;
use kvitto_witness::policy::{is_witnessed, merge_cosignatures, MergeError};

use crate::limits::COSIGNED_NOTES_KEPT;

#[derive(Debug, Default)]
pub(crate) struct Book {
    /// Checkpoint notes by size, each with the cosignatures merged into it.
    notes: BTreeMap<u64, Note>,
    witnessed: Option<(u64, Note)>,
    /// Whether the latest note or the witnessed one changed since the last publish.
    dirty: bool,
}

fn size_of(note: &Note) -> Option<u64> {
    Checkpoint::parse(note.text()).ok().map(|c| c.size())
}

impl Book {
    /// The book as persisted in the log's store (notes were verified when first collected; the
    /// policy check runs again here).
    pub(crate) fn restore<S: KvStore>(log: &ServedLog<S>, policy: &Policy) -> Book {
        let mut book = Book::default();
        let read = |key: &[u8]| {
            log.store
                .meta(key)
                .ok()
                .flatten()
                .and_then(|bytes| Note::parse(&bytes).ok())
        };
        if let Some(note) = read(META_WITNESSED) {
            if let Some(size) = size_of(&note).filter(|_| is_witnessed(policy, &note)) {
                book.witnessed = Some((size, note));
            }
        }
        if let Some(note) = read(META_COSIGNED) {
            if let Some(size) = size_of(&note) {
                book.notes.insert(size, note);
            }
        }
        book.dirty = true;
        book.publish(log);
        book
    }

    pub(crate) fn note_at(&self, size: u64) -> Option<&Note> {
        self.notes.get(&size)
    }

    /// Adds a checkpoint note the log signed (the caller checked that signature and that it
    /// agrees with what this node holds). Returns whether anything changed.
    pub(crate) fn add(
        &mut self,
        note: Note,
        policy: &Policy,
        log_key: &Ed25519Verifier,
    ) -> Result<bool, MergeError> {
        let Some(size) = size_of(&note) else {
            return Ok(false);
        };
        let changed = match self.notes.get_mut(&size) {
            Some(existing) => merge_cosignatures(policy, existing, &note)? > 0,
            None => {
                if self.notes.len() >= COSIGNED_NOTES_KEPT
                    && self.notes.keys().next().is_some_and(|&first| first > size)
                {
                    return Ok(false);
                }
                // Keep only the log's verified signature and cosignatures that verify: other
                // lines (unknown keys, forged lines naming a known key) are dropped.
                let Ok(signed) = Checkpoint::open(note.to_string().as_bytes(), log_key) else {
                    return Ok(false);
                };
                let mut clean = Note::new(note.text())?;
                if let Some(verified) = signed.note.verified().first() {
                    clean.push_signature(verified.signature.clone())?;
                }
                merge_cosignatures(policy, &mut clean, &note)?;
                self.notes.insert(size, clean);
                while self.notes.len() > COSIGNED_NOTES_KEPT {
                    self.notes.pop_first();
                }
                true
            }
        };
        if !changed {
            return Ok(false);
        }
        let witnessed_size = self.witnessed.as_ref().map_or(0, |(s, _)| *s);
        if let Some((size, note)) = self
            .notes
            .iter()
            .rev()
            .find(|(size, note)| **size > witnessed_size && is_witnessed(policy, note))
        {
            self.witnessed = Some((*size, note.clone()));
        }
        self.dirty = true;
        Ok(true)
    }

    /// Persists and publishes the latest note and the witnessed one.
    pub(crate) fn publish<S: KvStore>(&mut self, log: &ServedLog<S>) {
        if !self.dirty {
            return;
        }
        self.dirty = false;
        let latest = self.notes.iter().next_back();
        let mut batch = Batch::default();
        if let Some((_, note)) = latest {
            log.store
                .stage_meta(&mut batch, META_COSIGNED, note.to_string().as_bytes());
        }
        if let Some((_, note)) = &self.witnessed {
            log.store
                .stage_meta(&mut batch, META_WITNESSED, note.to_string().as_bytes());
        }
        if !batch.is_empty() {
            if let Err(e) = log.store.write(batch) {
                tracing::error!(origin = %log.info.origin, "cannot persist cosignatures: {e}");
            }
        }
        let origin = log.info.origin.clone();
        log.witness.update(|w| {
            if let Some((size, note)) = latest {
                w.cosigned = Some(Arc::new(note.to_string()));
                w.cosigned_size = *size;
                w.cosigners = note
                    .signatures()
                    .iter()
                    .map(|s| s.name().to_owned())
                    .filter(|name| *name != origin)
                    .collect();
            }
            if let Some((size, note)) = &self.witnessed {
                w.witnessed = Some(Arc::new(note.to_string()));
                w.witnessed_size = *size;
            }
        });
    }
}
