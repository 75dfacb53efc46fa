//! The one error type of the WAS's HTTP layer.
//!
//! Each variant says what went wrong and maps to exactly one status code. Responses are
//! `application/problem+json` (RFC 9457) with a stable machine-readable `code` (the web
//! front-end and other clients branch on it) and a Korean message for people in
//! `detail`; internal details (SQL errors, Redis errors) are logged with the request's
//! span, which carries the request id, and never sent to the client.

use std::time::Duration;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// A client error's stable code and its Korean message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reason {
    pub code: &'static str,
    pub message: String,
}

impl std::fmt::Display for Reason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// 400: the request is malformed (bad JSON syntax, a missing form field).
    #[error("{0}")]
    BadRequest(Reason),
    /// 401: no valid session.
    #[error("로그인이 필요합니다.")]
    Unauthenticated,
    /// 401: the credentials given at login are wrong.
    #[error("이메일 또는 비밀번호가 올바르지 않습니다.")]
    BadCredentials,
    /// 401: logged in, but this change needs the password given again (or a fresh Kakao
    /// login) within `REAUTH_WINDOW`.
    #[error(
        "안전을 위해 비밀번호를 다시 입력해 주세요. (Please confirm your password to continue.)"
    )]
    ReauthRequired,
    /// 403: logged in, but not allowed to do this.
    #[error("{0}")]
    Forbidden(Reason),
    /// 404: the named resource does not exist (or is deleted).
    #[error("{} 찾을 수 없습니다.", Thing(.0))]
    NotFound(&'static str),
    /// 404 with its own code and message: nothing to act on (`no_open_rental`).
    #[error("{0}")]
    Missing(Reason),
    /// 409: the request conflicts with the current state.
    #[error("{0}")]
    Conflict(Reason),
    /// 413: the body is larger than we accept.
    #[error("요청 본문이 너무 큽니다.")]
    PayloadTooLarge,
    /// 415: the body is not JSON.
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// 422: well-formed, but a value is invalid.
    #[error("{0}")]
    Invalid(Reason),
    /// 429: slow down; `retry_after` tells how long.
    #[error("{reason}")]
    TooManyRequests {
        reason: Reason,
        retry_after: Duration,
    },
    /// 503: a dependency (Redis, PostgreSQL, Kakao) is not reachable right now.
    #[error("{} 일시적으로 연결할 수 없습니다. 잠시 후 다시 시도해 주세요.", Thing(.0))]
    Unavailable(&'static str),
    /// 404: a feature this deployment has not configured (address search without a
    /// Kakao key, photo uploads without a bucket); the client offers what works instead.
    #[error("{0}")]
    Unconfigured(Reason),
    /// 503: a third party (Kakao's address search, AWS credentials) did not answer in
    /// time or answered with an error; the details are logged.
    #[error("{0}")]
    UpstreamUnavailable(Reason),
    /// 503: this replica is at capacity for this kind of work (password hashing); the
    /// client should retry in a moment.
    #[error("요청이 몰려 지금은 처리할 수 없습니다. 잠시 후 다시 시도해 주세요.")]
    Busy(&'static str),
    /// 502: an upstream identity provider answered something unusable.
    #[error("카카오 로그인 응답을 처리할 수 없습니다. 잠시 후 다시 시도해 주세요.")]
    BadGateway(String),
    /// 500: a bug or an unexpected failure; details go to the log only.
    #[error("internal error: {0}")]
    Internal(String),
}

/// The Korean name of a thing an error is about, with its subject particle: the names
/// `NotFound` and `Unavailable` carry are the code's (`store`, `the database`).
struct Thing<'a>(&'a str);

impl std::fmt::Display for Thing<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self.0 {
            "store" => "매장을",
            "umbrella" => "우산을",
            "user" => "사용자를",
            "rental" => "대여 기록을",
            "report" => "신고를",
            "closure" => "휴무 일정을",
            "locker" => "보관함을",
            "image" => "이미지를",
            "classification" => "지역 또는 태그를",
            "region" => "지역을",
            "blacklist entry" => "차단 기록을",
            "Kakao login" => "카카오 로그인을",
            "route" => "요청한 주소를",
            "the database" => "데이터베이스에",
            "the session store" => "세션 저장소에",
            _ => "요청한 항목을",
        })
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// 422 for a `store_id` that names no store in service.
pub fn unknown_store() -> Error {
    Error::invalid("unknown_store", "없는 매장입니다.")
}

