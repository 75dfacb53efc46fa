//! AWS credentials, from where the AWS SDKs find them: keys in the environment, else the
//! container credentials endpoint (the ECS task role, or EKS Pod Identity). They sign the
//! database's IAM tokens, the mail sent through SES and the photo uploads ([`crate::sigv4`]).
//!
//! The endpoint is either ECS's own (`http://169.254.170.2` followed by
//! `AWS_CONTAINER_CREDENTIALS_RELATIVE_URI`) or `AWS_CONTAINER_CREDENTIALS_FULL_URI`.
//! A full URI over plain HTTP must name a host the SDKs allow (see [`full_uri_allowed`]):
//! the credentials travel in clear, so only a loopback address or the link-local
//! addresses of ECS and EKS qualify. The authorization token the endpoint may want comes
//! from `AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE`, re-read at every fetch because the
//! agent rotates it, or else from `AWS_CONTAINER_AUTHORIZATION_TOKEN`.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::PathBuf;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use tokio::sync::Mutex;
use url::Url;

/// ECS's credentials endpoint, which `AWS_CONTAINER_CREDENTIALS_RELATIVE_URI` is under.
pub const ECS_ENDPOINT: &str = "http://169.254.170.2";

/// Where the AWS credentials come from, in the order the AWS SDKs look: static keys in
/// the environment, else the container's credentials endpoint.
#[derive(Clone)]
pub enum AwsCredentialSource {
    Static(AwsCredentials),
    /// `http://169.254.170.2$AWS_CONTAINER_CREDENTIALS_RELATIVE_URI` in an ECS task, or
    /// `AWS_CONTAINER_CREDENTIALS_FULL_URI`, with the authorization token if one is set.
    Endpoint {
        url: String,
        authorization: Option<AuthorizationToken>,
    },
}

/// The `Authorization` header value a credentials endpoint wants.
#[derive(Clone)]
pub enum AuthorizationToken {
    /// `AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE`: read at every fetch.
    File(PathBuf),
    /// `AWS_CONTAINER_AUTHORIZATION_TOKEN`.
    Value(SecretString),
}

impl std::fmt::Debug for AwsCredentialSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Static(c) => f
                .debug_struct("Static")
                .field("access_key_id", &c.access_key_id)
                .finish_non_exhaustive(),
            Self::Endpoint { url, .. } => f
                .debug_struct("Endpoint")
                .field("url", url)
                .finish_non_exhaustive(),
        }
    }
}

#[derive(Clone)]
pub struct AwsCredentials {
    pub access_key_id: String,
    pub secret_access_key: SecretString,
    pub session_token: Option<SecretString>,
    /// When temporary credentials stop working; `None` for long-lived keys.
    pub expires: Option<OffsetDateTime>,
}

/// A credential the WAS reads or fetches that it could not have.
#[derive(Debug, thiserror::Error)]
pub enum CredentialError {
    #[error("cannot read the database password file {path}: {source}")]
    File {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the database password file {0} is empty")]
    EmptyFile(PathBuf),
    #[error("cannot get AWS credentials from {url}: {reason}")]
    Endpoint { url: String, reason: String },
}

/// Whether `AWS_CONTAINER_CREDENTIALS_FULL_URI` may be used, by the AWS SDKs' rule: any
/// host over HTTPS; over HTTP only a loopback address (or `localhost`), ECS's
/// `169.254.170.2`, or EKS Pod Identity's `169.254.170.23` and `fd00:ec2::23`.
pub fn full_uri_allowed(url: &Url) -> bool {
    const ECS: Ipv4Addr = Ipv4Addr::new(169, 254, 170, 2);
    const EKS: Ipv4Addr = Ipv4Addr::new(169, 254, 170, 23);
    const EKS_V6: Ipv6Addr = Ipv6Addr::new(0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x23);
    match (url.scheme(), url.host()) {
        ("https", Some(_)) => true,
        ("http", Some(url::Host::Domain(name))) => name.eq_ignore_ascii_case("localhost"),
        ("http", Some(url::Host::Ipv4(ip))) => ip.is_loopback() || ip == ECS || ip == EKS,
        ("http", Some(url::Host::Ipv6(ip))) => {
            ip.is_loopback()
                || ip == EKS_V6
                || ip
                    .to_ipv4_mapped()
                    .is_some_and(|v4| IpAddr::V4(v4).is_loopback())
        }
        _ => false,
    }
}

/// AWS credentials from their source, cached until five minutes before they expire (the
/// ECS endpoint hands out credentials valid for hours and renews them well before).
pub struct AwsCredentialCache {
    http: reqwest::Client,
    cached: Mutex<Option<AwsCredentials>>,
}

impl Default for AwsCredentialCache {
    fn default() -> Self {
        Self {
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(2))
                .build()
                .unwrap_or_default(),
            cached: Mutex::new(None),
        }
    }
}

