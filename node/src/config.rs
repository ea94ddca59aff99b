//! The node's configuration file (`kvitto.toml` in the node directory) and directory layout.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};

pub const CONFIG_FILE: &str = "kvitto.toml";

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeConfig {
    /// The roaming network's name; readings signed for another network are rejected.
    pub network: String,
    /// The operator's OCPI party id, e.g. `SE*KVT`.
    pub operator: String,
    /// Where the HTTP API listens.
    pub http_listen: SocketAddr,
    /// Sign a checkpoint at least this often while there are new entries.
    #[serde(default = "default_checkpoint_interval_ms")]
    pub checkpoint_interval_ms: u64,
    /// Sign a checkpoint once this many entries are not covered by one.
    #[serde(default = "default_checkpoint_entries")]
    pub checkpoint_entries: u64,
    /// How far ahead of the node's clock a reading may be.
    #[serde(default = "default_future_skew_ms_max")]
    pub future_skew_ms_max: u64,
    /// How far in the past a published tariff may be made valid from. Keep the default (60 s) so
    /// that "valid before the session started" means "published before it"; the devnet raises
    /// it because it back-dates its simulated history.
    #[serde(default = "default_tariff_backdate_ms_max")]
    pub tariff_backdate_ms_max: u64,
    /// IANA time zone of the operator's locations, for tariff time-of-day restrictions.
    #[serde(default = "default_time_zone")]
    pub time_zone: String,
    /// The libp2p listen address, e.g. `/ip4/127.0.0.1/tcp/7101`. With a membership, the node
    /// joins the network: it mirrors and witnesses every member's log.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p2p_listen: Option<String>,
    /// The network's membership file, relative to the node directory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub membership: Option<PathBuf>,
    /// The SHA-256 of the membership file, hex: the node refuses any other file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub membership_sha256: Option<String>,
    /// How long personal data and amount openings are kept (`[retention]`).
    #[serde(default)]
    pub retention: RetentionConfig,
    /// Settlement periods and the background checks (`[settlement]`).
    #[serde(default)]
    pub settlement: SettlementConfig,
}

/// `[settlement]`: when periods close on their own, and how often the node looks for statements
/// to check and disputes to answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SettlementConfig {
    /// Close a period at every multiple of this many seconds (UTC); absent: only on request
    /// (`kvitto settle close`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub period_s: Option<u64>,
    /// How often to look for new statements and disputes.
    #[serde(default = "default_settlement_check_ms")]
    pub check_interval_ms: u64,
}

impl Default for SettlementConfig {
    fn default() -> Self {
        SettlementConfig {
            period_s: None,
            check_interval_ms: default_settlement_check_ms(),
        }
    }
}

fn default_settlement_check_ms() -> u64 {
    1_000
}

/// Retention periods, in days. Erasure on request does not wait for them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetentionConfig {
    /// A person (token, person key, session links) after their last session.
    pub person_days: u64,
    /// Amount openings, kept for tax without the link to the person.
    pub amounts_days: u64,
}

impl Default for RetentionConfig {
    fn default() -> Self {
        let d = kvitto_service::custody::Retention::default();
        RetentionConfig {
            person_days: d.person_ms / DAY_MS,
            amounts_days: d.amounts_ms / DAY_MS,
        }
    }
}

const DAY_MS: u64 = 24 * 3600 * 1000;

impl RetentionConfig {
    pub fn to_retention(self) -> kvitto_service::custody::Retention {
        kvitto_service::custody::Retention {
            person_ms: self.person_days.saturating_mul(DAY_MS),
            amounts_ms: self.amounts_days.saturating_mul(DAY_MS),
        }
    }
}

fn default_tariff_backdate_ms_max() -> u64 {
    kvitto_ledger::registry::TARIFF_BACKDATE_MS_MAX
}

fn default_time_zone() -> String {
    "Europe/Stockholm".into()
}

fn default_checkpoint_interval_ms() -> u64 {
    1_000
}
fn default_checkpoint_entries() -> u64 {
    1_000
}
fn default_future_skew_ms_max() -> u64 {
    5 * 60 * 1000
}

