//! Typed, versioned log entries: the leaves of an operator's log.
//!
//! An entry is `format version (u8, 1) || entry type (u8) || type-specific fields`, encoded with
//! the canonical codec ([`crate::codec`]). Session records end with a list of tagged extensions
//! in strictly increasing tag order, so later versions can add fields (tariff, price commitments)
//! without a new entry type; a decoder keeps extension tags it does not know as opaque bytes.
//! The Merkle leaf hash of the encoded entry names it (RFC 6962 `SHA-256(0x00 || entry)`).

use std::collections::BTreeMap;

use serde::Serialize;
use thiserror::Error;

use crate::codec::{DecodeError, Reader, Writer};
use crate::keys::{KeyId, SessionId};
use crate::limits;
use crate::reading::{SignedReading, SIGNED_LEN};
use crate::settlement::{
    self, CreditNote, DisputeAnswer, SettlementStatement, StatementAcknowledgement,
    StatementDispute,
};

pub const ENTRY_VERSION: u8 = 1;

#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum EntryError {
    #[error("malformed entry: {0}")]
    Decode(#[from] DecodeError),
    #[error("entry is {0} bytes, at most {max} allowed", max = limits::ENTRY_LEN_MAX)]
    TooLong(usize),
}

/// A charger key registered on its operator's log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChargerRegistration {
    #[serde(with = "hex_32")]
    pub public_key: [u8; 32],
    pub evse_id: String,
    pub meter_serial: String,
    pub max_power_w: u32,
    /// Readings signed before this instant are rejected.
    pub valid_from_ms: u64,
    /// The OCPI tariff id that prices this charger's sessions, if any.
    pub tariff_id: Option<String>,
}

impl ChargerRegistration {
    pub fn key_id(&self) -> KeyId {
        KeyId::of(&self.public_key)
    }
}

/// A charger key revoked from an instant on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChargerRevocation {
    pub key_id: KeyId,
    /// Readings signed at or after this instant are rejected.
    pub revoked_from_ms: u64,
    pub reason: String,
}

/// Which published tariff priced a session: its log index and RFC 6962 leaf hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct TariffRef {
    pub index: u64,
    #[serde(with = "hex_32")]
    pub leaf_hash: [u8; 32],
}

/// A closed charging session. It binds the session's signed readings by digest; the readings
/// themselves stay off the log with the operator. It holds no driver identifier, and its times
/// and energy are coarse ([`SessionRecord::coarse_start`] and the others): exact values plus a
/// place identify people (`specs/privacy.md`). The exact ones are in the signed readings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SessionRecord {
    pub session: SessionId,
    pub key_id: KeyId,
    pub first_counter: u64,
    pub last_counter: u64,
    /// The start reading's time, rounded down to the hour (UTC).
    pub start_ms: u64,
    /// The stop reading's time, rounded up to the hour (UTC).
    pub stop_ms: u64,
    /// Energy delivered, rounded to the nearest kWh (half up), in Wh.
    pub energy_wh: u64,
    pub reading_count: u32,
    #[serde(with = "hex_32")]
    pub readings_digest: [u8; 32],
    pub tariff: Option<TariffRef>,
    /// The price and driver commitments and the evidence digest (`specs/privacy.md`).
    pub privacy: Option<SessionPrivacy>,
    /// The eMSP party (`CC*PID`) whose token authorised the session and that the session is
    /// billed to in settlement; `None` for sessions without a roaming token.
    pub counterparty: Option<String>,
    /// Extension tags this version does not know, kept verbatim so re-encoding is exact.
    #[serde(skip)]
    pub unknown_extensions: BTreeMap<u16, Vec<u8>>,
}

