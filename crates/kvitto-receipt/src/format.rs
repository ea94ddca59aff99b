//! The receipt file. Every binary value is lowercase hex; times are RFC 3339 UTC.

use serde::{Deserialize, Serialize};

/// The value of [`Receipt::format`] this build writes and reads.
pub const FORMAT: &str = "kvitto-receipt/1";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Receipt {
    pub format: String,
    /// What a person reads first. Every field is checked against the proven data.
    pub summary: Summary,
    pub log: LogRef,
    /// The checkpoint every proof below is against: a C2SP signed note with the log's signature
    /// and the witnesses' cosignatures.
    pub checkpoint: String,
    /// The network's trust policy (C2SP tlog-policy text), for display and for
    /// `--trust-embedded-policy`. A verifier should bring its own.
    pub policy: String,
    /// The `session_closed` record.
    pub session: ProvenEntry,
    /// The `charger_registered` entry of the charger key that signed the readings.
    pub charger: ProvenEntry,
    /// The `tariff_published` entry the record names, if it names one.
    pub tariff: Option<ProvenEntry>,
    /// The session's signed readings in order, each the 170-byte signed encoding.
    pub readings: Vec<String>,
    /// The IANA time zone the tariff is evaluated in (the node's `time_zone`).
    pub time_zone: String,
    /// The price breakdown as the node computed it (`kvitto tariff explain` JSON), if priced.
    pub breakdown: Option<serde_json::Value>,
    pub openings: Openings,
    /// The driver's pseudonym `X` (32 bytes). Private to the driver: never on the ledger.
    pub driver: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Summary {
    /// The operator's id (`CC*PID`).
    pub operator: String,
    pub evse_id: String,
    pub start: String,
    pub stop: String,
    /// Energy delivered, kWh with three decimals.
    pub energy_kwh: String,
    pub currency: Option<String>,
    pub total_excl_vat: Option<String>,
    pub total_incl_vat: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogRef {
    /// The checkpoint origin line.
    pub origin: String,
    /// The log's note verifier key (`<name>+<key id>+<key>`).
    pub key: String,
}

/// A log entry with its RFC 6962 inclusion proof against the receipt's checkpoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProvenEntry {
    pub index: u64,
    pub entry: String,
    pub proof: Vec<String>,
}

/// The openings of the session record's commitments.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Openings {
    /// 40 bytes: `u64` value (big-endian) ‖ 32-byte blinding.
    pub amount_excl_vat: String,
    pub amount_incl_vat: String,
    /// 32 bytes: the identity blinding `ρ`.
    pub identity: String,
}

impl Receipt {
    pub fn to_json(&self) -> String {
        // Serialising plain strings, numbers and JSON values cannot fail.
        serde_json::to_string_pretty(self).unwrap_or_default()
    }
}

/// The value of [`EvidenceBundle::format`].
pub const EVIDENCE_FORMAT: &str = "kvitto-evidence/1";

/// A session's off-ledger evidence, as the serving operator seals it (`specs/privacy.md`):
/// everything a receipt needs beyond the log, plus the token that links it to a person. Sealed
/// under the session's evidence key; its sealed form's digest is in the session record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EvidenceBundle {
    pub format: String,
    pub origin: String,
    /// The session id, hex.
    pub session: String,
    /// The signed readings, hex.
    pub readings: Vec<String>,
    pub time_zone: String,
    pub breakdown: Option<serde_json::Value>,
    pub openings: Openings,
    /// The driver's pseudonym `X`, hex.
    pub driver: String,
    /// The token the session was authorised with; `None` for a session nobody authorised.
    pub token: Option<TokenRef>,
}

/// The OCPI token a session was authorised with: personal data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenRef {
    pub country_code: String,
    pub party_id: String,
    pub uid: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub contract_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub visual_number: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub license_plate: Option<String>,
}
