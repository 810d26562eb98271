//! MCP connectors: a user's MCP servers, offered to their agents per task.
//!
//! Environment values (local servers) and header values (remote servers) are secrets: sealed
//! under the master key as JSON maps, never returned by the API (only their names), opened only
//! by the worker that runs one of the owner's tasks, and redacted from that run's events.

pub mod endpoints;
pub mod model;
pub mod presets;

use std::collections::BTreeMap;

use secrecy::ExposeSecret;
use uuid::Uuid;

use crate::crypto::{SealedAt, SecretBox};
use model::ConnectorRow;

/// The sealed columns of `connectors`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecretColumn {
    /// `env_enc`: a local server's environment.
    Env,
    /// `headers_enc`: a remote server's headers.
    Headers,
}

/// Where a connector's secrets are sealed: the connector's row and column.
pub fn sealed_at(user_id: Uuid, connector_id: &str, column: SecretColumn) -> SealedAt<'_> {
    SealedAt {
        table: "connectors",
        column: match column {
            SecretColumn::Env => "env_enc",
            SecretColumn::Headers => "headers_enc",
        },
        owner: user_id,
        row: connector_id,
    }
}

/// Seals a map of secrets for `at`; `None` for an empty map.
pub fn seal_map(
    secrets: &SecretBox,
    at: &SealedAt<'_>,
    map: &BTreeMap<String, String>,
) -> anyhow::Result<Option<String>> {
    if map.is_empty() {
        return Ok(None);
    }
    Ok(Some(secrets.seal(at, &serde_json::to_string(map)?)?))
}

/// Opens one of a connector row's sealed maps (an absent one is empty).
pub fn open_map(
    secrets: &SecretBox,
    row: &ConnectorRow,
    column: SecretColumn,
) -> anyhow::Result<BTreeMap<String, String>> {
    let sealed = match column {
        SecretColumn::Env => row.env_enc.as_deref(),
        SecretColumn::Headers => row.headers_enc.as_deref(),
    };
    let Some(sealed) = sealed else { return Ok(BTreeMap::new()) };
    let id = row.id.to_string();
    let plain = secrets.open(&sealed_at(row.user_id, &id, column), sealed)?;
    Ok(serde_json::from_str(plain.expose_secret())?)
}

/// The connectors a run gets: the task's connectors that still belong to its owner and are
/// enabled, secrets opened, in the order the task lists them.
pub async fn for_run(
    conn: &mut diesel_async::AsyncPgConnection,
    secrets: &SecretBox,
    user_id: Uuid,
    ids: &[Uuid],
) -> anyhow::Result<Vec<sandbox::agents::McpServer>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let rows = model::by_ids(conn, user_id, ids).await?;
    let mut out = Vec::new();
    for id in ids {
        let Some(row) = rows.iter().find(|r| r.id == *id && r.enabled) else { continue };
        out.push(to_mcp(secrets, row)?);
    }
    Ok(out)
}

fn to_mcp(secrets: &SecretBox, row: &ConnectorRow) -> anyhow::Result<sandbox::agents::McpServer> {
    use sandbox::agents::{McpServer, McpTransport};
    let transport = if row.kind == "remote" {
        McpTransport::Remote {
            url: row.url.clone().unwrap_or_default(),
            headers: open_map(secrets, row, SecretColumn::Headers)?,
        }
    } else {
        McpTransport::Local {
            command: row.command.clone().unwrap_or_default(),
            args: row.args.clone(),
            env: open_map(secrets, row, SecretColumn::Env)?,
        }
    };
    Ok(McpServer { name: row.name.clone(), transport })
}

/// Every secret value of the user's connectors, for redacting a run's events. A value that
/// cannot be opened is an error: the run must not start with a redaction list that misses it.
pub async fn secret_values(
    conn: &mut diesel_async::AsyncPgConnection,
    secrets: &SecretBox,
    user_id: Uuid,
) -> anyhow::Result<Vec<String>> {
    let rows = model::list(conn, user_id).await?;
    let mut values = Vec::new();
    for row in rows {
        for column in [SecretColumn::Env, SecretColumn::Headers] {
            let map = open_map(secrets, &row, column)?;
            values.extend(map.into_values().filter(|v| !v.trim().is_empty()));
        }
    }
    Ok(values)
}

/// Checks that every id is one of the user's enabled connectors; the field errors otherwise.
pub async fn check_for_task(
    conn: &mut diesel_async::AsyncPgConnection,
    user_id: Uuid,
    ids: &[Uuid],
) -> diesel::QueryResult<Vec<String>> {
    let mut problems = Vec::new();
    if ids.is_empty() {
        return Ok(problems);
    }
    if ids.len() > 20 {
        problems.push("at most 20 connectors per task".to_owned());
    }
    let rows = model::by_ids(conn, user_id, ids).await?;
    let mut seen = std::collections::HashSet::new();
    for id in ids {
        if !seen.insert(id) {
            problems.push(format!("{id} is listed twice"));
            continue;
        }
        match rows.iter().find(|r| r.id == *id) {
            None => problems.push(format!("{id} is not one of your connectors")),
            Some(r) if !r.enabled => problems.push(format!("connector `{}` is disabled", r.name)),
            Some(_) => {}
        }
    }
    Ok(problems)
}
