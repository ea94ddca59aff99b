//! Personal data in the operator's custody, off the shared ledger.
//!
//! The eMSP provisions tokens (OCPI uid, contract id, optional plate) with the driver's
//! pseudonym `X`; the charge point backend tells the node which token authorised a session; at
//! close the sequencer commits the price and the driver ([`seal_session`]) and seals the
//! session's evidence bundle under a key derived from the person's erasable key. Erasure
//! ([`erase`]) deletes everything here that names or links the person and purges it from disk.
//!
//! Layout (`people` column family; every value is JSON unless said otherwise):
//!
//! | key | value |
//! |---|---|
//! | `t/` uid | the token ([`StoredToken`]) |
//! | `pt/` person id ‖ uid | empty: the person's tokens |
//! | `c/` contract id | person id (16 bytes) |
//! | `p/` person id | the person ([`StoredPerson`]): key `P`, pseudonym `X`, contract |
//! | `x/` `X` | person id |
//! | `a/` session id | uid: who authorised a session that is still open |
//! | `s/` session id | person id: whose session it was |
//! | `l/` person id ‖ session id | u64 BE record index ‖ u64 BE close time |
//! | `anonymous` | person key ‖ pseudonym of sessions nobody authorised |
//!
//! `evidence`: session id → u64 BE record index ‖ u8 sealer (0 a person's key, 1 the anonymous
//! key) ‖ sealed bundle.
//! `retained`: session id → u64 BE close time ‖ excl. opening (40) ‖ incl. opening (40), the
//! amounts kept for tax without a link to the person.

use chrono_tz::Tz;
use kvitto_core::entry::{Entry, SessionPrivacy, SessionRecord};
use kvitto_core::keys::SessionId;
use kvitto_core::reading::SignedReading;
use kvitto_privacy::{
    commit_session, DriverPublic, DriverSecret, EvidenceKey, PersonKey, SealedEvidence,
    SessionContext,
};
use kvitto_receipt::{EvidenceBundle, Openings, TokenRef, EVIDENCE_FORMAT};
use kvitto_store::{Batch, Cf, KvStore, LogStore, StoreError};
use rand_core::{CryptoRng, RngCore};
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::limits;

#[derive(Debug, Error)]
pub enum CustodyError {
    #[error("{field}: {message}")]
    Invalid {
        field: &'static str,
        message: String,
    },
    #[error("no token with that uid has been provisioned")]
    UnknownToken,
    #[error("no person with that contract id is in custody")]
    UnknownContract,
    #[error("the session is already closed; authorise before its stop reading")]
    SessionClosed,
    #[error("no such session in custody: {0}")]
    UnknownSession(String),
    #[error("the person's key was erased; the evidence cannot be opened")]
    Erased,
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("stored custody data is corrupt: {0}")]
    Corrupt(String),
}

impl CustodyError {
    /// The stable error code for APIs.
    pub fn code(&self) -> &'static str {
        match self {
            CustodyError::Invalid { .. } => "invalid_token",
            CustodyError::UnknownToken => "unknown_token",
            CustodyError::UnknownContract => "unknown_contract",
            CustodyError::SessionClosed => "session_closed",
            CustodyError::UnknownSession(_) => "unknown_session",
            CustodyError::Erased => "erased",
            CustodyError::Store(_) | CustodyError::Corrupt(_) => "storage",
        }
    }
}

