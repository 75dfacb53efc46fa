//! The service's outgoing mail: verification links, password resets and the notices
//! that follow a change to an account.
//!
//! Sending never holds up a request: a handler puts the mail in a bounded queue and
//! answers; a worker sends it (a few at a time), retrying with backoff. A full queue drops
//! the new mail; a mail that fails every attempt is given up. Both are counted
//! (`upbrella_was_mail_total{outcome=…}` on the admin listener) and logged at ERROR with
//! `event` = `mail_dropped` / `mail_given_up`, which the deployment's log metric filter
//! turns into an alarm. What is still queued when the process stops is lost; every link
//! can be asked for again.
//!
//! Transports (`MAIL_TRANSPORT`): SMTP anywhere (a local catcher, or a relay over TLS),
//! SES v2 in AWS signed with the task role's credentials, or off (logged, not sent).

mod ses;
pub mod templates;

use std::fmt::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use lettre::message::{Mailbox, MultiPart};
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use secrecy::ExposeSecret;
use tokio::sync::{Semaphore, mpsc};

use crate::config::{MailConfig, MailTransport};

/// Attempts per mail, and the wait before the first retry (doubling after).
const ATTEMPTS: u32 = 5;
const FIRST_BACKOFF: Duration = Duration::from_secs(1);
/// Mails being sent at once.
const CONCURRENCY: usize = 4;
/// Bound on one attempt.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(20);

/// One mail: Korean first, English beside it, as plain text and HTML.
#[derive(Debug, Clone)]
pub struct Mail {
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: String,
    /// What it is, for logs and metrics (`verify_email`, `reset_password`, …).
    pub kind: &'static str,
}

#[derive(Debug, thiserror::Error)]
pub enum MailError {
    #[error("invalid address: {0}")]
    Address(String),
    #[error("cannot build the message: {0}")]
    Build(String),
    #[error("SMTP: {0}")]
    Smtp(String),
    #[error("SES: {0}")]
    Ses(String),
}

#[derive(Default)]
struct Stats {
    queued: AtomicU64,
    sent: AtomicU64,
    not_sent: AtomicU64,
    retried: AtomicU64,
    given_up: AtomicU64,
    dropped: AtomicU64,
}

enum Transport {
    Off,
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    Ses(Box<ses::Ses>),
}

pub struct Mailer {
    queue: mpsc::Sender<Mail>,
    stats: Arc<Stats>,
    capacity: usize,
}

/// Sends mail now and says whether it went: for a one-shot command (`was remind`) that
/// exits when done, where a background queue would lose what it still holds.
pub struct Sender {
    transport: Transport,
    from: Mailbox,
    stats: Stats,
}

impl Sender {
    pub fn new(config: &MailConfig) -> Result<Self, MailError> {
        let (transport, from) = transport(config)?;
        Ok(Self {
            transport,
            from,
            stats: Stats::default(),
        })
    }

    /// Delivers with the same retries as the queue; `true` when sent (or when sending
    /// is off: there is nothing to retry).
    pub async fn deliver(&self, mail: Mail) -> bool {
        deliver(&self.transport, &self.from, mail, &self.stats).await
    }
}

fn transport(config: &MailConfig) -> Result<(Transport, Mailbox), MailError> {
    let from: Mailbox = config
        .from
        .parse()
        .map_err(|e| MailError::Address(format!("MAIL_FROM: {e}")))?;
    let transport = match &config.transport {
        MailTransport::Off => Transport::Off,
        MailTransport::Smtp { url } => Transport::Smtp(
            AsyncSmtpTransport::<Tokio1Executor>::from_url(url.expose_secret())
                .map_err(|e| MailError::Smtp(e.to_string()))?
                .timeout(Some(ATTEMPT_TIMEOUT))
                .build(),
        ),
        MailTransport::Ses {
            region,
            endpoint,
            credentials,
        } => Transport::Ses(Box::new(ses::Ses::new(
            region,
            endpoint,
            credentials.clone(),
        ))),
    };
    Ok((transport, from))
}

impl Mailer {
    /// Starts the worker; fails only on settings that cannot work (a malformed SMTP URL
    /// or sender).
    pub fn start(config: &MailConfig) -> Result<Arc<Self>, MailError> {
        let (transport, from) = transport(config)?;
        let (queue, receiver) = mpsc::channel(config.queue);
        let stats = Arc::new(Stats::default());
        tokio::spawn(work(
            receiver,
            Arc::new(transport),
            from,
            Arc::clone(&stats),
        ));
        Ok(Arc::new(Self {
            queue,
            stats,
            capacity: config.queue,
        }))
    }

    /// Queues a mail; returns at once. A full queue drops it (counted, logged).
    pub fn send(&self, mail: Mail) {
        let kind = mail.kind;
        match self.queue.try_send(mail) {
            Ok(()) => {
                self.stats.queued.fetch_add(1, Ordering::Relaxed);
            }
            Err(_) => {
                self.stats.dropped.fetch_add(1, Ordering::Relaxed);
                tracing::error!(
                    event = "mail_dropped",
                    kind,
                    "mail dropped: the queue is full"
                );
            }
        }
    }

