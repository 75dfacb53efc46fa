//! Kakao: the login, and the address search the console uses.

use std::time::Duration;

use secrecy::SecretString;
use shared::config::{ConfigError, Settings, Var};
use url::Url;

use super::{http_url, url};

pub(super) const VARS: &[Var] = &[
    Var::new("KAKAO_CLIENT_ID", "unset", "Enables Kakao login"),
    Var::new(
        "KAKAO_CLIENT_SECRET",
        "unset",
        "Kakao client secret, if the app has one",
    ),
    Var::new(
        "KAKAO_REDIRECT_URI",
        "required with Kakao",
        "Our callback URL as registered at Kakao",
    ),
    Var::new(
        "KAKAO_AUTHORIZE_URL",
        "https://kauth.kakao.com/oauth/authorize",
        "Kakao authorize endpoint",
    ),
    Var::new(
        "KAKAO_TOKEN_URL",
        "https://kauth.kakao.com/oauth/token",
        "Kakao token endpoint",
    ),
    Var::new(
        "KAKAO_PROFILE_URL",
        "https://kapi.kakao.com/v2/user/me",
        "Kakao profile endpoint",
    ),
    Var::new(
        "KAKAO_TIMEOUT",
        "5s",
        "Timeout of each call to Kakao (login, address search)",
    ),
    Var::new(
        "KAKAO_SUCCESS_REDIRECT",
        "/",
        "Where the browser lands after Kakao login",
    ),
    Var::new(
        "KAKAO_REST_API_KEY",
        "KAKAO_CLIENT_ID",
        "Kakao REST API key for the console's address search (Kakao Local); unset: coordinates are typed",
    ),
    Var::new(
        "KAKAO_LOCAL_API_URL",
        "https://dapi.kakao.com",
        "Kakao Local API base (address search)",
    ),
];

#[derive(Clone, Debug)]
pub struct KakaoConfig {
    pub client_id: String,
    pub client_secret: Option<SecretString>,
    pub redirect_uri: Url,
    pub authorize_url: Url,
    pub token_url: Url,
    pub profile_url: Url,
    pub timeout: Duration,
    /// Where the browser lands after a successful Kakao login.
    pub success_redirect: String,
}

/// Kakao Local's address search (`GET {base}/v2/local/search/address.json`).
#[derive(Clone, Debug)]
pub struct GeocodeConfig {
    pub api_key: SecretString,
    pub base_url: Url,
    pub timeout: Duration,
}

pub(super) fn kakao_config(s: &Settings<'_>) -> Result<Option<KakaoConfig>, ConfigError> {
    let Some(client_id) = s.raw("KAKAO_CLIENT_ID") else {
        return Ok(None);
    };
    Ok(Some(KakaoConfig {
        client_id,
        client_secret: s.raw("KAKAO_CLIENT_SECRET").map(SecretString::from),
        redirect_uri: url(s, "KAKAO_REDIRECT_URI", None)?,
        authorize_url: url(
            s,
            "KAKAO_AUTHORIZE_URL",
            Some("https://kauth.kakao.com/oauth/authorize"),
        )?,
        token_url: url(
            s,
            "KAKAO_TOKEN_URL",
            Some("https://kauth.kakao.com/oauth/token"),
        )?,
        profile_url: url(
            s,
            "KAKAO_PROFILE_URL",
            Some("https://kapi.kakao.com/v2/user/me"),
        )?,
        timeout: s.duration_or("KAKAO_TIMEOUT", Duration::from_secs(5))?,
        success_redirect: s.string_or("KAKAO_SUCCESS_REDIRECT", "/"),
    }))
}

/// `KAKAO_REST_API_KEY`, or else the login's client id, which at Kakao is the same app's
/// REST API key.
pub(super) fn geocode_config(s: &Settings<'_>) -> Result<Option<GeocodeConfig>, ConfigError> {
    let Some(key) = s
        .raw("KAKAO_REST_API_KEY")
        .or_else(|| s.raw("KAKAO_CLIENT_ID"))
    else {
        return Ok(None);
    };
    let base_url = http_url(s, "KAKAO_LOCAL_API_URL", "https://dapi.kakao.com")?;
    Ok(Some(GeocodeConfig {
        api_key: SecretString::from(key),
        base_url,
        timeout: s.duration_or("KAKAO_TIMEOUT", Duration::from_secs(5))?,
    }))
}
