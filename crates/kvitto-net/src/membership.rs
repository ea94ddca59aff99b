//! The membership file: who is in a network, how to reach them, and which keys they use.
//!
//! ```toml
//! network = "kvitto-testnet"
//! policy = """
//! log kvitto/kvitto-testnet/se-aaa+0a1b2c3d+AQ...
//! witness se-aaa kvitto/kvitto-testnet/se-aaa/witness+...
//! quorum se-aaa
//! """
//!
//! [[member]]
//! operator = "SE*AAA"
//! role = "cpo"
//! peer_id = "12D3KooW..."
//! addresses = ["/ip4/127.0.0.1/tcp/7101"]
//! origin = "kvitto/kvitto-testnet/se-aaa"
//! log_key = "kvitto/kvitto-testnet/se-aaa+0a1b2c3d+AQ..."
//! witness_key = "kvitto/kvitto-testnet/se-aaa/witness+4e5f6a7b+BA..."
//! http = "http://127.0.0.1:7001"
//! ```
//!
//! A network is pinned by the SHA-256 of the file's exact bytes ([`Membership::digest`]): two
//! nodes talk only if they loaded byte-identical files, because the first
//! [`DIGEST_PREFIX_HEX_LEN`] hex characters of the digest are part of every protocol name.

use std::collections::HashSet;
use std::fmt;
use std::io::Read;
use std::path::Path;
use std::str::FromStr;

use kvitto_tlog::cosignature::CosignatureVerifier;
use kvitto_tlog::note::{Ed25519Verifier, KeyError, Verifier as _};
use kvitto_tlog::policy::{Policy, PolicyError};
use libp2p::multiaddr::Protocol;
use libp2p::{Multiaddr, PeerId};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::limits::{
    ADDRESSES_PER_MEMBER_MAX, DIGEST_PREFIX_HEX_LEN, HTTP_URL_LEN_MAX, MEMBERSHIP_SIZE_MAX,
    MEMBERS_MAX, NETWORK_NAME_LEN_MAX, OPERATOR_LEN_MAX,
};

/// A member's role in the roaming network.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Charge point operator: runs chargers and a log.
    Cpo,
    /// e-mobility service provider: bills drivers.
    Emsp,
    Both,
    Regulator,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Cpo => "cpo",
            Role::Emsp => "emsp",
            Role::Both => "both",
            Role::Regulator => "regulator",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = MembershipError;

    fn from_str(text: &str) -> Result<Role, MembershipError> {
        match text {
            "cpo" => Ok(Role::Cpo),
            "emsp" => Ok(Role::Emsp),
            "both" => Ok(Role::Both),
            "regulator" => Ok(Role::Regulator),
            _ => Err(MembershipError::InvalidRole {
                value: text.to_owned(),
            }),
        }
    }
}

/// One member of the network, validated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Member {
    /// OCPI party id, e.g. `SE*AAA`.
    pub operator: String,
    pub role: Role,
    /// The member's libp2p identity (an Ed25519 key).
    pub peer_id: PeerId,
    /// Where to dial the member; empty for a member that only dials out.
    pub addresses: Vec<Multiaddr>,
    /// The origin line of the member's log checkpoints.
    pub origin: String,
    /// The key that signs the member's checkpoints; its name is `origin`.
    pub log_key: Ed25519Verifier,
    /// The key the member cosigns other logs' checkpoints with.
    pub witness_key: CosignatureVerifier,
    /// The member's public HTTP API, if it serves one.
    pub http: Option<String>,
}

/// A parsed and validated membership file.
#[derive(Clone, Debug)]
pub struct Membership {
    network: String,
    policy_text: String,
    policy: Policy,
    members: Vec<Member>,
    digest: [u8; 32],
}

