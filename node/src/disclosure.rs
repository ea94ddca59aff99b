//! Evidence disclosure between members: this node's custody answers regulators and eMSPs that
//! ask for one of its sessions, and this node asks other operators for theirs.
//!
//! A regulator's request is recorded on the operator's log (`evidence_disclosed`, without
//! personal data) before the key leaves; an eMSP gets only the sessions its own tokens
//! authorised, and that is not logged (it is the roaming contract's normal data flow).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use kvitto_core::entry::EvidenceDisclosure;
use kvitto_core::keys::SessionId;
use kvitto_net::{Membership, NetHandle, Role};
use kvitto_replica::protocol::{Request, Response};
use kvitto_replica::EvidenceAsk;
use kvitto_service::custody::{self, CustodyError};
use kvitto_service::{Clock, DisclosedEvidence, EvidenceSource, SequencerHandle, SystemClock};
use kvitto_store::{LogStore, RocksStore};
use tokio::sync::mpsc;

/// Answers evidence requests that the replica authorised by role, until the channel closes.
pub async fn serve(
    mut asks: mpsc::Receiver<EvidenceAsk>,
    store: Arc<LogStore<RocksStore>>,
    origin: String,
    sequencer: SequencerHandle,
) {
    while let Some(ask) = asks.recv().await {
        let response = answer(&ask, &store, &origin, &sequencer).await;
        if let Response::Error { code, .. } = &response {
            tracing::info!(requester = %ask.requester, code, "evidence request refused");
        }
        let _ = ask.reply.send(response);
    }
}

async fn answer(
    ask: &EvidenceAsk,
    store: &Arc<LogStore<RocksStore>>,
    origin: &str,
    sequencer: &SequencerHandle,
) -> Response {
    let session = SessionId(ask.session);
    let regulator = match ask.role {
        Role::Regulator => true,
        Role::Emsp | Role::Both => false,
        Role::Cpo => return not_authorised(),
    };
    let lookup = open(store, origin, session).await;
    let (evidence, bundle) = match lookup {
        Ok(found) => found,
        // Only a regulator learns whether a session exists or was erased; an eMSP asking about
        // sessions that are not its own learns nothing.
        Err(response) if regulator => return response,
        Err(_) => return not_authorised(),
    };
    if regulator {
        let disclosure = EvidenceDisclosure {
            session,
            record_index: evidence.index,
            recipient: ask.requester.clone(),
            case_ref: ask.case_ref.clone(),
            disclosed_at_ms: SystemClock.now_ms(),
        };
        // On the log first: a disclosure nobody can see never happens.
        if let Err(e) = sequencer.disclose(disclosure).await {
            return Response::error(
                "not_recorded",
                format!("the disclosure could not be logged: {e}"),
            );
        }
        tracing::info!(requester = %ask.requester, index = evidence.index, "evidence disclosed to a regulator");
    } else {
        let emsp = bundle
            .token
            .as_ref()
            .map(|t| format!("{}*{}", t.country_code, t.party_id));
        if emsp.as_deref() != Some(ask.requester.as_str()) {
            return not_authorised();
        }
    }
    // Read the key again: an erasure queued before the disclosure has destroyed it by now.
    match open(store, origin, session).await {
        Ok((evidence, _)) => match evidence.key.as_ref().map(|k| k.to_bytes()) {
            Some(key) => Response::Evidence {
                index: evidence.index,
                key,
                sealed: evidence.sealed.to_bytes(),
            },
            None => Response::error("erased", "the person's key was erased"),
        },
        Err(response) => response,
    }
}

fn not_authorised() -> Response {
    Response::error(
        "not_authorised",
        "evidence goes only to regulators and to the eMSP whose token authorised the session",
    )
}

/// The session's evidence with its key, opened; or the error answer.
async fn open(
    store: &Arc<LogStore<RocksStore>>,
    origin: &str,
    session: SessionId,
) -> Result<(custody::Evidence, kvitto_receipt::EvidenceBundle), Response> {
    let (store, origin) = (store.clone(), origin.to_owned());
    let lookup = tokio::task::spawn_blocking(move || {
        let evidence = custody::evidence(&store, &origin, &session)?;
        let bundle = evidence.open()?;
        Ok::<_, CustodyError>((evidence, bundle))
    })
    .await;
    match lookup {
        Ok(Ok(found)) => Ok(found),
        Ok(Err(e)) => Err(Response::error(e.code(), e.to_string())),
        Err(e) => Err(Response::error("internal", e.to_string())),
    }
}

/// Asks the operator of a log, over the member network, for a session's evidence.
pub struct NetEvidence {
    pub net: NetHandle,
    pub membership: Arc<Membership>,
}

impl EvidenceSource for NetEvidence {
    fn fetch(
        &self,
        origin: String,
        session: SessionId,
        case_ref: String,
    ) -> Pin<Box<dyn Future<Output = Result<DisclosedEvidence, String>> + Send>> {
        let net = self.net.clone();
        let member = self.membership.member_by_origin(&origin).cloned();
        Box::pin(async move {
            let member = member.ok_or_else(|| format!("no member runs the log {origin}"))?;
            let request = Request::Evidence {
                origin,
                session: session.0,
                case_ref,
            };
            let bytes = net
                .request(member.peer_id, request.encode())
                .await
                .map_err(|e| format!("asking {}: {e}", member.operator))?;
            match Response::decode(&bytes)
                .map_err(|e| format!("{}'s answer: {e}", member.operator))?
            {
                Response::Evidence { index, key, sealed } => {
                    Ok(DisclosedEvidence { index, key, sealed })
                }
                Response::Error { code, message } => {
                    Err(format!("{} refused ({code}): {message}", member.operator))
                }
                _ => Err(format!("{} answered with something else", member.operator)),
            }
        })
    }
}
