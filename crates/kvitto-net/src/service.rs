//! The swarm task and its handle. The libp2p `Swarm` lives only inside the task spawned by
//! [`spawn`]; the application talks to it through [`NetHandle`] and hears from it through the
//! [`NetEvent`] receiver.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use libp2p::allow_block_list::{self, AllowedPeers};
use libp2p::connection_limits::{self, ConnectionLimits};
use libp2p::gossipsub::{
    self, IdentTopic, IdentityTransform, MessageAcceptance, MessageAuthenticity, MessageId,
    PublishError, ValidationMode, WhitelistSubscriptionFilter,
};
use libp2p::identity::Keypair;
use libp2p::request_response::{self, OutboundFailure, OutboundRequestId, ProtocolSupport};
use libp2p::swarm::dial_opts::{DialOpts, PeerCondition};
use libp2p::swarm::{DialError, NetworkBehaviour, SwarmEvent};
use libp2p::{identify, noise, ping, tcp, yamux, Multiaddr, PeerId, StreamProtocol, Swarm};
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;

use crate::codec::{frame_too_large, BytesCodec, FrameKind};
use crate::limits::{
    NetLimits, COMMAND_QUEUE_LEN, CONNECTIONS_PER_MEMBER_MAX, CONNECTIONS_PER_PEER_MAX,
    EVENT_QUEUE_LEN, GOSSIP_MESSAGE_SIZE_MAX, OUTBOUND_REQUESTS_MAX,
    PENDING_INCOMING_PER_MEMBER_MAX, REPLY_QUEUE_LEN, REQUEST_SIZE_MAX, RESPONSE_SIZE_MAX,
    STREAMS_PER_CONNECTION_MAX,
};
use crate::membership::Membership;

/// blake3 `derive_key` context of gossip message ids (the content id of the payload).
pub use kvitto_core::domain::HASH_GOSSIP_ID;

/// How [`PeerStatus::last_error`] starts when a member runs another membership file.
pub const MISMATCH_PREFIX: &str = "membership mismatch: ";

/// Room in a gossipsub frame for what surrounds the payload: topic, author, sequence number,
/// signature, public key and protobuf framing.
const GOSSIP_ENVELOPE_SIZE_MAX: usize = 4 * 1024;

/// Mesh parameters for networks of 3 to 10 members (gossipsub's D_out, D_lo, D, D_high, D_lazy).
const MESH_OUTBOUND_MIN: usize = 1;
const MESH_N_LOW: usize = 2;
const MESH_N: usize = 4;
const MESH_N_HIGH: usize = 8;
const GOSSIP_LAZY: usize = 4;
const _: () = assert!(MESH_OUTBOUND_MIN <= MESH_N_LOW && MESH_N_LOW <= MESH_N);
const _: () = assert!(MESH_N <= MESH_N_HIGH && MESH_OUTBOUND_MIN * 2 <= MESH_N);

/// The content id of a gossip payload.
pub fn gossip_message_id(data: &[u8]) -> [u8; 32] {
    *blake3::Hasher::new_derive_key(HASH_GOSSIP_ID)
        .update(data)
        .finalize()
        .as_bytes()
}

/// Why a network operation failed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum NetError {
    #[error("peer {0} is not a member of the network")]
    NotAMember(PeerId),
    #[error("peer is not connected, or no connected member is subscribed to the witness topic")]
    NotConnected,
    #[error("request timed out")]
    Timeout,
    #[error("request is larger than {max} bytes", max = REQUEST_SIZE_MAX)]
    RequestTooLarge,
    #[error("response is larger than {max} bytes", max = RESPONSE_SIZE_MAX)]
    ResponseTooLarge,
    #[error("gossip message is larger than {max} bytes", max = GOSSIP_MESSAGE_SIZE_MAX)]
    MessageTooLarge,
    #[error("this gossip message was already published or seen recently")]
    Duplicate,
    #[error("connection closed before the response arrived")]
    ConnectionClosed,
    #[error("peer closed the stream without a response")]
    NoResponse,
    #[error("too many requests are waiting for a response")]
    Overloaded,
    #[error("protocol error: {0}")]
    Protocol(String),
    #[error("transport error: {0}")]
    Transport(String),
    #[error("the network task has shut down")]
    Shutdown,
}

/// What the application decided about a gossip message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Valid: forward it to the other members.
    Accept,
    /// Invalid: drop it and do not forward it.
    Reject,
    /// Not useful (e.g. already known by other means): drop it without blaming the sender.
    Ignore,
}

/// Names one received gossip message for [`NetHandle::report`].
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct GossipId {
    message_id: MessageId,
    /// The peer that delivered it, which gossipsub does not forward it back to.
    propagation_source: PeerId,
    /// Payload bytes, counted in [`NetStats::gossip_forwarded_bytes`] if it is forwarded.
    len: usize,
}

impl GossipId {
    /// The message's content id (see [`gossip_message_id`]).
    pub fn as_bytes(&self) -> &[u8] {
        &self.message_id.0
    }
}

/// The answer to one inbound request; dropping it without [`Responder::send`] fails the
/// request at the requester.
#[derive(Debug)]
pub struct Responder {
    channel: request_response::ResponseChannel<Vec<u8>>,
    replies: mpsc::Sender<Reply>,
}

