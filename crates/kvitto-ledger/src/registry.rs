//! Charger registration and revocation, the index of published tariffs, and evidence
//! disclosures.

use serde::Serialize;
use thiserror::Error;

use kvitto_core::entry::{
    ChargerRegistration, ChargerRevocation, Entry, EvidenceDisclosure, TariffPublication, TariffRef,
};
use kvitto_core::keys::SessionId;
use kvitto_core::{limits, KeyId};

use crate::ingest::{ChargerState, Effects, ReadingArchive, RecordLookup};
use crate::Ledger;

#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum RegistryError {
    #[error("charger key {0} is already registered")]
    AlreadyRegistered(KeyId),
    #[error("charger key {0} is not registered")]
    UnknownCharger(KeyId),
    #[error("charger key {0} is already revoked")]
    AlreadyRevoked(KeyId),
    #[error("{field}: {reason}")]
    InvalidField { field: &'static str, reason: String },
    /// A disclosure names a record index that is not before the disclosure's own index.
    #[error("record index {record_index} is not before this entry's index {index}")]
    RecordIndexAhead { record_index: u64, index: u64 },
    /// A disclosure names a session whose record is not at the index it gives.
    #[error("{reason}")]
    SessionRecordUnknown {
        session: SessionId,
        record_index: u64,
        reason: String,
    },
    /// The archive cannot say where a session's record is: a fault of the node's own storage.
    #[error("the archive cannot say where the record of session {0} is")]
    ArchiveUnavailable(SessionId),
    /// A settlement entry breaks a rule of `specs/settlement.md`.
    #[error(transparent)]
    Settlement(#[from] crate::settlement::SettlementError),
}

impl RegistryError {
    /// The stable machine-readable code for APIs.
    pub fn code(&self) -> &'static str {
        match self {
            RegistryError::AlreadyRegistered(_) => "charger_already_registered",
            RegistryError::UnknownCharger(_) => "unknown_charger",
            RegistryError::AlreadyRevoked(_) => "charger_already_revoked",
            RegistryError::InvalidField { .. } => "invalid_field",
            RegistryError::RecordIndexAhead { .. } => "record_index_ahead",
            RegistryError::SessionRecordUnknown { .. } => "session_record_unknown",
            RegistryError::ArchiveUnavailable(_) => "archive_unavailable",
            RegistryError::Settlement(e) => e.code(),
        }
    }
}

fn check_text(field: &'static str, value: &str, max: usize) -> Result<(), RegistryError> {
    if value.is_empty() || value.len() > max {
        return Err(RegistryError::InvalidField {
            field,
            reason: format!("must be 1 to {max} bytes, got {}", value.len()),
        });
    }
    if value.chars().any(|c| c.is_control()) {
        return Err(RegistryError::InvalidField {
            field,
            reason: "must not contain control characters".into(),
        });
    }
    Ok(())
}

/// One tariff publication, as the ledger needs it to pick the tariff for a session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PublishedTariff {
    pub tariff_id: String,
    pub counterparty: Option<String>,
    pub valid_from_ms: u64,
    pub reference: TariffRef,
}

/// Every tariff published on this log, in log order.
#[derive(Debug, Clone, Default)]
pub struct TariffIndex {
    published: Vec<PublishedTariff>,
}

impl TariffIndex {
    pub fn push(&mut self, tariff: PublishedTariff) {
        self.published.push(tariff);
    }

    pub fn all(&self) -> &[PublishedTariff] {
        &self.published
    }

    /// Drops publications appended after the first `len` (undoing a rejected replay batch).
    pub(crate) fn truncate(&mut self, len: usize) {
        self.published.truncate(len);
    }

