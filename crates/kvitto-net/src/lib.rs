//! kvitto's network layer: a closed, membership-defined libp2p network between operators.
//!
//! A network is a [`Membership`] file, pinned by the SHA-256 of its bytes. [`spawn`] starts a
//! tokio task that owns the libp2p `Swarm`; the application holds a [`NetHandle`] and reads
//! [`NetEvent`]s. Nothing of libp2p's machinery leaks out except `PeerId` and `Multiaddr`.
//!
//! # Transport
//!
//! TCP, Noise XX (the remote proves its Ed25519 peer id), Yamux. No open discovery: no Kademlia,
//! no mDNS, no peer exchange. Every [`limits::NetLimits::redial_interval`] the task dials each
//! member that is not connected at the addresses in the membership file, backing off
//! exponentially per member from [`limits::REDIAL_BACKOFF_MIN`] to
//! [`limits::REDIAL_BACKOFF_MAX`] after failures.
//!
//! # Protocols and who may use them
//!
//! `<v>` below is `/kvitto/<network>/<first 16 hex digits of the membership digest>`.
//!
//! | protocol | name | authorisation |
//! | --- | --- | --- |
//! | gating | - | a connection (either direction) is kept only if the remote peer id is another member (`allow_block_list`); at most [`limits::CONNECTIONS_PER_PEER_MAX`] per peer |
//! | identify | `/ipfs/id/1.0.0`, protocol version `<v>` | members only, by gating; a member whose protocol version differs runs another membership file: it is disconnected and its [`PeerStatus::last_error`] starts with `membership mismatch:` |
//! | ping | `/ipfs/ping/1.0.0` | members only, by gating; fills [`PeerStatus::rtt_ms`] |
//! | gossipsub | `/meshsub/1.0.0` to `/meshsub/1.3.0`, topic `<v>/witness/1` | members only, by gating; every message is signed by its author (strict validation), whose peer id must be a member other than this node, and is forwarded only after the application reports [`Verdict::Accept`] |
//! | request-response | `<v>/req/1` | members only, by gating, and checked again on every inbound request |
//!
//! Because `<v>` is part of the topic and the request protocol, nodes with different membership
//! files cannot exchange gossip or requests even before identify disconnects them.
//!
//! A member is [`NetEvent::Connected`] (and [`PeerStatus::connected`]) once identify has shown
//! the same membership, and [`NetEvent::Disconnected`] when its last connection closes.
//! [`NetHandle::request`] to a member that is not connected fails with
//! [`NetError::NotConnected`].
//!
//! # Gossip
//!
//! One topic carries the witness protocol's messages. A message id is the content id
//! [`gossip_message_id`] (blake3 under [`service::HASH_GOSSIP_ID`]), so the same bytes published
//! twice within gossipsub's duplicate window are one message ([`NetError::Duplicate`]). Payloads
//! are at most [`limits::GOSSIP_MESSAGE_SIZE_MAX`] bytes, the witness protocol's message limit.
//!
//! # Requests
//!
//! One frame each way: a 4-byte big-endian length, then the bytes ([`codec`]). Requests are at
//! most [`limits::REQUEST_SIZE_MAX`] bytes, responses at most [`limits::RESPONSE_SIZE_MAX`]; a
//! reader checks the length prefix before allocating. A round trip times out after
//! [`limits::REQUEST_TIMEOUT`]; at most [`limits::STREAMS_PER_CONNECTION_MAX`] streams run at
//! once on a connection and [`limits::OUTBOUND_REQUESTS_MAX`] requests wait at once.
//!
//! # Limits
//!
//! Every queue is bounded ([`limits`]). The swarm task never waits on the application: when the
//! event queue is full, a gossip message is dropped as if ignored and a request fails at the
//! requester. Key material is never logged.

pub mod codec;
pub mod limits;
pub mod membership;
pub mod service;

pub use libp2p::identity::Keypair;
pub use libp2p::{Multiaddr, PeerId};
pub use limits::NetLimits;
pub use membership::{render_membership, Member, MemberSpec, Membership, MembershipError, Role};
pub use service::{
    gossip_message_id, spawn, GossipId, NetConfig, NetError, NetEvent, NetHandle, NetStats,
    PeerStatus, Responder, Verdict,
};
