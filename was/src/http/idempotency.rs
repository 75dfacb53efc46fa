//! `Idempotency-Key` for state-changing requests (renting, returning), so a retry from a
//! flaky phone connection or a proxy gets the first answer instead of acting twice.
//!
//! The key is claimed inside the request's own transaction and its response recorded in
//! the same transaction, so the record and the change it describes commit together. A
//! replay (same user, same key, same request) gets the recorded response back with
//! `Idempotent-Replayed: true`; a concurrent duplicate waits on the key's row and then
//! gets it too; the same key with a different request is 422. Records expire after
//! `IDEMPOTENCY_TTL` (the sweep in `startup` deletes them).

use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use sha2::{Digest, Sha256};
use sqlx::PgConnection;

use crate::error::{Error, Result};
use crate::repo::idempotency;

/// A request's key and what it asks, ready to be claimed.
pub struct Key {
    user_id: i64,
    key: String,
    operation: &'static str,
    request_hash: Vec<u8>,
}

impl Key {
    /// The request's key, if it sent one: 1 to 255 visible ASCII characters (400
    /// otherwise). `operation` and `body` identify the request the key stands for.
    pub fn from_request(
        headers: &HeaderMap,
        user_id: i64,
        operation: &'static str,
        body: &impl Serialize,
    ) -> Result<Option<Key>> {
        let Some(value) = headers.get("idempotency-key") else {
            return Ok(None);
        };
        let key = value
            .to_str()
            .ok()
            .map(str::trim)
            .filter(|k| (1..=255).contains(&k.len()) && k.bytes().all(|b| b.is_ascii_graphic()))
            .ok_or_else(|| {
                Error::bad_request(
                    "invalid_idempotency_key",
                    "Idempotency-Key는 보이는 ASCII 문자 1~255자여야 합니다.",
                )
            })?;
        Ok(Some(Key {
            user_id,
            key: key.to_owned(),
            operation,
            request_hash: request_hash(operation, body)?,
        }))
    }

    /// Claims the key inside the request's transaction. Returns the recorded response
    /// when the key was used before (after waiting for a concurrent holder to finish).
    /// An expired record is gone for good (it may hold a locker password): the key
    /// starts afresh.
    pub async fn claim(&self, tx: &mut PgConnection, ttl_secs: f64) -> Result<Option<Response>> {
        idempotency::expire(&mut *tx, self.user_id, &self.key, ttl_secs).await?;
        let claimed = idempotency::claim(
            &mut *tx,
            self.user_id,
            &self.key,
            self.operation,
            &self.request_hash,
        )
        .await?;
        if claimed {
            return Ok(None);
        }
        let stored = idempotency::stored(&mut *tx, self.user_id, &self.key).await?;
        if stored.operation != self.operation || stored.request_hash != self.request_hash {
            return Err(Error::invalid(
                "idempotency_key_reused",
                "이 Idempotency-Key는 다른 요청에 이미 쓰였습니다.",
            ));
        }
        let (Some(status), Some(body)) = (stored.status, stored.body) else {
            return Err(Error::conflict(
                "idempotency_key_in_progress",
                "같은 Idempotency-Key의 요청을 아직 처리하고 있습니다.",
            ));
        };
        let status =
            StatusCode::from_u16(u16::try_from(status).unwrap_or(500)).unwrap_or(StatusCode::OK);
        let mut response = (status, axum::Json(body)).into_response();
        response
            .headers_mut()
            .insert("idempotent-replayed", HeaderValue::from_static("true"));
        Ok(Some(response))
    }
}

/// Builds the response and, when the request had a key, records it in `tx`.
pub async fn finish(
    tx: &mut PgConnection,
    key: Option<&Key>,
    status: StatusCode,
    body: &impl Serialize,
) -> Result<Response> {
    let json = serde_json::to_value(body).map_err(Error::internal)?;
    if let Some(key) = key {
        let code = i16::try_from(status.as_u16()).unwrap_or(200);
        idempotency::record(&mut *tx, key.user_id, &key.key, code, &json).await?;
    }
    Ok((status, axum::Json(json)).into_response())
}

fn request_hash(operation: &str, body: &impl Serialize) -> Result<Vec<u8>> {
    let json = serde_json::to_vec(body).map_err(Error::internal)?;
    let mut hasher = Sha256::new();
    hasher.update(operation.as_bytes());
    hasher.update([0]);
    hasher.update(&json);
    Ok(hasher.finalize().to_vec())
}
