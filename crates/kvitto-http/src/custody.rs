//! Personal data routes. The operator provisions tokens (relayed from eMSPs over OCPI),
//! authorises sessions, erases people and reads evidence; a driver fetches their own receipts by
//! proving possession of the secret their eMSP provisioned.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use kvitto_core::keys::SessionId;
use kvitto_privacy::{verify_possession, DriverPublic, PossessionProof};
use kvitto_receipt::{EvidenceBundle, Receipt};
use kvitto_service::custody::{self, CustodyError, ErasureReport, TokenInput, TokenOutcome};
use kvitto_service::receipts::{build_receipt, ReceiptCheckpoint, ReceiptError};
use kvitto_service::{ExpiryReport, IngestError};
use kvitto_store::KvStore;
use rand_core::{OsRng, RngCore};
use serde::{Deserialize, Serialize};

use crate::admin::ApiJson;
use crate::ingest::unavailable;
use crate::{limits, ApiError, AppState};

fn custody_error(e: IngestError) -> ApiError {
    match e {
        IngestError::Custody(e) => custody_api_error(e),
        IngestError::Registry(e) => {
            ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, e.code(), e.to_string())
        }
        other => unavailable(other),
    }
}

fn custody_api_error(e: CustodyError) -> ApiError {
    let status = match &e {
        CustodyError::Invalid { .. } => StatusCode::UNPROCESSABLE_ENTITY,
        CustodyError::UnknownToken
        | CustodyError::UnknownContract
        | CustodyError::UnknownSession(_) => StatusCode::NOT_FOUND,
        CustodyError::SessionClosed => StatusCode::CONFLICT,
        CustodyError::Erased => StatusCode::GONE,
        CustodyError::Store(_) | CustodyError::Corrupt(_) => return ApiError::internal(e),
    };
    ApiError::new(status, e.code(), e.to_string())
}