impl Responder {
    /// Sends the response. One above [`RESPONSE_SIZE_MAX`] is not sent: the requester fails
    /// with [`NetError::ResponseTooLarge`].
    pub fn send(self, data: Vec<u8>) {
        let reply = Reply::Response {
            channel: self.channel,
            data,
        };
        if self.replies.try_send(reply).is_err() {
            tracing::warn!("reply queue is full or closed, response dropped");
        }
    }
}

/// What the network tells the application.
#[derive(Debug)]
pub enum NetEvent {
    /// A gossip message from `source`, a member, which signed it. The application must call
    /// [`NetHandle::report`] for each: nothing is forwarded before it reports `Accept`.
    Gossip {
        id: GossipId,
        source: PeerId,
        data: Vec<u8>,
    },
    /// A request from a member.
    Request {
        peer: PeerId,
        data: Vec<u8>,
        reply: Responder,
    },
    /// A member is connected and runs the same membership (identify matched).
    Connected(PeerId),
    /// A member that was `Connected` has no connection left.
    Disconnected(PeerId),
}

/// One other member, as this node sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PeerStatus {
    pub peer_id: PeerId,
    pub operator: String,
    /// Connected, and identify showed the same membership.
    pub connected: bool,
    /// The latest ping round trip.
    pub rtt_ms: Option<u64>,
    /// Subscribed to the witness topic, as gossipsub has heard: publishing reaches it directly.
    pub subscribed: bool,
    /// The latest dial failure or membership mismatch; cleared when the member connects.
    pub last_error: Option<String>,
}

/// What this node's network layer sent and received since it started: messages and payload
/// bytes (gossip payloads and request/response frames, without libp2p's envelopes, Noise and
/// Yamux framing). Gossip received counts each message once: gossipsub drops duplicates before
/// they reach the application.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct NetStats {
    /// Messages this node published (its own checkpoints, cosignatures, evidence).
    pub gossip_published: u64,
    pub gossip_published_bytes: u64,
    /// Messages delivered to the application (first copies only).
    pub gossip_received: u64,
    pub gossip_received_bytes: u64,
    /// Received messages the application accepted, which gossipsub then forwards to the mesh
    /// peers that have not sent it (counted once per message, not per recipient).
    pub gossip_forwarded: u64,
    pub gossip_forwarded_bytes: u64,
    pub requests_sent: u64,
    pub request_bytes_sent: u64,
    pub responses_received: u64,
    pub response_bytes_received: u64,
    pub requests_received: u64,
    pub request_bytes_received: u64,
    pub responses_sent: u64,
    pub response_bytes_sent: u64,
}

impl NetStats {
    /// Every counter by name, in declaration order.
    pub fn counters(&self) -> [(&'static str, u64); 14] {
        [
            ("gossip_published", self.gossip_published),
            ("gossip_published_bytes", self.gossip_published_bytes),
            ("gossip_received", self.gossip_received),
            ("gossip_received_bytes", self.gossip_received_bytes),
            ("gossip_forwarded", self.gossip_forwarded),
            ("gossip_forwarded_bytes", self.gossip_forwarded_bytes),
            ("requests_sent", self.requests_sent),
            ("request_bytes_sent", self.request_bytes_sent),
            ("responses_received", self.responses_received),
            ("response_bytes_received", self.response_bytes_received),
            ("requests_received", self.requests_received),
            ("request_bytes_received", self.request_bytes_received),
            ("responses_sent", self.responses_sent),
            ("response_bytes_sent", self.response_bytes_sent),
        ]
    }
}

/// The counters behind [`NetStats`], shared by the swarm task and its handles.
#[derive(Debug, Default)]
struct Counters {
    gossip_published: AtomicU64,
    gossip_published_bytes: AtomicU64,
    gossip_received: AtomicU64,
    gossip_received_bytes: AtomicU64,
    gossip_forwarded: AtomicU64,
    gossip_forwarded_bytes: AtomicU64,
    requests_sent: AtomicU64,
    request_bytes_sent: AtomicU64,
    responses_received: AtomicU64,
    response_bytes_received: AtomicU64,
    requests_received: AtomicU64,
    request_bytes_received: AtomicU64,
    responses_sent: AtomicU64,
    response_bytes_sent: AtomicU64,
}

impl Counters {
    /// Adds one message of `len` bytes to a message counter and its byte counter.
    fn count(messages: &AtomicU64, bytes: &AtomicU64, len: usize) {
        messages.fetch_add(1, Ordering::Relaxed);
        bytes.fetch_add(len as u64, Ordering::Relaxed);
    }

