//! Database credentials that may change while the WAS runs.
//!
//! A password read once at start dies with its first rotation: PostgreSQL checks it only
//! when a connection opens, so the replica keeps working on the connections it has and
//! fails on the next one it needs. Here the pool's credentials are refreshed in the
//! background and every new connection uses the current ones:
//!
//! - [`DatabaseAuth::Static`]: the password in `DATABASE_URL` or `PGPASSWORD`, for the
//!   process's life (the local stack, tests).
//! - [`DatabaseAuth::PasswordFile`]: a file holding the password (a mounted secret),
//!   re-read on every refresh.
//! - [`DatabaseAuth::RdsIam`]: RDS IAM authentication, as in AWS. No password exists;
//!   each refresh mints a 15-minute token, a SigV4-presigned `rds-db:connect` request,
//!   from the task role's credentials. Nothing is stored, so nothing needs rotating.
//!
//! Connections already open stay open when the credential changes (PostgreSQL does not
//! re-check them), so a rotation costs no request.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};
use sqlx::PgPool;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use tokio::sync::Mutex;

/// How the WAS proves who it is to PostgreSQL (`DATABASE_AUTH`).
#[derive(Clone, Debug)]
pub enum DatabaseAuth {
    Static,
    PasswordFile(PathBuf),
    RdsIam {
        region: String,
        credentials: AwsCredentialSource,
    },
}

/// Where the AWS credentials that sign IAM tokens come from, in the order the AWS SDKs
/// look: static keys in the environment, else the ECS task role's endpoint.
#[derive(Clone)]
pub enum AwsCredentialSource {
    Static(AwsCredentials),
    /// `http://169.254.170.2$AWS_CONTAINER_CREDENTIALS_RELATIVE_URI` in an ECS task, or
    /// `AWS_CONTAINER_CREDENTIALS_FULL_URI` with an optional authorization token.
    Endpoint {
        url: String,
        authorization: Option<SecretString>,
    },
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

/// The pool's credential, refreshed in place. One per pool.
pub struct DbCredentials {
    auth: DatabaseAuth,
    aws: AwsCredentialCache,
    last_password: Mutex<Option<SecretString>>,
    generation: AtomicU64,
}

impl DbCredentials {
    pub fn new(auth: DatabaseAuth) -> Arc<Self> {
        Arc::new(Self {
            auth,
            aws: AwsCredentialCache::default(),
            last_password: Mutex::new(None),
            generation: AtomicU64::new(0),
        })
    }

    pub fn is_static(&self) -> bool {
        matches!(self.auth, DatabaseAuth::Static)
    }

    /// How many times new credentials were installed in the pool.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Installs the current credential in the pool's options for the connections it
    /// opens from now on. Returns whether it changed.
    pub async fn refresh(&self, pool: &PgPool) -> Result<bool, CredentialError> {
        let password = match &self.auth {
            DatabaseAuth::Static => return Ok(false),
            DatabaseAuth::PasswordFile(path) => read_password_file(path).await?,
            DatabaseAuth::RdsIam {
                region,
                credentials,
            } => {
                let aws = self.aws.get(credentials).await?;
                let options = pool.connect_options();
                SecretString::from(rds_auth_token(
                    options.get_host(),
                    options.get_port(),
                    options.get_username(),
                    region,
                    &aws,
                    OffsetDateTime::now_utc(),
                ))
            }
        };
        let mut last = self.last_password.lock().await;
        if last
            .as_ref()
            .is_some_and(|l| l.expose_secret() == password.expose_secret())
        {
            return Ok(false);
        }
        let options = (*pool.connect_options())
            .clone()
            .password(password.expose_secret());
        pool.set_connect_options(options);
        *last = Some(password);
        self.generation.fetch_add(1, Ordering::AcqRel);
        Ok(true)
    }
}

/// AWS credentials from their source, cached until five minutes before they expire (the
/// ECS endpoint hands out credentials valid for hours and renews them well before).
/// Signs the database's IAM tokens and the mail sent through SES.
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
        let failed = |reason: String| CredentialError::Endpoint {
            url: url.clone(),
            reason,
        };
        let mut request = self.http.get(url);
        if let Some(token) = authorization {
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
        let fresh = AwsCredentials {
            access_key_id: body.access_key_id,
            secret_access_key: SecretString::from(body.secret_access_key),
            session_token: body.token.map(SecretString::from),
            expires,
        };
        *cached = Some(fresh.clone());
        Ok(fresh)
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

async fn read_password_file(path: &PathBuf) -> Result<SecretString, CredentialError> {
    let text = tokio::fs::read_to_string(path)
        .await
        .map_err(|source| CredentialError::File {
            path: path.clone(),
            source,
        })?;
    // A trailing newline is how editors and `echo` leave files; it is never part of the
    // password.
    let password = text.trim_end_matches(['\n', '\r']);
    if password.is_empty() {
        return Err(CredentialError::EmptyFile(path.clone()));
    }
    Ok(SecretString::from(password.to_owned()))
}

/// Refreshes every `every` until the task is aborted. Failures are logged and retried at
/// the next tick; the pool keeps the last good credential meanwhile.
pub async fn keep_fresh(credentials: Arc<DbCredentials>, pool: PgPool, every: Duration) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tick.tick().await;
    let mut failing = false;
    loop {
        tick.tick().await;
        match credentials.refresh(&pool).await {
            Ok(changed) => {
                if changed && matches!(credentials.auth, DatabaseAuth::PasswordFile(_)) {
                    tracing::info!("database password changed; new connections use it");
                }
                if failing {
                    tracing::info!("database credentials refreshed again");
                }
                failing = false;
            }
            Err(e) if !failing => {
                tracing::warn!(error = %e, "cannot refresh the database credentials; keeping the last ones");
                failing = true;
            }
            Err(e) => tracing::debug!(error = %e, "database credentials still not refreshed"),
        }
    }
}

/// An RDS IAM authentication token: the presigned query of a `connect` request to the
/// `rds-db` service, valid for 15 minutes, as `aws rds generate-db-auth-token` makes it.
/// PostgreSQL receives it as the password (over TLS, which RDS requires for it).
pub fn rds_auth_token(
    host: &str,
    port: u16,
    user: &str,
    region: &str,
    credentials: &AwsCredentials,
    now: OffsetDateTime,
) -> String {
    let endpoint = format!("{host}:{port}");
    let query = presign(&Presign {
        method: "GET",
        host: &endpoint,
        path: "/",
        params: &[("Action", "connect"), ("DBUser", user)],
        service: "rds-db",
        region,
        credentials,
        now,
        expires: Duration::from_secs(900),
        payload_hash: EMPTY_SHA256,
    });
    format!("{endpoint}/?{query}")
}

const EMPTY_SHA256: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

struct Presign<'a> {
    method: &'a str,
    host: &'a str,
    path: &'a str,
    params: &'a [(&'a str, &'a str)],
    service: &'a str,
    region: &'a str,
    credentials: &'a AwsCredentials,
    now: OffsetDateTime,
    expires: Duration,
    payload_hash: &'a str,
}