/// An OCPI token as the eMSP provisions it, with the driver's pseudonym.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenInput {
    pub country_code: String,
    pub party_id: String,
    pub uid: String,
    /// OCPI token type: `RFID`, `APP_USER`, `AD_HOC_USER` or `OTHER`.
    #[serde(rename = "type")]
    pub kind: String,
    pub contract_id: String,
    #[serde(default)]
    pub visual_number: Option<String>,
    /// For plate-based contracts.
    #[serde(default)]
    pub license_plate: Option<String>,
    /// The driver's pseudonym `X`, hex (`kvitto driver keygen` prints it).
    pub driver: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StoredToken {
    pub token: TokenInput,
    pub person: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StoredPerson {
    key: String,
    pub driver: String,
    pub contract_id: String,
    pub emsp: String,
    pub created_ms: u64,
}

impl StoredPerson {
    fn key(&self) -> Result<PersonKey, CustodyError> {
        let bytes: [u8; 32] = hex::decode(&self.key)
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or_else(|| CustodyError::Corrupt("person key".into()))?;
        Ok(PersonKey::from_bytes(bytes))
    }
    fn driver(&self) -> Result<DriverPublic, CustodyError> {
        hex::decode(&self.driver)
            .ok()
            .and_then(|b| DriverPublic::from_bytes(&b).ok())
            .ok_or_else(|| CustodyError::Corrupt("person pseudonym".into()))
    }
}

pub type PersonId = [u8; 16];

const SEALED_BY_PERSON: u8 = 0;
const SEALED_ANONYMOUS: u8 = 1;

fn key(prefix: &[u8], parts: &[&[u8]]) -> Vec<u8> {
    let mut k = prefix.to_vec();
    for p in parts {
        k.extend_from_slice(p);
    }
    k
}

fn json<T: Serialize>(value: &T) -> Vec<u8> {
    // Plain structs of strings and numbers always serialise.
    serde_json::to_vec(value).unwrap_or_default()
}

fn from_json<T: for<'de> Deserialize<'de>>(what: &str, bytes: &[u8]) -> Result<T, CustodyError> {
    serde_json::from_slice(bytes).map_err(|e| CustodyError::Corrupt(format!("{what}: {e}")))
}

fn invalid(field: &'static str, message: impl Into<String>) -> CustodyError {
    CustodyError::Invalid {
        field,
        message: message.into(),
    }
}

fn check_text(field: &'static str, value: &str, max: usize) -> Result<(), CustodyError> {
    if value.is_empty() || value.len() > max {
        return Err(invalid(field, format!("must be 1 to {max} characters")));
    }
    if !value.chars().all(|c| c.is_ascii_graphic() || c == ' ') {
        return Err(invalid(field, "must be printable ASCII"));
    }
    Ok(())
}

impl TokenInput {
    /// OCPI 2.2.1 `Token` field limits, and a pseudonym that is a valid ristretto255 point.
    pub fn validate(&self) -> Result<DriverPublic, CustodyError> {
        if self.country_code.len() != 2
            || !self.country_code.chars().all(|c| c.is_ascii_uppercase())
        {
            return Err(invalid("country_code", "must be 2 upper-case letters"));
        }
        if self.party_id.len() != 3
            || !self
                .party_id
                .chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
        {
            return Err(invalid(
                "party_id",
                "must be 3 upper-case letters or digits",
            ));
        }
        check_text("uid", &self.uid, limits::TOKEN_UID_LEN_MAX)?;
        check_text(
            "contract_id",
            &self.contract_id,
            limits::CONTRACT_ID_LEN_MAX,
        )?;
        if !["RFID", "APP_USER", "AD_HOC_USER", "OTHER"].contains(&self.kind.as_str()) {
            return Err(invalid(
                "type",
                "must be RFID, APP_USER, AD_HOC_USER or OTHER",
            ));
        }
        if let Some(v) = &self.visual_number {
            check_text("visual_number", v, limits::VISUAL_NUMBER_LEN_MAX)?;
        }
        if let Some(p) = &self.license_plate {
            check_text("license_plate", p, limits::LICENSE_PLATE_LEN_MAX)?;
        }
        hex::decode(&self.driver)
            .ok()
            .and_then(|b| DriverPublic::from_bytes(&b).ok())
            .ok_or_else(|| {
                invalid(
                    "driver",
                    "must be the hex of a 32-byte ristretto255 pseudonym",
                )
            })
    }

    fn token_ref(&self) -> TokenRef {
        TokenRef {
            country_code: self.country_code.clone(),
            party_id: self.party_id.clone(),
            uid: self.uid.clone(),
            kind: self.kind.clone(),
            contract_id: self.contract_id.clone(),
            visual_number: self.visual_number.clone(),
            license_plate: self.license_plate.clone(),
        }
    }
}

/// Whether a token was new, and whose person record it joined.
#[derive(Debug, Clone, Serialize)]
pub struct TokenOutcome {
    pub created_person: bool,
}

/// Stages a token: a new contract gets a new person with a fresh person key; a known contract
/// keeps its key and takes the (possibly re-provisioned) pseudonym.
pub fn put_token<S: KvStore, R: RngCore + CryptoRng>(
    store: &LogStore<S>,
    batch: &mut Batch,
    token: TokenInput,
    now_ms: u64,
    rng: &mut R,
) -> Result<TokenOutcome, CustodyError> {
    let driver = token.validate()?;
    let kv = store.kv();
    if let Some(old) = kv.get(Cf::People, &key(b"t/", &[token.uid.as_bytes()]))? {
        let old: StoredToken = from_json("token", &old)?;
        if old.token.contract_id != token.contract_id {
            return Err(invalid(
                "uid",
                "is already provisioned for another contract",
            ));
        }
    }
    let existing = kv.get(Cf::People, &key(b"c/", &[token.contract_id.as_bytes()]))?;
    // One pseudonym, one person: a pseudonym already bound to another contract is refused.
    if let Some(holder) = kv.get(Cf::People, &key(b"x/", &[&driver.to_bytes()]))? {
        if existing.as_deref() != Some(holder.as_slice()) {
            return Err(invalid(
                "driver",
                "this pseudonym is already provisioned for another contract",
            ));
        }
    }
    let (person_id, created_person) = match existing {
        Some(id) => {
            let id: PersonId = id
                .try_into()
                .map_err(|_| CustodyError::Corrupt("person id".into()))?;
            let mut person: StoredPerson = from_json(
                "person",
                &kv.get(Cf::People, &key(b"p/", &[&id]))?
                    .ok_or_else(|| CustodyError::Corrupt("contract without person".into()))?,
            )?;
            if person.emsp != format!("{}*{}", token.country_code, token.party_id) {
                return Err(invalid("contract_id", "is provisioned by another eMSP"));
            }
            if person.driver != token.driver {
                if let Ok(old) = hex::decode(&person.driver) {
                    batch.delete(Cf::People, key(b"x/", &[&old]));
                }
                person.driver = token.driver.clone();
                batch.put(Cf::People, key(b"p/", &[&id]), json(&person));
            }
            (id, false)
        }
        None => {
            let mut id = [0u8; 16];
            rng.fill_bytes(&mut id);
            let person = StoredPerson {
                key: hex::encode(PersonKey::generate(rng).to_bytes()),
                driver: token.driver.clone(),
                contract_id: token.contract_id.clone(),
                emsp: format!("{}*{}", token.country_code, token.party_id),
                created_ms: now_ms,
            };
            batch.put(Cf::People, key(b"p/", &[&id]), json(&person));
            batch.put(
                Cf::People,
                key(b"c/", &[token.contract_id.as_bytes()]),
                id.to_vec(),
            );
            (id, true)
        }
    };
    batch.put(
        Cf::People,
        key(b"x/", &[&driver.to_bytes()]),
        person_id.to_vec(),
    );
    batch.put(
        Cf::People,
        key(b"pt/", &[&person_id, token.uid.as_bytes()]),
        Vec::new(),
    );
    let stored = StoredToken {
        person: hex::encode(person_id),
        token,
    };
    batch.put(
        Cf::People,
        key(b"t/", &[stored.token.uid.as_bytes()]),
        json(&stored),
    );
    Ok(TokenOutcome { created_person })
}

/// Stages the authorisation of an open (or not yet started) session by a provisioned token.
pub fn authorize<S: KvStore>(
    store: &LogStore<S>,
    batch: &mut Batch,
    session: SessionId,
    uid: &str,
) -> Result<(), CustodyError> {
    if store
        .kv()
        .get(Cf::People, &key(b"t/", &[uid.as_bytes()]))?
        .is_none()
    {
        return Err(CustodyError::UnknownToken);
    }
    if let Some((_, Some(_))) = store.session(&session)? {
        return Err(CustodyError::SessionClosed);
    }
    batch.put(
        Cf::People,
        key(b"a/", &[&session.0]),
        uid.as_bytes().to_vec(),
    );
    Ok(())
}

/// Creates the anonymous key and pseudonym, durably, if they do not exist yet, so sessions
/// sealed in parallel all find the same one.
pub fn ensure_anonymous<S: KvStore, R: RngCore + CryptoRng>(
    store: &LogStore<S>,
    rng: &mut R,
) -> Result<(), CustodyError> {
    let mut batch = Batch::default();
    anonymous(store, &mut batch, rng)?;
    if !batch.is_empty() {
        store.write(batch)?;
    }
    Ok(())
}

/// The key and pseudonym of sessions nobody authorised, created on first use.
fn anonymous<S: KvStore, R: RngCore + CryptoRng>(
    store: &LogStore<S>,
    batch: &mut Batch,
    rng: &mut R,
) -> Result<(PersonKey, DriverPublic), CustodyError> {
    if let Some(v) = store.kv().get(Cf::People, b"anonymous")? {
        let (k, x) = v
            .split_at_checked(32)
            .ok_or_else(|| CustodyError::Corrupt("anonymous".into()))?;
        let k: [u8; 32] = k
            .try_into()
            .map_err(|_| CustodyError::Corrupt("anonymous".into()))?;
        let x =
            DriverPublic::from_bytes(x).map_err(|_| CustodyError::Corrupt("anonymous".into()))?;
        return Ok((PersonKey::from_bytes(k), x));
    }
    let person = PersonKey::generate(rng);
    let driver = DriverSecret::generate(rng).public();
    let mut v = person.to_bytes().to_vec();
    v.extend_from_slice(&driver.to_bytes());
    batch.put(Cf::People, b"anonymous".to_vec(), v);
    Ok((person, driver))
}

/// Who a closed session's person is: their key, pseudonym and token, if authorised.
struct SessionPerson {
    id: Option<PersonId>,
    key: PersonKey,
    driver: DriverPublic,
    token: Option<TokenInput>,
}

fn session_person<S: KvStore, R: RngCore + CryptoRng>(
    store: &LogStore<S>,
    batch: &mut Batch,
    session: &SessionId,
    rng: &mut R,
) -> Result<SessionPerson, CustodyError> {
    let kv = store.kv();
    let token = match kv.get(Cf::People, &key(b"a/", &[&session.0]))? {
        Some(uid) => kv
            .get(Cf::People, &key(b"t/", &[&uid]))?
            .map(|t| from_json::<StoredToken>("token", &t))
            .transpose()?,
        None => None,
    };
    if let Some(token) = token {
        let id: PersonId = hex::decode(&token.person)
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or_else(|| CustodyError::Corrupt("token person".into()))?;
        if let Some(p) = kv.get(Cf::People, &key(b"p/", &[&id]))? {
            let person: StoredPerson = from_json("person", &p)?;
            return Ok(SessionPerson {
                id: Some(id),
                key: person.key()?,
                driver: person.driver()?,
                token: Some(token.token),
            });
        }
    }
    let (key, driver) = anonymous(store, batch, rng)?;
    Ok(SessionPerson {
        id: None,
        key,
        driver,
        token: None,
    })
}

/// What the sequencer needs to price a session at close.
pub struct CloseContext<'a> {
    pub origin: &'a str,
    pub time_zone: Tz,
    pub now_ms: u64,
}

