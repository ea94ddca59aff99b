//! `kvitto status`: a node's logs, their witnessing, its peers, and split-view alerts.

use anyhow::Result;
use serde_json::Value;

use crate::client::Client;

/// The status lines of the node behind `client`, and whether any alert is raised.
pub async fn status(client: &Client) -> Result<(Value, String, bool)> {
    let status: Value = client.get_json("/v1/status").await?;
    let text = render(&status);
    let alarmed = status["alerts"]
        .as_array()
        .is_some_and(|alerts| !alerts.is_empty());
    Ok((status, text, alarmed))
}

fn render(status: &Value) -> String {
    let mut out = String::new();
    let own = &status["log"];
    out.push_str(&format!(
        "node {} ({})\n\n",
        own["operator"].as_str().unwrap_or("?"),
        own["origin"].as_str().unwrap_or("?")
    ));
    out.push_str(&format!(
        "{:<10} {:<7} {:>9} {:>11} {:>10}  {:<24} {}\n",
        "log", "kind", "size", "checkpoint", "witnessed", "cosigners", "state"
    ));
    for log in status["logs"].as_array().into_iter().flatten() {
        let cosigners: Vec<&str> = log["cosigners"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|c| c.as_str())
            .map(|name| name.rsplit('/').nth(1).unwrap_or(name))
            .collect();
        let state = if !log["split_view"].is_null() {
            "SPLIT VIEW: flagged, not cosigned".to_owned()
        } else if let Some(error) = log["mirror_error"].as_str() {
            format!("stuck: {error}")
        } else {
            "ok".to_owned()
        };
        out.push_str(&format!(
            "{:<10} {:<7} {:>9} {:>11} {:>10}  {:<24} {}\n",
            log["id"].as_str().unwrap_or("?"),
            log["kind"].as_str().unwrap_or("?"),
            log["size"].as_u64().unwrap_or(0),
            log["checkpoint_size"].as_u64().unwrap_or(0),
            log["witnessed_size"].as_u64().unwrap_or(0),
            if cosigners.is_empty() {
                "-".to_owned()
            } else {
                cosigners.join(",")
            },
            state
        ));
    }
    let peers = status["peers"].as_array().cloned().unwrap_or_default();
    if !peers.is_empty() {
        out.push_str("\npeers\n");
        for peer in peers {
            let state = match (peer["connected"].as_bool(), peer["last_error"].as_str()) {
                (Some(true), _) => match peer["rtt_ms"].as_u64() {
                    Some(rtt) => format!("connected, rtt {rtt} ms"),
                    None => "connected".to_owned(),
                },
                (_, Some(error)) => format!("down: {error}"),
                _ => "down".to_owned(),
            };
            out.push_str(&format!(
                "  {:<10} {}\n",
                peer["operator"].as_str().unwrap_or("?"),
                state
            ));
        }
    }
    let alerts = status["alerts"].as_array().cloned().unwrap_or_default();
    if !alerts.is_empty() {
        out.push_str("\nALERTS\n");
        for alert in alerts {
            out.push_str(&format!("  {}\n", alert.as_str().unwrap_or("?")));
        }
    }
    out
}
