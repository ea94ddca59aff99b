//! Router tests without a socket: every route's authorisation rule, and rejection without storage.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::Router;
use base64::Engine;
use ed25519_dalek::SigningKey;
use http_body_util::BodyExt;
use kvitto_core::charger::SoftCharger;
use kvitto_core::NetworkId;
use kvitto_service::{CheckpointSigner, SequencerConfig, SystemClock};
use kvitto_store::{LogStore, MemoryStore};
use serde_json::{json, Value};
use tower::ServiceExt;

use crate::{router, AdminToken, AppState, LogInfo, LogKind};
use kvitto_service::{LogSet, LogView, PeerBoard, Published, ServedLog, WitnessBoard};

const TOKEN: &str = "test-admin-token";

struct FakeSigner;

impl CheckpointSigner for FakeSigner {
    fn origin(&self) -> &str {
        "test/log"
    }
    fn sign(&self, size: u64, root: &kvitto_tlog::Hash) -> Vec<u8> {
        format!(
            "test/log\n{size}\n{}\n\n— fake signature\n",
            root.to_base64()
        )
        .into_bytes()
    }
}

struct Harness {
    app: Router,
    store: Arc<LogStore<MemoryStore>>,
    /// What the replication layer would publish about the mirrored log `m`.
    mirror: ServedLog<MemoryStore>,
    charger: SoftCharger,
}

fn harness() -> Harness {
    harness_with(None)
}

/// A harness whose node finds `kvitto audit` reports in `audit_dir`.
fn harness_with(audit_dir: Option<std::path::PathBuf>) -> Harness {
    let network = NetworkId::of_name("test");
    let store = Arc::new(LogStore::open(MemoryStore::new()).unwrap());
    let (sequencer, view, _thread) = kvitto_service::Sequencer::start(
        store.clone(),
        network,
        Arc::new(FakeSigner),
        Arc::new(SystemClock),
        SequencerConfig {
            checkpoint_entries: 1,
            ..SequencerConfig::default()
        },
        |_| None,
    )
    .unwrap();
    let info = LogInfo {
        id: "t".into(),
        origin: "test/log".into(),
        verifier_key: "k".into(),
        prefix: "/log/t".into(),
        operator: "SE*TST".into(),
        kind: LogKind::Own,
    };
    let mut logs = LogSet::new(ServedLog {
        info: info.clone(),
        store: store.clone(),
        view: view.clone(),
        witness: WitnessBoard::default(),
    });
    let mirror = ServedLog {
        info: LogInfo {
            id: "m".into(),
            origin: "test/mirror".into(),
            verifier_key: "mk".into(),
            prefix: "/log/m".into(),
            operator: "SE*MIR".into(),
            kind: LogKind::Mirror,
        },
        store: Arc::new(LogStore::open(MemoryStore::new()).unwrap()),
        view: LogView::new(
            Published {
                size: 0,
                root: kvitto_tlog::merkle::EMPTY_ROOT,
                checkpoint: None,
                checkpoint_size: 0,
            },
            Default::default(),
        ),
        witness: WitnessBoard::default(),
    };
    logs.add_mirror(mirror.clone()).unwrap();
    assert!(
        logs.add_mirror(mirror.clone()).is_err(),
        "log ids are unique"
    );
    let state = AppState {
        store: store.clone(),
        view,
        sequencer,
        admin: AdminToken::from_secret(TOKEN).unwrap(),
        log: info,
        logs: Arc::new(logs),
        peers: PeerBoard::default(),
        network,
        time_zone: chrono_tz::Europe::Stockholm,
        policy: String::new(),
        challenges: crate::Challenges::default(),
        evidence: None,
        audit_dir,
        settlement: Default::default(),
    };
    Harness {
        app: router(state),
        store,
        mirror,
        charger: SoftCharger::new(SigningKey::from_bytes(&[4; 32]), network),
    }
}

