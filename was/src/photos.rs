//! Store photos uploaded from the console straight to S3: the WAS signs a PUT of one
//! object (SigV4 in the query string, ten minutes) and the browser sends the file there,
//! so photo bytes never pass through the WAS and no upload outlives its purpose. The
//! signature covers the object's key, its content type and its exact length, so a URL
//! handed out for a 2 MB JPEG cannot store anything else. Instagram CDN URLs, which
//! the original service used, expire; these do not.

use std::time::Duration;

use time::OffsetDateTime;

use crate::config::PhotoConfig;
use crate::dbauth::{AwsCredentialCache, CredentialError};
use crate::sigv4;

/// How long an upload URL works.
pub const UPLOAD_EXPIRY: Duration = Duration::from_secs(600);
/// The largest photo accepted: a phone's camera JPEG, with room.
pub const MAX_BYTES: u64 = 10 * 1024 * 1024;

/// The image types a browser shows everywhere.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageType {
    Jpeg,
    Png,
    Webp,
}

impl ImageType {
    pub fn parse(content_type: &str) -> Option<Self> {
        match content_type.trim().to_ascii_lowercase().as_str() {
            "image/jpeg" => Some(Self::Jpeg),
            "image/png" => Some(Self::Png),
            "image/webp" => Some(Self::Webp),
            _ => None,
        }
    }

    pub fn mime(self) -> &'static str {
        match self {
            Self::Jpeg => "image/jpeg",
            Self::Png => "image/png",
            Self::Webp => "image/webp",
        }
    }

    pub fn extension(self) -> &'static str {
        match self {
            Self::Jpeg => "jpg",
            Self::Png => "png",
            Self::Webp => "webp",
        }
    }
}

/// A signed upload: PUT the bytes to `upload_url` with `Content-Type` = the type asked
/// for and exactly `size` bytes; the photo is then at `image_url`.
#[derive(Debug, Clone)]
pub struct Upload {
    pub upload_url: String,
    pub image_url: String,
    pub key: String,
}

pub struct PhotoUploads {
    config: PhotoConfig,
    credentials: AwsCredentialCache,
}

impl PhotoUploads {
    pub fn new(config: PhotoConfig) -> Self {
        Self {
            config,
            credentials: AwsCredentialCache::default(),
        }
    }

    /// Where uploaded photos are read from (ends with `/`).
    pub fn public_base_url(&self) -> &str {
        &self.config.public_base_url
    }

    /// Signs the upload of a new photo of `store_id`, under a fresh random key.
    pub async fn sign(
        &self,
        store_id: i64,
        kind: ImageType,
        size: u64,
        now: OffsetDateTime,
    ) -> Result<Upload, CredentialError> {
        let key = format!(
            "stores/{store_id}/{}.{}",
            uuid::Uuid::new_v4().simple(),
            kind.extension()
        );
        let credentials = self.credentials.get(&self.config.credentials).await?;
        let c = &self.config;
        // AWS: virtual-hosted (the bucket in the host name); an emulator: path-style.
        let (origin, host, path) = match &c.endpoint {
            Some(endpoint) => {
                let host = match (endpoint.host_str(), endpoint.port()) {
                    (Some(h), Some(p)) => format!("{h}:{p}"),
                    (Some(h), None) => h.to_owned(),
                    (None, _) => String::new(),
                };
                let prefix = endpoint.path().trim_end_matches('/');
                (
                    format!("{}://{host}", endpoint.scheme()),
                    host,
                    sigv4::encode_path(&format!("{prefix}/{}/{key}", c.bucket)),
                )
            }
            None => {
                let host = format!("{}.s3.{}.amazonaws.com", c.bucket, c.region);
                (
                    format!("https://{host}"),
                    host,
                    sigv4::encode_path(&format!("/{key}")),
                )
            }
        };
        let length = size.to_string();
        let query = sigv4::presign(&sigv4::Presign {
            method: "PUT",
            host: &host,
            path: &path,
            params: &[],
            headers: &[("content-type", kind.mime()), ("content-length", &length)],
            service: "s3",
            region: &c.region,
            credentials: &credentials,
            now,
            expires: UPLOAD_EXPIRY,
            payload_hash: "UNSIGNED-PAYLOAD",
        });
        Ok(Upload {
            upload_url: format!("{origin}{path}?{query}"),
            image_url: format!("{}{key}", c.public_base_url),
            key,
        })
    }
}