    /// Mails waiting in the queue.
    pub fn waiting(&self) -> usize {
        self.capacity - self.queue.capacity()
    }

    /// Mails lost since the start: given up after every attempt, or dropped (queue full).
    pub fn failures(&self) -> u64 {
        self.stats.given_up.load(Ordering::Relaxed) + self.stats.dropped.load(Ordering::Relaxed)
    }

    pub fn render(&self, out: &mut String) {
        out.push_str("# HELP upbrella_was_mail_total Mails by outcome: queued, sent, not_sent (MAIL_TRANSPORT=off), retried (attempts after the first), given_up, dropped (queue full).\n# TYPE upbrella_was_mail_total counter\n");
        for (outcome, n) in [
            ("queued", &self.stats.queued),
            ("sent", &self.stats.sent),
            ("not_sent", &self.stats.not_sent),
            ("retried", &self.stats.retried),
            ("given_up", &self.stats.given_up),
            ("dropped", &self.stats.dropped),
        ] {
            let _ = writeln!(
                out,
                "upbrella_was_mail_total{{outcome=\"{outcome}\"}} {}",
                n.load(Ordering::Relaxed)
            );
        }
        let _ = writeln!(
            out,
            "# HELP upbrella_was_mail_queue Mails waiting to be sent.\n# TYPE upbrella_was_mail_queue gauge\nupbrella_was_mail_queue {}",
            self.waiting()
        );
    }
}

async fn work(
    mut receiver: mpsc::Receiver<Mail>,
    transport: Arc<Transport>,
    from: Mailbox,
    stats: Arc<Stats>,
) {
    let slots = Arc::new(Semaphore::new(CONCURRENCY));
    while let Some(mail) = receiver.recv().await {
        let Ok(slot) = Arc::clone(&slots).acquire_owned().await else {
            return;
        };
        let transport = Arc::clone(&transport);
        let from = from.clone();
        let stats = Arc::clone(&stats);
        tokio::spawn(async move {
            deliver(&transport, &from, mail, &stats).await;
            drop(slot);
        });
    }
}

async fn deliver(transport: &Transport, from: &Mailbox, mail: Mail, stats: &Stats) -> bool {
    let domain = mail.to.rsplit('@').next().unwrap_or("").to_owned();
    if matches!(transport, Transport::Off) {
        stats.not_sent.fetch_add(1, Ordering::Relaxed);
        // The link is the secret: only what and to which domain.
        tracing::info!(kind = mail.kind, to_domain = %domain, "mail not sent (MAIL_TRANSPORT=off)");
        return true;
    }
    let mut backoff = FIRST_BACKOFF;
    for attempt in 1..=ATTEMPTS {
        if attempt > 1 {
            stats.retried.fetch_add(1, Ordering::Relaxed);
        }
        let outcome = tokio::time::timeout(ATTEMPT_TIMEOUT, send_once(transport, from, &mail))
            .await
            .unwrap_or_else(|_| Err(MailError::Smtp("timed out".into())));
        match outcome {
            Ok(()) => {
                stats.sent.fetch_add(1, Ordering::Relaxed);
                tracing::info!(kind = mail.kind, to_domain = %domain, attempt, "mail sent");
                return true;
            }
            // A message that cannot be built will not build on a retry.
            Err(e @ (MailError::Address(_) | MailError::Build(_))) => {
                stats.given_up.fetch_add(1, Ordering::Relaxed);
                tracing::error!(event = "mail_given_up", kind = mail.kind, error = %e, "mail given up");
                return false;
            }
            Err(e) => {
                tracing::warn!(kind = mail.kind, to_domain = %domain, attempt, error = %e, "mail not delivered; retrying");
            }
        }
        if attempt < ATTEMPTS {
            tokio::time::sleep(backoff).await;
            backoff *= 2;
        }
    }
    stats.given_up.fetch_add(1, Ordering::Relaxed);
    tracing::error!(event = "mail_given_up", kind = mail.kind, to_domain = %domain, attempts = ATTEMPTS, "mail given up");
    false
}

async fn send_once(transport: &Transport, from: &Mailbox, mail: &Mail) -> Result<(), MailError> {
    match transport {
        Transport::Off => Ok(()),
        Transport::Smtp(smtp) => {
            let to: Mailbox = mail
                .to
                .parse()
                .map_err(|e| MailError::Address(format!("{e}")))?;
            let message = lettre::Message::builder()
                .from(from.clone())
                .to(to)
                .subject(&mail.subject)
                .multipart(MultiPart::alternative_plain_html(
                    mail.text.clone(),
                    mail.html.clone(),
                ))
                .map_err(|e| MailError::Build(e.to_string()))?;
            smtp.send(message)
                .await
                .map(|_| ())
                .map_err(|e| MailError::Smtp(e.to_string()))
        }
        Transport::Ses(ses) => ses.send(&ses::from_address(from), mail).await,
    }
}