    fn snapshot(&self) -> NetStats {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        NetStats {
            gossip_published: get(&self.gossip_published),
            gossip_published_bytes: get(&self.gossip_published_bytes),
            gossip_received: get(&self.gossip_received),
            gossip_received_bytes: get(&self.gossip_received_bytes),
            gossip_forwarded: get(&self.gossip_forwarded),
            gossip_forwarded_bytes: get(&self.gossip_forwarded_bytes),
            requests_sent: get(&self.requests_sent),
            request_bytes_sent: get(&self.request_bytes_sent),
            responses_received: get(&self.responses_received),
            response_bytes_received: get(&self.response_bytes_received),
            requests_received: get(&self.requests_received),
            request_bytes_received: get(&self.request_bytes_received),
            responses_sent: get(&self.responses_sent),
            response_bytes_sent: get(&self.response_bytes_sent),
        }
    }
}

/// What [`spawn`] needs.
pub struct NetConfig {
    /// The node's ed25519 identity; its peer id must be a member.
    pub keypair: Keypair,
    pub listen: Vec<Multiaddr>,
    pub membership: Arc<Membership>,
    pub limits: NetLimits,
}

/// A cheap handle to the swarm task. The task stops on [`NetHandle::shutdown`] or when every
/// handle is dropped.
#[derive(Clone, Debug)]
pub struct NetHandle {
    local_peer_id: PeerId,
    commands: mpsc::Sender<Command>,
    replies: mpsc::Sender<Reply>,
    counters: Arc<Counters>,
}

#[derive(Debug)]
enum Command {
    Publish {
        data: Vec<u8>,
        done: oneshot::Sender<Result<(), NetError>>,
    },
    Request {
        peer: PeerId,
        data: Vec<u8>,
        done: oneshot::Sender<Result<Vec<u8>, NetError>>,
    },
    Peers(oneshot::Sender<Vec<PeerStatus>>),
    ListenAddrs(oneshot::Sender<Vec<Multiaddr>>),
    Shutdown(oneshot::Sender<()>),
}

#[derive(Debug)]
enum Reply {
    Verdict {
        id: GossipId,
        verdict: Verdict,
    },
    Response {
        channel: request_response::ResponseChannel<Vec<u8>>,
        data: Vec<u8>,
    },
}

impl NetHandle {
    pub fn local_peer_id(&self) -> PeerId {
        self.local_peer_id
    }

    /// Publishes `data` on the witness topic, signed by this node.
    pub async fn publish(&self, data: Vec<u8>) -> Result<(), NetError> {
        if data.len() > GOSSIP_MESSAGE_SIZE_MAX {
            return Err(NetError::MessageTooLarge);
        }
        let (done, result) = oneshot::channel();
        self.command(Command::Publish { data, done }).await?;
        result.await.map_err(|_| NetError::Shutdown)?
    }

    /// Sends a request to a connected member and waits for its response.
    pub async fn request(&self, peer: PeerId, data: Vec<u8>) -> Result<Vec<u8>, NetError> {
        if data.len() > REQUEST_SIZE_MAX {
            return Err(NetError::RequestTooLarge);
        }
        let (done, result) = oneshot::channel();
        self.command(Command::Request { peer, data, done }).await?;
        result.await.map_err(|_| NetError::Shutdown)?
    }

    /// Reports the application's verdict on a gossip message. `source` is the event's source.
    pub fn report(&self, id: GossipId, source: PeerId, verdict: Verdict) {
        tracing::trace!(%source, ?verdict, "gossip verdict");
        if self
            .replies
            .try_send(Reply::Verdict { id, verdict })
            .is_err()
        {
            tracing::warn!(%source, "reply queue is full or closed, verdict dropped");
        }
    }

    /// Every other member, in membership order; empty once the task has stopped.
    pub async fn peers(&self) -> Vec<PeerStatus> {
        let (done, result) = oneshot::channel();
        if self.command(Command::Peers(done)).await.is_err() {
            return Vec::new();
        }
        result.await.unwrap_or_default()
    }

    /// The addresses the node listens on (with the actual ports); empty once stopped.
    pub async fn listen_addrs(&self) -> Vec<Multiaddr> {
        let (done, result) = oneshot::channel();
        if self.command(Command::ListenAddrs(done)).await.is_err() {
            return Vec::new();
        }
        result.await.unwrap_or_default()
    }

    /// What the node sent and received since the network started.
    pub fn stats(&self) -> NetStats {
        self.counters.snapshot()
    }

    /// Stops the swarm task and waits until its listeners and connections are closed.
    pub async fn shutdown(&self) {
        let (done, result) = oneshot::channel();
        if self.command(Command::Shutdown(done)).await.is_ok() {
            let _ = result.await;
        }
    }

