//! Operator routes: charger registration and revocation, tariffs, session and charger reads.

use axum::extract::{FromRequest, Path, State};
use axum::http::StatusCode;
use axum::Json;
use kvitto_core::entry::{ChargerRegistration, ChargerRevocation, Entry, TariffPublication};
use kvitto_core::keys::{KeyId, SessionId};
use kvitto_service::IngestError;
use kvitto_store::KvStore;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use crate::ingest::unavailable;
use crate::{ApiError, AppState};

/// A JSON body extractor whose failures have the API's error shape.
#[derive(Debug, FromRequest)]
#[from_request(via(axum::Json), rejection(ApiError))]
pub struct ApiJson<T>(pub T);

fn registry_error(e: IngestError) -> ApiError {
    match e {
        IngestError::Registry(e) => {
            let status = match e.code() {
                "unknown_charger" => StatusCode::NOT_FOUND,
                "charger_already_registered" | "charger_already_revoked" => StatusCode::CONFLICT,
                _ => StatusCode::UNPROCESSABLE_ENTITY,
            };
            ApiError::new(status, e.code(), e.to_string())
        }
        other => unavailable(other),
    }
}

#[derive(Debug, Serialize)]
pub struct Appended {
    index: u64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegisterRequest {
    /// Hex, 32 bytes.
    public_key: String,
    evse_id: String,
    meter_serial: String,
    max_power_w: u32,
    valid_from_ms: u64,
    #[serde(default)]
    tariff_id: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct Registered {
    index: u64,
    key_id: KeyId,
}

pub async fn register<S: KvStore>(
    State(state): State<AppState<S>>,
    ApiJson(request): ApiJson<RegisterRequest>,
) -> Result<Json<Registered>, ApiError> {
    let mut public_key = [0u8; 32];
    hex::decode_to_slice(&request.public_key, &mut public_key).map_err(|_| {
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_field",
            "public_key: expected 64 hex characters",
        )
    })?;
    let registration = ChargerRegistration {
        public_key,
        evse_id: request.evse_id,
        meter_serial: request.meter_serial,
        max_power_w: request.max_power_w,
        valid_from_ms: request.valid_from_ms,
        tariff_id: request.tariff_id,
    };
    let key_id = registration.key_id();
    let index = state
        .sequencer
        .register(registration)
        .await
        .map_err(registry_error)?;
    Ok(Json(Registered { index, key_id }))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RevokeRequest {
    revoked_from_ms: u64,
    reason: String,
}

pub async fn revoke<S: KvStore>(
    State(state): State<AppState<S>>,
    Path(key_id): Path<String>,
    ApiJson(request): ApiJson<RevokeRequest>,
) -> Result<Json<Appended>, ApiError> {
    let key_id =
        KeyId::from_hex(&key_id).map_err(|e| ApiError::bad_request("malformed_key_id", e))?;
    let revocation = ChargerRevocation {
        key_id,
        revoked_from_ms: request.revoked_from_ms,
        reason: request.reason,
    };
    let index = state
        .sequencer
        .revoke(revocation)
        .await
        .map_err(registry_error)?;
    Ok(Json(Appended { index }))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TariffRequest {
    /// The OCPI 2.2.1 tariff object, kept byte for byte as sent.
    tariff: Box<RawValue>,
    valid_from_ms: u64,
    /// The eMSP party this variant prices for; omit for the default price.
    #[serde(default)]
    counterparty: Option<String>,
}

pub async fn publish_tariff<S: KvStore>(
    State(state): State<AppState<S>>,
    ApiJson(request): ApiJson<TariffRequest>,
) -> Result<Json<Appended>, ApiError> {
    #[derive(Deserialize)]
    struct TariffId {
        id: String,
    }
    let tariff_json = request.tariff.get().to_string();
    let TariffId { id: tariff_id } = serde_json::from_str(&tariff_json).map_err(|_| {
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_tariff",
            "tariff.id: missing or not a string",
        )
    })?;
    let parsed = kvitto_tariff::parse_tariff(&tariff_json).map_err(|e| {
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_tariff",
            e.to_string(),
        )
    })?;
    if parsed.value.id() != tariff_id {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_tariff",
            "tariff.id does not match the parsed tariff",
        ));
    }
    let publication = TariffPublication {
        tariff_id,
        counterparty: request.counterparty,
        valid_from_ms: request.valid_from_ms,
        tariff_json,
    };
    let index = state
        .sequencer
        .publish_tariff(publication)
        .await
        .map_err(registry_error)?;
    Ok(Json(Appended { index }))
}

#[derive(Debug, Serialize)]
pub struct SessionView {
    session: SessionId,
    key_id: KeyId,
    status: &'static str,
    record_index: Option<u64>,
    record: Option<kvitto_core::entry::SessionRecord>,
    /// The session's signed readings, base64.
    readings: Vec<String>,
}

