//! `Idempotency-Key` for state-changing requests (renting, returning), so a retry from a
//! flaky phone connection or a proxy gets the first answer instead of acting twice.
//!
//! The key is claimed inside the request's own transaction and its response recorded in
//! the same transaction, so the record and the change it describes commit together. A
//! replay (same user, same key, same request) gets the recorded response back with
//! `Idempotent-Replayed: true`; a concurrent duplicate waits on the key's row and then
//! gets it too; the same key with a different request is 422. Records expire after
//! `IDEMPOTENCY_TTL` (the sweep in `startup` deletes them).
//!
//! The request is remembered as an HMAC under the server's key (`SERVER_HMAC_KEY`), never
//! a plain hash: a return's body holds a refund account number, which a bare SHA-256
//! would give away to anyone with a copy of the database (ten to fourteen digits are
//! tried in seconds). During a key rotation a record made under the previous key still
//! matches.

use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use hmac::{Hmac, Mac};
use serde::Serialize;
use sha2::Sha256;
use sqlx::PgConnection;

use crate::config::ServerKeys;
use crate::error::{Error, Result};
use crate::repo::idempotency;

/// A request's key and what it asks, ready to be claimed.
pub struct Key {
    user_id: i64,
    key: String,
    operation: &'static str,
    request_hash: Vec<u8>,
    /// The same request under the previous server key, during a rotation.
    previous_hash: Option<Vec<u8>>,
}

impl Key {
    /// The request's key, if it sent one: 1 to 255 visible ASCII characters (400
    /// otherwise). `operation` and `body` identify the request the key stands for.
    pub fn from_request(
        keys: &ServerKeys,
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
            request_hash: request_hash(&keys.current, operation, body)?,
            previous_hash: match &keys.previous {
                Some(key) => Some(request_hash(key, operation, body)?),
                None => None,
            },
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
        // Keyed hashes: compared in constant time like any other secret.
        let same = |hash: &[u8]| {
            bool::from(subtle::ConstantTimeEq::ct_eq(
                hash,
                &stored.request_hash[..],
            ))
        };
        let same_request =
            same(&self.request_hash) || self.previous_hash.as_deref().is_some_and(same);
        if stored.operation != self.operation || !same_request {
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

fn request_hash(key: &[u8; 32], operation: &str, body: &impl Serialize) -> Result<Vec<u8>> {
    let json = serde_json::to_vec(body).map_err(Error::internal)?;
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).map_err(Error::internal)?;
    mac.update(operation.as_bytes());
    mac.update(&[0]);
    mac.update(&json);
    Ok(mac.finalize().into_bytes().to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hash_of_a_body_needs_the_server_key() {
        use sha2::Digest;
        let body = serde_json::json!({"account_number": "12345678901"});
        let keyed = request_hash(&[1; 32], "return", &body).expect("hash");
        let other = request_hash(&[2; 32], "return", &body).expect("hash");
        assert_ne!(keyed, other);
        let mut plain = Sha256::new();
        plain.update(b"return\0");
        plain.update(serde_json::to_vec(&body).expect("json"));
        assert_ne!(keyed, plain.finalize().to_vec());
    }
}
