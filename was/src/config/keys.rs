//! The server's keys: the bank-account key and the key of the hashes it keeps.

use base64::Engine;
use shared::config::{ConfigError, Settings, Var};

pub(super) const VARS: &[Var] = &[
    Var::new(
        "BANK_ENCRYPTION_KEY",
        "required",
        "32-byte key (64 hex digits or base64) sealing bank account numbers",
    ),
    Var::new(
        "SERVER_HMAC_KEY",
        "required",
        "32-byte key (64 hex digits or base64) keying the hashes kept of request bodies and rate-limit subjects; not the bank key",
    ),
    Var::new(
        "SERVER_HMAC_KEY_PREVIOUS",
        "unset",
        "The key before a rotation, still accepted for stored idempotency hashes (drop after IDEMPOTENCY_TTL)",
    ),
];

/// The 32-byte bank-account key; its `Debug` never shows it.
#[derive(Clone)]
pub struct BankKey(pub [u8; 32]);

impl std::fmt::Debug for BankKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BankKey([REDACTED])")
    }
}

/// The server's own keys for hashes it keeps (`SERVER_HMAC_KEY`, and the one before a
/// rotation).
#[derive(Clone)]
pub struct ServerKeys {
    pub current: [u8; 32],
    pub previous: Option<[u8; 32]>,
}

impl std::fmt::Debug for ServerKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ServerKeys(..)")
    }
}

pub(super) fn server_keys(s: &Settings<'_>) -> Result<ServerKeys, ConfigError> {
    Ok(ServerKeys {
        current: parse_key("SERVER_HMAC_KEY", &s.required_string("SERVER_HMAC_KEY")?)?,
        previous: match s.raw("SERVER_HMAC_KEY_PREVIOUS") {
            Some(text) => Some(parse_key("SERVER_HMAC_KEY_PREVIOUS", &text)?),
            None => None,
        },
    })
}

/// The bank-account key: 32 bytes, as 64 hex digits or standard base64.
pub(super) fn parse_key(var: &str, text: &str) -> Result<[u8; 32], ConfigError> {
    let bytes = if text.len() == 64 && text.bytes().all(|b| b.is_ascii_hexdigit()) {
        hex::decode(text).map_err(|e| ConfigError::new(var, e))?
    } else {
        base64::engine::general_purpose::STANDARD
            .decode(text)
            .map_err(|_| ConfigError::new(var, "expected 32 bytes as 64 hex digits or base64"))?
    };
    bytes
        .try_into()
        .map_err(|b: Vec<u8>| ConfigError::new(var, format!("expected 32 bytes, got {}", b.len())))
}
