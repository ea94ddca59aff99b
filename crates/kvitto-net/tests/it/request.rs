use kvitto_net::limits::{REQUEST_SIZE_MAX, RESPONSE_SIZE_MAX};
use kvitto_net::{Keypair, NetError, NetEvent};

use crate::{init_tracing, membership, start, Identity, Node};

/// Answers requests until the node stops: `big` gets a response one byte over the limit, `max`
/// one exactly at it, `silent` none at all, anything else an echo.
fn serve(mut node: Node) -> tokio::task::JoinHandle<usize> {
    tokio::spawn(async move {
        let mut served = 0;
        while let Some(event) = node.events.recv().await {
            let NetEvent::Request { data, reply, .. } = event else {
                continue;
            };
            served += 1;
            match data.as_slice() {
                b"big" => reply.send(vec![1; RESPONSE_SIZE_MAX + 1]),
                b"max" => reply.send(vec![2; RESPONSE_SIZE_MAX]),
                b"silent" => drop(reply),
                _ => {
                    let mut echo = b"echo:".to_vec();
                    echo.extend_from_slice(&data[..data.len().min(16)]);
                    reply.send(echo);
                }
            }
        }
        served
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_response_round_trips_and_limits() {
    init_tracing();
    let (a_id, b_id) = (Identity::new(0), Identity::new(1));
    let members = membership("quorum none\n", &[a_id.spec.clone(), b_id.spec.clone()]);
    let mut a = start(&a_id, &members);
    let mut b = start(&b_id, &members);
    a.expect_connected(b_id.peer_id()).await;
    b.expect_connected(a_id.peer_id()).await;
    let b_handle = b.handle.clone();
    let server = serve(b);
    let b_peer = b_id.peer_id();

    assert_eq!(
        a.handle.request(b_peer, b"hello".to_vec()).await,
        Ok(b"echo:hello".to_vec())
    );
    assert_eq!(
        a.handle.request(b_peer, b"big".to_vec()).await,
        Err(NetError::ResponseTooLarge)
    );
    assert_eq!(
        a.handle.request(b_peer, b"max".to_vec()).await,
        Ok(vec![2; RESPONSE_SIZE_MAX])
    );
    assert_eq!(
        a.handle
            .request(b_peer, vec![3; REQUEST_SIZE_MAX + 1])
            .await,
        Err(NetError::RequestTooLarge)
    );
    let mut echo = b"echo:".to_vec();
    echo.extend_from_slice(&[3; 16]);
    assert_eq!(
        a.handle.request(b_peer, vec![3; REQUEST_SIZE_MAX]).await,
        Ok(echo)
    );
    let silent = a.handle.request(b_peer, b"silent".to_vec()).await;
    assert!(silent.is_err(), "{silent:?}");
    // A peer id outside the membership is refused without a dial.
    let stranger = Keypair::generate_ed25519().public().to_peer_id();
    assert_eq!(
        a.handle.request(stranger, b"hello".to_vec()).await,
        Err(NetError::NotAMember(stranger))
    );
    // The failures above did not break the connection.
    assert_eq!(
        a.handle.request(b_peer, b"again".to_vec()).await,
        Ok(b"echo:again".to_vec())
    );
    // Requests in flight at once.
    let many = (0..20).map(|i| {
        let handle = a.handle.clone();
        async move { handle.request(b_peer, format!("n{i}").into_bytes()).await }
    });
    for (i, result) in futures::future::join_all(many)
        .await
        .into_iter()
        .enumerate()
    {
        assert_eq!(result, Ok(format!("echo:n{i}").into_bytes()));
    }

    a.handle.shutdown().await;
    b_handle.shutdown().await;
    // Served: hello, big, max, the largest request, silent, again and the 20 (not the refused).
    assert_eq!(server.await.expect("server"), 26);
    assert_eq!(
        a.handle.request(b_peer, b"late".to_vec()).await,
        Err(NetError::Shutdown)
    );
    assert!(a.handle.peers().await.is_empty());
}