/// AWS Signature Version 4 in the query string: returns the canonical query with
/// `X-Amz-Signature` appended.
fn presign(p: &Presign<'_>) -> String {
    let (date, stamp) = sigv4_stamps(p.now);
    let scope = format!("{date}/{}/{}/aws4_request", p.region, p.service);
    let mut query: Vec<(String, String)> = p
        .params
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    query.extend([
        ("X-Amz-Algorithm".into(), "AWS4-HMAC-SHA256".into()),
        (
            "X-Amz-Credential".into(),
            format!("{}/{scope}", p.credentials.access_key_id),
        ),
        ("X-Amz-Date".into(), stamp.clone()),
        ("X-Amz-Expires".into(), p.expires.as_secs().to_string()),
        ("X-Amz-SignedHeaders".into(), "host".into()),
    ]);
    if let Some(token) = &p.credentials.session_token {
        query.push((
            "X-Amz-Security-Token".into(),
            token.expose_secret().to_owned(),
        ));
    }
    let mut encoded: Vec<(String, String)> = query
        .iter()
        .map(|(k, v)| (uri_encode(k), uri_encode(v)))
        .collect();
    encoded.sort();
    let canonical_query = encoded
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&");
    let canonical_request = format!(
        "{}\n{}\n{canonical_query}\nhost:{}\n\nhost\n{}",
        p.method, p.path, p.host, p.payload_hash
    );
    let string_to_sign = format!(
        "AWS4-HMAC-SHA256\n{stamp}\n{scope}\n{}",
        hex::encode(Sha256::digest(canonical_request.as_bytes()))
    );
    let key = sigv4_key(p.credentials, &date, p.region, p.service);
    let signature = hex::encode(hmac(&key, string_to_sign.as_bytes()));
    format!("{canonical_query}&X-Amz-Signature={signature}")
}

/// SigV4's date (`YYYYMMDD`) and time stamp (`YYYYMMDDTHHMMSSZ`), in UTC.
pub(crate) fn sigv4_stamps(now: OffsetDateTime) -> (String, String) {
    let now = now.to_offset(time::UtcOffset::UTC);
    let date = format!(
        "{:04}{:02}{:02}",
        now.year(),
        u8::from(now.month()),
        now.day()
    );
    let stamp = format!(
        "{date}T{:02}{:02}{:02}Z",
        now.hour(),
        now.minute(),
        now.second()
    );
    (date, stamp)
}

/// SigV4's signing key: the secret, narrowed to the day, region and service.
pub(crate) fn sigv4_key(
    credentials: &AwsCredentials,
    date: &str,
    region: &str,
    service: &str,
) -> Vec<u8> {
    let secret = format!("AWS4{}", credentials.secret_access_key.expose_secret());
    let mut key = hmac(secret.as_bytes(), date.as_bytes());
    for part in [region, service, "aws4_request"] {
        key = hmac(&key, part.as_bytes());
    }
    key
}

