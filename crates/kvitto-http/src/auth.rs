//! The operator admin credential.

use axum::http::{HeaderMap, StatusCode};
use kvitto_core::domain;

use crate::ApiError;

/// The blake3 hash of the admin token. The node keeps only the hash in memory; comparison is of
/// hashes, in constant time, so neither the token nor timing leaks.
#[derive(Clone)]
pub struct AdminToken {
    hash: [u8; 32],
}

impl std::fmt::Debug for AdminToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AdminToken(..)")
    }
}

impl AdminToken {
    /// Shortest accepted token: `kvitto init` writes 64 hex characters.
    pub const LEN_MIN: usize = 16;

    pub fn from_secret(token: &str) -> Result<Self, String> {
        if token.len() < Self::LEN_MIN || token.chars().any(char::is_whitespace) {
            return Err(format!(
                "the admin token must be at least {} characters without whitespace",
                Self::LEN_MIN
            ));
        }
        Ok(AdminToken {
            hash: domain::digest(domain::HASH_ADMIN_TOKEN, &[token.as_bytes()]),
        })
    }

    /// Checks the `Authorization: Bearer` header.
    pub fn check(&self, headers: &HeaderMap) -> Result<(), ApiError> {
        let Some(value) = headers.get(axum::http::header::AUTHORIZATION) else {
            return Err(ApiError::new(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "this route needs the operator's admin token: Authorization: Bearer <token>",
            ));
        };
        let Some(presented) = value.to_str().ok().and_then(|v| v.strip_prefix("Bearer ")) else {
            return Err(ApiError::new(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "the Authorization header must be: Bearer <token>",
            ));
        };
        let hash = domain::digest(domain::HASH_ADMIN_TOKEN, &[presented.as_bytes()]);
        if blake3::Hash::from(hash) == blake3::Hash::from(self.hash) {
            Ok(())
        } else {
            Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "forbidden",
                "the admin token is not valid",
            ))
        }
    }
}

/// Middleware for the operator routes: checks the token before any body is read.
pub async fn require_admin<S: kvitto_store::KvStore>(
    axum::extract::State(state): axum::extract::State<crate::AppState<S>>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Result<axum::response::Response, ApiError> {
    state.admin.check(request.headers())?;
    Ok(next.run(request).await)
}
