use kvitto_net::{NetError, NetEvent, PeerId};

use crate::{init_tracing, membership, publish, start, wait_for_status, Identity, Node, QUIET};

/// Whether `node` emits Connected for `peer` within the quiet period.
async fn connects_to(node: &mut Node, peer: PeerId) -> bool {
    node.next_matching(QUIET, |e| match e {
        NetEvent::Connected(p) if p == peer => Some(()),
        _ => None,
    })
    .await
    .is_some()
}

/// A node with a valid libp2p identity that is not in the membership dials the members again and
/// again; the connection is refused at the gate and nobody reports it Connected.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn non_member_cannot_connect() {
    init_tracing();
    let (a_id, b_id, x_id) = (Identity::new(0), Identity::new(1), Identity::new(2));
    let members = membership("quorum none\n", &[a_id.spec.clone(), b_id.spec.clone()]);
    // The intruder's own file lists the members too, so its side allows and dials them.
    let intruder_view = membership(
        "quorum none\n",
        &[a_id.spec.clone(), b_id.spec.clone(), x_id.spec.clone()],
    );
    let mut a = start(&a_id, &members);
    let mut b = start(&b_id, &members);
    let mut x = start(&x_id, &intruder_view);
    a.expect_connected(b_id.peer_id()).await;
    b.expect_connected(a_id.peer_id()).await;

    // The intruder keeps redialling (every 100 ms to 1 s) during this time.
    assert!(!connects_to(&mut x, a_id.peer_id()).await);
    assert!(!connects_to(&mut x, b_id.peer_id()).await);
    assert!(!connects_to(&mut a, x_id.peer_id()).await);
    assert!(!connects_to(&mut b, x_id.peer_id()).await);

    let status = wait_for_status(&x, a_id.peer_id(), |s| s.last_error.is_some()).await;
    assert!(!status.connected, "{status:?}");
    assert!(a
        .handle
        .peers()
        .await
        .iter()
        .all(|s| s.peer_id != x_id.peer_id()));
    assert_eq!(
        x.handle.publish(b"let me in".to_vec()).await,
        Err(NetError::NotConnected)
    );
    assert_eq!(
        x.handle.request(a_id.peer_id(), b"hello".to_vec()).await,
        Err(NetError::NotConnected)
    );
    // The members still talk to each other.
    publish(&a, b"members only").await;
    let got = b
        .next_matching(crate::DEADLINE, |e| match e {
            NetEvent::Gossip { data, .. } => Some(data),
            _ => None,
        })
        .await;
    assert_eq!(got.as_deref(), Some(&b"members only"[..]));
    for node in [&a, &b, &x] {
        node.handle.shutdown().await;
    }
}

/// B runs a membership file with the same members but another policy, so another digest: the
/// two connect at the transport level, identify shows the mismatch, and they never exchange
/// gossip.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn member_with_other_membership_is_refused() {
    init_tracing();
    let (a_id, b_id) = (Identity::new(0), Identity::new(1));
    let specs = [a_id.spec.clone(), b_id.spec.clone()];
    let ours = membership("quorum none\n", &specs);
    let theirs = membership(&format!("log {}\nquorum none\n", a_id.spec.log_key), &specs);
    assert_ne!(ours.digest(), theirs.digest());
    let mut a = start(&a_id, &ours);
    let mut b = start(&b_id, &theirs);

    let status = wait_for_status(&a, b_id.peer_id(), |s| {
        s.last_error
            .as_deref()
            .is_some_and(|e| e.starts_with("membership mismatch: "))
    })
    .await;
    assert!(!status.connected, "{status:?}");
    let status = wait_for_status(&b, a_id.peer_id(), |s| {
        s.last_error
            .as_deref()
            .is_some_and(|e| e.starts_with("membership mismatch: "))
    })
    .await;
    assert!(!status.connected, "{status:?}");

    assert_eq!(
        b.handle.publish(b"wrong network".to_vec()).await,
        Err(NetError::NotConnected)
    );
    assert!(!connects_to(&mut a, b_id.peer_id()).await);
    assert!(!connects_to(&mut b, a_id.peer_id()).await);
    let gossip = a
        .next_matching(QUIET, |e| match e {
            NetEvent::Gossip { data, .. } => Some(data),
            _ => None,
        })
        .await;
    assert_eq!(gossip, None);
    a.handle.shutdown().await;
    b.handle.shutdown().await;
}