pub(crate) fn hmac(key: &[u8], data: &[u8]) -> Vec<u8> {
    // HMAC accepts keys of any length; `new_from_slice` cannot fail for it.
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).unwrap_or_else(|_| unreachable!());
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}

/// RFC 3986 percent-encoding of everything but the unreserved characters, as SigV4
/// requires.
pub(crate) fn uri_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn example_credentials(token: Option<&str>) -> AwsCredentials {
        AwsCredentials {
            access_key_id: "AKIAIOSFODNN7EXAMPLE".into(),
            secret_access_key: SecretString::from("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
            session_token: token.map(SecretString::from),
            expires: None,
        }
    }

    /// The presigned-URL example of the Amazon S3 API reference ("Authenticating
    /// Requests: Using Query Parameters"): GET /test.txt from examplebucket, signed on
    /// 2013-05-24 for 86400 s, whose published signature is aeeed9bb…f604d404.
    #[test]
    fn presign_matches_the_published_sigv4_example() {
        let credentials = example_credentials(None);
        let query = presign(&Presign {
            method: "GET",
            host: "examplebucket.s3.amazonaws.com",
            path: "/test.txt",
            params: &[],
            service: "s3",
            region: "us-east-1",
            credentials: &credentials,
            now: time::macros::datetime!(2013-05-24 0:00 UTC),
            expires: Duration::from_secs(86400),
            payload_hash: "UNSIGNED-PAYLOAD",
        });
        assert_eq!(
            query,
            "X-Amz-Algorithm=AWS4-HMAC-SHA256\
             &X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request\
             &X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host\
             &X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404"
        );
    }

    /// botocore's own test of `generate_db_auth_token` (tests/unit/test_signers.py):
    /// what `aws rds generate-db-auth-token` prints for these inputs.
    #[test]
    fn rds_token_matches_botocore() {
        let credentials = AwsCredentials {
            access_key_id: "akid".into(),
            secret_access_key: SecretString::from("skid"),
            session_token: None,
            expires: None,
        };
        let token = rds_auth_token(
            "prod-instance.us-east-1.rds.amazonaws.com",
            3306,
            "someusername",
            "us-east-1",
            &credentials,
            time::macros::datetime!(2016-11-07 17:39:33 UTC),
        );
        assert_eq!(
            token,
            "prod-instance.us-east-1.rds.amazonaws.com:3306/?Action=connect\
             &DBUser=someusername&X-Amz-Algorithm=AWS4-HMAC-SHA256\
             &X-Amz-Credential=akid%2F20161107%2Fus-east-1%2Frds-db%2Faws4_request\
             &X-Amz-Date=20161107T173933Z&X-Amz-Expires=900&X-Amz-SignedHeaders=host\
             &X-Amz-Signature=d1138cdbc0ca63eec012ec0fc6c2267e03642168f5884a7795320d4c18374c61"
        );
    }

    #[test]
    fn rds_token_has_the_shape_rds_expects() {
        let credentials = example_credentials(Some("session/token+="));
        let token = rds_auth_token(
            "db.abc.ap-northeast-2.rds.amazonaws.com",
            5432,
            "upbrella_app",
            "ap-northeast-2",
            &credentials,
            time::macros::datetime!(2026-11-26 12:00 UTC),
        );
        let (endpoint, query) = token.split_once("/?").expect("host:port/?query");
        assert_eq!(endpoint, "db.abc.ap-northeast-2.rds.amazonaws.com:5432");
        assert!(!token.starts_with("http"), "no scheme: {token}");
        let params: Vec<&str> = query.split('&').collect();
        assert_eq!(params[0], "Action=connect");
        assert_eq!(params[1], "DBUser=upbrella_app");
        assert!(params.contains(&"X-Amz-Expires=900"));
        assert!(
            params.contains(
                &"X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20261126%2Fap-northeast-2%2Frds-db%2Faws4_request"
            )
        );
        // The session token is encoded and signed (it precedes the signature).
        assert!(params.contains(&"X-Amz-Security-Token=session%2Ftoken%2B%3D"));
        let last = params.last().expect("a signature");
        assert!(last.starts_with("X-Amz-Signature=") && last.len() == 16 + 64);
        // A different second is a different token.
        let later = rds_auth_token(
            "db.abc.ap-northeast-2.rds.amazonaws.com",
            5432,
            "upbrella_app",
            "ap-northeast-2",
            &credentials,
            time::macros::datetime!(2026-11-26 12:00:01 UTC),
        );
        assert_ne!(token, later);
    }

    #[test]
    fn credentials_never_show_in_debug() {
        let source = AwsCredentialSource::Static(example_credentials(Some("tok-123")));
        let shown = format!("{source:?}");
        assert!(shown.contains("AKIAIOSFODNN7EXAMPLE"));
        assert!(
            !shown.contains("EXAMPLEKEY") && !shown.contains("tok-123"),
            "{shown}"
        );
    }
}
