//! `was remind`: one pass of the reminders, run every hour by a schedule (EventBridge
//! Scheduler in AWS, the compose `remind` service and `cargo stack` locally).
//!
//! - The day before the due date (or on the day, if that run was missed), the renter
//!   gets a "due soon" mail; once the due time has passed, an "overdue" mail.
//! - On Mondays, admins and clerks get the list of overdue rentals, and the operators'
//!   webhook a summary.
//!
//! Each is sent once however often and however many copies run: a reminder is claimed by
//! inserting its row (`reminders_sent`, `digests_sent`) before it is sent, and the claim
//! is withdrawn when sending fails, so the next run tries again. Mail goes out only from
//! 09:00 to 21:00 in Asia/Seoul. Only verified addresses of renters who left reminders
//! on get them (an unverified address may be someone else's).

use sqlx::PgPool;
use time::{OffsetDateTime, Weekday};

use crate::domain::hours::SEOUL;
use crate::error::Error;
use crate::http::views::{RENTAL_DAYS, seoul_labels};
use crate::mail::{Sender, templates};
use crate::notify::ReturnNotifier;

/// Mail goes out from this local hour…
pub const FIRST_HOUR: u8 = 9;
/// …until this one.
pub const LAST_HOUR: u8 = 21;

/// What a pass did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// Outside sending hours: nothing was sent.
    pub quiet: bool,
    pub due_soon: usize,
    pub overdue: usize,
    /// The weekly digest went to this many operators.
    pub digest: Option<usize>,
    /// Mails that could not be sent (their claims withdrawn for the next run).
    pub failed: usize,
}

pub struct Reminders<'a> {
    pub db: &'a PgPool,
    pub mail: &'a Sender,
    pub webhook: Option<&'a ReturnNotifier>,
    /// The site, for links in the mails.
    pub public_url: &'a str,
}

struct Due {
    rental_id: i64,
    rented_at: OffsetDateTime,
    email: String,
    name: String,
    umbrella: i64,
}

