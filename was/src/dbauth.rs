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

use secrecy::{ExposeSecret, SecretString};
use sqlx::PgPool;
use time::OffsetDateTime;
use tokio::sync::Mutex;

// The AWS credentials live in `crate::aws`; named here too for the code that signs with
// them beside the database's.
pub use crate::aws::{AwsCredentialCache, AwsCredentialSource, AwsCredentials, CredentialError};
use crate::sigv4;

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
        if last.as_ref().is_some_and(|l| {
            bool::from(subtle::ConstantTimeEq::ct_eq(
                l.expose_secret().as_bytes(),
                password.expose_secret().as_bytes(),
            ))
        }) {
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
    let query = sigv4::presign(&sigv4::Presign {
        method: "GET",
        host: &endpoint,
        path: "/",
        params: &[("Action", "connect"), ("DBUser", user)],
        headers: &[],
        service: "rds-db",
        region,
        credentials,
        now,
        expires: Duration::from_secs(900),
        payload_hash: sigv4::EMPTY_SHA256,
    });
    format!("{endpoint}/?{query}")
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
}
