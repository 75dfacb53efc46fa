//! AWS credentials, found where the AWS SDKs look (see [`crate::aws`]).

use secrecy::SecretString;
use shared::config::{ConfigError, Settings, Var};
use url::Url;

use crate::aws::{
    AuthorizationToken, AwsCredentialSource, AwsCredentials, ECS_ENDPOINT, full_uri_allowed,
};

pub(super) const VARS: &[Var] = &[
    Var::new(
        "AWS_REGION",
        "required with rds-iam",
        "The database's region (AWS_DEFAULT_REGION also works)",
    ),
    Var::new("AWS_DEFAULT_REGION", "unset", "Fallback for AWS_REGION"),
    Var::new(
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        "set by ECS",
        "Where the task role's credentials are served (rds-iam)",
    ),
    Var::new(
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        "unset",
        "A full credentials URL instead of the relative one",
    ),
    Var::new(
        "AWS_CONTAINER_AUTHORIZATION_TOKEN",
        "unset",
        "The token the full credentials URL wants",
    ),
    Var::new(
        "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
        "unset",
        "A file holding that token, re-read at every fetch (before AWS_CONTAINER_AUTHORIZATION_TOKEN)",
    ),
    Var::new(
        "AWS_ACCESS_KEY_ID",
        "unset",
        "Static AWS credentials, before the container's (rds-iam)",
    ),
    Var::new(
        "AWS_SECRET_ACCESS_KEY",
        "required with AWS_ACCESS_KEY_ID",
        "Its secret",
    ),
    Var::new("AWS_SESSION_TOKEN", "unset", "Its session token"),
];

/// The AWS SDKs' order: keys in the environment, then the container credentials
/// endpoint that ECS (or EKS) provides for the task role.
pub(super) fn aws_credential_source(s: &Settings<'_>) -> Result<AwsCredentialSource, ConfigError> {
    if let Some(access_key_id) = s.raw("AWS_ACCESS_KEY_ID") {
        let secret = s.raw("AWS_SECRET_ACCESS_KEY").ok_or_else(|| {
            ConfigError::new(
                "AWS_SECRET_ACCESS_KEY",
                "is required with AWS_ACCESS_KEY_ID",
            )
        })?;
        return Ok(AwsCredentialSource::Static(AwsCredentials {
            access_key_id,
            secret_access_key: SecretString::from(secret),
            session_token: s.raw("AWS_SESSION_TOKEN").map(SecretString::from),
            expires: None,
        }));
    }
    // The file wins over the value, as in the SDKs: the agent rotates the file.
    let authorization = match s.raw("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE") {
        Some(path) => Some(AuthorizationToken::File(path.into())),
        None => s
            .raw("AWS_CONTAINER_AUTHORIZATION_TOKEN")
            .map(|token| AuthorizationToken::Value(SecretString::from(token))),
    };
    if let Some(relative) = s.raw("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI") {
        return Ok(AwsCredentialSource::Endpoint {
            url: format!("{ECS_ENDPOINT}{relative}"),
            authorization,
        });
    }
    if let Some(full) = s.raw("AWS_CONTAINER_CREDENTIALS_FULL_URI") {
        const VAR: &str = "AWS_CONTAINER_CREDENTIALS_FULL_URI";
        let url =
            Url::parse(&full).map_err(|e| ConfigError::new(VAR, format!("invalid URL: {e}")))?;
        if !full_uri_allowed(&url) {
            return Err(ConfigError::new(
                VAR,
                "must be https, or http to a loopback address, 169.254.170.2, 169.254.170.23 \
                 or [fd00:ec2::23] (credentials must not cross a network in clear)",
            ));
        }
        return Ok(AwsCredentialSource::Endpoint {
            url: full,
            authorization,
        });
    }
    Err(ConfigError::new(
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        "DATABASE_AUTH=rds-iam needs AWS credentials: run as an ECS task with a task role, \
         or set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY",
    ))
}
