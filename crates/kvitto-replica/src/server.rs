//! Answers fetch requests from the logs this node serves. Blocking: call it off the async
//! runtime (`spawn_blocking`), it reads RocksDB.

use kvitto_core::entry::Entry;
use kvitto_service::{LogSet, ServedLog};
use kvitto_store::KvStore;
use kvitto_tlog::merkle::consistency_proof;
use kvitto_tlog::tiles::{self, TilePath};

use crate::limits::{ENTRIES_RESPONSE_BUDGET, TILE_LEN_MAX};
use crate::protocol::{Request, Response, ServedEntry};

/// The response to `request`, never more than the latest checkpoint of the log covers.
pub fn respond<S: KvStore>(logs: &LogSet<S>, request: &Request) -> Response {
    let Some(log) = logs.by_origin(request.origin()) else {
        return Response::error(
            "unknown_log",
            format!("this node serves no log {:?}", request.origin()),
        );
    };
    match answer(log, request) {
        Ok(response) => response,
        Err(response) => response,
    }
}

fn answer<S: KvStore>(log: &ServedLog<S>, request: &Request) -> Result<Response, Response> {
    let published = log.view.published();
    let size = published.checkpoint_size;
    let internal = |e: &dyn std::fmt::Display| Response::error("internal", e.to_string());
    match request {
        Request::Checkpoint { .. } => {
            // With the cosignatures collected for it, so a peer that missed their gossip (it
            // was down, or partitioned away) learns them by asking.
            let board = log.witness.get();
            let note = match board.cosigned {
                Some(cosigned) if board.cosigned_size == size && published.checkpoint.is_some() => {
                    Some(cosigned.as_bytes().to_vec())
                }
                _ => published.checkpoint.map(|note| note.as_ref().clone()),
            };
            Ok(Response::Checkpoint(note))
        }
        Request::Entries { start, count, .. } => {
            if *start >= size {
                return Err(Response::error(
                    "beyond_checkpoint",
                    format!("entry {start} is beyond the latest checkpoint (size {size})"),
                ));
            }
            let end = size.min(start.saturating_add(u64::from(*count)));
            let raw = log
                .store
                .entries(*start, (end - start) as usize)
                .map_err(|e| internal(&e))?;
            let mut entries = Vec::with_capacity(raw.len());
            let mut bytes = 0usize;
            for entry in raw {
                let readings = match Entry::decode(&entry) {
                    Ok(Entry::SessionClosed(record)) => log
                        .store
                        .readings(&record.key_id, record.first_counter, record.last_counter)
                        .map_err(|e| internal(&e))?,
                    Ok(_) => Vec::new(),
                    Err(e) => return Err(internal(&e)),
                };
                bytes += entry.len() + readings.len() * kvitto_core::reading::SIGNED_LEN;
                entries.push(ServedEntry { entry, readings });
                if bytes >= ENTRIES_RESPONSE_BUDGET {
                    break;
                }
            }
            Ok(Response::Entries {
                start: *start,
                entries,
            })
        }
        Request::Consistency { first, second, .. } => {
            if first > second || *second > size {
                return Err(Response::error(
                    "size_out_of_range",
                    format!("need first <= second <= {size} (the latest checkpoint)"),
                ));
            }
            if *first == 0 || first == second {
                return Ok(Response::Proof(Vec::new()));
            }
            consistency_proof(&log.store.tree(), *first, *second)
                .map(Response::Proof)
                .map_err(|e| internal(&e))
        }
        // The replica's main loop routes evidence requests to the node's custody, never here.
        Request::Evidence { .. } => Err(Response::error(
            "not_authorised",
            "evidence requests are answered by the log's operator only",
        )),
        Request::Tile { path, .. } => {
            let parsed = tiles::parse_path(path)
                .map_err(|e| Response::error("bad_tile_path", e.to_string()))?;
            let beyond = || {
                Response::error(
                    "beyond_checkpoint",
                    format!("{path} is beyond the latest checkpoint (size {size})"),
                )
            };
            let bytes = match parsed {
                TilePath::Tile(tile) => {
                    let last_node = (tile.index() * 256 + u64::from(tile.width()))
                        << (u32::from(tile.level()) * 8);
                    if tile.level() > 7 || last_node > size {
                        return Err(beyond());
                    }
                    tiles::read_tile(&log.store.tree(), tile).map_err(|e| internal(&e))?
                }
                TilePath::Bundle(bundle) => {
                    let range = bundle.leaf_range();
                    if range.end > size {
                        return Err(beyond());
                    }
                    let entries = log
                        .store
                        .entries(range.start, (range.end - range.start) as usize)
                        .map_err(|e| internal(&e))?;
                    tiles::encode_bundle(&entries).map_err(|e| internal(&e))?
                }
            };
            if bytes.len() > TILE_LEN_MAX {
                return Err(Response::error(
                    "tile_too_large",
                    "the bundle exceeds the response limit; fetch entries instead",
                ));
            }
            Ok(Response::Tile(bytes))
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::sync::Arc;

    use kvitto_core::entry::ChargerRegistration;
    use kvitto_core::NetworkId;
    use kvitto_ledger::{IngestConfig, Ledger};
    use kvitto_service::{LogInfo, LogKind, LogView, Published, WitnessBoard};
    use kvitto_store::{Batch, LogStore, MemoryStore};
    use kvitto_tlog::merkle::Frontier;

    use super::*;

    const ORIGIN: &str = "kvitto/t/se-a";

    /// A log of three registrations, of which the latest checkpoint covers two.
    fn logs() -> LogSet<MemoryStore> {
        let store = Arc::new(LogStore::open(MemoryStore::new()).unwrap());
        let mut ledger = Ledger::new(NetworkId::of_name("t"), ORIGIN, IngestConfig::default());
        let mut frontier = Frontier::new();
        let mut batch = Batch::default();
        for i in 0..3u8 {
            let key = ed25519_dalek::SigningKey::from_bytes(&[i + 1; 32]);
            let registration = ChargerRegistration {
                public_key: key.verifying_key().to_bytes(),
                evse_id: format!("SE*A*E{i}"),
                meter_serial: format!("M{i}"),
                max_power_w: 22_000,
                valid_from_ms: 1_000,
                tariff_id: None,
            };
            let effects = ledger.register_charger(registration, 1_000).unwrap();
            store.stage(&mut batch, &mut frontier, &effects).unwrap();
        }
        store.write(batch).unwrap();
        let root = kvitto_tlog::merkle::root(&store.tree(), 2).unwrap();
        let view = LogView::new(
            Published {
                size: 3,
                root: frontier.root(),
                checkpoint: Some(Arc::new(
                    format!("{ORIGIN}\n2\n{}\n", root.to_base64()).into_bytes(),
                )),
                checkpoint_size: 2,
            },
            HashMap::new(),
        );
        LogSet::new(ServedLog {
            info: LogInfo {
                id: "se-a".into(),
                origin: ORIGIN.into(),
                verifier_key: "k".into(),
                prefix: "/log/se-a".into(),
                operator: "SE*A".into(),
                kind: LogKind::Own,
            },
            store,
            view,
            witness: WitnessBoard::default(),
        })
    }

    fn code(response: Response) -> String {
        match response {
            Response::Error { code, .. } => code,
            other => panic!("expected an error, got {other:?}"),
        }
    }

    #[test]
    fn answers_stop_at_the_latest_checkpoint() {
        let logs = logs();
        let origin = ORIGIN.to_owned();
        let Response::Entries { start, entries } = respond(
            &logs,
            &Request::Entries {
                origin: origin.clone(),
                start: 0,
                count: 1024,
            },
        ) else {
            panic!("entries expected");
        };
        assert_eq!(
            (start, entries.len()),
            (0, 2),
            "the third entry is not checkpointed"
        );
        assert!(entries.iter().all(|e| e.readings.is_empty()));
        assert_eq!(
            respond(
                &logs,
                &Request::Consistency {
                    origin: origin.clone(),
                    first: 0,
                    second: 2
                }
            ),
            Response::Proof(Vec::new())
        );
        let Response::Tile(tile) = respond(
            &logs,
            &Request::Tile {
                origin: origin.clone(),
                path: "tile/0/000.p/2".into(),
            },
        ) else {
            panic!("tile expected");
        };
        assert_eq!(tile.len(), 64);
        let Response::Checkpoint(Some(note)) = respond(&logs, &Request::Checkpoint { origin })
        else {
            panic!("checkpoint expected");
        };
        assert!(note.starts_with(ORIGIN.as_bytes()));
    }

    #[test]
    fn bad_requests_get_specific_errors() {
        let logs = logs();
        let o = || ORIGIN.to_owned();
        let cases = [
            (
                Request::Checkpoint {
                    origin: "kvitto/t/other".into(),
                },
                "unknown_log",
            ),
            (
                Request::Entries {
                    origin: o(),
                    start: 2,
                    count: 1,
                },
                "beyond_checkpoint",
            ),
            (
                Request::Consistency {
                    origin: o(),
                    first: 2,
                    second: 1,
                },
                "size_out_of_range",
            ),
            (
                Request::Consistency {
                    origin: o(),
                    first: 1,
                    second: 3,
                },
                "size_out_of_range",
            ),
            (
                Request::Tile {
                    origin: o(),
                    path: "tile/0/0000".into(),
                },
                "bad_tile_path",
            ),
            (
                Request::Tile {
                    origin: o(),
                    path: "tile/0/000.p/3".into(),
                },
                "beyond_checkpoint",
            ),
            (
                Request::Tile {
                    origin: o(),
                    path: "tile/entries/000.p/3".into(),
                },
                "beyond_checkpoint",
            ),
        ];
        for (request, expected) in cases {
            assert_eq!(code(respond(&logs, &request)), expected, "{request:?}");
        }
    }
}