/// A session record about to be appended, with what prices it.
pub struct Closing<'a> {
    pub index: u64,
    pub record: &'a mut SessionRecord,
    pub readings: &'a [SignedReading],
    pub tariff_json: Option<&'a str>,
}

/// What sealing a session produces before it is staged: the record's privacy extension and the
/// off-ledger values, for the person it was sealed for.
#[derive(Debug, Clone)]
struct Sealed {
    privacy: SessionPrivacy,
    person: Option<PersonId>,
    driver: [u8; 32],
    /// The token the bundle names, as stored, compared before a pre-seal is used.
    token: Option<Vec<u8>>,
    /// `sealer ‖ sealed bundle`: the evidence value after the record index.
    evidence: Vec<u8>,
    /// Both amount openings (40 + 40 bytes).
    openings: Vec<u8>,
    /// The eMSP the session is billed to: the token's party, if a token authorised it.
    counterparty: Option<String>,
}

/// Prices, commits and seals one session for `person`. The expensive part: one Bulletproofs
/// prove. Reads nothing, writes nothing.
fn compute_seal<R: RngCore + CryptoRng>(
    close: &CloseContext<'_>,
    key_id: &kvitto_core::KeyId,
    session: &SessionId,
    readings: &[SignedReading],
    tariff_json: Option<&str>,
    person: &SessionPerson,
    rng: &mut R,
) -> Result<Sealed, CustodyError> {
    let ctx = SessionContext::new(close.origin, key_id.0, session.0)
        .map_err(|e| CustodyError::Corrupt(format!("session context: {e}")))?;
    let (breakdown, excl, incl) = match tariff_json {
        None => (None, 0, 0),
        Some(json) => match kvitto_ledger::pricing::price_readings(readings, json, close.time_zone)
            .map_err(|e| e.to_string())
            .and_then(|b| kvitto_receipt::minor_totals(&b).map(|(e, i)| (b, e, i)))
        {
            Ok((b, e, i)) => (serde_json::to_value(&b).ok(), e, i),
            Err(e) => {
                // The readings were valid; a price the tariff cannot give is committed as 0 and
                // the receipt's price check names the problem.
                tracing::warn!(session = %session, "session cannot be priced: {e}");
                (None, 0, 0)
            }
        },
    };
    let (commitments, openings) =
        commit_session(&ctx, excl, incl, &person.driver, &person.key, rng)
            .map_err(|e| CustodyError::Corrupt(format!("commitments: {e}")))?;
    let amount_openings = [
        openings.amount_excl_vat.to_bytes().to_vec(),
        openings.amount_incl_vat.to_bytes().to_vec(),
    ]
    .concat();
    let openings = Openings {
        amount_excl_vat: hex::encode(openings.amount_excl_vat.to_bytes()),
        amount_incl_vat: hex::encode(openings.amount_incl_vat.to_bytes()),
        identity: hex::encode(openings.identity.to_bytes()),
    };
    let bundle = EvidenceBundle {
        format: EVIDENCE_FORMAT.into(),
        origin: close.origin.into(),
        session: session.to_hex(),
        readings: readings.iter().map(|r| hex::encode(r.encode())).collect(),
        time_zone: close.time_zone.name().into(),
        breakdown,
        openings,
        driver: hex::encode(person.driver.to_bytes()),
        token: person.token.as_ref().map(TokenInput::token_ref),
    };
    let sealed = person
        .key
        .evidence_key(&ctx)
        .seal(&ctx, &json(&bundle), rng)
        .map_err(|e| CustodyError::Corrupt(format!("sealing: {e}")))?;
    let mut evidence = vec![if person.id.is_some() {
        SEALED_BY_PERSON
    } else {
        SEALED_ANONYMOUS
    }];
    evidence.extend_from_slice(&sealed.to_bytes());
    Ok(Sealed {
        counterparty: person
            .token
            .as_ref()
            .map(|t| format!("{}*{}", t.country_code, t.party_id)),
        privacy: SessionPrivacy {
            amount_excl_vat: commitments.amount_excl_vat.to_bytes(),
            amount_incl_vat: commitments.amount_incl_vat.to_bytes(),
            range_proof: commitments.range_proof.to_bytes(),
            identity: commitments.identity.to_bytes(),
            evidence_digest: sealed.digest(&ctx),
        },
        person: person.id,
        driver: person.driver.to_bytes(),
        token: person.token.as_ref().map(json),
        evidence,
        openings: amount_openings,
    })
}

