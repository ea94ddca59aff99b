//! The web pages every node serves: the operator dashboard, the driver's and the regulator's
//! pages and the receipt checker. Static assets compiled into the binary, no build step. The
//! pages read the node's public JSON routes and render every value as text.

use axum::extract::Path;
use axum::http::header;
use axum::response::{IntoResponse, Response};

use crate::ApiError;

const RECEIPT_PAGE: &str = include_str!("../assets/receipt.html");
const RECEIPT_SCRIPT: &str = include_str!("../assets/receipt.js");
const DASHBOARD_PAGE: &str = include_str!("../assets/dashboard.html");
const DRIVER_PAGE: &str = include_str!("../assets/driver.html");
const REGULATOR_PAGE: &str = include_str!("../assets/regulator.html");

/// `/assets/{name}`: the shared style sheet and the pages' scripts.
const ASSETS: [(&str, &str, &str); 6] = [
    (
        "kvitto.css",
        "text/css; charset=utf-8",
        include_str!("../assets/kvitto.css"),
    ),
    (
        "kvitto.js",
        "text/javascript; charset=utf-8",
        include_str!("../assets/kvitto.js"),
    ),
    (
        "dashboard.js",
        "text/javascript; charset=utf-8",
        include_str!("../assets/dashboard.js"),
    ),
    (
        "crypto.js",
        "text/javascript; charset=utf-8",
        include_str!("../assets/crypto.js"),
    ),
    (
        "driver.js",
        "text/javascript; charset=utf-8",
        include_str!("../assets/driver.js"),
    ),
    (
        "regulator.js",
        "text/javascript; charset=utf-8",
        include_str!("../assets/regulator.js"),
    ),
];

/// The receipt checker: its own script only, no inline code, no requests anywhere.
const RECEIPT_CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// The other pages: the node's own scripts and style sheet, requests to this node only.
const PAGE_CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

fn html(csp: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CONTENT_SECURITY_POLICY, csp),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            (header::REFERRER_POLICY, "no-referrer"),
        ],
        body,
    )
        .into_response()
}

pub async fn page() -> Response {
    html(RECEIPT_CSP, RECEIPT_PAGE)
}

pub async fn script() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        RECEIPT_SCRIPT,
    )
}

pub async fn dashboard() -> Response {
    html(PAGE_CSP, DASHBOARD_PAGE)
}

pub async fn driver() -> Response {
    html(PAGE_CSP, DRIVER_PAGE)
}

pub async fn regulator() -> Response {
    html(PAGE_CSP, REGULATOR_PAGE)
}

pub async fn asset(Path(name): Path<String>) -> Result<Response, ApiError> {
    let (_, content_type, body) = ASSETS
        .iter()
        .find(|(asset, _, _)| *asset == name)
        .ok_or_else(|| ApiError::not_found(format!("no asset named {name:?}")))?;
    Ok((
        [
            (header::CONTENT_TYPE, *content_type),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        *body,
    )
        .into_response())
}