/// An RFC 9457 problem document.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Problem {
    /// Always `about:blank`: the status code says what kind of problem this is.
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub title: String,
    pub status: u16,
    /// What went wrong, stable across releases and languages (`umbrella_not_rentable`,
    /// `store_not_found`, `invalid_value`, ...).
    pub code: String,
    /// The same in Korean, for people.
    pub detail: String,
}

impl Error {
    pub fn status(&self) -> StatusCode {
        match self {
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::Unauthenticated | Self::BadCredentials | Self::ReauthRequired => {
                StatusCode::UNAUTHORIZED
            }
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::NotFound(_) | Self::Missing(_) | Self::Unconfigured(_) => StatusCode::NOT_FOUND,
            Self::Conflict(_) => StatusCode::CONFLICT,
            Self::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::Unavailable(_) | Self::Busy(_) | Self::UpstreamUnavailable(_) => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            Self::BadGateway(_) => StatusCode::BAD_GATEWAY,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The stable machine-readable code of the problem.
    pub fn code(&self) -> String {
        match self {
            Self::BadRequest(r)
            | Self::Forbidden(r)
            | Self::Missing(r)
            | Self::Conflict(r)
            | Self::Invalid(r)
            | Self::Unconfigured(r)
            | Self::UpstreamUnavailable(r)
            | Self::TooManyRequests { reason: r, .. } => r.code.to_owned(),
            Self::Unauthenticated => "login_required".to_owned(),
            Self::BadCredentials => "bad_credentials".to_owned(),
            Self::ReauthRequired => "reauth_required".to_owned(),
            Self::NotFound(what) => format!("{}_not_found", what.replace(' ', "_").to_lowercase()),
            Self::PayloadTooLarge => "body_too_large".to_owned(),
            Self::UnsupportedMediaType(_) => "json_required".to_owned(),
            Self::Unavailable(_) => "temporarily_unavailable".to_owned(),
            Self::Busy(_) => "busy".to_owned(),
            Self::BadGateway(_) => "identity_provider_error".to_owned(),
            Self::Internal(_) => "internal_error".to_owned(),
        }
    }

    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::BadRequest(Reason {
            code,
            message: message.into(),
        })
    }

    pub fn invalid(code: &'static str, message: impl Into<String>) -> Self {
        Self::Invalid(Reason {
            code,
            message: message.into(),
        })
    }

    pub fn not_found_code(code: &'static str, message: impl Into<String>) -> Self {
        Self::Missing(Reason {
            code,
            message: message.into(),
        })
    }

    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        Self::Conflict(Reason {
            code,
            message: message.into(),
        })
    }

    pub fn forbidden(code: &'static str, message: impl Into<String>) -> Self {
        Self::Forbidden(Reason {
            code,
            message: message.into(),
        })
    }

    pub fn too_many(code: &'static str, message: impl Into<String>, retry_after: Duration) -> Self {
        Self::TooManyRequests {
            reason: Reason {
                code,
                message: message.into(),
            },
            retry_after,
        }
    }

    pub fn unconfigured(code: &'static str, message: impl Into<String>) -> Self {
        Self::Unconfigured(Reason {
            code,
            message: message.into(),
        })
    }

    pub fn upstream_unavailable(code: &'static str, message: impl Into<String>) -> Self {
        Self::UpstreamUnavailable(Reason {
            code,
            message: message.into(),
        })
    }

    pub fn internal(message: impl std::fmt::Display) -> Self {
        Self::Internal(message.to_string())
    }
}

/// A problem response without going through `Error`, for middleware.
pub fn problem(status: StatusCode, code: &str, detail: impl Into<String>) -> Response {
    let body = Problem {
        kind: "about:blank",
        title: status.canonical_reason().unwrap_or("Error").to_owned(),
        status: status.as_u16(),
        code: code.to_owned(),
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
                "일시적인 오류가 발생했습니다. 잠시 후 다시 시도해 주세요.".to_owned()
            }
            Self::Unavailable(what) => {
                tracing::warn!(dependency = what, "dependency unavailable");
                self.to_string()
            }
            Self::BadGateway(message) => {
                tracing::warn!(error = %message, "identity provider answered something unusable");
                self.to_string()
            }
            other => other.to_string(),
        };
        let mut response = problem(status, &self.code(), detail);
        match self {
            Self::TooManyRequests { retry_after, .. } => {
                let secs = retry_after.as_secs().max(1).to_string();
                if let Ok(v) = HeaderValue::from_str(&secs) {
                    response.headers_mut().insert(header::RETRY_AFTER, v);
                }
            }
            Self::Unavailable(_) | Self::UpstreamUnavailable(_) => {
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
                Self::invalid("unstorable_text", "저장할 수 없는 문자가 들어 있습니다.")
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