impl NodeConfig {
    pub fn new(network: &str, operator: &str, http_listen: SocketAddr) -> Result<Self> {
        let config = NodeConfig {
            network: network.into(),
            operator: operator.into(),
            http_listen,
            checkpoint_interval_ms: default_checkpoint_interval_ms(),
            checkpoint_entries: default_checkpoint_entries(),
            future_skew_ms_max: default_future_skew_ms_max(),
            time_zone: default_time_zone(),
            tariff_backdate_ms_max: default_tariff_backdate_ms_max(),
            p2p_listen: None,
            membership: None,
            membership_sha256: None,
            retention: RetentionConfig::default(),
            settlement: SettlementConfig::default(),
        };
        config.validate()?;
        Ok(config)
    }

    fn validate(&self) -> Result<()> {
        let ok = |s: &str| {
            !s.is_empty()
                && s.len() <= 64
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "*-_.".contains(c))
        };
        if !ok(&self.network) {
            bail!(
                "network {:?}: use 1 to 64 letters, digits, '*', '-', '_' or '.'",
                self.network
            );
        }
        if !ok(&self.operator) {
            bail!(
                "operator {:?}: use the OCPI party id, e.g. SE*KVT",
                self.operator
            );
        }
        self.tz()?;
        if self.checkpoint_interval_ms == 0 || self.checkpoint_entries == 0 {
            bail!("checkpoint_interval_ms and checkpoint_entries must be positive");
        }
        if self.membership.is_some() != self.membership_sha256.is_some() {
            bail!("membership and membership_sha256 go together: the file is pinned by its hash");
        }
        if self.membership.is_some() && self.p2p_listen.is_none() {
            bail!("a node with a membership needs p2p_listen");
        }
        Ok(())
    }

    pub fn tz(&self) -> Result<chrono_tz::Tz> {
        self.time_zone.parse().map_err(|_| {
            anyhow::anyhow!(
                "time_zone {:?} is not an IANA time zone name",
                self.time_zone
            )
        })
    }

    /// The log's URL path segment: the operator id with `*` as `-`, lower case.
    pub fn log_id(&self) -> String {
        log_id_of(&self.operator)
    }

    /// The name of this node's witness (cosignature) key.
    pub fn witness_name(&self) -> String {
        format!("{}/witness", self.origin())
    }

    /// The checkpoint origin, also the log key's name.
    pub fn origin(&self) -> String {
        format!("kvitto/{}/{}", self.network, self.log_id())
    }

    pub fn load(dir: &Path) -> Result<Self> {
        let path = dir.join(CONFIG_FILE);
        let text = std::fs::read_to_string(&path).with_context(|| {
            format!(
                "reading {} (create a node with `kvitto init`)",
                path.display()
            )
        })?;
        let config: NodeConfig =
            toml::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
        config.validate()?;
        Ok(config)
    }

    pub fn save(&self, dir: &Path) -> Result<()> {
        let path = dir.join(CONFIG_FILE);
        std::fs::write(&path, toml::to_string_pretty(self)?)
            .with_context(|| format!("writing {}", path.display()))
    }
}

/// The URL path segment of an operator's log: the party id with `*` as `-`, lower case.
pub fn log_id_of(operator: &str) -> String {
    kvitto_replica::log_id(operator)
}

/// Paths inside a node directory.
#[derive(Debug, Clone)]
pub struct NodeDir(pub PathBuf);

impl NodeDir {
    pub fn db(&self) -> PathBuf {
        self.0.join("db")
    }
    pub fn log_key(&self) -> PathBuf {
        self.0.join("keys/log.key")
    }
    pub fn p2p_key(&self) -> PathBuf {
        self.0.join("keys/p2p.key")
    }
    pub fn admin_token(&self) -> PathBuf {
        self.0.join("keys/admin.token")
    }
    pub fn witness_key(&self) -> PathBuf {
        self.0.join("keys/witness.key")
    }
    /// The store of the mirror of another member's log.
    pub fn mirror_db(&self, log_id: &str) -> PathBuf {
        self.0.join("mirrors").join(log_id)
    }
}