pub async fn put_token<S: KvStore>(
    State(state): State<AppState<S>>,
    ApiJson(token): ApiJson<TokenInput>,
) -> Result<Json<TokenOutcome>, ApiError> {
    // Validate before queueing, so a bad token never reaches the sequencer.
    token.validate().map_err(custody_api_error)?;
    state
        .sequencer
        .put_token(token)
        .await
        .map(Json)
        .map_err(custody_error)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthorizeRequest {
    uid: String,
}

#[derive(Debug, Serialize)]
pub struct Authorized {
    session: SessionId,
}

fn session_id(id: &str) -> Result<SessionId, ApiError> {
    SessionId::from_hex(id).map_err(|e| ApiError::bad_request("malformed_session_id", e))
}

pub async fn authorize<S: KvStore>(
    State(state): State<AppState<S>>,
    Path(id): Path<String>,
    ApiJson(request): ApiJson<AuthorizeRequest>,
) -> Result<Json<Authorized>, ApiError> {
    let session = session_id(&id)?;
    state
        .sequencer
        .authorize(session, request.uid)
        .await
        .map_err(custody_error)?;
    Ok(Json(Authorized { session }))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EraseRequest {
    contract_id: String,
}

pub async fn erase<S: KvStore>(
    State(state): State<AppState<S>>,
    ApiJson(request): ApiJson<EraseRequest>,
) -> Result<Json<ErasureReport>, ApiError> {
    state
        .sequencer
        .erase(request.contract_id)
        .await
        .map(Json)
        .map_err(custody_error)
}

pub async fn expire<S: KvStore>(
    State(state): State<AppState<S>>,
) -> Result<Json<ExpiryReport>, ApiError> {
    state
        .sequencer
        .expire()
        .await
        .map(Json)
        .map_err(custody_error)
}

/// The operator reads a session's opened evidence bundle (its own custody data).
pub async fn evidence<S: KvStore>(
    State(state): State<AppState<S>>,
    Path(id): Path<String>,
) -> Result<Json<EvidenceBundle>, ApiError> {
    let session = session_id(&id)?;
    let origin = state.log.origin.clone();
    let store = state.store.clone();
    tokio::task::spawn_blocking(move || {
        custody::evidence(&store, &origin, &session)
            .and_then(|e| e.open())
            .map(Json)
            .map_err(custody_api_error)
    })
    .await
    .map_err(ApiError::internal)?
}

/// Single-use challenges for receipt fetches: `expiry (u64 BE ms) ‖ 16 random bytes ‖ MAC`,
/// authenticated with a key that lives only in this process (a restart voids them).
#[derive(Clone)]
pub struct Challenges {
    key: [u8; 32],
    used: Arc<Mutex<HashMap<[u8; 24], u64>>>,
}

impl Default for Challenges {
    fn default() -> Self {
        let mut secret = [0u8; 32];
        OsRng.fill_bytes(&mut secret);
        Challenges {
            key: blake3::derive_key(kvitto_core::domain::KDF_RECEIPT_CHALLENGE, &secret),
            used: Arc::default(),
        }
    }
}

const CHALLENGE_LEN: usize = 8 + 16 + 32;

impl Challenges {
    fn issue(&self, now_ms: u64) -> Vec<u8> {
        let mut out = (now_ms + limits::CHALLENGE_VALID_MS).to_be_bytes().to_vec();
        let mut nonce = [0u8; 16];
        OsRng.fill_bytes(&mut nonce);
        out.extend_from_slice(&nonce);
        let mac = blake3::keyed_hash(&self.key, &out);
        out.extend_from_slice(mac.as_bytes());
        out
    }

    /// Checks a challenge: this process's MAC, not expired, not used. Returns what `consume`
    /// records. Nothing is recorded yet, so a request with a bad proof uses up nothing.
    fn check(&self, challenge: &[u8], now_ms: u64) -> Result<([u8; 24], u64), ApiError> {
        let bad = || {
            ApiError::new(
                StatusCode::UNAUTHORIZED,
                "bad_challenge",
                "the challenge was not issued by this node",
            )
        };
        if challenge.len() != CHALLENGE_LEN {
            return Err(bad());
        }
        let (body, mac) = challenge.split_at(24);
        let expected = blake3::keyed_hash(&self.key, body);
        // blake3::Hash compares in constant time.
        if blake3::Hash::from_bytes(mac.try_into().map_err(|_| bad())?) != expected {
            return Err(bad());
        }
        let expiry = u64::from_be_bytes(body[..8].try_into().map_err(|_| bad())?);
        if now_ms > expiry {
            return Err(ApiError::new(
                StatusCode::UNAUTHORIZED,
                "challenge_expired",
                "the challenge has expired; fetch a new one",
            ));
        }
        let body: [u8; 24] = body.try_into().map_err(|_| bad())?;
        if self.lock().contains_key(&body) {
            return Err(used_error());
        }
        Ok((body, expiry))
    }

    /// Records a challenge whose proof verified, so it cannot be used again. Only proofs by a
    /// holder of a driver secret get here, so the set grows only with real fetches.
    fn consume(&self, body: [u8; 24], expiry: u64, now_ms: u64) -> Result<(), ApiError> {
        let mut used = self.lock();
        used.retain(|_, expiry| *expiry >= now_ms);
        if used.len() >= limits::CHALLENGES_REDEEMED_MAX {
            return Err(ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "busy",
                "too many receipt requests in the last minute; try again shortly",
            ));
        }
        if used.insert(body, expiry).is_some() {
            return Err(used_error());
        }
        Ok(())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<[u8; 24], u64>> {
        self.used.lock().unwrap_or_else(|e| e.into_inner())
    }
}

fn used_error() -> ApiError {
    ApiError::new(
        StatusCode::UNAUTHORIZED,
        "challenge_used",
        "the challenge was already used; fetch a new one",
    )
}

#[derive(Debug, Serialize)]
pub struct ChallengeResponse {
    challenge: String,
    /// This node's log: the possession proof covers it with the challenge.
    origin: String,
    expires_in_ms: u64,
}

pub async fn challenge<S: KvStore>(State(state): State<AppState<S>>) -> Json<ChallengeResponse> {
    Json(ChallengeResponse {
        challenge: hex::encode(state.challenges.issue(now_ms())),
        origin: state.log.origin.clone(),
        expires_in_ms: limits::CHALLENGE_VALID_MS,
    })
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReceiptsRequest {
    /// The driver's pseudonym `X`, hex.
    driver: String,
    /// A challenge from `GET /v1/receipts/challenge`, hex.
    challenge: String,
    /// A possession proof of `x` for `X` over the challenge, hex.
    proof: String,
}

#[derive(Debug, Serialize)]
pub struct ReceiptsResponse {
    receipts: Vec<Receipt>,
    /// Sessions not yet covered by a checkpoint the receipts can be proven against.
    pending: usize,
    /// Older sessions left out: a response carries the newest
    /// `RECEIPTS_PER_REQUEST_MAX` (the driver keeps the receipts fetched before).
    omitted: usize,
}

pub async fn receipts<S: KvStore>(
    State(state): State<AppState<S>>,
    ApiJson(request): ApiJson<ReceiptsRequest>,
) -> Result<Json<ReceiptsResponse>, ApiError> {
    let field = |name: &'static str| {
        move |_| {
            ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_field",
                format!("{name}: expected hex"),
            )
        }
    };
    let driver_bytes = hex::decode(&request.driver).map_err(field("driver"))?;
    let challenge = hex::decode(&request.challenge).map_err(field("challenge"))?;
    let proof = hex::decode(&request.proof).map_err(field("proof"))?;
    let driver = DriverPublic::from_bytes(&driver_bytes).map_err(|e| {
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_field",
            format!("driver: {e}"),
        )
    })?;
    let proof = PossessionProof::from_bytes(&proof).map_err(|e| {
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_field",
            format!("proof: {e}"),
        )
    })?;
    let (challenge_body, expiry) = state.challenges.check(&challenge, now_ms())?;
    let binding = kvitto_receipt::fetch_binding(&state.log.origin, &challenge);
    verify_possession(&driver, &binding, &proof).map_err(|_| {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            "possession_rejected",
            "the proof does not show possession of this pseudonym's secret for this node's challenge",
        )
    })?;
    state.challenges.consume(challenge_body, expiry, now_ms())?;
    let served = state
        .logs
        .get(&state.log.id)
        .cloned()
        .ok_or_else(|| ApiError::internal("own log missing from the log set"))?;
    let store = state.store.clone();
    let log = state.log.clone();
    let policy = state.policy.clone();
    let in_network = state.evidence.is_some();
    let driver_hex = hex::encode(driver.to_bytes());
    tokio::task::spawn_blocking(move || {
        let person = custody::person_by_pseudonym(&store, &driver)
            .map_err(custody_api_error)?
            .ok_or_else(|| ApiError::not_found("this node holds no sessions for that pseudonym"))?;
        // In a network, the latest checkpoint witnessed under its policy (sessions it does not
        // cover yet are pending); alone, the log's own latest checkpoint.
        let board = served.witness.get();
        let (note, size) = match board.witnessed {
            Some(note) => (note.to_string(), board.witnessed_size),
            None if in_network => (String::new(), 0),
            None => {
                let published = served.view.published();
                let note = published
                    .checkpoint
                    .as_ref()
                    .map(|n| String::from_utf8_lossy(n).into_owned())
                    .unwrap_or_default();
                (note, published.checkpoint_size)
            }
        };
        let mut out = ReceiptsResponse {
            receipts: Vec::new(),
            pending: 0,
            omitted: 0,
        };
        let (sessions, omitted) =
            custody::sessions_of(&store, &person).map_err(custody_api_error)?;
        out.omitted = omitted;
        for (session, index) in sessions {
            let bundle = custody::evidence(&store, &log.origin, &session)
                .and_then(|e| e.open())
                .map_err(custody_api_error)?;
            // Only the sessions of this pseudonym: a contract re-provisioned for another driver
            // keeps its person, but the earlier driver's sessions are not the new one's.
            if bundle.driver != driver_hex {
                continue;
            }
            match build_receipt(
                &store,
                &log,
                &policy,
                ReceiptCheckpoint { note: &note, size },
                index,
                &bundle,
            ) {
                Ok(receipt) => out.receipts.push(receipt),
                Err(ReceiptError::NotYetCovered { .. }) => out.pending += 1,
                Err(e) => return Err(ApiError::internal(e)),
            }
        }
        Ok(Json(out))
    })
    .await
    .map_err(ApiError::internal)?
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DisclosureRequest {
    /// The log id (`/log/{id}/`) of the operator whose session it is.
    log: String,
    session: String,
    /// The case this disclosure is for; recorded on the operator's log. No personal data.
    case_ref: String,
}