/// Why a membership file was rejected.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum MembershipError {
    #[error("cannot read membership file {path}: {error}")]
    Io { path: String, error: String },
    #[error("membership file is larger than {max} bytes")]
    TooLarge { max: usize },
    #[error("membership file is not utf-8")]
    NotUtf8,
    #[error("membership file is not valid: {0}")]
    Syntax(String),
    #[error("network name {name:?} must be 1 to {max} characters of a-z, 0-9, '-', '_' and '.'")]
    InvalidNetwork { name: String, max: usize },
    #[error("membership policy does not parse: {0}")]
    Policy(#[source] PolicyError),
    #[error("membership lists no member")]
    NoMembers,
    #[error("membership lists {count} members, at most {max} are allowed")]
    TooManyMembers { count: usize, max: usize },
    #[error("operator {value:?} must be 1 to {max} printable ascii characters without spaces")]
    InvalidOperator { value: String, max: usize },
    #[error("role {value:?} must be cpo, emsp, both or regulator")]
    InvalidRole { value: String },
    #[error("member {operator}: peer id {value:?} does not parse")]
    InvalidPeerId { operator: String, value: String },
    #[error("member {operator}: peer id {value} is not an ed25519 identity")]
    PeerIdNotEd25519 { operator: String, value: String },
    #[error("member {operator}: address {value:?} is not a multiaddr")]
    InvalidAddress { operator: String, value: String },
    #[error("member {operator}: address {value} names another peer id")]
    AddressPeerMismatch { operator: String, value: String },
    #[error("member {operator}: {count} addresses, at most {max} are allowed")]
    TooManyAddresses {
        operator: String,
        count: usize,
        max: usize,
    },
    #[error("member {operator}: log key does not parse: {error}")]
    InvalidLogKey {
        operator: String,
        #[source]
        error: KeyError,
    },
    #[error("member {operator}: log key is named {name:?}, not its origin {origin:?}")]
    LogKeyNameMismatch {
        operator: String,
        name: String,
        origin: String,
    },
    #[error("member {operator}: witness key does not parse: {error}")]
    InvalidWitnessKey {
        operator: String,
        #[source]
        error: KeyError,
    },
    #[error("member {operator}: http url {value:?} must start with http:// or https:// and be at most {max} bytes")]
    InvalidHttp {
        operator: String,
        value: String,
        max: usize,
    },
    #[error("operator {0} is listed twice")]
    DuplicateOperator(String),
    #[error("peer id {0} is listed twice")]
    DuplicatePeerId(String),
    #[error("origin {0:?} is listed twice")]
    DuplicateOrigin(String),
    #[error("witness key {0} is listed twice")]
    DuplicateWitnessKey(String),
}

/// The file as written, before validation.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileToml {
    network: String,
    policy: String,
    #[serde(rename = "member", default)]
    members: Vec<MemberToml>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct MemberToml {
    operator: String,
    role: String,
    peer_id: String,
    addresses: Vec<String>,
    origin: String,
    log_key: String,
    witness_key: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    http: Option<String>,
}

impl Membership {
    /// Parses and validates a membership file; the digest is of exactly these bytes.
    pub fn parse(bytes: &[u8]) -> Result<Membership, MembershipError> {
        if bytes.len() > MEMBERSHIP_SIZE_MAX {
            return Err(MembershipError::TooLarge {
                max: MEMBERSHIP_SIZE_MAX,
            });
        }
        let text = std::str::from_utf8(bytes).map_err(|_| MembershipError::NotUtf8)?;
        let file: FileToml =
            toml::from_str(text).map_err(|e| MembershipError::Syntax(e.message().to_owned()))?;
        if !is_valid_network_name(&file.network) {
            return Err(MembershipError::InvalidNetwork {
                name: file.network,
                max: NETWORK_NAME_LEN_MAX,
            });
        }
        let policy = Policy::parse(&file.policy).map_err(MembershipError::Policy)?;
        if file.members.is_empty() {
            return Err(MembershipError::NoMembers);
        }
        if file.members.len() > MEMBERS_MAX {
            return Err(MembershipError::TooManyMembers {
                count: file.members.len(),
                max: MEMBERS_MAX,
            });
        }
        let mut members = Vec::with_capacity(file.members.len());
        let mut operators = HashSet::new();
        let mut peer_ids = HashSet::new();
        let mut origins = HashSet::new();
        let mut witness_keys = HashSet::new();
        for raw in file.members {
            let member = parse_member(raw)?;
            if !operators.insert(member.operator.clone()) {
                return Err(MembershipError::DuplicateOperator(member.operator));
            }
            if !peer_ids.insert(member.peer_id) {
                return Err(MembershipError::DuplicatePeerId(member.peer_id.to_string()));
            }
            if !origins.insert(member.origin.clone()) {
                return Err(MembershipError::DuplicateOrigin(member.origin));
            }
            if !witness_keys.insert(*member.witness_key.public_key()) {
                return Err(MembershipError::DuplicateWitnessKey(
                    member.witness_key.to_string(),
                ));
            }
            members.push(member);
        }
        Ok(Membership {
            network: file.network,
            policy_text: file.policy,
            policy,
            members,
            digest: Sha256::digest(bytes).into(),
        })
    }