impl AwsCredentialCache {
    pub async fn get(
        &self,
        source: &AwsCredentialSource,
    ) -> Result<AwsCredentials, CredentialError> {
        let (url, authorization) = match source {
            AwsCredentialSource::Static(c) => return Ok(c.clone()),
            AwsCredentialSource::Endpoint { url, authorization } => (url, authorization),
        };
        let mut cached = self.cached.lock().await;
        let fresh_until = OffsetDateTime::now_utc() + time::Duration::minutes(5);
        if let Some(c) = cached.as_ref()
            && c.expires.is_none_or(|e| e > fresh_until)
        {
            return Ok(c.clone());
        }
        let fresh = self.fetch(url, authorization.as_ref()).await?;
        *cached = Some(fresh.clone());
        Ok(fresh)
    }

    async fn fetch(
        &self,
        url: &str,
        authorization: Option<&AuthorizationToken>,
    ) -> Result<AwsCredentials, CredentialError> {
        let failed = |reason: String| CredentialError::Endpoint {
            url: url.to_owned(),
            reason,
        };
        let mut request = self.http.get(url);
        if let Some(token) = authorization {
            let token = token.current().await.map_err(failed)?;
            request = request.header(http::header::AUTHORIZATION, token.expose_secret());
        }
        let response = request.send().await.map_err(|e| failed(e.to_string()))?;
        if !response.status().is_success() {
            return Err(failed(format!("status {}", response.status())));
        }
        let body: EndpointCredentials = response
            .json()
            .await
            .map_err(|e| failed(format!("unexpected body: {e}")))?;
        let expires = match body.expiration {
            Some(text) => Some(
                OffsetDateTime::parse(&text, &Rfc3339)
                    .map_err(|e| failed(format!("bad Expiration {text:?}: {e}")))?,
            ),
            None => None,
        };
        Ok(AwsCredentials {
            access_key_id: body.access_key_id,
            secret_access_key: SecretString::from(body.secret_access_key),
            session_token: body.token.map(SecretString::from),
            expires,
        })
    }
}

impl AuthorizationToken {
    /// The token as it is now: a file's is read again (its trailing newline dropped).
    async fn current(&self) -> Result<SecretString, String> {
        match self {
            Self::Value(token) => Ok(token.clone()),
            Self::File(path) => {
                let text = tokio::fs::read_to_string(path).await.map_err(|e| {
                    format!(
                        "cannot read the authorization token file {}: {e}",
                        path.display()
                    )
                })?;
                let token = text.trim();
                if token.is_empty() || token.contains(['\r', '\n']) {
                    return Err(format!(
                        "the authorization token file {} holds no single-line token",
                        path.display()
                    ));
                }
                Ok(SecretString::from(token.to_owned()))
            }
        }
    }
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "PascalCase")]
struct EndpointCredentials {
    access_key_id: String,
    secret_access_key: String,
    token: Option<String>,
    expiration: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    fn allowed(url: &str) -> bool {
        full_uri_allowed(&Url::parse(url).expect("a URL"))
    }

