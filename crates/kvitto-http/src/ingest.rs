//! `POST /v1/readings`: signed meter readings from chargers or the operator's CSMS.
//!
//! Two body forms: `application/json` `{"readings": ["<base64>", ...]}`, or
//! `application/octet-stream` with the signed readings concatenated (170 bytes each). A batch is
//! all or nothing; the response names the first reading that failed.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::Json;
use base64::Engine;
use kvitto_core::reading::{ReadingKind, SignedReading, SIGNED_LEN};
use kvitto_ledger::{RejectCode, Rejection, VerifiedReading};
use kvitto_service::custody::{self, CloseContext, PreSeal};
use kvitto_service::{IngestError, IngestReceipt, LogView};
use kvitto_store::KvStore;
use serde::Deserialize;

use crate::error::IndexedError;
use crate::{limits, ApiError, AppState};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct JsonBatch {
    readings: Vec<String>,
}

fn malformed(index: Option<usize>, message: impl Into<String>) -> IndexedError {
    IndexedError {
        error: ApiError::bad_request("malformed_reading", message),
        index,
    }
}

fn rejected(rejection: Rejection) -> IndexedError {
    let status = match rejection.code {
        RejectCode::MalformedReading => StatusCode::BAD_REQUEST,
        RejectCode::ReplayedReading | RejectCode::CounterReused | RejectCode::SessionIdReused => {
            StatusCode::CONFLICT
        }
        _ => StatusCode::UNPROCESSABLE_ENTITY,
    };
    IndexedError {
        error: ApiError::new(status, rejection.code.as_str(), rejection.message),
        index: rejection.index,
    }
}

/// Splits the body into encoded readings.
fn parse_body(headers: &HeaderMap, body: &[u8]) -> Result<Vec<Vec<u8>>, IndexedError> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let items: Vec<Vec<u8>> = if content_type.starts_with("application/json") {
        let batch: JsonBatch = serde_json::from_slice(body).map_err(|e| IndexedError {
            error: ApiError::bad_request(
                "malformed_json",
                format!("the body is not a reading batch: {e}"),
            ),
            index: None,
        })?;
        if batch.readings.len() > limits::READINGS_PER_REQUEST_MAX {
            return Err(IndexedError {
                error: too_many(batch.readings.len()),
                index: None,
            });
        }
        batch
            .readings
            .iter()
            .enumerate()
            .map(|(i, text)| {
                base64::engine::general_purpose::STANDARD
                    .decode(text)
                    .map_err(|e| malformed(Some(i), format!("reading is not base64: {e}")))
            })
            .collect::<Result<_, _>>()?
    } else if content_type.starts_with("application/octet-stream") {
        if !body.len().is_multiple_of(SIGNED_LEN) {
            return Err(malformed(
                None,
                format!(
                    "the body is {} bytes, not a multiple of {SIGNED_LEN}",
                    body.len()
                ),
            ));
        }
        if body.len() / SIGNED_LEN > limits::READINGS_PER_REQUEST_MAX {
            return Err(IndexedError {
                error: too_many(body.len() / SIGNED_LEN),
                index: None,
            });
        }
        body.chunks(SIGNED_LEN).map(<[u8]>::to_vec).collect()
    } else {
        return Err(IndexedError {
            error: ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "send application/json or application/octet-stream",
            ),
            index: None,
        });
    };
    if items.is_empty() {
        return Err(malformed(None, "the batch holds no readings"));
    }
    Ok(items)
}

fn too_many(n: usize) -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "batch_too_large",
        format!(
            "{n} readings, at most {} per request",
            limits::READINGS_PER_REQUEST_MAX
        ),
    )
}

/// Decodes and verifies every reading against the registered key cache.
fn verify_all(view: &LogView, items: Vec<Vec<u8>>) -> Result<Vec<VerifiedReading>, IndexedError> {
    items
        .into_iter()
        .enumerate()
        .map(|(i, bytes)| {
            let reading =
                SignedReading::decode(&bytes).map_err(|e| malformed(Some(i), e.to_string()))?;
            let key_id = reading.reading.key_id;
            let key = view.key(&key_id).ok_or_else(|| {
                rejected(
                    Rejection::new(
                        RejectCode::UnknownCharger,
                        format!("charger key {key_id} is not registered on this log"),
                    )
                    .at(i),
                )
            })?;
            VerifiedReading::verify(reading, &key).map_err(|r| rejected(r.at(i)))
        })
        .collect()
}

pub async fn readings<S: KvStore>(
    State(state): State<AppState<S>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<IngestReceipt>, IndexedError> {
    let body = body.map_err(|e| {
        let code = if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            "body_too_large"
        } else {
            "unreadable_body"
        };
        IndexedError {
            error: ApiError::new(e.status(), code, e.body_text()),
            index: None,
        }
    })?;
    let items = parse_body(&headers, &body)?;
    let verified = if items.len() <= limits::VERIFY_INLINE_MAX {
        verify_all(&state.view, items)?
    } else {
        let view = state.view.clone();
        tokio::task::spawn_blocking(move || verify_all(&view, items))
            .await
            .map_err(|e| IndexedError {
                error: ApiError::internal(e),
                index: None,
            })??
    };
    let preseals = preseal(&state, &verified).await;
    match state.sequencer.ingest_presealed(verified, preseals).await {
        Ok(receipt) => Ok(Json(receipt)),
        Err(IngestError::Rejected(rejection)) => Err(rejected(rejection)),
        Err(e) => Err(IndexedError {
            error: unavailable(e),
            index: None,
        }),
    }
}

/// Seals the sessions these readings close on this request's own (blocking) thread, so their
/// Bulletproofs proves run in parallel with other requests instead of inside the sequencer. The
/// sequencer checks each seal against the record it derives and reseals if anything changed.
async fn preseal<S: KvStore>(state: &AppState<S>, verified: &[VerifiedReading]) -> Vec<PreSeal> {
    let readings: Vec<SignedReading> = verified.iter().map(|v| v.reading().clone()).collect();
    if !readings.iter().any(|r| r.reading.kind == ReadingKind::Stop) {
        return Vec::new();
    }
    let (store, view) = (state.store.clone(), state.view.clone());
    let (origin, time_zone) = (state.log.origin.clone(), state.time_zone);
    tokio::task::spawn_blocking(move || {
        let close = CloseContext {
            origin: &origin,
            time_zone,
            now_ms: 0,
        };
        let tariffs = view.tariffs();
        readings
            .iter()
            .filter(|r| r.reading.kind == ReadingKind::Stop)
            .filter_map(|stop| {
                custody::preseal(
                    &store,
                    &close,
                    &tariffs,
                    stop,
                    &readings,
                    &mut rand_core::OsRng,
                )
            })
            .collect()
    })
    .await
    .unwrap_or_default()
}

pub(crate) fn unavailable(e: IngestError) -> ApiError {
    match e {
        IngestError::Unavailable(message) => {
            ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", message)
        }
        other => ApiError::internal(other),
    }
}