/// Puts a seal into the record and stages the off-ledger values, now that the index is known.
fn stage_seal(
    batch: &mut Batch,
    record: &mut SessionRecord,
    index: u64,
    now_ms: u64,
    sealed: Sealed,
) {
    record.privacy = Some(sealed.privacy);
    record.counterparty = sealed.counterparty;
    let mut evidence = index.to_be_bytes().to_vec();
    evidence.extend_from_slice(&sealed.evidence);
    batch.put(Cf::Evidence, record.session.0.to_vec(), evidence);
    let mut retained = now_ms.to_be_bytes().to_vec();
    retained.extend_from_slice(&sealed.openings);
    batch.put(Cf::Retained, record.session.0.to_vec(), retained);
    batch.delete(Cf::People, key(b"a/", &[&record.session.0]));
    if let Some(id) = sealed.person {
        let mut link = index.to_be_bytes().to_vec();
        link.extend_from_slice(&now_ms.to_be_bytes());
        batch.put(Cf::People, key(b"l/", &[&id, &record.session.0]), link);
        batch.put(Cf::People, key(b"s/", &[&record.session.0]), id.to_vec());
    }
}

/// Commits a just-closed session's price and driver into its record, seals its evidence bundle
/// and stages the off-ledger records. Called by the sequencer before the record is appended.
pub fn seal_session<S: KvStore, R: RngCore + CryptoRng>(
    store: &LogStore<S>,
    batch: &mut Batch,
    close: &CloseContext<'_>,
    closing: Closing<'_>,
    rng: &mut R,
) -> Result<(), CustodyError> {
    let Closing {
        index,
        record,
        readings,
        tariff_json,
    } = closing;
    let person = session_person(store, batch, &record.session, rng)?;
    let sealed = compute_seal(
        close,
        &record.key_id,
        &record.session,
        readings,
        tariff_json,
        &person,
        rng,
    )?;
    stage_seal(batch, record, index, close.now_ms, sealed);
    Ok(())
}

