//! What renters are told and operators hear: the deposit, how to reach the operators,
//! the map key, and the webhook told of every return.

use std::time::Duration;

use secrecy::SecretString;
use shared::config::{ConfigError, Settings, Var};
use url::Url;

pub(super) const VARS: &[Var] = &[
    Var::new(
        "DEPOSIT_AMOUNT",
        "10000",
        "The deposit in won, shown to renters",
    ),
    Var::new(
        "DEPOSIT_UNPAID_DAYS",
        "3",
        "Days after a return with the deposit unpaid before new rents are refused",
    ),
    Var::new(
        "DEPOSIT_ACCOUNT",
        "unset",
        "Where renters send the deposit (bank, number, holder)",
    ),
    Var::new(
        "SUPPORT_KAKAO_URL",
        "",
        "How renters reach the operators: a KakaoTalk channel's https:// chat link (shown in the footer, the guide and errors)",
    ),
    Var::new(
        "SUPPORT_PHONE",
        "",
        "How renters reach the operators: a phone number",
    ),
    Var::new(
        "SUPPORT_EMAIL",
        "",
        "How renters reach the operators: an e-mail address",
    ),
    Var::new(
        "KAKAO_MAP_KEY",
        "unset",
        "Kakao Maps JavaScript key; unset: the store list without a map",
    ),
    Var::new(
        "RETURN_WEBHOOK_URL",
        "unset",
        "Slack-compatible webhook told of every return (a secret)",
    ),
    Var::new(
        "RETURN_WEBHOOK_TIMEOUT",
        "5s",
        "Timeout of each webhook attempt (5 attempts)",
    ),
];

/// How renters reach the operators; any may be missing.
#[derive(Debug, Clone, Default, serde::Serialize, utoipa::ToSchema)]
pub struct Support {
    /// A KakaoTalk channel's chat link.
    pub kakao_url: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
}

pub(super) fn support(s: &Settings<'_>) -> Result<Support, ConfigError> {
    Ok(Support {
        kakao_url: match s.raw("SUPPORT_KAKAO_URL") {
            Some(url) if url.starts_with("https://") => Some(url),
            Some(_) => {
                return Err(ConfigError::new(
                    "SUPPORT_KAKAO_URL",
                    "must be an https:// link (a KakaoTalk channel's chat link)",
                ));
            }
            None => None,
        },
        phone: s.raw("SUPPORT_PHONE"),
        email: s.raw("SUPPORT_EMAIL"),
    })
}

pub(super) fn return_webhook(
    s: &Settings<'_>,
) -> Result<Option<crate::notify::WebhookConfig>, ConfigError> {
    let Some(raw) = s.raw("RETURN_WEBHOOK_URL") else {
        return Ok(None);
    };
    let parsed = Url::parse(&raw)
        .ok()
        .filter(|u| matches!(u.scheme(), "http" | "https"));
    if parsed.is_none() {
        // The value is a secret: never echoed back.
        return Err(ConfigError::new(
            "RETURN_WEBHOOK_URL",
            "must be an http(s) URL",
        ));
    }
    Ok(Some(crate::notify::WebhookConfig {
        url: SecretString::from(raw),
        timeout: s.duration_or("RETURN_WEBHOOK_TIMEOUT", Duration::from_secs(5))?,
    }))
}