    async fn command(&self, command: Command) -> Result<(), NetError> {
        self.commands
            .send(command)
            .await
            .map_err(|_| NetError::Shutdown)
    }
}

#[derive(NetworkBehaviour)]
struct Behaviour {
    allowed: allow_block_list::Behaviour<AllowedPeers>,
    limits: connection_limits::Behaviour,
    identify: identify::Behaviour,
    ping: ping::Behaviour,
    gossipsub: gossipsub::Behaviour<IdentityTransform, WhitelistSubscriptionFilter>,
    request_response: request_response::Behaviour<BytesCodec>,
}

/// Starts the swarm task. Must be called within a tokio runtime.
pub fn spawn(config: NetConfig) -> Result<(NetHandle, mpsc::Receiver<NetEvent>), NetError> {
    let NetConfig {
        keypair,
        listen,
        membership,
        limits,
    } = config;
    let local_peer_id = keypair.public().to_peer_id();
    if membership.member_by_peer(&local_peer_id).is_none() {
        return Err(NetError::NotAMember(local_peer_id));
    }
    let topic = IdentTopic::new(membership.witness_topic());
    let mut swarm = build_swarm(keypair, &membership, &limits, &topic)?;
    for address in listen {
        swarm
            .listen_on(address.clone())
            .map_err(|e| NetError::Transport(format!("cannot listen on {address}: {e}")))?;
    }
    swarm
        .behaviour_mut()
        .gossipsub
        .subscribe(&topic)
        .map_err(|e| NetError::Protocol(format!("cannot subscribe to the witness topic: {e}")))?;

    let (command_tx, command_rx) = mpsc::channel(COMMAND_QUEUE_LEN);
    let (reply_tx, reply_rx) = mpsc::channel(REPLY_QUEUE_LEN);
    let (event_tx, event_rx) = mpsc::channel(EVENT_QUEUE_LEN);
    let now = Instant::now();
    let peers = membership
        .members()
        .iter()
        .filter(|m| m.peer_id != local_peer_id)
        .map(|m| {
            let state = PeerState {
                connections: 0,
                verified: false,
                dialing: false,
                rtt_ms: None,
                last_error: None,
                backoff: limits.redial_backoff_min,
                next_dial: now,
            };
            (m.peer_id, state)
        })
        .collect();
    let protocol_version = membership.protocol_version();
    let counters = Arc::new(Counters::default());
    let task = Task {
        swarm,
        membership,
        local_peer_id,
        topic,
        protocol_version,
        limits,
        events: event_tx,
        replies: reply_tx.clone(),
        peers,
        pending: HashMap::new(),
        counters: counters.clone(),
    };
    tracing::info!(peer_id = %local_peer_id, network = task.membership.network(), "network starting");
    tokio::spawn(task.run(command_rx, reply_rx));
    let handle = NetHandle {
        local_peer_id,
        commands: command_tx,
        replies: reply_tx,
        counters,
    };
    Ok((handle, event_rx))
}

fn build_swarm(
    keypair: Keypair,
    membership: &Membership,
    limits: &NetLimits,
    topic: &IdentTopic,
) -> Result<Swarm<Behaviour>, NetError> {
    let local_peer_id = keypair.public().to_peer_id();
    let members = u32::try_from(membership.members().len()).unwrap_or(u32::MAX);
    let request_protocol = StreamProtocol::try_from_owned(membership.request_protocol())
        .map_err(|e| NetError::Protocol(format!("invalid request protocol name: {e}")))?;

    let mut allowed = allow_block_list::Behaviour::<AllowedPeers>::default();
    for member in membership.members() {
        if member.peer_id != local_peer_id {
            allowed.allow_peer(member.peer_id);
        }
    }
    let connection_limits = ConnectionLimits::default()
        .with_max_established_per_peer(Some(CONNECTIONS_PER_PEER_MAX))
        .with_max_established(Some(CONNECTIONS_PER_MEMBER_MAX.saturating_mul(members)))
        .with_max_pending_incoming(Some(
            PENDING_INCOMING_PER_MEMBER_MAX.saturating_mul(members),
        ))
        .with_max_pending_outgoing(Some(members));

    let gossip_config = gossipsub::ConfigBuilder::default()
        .validation_mode(ValidationMode::Strict)
        .validate_messages()
        .message_id_fn(|message| MessageId::from(gossip_message_id(&message.data).to_vec()))
        .max_transmit_size(GOSSIP_MESSAGE_SIZE_MAX + GOSSIP_ENVELOPE_SIZE_MAX)
        .heartbeat_interval(limits.gossip_heartbeat_interval)
        .mesh_outbound_min(MESH_OUTBOUND_MIN)
        .mesh_n_low(MESH_N_LOW)
        .mesh_n(MESH_N)
        .mesh_n_high(MESH_N_HIGH)
        .gossip_lazy(GOSSIP_LAZY)
        .flood_publish(true)
        .build()
        .map_err(|e| NetError::Protocol(format!("invalid gossipsub config: {e}")))?;
    let gossipsub = gossipsub::Behaviour::new_with_subscription_filter(
        MessageAuthenticity::Signed(keypair.clone()),
        gossip_config,
        WhitelistSubscriptionFilter(HashSet::from([topic.hash()])),
    )
    .map_err(|e| NetError::Protocol(format!("cannot start gossipsub: {e}")))?;

    let identify = identify::Behaviour::new(
        identify::Config::new(membership.protocol_version(), keypair.public())
            .with_agent_version(format!("kvitto-net/{}", env!("CARGO_PKG_VERSION")))
            .with_push_listen_addr_updates(false),
    );
    let ping = ping::Behaviour::new(
        ping::Config::new()
            .with_interval(limits.ping_interval)
            .with_timeout(limits.ping_timeout),
    );
    let request_response = request_response::Behaviour::with_codec(
        BytesCodec,
        [(request_protocol, ProtocolSupport::Full)],
        request_response::Config::default()
            .with_request_timeout(limits.request_timeout)
            .with_max_concurrent_streams(STREAMS_PER_CONNECTION_MAX),
    );
    let behaviour = Behaviour {
        allowed,
        limits: connection_limits::Behaviour::new(connection_limits),
        identify,
        ping,
        gossipsub,
        request_response,
    };

    let swarm = libp2p::SwarmBuilder::with_existing_identity(keypair)
        .with_tokio()
        .with_tcp(
            tcp::Config::default().nodelay(true),
            noise::Config::new,
            yamux::Config::default,
        )
        .map_err(|e| NetError::Transport(format!("cannot set up tcp: {e}")))?
        .with_behaviour(|_| behaviour)
        .map_err(|e| NetError::Transport(format!("cannot set up the behaviour: {e}")))?
        .with_swarm_config(|c| c.with_idle_connection_timeout(limits.idle_connection_timeout))
        .with_connection_timeout(limits.dial_timeout)
        .build();
    Ok(swarm)
}

struct PeerState {
    /// Established connections, as the swarm counts them.
    connections: u32,
    /// Identify showed the same membership on one of the connections.
    verified: bool,
    dialing: bool,
    rtt_ms: Option<u64>,
    last_error: Option<String>,
    backoff: Duration,
    next_dial: Instant,
}

struct Task {
    swarm: Swarm<Behaviour>,
    membership: Arc<Membership>,
    local_peer_id: PeerId,
    topic: IdentTopic,
    protocol_version: String,
    limits: NetLimits,
    events: mpsc::Sender<NetEvent>,
    replies: mpsc::Sender<Reply>,
    /// Every other member.
    peers: HashMap<PeerId, PeerState>,
    /// Outbound requests waiting for a response, at most [`OUTBOUND_REQUESTS_MAX`].
    pending: HashMap<OutboundRequestId, oneshot::Sender<Result<Vec<u8>, NetError>>>,
    counters: Arc<Counters>,
}

impl Task {
    async fn run(
        mut self,
        mut commands: mpsc::Receiver<Command>,
        mut replies: mpsc::Receiver<Reply>,
    ) {
        let mut redial = tokio::time::interval(self.limits.redial_interval);
        redial.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let shutdown_ack = loop {
            tokio::select! {
                event = self.swarm.select_next_some() => self.on_swarm_event(event),
                command = commands.recv() => match command {
                    Some(Command::Shutdown(ack)) => break Some(ack),
                    Some(command) => self.on_command(command),
                    None => break None,
                },
                Some(reply) = replies.recv() => self.on_reply(reply),
                _ = redial.tick() => self.redial(),
            }
        };
        tracing::info!(peer_id = %self.local_peer_id, "network stopping");
        for (_, done) in self.pending.drain() {
            let _ = done.send(Err(NetError::Shutdown));
        }
        // Dropping the swarm closes its listeners and connections.
        drop(self);
        if let Some(ack) = shutdown_ack {
            let _ = ack.send(());
        }
    }