/// The privacy extension of a session record: what lets anyone check a session's price in
/// settlement, and its driver prove it is theirs, while the record names neither. The values are
/// kvitto-privacy encodings (`specs/privacy.md`); this crate keeps them as bytes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SessionPrivacy {
    /// Pedersen commitment to the price excluding VAT, in the tariff currency's minor units.
    #[serde(with = "hex_32")]
    pub amount_excl_vat: [u8; 32],
    /// Pedersen commitment to the price including VAT.
    #[serde(with = "hex_32")]
    pub amount_incl_vat: [u8; 32],
    /// One aggregated Bulletproofs range proof over both amounts, in that order.
    #[serde(with = "hex_vec")]
    pub range_proof: Vec<u8>,
    /// Identity commitment `T = X + ρ·H_id` to the driver's pseudonym.
    #[serde(with = "hex_32")]
    pub identity: [u8; 32],
    /// Digest of the sealed off-ledger evidence bundle.
    #[serde(with = "hex_32")]
    pub evidence_digest: [u8; 32],
}

/// A regulator was given one session's evidence bundle. The entry names the session and the
/// recipient, never the person.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EvidenceDisclosure {
    pub session: SessionId,
    /// Log index of the session's record.
    pub record_index: u64,
    /// The member operator id of the recipient.
    pub recipient: String,
    /// The recipient's case reference, as given (opaque; no personal data by rule).
    pub case_ref: String,
    pub disclosed_at_ms: u64,
}

/// The public precision of a session record's times.
pub const RECORD_TIME_GRAIN_MS: u64 = 3_600_000;
/// The public precision of a session record's energy.
pub const RECORD_ENERGY_GRAIN_WH: u64 = 1_000;

impl SessionRecord {
    /// The start time as a record shows it: rounded down to [`RECORD_TIME_GRAIN_MS`].
    pub fn coarse_start(ms: u64) -> u64 {
        ms - ms % RECORD_TIME_GRAIN_MS
    }

    /// The stop time as a record shows it: rounded up to [`RECORD_TIME_GRAIN_MS`].
    pub fn coarse_stop(ms: u64) -> u64 {
        ms.div_ceil(RECORD_TIME_GRAIN_MS)
            .saturating_mul(RECORD_TIME_GRAIN_MS)
    }

    /// The energy as a record shows it: rounded half up to [`RECORD_ENERGY_GRAIN_WH`].
    pub fn coarse_energy(wh: u64) -> u64 {
        (wh / RECORD_ENERGY_GRAIN_WH
            + u64::from(wh % RECORD_ENERGY_GRAIN_WH >= RECORD_ENERGY_GRAIN_WH / 2))
        .saturating_mul(RECORD_ENERGY_GRAIN_WH)
    }
}

/// An OCPI tariff published on the log. Tariffs are public information.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TariffPublication {
    pub tariff_id: String,
    /// The eMSP party this variant is for; `None` is the default price.
    pub counterparty: Option<String>,
    pub valid_from_ms: u64,
    /// The OCPI 2.2.1 tariff object, as JSON text.
    pub tariff_json: String,
}

/// Two different readings signed by one charger key with the same counter: evidence the key was
/// cloned. Anyone can check both signatures.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CloneEvidence {
    pub first: SignedReading,
    pub second: SignedReading,
}

#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(clippy::large_enum_variant)] // clone evidence is rare; boxing it would cost every decode of it an allocation for nothing
pub enum Entry {
    ChargerRegistered(ChargerRegistration),
    ChargerRevoked(ChargerRevocation),
    SessionClosed(SessionRecord),
    TariffPublished(TariffPublication),
    ChargerKeyCloned(CloneEvidence),
    EvidenceDisclosed(EvidenceDisclosure),
    SettlementStatement(SettlementStatement),
    CreditNote(CreditNote),
    StatementAcknowledged(StatementAcknowledgement),
    StatementDisputed(StatementDispute),
    DisputeAnswered(DisputeAnswer),
}