    /// The tariff in force at `at_ms` for `tariff_id`: the publication with the latest
    /// `valid_from_ms` not after `at_ms`; on a tie, the one appended last. A variant for
    /// `counterparty` wins over the default price when one is in force.
    pub fn in_force(
        &self,
        tariff_id: &str,
        counterparty: Option<&str>,
        at_ms: u64,
    ) -> Option<&PublishedTariff> {
        let best = |want: Option<&str>| {
            self.published
                .iter()
                .filter(|t| {
                    t.tariff_id == tariff_id
                        && t.counterparty.as_deref() == want
                        && t.valid_from_ms <= at_ms
                })
                .max_by_key(|t| (t.valid_from_ms, t.reference.index))
        };
        counterparty
            .and_then(|party| best(Some(party)))
            .or_else(|| best(None))
    }
}

/// How far in the past a charger key's validity may start when it is registered: a charger
/// installed and metering before its key reached the log. Readings older than that are refused.
pub const REGISTRATION_BACKDATE_MS_MAX: u64 = 7 * 86_400_000;

/// How far in the past a tariff's validity may start when it is published. Tariffs cannot be
/// backdated, so "valid from before the session started" implies "published before it".
pub const TARIFF_BACKDATE_MS_MAX: u64 = 60_000;

impl Ledger {
    pub fn register_charger(
        &mut self,
        registration: ChargerRegistration,
        now_ms: u64,
    ) -> Result<Effects, RegistryError> {
        let key_id = registration.key_id();
        if self.chargers.contains_key(&key_id) {
            return Err(RegistryError::AlreadyRegistered(key_id));
        }
        check_text("evse_id", &registration.evse_id, limits::EVSE_ID_LEN_MAX)?;
        check_text(
            "meter_serial",
            &registration.meter_serial,
            limits::METER_SERIAL_LEN_MAX,
        )?;
        if let Some(tariff_id) = &registration.tariff_id {
            check_text("tariff_id", tariff_id, limits::TEXT_LEN_MAX)?;
        }
        if registration.max_power_w == 0 {
            return Err(RegistryError::InvalidField {
                field: "max_power_w",
                reason: "must be positive".into(),
            });
        }
        // A canonical encoding (y < p, as RFC 8032 requires) of a point of large order.
        let canonical_large_order =
            ed25519_dalek::VerifyingKey::from_bytes(&registration.public_key).is_ok_and(|k| {
                !k.is_weak() && k.to_edwards().compress().to_bytes() == registration.public_key
            });
        if !canonical_large_order {
            return Err(RegistryError::InvalidField {
                field: "public_key",
                reason: "not a canonically encoded Ed25519 public key of large order".into(),
            });
        }
        if registration
            .valid_from_ms
            .saturating_add(REGISTRATION_BACKDATE_MS_MAX)
            < now_ms
        {
            return Err(RegistryError::InvalidField {
                field: "valid_from_ms",
                reason: format!(
                    "a registration may start at most {} days before it is made",
                    REGISTRATION_BACKDATE_MS_MAX / 86_400_000
                ),
            });
        }
        let state = ChargerState::new(registration.clone(), self.size);
        self.chargers.insert(key_id, state.clone());
        let mut effects = Effects::default();
        effects.chargers.push(state);
        self.append(&mut effects, Entry::ChargerRegistered(registration));
        Ok(effects)
    }

    pub fn revoke_charger(
        &mut self,
        revocation: ChargerRevocation,
    ) -> Result<Effects, RegistryError> {
        check_text("reason", &revocation.reason, limits::TEXT_LEN_MAX)?;
        let state = self
            .chargers
            .get_mut(&revocation.key_id)
            .ok_or(RegistryError::UnknownCharger(revocation.key_id))?;
        if state.revoked_from_ms.is_some() {
            return Err(RegistryError::AlreadyRevoked(revocation.key_id));
        }
        state.revoked_from_ms = Some(revocation.revoked_from_ms);
        let mut effects = Effects::default();
        effects.chargers.push(state.clone());
        self.append(&mut effects, Entry::ChargerRevoked(revocation));
        Ok(effects)
    }