    fn on_command(&mut self, command: Command) {
        match command {
            Command::Publish { data, done } => {
                let len = data.len();
                let result = self
                    .swarm
                    .behaviour_mut()
                    .gossipsub
                    .publish(self.topic.clone(), data)
                    .map(|_| ())
                    .map_err(|e| match e {
                        PublishError::Duplicate => NetError::Duplicate,
                        PublishError::NoPeersSubscribedToTopic => NetError::NotConnected,
                        PublishError::MessageTooLarge => NetError::MessageTooLarge,
                        other => NetError::Protocol(format!("gossip publish failed: {other}")),
                    });
                if result.is_ok() {
                    let c = &self.counters;
                    Counters::count(&c.gossip_published, &c.gossip_published_bytes, len);
                }
                let _ = done.send(result);
            }
            Command::Request { peer, data, done } => {
                let len = data.len();
                let result = self.start_request(peer, data);
                match result {
                    Ok(id) => {
                        let c = &self.counters;
                        Counters::count(&c.requests_sent, &c.request_bytes_sent, len);
                        self.pending.insert(id, done);
                    }
                    Err(e) => {
                        let _ = done.send(Err(e));
                    }
                }
            }
            Command::Peers(done) => {
                let _ = done.send(self.peer_statuses());
            }
            Command::ListenAddrs(done) => {
                let _ = done.send(self.swarm.listeners().cloned().collect());
            }
            Command::Shutdown(_) => {} // handled by the loop
        }
    }

    fn start_request(
        &mut self,
        peer: PeerId,
        data: Vec<u8>,
    ) -> Result<OutboundRequestId, NetError> {
        let Some(state) = self.peers.get(&peer) else {
            return Err(NetError::NotAMember(peer));
        };
        if !state.verified {
            return Err(NetError::NotConnected);
        }
        if self.pending.len() >= OUTBOUND_REQUESTS_MAX {
            return Err(NetError::Overloaded);
        }
        Ok(self
            .swarm
            .behaviour_mut()
            .request_response
            .send_request(&peer, data))
    }

    fn peer_statuses(&self) -> Vec<PeerStatus> {
        let topic = self.topic.hash();
        let subscribed: HashSet<PeerId> = self
            .swarm
            .behaviour()
            .gossipsub
            .all_peers()
            .filter(|(_, topics)| topics.contains(&&topic))
            .map(|(peer, _)| *peer)
            .collect();
        self.membership
            .members()
            .iter()
            .filter_map(|member| {
                let state = self.peers.get(&member.peer_id)?;
                Some(PeerStatus {
                    peer_id: member.peer_id,
                    operator: member.operator.clone(),
                    connected: state.verified,
                    rtt_ms: state.rtt_ms,
                    subscribed: subscribed.contains(&member.peer_id),
                    last_error: state.last_error.clone(),
                })
            })
            .collect()
    }