pub async fn session<S: KvStore>(
    State(state): State<AppState<S>>,
    Path(id): Path<String>,
) -> Result<Json<SessionView>, ApiError> {
    let session =
        SessionId::from_hex(&id).map_err(|e| ApiError::bad_request("malformed_session_id", e))?;
    let store = state.store.clone();
    tokio::task::spawn_blocking(move || {
        let (key_id, index) = store
            .session(&session)
            .map_err(ApiError::internal)?
            .ok_or_else(|| ApiError::not_found("no such session"))?;
        let (record, readings) = match index {
            Some(index) => {
                let Entry::SessionClosed(record) = stored_entry(&store, index)? else {
                    return Err(ApiError::internal(
                        "session index does not point at a session record",
                    ));
                };
                let readings = store
                    .readings(&key_id, record.first_counter, record.last_counter)
                    .map_err(ApiError::internal)?;
                (Some(record), readings)
            }
            None => {
                let charger = store
                    .charger(&key_id)
                    .map_err(ApiError::internal)?
                    .ok_or_else(|| ApiError::internal("charger missing"))?;
                (
                    None,
                    charger.open.map(|open| open.readings).unwrap_or_default(),
                )
            }
        };
        use base64::Engine;
        Ok(Json(SessionView {
            session,
            key_id,
            status: if index.is_some() { "closed" } else { "open" },
            record_index: index,
            record,
            readings: readings
                .iter()
                .map(|r| base64::engine::general_purpose::STANDARD.encode(r.encode()))
                .collect(),
        }))
    })
    .await
    .map_err(ApiError::internal)?
}

#[derive(Debug, Serialize)]
pub struct ChargerView {
    key_id: KeyId,
    registration: ChargerRegistration,
    registered_at_index: u64,
    revoked_from_ms: Option<u64>,
    last: Option<kvitto_ledger::LastReading>,
}

pub async fn charger<S: KvStore>(
    State(state): State<AppState<S>>,
    Path(key_id): Path<String>,
) -> Result<Json<ChargerView>, ApiError> {
    let key_id =
        KeyId::from_hex(&key_id).map_err(|e| ApiError::bad_request("malformed_key_id", e))?;
    let store = state.store.clone();
    let charger = tokio::task::spawn_blocking(move || store.charger(&key_id))
        .await
        .map_err(ApiError::internal)?
        .map_err(ApiError::internal)?
        .ok_or_else(|| ApiError::not_found("no such charger"))?;
    Ok(Json(ChargerView {
        key_id,
        registration: charger.registration,
        registered_at_index: charger.registered_at_index,
        revoked_from_ms: charger.revoked_from_ms,
        last: charger.last,
    }))
}

#[derive(Debug, Serialize)]
pub struct SessionPrice {
    session: SessionId,
    record_index: u64,
    tariff: kvitto_core::entry::TariffRef,
    tariff_id: String,
    /// The OCPI totals, recomputed from the signed readings and the published tariff.
    totals: kvitto_tariff::Totals,
    /// The price breakdown a driver's receipt shows.
    breakdown: String,
}

/// Prices a closed session from its signed readings and the tariff its record names.
pub async fn session_price<S: KvStore>(
    State(state): State<AppState<S>>,
    Path(id): Path<String>,
) -> Result<Json<SessionPrice>, ApiError> {
    let session =
        SessionId::from_hex(&id).map_err(|e| ApiError::bad_request("malformed_session_id", e))?;
    let store = state.store.clone();
    let time_zone = state.time_zone;
    tokio::task::spawn_blocking(move || {
        let (key_id, index) = store
            .session(&session)
            .map_err(ApiError::internal)?
            .ok_or_else(|| ApiError::not_found("no such session"))?;
        let index = index.ok_or_else(|| {
            ApiError::new(
                StatusCode::CONFLICT,
                "session_open",
                "the session is still open; it is priced when it closes",
            )
        })?;
        let Entry::SessionClosed(record) = stored_entry(&store, index)? else {
            return Err(ApiError::internal(
                "session index does not point at a session record",
            ));
        };
        let tariff = record.tariff.ok_or_else(|| {
            ApiError::new(
                StatusCode::CONFLICT,
                "no_tariff",
                "no tariff was in force for this charger when the session started",
            )
        })?;
        let Entry::TariffPublished(publication) = stored_entry(&store, tariff.index)? else {
            return Err(ApiError::internal(
                "the record's tariff reference is not a tariff",
            ));
        };
        let readings = store
            .readings(&key_id, record.first_counter, record.last_counter)
            .map_err(ApiError::internal)?;
        let breakdown =
            kvitto_ledger::pricing::price_readings(&readings, &publication.tariff_json, time_zone)
                .map_err(|e| {
                    ApiError::new(
                        StatusCode::UNPROCESSABLE_ENTITY,
                        "unpriceable",
                        e.to_string(),
                    )
                })?;
        Ok(Json(SessionPrice {
            session,
            record_index: index,
            tariff,
            tariff_id: publication.tariff_id,
            breakdown: breakdown.to_string(),
            totals: breakdown.totals,
        }))
    })
    .await
    .map_err(ApiError::internal)?
}

/// Reads and decodes a stored entry; a missing or undecodable one is an internal error, since
/// every index below the log size was checked before it was written.
fn stored_entry<S: KvStore>(
    store: &kvitto_store::LogStore<S>,
    index: u64,
) -> Result<Entry, ApiError> {
    let bytes = store
        .entry(index)
        .map_err(ApiError::internal)?
        .ok_or_else(|| ApiError::internal(format!("entry {index} is missing")))?;
    Entry::decode(&bytes).map_err(ApiError::internal)
}
