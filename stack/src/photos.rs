//! A local stand-in for the store photo bucket: moto's S3 server on loopback, with the
//! bucket made, a CORS rule admitting the stack's web origins and, as in AWS, a policy
//! letting anyone read `stores/*` (moto refuses anonymous reads without it). The WAS presigns upload
//! URLs against it (`PHOTO_S3_ENDPOINT`) and the browser PUTs straight to it, so its
//! address is the one the browser uses; moto does not check the signatures.
//!
//! moto_server comes from the tools venv (`target/tools/venv`, made by
//! `scripts/test-deps.sh`); `MOTO_SERVER` names another executable. Without it the stack
//! runs without uploads (photos are added by URL). Objects live in moto's memory only:
//! photos uploaded before a restart are gone after it.

use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::process::{Process, Spec};

/// The bucket's name in the stand-in.
pub const BUCKET: &str = "upbrella-photos";
/// The region the WAS signs for; moto accepts any.
pub const REGION: &str = "ap-northeast-2";

pub struct PhotoStore {
    pub port: u16,
    process: Option<Process>,
}

/// Where moto_server is: `MOTO_SERVER`, else the tools venv of the workspace holding
/// this crate.
pub fn moto_program() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("MOTO_SERVER") {
        return Some(PathBuf::from(p));
    }
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).parent()?;
    let installed = workspace.join("target/tools/venv/bin/moto_server");
    installed.exists().then_some(installed)
}

/// The bucket's CORS configuration: PUT (with the signed Content-Type) and GET from
/// each of `origins`, as the template gives the real bucket for the site's origin.
pub fn cors_configuration(origins: &[String]) -> String {
    let allowed: String = origins
        .iter()
        .map(|o| format!("<AllowedOrigin>{o}</AllowedOrigin>"))
        .collect();
    format!(
        "<CORSConfiguration><CORSRule>{allowed}<AllowedMethod>PUT</AllowedMethod>\
         <AllowedMethod>GET</AllowedMethod><AllowedHeader>Content-Type</AllowedHeader>\
         <MaxAgeSeconds>3600</MaxAgeSeconds></CORSRule></CORSConfiguration>"
    )
}