    fn on_reply(&mut self, reply: Reply) {
        match reply {
            Reply::Verdict { id, verdict } => {
                let acceptance = match verdict {
                    Verdict::Accept => MessageAcceptance::Accept,
                    Verdict::Reject => MessageAcceptance::Reject,
                    Verdict::Ignore => MessageAcceptance::Ignore,
                };
                let forwarded = self
                    .swarm
                    .behaviour_mut()
                    .gossipsub
                    .report_message_validation_result(
                        &id.message_id,
                        &id.propagation_source,
                        acceptance,
                    );
                if forwarded && verdict == Verdict::Accept {
                    let c = &self.counters;
                    Counters::count(&c.gossip_forwarded, &c.gossip_forwarded_bytes, id.len);
                }
            }
            Reply::Response { channel, data } => {
                let c = &self.counters;
                Counters::count(&c.responses_sent, &c.response_bytes_sent, data.len());
                if self
                    .swarm
                    .behaviour_mut()
                    .request_response
                    .send_response(channel, data)
                    .is_err()
                {
                    tracing::debug!("response not sent: the request is gone");
                }
            }
        }
    }

    /// Dials every member that is not connected, has an address, and is past its backoff.
    fn redial(&mut self) {
        let now = Instant::now();
        for member in self.membership.members() {
            let Some(state) = self.peers.get_mut(&member.peer_id) else {
                continue; // this node
            };
            if state.connections > 0
                || state.dialing
                || member.addresses.is_empty()
                || now < state.next_dial
            {
                continue;
            }
            let opts = DialOpts::peer_id(member.peer_id)
                .addresses(member.addresses.clone())
                .condition(PeerCondition::DisconnectedAndNotDialing)
                .build();
            tracing::debug!(peer_id = %member.peer_id, operator = %member.operator, "dialling member");
            match self.swarm.dial(opts) {
                Ok(()) => state.dialing = true,
                // A connection or dial is already under way (e.g. the member is dialling us).
                Err(DialError::DialPeerConditionFalse(_)) => {}
                Err(e) => {
                    tracing::debug!(peer_id = %member.peer_id, error = %e, "dial not started");
                    state.last_error = Some(format!("dial failed: {e}"));
                    back_off(state, &self.limits, now);
                }
            }
        }
    }

    fn emit(&self, event: NetEvent) {
        match self.events.try_send(event) {
            Ok(()) => {}
            Err(mpsc::error::TrySendError::Full(NetEvent::Gossip { id, .. })) => {
                tracing::warn!("event queue is full, gossip message ignored");
                // Frees the message now instead of when it leaves gossipsub's cache.
                let _ = self.replies.try_send(Reply::Verdict {
                    id,
                    verdict: Verdict::Ignore,
                });
            }
            Err(mpsc::error::TrySendError::Full(event)) => {
                let kind = match event {
                    NetEvent::Gossip { .. } => "gossip",
                    NetEvent::Request { .. } => "request",
                    NetEvent::Connected(_) => "connected",
                    NetEvent::Disconnected(_) => "disconnected",
                };
                tracing::warn!(kind, "event queue is full, event dropped");
            }
            Err(mpsc::error::TrySendError::Closed(_)) => {
                tracing::debug!("event receiver is gone, event dropped");
            }
        }
    }

    fn on_swarm_event(&mut self, event: SwarmEvent<BehaviourEvent>) {
        match event {
            SwarmEvent::NewListenAddr { address, .. } => {
                tracing::info!(%address, "listening");
            }
            SwarmEvent::ConnectionEstablished {
                peer_id,
                num_established,
                endpoint,
                ..
            } => {
                tracing::debug!(%peer_id, address = %endpoint.get_remote_address(), "connection established");
                if let Some(state) = self.peers.get_mut(&peer_id) {
                    state.connections = num_established.get();
                    state.dialing = false;
                }
            }
            SwarmEvent::ConnectionClosed {
                peer_id,
                num_established,
                cause,
                ..
            } => {
                tracing::debug!(%peer_id, cause = ?cause.as_ref().map(ToString::to_string), "connection closed");
                let cause = cause.map(|c| c.to_string());
                let Some(state) = self.peers.get_mut(&peer_id) else {
                    return;
                };
                state.connections = num_established;
                if num_established > 0 {
                    return;
                }
                state.rtt_ms = None;
                let now = Instant::now();
                if state.verified {
                    state.verified = false;
                    state.next_dial = state.next_dial.max(now + self.limits.redial_backoff_min);
                    tracing::info!(%peer_id, "member disconnected");
                    self.emit(NetEvent::Disconnected(peer_id));
                } else {
                    // Closed before identify matched: the remote refused us (we are not in its
                    // membership) or runs another membership. That is a failed attempt.
                    let is_mismatch = state
                        .last_error
                        .as_deref()
                        .is_some_and(|e| e.starts_with(MISMATCH_PREFIX));
                    if !is_mismatch {
                        state.last_error = Some(match cause {
                            Some(cause) => format!("connection closed before identify: {cause}"),
                            None => "connection closed before identify".to_owned(),
                        });
                        back_off(state, &self.limits, now);
                    }
                }
            }
            SwarmEvent::OutgoingConnectionError { peer_id, error, .. } => {
                let Some(peer_id) = peer_id else { return };
                tracing::debug!(%peer_id, %error, "dial failed");
                if let Some(state) = self.peers.get_mut(&peer_id) {
                    state.dialing = false;
                    if state.connections == 0 {
                        state.last_error = Some(format!("dial failed: {error}"));
                        back_off(state, &self.limits, Instant::now());
                    }
                }
            }
            SwarmEvent::IncomingConnectionError {
                send_back_addr,
                error,
                ..
            } => {
                tracing::debug!(address = %send_back_addr, %error, "incoming connection refused");
            }
            SwarmEvent::Behaviour(event) => self.on_behaviour_event(event),
            _ => {}
        }
    }