    /// Reads and parses the membership file at `path`.
    pub fn load(path: &Path) -> Result<Membership, MembershipError> {
        let io_error = |error: std::io::Error| MembershipError::Io {
            path: path.display().to_string(),
            error: error.to_string(),
        };
        let file = std::fs::File::open(path).map_err(io_error)?;
        let mut bytes = Vec::new();
        // One byte more than allowed, so that a larger file is detected without reading it all.
        file.take(MEMBERSHIP_SIZE_MAX as u64 + 1)
            .read_to_end(&mut bytes)
            .map_err(io_error)?;
        Membership::parse(&bytes)
    }

    pub fn network(&self) -> &str {
        &self.network
    }

    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// The policy as written in the file.
    pub fn policy_text(&self) -> &str {
        &self.policy_text
    }

    pub fn members(&self) -> &[Member] {
        &self.members
    }

    /// SHA-256 of the file's bytes.
    pub fn digest(&self) -> [u8; 32] {
        self.digest
    }

    pub fn digest_hex(&self) -> String {
        hex::encode(self.digest)
    }

    /// The first [`DIGEST_PREFIX_HEX_LEN`] hex characters of the digest.
    pub fn digest_prefix(&self) -> String {
        let mut prefix = self.digest_hex();
        prefix.truncate(DIGEST_PREFIX_HEX_LEN);
        prefix
    }

    pub fn member_by_peer(&self, peer_id: &PeerId) -> Option<&Member> {
        self.members.iter().find(|m| &m.peer_id == peer_id)
    }

    pub fn member_by_origin(&self, origin: &str) -> Option<&Member> {
        self.members.iter().find(|m| m.origin == origin)
    }

    pub fn member_by_operator(&self, operator: &str) -> Option<&Member> {
        self.members.iter().find(|m| m.operator == operator)
    }

    /// The identify protocol version: `/kvitto/<network>/<digest prefix>`.
    pub fn protocol_version(&self) -> String {
        format!("/kvitto/{}/{}", self.network, self.digest_prefix())
    }

    /// The gossipsub topic of witness messages: `/kvitto/<network>/<digest prefix>/witness/1`.
    pub fn witness_topic(&self) -> String {
        format!("{}/witness/1", self.protocol_version())
    }

    /// The request-response protocol: `/kvitto/<network>/<digest prefix>/req/1`.
    pub fn request_protocol(&self) -> String {
        format!("{}/req/1", self.protocol_version())
    }
}

fn is_valid_network_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= NETWORK_NAME_LEN_MAX
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"-_.".contains(&b))
}

fn is_valid_operator(operator: &str) -> bool {
    !operator.is_empty()
        && operator.len() <= OPERATOR_LEN_MAX
        && operator.bytes().all(|b| b.is_ascii_graphic())
}

fn parse_member(raw: MemberToml) -> Result<Member, MembershipError> {
    let MemberToml {
        operator,
        role,
        peer_id,
        addresses,
        origin,
        log_key,
        witness_key,
        http,
    } = raw;
    if !is_valid_operator(&operator) {
        return Err(MembershipError::InvalidOperator {
            value: operator,
            max: OPERATOR_LEN_MAX,
        });
    }
    let role: Role = role.parse()?;
    let peer_id = parse_peer_id(&operator, &peer_id)?;
    if addresses.len() > ADDRESSES_PER_MEMBER_MAX {
        return Err(MembershipError::TooManyAddresses {
            operator,
            count: addresses.len(),
            max: ADDRESSES_PER_MEMBER_MAX,
        });
    }
    let mut parsed_addresses = Vec::with_capacity(addresses.len());
    for value in addresses {
        let Ok(address) = Multiaddr::from_str(&value) else {
            return Err(MembershipError::InvalidAddress { operator, value });
        };
        let names_other_peer = address
            .iter()
            .any(|p| matches!(p, Protocol::P2p(other) if other != peer_id));
        if names_other_peer {
            return Err(MembershipError::AddressPeerMismatch { operator, value });
        }
        parsed_addresses.push(address);
    }
    let log_key = match Ed25519Verifier::parse(&log_key) {
        Ok(key) => key,
        Err(error) => return Err(MembershipError::InvalidLogKey { operator, error }),
    };
    if log_key.name() != origin {
        return Err(MembershipError::LogKeyNameMismatch {
            operator,
            name: log_key.name().to_owned(),
            origin,
        });
    }
    let witness_key = match CosignatureVerifier::parse(&witness_key) {
        Ok(key) => key,
        Err(error) => return Err(MembershipError::InvalidWitnessKey { operator, error }),
    };
    if let Some(url) = &http {
        let has_scheme = url.starts_with("http://") || url.starts_with("https://");
        if !has_scheme || url.len() > HTTP_URL_LEN_MAX || url.chars().any(char::is_whitespace) {
            return Err(MembershipError::InvalidHttp {
                operator,
                value: url.clone(),
                max: HTTP_URL_LEN_MAX,
            });
        }
    }
    Ok(Member {
        operator,
        role,
        peer_id,
        addresses: parsed_addresses,
        origin,
        log_key,
        witness_key,
        http,
    })
}

