//! AWS Signature Version 4, the one implementation the WAS has: in the `Authorization`
//! header (SES's `SendEmail`) and in the query string (RDS IAM tokens, presigned S3
//! uploads). Its tests are AWS's and botocore's published examples, so a change that
//! breaks one signer breaks them here first.

use std::time::Duration;

use hmac::{Hmac, Mac};
use secrecy::ExposeSecret;
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use crate::aws::AwsCredentials;

/// The SHA-256 of an empty body.
pub const EMPTY_SHA256: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

/// What a query-string signature covers.
pub struct Presign<'a> {
    pub method: &'a str,
    /// `host` or `host:port`, exactly as the client will send it.
    pub host: &'a str,
    /// The canonical (already percent-encoded) path.
    pub path: &'a str,
    pub params: &'a [(&'a str, &'a str)],
    /// Headers the client must send with exactly these values, besides `host`
    /// (lower-case names), e.g. an upload's `content-type` and `content-length`.
    pub headers: &'a [(&'a str, &'a str)],
    pub service: &'a str,
    pub region: &'a str,
    pub credentials: &'a AwsCredentials,
    pub now: OffsetDateTime,
    pub expires: Duration,
    /// `UNSIGNED-PAYLOAD` for S3, the empty body's hash otherwise.
    pub payload_hash: &'a str,
}

/// AWS Signature Version 4 in the query string: returns the canonical query with
/// `X-Amz-Signature` appended.
pub fn presign(p: &Presign<'_>) -> String {
    let (date, stamp) = stamps(p.now);
    let scope = format!("{date}/{}/{}/aws4_request", p.region, p.service);
    let mut headers: Vec<(String, String)> = p
        .headers
        .iter()
        .map(|(k, v)| (k.to_ascii_lowercase(), v.trim().to_owned()))
        .chain([("host".to_owned(), p.host.to_owned())])
        .collect();
    headers.sort();
    let signed_headers = headers
        .iter()
        .map(|(k, _)| k.as_str())
        .collect::<Vec<_>>()
        .join(";");
    let canonical_headers: String = headers.iter().map(|(k, v)| format!("{k}:{v}\n")).collect();
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
        ("X-Amz-SignedHeaders".into(), signed_headers.clone()),
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
        "{}\n{}\n{canonical_query}\n{canonical_headers}\n{signed_headers}\n{}",
        p.method, p.path, p.payload_hash
    );
    let string_to_sign = format!(
        "AWS4-HMAC-SHA256\n{stamp}\n{scope}\n{}",
        hex::encode(Sha256::digest(canonical_request.as_bytes()))
    );
    let key = signing_key(p.credentials, &date, p.region, p.service);
    let signature = hex::encode(hmac(&key, string_to_sign.as_bytes()));
    format!("{canonical_query}&X-Amz-Signature={signature}")
}

/// A request signed in its `Authorization` header.
pub struct Request<'a> {
    pub method: &'a str,
    pub host: &'a str,
    pub path: &'a str,
    pub content_type: &'a str,
    pub body: &'a [u8],
    pub service: &'a str,
    pub region: &'a str,
    pub credentials: &'a AwsCredentials,
    pub now: OffsetDateTime,
}

pub struct Signed {
    /// The `x-amz-date` header's value.
    pub date: String,
    pub authorization: String,
}

/// SigV4 with the signature in the `Authorization` header; signs `content-type`, `host`,
/// `x-amz-date` and, with temporary credentials, `x-amz-security-token`.
pub fn sign(r: &Request<'_>) -> Signed {
    let (date, stamp) = stamps(r.now);
    let mut headers = vec![
        ("content-type", r.content_type.to_owned()),
        ("host", r.host.to_owned()),
        ("x-amz-date", stamp.clone()),
    ];
    if let Some(token) = &r.credentials.session_token {
        headers.push(("x-amz-security-token", token.expose_secret().to_owned()));
    }
    headers.retain(|(_, v)| !v.is_empty());
    let canonical_headers: String = headers.iter().map(|(k, v)| format!("{k}:{v}\n")).collect();
    let signed_headers = headers
        .iter()
        .map(|(k, _)| *k)
        .collect::<Vec<_>>()
        .join(";");
    let canonical_request = format!(
        "{}\n{}\n\n{canonical_headers}\n{signed_headers}\n{}",
        r.method,
        r.path,
        hex::encode(Sha256::digest(r.body))
    );
    let scope = format!("{date}/{}/{}/aws4_request", r.region, r.service);
    let string_to_sign = format!(
        "AWS4-HMAC-SHA256\n{stamp}\n{scope}\n{}",
        hex::encode(Sha256::digest(canonical_request.as_bytes()))
    );
    let key = signing_key(r.credentials, &date, r.region, r.service);
    let signature = hex::encode(hmac(&key, string_to_sign.as_bytes()));
    Signed {
        date: stamp,
        authorization: format!(
            "AWS4-HMAC-SHA256 Credential={}/{scope}, SignedHeaders={signed_headers}, Signature={signature}",
            r.credentials.access_key_id
        ),
    }
}