/// A disclosed session as this node checked it: the bundle, bound to the ledger's digest, and
/// the receipt rebuilt from this node's own mirror of the log, verified under its own policy.
#[derive(Debug, Serialize)]
pub struct Audit {
    bundle: EvidenceBundle,
    receipt: Receipt,
    verified: bool,
    checks: Vec<kvitto_receipt::Check>,
}

pub async fn disclosure<S: KvStore>(
    State(state): State<AppState<S>>,
    ApiJson(request): ApiJson<DisclosureRequest>,
) -> Result<Json<Audit>, ApiError> {
    let session = session_id(&request.session)?;
    if request.case_ref.len() > kvitto_core::limits::CASE_REF_LEN_MAX
        || request.case_ref.chars().any(char::is_control)
    {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_field",
            format!(
                "case_ref: at most {} bytes, no control characters",
                kvitto_core::limits::CASE_REF_LEN_MAX
            ),
        ));
    }
    let source = state.evidence.clone().ok_or_else(|| {
        ApiError::new(
            StatusCode::CONFLICT,
            "no_network",
            "this node is not part of a network",
        )
    })?;
    let served =
        state.logs.get(&request.log).cloned().ok_or_else(|| {
            ApiError::not_found(format!("this node serves no log {:?}", request.log))
        })?;
    if served.info.kind != kvitto_service::LogKind::Mirror {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "own_log",
            "this is the node's own log: read its evidence with GET /v1/admin/sessions/{id}/evidence",
        ));
    }
    let disclosed = source
        .fetch(served.info.origin.clone(), session, request.case_ref)
        .await
        .map_err(|e| ApiError::new(StatusCode::BAD_GATEWAY, "disclosure_refused", e))?;
    let policy = state.policy.clone();
    tokio::task::spawn_blocking(move || audit(&served, &policy, session, disclosed))
        .await
        .map_err(ApiError::internal)?
        .map(Json)
}

fn audit<S: KvStore>(
    served: &kvitto_service::ServedLog<S>,
    policy: &str,
    session: SessionId,
    disclosed: kvitto_service::DisclosedEvidence,
) -> Result<Audit, ApiError> {
    use kvitto_service::receipts::{open_disclosed, DisclosedError};
    let opened = open_disclosed(served, policy, session, disclosed).map_err(|e| match e {
        DisclosedError::NotReplicated(_) => {
            ApiError::new(StatusCode::CONFLICT, "not_replicated", e.to_string())
        }
        DisclosedError::NotWitnessed(_) => {
            ApiError::new(StatusCode::CONFLICT, "not_witnessed", e.to_string())
        }
        DisclosedError::Mismatch(_) => {
            ApiError::new(StatusCode::BAD_GATEWAY, "evidence_mismatch", e.to_string())
        }
        DisclosedError::Internal(_) => ApiError::internal(e),
    })?;
    Ok(Audit {
        verified: opened.report.all_passed(),
        checks: opened.report.checks,
        bundle: opened.bundle,
        receipt: opened.receipt,
    })
}
