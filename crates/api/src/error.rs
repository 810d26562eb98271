//! The API's error type and its one mapping to `application/problem+json`.
//!
//! Layering: database functions return `diesel::QueryResult`, infrastructure returns `anyhow`,
//! handlers return `Result<_, ApiError>`. Each variant names its status here and nowhere else.
//! `Internal` logs its cause and answers an opaque 500; the request id that ties the body to the
//! log line is added by [`crate::request_id`], which rewrites every 5xx body.

use std::collections::BTreeMap;

use actix_web::http::{header, StatusCode};
use actix_web::{HttpResponse, ResponseError};
use chrono::{DateTime, Utc};
use shared::error::PROBLEM_CONTENT_TYPE;
use shared::Problem;

/// The detail of a 404 for a path no endpoint serves (as opposed to a missing resource).
pub const NO_SUCH_ROUTE: &str = "No endpoint has this path and method.";

/// Every way a request can fail.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The request is malformed (bad JSON, bad query).
    #[error("{0}")]
    BadRequest(String),
    /// No valid credentials were presented.
    #[error("authentication required")]
    Unauthorized,
    /// Credentials were presented but do not allow this.
    #[error("{0}")]
    Forbidden(String),
    /// The resource does not exist or is not the caller's.
    #[error("not found")]
    NotFound,
    /// No endpoint has this path and method.
    #[error("no such endpoint")]
    NoSuchRoute,
    /// The request conflicts with the resource's state.
    #[error("{0}")]
    Conflict(String),
    /// The body is larger than allowed.
    #[error("request body too large")]
    PayloadTooLarge,
    /// Fields failed validation: field → reasons.
    #[error("validation failed")]
    Validation(BTreeMap<String, Vec<String>>),
    /// The request is well-formed but cannot be processed (e.g. unsupported remote).
    #[error("{0}")]
    Unprocessable(String),
    /// A quota or rate limit is exhausted until `reset_at`.
    #[error("rate limit exceeded")]
    RateLimited {
        /// Explanation for the user.
        detail: String,
        /// When the limit resets.
        reset_at: DateTime<Utc>,
    },
    /// A dependency (the database) is down or saturated.
    #[error("service unavailable")]
    Unavailable(#[source] anyhow::Error),
    /// Anything else: logged, never shown.
    #[error("internal error")]
    Internal(#[from] anyhow::Error),
}

impl ApiError {
    /// A validation error on one field.
    pub fn invalid(field: &str, reason: impl Into<String>) -> Self {
        Self::Validation(BTreeMap::from([(field.to_owned(), vec![reason.into()])]))
    }

    /// The problem document for this error.
    pub fn problem(&self) -> Problem {
        let status = self.status_code();
        let title = status.canonical_reason().unwrap_or("Error");
        let mut problem = match self {
            Self::BadRequest(detail)
            | Self::Forbidden(detail)
            | Self::Conflict(detail)
            | Self::Unprocessable(detail) => {
                Problem::new(status.as_u16(), title, Some(detail.clone()))
            }
            Self::Unauthorized => Problem::new(
                status.as_u16(),
                title,
                Some("Sign in, or send a valid API token as `Authorization: Bearer`.".into()),
            ),
            Self::NotFound => Problem::new(status.as_u16(), title, None),
            Self::NoSuchRoute => Problem::new(status.as_u16(), title, Some(NO_SUCH_ROUTE.into())),
            Self::PayloadTooLarge => Problem::new(status.as_u16(), title, Some(self.to_string())),
            Self::Validation(errors) => {
                let mut p = Problem::new(
                    status.as_u16(),
                    title,
                    Some("One or more fields are invalid.".into()),
                );
                p.errors = errors.clone();
                p
            }
            Self::RateLimited { detail, reset_at } => {
                let mut p = Problem::new(status.as_u16(), title, Some(detail.clone()));
                p.reset_at = Some(*reset_at);
                p
            }
            Self::Unavailable(_) | Self::Internal(_) => Problem::new(status.as_u16(), title, None),
        };
        problem.kind = format!("https://drydock.dev/problems/{}", status.as_u16());
        problem
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::Unauthorized => StatusCode::UNAUTHORIZED,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::NotFound | Self::NoSuchRoute => StatusCode::NOT_FOUND,
            Self::Conflict(_) => StatusCode::CONFLICT,
            Self::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::Unprocessable(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        match self {
            Self::Internal(cause) => tracing::error!(error = ?cause, "internal error"),
            Self::Unavailable(cause) => tracing::warn!(error = %cause, "dependency unavailable"),
            _ => {}
        }
        let mut response = HttpResponse::build(self.status_code());
        response.insert_header((header::CONTENT_TYPE, PROBLEM_CONTENT_TYPE));
        if let Self::Unauthorized = self {
            response.insert_header((header::WWW_AUTHENTICATE, "Bearer"));
        }
        if let Self::RateLimited { reset_at, .. } = self {
            let secs = (*reset_at - Utc::now()).num_seconds().max(1);
            response.insert_header((header::RETRY_AFTER, secs.to_string()));
        }
        response.json(self.problem())
    }
}

impl From<diesel::result::Error> for ApiError {
    fn from(err: diesel::result::Error) -> Self {
        match err {
            diesel::result::Error::NotFound => Self::NotFound,
            // PostgreSQL cannot store U+0000 in text. Whatever field carried it (a JSON string's
            // `\u0000`, a query's `%00`), it is the client's input, not a server fault.
            diesel::result::Error::DatabaseError(_, ref info)
                if info.message().starts_with("invalid byte sequence")
                    && info.message().ends_with("0x00") =>
            {
                Self::BadRequest(
                    "The request contains a NUL character (U+0000), which cannot be stored.".into(),
                )
            }
            other => Self::Internal(other.into()),
        }
    }
}

impl From<crate::db::PoolError> for ApiError {
    fn from(err: crate::db::PoolError) -> Self {
        Self::Unavailable(anyhow::anyhow!("database pool: {err}"))
    }
}

/// The result type of handlers.
pub type ApiResult<T> = Result<T, ApiError>;
