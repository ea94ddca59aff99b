//! kvitto's HTTP API.
//!
//! Routes and their authorisation rules (each has a test in `tests.rs`):
//!
//! | route | who may call it |
//! |---|---|
//! | `GET /logs`, `GET /log/{id}/checkpoint`, `GET /log/{id}/tile/...` | anyone: the logs (own and mirrored) are public and hold no personal data |
//! | `GET /log/{id}/proof/inclusion`, `GET /log/{id}/proof/consistency` | anyone |
//! | `GET /v1/logs/{id}/witnessed` | anyone: the latest checkpoint witnessed under the policy |
//! | `GET /v1/status` | anyone: logs, cosigners, split views and peers hold no secrets |
//! | `POST /v1/readings` | anyone, but each reading must carry a valid signature of a registered charger key, made while the key was valid: the signature is the credential |
//! | `POST /v1/admin/chargers`, `POST /v1/admin/chargers/{key_id}/revoke`, `POST /v1/admin/tariffs` | the operator: `Authorization: Bearer <admin token>` |
//! | `GET /v1/sessions/{id}`, `GET /v1/sessions/{id}/price`, `GET /v1/chargers/{key_id}` | the operator (session readings are the operator's off-ledger data) |
//! | `PUT /v1/admin/tokens`, `POST /v1/admin/sessions/{id}/authorize`, `POST /v1/admin/erasures`, `POST /v1/admin/retention/run`, `GET /v1/admin/sessions/{id}/evidence` | the operator: personal data in its custody |
//! | `POST /v1/admin/disclosures` | the operator of this node (a regulator's or an eMSP's): it asks another member for a session's evidence over the member network, where that member's custody authorises it by role |
//! | `GET /v1/receipts/challenge` | anyone: a single-use challenge, no data |
//! | `POST /v1/receipts` | the driver: a proof of possession of the secret behind the pseudonym, over a fresh challenge of this node; returns only that pseudonym's sessions |
//! | `GET /receipt`, `GET /receipt/app.js` | anyone: the receipt checker page, static |
//! | `GET /`, `GET /dashboard`, `GET /driver`, `GET /regulator`, `GET /assets/{name}` | anyone: static pages that read the public routes |
//! | `GET /v1/sessions/recent` | anyone: the newest session records of the own log, as the log holds them |
//! | `GET /v1/audit/report`, `GET /audit/report.html` | anyone: the report of `kvitto audit` over the public logs |
//!
//! Every route is behind a body-size limit, a timeout and a concurrency limit.

mod admin;
mod auth;
mod custody;
mod dashboard;
mod error;
mod ingest;
pub mod limits;
mod log;
mod settlement;
mod web;

use std::sync::Arc;
use std::time::Duration;

use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post, put};
use axum::Router;
use kvitto_core::NetworkId;
pub use kvitto_service::{LogInfo, LogKind};
use kvitto_service::{LogSet, LogView, PeerBoard, SequencerHandle};
use kvitto_store::{KvStore, LogStore};
use tower::limit::GlobalConcurrencyLimitLayer;
use tower_http::timeout::TimeoutLayer;

pub use auth::AdminToken;
pub use custody::Challenges;
pub use error::ApiError;

/// Shared state of every handler.
pub struct AppState<S: KvStore> {
    pub store: Arc<LogStore<S>>,
    pub view: LogView,
    pub sequencer: SequencerHandle,
    pub admin: AdminToken,
    pub log: LogInfo,
    /// Every log served under `/log/{id}/`: the own log and the mirrors.
    pub logs: Arc<LogSet<S>>,
    pub peers: PeerBoard,
    pub network: NetworkId,
    /// The time zone of this operator's locations, for pricing time-of-day restrictions.
    pub time_zone: chrono_tz::Tz,
    /// The network's trust policy (C2SP tlog-policy text), carried in receipts.
    pub policy: String,
    pub challenges: Challenges,
    /// How to ask other members' operators for evidence (a regulator's audit); `None` without
    /// a network.
    pub evidence: Option<Arc<dyn kvitto_service::EvidenceSource>>,
    /// Where `kvitto audit` leaves `report.json` and `report.html`; `None` serves no report.
    pub audit_dir: Option<std::path::PathBuf>,
    /// The settlement view behind `GET /v1/settlement`, kept between requests so that each
    /// reads only what the logs appended since the one before, not every log again.
    pub settlement: Arc<std::sync::Mutex<kvitto_service::settlement_index::SettlementIndex>>,
}

