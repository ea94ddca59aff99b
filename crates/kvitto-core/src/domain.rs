//! Domain-separation labels: one per signature and per hash.
//!
//! Every Ed25519 signature kvitto makes covers `label || 0x00 || message`, and every blake3 digest
//! is computed in `derive_key` mode with a label as its context string. No two purposes share a
//! label, so a signature or digest made for one purpose is never valid for another. The Merkle tree
//! and the C2SP notes keep their own standard domain separation (RFC 6962 prefixes, signed-note
//! key ids), because interoperating with standard tooling matters more there.

/// Signature over a meter reading's body.
pub const SIG_READING: &str = "kvitto/v1/sig/meter-reading";

/// blake3 context: the hash of one reading's signed bytes, used for the per-charger chain.
pub const HASH_READING: &str = "kvitto 2026-11 v1 meter reading hash";
/// blake3 context: the digest over all signed readings of one session.
pub const HASH_SESSION_READINGS: &str = "kvitto 2026-11 v1 session readings digest";
/// blake3 context: a charger key id from its public key.
pub const HASH_CHARGER_KEY_ID: &str = "kvitto 2026-11 v1 charger key id";
/// blake3 context: a network id from the network's name.
pub const HASH_NETWORK_ID: &str = "kvitto 2026-11 v1 network id";
/// blake3 context: hashing an operator admin token before comparing it.
pub const HASH_ADMIN_TOKEN: &str = "kvitto 2026-11 v1 admin token";
/// blake3 context: the gossipsub message id of a payload (its content id).
pub const HASH_GOSSIP_ID: &str = "kvitto 2026-11 v1 gossip message id";
/// blake3 context: the key that authenticates a node's receipt-fetch challenges.
pub const KDF_RECEIPT_CHALLENGE: &str = "kvitto 2026-11 v1 receipt challenge mac key";
/// blake3 context: what a driver's possession proof covers when fetching receipts: the node's
/// log origin and its challenge, so a proof made for one node is useless at another.
pub const HASH_RECEIPT_FETCH: &str = "kvitto 2026-11 v1 receipt fetch binding";
/// The first field of a settlement statement's total-proof statement bytes
/// ([`crate::settlement::proof_statement`]).
pub const SETTLEMENT_TOTAL_STATEMENT: &str = "kvitto 2026-11 v1 settlement statement total";
/// blake3 context: the range-proof context of a credit note, from its log index.
pub const HASH_CREDIT_NOTE_ID: &str = "kvitto 2026-11 v1 credit note id";

/// The bytes an Ed25519 key signs for `label` and `message`.
pub fn signing_message(label: &str, message: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(label.len() + 1 + message.len());
    out.extend_from_slice(label.as_bytes());
    out.push(0);
    out.extend_from_slice(message);
    out
}

/// A blake3 digest under `context`.
pub fn digest(context: &str, parts: &[&[u8]]) -> [u8; 32] {
    let mut hasher = blake3::Hasher::new_derive_key(context);
    for part in parts {
        hasher.update(part);
    }
    *hasher.finalize().as_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_distinct() {
        let labels = [
            SIG_READING,
            KDF_RECEIPT_CHALLENGE,
            HASH_RECEIPT_FETCH,
            HASH_READING,
            HASH_SESSION_READINGS,
            HASH_CHARGER_KEY_ID,
            HASH_NETWORK_ID,
            HASH_ADMIN_TOKEN,
            HASH_GOSSIP_ID,
            SETTLEMENT_TOTAL_STATEMENT,
            HASH_CREDIT_NOTE_ID,
        ];
        let unique: std::collections::BTreeSet<_> = labels.iter().collect();
        assert_eq!(unique.len(), labels.len());
    }

    #[test]
    fn digests_differ_by_context() {
        assert_ne!(
            digest(HASH_READING, &[b"x"]),
            digest(HASH_SESSION_READINGS, &[b"x"])
        );
    }
}
