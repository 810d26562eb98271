//! The web terminal: its token and the messages of its WebSocket (see `docs/terminal.md`).
//!
//! Client → server frames are text, each one JSON [`ClientMessage`]. Server → client frames
//! are binary, the terminal's raw output, except for a few text frames of JSON
//! [`ServerMessage`] that say which session this is and how it ended.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// A short-lived credential for one task's terminal, for clients that cannot set headers on a
/// WebSocket (browsers): `GET /api/v1/tasks/{id}/terminal?token=…`. Used once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TerminalToken {
    /// The token, opaque.
    pub token: String,
    /// When it stops working.
    pub expires_at: DateTime<Utc>,
}

/// A frame the client sends (a text frame of JSON).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum ClientMessage {
    /// Keys typed (or text pasted), as UTF-8.
    Input {
        /// What to type.
        data: String,
    },
    /// The window's new size in character cells, each side 1 to 1000.
    Resize {
        /// Columns.
        cols: u16,
        /// Rows.
        rows: u16,
    },
}

/// A control frame the server sends (a text frame of JSON); output comes as binary frames.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerMessage {
    /// First frame of every connection: the session to reattach to with `?session=`.
    Session {
        /// The session id.
        id: Uuid,
        /// Whether this connection reattached to a running session (its recent output follows).
        reattached: bool,
    },
    /// The shell has exited; the server closes the connection next.
    Exit,
}
