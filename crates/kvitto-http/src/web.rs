//! The receipt checker page: static assets compiled into the binary. The page verifies in the
//! browser what the browser can; it never sends the receipt anywhere.

use axum::http::header;
use axum::response::IntoResponse;

const PAGE: &str = include_str!("../assets/receipt.html");
const SCRIPT: &str = include_str!("../assets/receipt.js");

/// A strict policy: the page's own script only, no inline code, no requests anywhere.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

pub async fn page() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CONTENT_SECURITY_POLICY, CSP),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        PAGE,
    )
}

pub async fn script() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        SCRIPT,
    )
}
