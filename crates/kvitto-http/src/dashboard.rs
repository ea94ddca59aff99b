//! The JSON and report routes behind the web pages: the newest session records of this node's
//! log, and the audit report `kvitto audit` leaves in the node directory. All public and
//! read-only: a session record is already public on the log, and an audit report holds only
//! what the logs hold.

use std::path::{Path, PathBuf};

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use kvitto_core::entry::Entry;
use kvitto_store::KvStore;
use serde::{Deserialize, Serialize};

use crate::limits::{
    AUDIT_REPORT_BYTES_MAX, RECENT_SESSIONS_DEFAULT, RECENT_SESSIONS_MAX,
    RECENT_SESSIONS_SCAN_ENTRIES_MAX,
};
use crate::{ApiError, AppState};

/// Query extraction with the API's error shape.
#[derive(Debug, axum::extract::FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(ApiError))]
pub struct Query<T>(pub T);

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecentQuery {
    limit: Option<usize>,
}

#[derive(Debug, Serialize)]
pub struct RecentSessions {
    /// The own log's origin.
    log: String,
    /// The checkpoint size the scan started below: only signed entries are listed.
    checkpoint_size: u64,
    /// The lowest index scanned; older sessions may exist below it.
    scanned_from: u64,
    /// Newest first.
    sessions: Vec<RecentSession>,
}

/// What a session record on the log says, without the range proof: coarse times and energy.
#[derive(Debug, Serialize)]
pub struct RecentSession {
    index: u64,
    session: String,
    key_id: String,
    start_ms: u64,
    stop_ms: u64,
    energy_wh: u64,
    reading_count: u32,
    /// Log index of the tariff publication that priced it.
    tariff_index: Option<u64>,
    /// The first 8 bytes of the price commitment (excluding VAT), hex; `None` without the
    /// privacy extension.
    commitment_prefix: Option<String>,
}

/// Bytes of a commitment shown in [`RecentSession::commitment_prefix`].
const COMMITMENT_PREFIX_BYTES: usize = 8;
/// Entries read from the store at once while scanning back.
const SCAN_CHUNK_ENTRIES: u64 = 256;

/// `GET /v1/sessions/recent?limit=N`: the newest session records of this node's own log, at
/// most [`RECENT_SESSIONS_MAX`], found among the newest [`RECENT_SESSIONS_SCAN_ENTRIES_MAX`]
/// entries covered by the latest checkpoint.
pub async fn recent_sessions<S: KvStore>(
    State(state): State<AppState<S>>,
    Query(query): Query<RecentQuery>,
) -> Result<Json<RecentSessions>, ApiError> {
    let limit = query.limit.unwrap_or(RECENT_SESSIONS_DEFAULT);
    if limit == 0 || limit > RECENT_SESSIONS_MAX {
        return Err(ApiError::bad_request(
            "limit_out_of_range",
            format!("limit must be from 1 to {RECENT_SESSIONS_MAX}, got {limit}"),
        ));
    }
    let size = state.view.published().checkpoint_size;
    let store = state.store.clone();
    let log = state.log.origin.clone();
    tokio::task::spawn_blocking(move || {
        let floor = size.saturating_sub(RECENT_SESSIONS_SCAN_ENTRIES_MAX);
        let mut sessions = Vec::new();
        let mut end = size;
        while end > floor && sessions.len() < limit {
            let start = end.saturating_sub(SCAN_CHUNK_ENTRIES).max(floor);
            // At most SCAN_CHUNK_ENTRIES, so the conversion cannot truncate.
            let count = (end - start) as usize;
            let entries = store.entries(start, count).map_err(ApiError::internal)?;
            for (offset, bytes) in entries.iter().enumerate().rev() {
                if sessions.len() == limit {
                    break;
                }
                if let Entry::SessionClosed(record) =
                    Entry::decode(bytes).map_err(ApiError::internal)?
                {
                    sessions.push(RecentSession {
                        index: start + offset as u64,
                        session: record.session.to_string(),
                        key_id: record.key_id.to_string(),
                        start_ms: record.start_ms,
                        stop_ms: record.stop_ms,
                        energy_wh: record.energy_wh,
                        reading_count: record.reading_count,
                        tariff_index: record.tariff.map(|t| t.index),
                        commitment_prefix: record
                            .privacy
                            .map(|p| hex::encode(&p.amount_excl_vat[..COMMITMENT_PREFIX_BYTES])),
                    });
                }
            }
            end = start;
        }
        Ok(Json(RecentSessions {
            log,
            checkpoint_size: size,
            scanned_from: end,
            sessions,
        }))
    })
    .await
    .map_err(ApiError::internal)?
}

/// The report files `kvitto audit --dir NODE_DIR` writes under `NODE_DIR/audit/`.
const REPORT_JSON: &str = "report.json";
const REPORT_HTML: &str = "report.html";

/// The HTML report is the auditor's own document: it may style itself inline, nothing else.
const REPORT_HTML_CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// Reads `name` from the audit directory, at most [`AUDIT_REPORT_BYTES_MAX`] bytes.
async fn read_report(dir: Option<&Path>, name: &str) -> Result<Vec<u8>, ApiError> {
    let missing = || {
        ApiError::not_found(format!(
            "no audit report yet: `kvitto audit --dir <node dir>` writes audit/{name}"
        ))
    };
    let path: PathBuf = dir.ok_or_else(missing)?.join(name);
    let meta = match tokio::fs::metadata(&path).await {
        Ok(meta) if meta.is_file() => meta,
        Ok(_) => return Err(missing()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(missing()),
        Err(e) => return Err(ApiError::internal(format!("{}: {e}", path.display()))),
    };
    if meta.len() > AUDIT_REPORT_BYTES_MAX {
        return Err(ApiError::internal(format!(
            "{} is {} bytes; this node serves at most {AUDIT_REPORT_BYTES_MAX}",
            path.display(),
            meta.len()
        )));
    }
    tokio::fs::read(&path)
        .await
        .map_err(|e| ApiError::internal(format!("{}: {e}", path.display())))
}

/// `GET /v1/audit/report`: the latest audit report as JSON, or `404 not_found`.
pub async fn audit_report<S: KvStore>(
    State(state): State<AppState<S>>,
) -> Result<Response, ApiError> {
    let bytes = read_report(state.audit_dir.as_deref(), REPORT_JSON).await?;
    // A report being rewritten, or not written by kvitto, is not served as if it were one.
    if serde_json::from_slice::<serde::de::IgnoredAny>(&bytes).is_err() {
        return Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "report_unreadable",
            "the audit report on disk is not valid JSON (an audit may be writing it); retry",
        ));
    }
    Ok((
        [
            (header::CONTENT_TYPE, "application/json"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        bytes,
    )
        .into_response())
}

/// `GET /audit/report.html`: the latest audit report as the auditor rendered it.
pub async fn audit_report_html<S: KvStore>(
    State(state): State<AppState<S>>,
) -> Result<Response, ApiError> {
    let bytes = read_report(state.audit_dir.as_deref(), REPORT_HTML).await?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CONTENT_SECURITY_POLICY, REPORT_HTML_CSP),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        bytes,
    )
        .into_response())
}
