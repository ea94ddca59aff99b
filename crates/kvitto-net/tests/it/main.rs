//! Real libp2p nodes over 127.0.0.1. Waits are polling loops with generous deadlines; no test
//! asserts on speed. The "nothing arrives" checks wait a fixed while, so they can only pass
//! wrongly (never fail wrongly) on a slow machine.

mod gossip;
mod membership_gate;
mod request;
mod restart;

use std::sync::Arc;
use std::time::Duration;

use kvitto_net::limits::NetLimits;
use kvitto_net::{
    render_membership, spawn, Keypair, MemberSpec, Membership, NetConfig, NetEvent, NetHandle,
    PeerId, Role,
};
use kvitto_tlog::cosignature::CosignatureSigner;
use kvitto_tlog::note::Ed25519Signer;
use tokio::sync::mpsc;
use tokio::time::{timeout_at, Instant};

/// How long any expected event may take.
pub const DEADLINE: Duration = Duration::from_secs(20);
/// How long to watch for an event that must not happen.
pub const QUIET: Duration = Duration::from_millis(2000);

pub fn init_tracing() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_test_writer()
        .try_init();
}

/// Short timings so that redials and meshes settle quickly.
pub fn fast_limits() -> NetLimits {
    NetLimits {
        redial_interval: Duration::from_millis(100),
        redial_backoff_min: Duration::from_millis(100),
        redial_backoff_max: Duration::from_secs(1),
        gossip_heartbeat_interval: Duration::from_millis(200),
        ping_interval: Duration::from_secs(1),
        ..NetLimits::default()
    }
}

/// A port that was free a moment ago.
pub fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("addr").port()
}

/// One node's identity and port, before it runs.
pub struct Identity {
    pub keypair: Keypair,
    pub port: u16,
    pub spec: MemberSpec,
}

impl Identity {
    pub fn new(index: usize) -> Identity {
        let mut rng = rand::thread_rng();
        let keypair = Keypair::generate_ed25519();
        let port = free_port();
        let origin = format!("kvitto/testnet/op{index}");
        let log = Ed25519Signer::generate(&origin, &mut rng).expect("log key");
        let witness =
            CosignatureSigner::generate(&format!("{origin}/witness"), &mut rng).expect("key");
        let spec = MemberSpec {
            operator: format!("SE*A{index:02}"),
            role: Role::Cpo,
            peer_id: keypair.public().to_peer_id().to_string(),
            addresses: vec![format!("/ip4/127.0.0.1/tcp/{port}")],
            origin,
            log_key: log.verifier().to_string(),
            witness_key: witness.verifier().to_string(),
            http: None,
        };
        Identity {
            keypair,
            port,
            spec,
        }
    }

    pub fn peer_id(&self) -> PeerId {
        self.keypair.public().to_peer_id()
    }

    /// The same member that nobody dials: it only dials out.
    pub fn without_address(&self) -> MemberSpec {
        MemberSpec {
            addresses: Vec::new(),
            ..self.spec.clone()
        }
    }
}

pub fn membership(policy: &str, members: &[MemberSpec]) -> Arc<Membership> {
    let text = render_membership("kvitto-testnet", policy, members).expect("render");
    Arc::new(Membership::parse(text.as_bytes()).expect("parse"))
}

/// A running node.
pub struct Node {
    pub handle: NetHandle,
    pub events: mpsc::Receiver<NetEvent>,
}

pub fn start(identity: &Identity, membership: &Arc<Membership>) -> Node {
    let config = NetConfig {
        keypair: identity.keypair.clone(),
        listen: vec![format!("/ip4/127.0.0.1/tcp/{}", identity.port)
            .parse()
            .expect("multiaddr")],
        membership: membership.clone(),
        limits: fast_limits(),
    };
    let (handle, events) = spawn(config).expect("spawn");
    Node { handle, events }
}

impl Node {
    /// The next event that `select` keeps, skipping the others, or None at the deadline.
    pub async fn next_matching<T>(
        &mut self,
        within: Duration,
        mut select: impl FnMut(NetEvent) -> Option<T>,
    ) -> Option<T> {
        let deadline = Instant::now() + within;
        loop {
            match timeout_at(deadline, self.events.recv()).await {
                Ok(Some(event)) => {
                    if let Some(kept) = select(event) {
                        return Some(kept);
                    }
                }
                Ok(None) | Err(_) => return None,
            }
        }
    }

    pub async fn expect_connected(&mut self, peer: PeerId) {
        self.expect_connected_all(&[peer]).await;
    }

    /// Waits for Connected of each of `peers`, in any order.
    pub async fn expect_connected_all(&mut self, peers: &[PeerId]) {
        let mut missing: std::collections::HashSet<PeerId> = peers.iter().copied().collect();
        let found = self
            .next_matching(DEADLINE, |e| match e {
                NetEvent::Connected(p) if missing.remove(&p) && missing.is_empty() => Some(()),
                _ => None,
            })
            .await;
        assert!(
            found.is_some(),
            "not all of {peers:?} Connected within {DEADLINE:?}"
        );
    }

    pub async fn expect_disconnected(&mut self, peer: PeerId) {
        let found = self
            .next_matching(DEADLINE, |e| match e {
                NetEvent::Disconnected(p) if p == peer => Some(()),
                _ => None,
            })
            .await;
        assert!(
            found.is_some(),
            "no Disconnected({peer}) within {DEADLINE:?}"
        );
    }
}

/// Retries `publish` until a member is subscribed to the topic.
pub async fn publish(node: &Node, data: &[u8]) {
    let deadline = Instant::now() + DEADLINE;
    loop {
        match node.handle.publish(data.to_vec()).await {
            Ok(()) => return,
            Err(kvitto_net::NetError::NotConnected) if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(e) => panic!("publish failed: {e}"),
        }
    }
}

/// Polls `peers()` until `check` holds for the status of `peer`.
pub async fn wait_for_status(
    node: &Node,
    peer: PeerId,
    check: impl Fn(&kvitto_net::PeerStatus) -> bool,
) -> kvitto_net::PeerStatus {
    let deadline = Instant::now() + DEADLINE;
    loop {
        let status = node
            .handle
            .peers()
            .await
            .into_iter()
            .find(|s| s.peer_id == peer)
            .expect("peer is a member");
        if check(&status) {
            return status;
        }
        assert!(
            Instant::now() < deadline,
            "status of {peer} never matched: {status:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