const TYPE_CHARGER_REGISTERED: u8 = 1;
const TYPE_CHARGER_REVOKED: u8 = 2;
const TYPE_SESSION_CLOSED: u8 = 3;
const TYPE_TARIFF_PUBLISHED: u8 = 4;
const TYPE_CHARGER_KEY_CLONED: u8 = 5;
const TYPE_EVIDENCE_DISCLOSED: u8 = 6;
const TYPE_SETTLEMENT_STATEMENT: u8 = 7;
const TYPE_CREDIT_NOTE: u8 = 8;
const TYPE_STATEMENT_ACKNOWLEDGED: u8 = 9;
const TYPE_STATEMENT_DISPUTED: u8 = 10;
const TYPE_DISPUTE_ANSWERED: u8 = 11;

const EXT_TARIFF_REF: u16 = 1;
const EXT_PRIVACY: u16 = 2;
const EXT_COUNTERPARTY: u16 = 3;

impl Entry {
    /// A short stable name of the entry type, used in APIs and logs.
    pub fn type_name(&self) -> &'static str {
        match self {
            Entry::ChargerRegistered(_) => "charger_registered",
            Entry::ChargerRevoked(_) => "charger_revoked",
            Entry::SessionClosed(_) => "session_closed",
            Entry::TariffPublished(_) => "tariff_published",
            Entry::ChargerKeyCloned(_) => "charger_key_cloned",
            Entry::EvidenceDisclosed(_) => "evidence_disclosed",
            Entry::SettlementStatement(_) => "settlement_statement",
            Entry::CreditNote(_) => "credit_note",
            Entry::StatementAcknowledged(_) => "statement_acknowledged",
            Entry::StatementDisputed(_) => "statement_disputed",
            Entry::DisputeAnswered(_) => "dispute_answered",
        }
    }

    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::new();
        w.u8(ENTRY_VERSION);
        match self {
            Entry::ChargerRegistered(r) => {
                w.u8(TYPE_CHARGER_REGISTERED)
                    .fixed(&r.public_key)
                    .text(&r.evse_id)
                    .text(&r.meter_serial)
                    .u32(r.max_power_w)
                    .u64(r.valid_from_ms);
                match &r.tariff_id {
                    None => w.u8(0),
                    Some(id) => w.u8(1).text(id),
                };
            }
            Entry::ChargerRevoked(r) => {
                w.u8(TYPE_CHARGER_REVOKED)
                    .fixed(&r.key_id.0)
                    .u64(r.revoked_from_ms)
                    .text(&r.reason);
            }
            Entry::SessionClosed(s) => {
                w.u8(TYPE_SESSION_CLOSED)
                    .fixed(&s.session.0)
                    .fixed(&s.key_id.0)
                    .u64(s.first_counter)
                    .u64(s.last_counter)
                    .u64(s.start_ms)
                    .u64(s.stop_ms)
                    .u64(s.energy_wh)
                    .u32(s.reading_count)
                    .fixed(&s.readings_digest);
                let mut extensions: BTreeMap<u16, Vec<u8>> = s.unknown_extensions.clone();
                if let Some(t) = &s.tariff {
                    let mut e = Writer::new();
                    e.u64(t.index).fixed(&t.leaf_hash);
                    extensions.insert(EXT_TARIFF_REF, e.finish());
                }
                if let Some(p) = &s.privacy {
                    let mut e = Writer::new();
                    e.fixed(&p.amount_excl_vat)
                        .fixed(&p.amount_incl_vat)
                        .blob(&p.range_proof)
                        .fixed(&p.identity)
                        .fixed(&p.evidence_digest);
                    extensions.insert(EXT_PRIVACY, e.finish());
                }
                if let Some(party) = &s.counterparty {
                    let mut e = Writer::new();
                    e.text(party);
                    extensions.insert(EXT_COUNTERPARTY, e.finish());
                }
                w.u16(extensions.len() as u16);
                for (tag, value) in &extensions {
                    w.u16(*tag).blob(value);
                }
            }
            Entry::TariffPublished(t) => {
                w.u8(TYPE_TARIFF_PUBLISHED).text(&t.tariff_id);
                match &t.counterparty {
                    None => w.u8(0),
                    Some(party) => w.u8(1).text(party),
                };
                w.u64(t.valid_from_ms).blob(t.tariff_json.as_bytes());
            }
            Entry::ChargerKeyCloned(c) => {
                w.u8(TYPE_CHARGER_KEY_CLONED)
                    .blob(&c.first.encode())
                    .blob(&c.second.encode());
            }
            Entry::EvidenceDisclosed(d) => {
                w.u8(TYPE_EVIDENCE_DISCLOSED)
                    .fixed(&d.session.0)
                    .u64(d.record_index)
                    .text(&d.recipient)
                    .text(&d.case_ref)
                    .u64(d.disclosed_at_ms);
            }
            Entry::SettlementStatement(s) => {
                w.u8(TYPE_SETTLEMENT_STATEMENT);
                settlement::encode_statement(&mut w, s);
            }
            Entry::CreditNote(c) => {
                w.u8(TYPE_CREDIT_NOTE);
                settlement::encode_credit(&mut w, c);
            }
            Entry::StatementAcknowledged(a) => {
                w.u8(TYPE_STATEMENT_ACKNOWLEDGED);
                settlement::encode_ack(&mut w, a);
            }
            Entry::StatementDisputed(d) => {
                w.u8(TYPE_STATEMENT_DISPUTED);
                settlement::encode_dispute(&mut w, d);
            }
            Entry::DisputeAnswered(a) => {
                w.u8(TYPE_DISPUTE_ANSWERED);
                settlement::encode_answer(&mut w, a);
            }
        }
        w.finish()
    }

    pub fn decode(bytes: &[u8]) -> Result<Self, EntryError> {
        if bytes.len() > limits::ENTRY_LEN_MAX {
            return Err(EntryError::TooLong(bytes.len()));
        }
        let mut r = Reader::new(bytes);
        let version = r.u8("entry version")?;
        if version != ENTRY_VERSION {
            return Err(DecodeError::invalid(
                "entry version",
                format!("{version} is not {ENTRY_VERSION}"),
            )
            .into());
        }
        let entry = match r.u8("entry type")? {
            TYPE_CHARGER_REGISTERED => Entry::ChargerRegistered(ChargerRegistration {
                public_key: r.array("public_key")?,
                evse_id: r.text("evse_id", limits::EVSE_ID_LEN_MAX)?,
                meter_serial: r.text("meter_serial", limits::METER_SERIAL_LEN_MAX)?,
                max_power_w: r.u32("max_power_w")?,
                valid_from_ms: r.u64("valid_from_ms")?,
                tariff_id: match r.option_tag("tariff_id")? {
                    false => None,
                    true => Some(r.text("tariff_id", limits::TEXT_LEN_MAX)?),
                },
            }),
            TYPE_CHARGER_REVOKED => Entry::ChargerRevoked(ChargerRevocation {
                key_id: KeyId(r.array("key_id")?),
                revoked_from_ms: r.u64("revoked_from_ms")?,
                reason: r.text("reason", limits::TEXT_LEN_MAX)?,
            }),
            TYPE_SESSION_CLOSED => {
                let mut record = SessionRecord {
                    session: SessionId(r.array("session")?),
                    key_id: KeyId(r.array("key_id")?),
                    first_counter: r.u64("first_counter")?,
                    last_counter: r.u64("last_counter")?,
                    start_ms: r.u64("start_ms")?,
                    stop_ms: r.u64("stop_ms")?,
                    energy_wh: r.u64("energy_wh")?,
                    reading_count: r.u32("reading_count")?,
                    readings_digest: r.array("readings_digest")?,
                    tariff: None,
                    privacy: None,
                    counterparty: None,
                    unknown_extensions: BTreeMap::new(),
                };
                let count = r.u16("extension count")?;
                let mut last_tag: Option<u16> = None;
                for _ in 0..count {
                    let tag = r.u16("extension tag")?;
                    if last_tag.is_some_and(|last| tag <= last) {
                        return Err(DecodeError::invalid(
                            "extension tag",
                            "tags must strictly increase",
                        )
                        .into());
                    }
                    last_tag = Some(tag);
                    let value = r.blob("extension value", limits::ENTRY_LEN_MAX)?;
                    match tag {
                        EXT_TARIFF_REF => {
                            let mut e = Reader::new(&value);
                            record.tariff = Some(TariffRef {
                                index: e.u64("tariff index")?,
                                leaf_hash: e.array("tariff leaf hash")?,
                            });
                            e.finish()?;
                        }
                        EXT_PRIVACY => {
                            let mut e = Reader::new(&value);
                            record.privacy = Some(SessionPrivacy {
                                amount_excl_vat: e.array("amount_excl_vat")?,
                                amount_incl_vat: e.array("amount_incl_vat")?,
                                range_proof: e.blob("range_proof", limits::RANGE_PROOF_LEN_MAX)?,
                                identity: e.array("identity")?,
                                evidence_digest: e.array("evidence_digest")?,
                            });
                            e.finish()?;
                        }
                        EXT_COUNTERPARTY => {
                            let mut e = Reader::new(&value);
                            let party = e.text("counterparty", limits::TEXT_LEN_MAX)?;
                            if !settlement::is_party_id(&party) {
                                return Err(DecodeError::invalid(
                                    "counterparty",
                                    format!("{party:?} is not a party id like SE*N01"),
                                )
                                .into());
                            }
                            record.counterparty = Some(party);
                            e.finish()?;
                        }
                        _ => {
                            record.unknown_extensions.insert(tag, value);
                        }
                    }
                }
                Entry::SessionClosed(record)
            }
            TYPE_TARIFF_PUBLISHED => {
                let tariff_id = r.text("tariff_id", limits::TEXT_LEN_MAX)?;
                let counterparty = match r.option_tag("counterparty")? {
                    false => None,
                    true => Some(r.text("counterparty", limits::TEXT_LEN_MAX)?),
                };
                let valid_from_ms = r.u64("valid_from_ms")?;
                let json = r.blob("tariff_json", limits::TARIFF_JSON_LEN_MAX)?;
                let tariff_json = String::from_utf8(json)
                    .map_err(|_| DecodeError::invalid("tariff_json", "not UTF-8"))?;
                Entry::TariffPublished(TariffPublication {
                    tariff_id,
                    counterparty,
                    valid_from_ms,
                    tariff_json,
                })
            }
            TYPE_CHARGER_KEY_CLONED => {
                let first = SignedReading::decode(&r.blob("first reading", SIGNED_LEN)?)?;
                let second = SignedReading::decode(&r.blob("second reading", SIGNED_LEN)?)?;
                Entry::ChargerKeyCloned(CloneEvidence { first, second })
            }
            TYPE_EVIDENCE_DISCLOSED => Entry::EvidenceDisclosed(EvidenceDisclosure {
                session: SessionId(r.array("session")?),
                record_index: r.u64("record_index")?,
                recipient: r.text("recipient", limits::TEXT_LEN_MAX)?,
                case_ref: r.text("case_ref", limits::CASE_REF_LEN_MAX)?,
                disclosed_at_ms: r.u64("disclosed_at_ms")?,
            }),
            TYPE_SETTLEMENT_STATEMENT => {
                Entry::SettlementStatement(settlement::decode_statement(&mut r)?)
            }
            TYPE_CREDIT_NOTE => Entry::CreditNote(settlement::decode_credit(&mut r)?),
            TYPE_STATEMENT_ACKNOWLEDGED => {
                Entry::StatementAcknowledged(settlement::decode_ack(&mut r)?)
            }
            TYPE_STATEMENT_DISPUTED => {
                Entry::StatementDisputed(settlement::decode_dispute(&mut r)?)
            }
            TYPE_DISPUTE_ANSWERED => Entry::DisputeAnswered(settlement::decode_answer(&mut r)?),
            other => {
                return Err(
                    DecodeError::invalid("entry type", format!("unknown type {other}")).into(),
                )
            }
        };
        r.finish()?;
        Ok(entry)
    }
}

