//! The one error type of the WAS's HTTP layer.
//!
//! Each variant says what went wrong and maps to exactly one status code. Responses are
//! `application/problem+json` (RFC 9457) with a human message in `detail`; internal
//! details (SQL errors, Redis errors) are logged with the request's span, which carries
//! the request id, and never sent to the client.

use std::time::Duration;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// 400: the request is malformed (bad JSON syntax, a missing form field).
    #[error("{0}")]
    BadRequest(String),
    /// 401: no valid session.
    #[error("login required")]
    Unauthenticated,
    /// 401: the credentials given at login are wrong.
    #[error("wrong email or password")]
    BadCredentials,
    /// 403: logged in, but not allowed to do this.
    #[error("{0}")]
    Forbidden(String),
    /// 404: the named resource does not exist (or is deleted).
    #[error("{0} not found")]
    NotFound(&'static str),
    /// 409: the request conflicts with the current state.
    #[error("{0}")]
    Conflict(String),
    /// 413: the body is larger than we accept.
    #[error("request body too large")]
    PayloadTooLarge,
    /// 415: the body is not JSON.
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// 422: well-formed, but a value is invalid.
    #[error("{0}")]
    Invalid(String),
    /// 429: slow down; `retry_after` tells how long.
    #[error("{message}")]
    TooManyRequests {
        message: String,
        retry_after: Duration,
    },
    /// 503: a dependency (Redis, PostgreSQL, Kakao) is not reachable right now.
    #[error("{0} is unavailable")]
    Unavailable(&'static str),
    /// 503: this replica is at capacity for this kind of work (password hashing); the
    /// client should retry in a moment.
    #[error("{0} are at capacity")]
    Busy(&'static str),
    /// 502: an upstream identity provider answered something unusable.
    #[error("{0}")]
    BadGateway(String),
    /// 500: a bug or an unexpected failure; details go to the log only.
    #[error("internal error: {0}")]
    Internal(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// An RFC 9457 problem document.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Problem {
    /// Always `about:blank`: the status code says what kind of problem this is.
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub title: String,
    pub status: u16,
    pub detail: String,
}

impl Error {
    pub fn status(&self) -> StatusCode {
        match self {
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::Unauthenticated | Self::BadCredentials => StatusCode::UNAUTHORIZED,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::Conflict(_) => StatusCode::CONFLICT,
            Self::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::Unavailable(_) | Self::Busy(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::BadGateway(_) => StatusCode::BAD_GATEWAY,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub fn invalid(message: impl Into<String>) -> Self {
        Self::Invalid(message.into())
    }

    pub fn conflict(message: impl Into<String>) -> Self {
        Self::Conflict(message.into())
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::Forbidden(message.into())
    }

    pub fn internal(message: impl std::fmt::Display) -> Self {
        Self::Internal(message.to_string())
    }
}

/// A problem response without going through `Error`, for middleware.
pub fn problem(status: StatusCode, detail: impl Into<String>) -> Response {
    let body = Problem {
        kind: "about:blank",
        title: status.canonical_reason().unwrap_or("Error").to_owned(),
        status: status.as_u16(),
        detail: detail.into(),
    };
    let mut response = (status, axum::Json(body)).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/problem+json"),
    );
    response
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let status = self.status();
        let detail = match &self {
            Self::Internal(message) => {
                tracing::error!(error = %message, "internal error");
                "an internal error occurred; it has been logged".to_owned()
            }
            Self::Unavailable(what) => {
                tracing::warn!(dependency = what, "dependency unavailable");
                format!("{what} is temporarily unavailable; please retry shortly")
            }
            Self::Busy(_) => {
                "요청이 몰려 지금은 처리할 수 없습니다. 잠시 후 다시 시도해 주세요.".to_owned()
            }
            other => other.to_string(),
        };
        let mut response = problem(status, detail);
        match self {
            Self::TooManyRequests { retry_after, .. } => {
                let secs = retry_after.as_secs().max(1).to_string();
                if let Ok(v) = HeaderValue::from_str(&secs) {
                    response.headers_mut().insert(header::RETRY_AFTER, v);
                }
            }
            Self::Unavailable(_) => {
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from_static("2"));
            }
            Self::Busy(_) => {
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
            }
            _ => {}
        }
        response
    }
}

impl From<sqlx::Error> for Error {
    fn from(e: sqlx::Error) -> Self {
        match &e {
            sqlx::Error::RowNotFound => Self::Internal("unexpected missing row".into()),
            // Text PostgreSQL cannot store (NUL, an untranslatable character): the
            // client's input, not our bug. The parsers refuse these first; this is the
            // net under them.
            sqlx::Error::Database(db)
                if matches!(db.code().as_deref(), Some("22021" | "22P05")) =>
            {
                Self::Invalid("text contains characters that cannot be stored".into())
            }
            _ if is_unavailable(&e) => {
                tracing::warn!(error = %e, "database unavailable");
                Self::Unavailable("the database")
            }
            _ => Self::Internal(e.to_string()),
        }
    }
}

/// Whether a database error means "down or overloaded, retry later" rather than a bug:
/// the pool could not hand out a connection in time, the server went away, or it
/// answered with a SQLSTATE that says so. Requests answer 503 for these, and
/// `was migrate` keeps retrying them while PostgreSQL starts.
pub fn is_unavailable(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(db) => is_unavailable_code(db.code().as_deref()),
        _ => false,
    }
}

/// SQLSTATE classes that mean "try again later": 57P01..57P03 (admin shutdown, crash
/// shutdown, cannot connect now), 08xxx (connection exceptions), 53300 (too many
/// connections), 57014 (statement timeout).
fn is_unavailable_code(code: Option<&str>) -> bool {
    matches!(code, Some(c) if c.starts_with("08") || c.starts_with("57P") || c == "53300" || c == "57014")
}

impl From<tower_sessions::session::Error> for Error {
    fn from(e: tower_sessions::session::Error) -> Self {
        tracing::warn!(error = %e, "session store error");
        Self::Unavailable("the session store")
    }
}

/// Turns named constraint violations into client errors, in the spirit of
/// realworld-axum-sqlx's `on_constraint`: `map` gets the violated constraint's name and
/// returns the error to answer with, or `None` to treat it as any other database error.
pub trait ResultExt<T> {
    fn on_constraint(self, map: impl FnOnce(&str) -> Option<Error>) -> Result<T>;
}

impl<T> ResultExt<T> for std::result::Result<T, sqlx::Error> {
    fn on_constraint(self, map: impl FnOnce(&str) -> Option<Error>) -> Result<T> {
        self.map_err(|e| {
            let mapped = match &e {
                sqlx::Error::Database(db) => db.constraint().and_then(map),
                _ => None,
            };
            mapped.unwrap_or_else(|| Error::from(e))
        })
    }
}

/// Whether a sqlx error is a violation of the named constraint.
pub fn is_constraint(e: &sqlx::Error, name: &str) -> bool {
    matches!(e, sqlx::Error::Database(db) if db.constraint() == Some(name))
}