impl Reminders<'_> {
    pub async fn run(&self, now: OffsetDateTime) -> Result<Outcome, Error> {
        let local = now.to_offset(SEOUL);
        if !(FIRST_HOUR..LAST_HOUR).contains(&local.hour()) {
            return Ok(Outcome {
                quiet: true,
                ..Outcome::default()
            });
        }
        let mut outcome = Outcome::default();
        let page = format!("{}/me", self.public_url);
        for kind in ["overdue", "due_soon"] {
            for due in self.candidates(kind, now).await? {
                if !self.claim(due.rental_id, kind).await? {
                    continue;
                }
                let labels = seoul_labels(due.rented_at + time::Duration::days(RENTAL_DAYS));
                let mail = if kind == "overdue" {
                    templates::overdue(&due.email, &due.name, due.umbrella, &labels, &page)
                } else {
                    templates::due_soon(&due.email, &due.name, due.umbrella, &labels, &page)
                };
                if self.mail.deliver(mail).await {
                    tracing::info!(rental_id = due.rental_id, kind, "reminder sent");
                    if kind == "overdue" {
                        outcome.overdue += 1;
                    } else {
                        outcome.due_soon += 1;
                    }
                } else {
                    self.withdraw(due.rental_id, kind).await?;
                    outcome.failed += 1;
                }
            }
        }
        if local.weekday() == Weekday::Monday {
            outcome.digest = self.digest(now, &mut outcome.failed).await?;
        }
        Ok(outcome)
    }

    /// Open rentals of renters who want reminders, with a verified address, that are
    /// overdue (`overdue`) or due today or tomorrow (`due_soon`), not yet reminded.
    async fn candidates(&self, kind: &str, now: OffsetDateTime) -> Result<Vec<Due>, Error> {
        let days = i32::try_from(RENTAL_DAYS).unwrap_or(14);
        let rows = sqlx::query!(
            r#"SELECT r.id, r.rented_at, u.email AS "email!", u.name, m.number
               FROM rentals r
               JOIN users u ON u.id = r.user_id
               JOIN umbrellas m ON m.id = r.umbrella_id
               WHERE r.returned_at IS NULL AND u.status = 'active' AND u.reminders
                 AND u.email IS NOT NULL AND u.email_verified_at IS NOT NULL
                 AND CASE WHEN $3 = 'overdue'
                     THEN r.rented_at + make_interval(days => $2) <= $1
                     ELSE r.rented_at + make_interval(days => $2) > $1
                      AND ((r.rented_at + make_interval(days => $2)) AT TIME ZONE 'Asia/Seoul')::date
                          - ($1 AT TIME ZONE 'Asia/Seoul')::date <= 1 END
                 AND NOT EXISTS (SELECT 1 FROM reminders_sent s WHERE s.rental_id = r.id AND s.kind = $3)
               ORDER BY r.rented_at"#,
            now,
            days,
            kind
        )
        .fetch_all(self.db)
        .await?;
        Ok(rows
            .into_iter()
            .map(|r| Due {
                rental_id: r.id,
                rented_at: r.rented_at,
                email: r.email,
                name: r.name,
                umbrella: r.number,
            })
            .collect())
    }

    /// Claims a reminder; `false` when another run already has.
    async fn claim(&self, rental_id: i64, kind: &str) -> Result<bool, Error> {
        let claimed = sqlx::query!(
            "INSERT INTO reminders_sent (rental_id, kind) VALUES ($1, $2) ON CONFLICT DO NOTHING",
            rental_id,
            kind
        )
        .execute(self.db)
        .await?;
        Ok(claimed.rows_affected() == 1)
    }

    async fn withdraw(&self, rental_id: i64, kind: &str) -> Result<(), Error> {
        sqlx::query!(
            "DELETE FROM reminders_sent WHERE rental_id = $1 AND kind = $2",
            rental_id,
            kind
        )
        .execute(self.db)
        .await?;
        Ok(())
    }

    /// This week's digest, once: to each admin and clerk with a verified address, and
    /// the webhook. `None` when another run sent it.
    async fn digest(
        &self,
        now: OffsetDateTime,
        failed: &mut usize,
    ) -> Result<Option<usize>, Error> {
        let week = now.to_offset(SEOUL).date();
        let claimed = sqlx::query!(
            "INSERT INTO digests_sent (week) VALUES ($1) ON CONFLICT DO NOTHING",
            week
        )
        .execute(self.db)
        .await?;
        if claimed.rows_affected() == 0 {
            return Ok(None);
        }
        let days = i32::try_from(RENTAL_DAYS).unwrap_or(14);
        let overdue = sqlx::query!(
            r#"SELECT r.id, r.rented_at, m.number, u.name, s.name AS store
               FROM rentals r
               JOIN users u ON u.id = r.user_id
               JOIN umbrellas m ON m.id = r.umbrella_id
               JOIN stores s ON s.id = r.rent_store_id
               WHERE r.returned_at IS NULL AND r.rented_at + make_interval(days => $2) <= $1
               ORDER BY r.rented_at"#,
            now,
            days
        )
        .fetch_all(self.db)
        .await?;
        let lines: Vec<templates::OverdueLine> = overdue
            .into_iter()
            .map(|r| templates::OverdueLine {
                rental_id: r.id,
                umbrella: r.number,
                renter: r.name,
                store: r.store,
                days_overdue: (now - (r.rented_at + time::Duration::days(RENTAL_DAYS)))
                    .whole_days(),
            })
            .collect();
        let operators = sqlx::query!(
            r#"SELECT email AS "email!", name FROM users
               WHERE status = 'active' AND role IN ('admin', 'clerk')
                 AND email IS NOT NULL AND email_verified_at IS NOT NULL
               ORDER BY id"#
        )
        .fetch_all(self.db)
        .await?;
        let console = format!("{}/admin", self.public_url);
        let mut sent = 0;
        for o in &operators {
            if self
                .mail
                .deliver(templates::overdue_digest(
                    &o.email, &o.name, &lines, &console,
                ))
                .await
            {
                sent += 1;
            } else {
                *failed += 1;
            }
        }
        if let Some(webhook) = self.webhook {
            let text = format!(
                "이번 주 반납 지연: {}건. 가장 오래된 것: {}",
                lines.len(),
                lines
                    .iter()
                    .take(5)
                    .map(|l| format!("{}번 우산 ({}일)", l.umbrella, l.days_overdue))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            let ids: Vec<i64> = lines.iter().map(|l| l.rental_id).collect();
            webhook
                .post_now(
                    0,
                    serde_json::json!({
                        "text": text,
                        "upbrella": {"event": "overdue_digest", "week": week.to_string(), "rental_ids": ids}
                    }),
                )
                .await;
        }
        if sent == 0 && !operators.is_empty() {
            // Nobody got it: the next run tries again.
            sqlx::query!("DELETE FROM digests_sent WHERE week = $1", week)
                .execute(self.db)
                .await?;
            return Ok(Some(0));
        }
        Ok(Some(sent))
    }
}
