//! How mail leaves the service: SMTP, SES, or not at all.

use secrecy::SecretString;
use shared::config::{ConfigError, Settings, Var};
use url::Url;

use super::aws::aws_credential_source;
use super::url;
use crate::aws::AwsCredentialSource;

pub(super) const VARS: &[Var] = &[
    Var::new(
        "MAIL_TRANSPORT",
        "off",
        "smtp, ses (SES v2 through the task role), or off (mails are logged, not sent)",
    ),
    Var::new(
        "MAIL_FROM",
        "required unless off",
        "Sender, e.g. 우산대여 upbrella <no-reply@example.com>",
    ),
    Var::new(
        "SMTP_URL",
        "required with smtp",
        "smtp://host:port (plain, a local catcher), smtps://user:pass@host:465, or smtp://…?tls=required",
    ),
    Var::new("SES_REGION", "AWS_REGION", "Region of the SES endpoint"),
    Var::new(
        "SES_ENDPOINT",
        "https://email.{region}.amazonaws.com",
        "Override of the SES endpoint (rehearsals)",
    ),
    Var::new(
        "MAIL_QUEUE",
        "1000",
        "Mails waiting to be sent; beyond it new ones are dropped, counted and logged",
    ),
];

/// How mail leaves the service (`MAIL_TRANSPORT`).
#[derive(Clone, Debug)]
pub enum MailTransport {
    /// Mails are logged (without their links) and not sent.
    Off,
    Smtp {
        url: SecretString,
    },
    /// SES v2 `SendEmail`, signed with the task role's credentials.
    Ses {
        region: String,
        endpoint: Url,
        credentials: AwsCredentialSource,
    },
}

#[derive(Clone, Debug)]
pub struct MailConfig {
    pub transport: MailTransport,
    pub from: String,
    pub queue: usize,
}

pub(super) fn mail_config(s: &Settings<'_>) -> Result<MailConfig, ConfigError> {
    let transport = match s.string_or("MAIL_TRANSPORT", "off").as_str() {
        "off" => MailTransport::Off,
        "smtp" => {
            let url = s.required_string("SMTP_URL")?;
            let parsed = Url::parse(&url)
                .ok()
                .filter(|u| matches!(u.scheme(), "smtp" | "smtps") && u.host().is_some());
            if parsed.is_none() {
                // May carry a password: never echoed back.
                return Err(ConfigError::new(
                    "SMTP_URL",
                    "must be smtp://host:port or smtps://user:pass@host:port",
                ));
            }
            MailTransport::Smtp {
                url: SecretString::from(url),
            }
        }
        "ses" => {
            let region = s
                .raw("SES_REGION")
                .or_else(|| s.raw("AWS_REGION"))
                .or_else(|| s.raw("AWS_DEFAULT_REGION"))
                .ok_or_else(|| {
                    ConfigError::new(
                        "SES_REGION",
                        "is required with MAIL_TRANSPORT=ses (or AWS_REGION)",
                    )
                })?;
            let endpoint = url(
                s,
                "SES_ENDPOINT",
                Some(&format!("https://email.{region}.amazonaws.com")),
            )?;
            MailTransport::Ses {
                region,
                endpoint,
                credentials: aws_credential_source(s)?,
            }
        }
        other => {
            return Err(ConfigError::new(
                "MAIL_TRANSPORT",
                format!("must be smtp, ses or off, not {other:?}"),
            ));
        }
    };
    let from = match (&transport, s.raw("MAIL_FROM")) {
        (_, Some(from)) => {
            if !from.contains('@') || from.contains(['\r', '\n']) {
                return Err(ConfigError::new(
                    "MAIL_FROM",
                    "must be an address, e.g. 우산대여 <no-reply@example.com>",
                ));
            }
            from
        }
        (MailTransport::Off, None) => "upbrella <no-reply@localhost>".to_owned(),
        (_, None) => return Err(ConfigError::new("MAIL_FROM", "is required to send mail")),
    };
    let queue = s.parse_or("MAIL_QUEUE", 1000)?;
    if queue == 0 {
        return Err(ConfigError::new("MAIL_QUEUE", "must be at least 1"));
    }
    Ok(MailConfig {
        transport,
        from,
        queue,
    })
}