/// A session sealed by a request handler before its stop reading reached the sequencer, so the
/// prove runs on the handler's thread, in parallel with other requests. The sequencer uses it
/// only if it still matches ([`apply_preseal`]); otherwise it seals the session itself.
#[derive(Debug, Clone)]
pub struct PreSeal {
    pub session: SessionId,
    readings_digest: [u8; 32],
    tariff: Option<kvitto_core::entry::TariffRef>,
    sealed: Sealed,
}

/// Seals the session that `stop` closes, from the store's open session and the other readings
/// of the same request. `None` when the inputs are not all at hand (the sequencer then seals
/// it): the session's start is neither stored nor in the request, or storage failed.
pub fn preseal<S: KvStore, R: RngCore + CryptoRng>(
    store: &LogStore<S>,
    close: &CloseContext<'_>,
    tariffs: &kvitto_ledger::TariffIndex,
    stop: &SignedReading,
    request: &[SignedReading],
    rng: &mut R,
) -> Option<PreSeal> {
    let key_id = stop.reading.key_id;
    let session = stop.reading.session;
    // A replayed stop of a closed session is rejected by the sequencer; do not pay a prove for it.
    if !matches!(store.session(&session), Ok(None | Some((_, None)))) {
        return None;
    }
    let charger = store.charger(&key_id).ok()??;
    let mut readings: Vec<SignedReading> = charger
        .open
        .filter(|open| open.session == session)
        .map(|open| open.readings)
        .unwrap_or_default();
    let stored_up_to = readings.last().map(|r| r.reading.counter);
    readings.extend(
        request
            .iter()
            .filter(|r| r.reading.key_id == key_id && r.reading.session == session)
            .filter(|r| stored_up_to.is_none_or(|last| r.reading.counter > last))
            .cloned(),
    );
    let (first, last) = (readings.first()?, readings.last()?);
    if first.reading.kind != kvitto_core::ReadingKind::Start || last != stop {
        return None;
    }
    let tariff = charger
        .registration
        .tariff_id
        .as_deref()
        .and_then(|id| tariffs.in_force(id, None, first.reading.timestamp_ms))
        .map(|t| t.reference);
    let tariff_json = match &tariff {
        None => None,
        Some(t) => match Entry::decode(&store.entry(t.index).ok()??) {
            Ok(Entry::TariffPublished(p)) => Some(p.tariff_json),
            _ => return None,
        },
    };
    // Only the sequencer creates the anonymous key (at start); a handler never writes it.
    store.kv().get(Cf::People, b"anonymous").ok()??;
    let mut scratch = Batch::default();
    let person = session_person(store, &mut scratch, &session, rng).ok()?;
    let sealed = compute_seal(
        close,
        &key_id,
        &session,
        &readings,
        tariff_json.as_deref(),
        &person,
        rng,
    )
    .ok()?;
    Some(PreSeal {
        session,
        readings_digest: kvitto_core::reading::session_readings_digest(&readings),
        tariff,
        sealed,
    })
}

