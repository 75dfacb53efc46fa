//! The console's photo uploads to S3.

use shared::config::{ConfigError, Settings, Var};
use url::Url;

use super::aws::aws_credential_source;
use super::http_url;
use crate::aws::AwsCredentialSource;

pub(super) const VARS: &[Var] = &[
    Var::new(
        "PHOTO_BUCKET",
        "unset",
        "S3 bucket store photos are uploaded to from the console (presigned PUT); unset: photos by URL only",
    ),
    Var::new("PHOTO_REGION", "AWS_REGION", "The photo bucket's region"),
    Var::new(
        "PHOTO_S3_ENDPOINT",
        "AWS (https://{bucket}.s3.{region}.amazonaws.com)",
        "An S3-compatible endpoint instead of AWS's (an emulator); path-style URLs",
    ),
    Var::new(
        "PHOTO_PUBLIC_BASE_URL",
        "the bucket's URL",
        "Where uploaded photos are read from (a CDN in front of the bucket), ending in /",
    ),
];

/// Where the console's photo uploads go.
#[derive(Clone, Debug)]
pub struct PhotoConfig {
    pub bucket: String,
    pub region: String,
    /// `None`: AWS, with virtual-hosted URLs (`https://{bucket}.s3.{region}.amazonaws.com`);
    /// `Some`: an S3-compatible endpoint (an emulator), with path-style URLs.
    pub endpoint: Option<Url>,
    /// Prefix of every uploaded photo's public URL; ends with `/`.
    pub public_base_url: String,
    pub credentials: AwsCredentialSource,
}

pub(super) fn photo_config(s: &Settings<'_>) -> Result<Option<PhotoConfig>, ConfigError> {
    let Some(bucket) = s.raw("PHOTO_BUCKET") else {
        return Ok(None);
    };
    // S3's bucket naming rules, so the name can go into a host name and a path as is.
    let valid = (3..=63).contains(&bucket.len())
        && bucket
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.')
        && bucket.starts_with(|c: char| c.is_ascii_alphanumeric())
        && bucket.ends_with(|c: char| c.is_ascii_alphanumeric());
    if !valid {
        return Err(ConfigError::new(
            "PHOTO_BUCKET",
            "must be an S3 bucket name (3-63 characters: a-z, 0-9, '-', '.')",
        ));
    }
    let region = s
        .raw("PHOTO_REGION")
        .or_else(|| s.raw("AWS_REGION"))
        .or_else(|| s.raw("AWS_DEFAULT_REGION"))
        .ok_or_else(|| {
            ConfigError::new(
                "PHOTO_REGION",
                "is required with PHOTO_BUCKET (or AWS_REGION)",
            )
        })?;
    let endpoint = match s.raw("PHOTO_S3_ENDPOINT") {
        None => None,
        Some(_) => Some(http_url(s, "PHOTO_S3_ENDPOINT", "")?),
    };
    let default_base = match &endpoint {
        Some(e) => format!("{}/{bucket}/", e.as_str().trim_end_matches('/')),
        None => format!("https://{bucket}.s3.{region}.amazonaws.com/"),
    };
    let public_base_url = match s.raw("PHOTO_PUBLIC_BASE_URL") {
        None => default_base,
        Some(_) => {
            let url = http_url(s, "PHOTO_PUBLIC_BASE_URL", "")?;
            if url.query().is_some() || url.fragment().is_some() {
                return Err(ConfigError::new(
                    "PHOTO_PUBLIC_BASE_URL",
                    "must be a URL prefix without ?query or #fragment",
                ));
            }
            format!("{}/", url.as_str().trim_end_matches('/'))
        }
    };
    let credentials = aws_credential_source(s).map_err(|e| {
        ConfigError::new(
            &e.var,
            "PHOTO_BUCKET needs AWS credentials to sign uploads: run as an ECS task with a \
             task role, or set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY",
        )
    })?;
    Ok(Some(PhotoConfig {
        bucket,
        region,
        endpoint,
        public_base_url,
        credentials,
    }))
}
