//! The database: where it is, how the WAS logs in, and the role `was migrate` provisions.

use std::time::Duration;

use secrecy::SecretString;
use shared::config::{ConfigError, Settings, Source, Var};

use super::aws::aws_credential_source;
use crate::dbauth::DatabaseAuth;

pub(super) const VARS: &[Var] = &[
    Var::new(
        "DATABASE_URL",
        "required, unless PGHOST is set",
        "PostgreSQL URL",
    ),
    Var::new(
        "PGHOST",
        "unset",
        "Without DATABASE_URL: libpq's PGHOST, PGPORT, PGUSER, PGPASSWORD, PGDATABASE, PGSSLMODE, PGSSLROOTCERT",
    ),
    Var::new(
        "DATABASE_AUTH",
        "password",
        "password, or rds-iam (RDS IAM tokens from the task role)",
    ),
    Var::new(
        "DATABASE_PASSWORD_FILE",
        "unset",
        "A file holding the database password, re-read at every refresh",
    ),
    Var::new(
        "DATABASE_CREDENTIALS_REFRESH",
        "30s",
        "How often the credential is re-read or re-minted",
    ),
    Var::new("DATABASE_MAX_CONNECTIONS", "10", "Pool size per replica"),
    Var::new(
        "DATABASE_TIMEOUT",
        "2s",
        "Wait for a pooled connection (then 503)",
    ),
    Var::new(
        "WAS_APP_ROLE",
        "unset",
        "was migrate: create or update this least-privilege role",
    ),
    Var::new(
        "WAS_APP_ROLE_AUTH",
        "password",
        "was migrate: password or rds-iam login for the role",
    ),
    Var::new(
        "WAS_APP_ROLE_PASSWORD",
        "required with password",
        "was migrate: the role's password",
    ),
];

/// What `was migrate` needs besides nothing else, and the WAS besides the rest.
#[derive(Clone, Debug)]
pub struct DatabaseConfig {
    /// `None`: connect with libpq's `PG*` variables (PGHOST, PGUSER, PGPASSWORD, …), as
    /// in ECS. A URL may carry a password, so it is kept as a secret (never in `Debug`
    /// output or logs).
    pub url: Option<SecretString>,
    pub max_connections: u32,
    pub timeout: Duration,
    /// How the pool's credential is obtained and kept fresh (see [`crate::dbauth`]).
    pub auth: DatabaseAuth,
    pub credentials_refresh: Duration,
    /// The role the WAS connects as, which `was migrate` creates or updates (as the
    /// schema owner) with only the privileges the WAS needs.
    pub app_role: Option<AppRole>,
}

impl DatabaseConfig {
    pub fn from_source(source: &dyn Source) -> Result<Self, ConfigError> {
        let s = Settings::new(source);
        let config = Self {
            url: match (s.raw("DATABASE_URL"), s.raw("PGHOST")) {
                (Some(url), _) => Some(SecretString::from(url)),
                (None, Some(_)) => None,
                (None, None) => {
                    return Err(ConfigError::new(
                        "DATABASE_URL",
                        "is required but not set (or set PGHOST, PGUSER, PGPASSWORD and PGDATABASE)",
                    ));
                }
            },
            max_connections: s.parse_or("DATABASE_MAX_CONNECTIONS", 10)?,
            timeout: s.duration_or("DATABASE_TIMEOUT", Duration::from_secs(2))?,
            auth: database_auth(&s)?,
            credentials_refresh: s
                .duration_or("DATABASE_CREDENTIALS_REFRESH", Duration::from_secs(30))?,
            app_role: app_role(&s)?,
        };
        if config.max_connections == 0 {
            return Err(ConfigError::new(
                "DATABASE_MAX_CONNECTIONS",
                "must be at least 1",
            ));
        }
        if config.credentials_refresh < Duration::from_millis(10) {
            return Err(ConfigError::new(
                "DATABASE_CREDENTIALS_REFRESH",
                "must be at least 10ms",
            ));
        }
        Ok(config)
    }
}

/// The role `was migrate` provisions for the WAS (`WAS_APP_ROLE`).
#[derive(Clone, Debug)]
pub struct AppRole {
    pub name: String,
    pub login: AppRoleLogin,
}

#[derive(Clone, Debug)]
pub enum AppRoleLogin {
    /// `WAS_APP_ROLE_PASSWORD`: set as the role's password on every run, so changing
    /// the secret and running `was migrate` rotates it.
    Password(SecretString),
    /// RDS IAM authentication: the role gets `rds_iam` and has no password at all.
    RdsIam,
}

fn database_auth(s: &Settings<'_>) -> Result<DatabaseAuth, ConfigError> {
    let file = s.raw("DATABASE_PASSWORD_FILE");
    match s.string_or("DATABASE_AUTH", "password").as_str() {
        "password" => Ok(file.map_or(DatabaseAuth::Static, |f| {
            DatabaseAuth::PasswordFile(f.into())
        })),
        "rds-iam" => {
            if file.is_some() {
                return Err(ConfigError::new(
                    "DATABASE_PASSWORD_FILE",
                    "cannot be used with DATABASE_AUTH=rds-iam",
                ));
            }
            let region = s
                .raw("AWS_REGION")
                .or_else(|| s.raw("AWS_DEFAULT_REGION"))
                .ok_or_else(|| {
                    ConfigError::new("AWS_REGION", "is required with DATABASE_AUTH=rds-iam")
                })?;
            Ok(DatabaseAuth::RdsIam {
                region,
                credentials: aws_credential_source(s)?,
            })
        }
        other => Err(ConfigError::new(
            "DATABASE_AUTH",
            format!("must be password or rds-iam, not {other:?}"),
        )),
    }
}

fn app_role(s: &Settings<'_>) -> Result<Option<AppRole>, ConfigError> {
    let Some(name) = s.raw("WAS_APP_ROLE") else {
        return Ok(None);
    };
    let valid = name.len() <= 63
        && name.starts_with(|c: char| c.is_ascii_lowercase() || c == '_')
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if !valid {
        return Err(ConfigError::new(
            "WAS_APP_ROLE",
            "must be a lower-case SQL identifier (a-z, 0-9, _; at most 63 characters)",
        ));
    }
    let login = match s.string_or("WAS_APP_ROLE_AUTH", "password").as_str() {
        "password" => AppRoleLogin::Password(SecretString::from(
            s.required_string("WAS_APP_ROLE_PASSWORD")?,
        )),
        "rds-iam" => AppRoleLogin::RdsIam,
        other => {
            return Err(ConfigError::new(
                "WAS_APP_ROLE_AUTH",
                format!("must be password or rds-iam, not {other:?}"),
            ));
        }
    };
    Ok(Some(AppRole { name, login }))
}
