//! Public read routes: the tlog-tiles layout, proofs and status.

use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::Json;
use axum_extra_query::Query;
use kvitto_store::KvStore;
use kvitto_tlog::merkle::{consistency_proof, inclusion_proof};
use kvitto_tlog::tiles::{self, TilePath};
use kvitto_tlog::Hash;
use serde::{Deserialize, Serialize};

use kvitto_service::{NetCounters, PeerView, ServedLog, WitnessInfo};

use crate::{ApiError, AppState, LogInfo};

/// Query extraction with our error shape.
pub(crate) mod axum_extra_query {
    use axum::extract::FromRequestParts;

    #[derive(Debug, FromRequestParts)]
    #[from_request(via(axum::extract::Query), rejection(crate::ApiError))]
    pub struct Query<T>(pub T);
}

fn check_log<S: KvStore>(state: &AppState<S>, id: &str) -> Result<ServedLog<S>, ApiError> {
    state.logs.get(id).cloned().ok_or_else(|| {
        ApiError::not_found(format!(
            "this node serves no log named {id:?}; GET /logs lists them"
        ))
    })
}

pub async fn list<S: KvStore>(State(state): State<AppState<S>>) -> Json<Vec<LogInfo>> {
    Json(state.logs.iter().map(|log| log.info.clone()).collect())
}

pub async fn checkpoint<S: KvStore>(
    State(state): State<AppState<S>>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let log = check_log(&state, &id)?;
    let published = log.view.published();
    let note = published
        .checkpoint
        .ok_or_else(|| ApiError::not_found("no checkpoint has been signed yet"))?;
    // The same checkpoint with the cosignatures collected for it, once there are any.
    let board = log.witness.get();
    let body = match board.cosigned {
        Some(cosigned) if board.cosigned_size == published.checkpoint_size => {
            cosigned.as_bytes().to_vec()
        }
        _ => note.as_ref().clone(),
    };
    Ok(note_response(body))
}

fn note_response(body: Vec<u8>) -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/plain; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        body,
    )
        .into_response()
}

/// The latest checkpoint of a log that satisfies the network's trust policy, with its
/// cosignatures: what receipts are proven against.
pub async fn witnessed<S: KvStore>(
    State(state): State<AppState<S>>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let log = check_log(&state, &id)?;
    let board = log.witness.get();
    let note = board.witnessed.ok_or_else(|| {
        ApiError::not_found(format!(
            "no checkpoint of {id} is witnessed under the policy yet"
        ))
    })?;
    Ok(note_response(note.as_bytes().to_vec()))
}