    fn on_behaviour_event(&mut self, event: BehaviourEvent) {
        match event {
            BehaviourEvent::Identify(identify::Event::Received { peer_id, info, .. }) => {
                self.on_identify(peer_id, &info.protocol_version);
            }
            BehaviourEvent::Identify(identify::Event::Error { peer_id, error, .. }) => {
                tracing::debug!(%peer_id, %error, "identify failed");
            }
            BehaviourEvent::Identify(_) => {}
            BehaviourEvent::Ping(ping::Event {
                peer,
                connection,
                result,
            }) => match result {
                Ok(rtt) => {
                    if let Some(state) = self.peers.get_mut(&peer) {
                        state.rtt_ms = Some(u64::try_from(rtt.as_millis()).unwrap_or(u64::MAX));
                    }
                }
                Err(error) => {
                    // A silent link (cable cut, partition) leaves TCP retransmitting for minutes;
                    // close the connection so the redial loop opens a fresh one once the link
                    // is back.
                    tracing::debug!(peer_id = %peer, %error, "ping failed; closing the connection");
                    self.swarm.close_connection(connection);
                }
            },
            BehaviourEvent::Gossipsub(event) => self.on_gossip_event(event),
            BehaviourEvent::RequestResponse(event) => self.on_request_event(event),
            // Gating and limits emit nothing.
            BehaviourEvent::Allowed(never) => match never {},
            BehaviourEvent::Limits(never) => match never {},
        }
    }

    fn on_identify(&mut self, peer_id: PeerId, protocol_version: &str) {
        let Some(state) = self.peers.get_mut(&peer_id) else {
            return;
        };
        if protocol_version != self.protocol_version {
            tracing::info!(%peer_id, theirs = %protocol_version, ours = %self.protocol_version, "membership mismatch, disconnecting");
            state.last_error = Some(format!(
                "{MISMATCH_PREFIX}peer runs {protocol_version:?}, this node runs {:?}",
                self.protocol_version
            ));
            back_off(state, &self.limits, Instant::now());
            let was_verified = std::mem::replace(&mut state.verified, false);
            let _ = self.swarm.disconnect_peer_id(peer_id);
            if was_verified {
                self.emit(NetEvent::Disconnected(peer_id));
            }
            return;
        }
        if state.verified {
            return;
        }
        state.verified = true;
        state.last_error = None;
        state.backoff = self.limits.redial_backoff_min;
        let operator = self
            .membership
            .member_by_peer(&peer_id)
            .map(|m| m.operator.as_str())
            .unwrap_or_default();
        tracing::info!(%peer_id, %operator, "member connected");
        self.emit(NetEvent::Connected(peer_id));
    }

    fn on_gossip_event(&mut self, event: gossipsub::Event) {
        let gossipsub::Event::Message {
            propagation_source,
            message_id,
            message,
        } = event
        else {
            if let gossipsub::Event::SlowPeer { peer_id, .. } = event {
                tracing::debug!(%peer_id, "gossip peer is slow");
            }
            return;
        };
        let id = GossipId {
            message_id,
            propagation_source,
            len: message.data.len(),
        };
        let author = message.source.filter(|author| {
            *author != self.local_peer_id && self.membership.member_by_peer(author).is_some()
        });
        let Some(author) = author else {
            tracing::debug!(%propagation_source, "gossip from a non-member author rejected");
            self.on_reply(Reply::Verdict {
                id,
                verdict: Verdict::Reject,
            });
            return;
        };
        if message.topic != self.topic.hash() || message.data.len() > GOSSIP_MESSAGE_SIZE_MAX {
            tracing::debug!(%propagation_source, "gossip on a wrong topic or too large rejected");
            self.on_reply(Reply::Verdict {
                id,
                verdict: Verdict::Reject,
            });
            return;
        }
        let c = &self.counters;
        Counters::count(
            &c.gossip_received,
            &c.gossip_received_bytes,
            message.data.len(),
        );
        self.emit(NetEvent::Gossip {
            id,
            source: author,
            data: message.data,
        });
    }