async fn call(
    app: &Router,
    method: &str,
    uri: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut request = Request::builder().method(method).uri(uri);
    if let Some(token) = token {
        request = request.header("authorization", format!("Bearer {token}"));
    }
    let request = match body {
        Some(body) => request
            .header("content-type", "application/json")
            .body(Body::from(body.to_string())),
        None => request.body(Body::empty()),
    }
    .unwrap();
    let response = app.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (
        status,
        serde_json::from_slice(&bytes)
            .unwrap_or(Value::String(String::from_utf8_lossy(&bytes).into())),
    )
}

fn now_ms() -> u64 {
    kvitto_service::Clock::now_ms(&SystemClock)
}

async fn register(h: &Harness) -> Value {
    let body = json!({
        "public_key": hex::encode(h.charger.public_key()),
        "evse_id": "SE*KVT*E1", "meter_serial": "M1", "max_power_w": 22000, "valid_from_ms": now_ms() - 3_600_000,
    });
    let (status, value) = call(
        &h.app,
        "POST",
        "/v1/admin/chargers",
        Some(TOKEN),
        Some(body),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{value}");
    value
}

fn readings_body(readings: &[kvitto_core::SignedReading]) -> Value {
    json!({ "readings": readings.iter().map(|r| base64::engine::general_purpose::STANDARD.encode(r.encode())).collect::<Vec<_>>() })
}

#[tokio::test]
async fn admin_routes_need_the_token() {
    let h = harness();
    let key = "00".repeat(16);
    let routes: Vec<(&str, String, Option<Value>)> = vec![
        ("POST", "/v1/admin/chargers".into(), Some(json!({}))),
        (
            "POST",
            format!("/v1/admin/chargers/{key}/revoke"),
            Some(json!({"revoked_from_ms": 0, "reason": "x"})),
        ),
        ("POST", "/v1/admin/tariffs".into(), Some(json!({}))),
        ("GET", format!("/v1/sessions/{key}"), None),
        ("GET", format!("/v1/chargers/{key}"), None),
        ("GET", format!("/v1/sessions/{key}/price"), None),
        ("PUT", "/v1/admin/tokens".into(), Some(json!({}))),
        (
            "POST",
            format!("/v1/admin/sessions/{key}/authorize"),
            Some(json!({"uid": "x"})),
        ),
        (
            "POST",
            "/v1/admin/erasures".into(),
            Some(json!({"contract_id": "x"})),
        ),
        ("POST", "/v1/admin/retention/run".into(), None),
        (
            "POST",
            "/v1/admin/disclosures".into(),
            Some(json!({"log": "x", "session": key, "case_ref": "c"})),
        ),
        ("GET", format!("/v1/admin/sessions/{key}/evidence"), None),
        (
            "POST",
            "/v1/admin/settlement/close".into(),
            Some(json!({"period_start_ms": 0, "period_end_ms": 1})),
        ),
    ];
    for (method, uri, body) in routes {
        let (status, value) = call(&h.app, method, &uri, None, body.clone()).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{method} {uri}: {value}");
        assert_eq!(value["error"]["code"], "unauthorized");
        let (status, value) = call(&h.app, method, &uri, Some("wrong"), body).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{method} {uri}: {value}");
    }
    assert_eq!(
        h.store.size().unwrap(),
        0,
        "refused requests stored nothing"
    );
}

#[tokio::test]
async fn public_routes_need_nothing() {
    let h = harness();
    register(&h).await;
    // Wait for the first checkpoint to cover the registration.
    let mut size = 0;
    for _ in 0..100 {
        let (_, status) = call(&h.app, "GET", "/v1/status", None, None).await;
        size = status["checkpoint_size"].as_u64().unwrap();
        if size == 1 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(size, 1);
    for uri in [
        "/logs",
        "/v1/status",
        "/v1/settlement",
        "/v1/settlement?sessions=true",
        "/log/t/proof/inclusion?index=0",
        "/log/t/proof/consistency?first=0&second=1",
    ] {
        let (status, value) = call(&h.app, "GET", uri, None, None).await;
        assert_eq!(status, StatusCode::OK, "{uri}: {value}");
    }
    for uri in [
        "/log/t/checkpoint",
        "/log/t/tile/0/000.p/1",
        "/log/t/tile/entries/000.p/1",
    ] {
        let (status, value) = call(&h.app, "GET", uri, None, None).await;
        assert_eq!(status, StatusCode::OK, "{uri}: {value}");
    }
    let (status, value) = call(&h.app, "GET", "/log/t/tile/0/000.p/2", None, None).await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "beyond the checkpoint: {value}"
    );
    let (status, value) = call(&h.app, "GET", "/log/t/tile/0/0000", None, None).await;
    assert_eq!(
        (status, value["error"]["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("bad_tile_path"))
    );
    let (status, _) = call(&h.app, "GET", "/log/other/checkpoint", None, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

/// Mirrors are public like the own log; what the replication layer publishes is what is served.
#[tokio::test]
async fn mirrors_and_witnessed_checkpoints_are_public() {
    let h = harness();
    let (status, logs) = call(&h.app, "GET", "/logs", None, None).await;
    assert_eq!(status, StatusCode::OK);
    let kinds: Vec<(&str, &str)> = logs
        .as_array()
        .unwrap()
        .iter()
        .map(|l| (l["id"].as_str().unwrap(), l["kind"].as_str().unwrap()))
        .collect();
    assert_eq!(kinds, [("m", "mirror"), ("t", "own")]);
    for uri in [
        "/log/m/checkpoint",
        "/v1/logs/m/witnessed",
        "/v1/logs/x/witnessed",
    ] {
        let (status, value) = call(&h.app, "GET", uri, None, None).await;
        assert_eq!(
            (status, value["error"]["code"].as_str()),
            (StatusCode::NOT_FOUND, Some("not_found")),
            "{uri}"
        );
    }
    let note =
        "test/mirror\n0\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n\n— test/mirror sig\n";
    h.mirror.view.set_published(Published {
        size: 0,
        root: kvitto_tlog::merkle::EMPTY_ROOT,
        checkpoint: Some(Arc::new(note.as_bytes().to_vec())),
        checkpoint_size: 0,
    });
    h.mirror.witness.update(|w| {
        w.witnessed = Some(Arc::new(note.to_owned()));
        w.split_view = Some(kvitto_service::SplitViewInfo {
            first_note: note.into(),
            second_note: note.into(),
            evidence: "AA==".into(),
        });
    });
    for uri in ["/log/m/checkpoint", "/v1/logs/m/witnessed"] {
        let response = h
            .app
            .clone()
            .oneshot(Request::get(uri).body(Body::empty()).unwrap())
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{uri}");
        let body = response.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(body, note.as_bytes(), "{uri}");
    }
    let (_, status) = call(&h.app, "GET", "/v1/status", None, None).await;
    assert_eq!(status["logs"].as_array().unwrap().len(), 2);
    assert_eq!(
        status["alerts"][0],
        "split view: test/mirror (SE*MIR) signed two checkpoints that cannot both be true"
    );
}

#[tokio::test]
async fn readings_are_authorised_by_their_signature() {
    let mut h = harness();
    // Unregistered: refused, nothing stored.
    let start = h.charger.clone().start(now_ms() - 60_000);
    let (status, value) = call(
        &h.app,
        "POST",
        "/v1/readings",
        None,
        Some(readings_body(&[start])),
    )
    .await;
    assert_eq!(
        (status, value["error"]["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("unknown_charger"))
    );
    assert_eq!(h.store.size().unwrap(), 0);
    register(&h).await;
    // Forged: a reading that names the charger but is signed by another key.
    let forger = SigningKey::from_bytes(&[5; 32]);
    let forged = h
        .charger
        .peek(kvitto_core::ReadingKind::Start, now_ms() - 60_000, 0)
        .sign(&forger);
    let (status, value) = call(
        &h.app,
        "POST",
        "/v1/readings",
        None,
        Some(readings_body(&[forged])),
    )
    .await;
    assert_eq!(
        (
            status,
            value["error"]["code"].as_str(),
            value["error"]["index"].as_u64()
        ),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("bad_signature"),
            Some(0)
        )
    );
    // Genuine: accepted, and a replay of it is a conflict.
    let t = now_ms() - 60_000;
    let start = h.charger.start(t);
    let stop = h.charger.stop(t + 30_000, 50);
    let (status, value) = call(
        &h.app,
        "POST",
        "/v1/readings",
        None,
        Some(readings_body(&[start.clone(), stop])),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{value}");
    assert_eq!(value["closed_sessions"].as_array().unwrap().len(), 1);
    let size = h.store.size().unwrap();
    let (status, value) = call(
        &h.app,
        "POST",
        "/v1/readings",
        None,
        Some(readings_body(&[start])),
    )
    .await;
    assert_eq!(
        (status, value["error"]["code"].as_str()),
        (StatusCode::CONFLICT, Some("replayed_reading"))
    );
    assert_eq!(h.store.size().unwrap(), size);
}

#[tokio::test]
async fn malformed_input_gets_specific_errors() {
    let h = harness();
    let cases: Vec<(Value, &str)> = vec![
        (json!({"readings": ["not base64!"]}), "malformed_reading"),
        (json!({"readings": ["AAAA"]}), "malformed_reading"),
        (json!({"readings": []}), "malformed_reading"),
        (json!({"reading": []}), "malformed_json"),
    ];
    for (body, code) in cases {
        let (status, value) = call(&h.app, "POST", "/v1/readings", None, Some(body.clone())).await;
        assert_eq!(
            (status, value["error"]["code"].as_str()),
            (StatusCode::BAD_REQUEST, Some(code)),
            "{body}"
        );
    }
    let too_many = json!({"readings": vec!["AAAA"; crate::limits::READINGS_PER_REQUEST_MAX + 1]});
    let (status, value) = call(&h.app, "POST", "/v1/readings", None, Some(too_many)).await;
    assert_eq!(
        (status, value["error"]["code"].as_str()),
        (StatusCode::PAYLOAD_TOO_LARGE, Some("batch_too_large"))
    );
    let huge = Request::builder()
        .method("POST")
        .uri("/v1/readings")
        .header("content-type", "application/octet-stream")
        .body(Body::from(vec![
            0u8;
            crate::limits::INGEST_BODY_BYTES_MAX + 1
        ]))
        .unwrap();
    assert_eq!(
        h.app.clone().oneshot(huge).await.unwrap().status(),
        StatusCode::PAYLOAD_TOO_LARGE
    );
    let (status, value) = call(
        &h.app,
        "POST",
        "/v1/admin/chargers",
        Some(TOKEN),
        Some(json!({"public_key": "zz"})),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{value}");
    assert_eq!(h.store.size().unwrap(), 0);
}

#[tokio::test]
async fn admin_lifecycle() {
    let h = harness();
    let registered = register(&h).await;
    let key_id = registered["key_id"].as_str().unwrap().to_string();
    let (status, value) = call(&h.app, "POST", "/v1/admin/chargers", Some(TOKEN), Some(json!({
        "public_key": hex::encode(h.charger.public_key()), "evse_id": "E", "meter_serial": "M", "max_power_w": 1, "valid_from_ms": 0,
    }))).await;
    assert_eq!(
        (status, value["error"]["code"].as_str()),
        (StatusCode::CONFLICT, Some("charger_already_registered"))
    );
    let (status, value) = call(
        &h.app,
        "GET",
        &format!("/v1/chargers/{key_id}"),
        Some(TOKEN),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{value}");
    let (status, _) = call(
        &h.app,
        "POST",
        &format!("/v1/admin/chargers/{key_id}/revoke"),
        Some(TOKEN),
        Some(json!({"revoked_from_ms": now_ms(), "reason": "replaced"})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let tariff: Value = serde_json::from_str(
        // The manifest directory is read at run time (cargo sets it), as kvitto-tariff's tests do.
        &std::fs::read_to_string(
            std::env::var_os("CARGO_MANIFEST_DIR")
                .map(std::path::PathBuf::from)
                .unwrap_or_else(|| std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")))
                .join("../../../shared/conformance/ocpi-2.2.1/tariff_8_simple_025kwh.json"),
        )
        .unwrap(),
    )
    .unwrap();
    let tariff = json!({"tariff": tariff, "valid_from_ms": now_ms()});
    let (status, value) = call(
        &h.app,
        "POST",
        "/v1/admin/tariffs",
        Some(TOKEN),
        Some(tariff),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{value}");
    let bad = json!({"tariff": {"id": "T2"}, "valid_from_ms": now_ms()});
    let (status, value) = call(&h.app, "POST", "/v1/admin/tariffs", Some(TOKEN), Some(bad)).await;
    assert_eq!(
        (status, value["error"]["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_tariff"))
    );
    assert_eq!(h.store.size().unwrap(), 3);
}

/// GET `uri` without credentials: status, the headers and the body as text.
async fn get_raw(app: &Router, uri: &str) -> (StatusCode, axum::http::HeaderMap, String) {
    let request = Request::builder().uri(uri).body(Body::empty()).unwrap();
    let response = app.clone().oneshot(request).await.unwrap();
    let (parts, body) = response.into_parts();
    let bytes = body.collect().await.unwrap().to_bytes();
    (
        parts.status,
        parts.headers,
        String::from_utf8_lossy(&bytes).into_owned(),
    )
}

/// The web pages, their assets, recent sessions and the audit report: public and read-only.
#[tokio::test]
async fn web_pages_and_their_data_are_public() {
    let h = harness();
    for uri in ["/", "/dashboard", "/driver", "/regulator", "/receipt"] {
        let (status, headers, body) = get_raw(&h.app, uri).await;
        assert_eq!(status, StatusCode::OK, "{uri}");
        assert_eq!(headers["content-type"], "text/html; charset=utf-8", "{uri}");
        assert_eq!(headers["x-content-type-options"], "nosniff", "{uri}");
        let csp = headers["content-security-policy"].to_str().unwrap();
        assert!(
            csp.starts_with("default-src 'none'; script-src 'self';"),
            "{uri}: {csp}"
        );
        assert!(!body.contains("<script>"), "{uri}: no inline script");
        for page in ["/\"", "/driver\"", "/regulator\"", "/receipt\""] {
            assert!(
                body.contains(&format!("href=\"{page}")),
                "{uri}: no link to {page}"
            );
        }
        if uri != "/receipt" {
            assert!(
                csp.contains("style-src 'self';") && csp.contains("connect-src 'self';"),
                "{uri}: {csp}"
            );
        }
    }
    for (name, kind) in [
        ("kvitto.css", "text/css; charset=utf-8"),
        ("kvitto.js", "text/javascript; charset=utf-8"),
        ("dashboard.js", "text/javascript; charset=utf-8"),
        ("crypto.js", "text/javascript; charset=utf-8"),
        ("driver.js", "text/javascript; charset=utf-8"),
        ("regulator.js", "text/javascript; charset=utf-8"),
    ] {
        let (status, headers, body) = get_raw(&h.app, &format!("/assets/{name}")).await;
        assert_eq!(
            (status, &headers["content-type"]),
            (StatusCode::OK, &kind.parse().unwrap())
        );
        assert!(
            !body.contains("innerHTML"),
            "{name} must build the DOM from text nodes"
        );
    }
    let (status, value) = call(&h.app, "GET", "/assets/..%2fsrc%2flib.rs", None, None).await;
    assert_eq!(
        (status, value["error"]["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("not_found"))
    );

    let (status, value) = call(&h.app, "GET", "/v1/sessions/recent", None, None).await;
    assert_eq!(status, StatusCode::OK, "{value}");
    assert_eq!(value["sessions"], json!([]));
    let (status, value) = call(&h.app, "GET", "/v1/sessions/recent?limit=50", None, None).await;
    assert_eq!(status, StatusCode::OK, "{value}");
    for bad in ["limit=0", "limit=51", "limit=x", "other=1"] {
        let (status, value) = call(
            &h.app,
            "GET",
            &format!("/v1/sessions/recent?{bad}"),
            None,
            None,
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {value}");
    }
    // Without an audit directory, or before the first audit: 404 in the API's shape.
    for uri in ["/v1/audit/report", "/audit/report.html"] {
        let (status, value) = call(&h.app, "GET", uri, None, None).await;
        assert_eq!(
            (status, value["error"]["code"].as_str()),
            (StatusCode::NOT_FOUND, Some("not_found")),
            "{uri}"
        );
    }
    let dir = tempfile::tempdir().unwrap();
    let h = harness_with(Some(dir.path().to_path_buf()));
    let (status, _) = call(&h.app, "GET", "/v1/audit/report", None, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    std::fs::write(
        dir.path().join("report.json"),
        r#"{"verdict":"clean","findings":[]}"#,
    )
    .unwrap();
    std::fs::write(
        dir.path().join("report.html"),
        "<h1>Audit</h1><script>alert(1)</script>",
    )
    .unwrap();
    let (status, headers, body) = get_raw(&h.app, "/v1/audit/report").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers["content-type"], "application/json");
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap()["verdict"],
        "clean"
    );
    let (status, headers, body) = get_raw(&h.app, "/audit/report.html").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        headers["content-security-policy"],
        "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
        "the report may style itself inline, and run nothing"
    );
    assert!(body.starts_with("<h1>Audit</h1>"));
    // A report being rewritten is not served as one.
    std::fs::write(dir.path().join("report.json"), r#"{"verdict":"#).unwrap();
    let (status, value) = call(&h.app, "GET", "/v1/audit/report", None, None).await;
    assert_eq!(
        (status, value["error"]["code"].as_str()),
        (StatusCode::SERVICE_UNAVAILABLE, Some("report_unreadable"))
    );
}

/// Settlement: the overview is public and names a malformed query as such; closing a period is
/// the operator's, refuses an empty period, and on a log without billed sessions issues nothing.
#[tokio::test]
async fn settlement_routes_check_their_input() {
    let h = harness();
    let (status, value) = call(&h.app, "GET", "/v1/settlement", None, None).await;
    assert_eq!(status, StatusCode::OK, "{value}");
    assert_eq!(value["periods"], json!([]), "{value}");
    assert_eq!(value["netting"], Value::Null, "{value}");
    let (status, value) = call(&h.app, "GET", "/v1/settlement?sessions=maybe", None, None).await;
    assert_eq!(
        (status, value["error"]["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("malformed_query")),
        "{value}"
    );
    let close = |start: u64, end: u64| json!({"period_start_ms": start, "period_end_ms": end});
    let (status, value) = call(
        &h.app,
        "POST",
        "/v1/admin/settlement/close",
        Some(TOKEN),
        Some(close(5, 5)),
    )
    .await;
    assert_eq!(
        (status, value["error"]["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_field")),
        "{value}"
    );
    let size = h.store.size().unwrap();
    let (status, value) = call(
        &h.app,
        "POST",
        "/v1/admin/settlement/close",
        Some(TOKEN),
        Some(close(0, 5)),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{value}");
    assert_eq!(value["statements"], json!([]), "{value}");
    assert_eq!(
        h.store.size().unwrap(),
        size,
        "nothing to bill, nothing appended"
    );
}
