//! The QR codes: the key that signs them, the original service's unsigned ones, and the
//! origin printed in them.

use shared::config::{ConfigError, Settings, Var};
use url::Url;

use super::keys::{BankKey, parse_key};

pub(super) const VARS: &[Var] = &[
    Var::new(
        "QR_SIGNING_KEY",
        "derived from BANK_ENCRYPTION_KEY",
        "32-byte key (64 hex digits or base64) signing the QR codes the console prints",
    ),
    Var::new(
        "QR_LEGACY_CODES",
        "refuse",
        "refuse, or accept the original service's unsigned QR URLs until QR_LEGACY_UNTIL",
    ),
    Var::new(
        "QR_LEGACY_UNTIL",
        "required with accept",
        "Last day (YYYY-MM-DD, Korea) the unsigned stickers work; refused after it",
    ),
    Var::new(
        "PUBLIC_URL",
        "from the request's Host",
        "Origin printed in QR codes (https://upbrella.example)",
    ),
];

/// The original service's QR URLs (`/rent/form/{id}`, `/return/form?storeId=…`) carry no
/// signature of ours, so they prove nobody's presence. Refused by default; accepting
/// them is a migration mode with an end date, after which they are refused by itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LegacyCodes {
    Refuse,
    /// Accepted through this day (Korea), inclusive.
    AcceptUntil(time::Date),
}

impl LegacyCodes {
    /// Whether a code-less rent or return is accepted at `now`.
    pub fn accepted_at(self, now: time::OffsetDateTime) -> bool {
        match self {
            Self::Refuse => false,
            Self::AcceptUntil(last) => {
                let seoul = time::UtcOffset::from_hms(9, 0, 0).unwrap_or(time::UtcOffset::UTC);
                now.to_offset(seoul).date() <= last
            }
        }
    }
}

pub(super) fn legacy_codes(s: &Settings<'_>) -> Result<LegacyCodes, ConfigError> {
    match s.string_or("QR_LEGACY_CODES", "refuse").as_str() {
        "refuse" => Ok(LegacyCodes::Refuse),
        "accept" => {
            let Some(raw) = s.raw("QR_LEGACY_UNTIL") else {
                return Err(ConfigError::new(
                    "QR_LEGACY_UNTIL",
                    "is required with QR_LEGACY_CODES=accept: the last day (YYYY-MM-DD) the \
                     original stickers are accepted",
                ));
            };
            time::Date::parse(
                raw.trim(),
                time::macros::format_description!("[year]-[month]-[day]"),
            )
            .map(LegacyCodes::AcceptUntil)
            .map_err(|_| ConfigError::new("QR_LEGACY_UNTIL", "must be a date, YYYY-MM-DD"))
        }
        _ => Err(ConfigError::new(
            "QR_LEGACY_CODES",
            "must be refuse or accept (with QR_LEGACY_UNTIL)",
        )),
    }
}

/// `QR_SIGNING_KEY`, or a key derived from the bank key.
pub(super) fn qr_key(s: &Settings<'_>, bank_key: &[u8; 32]) -> Result<BankKey, ConfigError> {
    Ok(BankKey(match s.raw("QR_SIGNING_KEY") {
        Some(text) => parse_key("QR_SIGNING_KEY", &text)?,
        None => crate::domain::codes::derive_key(bank_key),
    }))
}

/// `PUBLIC_URL` as an origin (`https://host[:port]`).
pub(super) fn public_url(s: &Settings<'_>) -> Result<Option<String>, ConfigError> {
    let Some(raw) = s.raw("PUBLIC_URL") else {
        return Ok(None);
    };
    Url::parse(&raw)
        .ok()
        .filter(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some())
        .map(|u| Some(u.origin().ascii_serialization()))
        .ok_or_else(|| ConfigError::new("PUBLIC_URL", "must be an http(s) origin"))
}