impl<S: KvStore> Clone for AppState<S> {
    fn clone(&self) -> Self {
        AppState {
            store: self.store.clone(),
            view: self.view.clone(),
            sequencer: self.sequencer.clone(),
            admin: self.admin.clone(),
            log: self.log.clone(),
            logs: self.logs.clone(),
            peers: self.peers.clone(),
            network: self.network,
            time_zone: self.time_zone,
            policy: self.policy.clone(),
            challenges: self.challenges.clone(),
            evidence: self.evidence.clone(),
            audit_dir: self.audit_dir.clone(),
            settlement: self.settlement.clone(),
        }
    }
}

pub fn router<S: KvStore>(state: AppState<S>) -> Router {
    let public = Router::new()
        .route("/logs", get(log::list::<S>))
        .route("/log/{id}/checkpoint", get(log::checkpoint::<S>))
        .route("/log/{id}/tile/{*path}", get(log::tile::<S>))
        .route("/log/{id}/proof/inclusion", get(log::inclusion::<S>))
        .route("/log/{id}/proof/consistency", get(log::consistency::<S>))
        .route("/v1/logs/{id}/witnessed", get(log::witnessed::<S>))
        .route("/v1/status", get(log::status::<S>))
        .route("/receipt", get(web::page))
        .route("/receipt/app.js", get(web::script))
        .route("/", get(web::dashboard))
        .route("/dashboard", get(web::dashboard))
        .route("/driver", get(web::driver))
        .route("/regulator", get(web::regulator))
        .route("/assets/{name}", get(web::asset))
        .route("/v1/sessions/recent", get(dashboard::recent_sessions::<S>))
        .route("/v1/audit/report", get(dashboard::audit_report::<S>))
        .route("/audit/report.html", get(dashboard::audit_report_html::<S>))
        .route("/v1/settlement", get(settlement::overview::<S>));
    let ingest = Router::new()
        .route("/v1/readings", post(ingest::readings::<S>))
        .layer(DefaultBodyLimit::max(limits::INGEST_BODY_BYTES_MAX));
    let admin = Router::new()
        .route("/v1/admin/chargers", post(admin::register::<S>))
        .route(
            "/v1/admin/chargers/{key_id}/revoke",
            post(admin::revoke::<S>),
        )
        .route("/v1/admin/tariffs", post(admin::publish_tariff::<S>))
        .route("/v1/sessions/{id}", get(admin::session::<S>))
        .route("/v1/sessions/{id}/price", get(admin::session_price::<S>))
        .route("/v1/chargers/{key_id}", get(admin::charger::<S>))
        .route("/v1/admin/tokens", put(custody::put_token::<S>))
        .route(
            "/v1/admin/sessions/{id}/authorize",
            post(custody::authorize::<S>),
        )
        .route("/v1/admin/erasures", post(custody::erase::<S>))
        .route("/v1/admin/retention/run", post(custody::expire::<S>))
        .route("/v1/admin/disclosures", post(custody::disclosure::<S>))
        .route("/v1/admin/settlement/close", post(settlement::close::<S>))
        .route(
            "/v1/admin/sessions/{id}/evidence",
            get(custody::evidence::<S>),
        )
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            auth::require_admin::<S>,
        ))
        .layer(DefaultBodyLimit::max(limits::ADMIN_BODY_BYTES_MAX));
    let driver = Router::new()
        .route("/v1/receipts/challenge", get(custody::challenge::<S>))
        .route("/v1/receipts", post(custody::receipts::<S>))
        .layer(DefaultBodyLimit::max(limits::DRIVER_BODY_BYTES_MAX));
    Router::new()
        .merge(public)
        .merge(driver)
        .merge(ingest)
        .merge(admin)
        .fallback(|| async { ApiError::not_found("no such route") })
        .method_not_allowed_fallback(|| async {
            ApiError::new(
                axum::http::StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                "this route does not take that method",
            )
        })
        // One semaphore for the whole node: `Router::layer` wraps each route separately, so a plain
        // ConcurrencyLimitLayer would give every route its own limit.
        .layer(GlobalConcurrencyLimitLayer::new(
            limits::CONCURRENT_REQUESTS_MAX,
        ))
        .layer(TimeoutLayer::with_status_code(
            axum::http::StatusCode::REQUEST_TIMEOUT,
            Duration::from_millis(limits::REQUEST_TIMEOUT_MS),
        ))
        .layer(axum::middleware::map_response(error::json_errors))
        .with_state(state)
}

#[cfg(test)]
mod tests;