    #[test]
    fn a_full_uri_over_http_must_be_loopback_or_the_container_agents() {
        for ok in [
            "https://credentials.example.com/role",
            "http://127.0.0.1:8080/creds",
            "http://127.1.2.3/creds",
            "http://localhost/creds",
            "http://[::1]:80/creds",
            "http://169.254.170.2/v2/credentials/x",
            "http://169.254.170.23/v1/credentials",
            "http://[fd00:ec2::23]/v1/credentials",
        ] {
            assert!(allowed(ok), "{ok} is allowed");
        }
        for refused in [
            "http://credentials.example.com/role",
            "http://10.0.0.1/creds",
            "http://169.254.169.254/latest/meta-data",
            "http://169.254.170.3/creds",
            "http://[fd00:ec2::24]/creds",
            "http://localhost.example.com/creds",
            "ftp://127.0.0.1/creds",
            "file:///etc/creds",
        ] {
            assert!(!allowed(refused), "{refused} is refused");
        }
    }

    #[test]
    fn credentials_never_show_in_debug() {
        let source = AwsCredentialSource::Static(AwsCredentials {
            access_key_id: "AKIAIOSFODNN7EXAMPLE".into(),
            secret_access_key: SecretString::from("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
            session_token: Some(SecretString::from("tok-123")),
            expires: None,
        });
        let shown = format!("{source:?}");
        assert!(shown.contains("AKIAIOSFODNN7EXAMPLE"));
        assert!(
            !shown.contains("EXAMPLEKEY") && !shown.contains("tok-123"),
            "{shown}"
        );
    }

    /// A credentials endpoint on loopback answering `count` requests with credentials
    /// that expire within the cache's margin (so every `get` fetches); returns its URL
    /// and the `Authorization` header of each request.
    async fn endpoint(count: usize) -> (String, tokio::task::JoinHandle<Vec<String>>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind loopback");
        let url = format!("http://{}/creds", listener.local_addr().expect("address"));
        let expires = (OffsetDateTime::now_utc() + time::Duration::minutes(1))
            .format(&Rfc3339)
            .expect("a date");
        let server = tokio::spawn(async move {
            let mut seen = Vec::new();
            for _ in 0..count {
                let (mut stream, _) = listener.accept().await.expect("a request");
                let mut head = Vec::new();
                let mut buf = [0u8; 1024];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    let n = stream.read(&mut buf).await.expect("read");
                    assert!(n > 0, "request head ended early");
                    head.extend_from_slice(&buf[..n]);
                }
                let head = String::from_utf8_lossy(&head).to_string();
                seen.push(
                    head.lines()
                        .filter_map(|l| l.split_once(':'))
                        .find(|(name, _)| name.eq_ignore_ascii_case("authorization"))
                        .map_or(String::new(), |(_, value)| value.trim().to_owned()),
                );
                let body = format!(
                    r#"{{"AccessKeyId":"AKID","SecretAccessKey":"secret","Token":"tok","Expiration":"{expires}"}}"#
                );
                let response = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                stream.write_all(response.as_bytes()).await.expect("write");
            }
            seen
        });
        (url, server)
    }

    #[tokio::test]
    async fn the_token_file_is_read_again_at_every_fetch() {
        let dir = std::env::temp_dir().join(format!("upbrella-token-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let file = dir.join("token");
        std::fs::write(&file, "first-token\n").expect("write token");
        let (url, server) = endpoint(2).await;
        let source = AwsCredentialSource::Endpoint {
            url,
            authorization: Some(AuthorizationToken::File(file.clone())),
        };
        let cache = AwsCredentialCache::default();
        let got = cache.get(&source).await.expect("credentials");
        assert_eq!(got.access_key_id, "AKID");
        std::fs::write(&file, "second-token").expect("rotate token");
        cache.get(&source).await.expect("credentials again");
        assert_eq!(
            server.await.expect("server"),
            ["first-token", "second-token"]
        );
        std::fs::remove_file(&file).expect("unreadable now");
        let Err(err) = cache.get(&source).await else {
            panic!("credentials without a token file");
        };
        assert!(
            err.to_string().contains("authorization token file"),
            "{err}"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[tokio::test]
    async fn a_token_value_is_sent_as_is() {
        let (url, server) = endpoint(1).await;
        let source = AwsCredentialSource::Endpoint {
            url,
            authorization: Some(AuthorizationToken::Value(SecretString::from("the-token"))),
        };
        let got = AwsCredentialCache::default()
            .get(&source)
            .await
            .expect("credentials");
        assert_eq!(got.session_token.expect("a token").expose_secret(), "tok");
        assert_eq!(server.await.expect("server"), ["the-token"]);
    }
}