pub(crate) mod hex_vec {
    use serde::Serializer;

    pub fn serialize<S: Serializer>(v: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(v))
    }
}

pub(crate) mod hex_32 {
    use serde::Serializer;

    pub fn serialize<S: Serializer>(v: &[u8; 32], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(v))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::NetworkId;
    use crate::reading::{ReadingKind, UnsignedReading};
    use ed25519_dalek::SigningKey;

    fn examples() -> Vec<Entry> {
        let key = SigningKey::from_bytes(&[5u8; 32]);
        let reading = |register_wh| {
            UnsignedReading {
                network: NetworkId::of_name("n"),
                key_id: KeyId::of(&key.verifying_key().to_bytes()),
                session: SessionId([1; 16]),
                counter: 3,
                kind: ReadingKind::Intermediate,
                timestamp_ms: 10,
                register_wh,
                prev_hash: [0; 32],
            }
            .sign(&key)
        };
        let mut entries = vec![
            Entry::ChargerRegistered(ChargerRegistration {
                public_key: key.verifying_key().to_bytes(),
                evse_id: "SE*KVT*E0001*1".into(),
                meter_serial: "MTR-1".into(),
                max_power_w: 22_000,
                valid_from_ms: 1,
                tariff_id: Some("T1".into()),
            }),
            Entry::ChargerRevoked(ChargerRevocation {
                key_id: KeyId([4; 16]),
                revoked_from_ms: 9,
                reason: "stolen".into(),
            }),
            Entry::SessionClosed(SessionRecord {
                session: SessionId([1; 16]),
                key_id: KeyId([2; 16]),
                first_counter: 1,
                last_counter: 4,
                start_ms: 100,
                stop_ms: 200,
                energy_wh: 5_000,
                reading_count: 4,
                readings_digest: [7; 32],
                tariff: Some(TariffRef {
                    index: 2,
                    leaf_hash: [8; 32],
                }),
                privacy: Some(SessionPrivacy {
                    amount_excl_vat: [9; 32],
                    amount_incl_vat: [10; 32],
                    range_proof: vec![11; 736],
                    identity: [12; 32],
                    evidence_digest: [13; 32],
                }),
                counterparty: None,
                unknown_extensions: BTreeMap::new(),
            }),
            Entry::TariffPublished(TariffPublication {
                tariff_id: "T1".into(),
                counterparty: Some("SE*EMP".into()),
                valid_from_ms: 0,
                tariff_json: "{}".into(),
            }),
            Entry::ChargerKeyCloned(CloneEvidence {
                first: reading(1),
                second: reading(2),
            }),
            Entry::EvidenceDisclosed(EvidenceDisclosure {
                session: SessionId([1; 16]),
                record_index: 3,
                recipient: "SE-REG".into(),
                case_ref: "case 2026/17".into(),
                disclosed_at_ms: 500,
            }),
        ];
        let Entry::SessionClosed(mut billed) = entries[2].clone() else {
            unreachable!()
        };
        billed.counterparty = Some("SE*N02".into());
        let total = |count| settlement::AmountTotal {
            count,
            excl_vat_minor: 1234 * count,
            incl_vat_minor: 1500 * count,
            proof_excl_vat: vec![14; 64],
            proof_incl_vat: vec![15; 64],
        };
        let statement_ref = settlement::EntryRef {
            origin: "kvitto/net/se-n01".into(),
            index: 40,
            leaf_hash: [16; 32],
        };
        let dispute_ref = settlement::EntryRef {
            origin: "kvitto/net/se-n02".into(),
            index: 7,
            leaf_hash: [17; 32],
        };
        entries.extend([
            Entry::SessionClosed(billed),
            Entry::SettlementStatement(SettlementStatement {
                counterparty: "SE*N02".into(),
                currency: "EUR".into(),
                period_start_ms: 1_000,
                period_end_ms: 2_000,
                from_index: 3,
                sessions: total(2),
                credits: settlement::AmountTotal::empty(),
            }),
            Entry::CreditNote(CreditNote {
                counterparty: "SE*N02".into(),
                currency: "EUR".into(),
                session_index: 3,
                reason: settlement::DisputeReason::Duplicate,
                dispute: Some(dispute_ref.clone()),
                amount_excl_vat: [18; 32],
                amount_incl_vat: [19; 32],
                range_proof: vec![20; 736],
            }),
            Entry::StatementAcknowledged(StatementAcknowledgement {
                statement: statement_ref.clone(),
                sessions_checked: 2,
            }),
            Entry::StatementDisputed(StatementDispute {
                statement: statement_ref,
                sessions_checked: 2,
                items: vec![
                    settlement::DisputeItem {
                        session_index: None,
                        reason: settlement::DisputeReason::TotalMismatch,
                    },
                    settlement::DisputeItem {
                        session_index: Some(3),
                        reason: settlement::DisputeReason::Duplicate,
                    },
                ],
            }),
            Entry::DisputeAnswered(DisputeAnswer {
                dispute: dispute_ref,
                items: vec![
                    settlement::AnswerItem {
                        session_index: None,
                        outcome: settlement::AnswerOutcome::Rejected {
                            reason: "the totals add up".into(),
                        },
                    },
                    settlement::AnswerItem {
                        session_index: Some(3),
                        outcome: settlement::AnswerOutcome::Credited { credit_index: 45 },
                    },
                ],
            }),
        ]);
        entries
    }

