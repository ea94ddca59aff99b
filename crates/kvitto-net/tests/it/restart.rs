use kvitto_net::NetEvent;

use crate::{init_tracing, membership, start, wait_for_status, Identity};

/// B stops and starts again with the same key and port: A notices both, and they talk again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn peers_reconnect_after_a_restart() {
    init_tracing();
    let (a_id, b_id) = (Identity::new(0), Identity::new(1));
    let members = membership("quorum none\n", &[a_id.spec.clone(), b_id.spec.clone()]);
    let mut a = start(&a_id, &members);
    let mut b = start(&b_id, &members);
    a.expect_connected(b_id.peer_id()).await;
    b.expect_connected(a_id.peer_id()).await;
    let status = wait_for_status(&a, b_id.peer_id(), |s| s.rtt_ms.is_some()).await;
    assert!(
        status.connected && status.last_error.is_none(),
        "{status:?}"
    );
    assert_eq!(status.operator, "SE*A01");

    b.handle.shutdown().await;
    a.expect_disconnected(b_id.peer_id()).await;
    wait_for_status(&a, b_id.peer_id(), |s| !s.connected).await;
    // While B is down, A's dials fail and say so.
    wait_for_status(&a, b_id.peer_id(), |s| s.last_error.is_some()).await;

    let mut b = start(&b_id, &members);
    a.expect_connected(b_id.peer_id()).await;
    b.expect_connected(a_id.peer_id()).await;
    let status = wait_for_status(&a, b_id.peer_id(), |s| s.connected).await;
    assert_eq!(status.last_error, None);

    let server = tokio::spawn(async move {
        while let Some(event) = b.events.recv().await {
            if let NetEvent::Request { data, reply, .. } = event {
                reply.send(data);
                return b.handle;
            }
        }
        panic!("B stopped without a request");
    });
    assert_eq!(
        a.handle.request(b_id.peer_id(), b"ping".to_vec()).await,
        Ok(b"ping".to_vec())
    );
    server.await.expect("server").shutdown().await;
    a.handle.shutdown().await;
}
