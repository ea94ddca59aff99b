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
    /// IANA time zone of the operator's locations, for tariff time-of-day restrictions.
    #[serde(default = "default_time_zone")]
    pub time_zone: String,
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
        self.operator.replace('*', "-").to_lowercase()
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
}