/// Serves `tile/<L>/<N>[.p/<W>]` and `tile/entries/<N>[.p/<W>]` for the current checkpoint.
/// Full tiles never change and are cacheable forever; partial ones only exist for sizes that a
/// checkpoint covers.
pub async fn tile<S: KvStore>(
    State(state): State<AppState<S>>,
    Path((id, path)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let log = check_log(&state, &id)?;
    let path = format!("tile/{path}");
    let parsed = tiles::parse_path(&path)
        .map_err(|e| ApiError::bad_request("bad_tile_path", e.to_string()))?;
    let size = log.view.published().checkpoint_size;
    let store = log.store.clone();
    let (bytes, partial) =
        tokio::task::spawn_blocking(move || -> Result<(Vec<u8>, bool), ApiError> {
            match parsed {
                TilePath::Tile(tile) => {
                    if !tile_within(tile.level(), tile.index(), tile.width(), size) {
                        return Err(ApiError::not_found(format!(
                            "{path} is beyond the latest checkpoint (size {size})"
                        )));
                    }
                    let bytes =
                        tiles::read_tile(&store.tree(), tile).map_err(ApiError::internal)?;
                    Ok((bytes, tile.is_partial()))
                }
                TilePath::Bundle(bundle) => {
                    let range = bundle.leaf_range();
                    if range.end > size {
                        return Err(ApiError::not_found(format!(
                            "{path} is beyond the latest checkpoint (size {size})"
                        )));
                    }
                    let entries = store
                        .entries(range.start, (range.end - range.start) as usize)
                        .map_err(ApiError::internal)?;
                    let bytes = tiles::encode_bundle(&entries).map_err(ApiError::internal)?;
                    Ok((bytes, bundle.is_partial()))
                }
            }
        })
        .await
        .map_err(ApiError::internal)??;
    let cache = if partial {
        "no-store"
    } else {
        "public, max-age=31536000, immutable"
    };
    Ok((
        [
            (header::CONTENT_TYPE, "application/octet-stream"),
            (header::CACHE_CONTROL, cache),
        ],
        bytes,
    )
        .into_response())
}

/// Whether a tile at `level`, `index` with `width` hashes lies within a tree of `size` leaves.
/// A partial tile of a smaller tree stays available after the tile fills up (it is a prefix of
/// the full tile), so clients holding an older checkpoint can still fetch what they need.
fn tile_within(level: u8, index: u64, width: u16, size: u64) -> bool {
    let shift = u32::from(level) * 8;
    let nodes_at_level = if shift >= 64 { 0 } else { size >> shift };
    index
        .checked_mul(256)
        .and_then(|start| start.checked_add(u64::from(width)))
        .is_some_and(|end| width > 0 && end <= nodes_at_level)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InclusionQuery {
    index: Option<u64>,
    /// The leaf hash, hex or base64.
    leaf_hash: Option<String>,
    /// Tree size; defaults to the latest checkpoint's.
    size: Option<u64>,
}

#[derive(Debug, Serialize)]
pub struct InclusionProof {
    index: u64,
    size: u64,
    leaf_hash: String,
    root: String,
    /// Base64 hashes, RFC 6962 order.
    proof: Vec<String>,
}

pub async fn inclusion<S: KvStore>(
    State(state): State<AppState<S>>,
    Path(id): Path<String>,
    Query(query): Query<InclusionQuery>,
) -> Result<Json<InclusionProof>, ApiError> {
    let log = check_log(&state, &id)?;
    let published = log.view.published();
    let size = query.size.unwrap_or(published.checkpoint_size);
    if size > published.checkpoint_size {
        return Err(ApiError::bad_request(
            "size_beyond_checkpoint",
            format!(
                "size {size} exceeds the latest checkpoint's {}",
                published.checkpoint_size
            ),
        ));
    }
    let store = log.store.clone();
    let proof = tokio::task::spawn_blocking(move || -> Result<InclusionProof, ApiError> {
        let index = match (query.index, &query.leaf_hash) {
            (Some(index), None) => index,
            (None, Some(text)) => {
                let leaf = Hash::from_hex(text)
                    .or_else(|_| Hash::from_base64(text))
                    .map_err(|_| {
                        ApiError::bad_request(
                            "malformed_query",
                            "leaf_hash must be 32 bytes as hex or base64",
                        )
                    })?;
                store
                    .leaf_index(&leaf)
                    .map_err(ApiError::internal)?
                    .ok_or_else(|| ApiError::not_found("no entry has that leaf hash"))?
            }
            _ => {
                return Err(ApiError::bad_request(
                    "malformed_query",
                    "give exactly one of index or leaf_hash",
                ))
            }
        };
        if index >= size {
            return Err(ApiError::bad_request(
                "index_out_of_range",
                format!("index {index} is not below size {size}"),
            ));
        }
        let entry = store
            .entry(index)
            .map_err(ApiError::internal)?
            .ok_or_else(|| ApiError::internal("entry missing"))?;
        let tree = store.tree();
        let proof = inclusion_proof(&tree, index, size).map_err(ApiError::internal)?;
        let root = kvitto_tlog::merkle::root(&tree, size).map_err(ApiError::internal)?;
        Ok(InclusionProof {
            index,
            size,
            leaf_hash: kvitto_tlog::merkle::leaf_hash(&entry).to_base64(),
            root: root.to_base64(),
            proof: proof.iter().map(|h| h.to_base64()).collect(),
        })
    })
    .await
    .map_err(ApiError::internal)??;
    Ok(Json(proof))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsistencyQuery {
    first: u64,
    second: u64,
}

#[derive(Debug, Serialize)]
pub struct ConsistencyProof {
    first: u64,
    second: u64,
    proof: Vec<String>,
}

pub async fn consistency<S: KvStore>(
    State(state): State<AppState<S>>,
    Path(id): Path<String>,
    Query(query): Query<ConsistencyQuery>,
) -> Result<Json<ConsistencyProof>, ApiError> {
    let log = check_log(&state, &id)?;
    let limit = log.view.published().checkpoint_size;
    if query.first > query.second || query.second > limit {
        return Err(ApiError::bad_request(
            "size_out_of_range",
            format!(
                "need first <= second <= {limit} (the latest checkpoint), got {} and {}",
                query.first, query.second
            ),
        ));
    }
    if query.first == 0 || query.first == query.second {
        // RFC 9162 2.1.4: the empty tree, and a tree with itself, need no proof.
        return Ok(Json(ConsistencyProof {
            first: query.first,
            second: query.second,
            proof: Vec::new(),
        }));
    }
    let store = log.store.clone();
    let proof = tokio::task::spawn_blocking(move || {
        consistency_proof(&store.tree(), query.first, query.second)
    })
    .await
    .map_err(ApiError::internal)?
    .map_err(ApiError::internal)?;
    Ok(Json(ConsistencyProof {
        first: query.first,
        second: query.second,
        proof: proof.iter().map(|h| h.to_base64()).collect(),
    }))
}

#[derive(Debug, Serialize)]
pub struct Status {
    log: LogInfo,
    network: String,
    size: u64,
    root: String,
    checkpoint_size: u64,
    /// Every served log, the own one included.
    logs: Vec<LogStatus>,
    peers: Vec<PeerView>,
    /// The network layer's traffic counters since the node started (empty outside a network).
    net: NetCounters,
    /// Logs proven to have shown a split view.
    alerts: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct LogStatus {
    #[serde(flatten)]
    info: LogInfo,
    size: u64,
    checkpoint_size: u64,
    #[serde(flatten)]
    witness: WitnessInfo,
}

pub async fn status<S: KvStore>(State(state): State<AppState<S>>) -> Json<Status> {
    let published = state.view.published();
    let logs: Vec<LogStatus> = state
        .logs
        .iter()
        .map(|log| {
            let published = log.view.published();
            LogStatus {
                info: log.info.clone(),
                size: published.size,
                checkpoint_size: published.checkpoint_size,
                witness: log.witness.get(),
            }
        })
        .collect();
    let alerts = logs
        .iter()
        .filter(|log| log.witness.split_view.is_some())
        .map(|log| {
            format!(
                "split view: {} ({}) signed two checkpoints that cannot both be true",
                log.info.origin, log.info.operator
            )
        })
        .collect();
    Json(Status {
        log: state.log.clone(),
        network: state.network.to_hex(),
        size: published.size,
        root: published.root.to_base64(),
        checkpoint_size: published.checkpoint_size,
        logs,
        peers: state.peers.get(),
        net: state.peers.net(),
        alerts,
    })
}

#[cfg(test)]
mod tests {
    use super::tile_within;

    #[test]
    fn tile_bounds() {
        assert!(tile_within(0, 0, 256, 256));
        assert!(
            tile_within(0, 0, 255, 256),
            "a partial tile of an older size"
        );
        assert!(tile_within(0, 1, 4, 260));
        assert!(!tile_within(0, 1, 5, 260));
        assert!(!tile_within(0, 2, 1, 260));
        assert!(tile_within(1, 0, 1, 256));
        assert!(!tile_within(1, 0, 1, 255));
        assert!(!tile_within(0, 0, 1, 0));
    }
}
