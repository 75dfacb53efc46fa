//! Amazon SES v2 `SendEmail` over HTTPS, signed (AWS Signature Version 4, in the
//! `Authorization` header) with the task role's temporary credentials: no access key is
//! stored anywhere. The stack's IAM policy lets the task send only from its own identity.

use secrecy::ExposeSecret;
use time::OffsetDateTime;
use url::Url;

use super::{Mail, MailError};
use crate::dbauth::{AwsCredentialCache, AwsCredentialSource};
use crate::sigv4::{Request, sign};

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

#[cfg(test)]
mod tests {
    use super::*;

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
}