/// Uses a pre-seal for `record` if it still matches: the same readings and tariff, and the same
/// person and pseudonym as custody holds now (an authorisation, a re-provisioning or an erasure
/// since would change them). Returns whether it was used.
pub fn apply_preseal<S: KvStore, R: RngCore + CryptoRng>(
    store: &LogStore<S>,
    batch: &mut Batch,
    record: &mut SessionRecord,
    index: u64,
    now_ms: u64,
    preseal: PreSeal,
    rng: &mut R,
) -> Result<bool, CustodyError> {
    if preseal.session != record.session
        || preseal.readings_digest != record.readings_digest
        || preseal.tariff != record.tariff
    {
        return Ok(false);
    }
    let person = session_person(store, batch, &record.session, rng)?;
    let token = person.token.as_ref().map(json);
    if person.id != preseal.sealed.person
        || person.driver.to_bytes() != preseal.sealed.driver
        || token != preseal.sealed.token
    {
        return Ok(false);
    }
    stage_seal(batch, record, index, now_ms, preseal.sealed);
    Ok(true)
}

/// Whether the eMSP `issuer` (`CC*PID`) provisioned `token` on this node: a token stored under
/// its uid, of that country and party, for the same contract. The uid alone is not enough:
/// another eMSP may issue a token with the same uid, and its sessions are not this eMSP's to pay.
pub fn issued_token<S: KvStore>(
    store: &LogStore<S>,
    issuer: &str,
    token: &TokenRef,
) -> Result<bool, CustodyError> {
    let Some(stored) = store
        .kv()
        .get(Cf::People, &key(b"t/", &[token.uid.as_bytes()]))?
    else {
        return Ok(false);
    };
    let stored: StoredToken = from_json("token", &stored)?;
    let stored = &stored.token;
    Ok(
        format!("{}*{}", stored.country_code, stored.party_id) == issuer
            && stored.country_code == token.country_code
            && stored.party_id == token.party_id
            && stored.contract_id == token.contract_id,
    )
}

/// The person a pseudonym belongs to, if still in custody.
pub fn person_by_pseudonym<S: KvStore>(
    store: &LogStore<S>,
    driver: &DriverPublic,
) -> Result<Option<PersonId>, CustodyError> {
    Ok(store
        .kv()
        .get(Cf::People, &key(b"x/", &[&driver.to_bytes()]))?
        .and_then(|id| id.try_into().ok()))
}

/// A person's newest closed sessions (at most [`limits::RECEIPTS_PER_REQUEST_MAX`]) and their
/// record indices, oldest first, and how many older ones were left out.
pub fn sessions_of<S: KvStore>(
    store: &LogStore<S>,
    person: &PersonId,
) -> Result<(Vec<(SessionId, u64)>, usize), CustodyError> {
    let prefix = key(b"l/", &[person]);
    let mut out = Vec::new();
    // A person's links: bounded by their sessions within the retention period.
    for (k, v) in store.kv().scan_prefix(Cf::People, &prefix, usize::MAX)? {
        let session: [u8; 16] = k[prefix.len()..]
            .try_into()
            .map_err(|_| CustodyError::Corrupt("link key".into()))?;
        let index = kvitto_store::decode_u64_prefix(&v)
            .ok_or_else(|| CustodyError::Corrupt("link".into()))?;
        out.push((SessionId(session), index));
    }
    out.sort_by_key(|(_, index)| *index);
    let omitted = out.len().saturating_sub(limits::RECEIPTS_PER_REQUEST_MAX);
    Ok((out.split_off(omitted), omitted))
}

/// A session's sealed evidence, its record index and its evidence key (while the person key
/// exists).
pub struct Evidence {
    pub index: u64,
    pub sealed: SealedEvidence,
    pub context: SessionContext,
    pub key: Option<EvidenceKey>,
}

impl Evidence {
    /// Opens the bundle, if the key still exists.
    pub fn open(&self) -> Result<EvidenceBundle, CustodyError> {
        let key = self.key.as_ref().ok_or(CustodyError::Erased)?;
        let plain = key
            .open(&self.context, &self.sealed)
            .map_err(|e| CustodyError::Corrupt(format!("evidence: {e}")))?;
        from_json("evidence", &plain)
    }
}

