//! Amazon SES v2 `SendEmail` over HTTPS, signed (AWS Signature Version 4, in the
//! `Authorization` header) with the task role's temporary credentials: no access key is
//! stored anywhere. The stack's IAM policy lets the task send only from its own identity.

use secrecy::ExposeSecret;
use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use url::Url;

use super::{Mail, MailError};
use crate::dbauth::{
    AwsCredentialCache, AwsCredentialSource, AwsCredentials, hmac, sigv4_key, sigv4_stamps,
};

pub struct Ses {
    region: String,
    url: Url,
    source: AwsCredentialSource,
    credentials: AwsCredentialCache,
    http: reqwest::Client,
}

impl Ses {
    pub fn new(region: &str, endpoint: &Url, source: AwsCredentialSource) -> Self {
        let mut url = endpoint.clone();
        url.set_path("/v2/email/outbound-emails");
        Self {
            region: region.to_owned(),
            url,
            source,
            credentials: AwsCredentialCache::default(),
            http: reqwest::Client::builder()
                .timeout(std::time::Duration::from_secs(15))
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap_or_default(),
        }
    }

    pub async fn send(&self, from: &str, mail: &Mail) -> Result<(), MailError> {
        let body = serde_json::to_vec(&serde_json::json!({
            "FromEmailAddress": from,
            "Destination": { "ToAddresses": [mail.to] },
            "Content": { "Simple": {
                "Subject": { "Data": mail.subject, "Charset": "UTF-8" },
                "Body": {
                    "Text": { "Data": mail.text, "Charset": "UTF-8" },
                    "Html": { "Data": mail.html, "Charset": "UTF-8" }
                }
            }}
        }))
        .map_err(|e| MailError::Build(e.to_string()))?;
        let credentials = self
            .credentials
            .get(&self.source)
            .await
            .map_err(|e| MailError::Ses(e.to_string()))?;
        let host = match (self.url.host_str(), self.url.port()) {
            (Some(h), Some(p)) => format!("{h}:{p}"),
            (Some(h), None) => h.to_owned(),
            (None, _) => return Err(MailError::Ses("SES_ENDPOINT has no host".into())),
        };
        let signed = sign(&Request {
            method: "POST",
            host: &host,
            path: self.url.path(),
            content_type: "application/json",
            body: &body,
            service: "ses",
            region: &self.region,
            credentials: &credentials,
            now: OffsetDateTime::now_utc(),
        });
        let mut request = self
            .http
            .post(self.url.clone())
            .header("content-type", "application/json")
            .header("x-amz-date", &signed.date)
            .header("authorization", &signed.authorization);
        if let Some(token) = &credentials.session_token {
            request = request.header("x-amz-security-token", token.expose_secret());
        }
        let response = request
            .body(body)
            .send()
            .await
            .map_err(|e| MailError::Ses(e.without_url().to_string()))?;
        if response.status().is_success() {
            return Ok(());
        }
        let status = response.status();
        let text = response.text().await.unwrap_or_default();
        Err(MailError::Ses(format!(
            "{status}: {}",
            text.chars().take(300).collect::<String>()
        )))
    }
}

/// The sender as SES wants it: a display name outside ASCII in MIME encoded-word form
/// (RFC 2047), the address as it is.
pub(crate) fn from_address(from: &lettre::message::Mailbox) -> String {
    use base64::Engine;
    match from.name.as_deref() {
        None | Some("") => from.email.to_string(),
        Some(name) if name.is_ascii() && !name.contains(['"', '\\']) => {
            format!("{name} <{}>", from.email)
        }
        Some(name) => format!(
            "=?utf-8?B?{}?= <{}>",
            base64::engine::general_purpose::STANDARD.encode(name),
            from.email
        ),
    }
}

pub(crate) struct Request<'a> {
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

pub(crate) struct Signed {
    pub date: String,
    pub authorization: String,
}

/// SigV4 with the signature in the `Authorization` header; signs `content-type`, `host`,
/// `x-amz-date` and, with temporary credentials, `x-amz-security-token`.
pub(crate) fn sign(r: &Request<'_>) -> Signed {
    let (date, stamp) = sigv4_stamps(r.now);
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
    let key = sigv4_key(r.credentials, &date, r.region, r.service);
    let signature = hex::encode(hmac(&key, string_to_sign.as_bytes()));
    Signed {
        date: stamp,
        authorization: format!(
            "AWS4-HMAC-SHA256 Credential={}/{scope}, SignedHeaders={signed_headers}, Signature={signature}",
            r.credentials.access_key_id
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::SecretString;

    #[test]
    fn a_korean_sender_name_is_encoded_for_ses() {
        let from: lettre::message::Mailbox = "우산대여 <no-reply@upbrella.test>"
            .parse()
            .expect("mailbox");
        assert_eq!(
            from_address(&from),
            "=?utf-8?B?7Jqw7IKw64yA7Jes?= <no-reply@upbrella.test>"
        );
        let plain: lettre::message::Mailbox = "upbrella <no-reply@upbrella.test>"
            .parse()
            .expect("mailbox");
        assert_eq!(from_address(&plain), "upbrella <no-reply@upbrella.test>");
    }

    /// The "get-vanilla" case of AWS's published SigV4 test suite (no content type).
    #[test]
    fn signs_like_the_published_sigv4_example() {
        let credentials = AwsCredentials {
            access_key_id: "AKIDEXAMPLE".into(),
            secret_access_key: SecretString::from("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"),
            session_token: None,
            expires: None,
        };
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
}
