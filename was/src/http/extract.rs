//! Extractors whose rejections are our problem+json errors instead of axum's plain text.

use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use crate::error::Error;

/// `axum::Json` with problem+json rejections: 400 for malformed JSON, 415 without a JSON
/// content type, 413 when too large, 422 when a field has the wrong type or is missing.
#[derive(Debug, Clone, Copy, Default, FromRequest)]
#[from_request(via(axum::Json), rejection(Error))]
pub struct Json<T>(pub T);

impl<T: serde::Serialize> IntoResponse for Json<T> {
    fn into_response(self) -> Response {
        axum::Json(self.0).into_response()
    }
}

impl From<JsonRejection> for Error {
    fn from(rejection: JsonRejection) -> Self {
        // serde's own words (which field, where) follow the Korean sentence: they help
        // whoever wrote the client.
        let text = rejection.body_text();
        match rejection.status() {
            StatusCode::UNSUPPORTED_MEDIA_TYPE => Error::UnsupportedMediaType(
                "Content-Type: application/json인 JSON 본문이 필요합니다.".into(),
            ),
            StatusCode::PAYLOAD_TOO_LARGE => Error::PayloadTooLarge,
            StatusCode::UNPROCESSABLE_ENTITY => Error::invalid(
                "invalid_body",
                format!("요청 본문의 값이 올바르지 않습니다. ({text})"),
            ),
            _ => Error::bad_request(
                "malformed_body",
                format!("요청 본문을 JSON으로 읽을 수 없습니다. ({text})"),
            ),
        }
    }
}

/// `axum::extract::Path` with problem+json rejections (400: an id that is not a number).
#[derive(Debug, FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(Error))]
pub struct Path<T>(pub T);

impl From<PathRejection> for Error {
    fn from(rejection: PathRejection) -> Self {
        Error::bad_request(
            "invalid_path",
            format!("주소의 값이 올바르지 않습니다. ({})", rejection.body_text()),
        )
    }
}

/// `axum::extract::Query` with problem+json rejections (400).
#[derive(Debug, FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(Error))]
pub struct Query<T>(pub T);

impl From<QueryRejection> for Error {
    fn from(rejection: QueryRejection) -> Self {
        Error::bad_request(
            "invalid_query",
            format!(
                "주소의 조회 조건이 올바르지 않습니다. ({})",
                rejection.body_text()
            ),
        )
    }
}

/// Paging for admin lists: `?page=0&size=20`, size at most 100.
#[derive(Debug, Clone, Copy, serde::Deserialize, utoipa::IntoParams)]
pub struct Paging {
    /// Zero-based page number.
    #[serde(default)]
    pub page: u32,
    /// Items per page (1 to 100, default 20).
    #[serde(default = "default_size")]
    pub size: u32,
}

fn default_size() -> u32 {
    20
}

impl Paging {
    pub fn limit(&self) -> i64 {
        i64::from(self.size.clamp(1, 100))
    }

    pub fn offset(&self) -> i64 {
        i64::from(self.page) * self.limit()
    }
}

/// A search box: `?q=…`, trimmed; empty means no search.
#[derive(Debug, Clone, Default, serde::Deserialize, utoipa::IntoParams)]
pub struct Search {
    /// Text to look for (at most 100 characters).
    pub q: Option<String>,
}

impl Search {
    /// The text to look for. A query parameter that cannot be one (too long, control
    /// characters such as NUL, which PostgreSQL cannot hold) is a malformed request: 400.
    pub fn text(&self) -> Result<Option<&str>, crate::error::Error> {
        match self.q.as_deref().map(str::trim) {
            None | Some("") => Ok(None),
            Some(q) if q.chars().count() > 100 => Err(crate::error::Error::bad_request(
                "search_too_long",
                "검색어는 100자 이내로 입력해 주세요.",
            )),
            Some(q) if q.chars().any(char::is_control) => Err(crate::error::Error::bad_request(
                "invalid_search",
                "검색어에 쓸 수 없는 문자가 들어 있습니다.",
            )),
            Some(q) => Ok(Some(q)),
        }
    }
}