/// A closed session's evidence. The key is `None` once the person was erased.
pub fn evidence<S: KvStore>(
    store: &LogStore<S>,
    origin: &str,
    session: &SessionId,
) -> Result<Evidence, CustodyError> {
    let kv = store.kv();
    let value = kv
        .get(Cf::Evidence, &session.0)?
        .ok_or_else(|| CustodyError::UnknownSession(session.to_hex()))?;
    let corrupt = || CustodyError::Corrupt("evidence".into());
    let index = kvitto_store::decode_u64_prefix(&value).ok_or_else(corrupt)?;
    let sealer = *value.get(8).ok_or_else(corrupt)?;
    let sealed = value.get(9..).ok_or_else(corrupt)?;
    let sealed = SealedEvidence::from_bytes(sealed)
        .map_err(|e| CustodyError::Corrupt(format!("evidence: {e}")))?;
    let (key_id, _) = store
        .session(session)?
        .ok_or_else(|| CustodyError::UnknownSession(session.to_hex()))?;
    let context = SessionContext::new(origin, key_id.0, session.0)
        .map_err(|e| CustodyError::Corrupt(format!("session context: {e}")))?;
    let person_key = match sealer {
        // A person's session: their key while they are in custody; after erasure, none.
        SEALED_BY_PERSON => match kv.get(Cf::People, &key(b"s/", &[&session.0]))? {
            Some(id) => match kv.get(Cf::People, &key(b"p/", &[&id]))? {
                Some(p) => Some(from_json::<StoredPerson>("person", &p)?.key()?),
                None => None,
            },
            None => None,
        },
        SEALED_ANONYMOUS => match kv.get(Cf::People, b"anonymous")? {
            Some(v) if v.len() == 64 => {
                let k: [u8; 32] = v[..32].try_into().map_err(|_| corrupt())?;
                Some(PersonKey::from_bytes(k))
            }
            _ => None,
        },
        _ => return Err(corrupt()),
    };
    let key = person_key.map(|p| p.evidence_key(&context));
    Ok(Evidence {
        index,
        sealed,
        context,
        key,
    })
}

/// What an erasure removed.
#[derive(Debug, Clone, Serialize)]
pub struct ErasureReport {
    pub tokens: usize,
    pub sessions_unlinked: usize,
}

/// Deletes a person: their key, pseudonym, tokens, authorisations and session links. The
/// caller writes the batch and then purges the `people` column family.
pub fn erase<S: KvStore>(
    store: &LogStore<S>,
    batch: &mut Batch,
    contract_id: &str,
) -> Result<ErasureReport, CustodyError> {
    let kv = store.kv();
    let id = kv
        .get(Cf::People, &key(b"c/", &[contract_id.as_bytes()]))?
        .ok_or(CustodyError::UnknownContract)?;
    let person: Option<StoredPerson> = kv
        .get(Cf::People, &key(b"p/", &[&id]))?
        .map(|p| from_json("person", &p))
        .transpose()?;
    if let Some(person) = &person {
        if let Ok(x) = hex::decode(&person.driver) {
            let x_key = key(b"x/", &[&x]);
            if kv.get(Cf::People, &x_key)?.as_deref() == Some(id.as_slice()) {
                batch.delete(Cf::People, x_key);
            }
        }
    }
    batch.delete(Cf::People, key(b"p/", &[&id]));
    batch.delete(Cf::People, key(b"c/", &[contract_id.as_bytes()]));
    let mut tokens = Vec::new();
    let prefix = key(b"pt/", &[&id]);
    for (k, _) in kv.scan_prefix(Cf::People, &prefix, usize::MAX)? {
        tokens.push(k[prefix.len()..].to_vec());
        batch.delete(Cf::People, key(b"t/", &[&k[prefix.len()..]]));
        batch.delete(Cf::People, k);
    }
    for (k, v) in kv.scan_prefix(Cf::People, b"a/", usize::MAX)? {
        if tokens.contains(&v) {
            batch.delete(Cf::People, k);
        }
    }
    let links = key(b"l/", &[&id]);
    let mut sessions_unlinked = 0;
    for (k, _) in kv.scan_prefix(Cf::People, &links, usize::MAX)? {
        batch.delete(Cf::People, key(b"s/", &[&k[links.len()..]]));
        batch.delete(Cf::People, k);
        sessions_unlinked += 1;
    }
    Ok(ErasureReport {
        tokens: tokens.len(),
        sessions_unlinked,
    })
}

/// How long custody keeps what (`[retention]` in the node's config).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Retention {
    /// A person is erased this long after their last session (or provisioning).
    pub person_ms: u64,
    /// Amount openings are kept this long for tax, then deleted.
    pub amounts_ms: u64,
}