fn parse_peer_id(operator: &str, value: &str) -> Result<PeerId, MembershipError> {
    let peer_id = PeerId::from_str(value).map_err(|_| MembershipError::InvalidPeerId {
        operator: operator.to_owned(),
        value: value.to_owned(),
    })?;
    // An Ed25519 peer id is the identity multihash (code 0) of the protobuf-encoded public key.
    let multihash: &libp2p::multihash::Multihash<64> = peer_id.as_ref();
    let is_ed25519 = multihash.code() == 0
        && libp2p::identity::PublicKey::try_decode_protobuf(multihash.digest())
            .is_ok_and(|key| key.try_into_ed25519().is_ok());
    if !is_ed25519 {
        return Err(MembershipError::PeerIdNotEd25519 {
            operator: operator.to_owned(),
            value: value.to_owned(),
        });
    }
    Ok(peer_id)
}

/// One member as written in a membership file, for [`render_membership`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MemberSpec {
    pub operator: String,
    pub role: Role,
    /// `PeerId::to_string()`.
    pub peer_id: String,
    pub addresses: Vec<String>,
    pub origin: String,
    /// `Ed25519Verifier::to_string()`, named `origin`.
    pub log_key: String,
    /// `CosignatureVerifier::to_string()`.
    pub witness_key: String,
    pub http: Option<String>,
}