/// SigV4's date (`YYYYMMDD`) and time stamp (`YYYYMMDDTHHMMSSZ`), in UTC.
fn stamps(now: OffsetDateTime) -> (String, String) {
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
fn signing_key(credentials: &AwsCredentials, date: &str, region: &str, service: &str) -> Vec<u8> {
    let secret = format!("AWS4{}", credentials.secret_access_key.expose_secret());
    let mut key = hmac(secret.as_bytes(), date.as_bytes());
    for part in [region, service, "aws4_request"] {
        key = hmac(&key, part.as_bytes());
    }
    key
}

fn hmac(key: &[u8], data: &[u8]) -> Vec<u8> {
    // HMAC accepts keys of any length; `new_from_slice` cannot fail for it.
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).unwrap_or_else(|_| unreachable!());
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}

/// RFC 3986 percent-encoding of everything but the unreserved characters, as SigV4
/// requires.
pub fn uri_encode(text: &str) -> String {
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

/// A path percent-encoded segment by segment (S3 object keys keep their `/`).
pub fn encode_path(path: &str) -> String {
    path.split('/')
        .map(uri_encode)
        .collect::<Vec<_>>()
        .join("/")
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::SecretString;

    fn credentials(id: &str, secret: &str, token: Option<&str>) -> AwsCredentials {
        AwsCredentials {
            access_key_id: id.into(),
            secret_access_key: SecretString::from(secret.to_owned()),
            session_token: token.map(|t| SecretString::from(t.to_owned())),
            expires: None,
        }
    }

    /// The presigned-URL example of the Amazon S3 API reference ("Authenticating
    /// Requests: Using Query Parameters"): GET /test.txt from examplebucket, signed on
    /// 2013-05-24 for 86400 s, whose published signature is aeeed9bb…f604d404.
    #[test]
    fn presign_matches_the_published_sigv4_example() {
        let credentials = credentials(
            "AKIAIOSFODNN7EXAMPLE",
            "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            None,
        );
        let query = presign(&Presign {
            method: "GET",
            host: "examplebucket.s3.amazonaws.com",
            path: "/test.txt",
            params: &[],
            headers: &[],
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

    /// The "get-vanilla" case of AWS's published SigV4 test suite (no content type).
    #[test]
    fn signs_like_the_published_sigv4_example() {
        let credentials = credentials(
            "AKIDEXAMPLE",
            "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
            None,
        );
        let signed = sign(&Request {
            method: "GET",
            host: "example.amazonaws.com",
            path: "/",
            content_type: "",
            body: b"",
            service: "service",
            region: "us-east-1",
            credentials: &credentials,
            now: time::macros::datetime!(2015-08-30 12:36:00 UTC),
        });
        assert_eq!(signed.date, "20150830T123600Z");
        assert_eq!(
            signed.authorization,
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, \
             SignedHeaders=host;x-amz-date, \
             Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"
        );
    }

    /// What botocore's `S3SigV4QueryAuth` makes of an upload with its type and length
    /// signed and a session token (computed once with botocore 1.44.8).
    #[test]
    fn a_presigned_upload_matches_botocore() {
        let credentials = credentials(
            "AKIAIOSFODNN7EXAMPLE",
            "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            Some("tok/en+="),
        );
        let query = presign(&Presign {
            method: "PUT",
            host: "photos.s3.ap-northeast-2.amazonaws.com",
            path: "/stores/3/0b1c.jpg",
            params: &[],
            headers: &[("content-type", "image/jpeg"), ("content-length", "123456")],
            service: "s3",
            region: "ap-northeast-2",
            credentials: &credentials,
            now: time::macros::datetime!(2026-12-05 19:38:06 UTC),
            expires: Duration::from_secs(600),
            payload_hash: "UNSIGNED-PAYLOAD",
        });
        assert_eq!(
            query,
            "X-Amz-Algorithm=AWS4-HMAC-SHA256\
             &X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20261205%2Fap-northeast-2%2Fs3%2Faws4_request\
             &X-Amz-Date=20261205T193806Z&X-Amz-Expires=600\
             &X-Amz-Security-Token=tok%2Fen%2B%3D\
             &X-Amz-SignedHeaders=content-length%3Bcontent-type%3Bhost\
             &X-Amz-Signature=9f32af5e35e91a5b11d748c672170b62f86f488e947e8c09bd426341e0f690a4"
        );
    }

    #[test]
    fn paths_keep_their_slashes_and_encode_the_rest() {
        assert_eq!(
            encode_path("/b/stores/3/a b+c.jpg"),
            "/b/stores/3/a%20b%2Bc.jpg"
        );
    }
}
