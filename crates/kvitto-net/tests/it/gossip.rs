use kvitto_net::{NetError, NetEvent, PeerId, Verdict};

use crate::{
    init_tracing, membership, publish, start, wait_for_status, Identity, Node, DEADLINE, QUIET,
};

/// The next gossip message `node` receives: (id, source, data), without reporting it.
async fn next_gossip(
    node: &mut Node,
    within: std::time::Duration,
) -> Option<(kvitto_net::GossipId, PeerId, Vec<u8>)> {
    node.next_matching(within, |e| match e {
        NetEvent::Gossip { id, source, data } => Some((id, source, data)),
        _ => None,
    })
    .await
}

/// A - B - C: A and C list no address, so they only dial B and never each other. B holds what it
/// receives until it reports, so C sees A's message only after B's Accept, and never after a
/// Reject.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gossip_is_forwarded_only_after_accept() {
    init_tracing();
    let (a_id, b_id, c_id) = (Identity::new(0), Identity::new(1), Identity::new(2));
    let members = membership(
        "quorum none\n",
        &[
            a_id.without_address(),
            b_id.spec.clone(),
            c_id.without_address(),
        ],
    );
    let mut a = start(&a_id, &members);
    let mut b = start(&b_id, &members);
    let mut c = start(&c_id, &members);
    b.expect_connected_all(&[a_id.peer_id(), c_id.peer_id()])
        .await;
    a.expect_connected(b_id.peer_id()).await;
    c.expect_connected(b_id.peer_id()).await;

    publish(&a, b"checkpoint one").await;
    let (id, source, data) = next_gossip(&mut b, DEADLINE).await.expect("B receives");
    assert_eq!(
        (source, data.as_slice()),
        (a_id.peer_id(), &b"checkpoint one"[..])
    );
    assert!(
        next_gossip(&mut c, QUIET).await.is_none(),
        "C received the message before B accepted it"
    );
    b.handle.report(id, source, Verdict::Accept);
    let (id, source, data) = next_gossip(&mut c, DEADLINE).await.expect("C receives");
    assert_eq!(
        (source, data.as_slice()),
        (a_id.peer_id(), &b"checkpoint one"[..])
    );
    c.handle.report(id, source, Verdict::Accept);

    publish(&a, b"forged checkpoint").await;
    let (id, source, data) = next_gossip(&mut b, DEADLINE).await.expect("B receives");
    assert_eq!(data, b"forged checkpoint");
    b.handle.report(id, source, Verdict::Reject);
    assert!(
        next_gossip(&mut c, QUIET).await.is_none(),
        "C received a message B rejected"
    );

    // Nobody got a second copy, and A never hears its own messages.
    assert!(next_gossip(&mut a, QUIET).await.is_none());
    assert!(next_gossip(&mut b, std::time::Duration::ZERO)
        .await
        .is_none());
    assert!(next_gossip(&mut c, std::time::Duration::ZERO)
        .await
        .is_none());
    for node in [&a, &b, &c] {
        node.handle.shutdown().await;
    }
}

/// Three fully connected members: each message reaches each other member exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gossip_reaches_every_member_once() {
    init_tracing();
    let ids = [Identity::new(0), Identity::new(1), Identity::new(2)];
    let members = membership(
        "quorum none\n",
        &ids.iter().map(|i| i.spec.clone()).collect::<Vec<_>>(),
    );
    let mut nodes: Vec<_> = ids.iter().map(|i| start(i, &members)).collect();
    for (n, node) in nodes.iter_mut().enumerate() {
        let others: Vec<PeerId> = ids
            .iter()
            .enumerate()
            .filter(|(m, _)| *m != n)
            .map(|(_, i)| i.peer_id())
            .collect();
        node.expect_connected_all(&others).await;
    }
    // Publishing reaches the peers the publisher knows to be subscribed; forwarding depends on
    // meshes. Wait until every node has heard every other's subscription.
    for (n, node) in nodes.iter().enumerate() {
        for (m, other) in ids.iter().enumerate() {
            if m != n {
                wait_for_status(node, other.peer_id(), |s| s.subscribed).await;
            }
        }
    }
    publish(&nodes[0], b"one").await;
    publish(&nodes[1], b"two").await;
    assert_eq!(
        nodes[0].handle.publish(b"one".to_vec()).await,
        Err(NetError::Duplicate)
    );
    // Every receiver accepts, all at once, so the messages are forwarded as gossipsub wants.
    let receivers = nodes.iter_mut().map(|node| async move {
        let mut received = Vec::new();
        while let Some((id, source, data)) = next_gossip(node, QUIET * 2).await {
            node.handle.report(id, source, Verdict::Accept);
            received.push((source, data));
        }
        received.sort();
        received
    });
    let received = futures::future::join_all(receivers).await;
    let one = (ids[0].peer_id(), b"one".to_vec());
    let two = (ids[1].peer_id(), b"two".to_vec());
    let mut both = vec![one.clone(), two.clone()];
    both.sort();
    assert_eq!(received, [vec![two], vec![one], both]);
    assert_eq!(
        nodes[0]
            .handle
            .publish(vec![0; kvitto_net::limits::GOSSIP_MESSAGE_SIZE_MAX + 1])
            .await,
        Err(NetError::MessageTooLarge)
    );
    // The largest message passes.
    let largest = vec![7; kvitto_net::limits::GOSSIP_MESSAGE_SIZE_MAX];
    publish(&nodes[2], &largest).await;
    let (_, _, data) = next_gossip(&mut nodes[0], DEADLINE).await.expect("largest");
    assert_eq!(data, largest);
    for node in &nodes {
        node.handle.shutdown().await;
    }
}
