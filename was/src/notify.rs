//! Tells operators about each return, each renter's report of a lost or broken umbrella
//! and the weekly overdue digest through a webhook (Slack's incoming-webhook JSON,
//! which Slack, Mattermost, Discord's Slack-compatible endpoint and most chat tools
//! accept), so someone can check the umbrella and prepare the refund.
//!
//! Sent in the background after the return has committed, with retries: a slow or broken
//! webhook never delays or fails a return. What is still being retried when the process
//! stops is lost (the return itself is not; the console lists it).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use serde_json::json;
use time::format_description::well_known::Rfc3339;

use crate::http::views::RentalView;

/// Attempts per notification, and the wait before the first retry (doubling after).
const ATTEMPTS: u32 = 5;
const FIRST_BACKOFF: Duration = Duration::from_millis(500);

#[derive(Clone, Debug)]
pub struct WebhookConfig {
    /// The webhook's URL; a secret (whoever has it can post to the channel).
    pub url: SecretString,
    pub timeout: Duration,
}

pub struct ReturnNotifier {
    http: reqwest::Client,
    url: SecretString,
    given_up: AtomicU64,
}

impl ReturnNotifier {
    pub fn new(config: &WebhookConfig) -> Result<Self, reqwest::Error> {
        let http = reqwest::Client::builder()
            .timeout(config.timeout)
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        Ok(Self {
            http,
            url: config.url.clone(),
            given_up: AtomicU64::new(0),
        })
    }

    /// Queues the notice of a return; returns at once.
    pub fn returned(self: &Arc<Self>, rental: &RentalView) {
        self.post(rental.id, message(rental));
    }

    /// Queues a notice (`text` for people, `upbrella` for programs); returns at once.
    pub fn post(self: &Arc<Self>, id: i64, body: serde_json::Value) {
        let notifier = Arc::clone(self);
        tokio::spawn(async move { notifier.send(id, body).await });
    }

    /// Sends a notice and waits for the outcome (a one-shot command that exits after).
    pub async fn post_now(&self, id: i64, body: serde_json::Value) -> bool {
        self.send(id, body).await
    }

    /// Notices given up after every attempt, since the start.
    pub fn given_up(&self) -> u64 {
        self.given_up.load(Ordering::Relaxed)
    }

    async fn send(&self, rental_id: i64, body: serde_json::Value) -> bool {
        let mut backoff = FIRST_BACKOFF;
        for attempt in 1..=ATTEMPTS {
            let sent = self
                .http
                .post(self.url.expose_secret())
                .json(&body)
                .send()
                .await;
            match sent {
                Ok(r) if r.status().is_success() => {
                    tracing::debug!(rental_id, attempt, "operators' notice delivered");
                    return true;
                }
                // The URL stays out of the log: it is the secret.
                Ok(r) => {
                    tracing::warn!(rental_id, attempt, status = %r.status(), "operators' webhook refused the notice")
                }
                Err(e) => {
                    tracing::warn!(rental_id, attempt, error = %e.without_url(), "operators' webhook unreachable")
                }
            }
            if attempt < ATTEMPTS {
                tokio::time::sleep(backoff).await;
                backoff *= 2;
            }
        }
        self.given_up.fetch_add(1, Ordering::Relaxed);
        tracing::error!(rental_id, attempts = ATTEMPTS, "operators' notice given up");
        false
    }
}

/// The notice: Slack's `text` for people, and the facts for programs.
fn message(r: &RentalView) -> serde_json::Value {
    let to = r
        .return_store
        .as_ref()
        .map_or("(매장 없음)", |s| s.name.as_str());
    let flag = if r.without_code {
        " ⚠ QR 코드 없이(예전 스티커로) 대여 또는 반납되었습니다: 매장에서 우산을 확인해 주세요."
    } else {
        ""
    };
    let text = format!(
        "우산 반납: {}번 우산, {} → {} (대여 {}일째). 보증금: {}.{flag}",
        r.umbrella_number, r.rent_store.name, to, r.elapsed_days, r.deposit.label
    );
    json!({
        "text": text,
        "upbrella": {
            "event": "umbrella_returned",
            "rental_id": r.id,
            "umbrella_id": r.umbrella_id,
            "umbrella_number": r.umbrella_number,
            "rent_store_id": r.rent_store.id,
            "return_store_id": r.return_store.as_ref().map(|s| s.id),
            "rented_at": r.rented_at.format(&Rfc3339).ok(),
            "returned_at": r.returned_at.and_then(|t| t.format(&Rfc3339).ok()),
            "deposit_state": r.deposit.state,
            "without_code": r.without_code,
        }
    })
}
