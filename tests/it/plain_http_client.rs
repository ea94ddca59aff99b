//! A client that knows only the C2SP specs and RFC 6962, written here from scratch with sha2 and
//! ed25519-dalek (none of kvitto's own tlog code): fetch the checkpoint, verify its signature with
//! the published verifier key, fetch the tiles and recompute the root.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use ed25519_dalek::{Signature, VerifyingKey};
use sha2::{Digest, Sha256};

use crate::common::*;

fn sha256(parts: &[&[u8]]) -> [u8; 32] {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p);
    }
    h.finalize().into()
}

/// RFC 6962 section 2.1, recursively.
fn mth(leaves: &[[u8; 32]]) -> [u8; 32] {
    match leaves.len() {
        0 => sha256(&[]),
        1 => leaves[0],
        n => {
            let k = (n - 1).next_power_of_two().max(1);
            let k = if k >= n { k / 2 } else { k };
            sha256(&[&[1], &mth(&leaves[..k]), &mth(&leaves[k..])])
        }
    }
}

/// tlog-tiles index encoding: groups of three digits, all but the last prefixed with `x`.
fn tile_index(mut n: u64) -> String {
    let mut groups = vec![format!("{:03}", n % 1000)];
    n /= 1000;
    while n > 0 {
        groups.push(format!("x{:03}", n % 1000));
        n /= 1000;
    }
    groups.reverse();
    groups.join("/")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn independent_client_reproduces_the_root() {
    let mut node = TestNode::init();
    node.start();
    let client = reqwest::Client::new();
    // Enough entries for a full tile and a partial one: 300 sessions on 3 chargers.
    let t0 = now_ms() - 48 * 3_600_000;
    for _ in 0..3 {
        let mut charger = new_charger();
        register(&client, &node, &charger, t0).await;
        let readings = kvitto_node::simulate::session_readings(&mut charger, 100, 1, 22_000, t0);
        for chunk in readings.chunks(64) {
            let (status, value) = post(&client, &node, chunk).await.unwrap();
            assert_eq!(status, 200, "{value}");
        }
    }
    let want_size = 303;
    let logs: serde_json::Value = client
        .get(format!("{}/logs", node.url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let prefix = logs[0]["prefix"].as_str().unwrap().to_string();
    let vkey = logs[0]["verifier_key"].as_str().unwrap().to_string();

    // The verifier key: <name>+<hex key id>+<base64(0x01 || public key)>.
    let mut parts = vkey.splitn(3, '+');
    let (name, key_id_hex, key_b64) = (
        parts.next().unwrap(),
        parts.next().unwrap(),
        parts.next().unwrap(),
    );
    let key_bytes = B64.decode(key_b64).unwrap();
    assert_eq!(key_bytes[0], 0x01, "Ed25519 signature type");
    let public: [u8; 32] = key_bytes[1..].try_into().unwrap();
    let key_id = &sha256(&[name.as_bytes(), b"\n", &key_bytes])[..4];
    assert_eq!(hex::encode(key_id), key_id_hex);

    // Wait for a checkpoint covering everything.
    let mut note = String::new();
    for _ in 0..100 {
        note = client
            .get(format!("{}{prefix}/checkpoint", node.url()))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        if note.split('\n').nth(1) == Some(&want_size.to_string()) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let (text, sigs) = note
        .rsplit_once("\n\n")
        .map(|(t, s)| (format!("{t}\n"), s.to_string()))
        .unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], name, "origin is the key name");
    let size: u64 = lines[1].parse().unwrap();
    assert_eq!(size, want_size);
    let root: [u8; 32] = B64.decode(lines[2]).unwrap().try_into().unwrap();
    let sig_line = sigs
        .lines()
        .find(|l| l.starts_with(&format!("\u{2014} {name} ")))
        .expect("a signature by the log key");
    let sig_bytes = B64.decode(sig_line.rsplit(' ').next().unwrap()).unwrap();
    assert_eq!(&sig_bytes[..4], key_id);
    let signature = Signature::from_bytes(&sig_bytes[4..].try_into().unwrap());
    VerifyingKey::from_bytes(&public)
        .unwrap()
        .verify_strict(text.as_bytes(), &signature)
        .expect("checkpoint signature verifies");

    // Entry bundles: big-endian u16 length, then the entry.
    let mut leaves = Vec::new();
    for n in 0..size.div_ceil(256) {
        let width = (size - n * 256).min(256);
        let path = if width == 256 {
            tile_index(n)
        } else {
            format!("{}.p/{width}", tile_index(n))
        };
        let bundle = client
            .get(format!("{}{prefix}/tile/entries/{path}", node.url()))
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        let mut rest = &bundle[..];
        while !rest.is_empty() {
            let len = u16::from_be_bytes([rest[0], rest[1]]) as usize;
            leaves.push(sha256(&[&[0], &rest[2..2 + len]]));
            rest = &rest[2 + len..];
        }
        // The level-0 hash tile holds exactly these leaf hashes.
        let tile = client
            .get(format!("{}{prefix}/tile/0/{path}", node.url()))
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        let start = (n * 256) as usize;
        let expected: Vec<u8> = leaves[start..].iter().flatten().copied().collect();
        assert_eq!(tile.to_vec(), expected, "tile 0/{path}");
    }
    assert_eq!(leaves.len() as u64, size);
    assert_eq!(
        mth(&leaves),
        root,
        "an independent RFC 6962 implementation reproduces the root"
    );
    node.stop();
}