/// Writes a membership file, and checks it by parsing it back: the returned text is a valid file
/// whose digest [`Membership::parse`] computes from its bytes.
pub fn render_membership(
    network: &str,
    policy: &str,
    members: &[MemberSpec],
) -> Result<String, MembershipError> {
    let file = FileToml {
        network: network.to_owned(),
        policy: policy.to_owned(),
        members: members
            .iter()
            .map(|m| MemberToml {
                operator: m.operator.clone(),
                role: m.role.as_str().to_owned(),
                peer_id: m.peer_id.clone(),
                addresses: m.addresses.clone(),
                origin: m.origin.clone(),
                log_key: m.log_key.clone(),
                witness_key: m.witness_key.clone(),
                http: m.http.clone(),
            })
            .collect(),
    };
    let text = toml::to_string(&file).map_err(|e| MembershipError::Syntax(e.to_string()))?;
    Membership::parse(text.as_bytes())?;
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use kvitto_tlog::cosignature::CosignatureSigner;
    use kvitto_tlog::note::Ed25519Signer;
    use libp2p::identity::Keypair;

    struct Fixture {
        policy: String,
        members: Vec<MemberSpec>,
    }

    fn spec(index: usize) -> MemberSpec {
        let mut rng = rand::thread_rng();
        let origin = format!("kvitto/testnet/op{index}");
        let log = Ed25519Signer::generate(&origin, &mut rng).expect("log key");
        let witness =
            CosignatureSigner::generate(&format!("{origin}/witness"), &mut rng).expect("key");
        MemberSpec {
            operator: format!("SE*A{index:02}"),
            role: Role::Cpo,
            peer_id: Keypair::generate_ed25519()
                .public()
                .to_peer_id()
                .to_string(),
            addresses: vec![format!("/ip4/127.0.0.1/tcp/{}", 7100 + index)],
            origin,
            log_key: log.verifier().to_string(),
            witness_key: witness.verifier().to_string(),
            http: Some(format!("http://127.0.0.1:{}", 7000 + index)),
        }
    }

    fn fixture(count: usize) -> Fixture {
        let members: Vec<MemberSpec> = (0..count).map(spec).collect();
        let mut policy = String::new();
        for (i, m) in members.iter().enumerate() {
            policy.push_str(&format!("log {}\n", m.log_key));
            policy.push_str(&format!("witness w{i} {}\n", m.witness_key));
        }
        policy.push_str("group all-of-them any");
        for i in 0..count {
            policy.push_str(&format!(" w{i}"));
        }
        policy.push_str("\nquorum all-of-them\n");
        Fixture { policy, members }
    }

    fn render(fixture: &Fixture) -> String {
        render_membership("kvitto-testnet", &fixture.policy, &fixture.members).expect("render")
    }

    fn check_err(fixture: &Fixture, expected: impl Fn(&MembershipError) -> bool) {
        let error = render_membership("kvitto-testnet", &fixture.policy, &fixture.members)
            .expect_err("must be rejected");
        assert!(expected(&error), "unexpected error: {error:?}");
        let message = error.to_string();
        assert!(
            message.chars().next().is_some_and(|c| !c.is_uppercase()) && !message.ends_with('.'),
            "{message}"
        );
    }

    #[test]
    fn render_then_parse_round_trips() {
        let fixture = fixture(3);
        let text = render(&fixture);
        let membership = Membership::parse(text.as_bytes()).expect("parse");
        assert_eq!(membership.network(), "kvitto-testnet");
        assert_eq!(membership.members().len(), 3);
        assert_eq!(membership.policy_text(), fixture.policy);
        assert_eq!(membership.policy().logs().len(), 3);
        let second = &membership.members()[1];
        assert_eq!(second.operator, "SE*A01");
        assert_eq!(second.peer_id.to_string(), fixture.members[1].peer_id);
        assert_eq!(second.log_key.to_string(), fixture.members[1].log_key);
        assert_eq!(
            membership
                .member_by_peer(&second.peer_id)
                .map(|m| &m.operator),
            Some(&second.operator)
        );
        assert_eq!(
            membership
                .member_by_origin(&second.origin)
                .map(|m| m.peer_id),
            Some(second.peer_id)
        );
        assert_eq!(
            membership
                .member_by_operator("SE*A02")
                .map(|m| m.origin.as_str()),
            Some("kvitto/testnet/op2")
        );
        assert!(membership.member_by_operator("SE*ZZZ").is_none());
        let expected: [u8; 32] = Sha256::digest(text.as_bytes()).into();
        assert_eq!(membership.digest(), expected);
        assert_eq!(membership.digest_hex(), hex::encode(expected));
        assert_eq!(
            membership.protocol_version(),
            format!("/kvitto/kvitto-testnet/{}", &hex::encode(expected)[..16])
        );
    }

    #[test]
    fn digest_covers_the_exact_bytes() {
        let text = render(&fixture(1));
        let a = Membership::parse(text.as_bytes()).expect("parse");
        let b = Membership::parse(format!("{text}\n# comment\n").as_bytes()).expect("parse");
        assert_ne!(a.digest(), b.digest());
        assert_ne!(a.witness_topic(), b.witness_topic());
        assert_ne!(a.request_protocol(), b.request_protocol());
    }

    #[test]
    fn parses_the_documented_shape() {
        let fixture = fixture(1);
        let m = &fixture.members[0];
        let text = format!(
            "network = \"kvitto-testnet\"          # network name\n\
             policy = \"\"\"\n{policy}\"\"\"\n\n\
             [[member]]\n\
             operator = \"{operator}\"\n\
             role = \"both\"\n\
             peer_id = \"{peer_id}\"\n\
             addresses = []\n\
             origin = \"{origin}\"\n\
             log_key = \"{log_key}\"\n\
             witness_key = \"{witness_key}\"\n",
            policy = fixture.policy,
            operator = m.operator,
            peer_id = m.peer_id,
            origin = m.origin,
            log_key = m.log_key,
            witness_key = m.witness_key,
        );
        let membership = Membership::parse(text.as_bytes()).expect("parse");
        let member = &membership.members()[0];
        assert_eq!(member.role, Role::Both);
        assert!(member.addresses.is_empty());
        assert_eq!(member.http, None);
    }

    #[test]
    fn rejects_unknown_fields() {
        let text = render(&fixture(1));
        let top = format!("extra = 1\n{text}");
        assert!(matches!(
            Membership::parse(top.as_bytes()),
            Err(MembershipError::Syntax(_))
        ));
        let in_member = format!("{text}nickname = \"x\"\n");
        assert!(matches!(
            Membership::parse(in_member.as_bytes()),
            Err(MembershipError::Syntax(_))
        ));
    }

    #[test]
    fn rejects_missing_fields_and_bad_syntax() {
        assert!(matches!(
            Membership::parse(b"network = \"x\"\n"),
            Err(MembershipError::Syntax(_))
        ));
        assert!(matches!(
            Membership::parse(b"network = "),
            Err(MembershipError::Syntax(_))
        ));
    }

    #[test]
    fn rejects_large_and_non_utf8_files() {
        let large = vec![b'#'; MEMBERSHIP_SIZE_MAX + 1];
        assert_eq!(
            Membership::parse(&large).expect_err("large").to_string(),
            "membership file is larger than 262144 bytes"
        );
        assert_eq!(
            Membership::parse(b"network = \"\xff\"").expect_err("utf-8"),
            MembershipError::NotUtf8
        );
    }

    #[test]
    fn load_reads_a_file_and_reports_io_errors() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("membership.toml");
        let text = render(&fixture(2));
        std::fs::write(&path, &text).expect("write");
        let membership = Membership::load(&path).expect("load");
        assert_eq!(
            membership.digest(),
            Membership::parse(text.as_bytes()).expect("parse").digest()
        );
        let missing = Membership::load(&dir.path().join("missing.toml")).expect_err("missing");
        assert!(matches!(missing, MembershipError::Io { .. }), "{missing}");
        std::fs::write(&path, vec![b'#'; MEMBERSHIP_SIZE_MAX + 10]).expect("write");
        assert_eq!(
            Membership::load(&path).expect_err("large"),
            MembershipError::TooLarge {
                max: MEMBERSHIP_SIZE_MAX
            }
        );
    }

    #[test]
    fn rejects_bad_network_names() {
        let fixture = fixture(1);
        for name in ["", "Upper", "with space", "a/b", &"n".repeat(65)] {
            let error =
                render_membership(name, &fixture.policy, &fixture.members).expect_err("bad name");
            assert!(
                matches!(error, MembershipError::InvalidNetwork { .. }),
                "{error}"
            );
        }
    }

    #[test]
    fn rejects_a_policy_that_does_not_parse() {
        let mut fixture = fixture(1);
        fixture.policy = "log nonsense\nquorum none\n".to_owned();
        check_err(&fixture, |e| matches!(e, MembershipError::Policy(_)));
        fixture.policy = String::new();
        check_err(&fixture, |e| {
            matches!(e, MembershipError::Policy(PolicyError::NoQuorum))
        });
    }

    #[test]
    fn rejects_no_members_and_too_many_members() {
        let mut fixture = fixture(1);
        fixture.members.clear();
        check_err(&fixture, |e| matches!(e, MembershipError::NoMembers));
        let mut many = self::fixture(MEMBERS_MAX + 1);
        many.policy = "quorum none\n".to_owned();
        check_err(&many, |e| {
            matches!(e, MembershipError::TooManyMembers { count: 65, max: 64 })
        });
        let mut most = self::fixture(MEMBERS_MAX);
        most.policy = "quorum none\n".to_owned();
        render(&most);
    }

    #[test]
    fn rejects_bad_operators_and_roles() {
        let mut fixture = fixture(1);
        fixture.members[0].operator = "SE AAA".to_owned();
        check_err(&fixture, |e| {
            matches!(e, MembershipError::InvalidOperator { .. })
        });
        fixture.members[0].operator = String::new();
        check_err(&fixture, |e| {
            matches!(e, MembershipError::InvalidOperator { .. })
        });
        let mut text = render(&self::fixture(1));
        text = text.replace("role = \"cpo\"", "role = \"cpa\"");
        assert_eq!(
            Membership::parse(text.as_bytes()).expect_err("role"),
            MembershipError::InvalidRole {
                value: "cpa".to_owned()
            }
        );
    }

    #[test]
    fn rejects_bad_peer_ids() {
        let mut fixture = fixture(1);
        fixture.members[0].peer_id = "12D3KooWnotapeerid".to_owned();
        check_err(&fixture, |e| {
            matches!(e, MembershipError::InvalidPeerId { .. })
        });
        // A sha2-256 multihash peer id (as RSA keys have) is not an Ed25519 identity.
        let sha_peer = PeerId::from_multihash(
            libp2p::multihash::Multihash::wrap(0x12, &[7; 32]).expect("multihash"),
        )
        .expect("peer id");
        fixture.members[0].peer_id = sha_peer.to_string();
        check_err(&fixture, |e| {
            matches!(e, MembershipError::PeerIdNotEd25519 { .. })
        });
    }

    #[test]
    fn rejects_bad_addresses() {
        let mut fixture = fixture(2);
        fixture.members[0].addresses = vec!["127.0.0.1:7000".to_owned()];
        check_err(&fixture, |e| {
            matches!(e, MembershipError::InvalidAddress { .. })
        });
        let other = fixture.members[1].peer_id.clone();
        fixture.members[0].addresses = vec![format!("/ip4/127.0.0.1/tcp/1/p2p/{other}")];
        check_err(&fixture, |e| {
            matches!(e, MembershipError::AddressPeerMismatch { .. })
        });
        let own = fixture.members[0].peer_id.clone();
        fixture.members[0].addresses = vec![format!("/ip4/127.0.0.1/tcp/1/p2p/{own}")];
        render(&fixture);
        fixture.members[0].addresses = (0..=ADDRESSES_PER_MEMBER_MAX)
            .map(|i| format!("/ip4/127.0.0.1/tcp/{}", 1000 + i))
            .collect();
        check_err(&fixture, |e| {
            matches!(e, MembershipError::TooManyAddresses { count: 9, .. })
        });
    }

    #[test]
    fn rejects_bad_keys() {
        let mut fixture = fixture(2);
        let witness_key = fixture.members[0].witness_key.clone();
        let log_key = fixture.members[0].log_key.clone();
        // A cosignature key where a note key belongs, and the other way round.
        fixture.members[0].log_key = witness_key.clone();
        check_err(&fixture, |e| {
            matches!(
                e,
                MembershipError::InvalidLogKey {
                    error: KeyError::WrongType { .. },
                    ..
                }
            )
        });
        fixture.members[0].log_key = log_key.clone();
        fixture.members[0].witness_key = log_key;
        check_err(&fixture, |e| {
            matches!(e, MembershipError::InvalidWitnessKey { .. })
        });
        fixture.members[0].witness_key = witness_key;
        fixture.members[0].origin = "kvitto/testnet/elsewhere".to_owned();
        check_err(&fixture, |e| {
            matches!(e, MembershipError::LogKeyNameMismatch { .. })
        });
    }

    #[test]
    fn rejects_bad_http_urls() {
        let mut fixture = fixture(1);
        for url in ["ftp://x", "127.0.0.1:7000", "http://a b"] {
            fixture.members[0].http = Some(url.to_owned());
            check_err(&fixture, |e| {
                matches!(e, MembershipError::InvalidHttp { .. })
            });
        }
    }

    #[test]
    fn rejects_duplicates() {
        let base = fixture(2);

        let mut f = Fixture {
            policy: base.policy.clone(),
            members: base.members.clone(),
        };
        f.members[1].operator = f.members[0].operator.clone();
        check_err(&f, |e| matches!(e, MembershipError::DuplicateOperator(_)));

        let mut f = Fixture {
            policy: base.policy.clone(),
            members: base.members.clone(),
        };
        f.members[1].peer_id = f.members[0].peer_id.clone();
        check_err(&f, |e| matches!(e, MembershipError::DuplicatePeerId(_)));

        let mut f = Fixture {
            policy: base.policy.clone(),
            members: base.members.clone(),
        };
        f.members[1].origin = f.members[0].origin.clone();
        f.members[1].log_key = f.members[0].log_key.clone();
        check_err(&f, |e| matches!(e, MembershipError::DuplicateOrigin(_)));

        let mut f = Fixture {
            policy: base.policy.clone(),
            members: base.members.clone(),
        };
        f.members[1].witness_key = f.members[0].witness_key.clone();
        check_err(&f, |e| matches!(e, MembershipError::DuplicateWitnessKey(_)));
    }
}