    fn on_request_event(&mut self, event: request_response::Event<Vec<u8>, Vec<u8>>) {
        match event {
            request_response::Event::Message { peer, message, .. } => match message {
                request_response::Message::Request {
                    request, channel, ..
                } => {
                    // Gating admits only members; this is the second lock on the door.
                    if self.membership.member_by_peer(&peer).is_none() || peer == self.local_peer_id
                    {
                        tracing::warn!(%peer, "request from a non-member dropped");
                        return;
                    }
                    let c = &self.counters;
                    Counters::count(
                        &c.requests_received,
                        &c.request_bytes_received,
                        request.len(),
                    );
                    let reply = Responder {
                        channel,
                        replies: self.replies.clone(),
                    };
                    self.emit(NetEvent::Request {
                        peer,
                        data: request,
                        reply,
                    });
                }
                request_response::Message::Response {
                    request_id,
                    response,
                } => {
                    let c = &self.counters;
                    Counters::count(
                        &c.responses_received,
                        &c.response_bytes_received,
                        response.len(),
                    );
                    if let Some(done) = self.pending.remove(&request_id) {
                        let _ = done.send(Ok(response));
                    }
                }
            },
            request_response::Event::OutboundFailure {
                peer,
                request_id,
                error,
                ..
            } => {
                tracing::debug!(%peer, %error, "request failed");
                if let Some(done) = self.pending.remove(&request_id) {
                    let _ = done.send(Err(outbound_error(error)));
                }
            }
            request_response::Event::InboundFailure { peer, error, .. } => {
                tracing::debug!(%peer, %error, "inbound request failed");
            }
            request_response::Event::ResponseSent { .. } => {}
        }
    }
}

fn back_off(state: &mut PeerState, limits: &NetLimits, now: Instant) {
    state.next_dial = now + state.backoff;
    state.backoff = state
        .backoff
        .saturating_mul(2)
        .min(limits.redial_backoff_max);
}

fn outbound_error(error: OutboundFailure) -> NetError {
    match error {
        OutboundFailure::Timeout => NetError::Timeout,
        OutboundFailure::DialFailure => NetError::NotConnected,
        OutboundFailure::ConnectionClosed => NetError::ConnectionClosed,
        OutboundFailure::UnsupportedProtocols => {
            NetError::Protocol("peer does not support the request protocol".to_owned())
        }
        OutboundFailure::Io(e) => match frame_too_large(&e).map(|f| f.kind) {
            Some(FrameKind::Response) => NetError::ResponseTooLarge,
            Some(FrameKind::Request) => NetError::RequestTooLarge,
            None if e.kind() == std::io::ErrorKind::UnexpectedEof => NetError::NoResponse,
            None => NetError::Protocol(format!("request stream failed: {e}")),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::FrameTooLarge;

    #[test]
    fn gossip_ids_are_domain_separated_content_ids() {
        assert_eq!(gossip_message_id(b"a"), gossip_message_id(b"a"));
        assert_ne!(gossip_message_id(b"a"), gossip_message_id(b"b"));
        assert_ne!(gossip_message_id(b"a"), *blake3::hash(b"a").as_bytes());
    }

    #[test]
    fn outbound_failures_map_to_net_errors() {
        let too_large = |kind| {
            OutboundFailure::Io(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                FrameTooLarge {
                    kind,
                    length: 1,
                    max: 0,
                },
            ))
        };
        assert_eq!(
            outbound_error(too_large(FrameKind::Response)),
            NetError::ResponseTooLarge
        );
        assert_eq!(
            outbound_error(too_large(FrameKind::Request)),
            NetError::RequestTooLarge
        );
        assert_eq!(outbound_error(OutboundFailure::Timeout), NetError::Timeout);
        assert_eq!(
            outbound_error(OutboundFailure::DialFailure),
            NetError::NotConnected
        );
        assert_eq!(
            outbound_error(OutboundFailure::Io(
                std::io::ErrorKind::UnexpectedEof.into()
            )),
            NetError::NoResponse
        );
    }

    #[test]
    fn backoff_doubles_up_to_the_limit() {
        let limits = NetLimits::default();
        let now = Instant::now();
        let mut state = PeerState {
            connections: 0,
            verified: false,
            dialing: false,
            rtt_ms: None,
            last_error: None,
            backoff: limits.redial_backoff_min,
            next_dial: now,
        };
        let mut waits = Vec::new();
        for _ in 0..8 {
            back_off(&mut state, &limits, now);
            waits.push((state.next_dial - now).as_secs());
        }
        assert_eq!(waits, [1, 2, 4, 4, 4, 4, 4, 4]);
    }

    #[test]
    fn error_messages_are_lower_case_sentences() {
        let errors = [
            NetError::NotConnected,
            NetError::Timeout,
            NetError::RequestTooLarge,
            NetError::ResponseTooLarge,
            NetError::MessageTooLarge,
            NetError::Duplicate,
            NetError::ConnectionClosed,
            NetError::NoResponse,
            NetError::Overloaded,
            NetError::Shutdown,
        ];
        for error in errors {
            let message = error.to_string();
            assert!(message.starts_with(|c: char| c.is_lowercase()) && !message.ends_with('.'));
        }
        assert_eq!(
            NetError::ResponseTooLarge.to_string(),
            "response is larger than 8388608 bytes"
        );
    }
}
