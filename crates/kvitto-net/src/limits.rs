//! Every limit of the network layer, in one place.
//!
//! The size limits and protocol timeouts are part of the wire protocol: every member must use the
//! same values, so they are constants. The tunable timings are in [`NetLimits`], whose
//! [`Default`] uses the constants below.

use std::time::Duration;

/// Largest membership file, in bytes.
pub const MEMBERSHIP_SIZE_MAX: usize = 256 * 1024;
/// Most members one network can have.
pub const MEMBERS_MAX: usize = 64;
/// Most dial addresses one member can list.
pub const ADDRESSES_PER_MEMBER_MAX: usize = 8;
/// Longest network name, in bytes. It is part of every protocol name.
pub const NETWORK_NAME_LEN_MAX: usize = 64;
/// Longest operator (OCPI party id), in bytes.
pub const OPERATOR_LEN_MAX: usize = 32;
/// Longest `http` URL of a member, in bytes.
pub const HTTP_URL_LEN_MAX: usize = 256;
/// How many hex characters of the membership digest go into protocol names and the topic.
pub const DIGEST_PREFIX_HEX_LEN: usize = 16;

/// Largest gossip message payload, in bytes (gossipsub `max_transmit_size`). It equals the
/// witness protocol's largest message, which is what the gossip topic carries.
pub const GOSSIP_MESSAGE_SIZE_MAX: usize = 64 * 1024;
const _: () = assert!(GOSSIP_MESSAGE_SIZE_MAX == kvitto_witness::limits::MESSAGE_SIZE_MAX);

/// Largest request body, in bytes. Larger requests are refused before they are sent, and an
/// inbound length prefix above it fails the stream before anything is allocated.
pub const REQUEST_SIZE_MAX: usize = 16 * 1024;
/// Largest response body, in bytes. A larger length prefix fails the request with
/// [`crate::NetError::ResponseTooLarge`] before anything is allocated.
pub const RESPONSE_SIZE_MAX: usize = 8 * 1024 * 1024;
const _: () = assert!(REQUEST_SIZE_MAX <= RESPONSE_SIZE_MAX);
const _: () = assert!(RESPONSE_SIZE_MAX <= u32::MAX as usize);

/// Most concurrent request-response streams per connection (inbound and outbound): more are
/// refused by the remote's handler.
pub const STREAMS_PER_CONNECTION_MAX: usize = 16;
/// Most outbound requests waiting for a response at once, over all peers.
pub const OUTBOUND_REQUESTS_MAX: usize = 256;

/// Most established connections to one peer (a simultaneous dial from both sides makes two).
pub const CONNECTIONS_PER_PEER_MAX: u32 = 2;
/// Most established connections in total, per member of the network.
pub const CONNECTIONS_PER_MEMBER_MAX: u32 = 2;
/// Most incoming connections still in their handshake, per member of the network.
pub const PENDING_INCOMING_PER_MEMBER_MAX: u32 = 2;
const _: () = assert!(CONNECTIONS_PER_PEER_MAX <= CONNECTIONS_PER_MEMBER_MAX);

/// Events waiting for the application. When it falls this far behind, new events are dropped:
/// a gossip message as if it was reported [`crate::Verdict::Ignore`], a request so that the
/// requester sees it fail; [`crate::NetHandle::peers`] stays exact.
pub const EVENT_QUEUE_LEN: usize = 1024;
/// Commands (publish, request, peers, ...) waiting for the swarm task. Senders wait for room.
pub const COMMAND_QUEUE_LEN: usize = 256;
/// Verdicts and responses waiting for the swarm task. They are sent without waiting; when the
/// queue is full one is dropped (a verdict then acts as `Ignore`, a response as no response).
pub const REPLY_QUEUE_LEN: usize = 2 * EVENT_QUEUE_LEN;

/// Timeout of one request-response round trip.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// A connection no protocol keeps alive is closed after this long. Gossipsub keeps connections
/// to mesh peers alive; the redial loop brings back any other member.
pub const IDLE_CONNECTION_TIMEOUT: Duration = Duration::from_secs(60);
/// How often ping measures the round-trip time of each connection.
pub const PING_INTERVAL: Duration = Duration::from_secs(2);
/// A ping without an answer for this long closes the connection (a dead link is noticed within
/// `PING_INTERVAL + PING_TIMEOUT`).
pub const PING_TIMEOUT: Duration = Duration::from_secs(3);
/// Gossipsub heartbeat: short, for fast mesh convergence on small networks.
pub const GOSSIP_HEARTBEAT_INTERVAL: Duration = Duration::from_millis(500);
/// How often the swarm task looks for members to dial.
pub const REDIAL_INTERVAL: Duration = Duration::from_secs(1);
/// The first wait before dialling a member again after a failure; it doubles with each failure.
pub const REDIAL_BACKOFF_MIN: Duration = Duration::from_secs(1);
/// The longest wait between two dials of the same member. A network has a few dozen members at
/// most, so dialling an absent one every few seconds costs little and a healed link is used
/// again within this time.
pub const REDIAL_BACKOFF_MAX: Duration = Duration::from_secs(4);
/// How long a dial (TCP connect and handshake) may take; a dial into a partition fails after
/// this and is retried.
pub const DIAL_TIMEOUT: Duration = Duration::from_secs(4);

/// Timings of one node. The defaults are the constants of this module; tests shorten them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NetLimits {
    pub request_timeout: Duration,
    pub idle_connection_timeout: Duration,
    pub ping_interval: Duration,
    pub ping_timeout: Duration,
    pub gossip_heartbeat_interval: Duration,
    pub redial_interval: Duration,
    pub redial_backoff_min: Duration,
    pub redial_backoff_max: Duration,
    pub dial_timeout: Duration,
}

impl Default for NetLimits {
    fn default() -> Self {
        NetLimits {
            request_timeout: REQUEST_TIMEOUT,
            idle_connection_timeout: IDLE_CONNECTION_TIMEOUT,
            ping_interval: PING_INTERVAL,
            ping_timeout: PING_TIMEOUT,
            gossip_heartbeat_interval: GOSSIP_HEARTBEAT_INTERVAL,
            redial_interval: REDIAL_INTERVAL,
            redial_backoff_min: REDIAL_BACKOFF_MIN,
            redial_backoff_max: REDIAL_BACKOFF_MAX,
            dial_timeout: DIAL_TIMEOUT,
        }
    }
}