impl Default for Retention {
    /// A person: 13 months after their last session (a year of invoices and their disputes).
    /// Amounts: 10 years (bookkeeping records in Sweden and Germany).
    fn default() -> Self {
        const DAY_MS: u64 = 24 * 3600 * 1000;
        Retention {
            person_ms: 395 * DAY_MS,
            amounts_ms: 3653 * DAY_MS,
        }
    }
}

/// Contract ids of people whose retention period has ended at `now_ms`.
pub fn expired_people<S: KvStore>(
    store: &LogStore<S>,
    retention: &Retention,
    now_ms: u64,
) -> Result<Vec<String>, CustodyError> {
    let kv = store.kv();
    let mut out = Vec::new();
    for (k, v) in kv.scan_prefix(Cf::People, b"p/", usize::MAX)? {
        let person: StoredPerson = from_json("person", &v)?;
        let mut last = person.created_ms;
        for (_, link) in kv.scan_prefix(Cf::People, &key(b"l/", &[&k[2..]]), usize::MAX)? {
            if let Some(closed) = link.get(8..16).and_then(kvitto_store::decode_u64_prefix) {
                last = last.max(closed);
            }
        }
        if now_ms.saturating_sub(last) >= retention.person_ms {
            out.push(person.contract_id);
        }
    }
    Ok(out)
}

/// Stages the deletion of amount openings older than their retention period.
pub fn expire_amounts<S: KvStore>(
    store: &LogStore<S>,
    batch: &mut Batch,
    retention: &Retention,
    now_ms: u64,
) -> Result<usize, CustodyError> {
    let mut n = 0;
    for (k, v) in store.kv().scan_prefix(Cf::Retained, b"", usize::MAX)? {
        let closed = kvitto_store::decode_u64_prefix(&v).unwrap_or(0);
        if now_ms.saturating_sub(closed) >= retention.amounts_ms {
            batch.delete(Cf::Retained, k);
            n += 1;
        }
    }
    Ok(n)
}

/// The tariff JSON a session record names, from the log.
pub fn tariff_json<S: KvStore>(
    store: &LogStore<S>,
    record: &SessionRecord,
) -> Result<Option<String>, CustodyError> {
    let Some(t) = &record.tariff else {
        return Ok(None);
    };
    let bytes = store
        .entry(t.index)?
        .ok_or_else(|| CustodyError::Corrupt(format!("tariff entry {} missing", t.index)))?;
    match Entry::decode(&bytes) {
        Ok(Entry::TariffPublished(p)) => Ok(Some(p.tariff_json)),
        _ => Err(CustodyError::Corrupt(format!(
            "entry {} is not a tariff",
            t.index
        ))),
    }
}

#[cfg(test)]
mod tests {
    use kvitto_privacy::DriverSecret;
    use kvitto_store::MemoryStore;
    use rand_core::OsRng;

    use super::*;

    fn token(country_code: &str, party_id: &str, uid: &str, contract_id: &str) -> TokenInput {
        TokenInput {
            country_code: country_code.into(),
            party_id: party_id.into(),
            uid: uid.into(),
            kind: "RFID".into(),
            contract_id: contract_id.into(),
            visual_number: None,
            license_plate: None,
            driver: hex::encode(DriverSecret::generate(&mut OsRng).public().to_bytes()),
        }
    }

    /// The eMSP pays only for tokens it issued: the uid, its own country and party, and the
    /// contract must all match what it provisioned.
    #[test]
    fn an_issued_token_matches_in_uid_party_and_contract() {
        let store = LogStore::open(MemoryStore::new()).unwrap();
        let mut batch = Batch::default();
        let issued = token("SE", "MSP", "04A1B2C3", "SE-MSP-C00000001-1");
        put_token(&store, &mut batch, issued.clone(), 0, &mut OsRng).unwrap();
        store.write(batch).unwrap();
        assert!(issued_token(&store, "SE*MSP", &issued.token_ref()).unwrap());
        let cases = [
            (
                "SE*MSP",
                token("SE", "OTH", "04A1B2C3", "SE-MSP-C00000001-1"),
                "another party's token with the same uid",
            ),
            (
                "SE*MSP",
                token("DE", "MSP", "04A1B2C3", "SE-MSP-C00000001-1"),
                "another country",
            ),
            (
                "SE*MSP",
                token("SE", "MSP", "04A1B2C3", "SE-MSP-C00000002-9"),
                "another contract",
            ),
            (
                "SE*MSP",
                token("SE", "MSP", "04FFFFFF", "SE-MSP-C00000001-1"),
                "a uid never provisioned",
            ),
            ("SE*OTH", issued.clone(), "a statement to another issuer"),
        ];
        for (issuer, presented, what) in cases {
            assert!(
                !issued_token(&store, issuer, &presented.token_ref()).unwrap(),
                "{what} is not an issued token"
            );
        }
    }
}