/// The bucket policy: anyone may read `stores/*`, as the template's policy says.
pub fn read_policy() -> String {
    format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Sid":"PublicReadOfStorePhotos","Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::{BUCKET}/stores/*"}}]}}"#
    )
}

impl PhotoStore {
    /// Starts moto_server on a free loopback port (log in `log_dir/photos.log`) and waits
    /// for it; [`PhotoStore::create_bucket`] then makes the bucket.
    pub fn start(log_dir: &Path) -> io::Result<Self> {
        let program = moto_program().ok_or_else(|| {
            io::Error::other("moto_server not found: run scripts/test-deps.sh (the tools venv)")
        })?;
        let port = crate::free_port()?;
        let spec = Spec::new("photos", &program)
            .args([
                "-H".to_owned(),
                "127.0.0.1".to_owned(),
                "-p".to_owned(),
                port.to_string(),
            ])
            .log(log_dir.join("photos.log"));
        let process = Process::spawn(spec)?;
        let store = Self {
            port,
            process: Some(process),
        };
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
        crate::wait_http_ok(addr, "/moto-api/data.json", Duration::from_secs(30))
            .map_err(io::Error::other)?;
        Ok(store)
    }

    /// Makes the bucket with a CORS rule for `origins` and the public read policy:
    /// path-style S3 calls, unsigned (moto does not check signatures).
    pub async fn create_bucket(&self, origins: &[String]) -> io::Result<()> {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .map_err(io::Error::other)?;
        let bucket_url = format!("{}/{BUCKET}", self.endpoint());
        let location = format!(
            "<CreateBucketConfiguration><LocationConstraint>{REGION}</LocationConstraint>\
             </CreateBucketConfiguration>"
        );
        for (url, body) in [
            (bucket_url.clone(), location),
            (format!("{bucket_url}?cors"), cors_configuration(origins)),
            (format!("{bucket_url}?policy"), read_policy()),
        ] {
            let response = client
                .put(&url)
                .body(body)
                .send()
                .await
                .map_err(io::Error::other)?;
            if !response.status().is_success() {
                return Err(io::Error::other(format!(
                    "PUT {url}: {}",
                    response.status()
                )));
            }
        }
        Ok(())
    }

    /// What the WAS's `PHOTO_S3_ENDPOINT` is set to (the browser PUTs here too).
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The WAS's settings for uploads to this bucket. The credentials are placeholders:
    /// the WAS needs some to sign with, and moto accepts any.
    pub fn was_env(&self) -> Vec<(String, String)> {
        [
            ("PHOTO_BUCKET", BUCKET.to_owned()),
            ("PHOTO_REGION", REGION.to_owned()),
            ("PHOTO_S3_ENDPOINT", self.endpoint()),
            (
                "PHOTO_PUBLIC_BASE_URL",
                format!("{}/{BUCKET}/", self.endpoint()),
            ),
            ("AWS_ACCESS_KEY_ID", "local-photos".to_owned()),
            ("AWS_SECRET_ACCESS_KEY", "local-photos".to_owned()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect()
    }

    /// web-proxy's `WEB_PROXY_UPLOAD_ORIGINS`: the console may upload to and show
    /// photos from the stand-in.
    pub fn proxy_env(&self) -> Vec<(String, String)> {
        vec![("WEB_PROXY_UPLOAD_ORIGINS".to_owned(), self.endpoint())]
    }

    pub fn stop(&mut self) {
        if let Some(mut p) = self.process.take() {
            p.stop(Duration::from_secs(5));
        }
    }
}

impl Drop for PhotoStore {
    fn drop(&mut self) {
        self.stop();
    }
}

#[cfg(test)]
mod tests {
    use super::{BUCKET, PhotoStore, cors_configuration, moto_program};

    #[test]
    fn stand_in_makes_the_bucket_takes_a_put_and_lets_anyone_read_it() {
        assert!(
            moto_program().is_some(),
            "moto_server is missing: run scripts/test-deps.sh (the tools venv)"
        );
        let dir = crate::TempDir::new("photos").expect("temp dir");
        let store = PhotoStore::start(dir.path()).expect("moto starts");
        let origin = "http://127.0.0.1:8000".to_owned();
        let runtime = tokio::runtime::Runtime::new().expect("runtime");
        runtime.block_on(async {
            store
                .create_bucket(std::slice::from_ref(&origin))
                .await
                .expect("bucket made");
            let client = reqwest::Client::new();
            let cors = client
                .get(format!("{}/{BUCKET}?cors", store.endpoint()))
                .send()
                .await
                .expect("GET ?cors")
                .text()
                .await
                .expect("body");
            assert!(cors.contains(&origin), "{cors}");
            let put = client
                .put(format!("{}/{BUCKET}/stores/1/a.png", store.endpoint()))
                .header("content-type", "image/png")
                .body(vec![0u8; 16])
                .send()
                .await
                .expect("PUT");
            assert!(put.status().is_success(), "{}", put.status());
            let read = client
                .get(format!("{}/{BUCKET}/stores/1/a.png", store.endpoint()))
                .send()
                .await
                .expect("GET");
            assert!(
                read.status().is_success(),
                "anyone reads stores/*: {}",
                read.status()
            );
        });
        let env = store.was_env();
        let base = env.iter().find(|(k, _)| k == "PHOTO_PUBLIC_BASE_URL");
        assert_eq!(
            base.map(|(_, v)| v.clone()),
            Some(format!("{}/{BUCKET}/", store.endpoint()))
        );
    }

    #[test]
    fn cors_rule_admits_each_web_origin_to_put_with_content_type() {
        let xml = cors_configuration(&[
            "http://127.0.0.1:8000".to_owned(),
            "http://localhost:8000".to_owned(),
        ]);
        for part in [
            "<AllowedOrigin>http://127.0.0.1:8000</AllowedOrigin>",
            "<AllowedOrigin>http://localhost:8000</AllowedOrigin>",
            "<AllowedMethod>PUT</AllowedMethod>",
            "<AllowedHeader>Content-Type</AllowedHeader>",
        ] {
            assert!(xml.contains(part), "{part} missing from {xml}");
        }
    }
}
