//! Settlement routes: the public overview of every period (statements, their status and
//! disputes, the netting of the closed ones) and the CPO's admin route that closes a period.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use kvitto_service::settlement_index::{Overview, SettlementIndex};
use kvitto_store::KvStore;
use serde::{Deserialize, Serialize};

use crate::admin::ApiJson;
use crate::ingest::unavailable;
use crate::log::axum_extra_query::Query;
use crate::{ApiError, AppState};

/// `GET /v1/settlement`: every period with its statements, and the netting of the newest period
/// that has an acknowledged statement (single-currency shape, the first currency).
#[derive(Debug, Serialize)]
pub struct SettlementView {
    #[serde(flatten)]
    pub overview: Overview,
    pub netting: Option<NettingView>,
}

#[derive(Debug, Serialize)]
pub struct NettingView {
    pub start_ms: u64,
    pub end_ms: u64,
    pub currency: String,
    pub positions: std::collections::BTreeMap<String, i64>,
    pub transfers: Vec<kvitto_settle::Transfer>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OverviewQuery {
    /// List each statement's covered session ids.
    #[serde(default)]
    pub sessions: bool,
}

pub async fn overview<S: KvStore>(
    State(state): State<AppState<S>>,
    Query(query): Query<OverviewQuery>,
) -> Result<Json<SettlementView>, ApiError> {
    let (logs, shared) = (state.logs.clone(), state.settlement.clone());
    let overview = tokio::task::spawn_blocking(move || {
        // A refresh that panicked may have left the view half-read: start it again.
        let mut index = shared.lock().unwrap_or_else(|poisoned| {
            let mut index = poisoned.into_inner();
            *index = SettlementIndex::with_running_sums();
            shared.clear_poison();
            index
        });
        index.refresh(&logs)?;
        let mut overview = index.overview();
        if query.sessions {
            // Kept from the refresh that checked each statement: no log is read again.
            for row in overview
                .periods
                .iter_mut()
                .flat_map(|p| p.statements.iter_mut())
            {
                let found = index
                    .statements
                    .iter()
                    .find(|(at, _)| at.origin == row.origin && at.index == row.index);
                row.session_ids = found
                    .and_then(|(at, _)| index.covered_sessions(at))
                    .map(|ids| ids.iter().map(|id| id.to_hex()).collect());
            }
        }
        Ok::<_, kvitto_store::StoreError>(overview)
    })
    .await
    .map_err(ApiError::internal)?
    .map_err(ApiError::internal)?;
    let netting = overview.periods.iter().rev().find_map(|p| {
        let n = p.netting.as_ref()?;
        let c = n.currencies.first()?;
        Some(NettingView {
            start_ms: p.start_ms,
            end_ms: p.end_ms,
            currency: c.currency.clone(),
            positions: c
                .positions
                .iter()
                .map(|p| (p.party.clone(), p.net_minor))
                .collect(),
            transfers: c.transfers.clone(),
        })
    });
    Ok(Json(SettlementView { overview, netting }))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CloseRequest {
    pub period_start_ms: u64,
    pub period_end_ms: u64,
}

#[derive(Debug, Serialize)]
pub struct CloseResponse {
    /// Log indices of the statements appended, one per counterparty and currency with sessions
    /// or credit notes since its last statement.
    pub statements: Vec<u64>,
}

/// `POST /v1/admin/settlement/close`: closes a period on this node's log.
pub async fn close<S: KvStore>(
    State(state): State<AppState<S>>,
    ApiJson(request): ApiJson<CloseRequest>,
) -> Result<Json<CloseResponse>, ApiError> {
    if request.period_end_ms <= request.period_start_ms {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_field",
            "period_end_ms: the period must end after it starts",
        ));
    }
    let statements = state
        .sequencer
        .issue_statements(request.period_start_ms, request.period_end_ms)
        .await
        .map_err(unavailable)?;
    Ok(Json(CloseResponse { statements }))
}
