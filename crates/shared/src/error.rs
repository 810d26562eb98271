//! The one error body of the API: `application/problem+json` (RFC 9457).

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

/// Media type of every error response.
pub const PROBLEM_CONTENT_TYPE: &str = "application/problem+json";

/// An RFC 9457 problem document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Problem {
    /// A URI reference naming the problem type; `about:blank` when only the status matters.
    #[serde(rename = "type", default = "about_blank")]
    pub kind: String,
    /// Short, human-readable summary of the problem type.
    pub title: String,
    /// The HTTP status code.
    pub status: u16,
    /// Human-readable explanation specific to this occurrence.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// Field name → reasons, for validation errors.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub errors: BTreeMap<String, Vec<String>>,
    /// Correlates a server error with the server's logs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// When a rate limit resets (RFC 3339), for 429 responses.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reset_at: Option<chrono::DateTime<chrono::Utc>>,
}

fn about_blank() -> String {
    "about:blank".to_owned()
}

impl Problem {
    /// A problem with a status, a title and an optional detail.
    pub fn new(status: u16, title: impl Into<String>, detail: Option<String>) -> Self {
        Self {
            kind: about_blank(),
            title: title.into(),
            status,
            detail,
            errors: BTreeMap::new(),
            request_id: None,
            reset_at: None,
        }
    }

    /// The best single line to show a person: the detail, else the title.
    pub fn message(&self) -> &str {
        self.detail.as_deref().unwrap_or(&self.title)
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.status, self.message())?;
        for (field, reasons) in &self.errors {
            write!(f, "; {field}: {}", reasons.join(", "))?;
        }
        Ok(())
    }
}
