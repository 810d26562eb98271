//! The typed error of every API call, decoded from `application/problem+json` with fallbacks for
//! plain-text and empty bodies (proxies and crashed upstreams do not speak problem+json).

use std::fmt;

use shared::Problem;

/// Why an API call failed.
#[derive(Debug, Clone, PartialEq)]
pub enum ApiError {
    /// The server answered with an error status; always carried as a problem document, even
    /// when the body was not one.
    Problem(Problem),
    /// The request never got an answer (offline, DNS, CORS refusal).
    Network(String),
    /// The server answered 2xx but the body was not what the DTO expects.
    Decode(String),
}

impl ApiError {
    /// The HTTP status, when the server answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::Problem(p) => Some(p.status),
            Self::Network(_) | Self::Decode(_) => None,
        }
    }

    /// Whether the caller must sign in (again).
    pub fn is_unauthorized(&self) -> bool {
        self.status() == Some(401)
    }

    /// Whether the resource does not exist (or is not the caller's).
    pub fn is_not_found(&self) -> bool {
        self.status() == Some(404)
    }

    /// The best single line for a person.
    pub fn message(&self) -> String {
        match self {
            Self::Problem(p) => p.message().to_owned(),
            Self::Network(m) => format!("Could not reach the server: {m}"),
            Self::Decode(m) => format!("Unexpected response from the server: {m}"),
        }
    }

    /// The problem document, when there is one.
    pub fn problem(&self) -> Option<&Problem> {
        match self {
            Self::Problem(p) => Some(p),
            Self::Network(_) | Self::Decode(_) => None,
        }
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message())
    }
}

/// Longest plain-text body kept as a detail: an HTML error page from a proxy is not worth more.
const MAX_TEXT_DETAIL: usize = 300;

/// Turns an error response into an [`ApiError`].
///
/// A body that parses as a problem wins whatever the content type says; JSON with a `message`
/// or `error` string is accepted next; then the trimmed text; then just the status.
pub fn decode_error(status: u16, status_text: &str, body: &str) -> ApiError {
    let title = if status_text.trim().is_empty() {
        default_title(status).to_owned()
    } else {
        status_text.trim().to_owned()
    };
    let trimmed = body.trim();
    if trimmed.is_empty() {
        return ApiError::Problem(Problem::new(status, title, None));
    }
    if let Ok(mut problem) = serde_json::from_str::<Problem>(trimmed) {
        // The status line is authoritative; a body copied from elsewhere may disagree.
        problem.status = status;
        return ApiError::Problem(problem);
    }
    if let Ok(value) = serde_json::from_str::<serde_json::Value>(trimmed) {
        let detail = ["detail", "message", "error"]
            .iter()
            .find_map(|k| value.get(*k).and_then(|v| v.as_str()))
            .map(str::to_owned);
        return ApiError::Problem(Problem::new(status, title, detail));
    }
    if trimmed.starts_with('<') {
        // An HTML error page says nothing a person can act on.
        return ApiError::Problem(Problem::new(status, title, None));
    }
    let detail: String = trimmed.chars().take(MAX_TEXT_DETAIL).collect();
    ApiError::Problem(Problem::new(status, title, Some(detail)))
}

/// A title for a status when the server gave none.
pub fn default_title(status: u16) -> &'static str {
    match status {
        400 => "Bad request",
        401 => "Sign-in required",
        403 => "Forbidden",
        404 => "Not found",
        409 => "Conflict",
        422 => "Invalid input",
        429 => "Too many requests",
        500 => "Server error",
        502..=504 => "Service unavailable",
        _ => "Request failed",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn problem_json_is_decoded_with_field_errors() {
        let body = r#"{"type":"about:blank","title":"Invalid input","status":422,
            "detail":"prompt is too long","errors":{"prompt":["too long"]},"request_id":"r1"}"#;
        let err = decode_error(422, "Unprocessable Entity", body);
        let p = err.problem().unwrap();
        assert_eq!(p.message(), "prompt is too long");
        assert_eq!(p.errors["prompt"], vec!["too long".to_owned()]);
        assert_eq!(p.request_id.as_deref(), Some("r1"));
    }

    #[test]
    fn status_line_wins_over_body_status() {
        let err = decode_error(503, "", r#"{"title":"x","status":200}"#);
        assert_eq!(err.status(), Some(503));
    }

    #[test]
    fn plain_text_becomes_the_detail() {
        let err = decode_error(502, "Bad Gateway", "upstream timed out\n");
        assert_eq!(err.message(), "upstream timed out");
        assert_eq!(err.problem().unwrap().title, "Bad Gateway");
    }

    #[test]
    fn empty_body_uses_a_default_title() {
        let err = decode_error(401, "", "");
        assert!(err.is_unauthorized());
        assert_eq!(err.message(), "Sign-in required");
    }

    #[test]
    fn html_pages_and_other_json_fall_back() {
        assert_eq!(decode_error(500, "", "<html>oops</html>").message(), "Server error");
        assert_eq!(decode_error(400, "", r#"{"message":"nope"}"#).message(), "nope");
    }
}