    #[test]
    fn round_trip_and_reject_truncation() {
        for entry in examples() {
            let bytes = entry.encode();
            assert_eq!(Entry::decode(&bytes).unwrap(), entry);
            for cut in 0..bytes.len() {
                assert!(
                    Entry::decode(&bytes[..cut]).is_err(),
                    "{} cut at {cut}",
                    entry.type_name()
                );
            }
            let mut longer = bytes.clone();
            longer.push(0);
            assert!(Entry::decode(&longer).is_err());
        }
    }

    #[test]
    fn encoding_snapshot() {
        let hexes: Vec<String> = examples()
            .iter()
            .map(|e| format!("{}: {}", e.type_name(), hex::encode(e.encode())))
            .collect();
        insta::assert_snapshot!(hexes.join("\n"));
    }

    #[test]
    fn unknown_extensions_survive_and_order_is_enforced() {
        let Entry::SessionClosed(mut record) = examples().remove(2) else {
            unreachable!()
        };
        record.unknown_extensions.insert(9, vec![1, 2, 3]);
        let bytes = Entry::SessionClosed(record.clone()).encode();
        assert_eq!(
            Entry::decode(&bytes).unwrap(),
            Entry::SessionClosed(record.clone())
        );
        record.privacy = None;
        let bytes = Entry::SessionClosed(record.clone()).encode();
        // Swap the two extensions' order: tags 1 then 9 become 9 then 1.
        let mut w = Writer::new();
        w.u16(2).u16(9).blob(&[1, 2, 3]).u16(1).blob(&[0; 40]);
        let tail = w.finish();
        let head_len = bytes.len() - tail.len();
        let mut reordered = bytes[..head_len].to_vec();
        reordered.extend_from_slice(&tail);
        let err = Entry::decode(&reordered).unwrap_err().to_string();
        assert!(err.contains("strictly increase"), "{err}");
    }
}
