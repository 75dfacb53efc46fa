//! Kakao login, the OAuth 2.0 authorization-code flow: the browser is sent to Kakao's
//! authorize URL, comes back with a code, and the WAS exchanges the code at the token
//! endpoint and reads the profile. Every URL is configuration, so tests and local runs
//! point it at a stand-in provider.

use secrecy::ExposeSecret;
use serde::Deserialize;
use url::Url;

use crate::config::KakaoConfig;
use crate::error::Error;

pub struct KakaoClient {
    config: KakaoConfig,
    http: reqwest::Client,
}

/// What the WAS keeps of a Kakao profile.
#[derive(Debug, Clone)]
pub struct KakaoProfile {
    pub id: i64,
    pub nickname: Option<String>,
    pub email: Option<String>,
}

#[derive(Deserialize)]
struct TokenResponse {
    access_token: String,
}

#[derive(Deserialize)]
struct ProfileResponse {
    id: i64,
    #[serde(default)]
    kakao_account: Option<KakaoAccount>,
    #[serde(default)]
    properties: Option<Properties>,
}

#[derive(Deserialize)]
struct KakaoAccount {
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    profile: Option<Properties>,
}

#[derive(Deserialize)]
struct Properties {
    #[serde(default)]
    nickname: Option<String>,
}

impl KakaoClient {
    pub fn new(config: KakaoConfig) -> Result<Self, reqwest::Error> {
        let http = reqwest::Client::builder()
            .timeout(config.timeout)
            .connect_timeout(config.timeout)
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        Ok(Self { config, http })
    }

    pub fn config(&self) -> &KakaoConfig {
        &self.config
    }

    /// Where to send the browser, with `state` bound to its cookie.
    pub fn authorize_url(&self, state: &str) -> Url {
        let mut url = self.config.authorize_url.clone();
        url.query_pairs_mut()
            .append_pair("response_type", "code")
            .append_pair("client_id", &self.config.client_id)
            .append_pair("redirect_uri", self.config.redirect_uri.as_str())
            .append_pair("state", state);
        url
    }

    /// Exchanges an authorization code for the user's profile.
    pub async fn profile_for_code(&self, code: &str) -> Result<KakaoProfile, Error> {
        let mut form = vec![
            ("grant_type", "authorization_code"),
            ("client_id", self.config.client_id.as_str()),
            ("redirect_uri", self.config.redirect_uri.as_str()),
            ("code", code),
        ];
        if let Some(secret) = &self.config.client_secret {
            form.push(("client_secret", secret.expose_secret()));
        }
        let response = self
            .http
            .post(self.config.token_url.clone())
            .form(&form)
            .send()
            .await
            .map_err(unreachable_provider)?;
        if response.status().is_client_error() {
            return Err(Error::bad_request(
                "kakao_code_rejected",
                "카카오 로그인이 완료되지 않았습니다. 처음부터 다시 시도해 주세요.",
            ));
        }
        if !response.status().is_success() {
            return Err(Error::BadGateway(format!(
                "Kakao token endpoint answered {}",
                response.status()
            )));
        }
        let token: TokenResponse = response
            .json()
            .await
            .map_err(|e| Error::BadGateway(format!("unexpected Kakao token response: {e}")))?;
        let response = self
            .http
            .get(self.config.profile_url.clone())
            .bearer_auth(&token.access_token)
            .send()
            .await
            .map_err(unreachable_provider)?;
        if !response.status().is_success() {
            return Err(Error::BadGateway(format!(
                "Kakao profile endpoint answered {}",
                response.status()
            )));
        }
        let profile: ProfileResponse = response
            .json()
            .await
            .map_err(|e| Error::BadGateway(format!("unexpected Kakao profile response: {e}")))?;
        let nickname = profile
            .kakao_account
            .as_ref()
            .and_then(|a| a.profile.as_ref())
            .and_then(|p| p.nickname.clone())
            .or_else(|| profile.properties.and_then(|p| p.nickname));
        Ok(KakaoProfile {
            id: profile.id,
            nickname,
            email: profile.kakao_account.and_then(|a| a.email),
        })
    }
}

fn unreachable_provider(e: reqwest::Error) -> Error {
    tracing::warn!(error = %e, "Kakao unreachable");
    Error::Unavailable("Kakao login")
}
