//! A small HTTP client for a node's API, used by the simulator, the proof tools and the benches.

use anyhow::{bail, Context, Result};
use kvitto_core::reading::SignedReading;
use reqwest::StatusCode;
use serde::de::DeserializeOwned;
use serde_json::Value;

#[derive(Debug, Clone)]
pub struct Client {
    base: String,
    http: reqwest::Client,
    admin_token: Option<String>,
}

/// A request the node refused: its HTTP status, stable code and message.
#[derive(Debug)]
pub struct Refused {
    pub status: StatusCode,
    pub code: String,
    pub message: String,
}

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {}: {}",
            self.status.as_u16(),
            self.code,
            self.message
        )
    }
}

impl std::error::Error for Refused {}

impl Client {
    pub fn new(base: &str, admin_token: Option<String>) -> Result<Self> {
        let http = reqwest::Client::builder()
            .pool_max_idle_per_host(256)
            .timeout(std::time::Duration::from_secs(60))
            .build()?;
        Ok(Client {
            base: base.trim_end_matches('/').to_string(),
            http,
            admin_token,
        })
    }

    pub fn base(&self) -> &str {
        &self.base
    }

    async fn decode<T: DeserializeOwned>(response: reqwest::Response) -> Result<T> {
        let status = response.status();
        let bytes = response.bytes().await?;
        if !status.is_success() {
            let value: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
            let code = value["error"]["code"]
                .as_str()
                .unwrap_or("unknown")
                .to_string();
            let message = value["error"]["message"]
                .as_str()
                .map(str::to_string)
                .unwrap_or_else(|| String::from_utf8_lossy(&bytes).into_owned());
            return Err(Refused {
                status,
                code,
                message,
            }
            .into());
        }
        serde_json::from_slice(&bytes).with_context(|| {
            format!(
                "decoding the node's answer: {}",
                String::from_utf8_lossy(&bytes)
            )
        })
    }

    pub async fn get_json<T: DeserializeOwned>(&self, path: &str) -> Result<T> {
        let response = self
            .http
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .with_context(|| format!("GET {}{path}", self.base))?;
        Self::decode(response).await
    }

    pub async fn get_bytes(&self, path: &str) -> Result<Vec<u8>> {
        let response = self
            .http
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .with_context(|| format!("GET {}{path}", self.base))?;
        let status = response.status();
        let bytes = response.bytes().await?.to_vec();
        if !status.is_success() {
            bail!("GET {path}: {status}: {}", String::from_utf8_lossy(&bytes));
        }
        Ok(bytes)
    }

    pub async fn admin_post<T: DeserializeOwned>(&self, path: &str, body: &Value) -> Result<T> {
        let mut request = self.http.post(format!("{}{path}", self.base)).json(body);
        if let Some(token) = &self.admin_token {
            request = request.bearer_auth(token);
        }
        let response = request
            .send()
            .await
            .with_context(|| format!("POST {}{path}", self.base))?;
        Self::decode(response).await
    }

    pub async fn admin_put<T: DeserializeOwned>(&self, path: &str, body: &Value) -> Result<T> {
        let mut request = self.http.put(format!("{}{path}", self.base)).json(body);
        if let Some(token) = &self.admin_token {
            request = request.bearer_auth(token);
        }
        let response = request
            .send()
            .await
            .with_context(|| format!("PUT {}{path}", self.base))?;
        Self::decode(response).await
    }

    /// Posts signed readings as one binary batch.
    pub async fn post_readings(&self, readings: &[SignedReading]) -> Result<Value> {
        let mut body = Vec::with_capacity(readings.len() * kvitto_core::reading::SIGNED_LEN);
        for r in readings {
            body.extend_from_slice(&r.encode());
        }
        self.post_reading_bytes(body).await
    }

    pub async fn post_reading_bytes(&self, body: Vec<u8>) -> Result<Value> {
        let response = self
            .http
            .post(format!("{}/v1/readings", self.base))
            .header("content-type", "application/octet-stream")
            .body(body)
            .send()
            .await
            .with_context(|| format!("POST {}/v1/readings", self.base))?;
        Self::decode(response).await
    }
}