    /// Appends a tariff publication. The caller has already checked that the JSON is a valid
    /// OCPI tariff; the ledger checks what it can see: ids, size, and no backdating.
    pub fn publish_tariff(
        &mut self,
        publication: TariffPublication,
        now_ms: u64,
    ) -> Result<Effects, RegistryError> {
        check_text("tariff_id", &publication.tariff_id, limits::TEXT_LEN_MAX)?;
        if let Some(party) = &publication.counterparty {
            check_text("counterparty", party, limits::TEXT_LEN_MAX)?;
        }
        if publication.tariff_json.len() > limits::TARIFF_JSON_LEN_MAX {
            return Err(RegistryError::InvalidField {
                field: "tariff",
                reason: format!(
                    "{} bytes, at most {} allowed",
                    publication.tariff_json.len(),
                    limits::TARIFF_JSON_LEN_MAX
                ),
            });
        }
        if publication
            .valid_from_ms
            .saturating_add(self.config.tariff_backdate_ms_max)
            < now_ms
        {
            return Err(RegistryError::InvalidField {
                field: "valid_from_ms",
                reason: "a tariff cannot be made valid from before its publication".into(),
            });
        }
        let mut effects = Effects::default();
        let (index, leaf_hash) =
            self.append(&mut effects, Entry::TariffPublished(publication.clone()));
        self.tariffs.push(PublishedTariff {
            tariff_id: publication.tariff_id,
            counterparty: publication.counterparty,
            valid_from_ms: publication.valid_from_ms,
            reference: TariffRef { index, leaf_hash },
        });
        Ok(effects)
    }

    /// Appends an evidence disclosure: a regulator was given the evidence bundle of the session
    /// whose record is at `record_index`. The caller has decided to disclose; the ledger checks
    /// what the log can show (see [`Ledger::check_disclosure`]).
    pub fn disclose(
        &mut self,
        disclosure: EvidenceDisclosure,
        archive: &dyn ReadingArchive,
    ) -> Result<Effects, RegistryError> {
        self.check_disclosure(&disclosure, archive)?;
        let mut effects = Effects::default();
        self.append(&mut effects, Entry::EvidenceDisclosed(disclosure));
        Ok(effects)
    }

    /// The rule for a disclosure at the next index: a recipient is named (1 to
    /// [`limits::TEXT_LEN_MAX`] bytes), the case reference is at most
    /// [`limits::CASE_REF_LEN_MAX`] bytes (it may be empty), neither has control characters,
    /// and the `session_closed` record of `session` is at `record_index`, before this entry.
    pub(crate) fn check_disclosure(
        &self,
        disclosure: &EvidenceDisclosure,
        archive: &dyn ReadingArchive,
    ) -> Result<(), RegistryError> {
        check_text("recipient", &disclosure.recipient, limits::TEXT_LEN_MAX)?;
        if !disclosure.case_ref.is_empty() {
            check_text("case_ref", &disclosure.case_ref, limits::CASE_REF_LEN_MAX)?;
        }
        let (session, record_index) = (disclosure.session, disclosure.record_index);
        if record_index >= self.size {
            return Err(RegistryError::RecordIndexAhead {
                record_index,
                index: self.size,
            });
        }
        let unknown = |reason: String| RegistryError::SessionRecordUnknown {
            session,
            record_index,
            reason,
        };
        match archive.session_record(&session) {
            RecordLookup::At(index) if index == record_index => Ok(()),
            RecordLookup::At(index) => Err(unknown(format!(
                "the record of session {session} is at index {index}, not {record_index}"
            ))),
            RecordLookup::NotClosed => Err(unknown(format!(
                "no session {session} is closed on this log"
            ))),
            RecordLookup::Unavailable => Err(RegistryError::ArchiveUnavailable(session)),
        }
    }

    /// Assigns the next index to `entry` and records it in `effects`.
    pub(crate) fn append(&mut self, effects: &mut Effects, entry: Entry) -> (u64, [u8; 32]) {
        let index = self.size;
        let bytes = entry.encode();
        let leaf_hash = kvitto_tlog::merkle::leaf_hash(&bytes).0;
        self.size += 1;
        effects.entries.push((index, entry, bytes));
        (index, leaf_hash)
    }
}
