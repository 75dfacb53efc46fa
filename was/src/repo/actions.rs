//! The operator action log: append and read, nothing else. The schema refuses UPDATE,
//! DELETE and TRUNCATE (a trigger, and `was migrate` revokes them from the app's role).

use serde_json::Value;
use sqlx::PgExecutor;
use time::OffsetDateTime;

/// What an operator did, to what.
pub struct NewAction<'a> {
    /// `None`: the `was admin` command on the server.
    pub actor_id: Option<i64>,
    pub address: Option<String>,
    pub action: &'a str,
    pub target_kind: &'a str,
    pub target_id: Option<i64>,
    pub details: Value,
}

/// Appends an entry. The actor's e-mail and name are copied as they are now, so the
/// entry still names them after they leave.
pub async fn record(db: impl PgExecutor<'_>, a: &NewAction<'_>) -> sqlx::Result<()> {
    sqlx::query!(
        "INSERT INTO operator_actions (actor_id, actor_email, actor_name, address, action, target_kind, \
                                       target_id, details) \
         SELECT $1, u.email, coalesce(u.name, 'was admin'), $2, $3, $4, $5, $6 \
         FROM (SELECT 1) one LEFT JOIN users u ON u.id = $1",
        a.actor_id,
        a.address,
        a.action,
        a.target_kind,
        a.target_id,
        a.details
    )
    .execute(db)
    .await?;
    Ok(())
}

#[derive(Debug, Clone)]
pub struct Action {
    pub id: i64,
    pub at: OffsetDateTime,
    pub actor_id: Option<i64>,
    pub actor_email: Option<String>,
    pub actor_name: String,
    pub address: Option<String>,
    pub action: String,
    pub target_kind: String,
    pub target_id: Option<i64>,
    pub details: Value,
}

/// Which entries to read; every field narrows.
#[derive(Default)]
pub struct Filter<'a> {
    pub actor_id: Option<i64>,
    pub action: Option<&'a str>,
    pub target_kind: Option<&'a str>,
    pub target_id: Option<i64>,
    pub since: Option<OffsetDateTime>,
    pub until: Option<OffsetDateTime>,
}

/// Entries newest first.
pub async fn page(
    db: impl PgExecutor<'_>,
    f: &Filter<'_>,
    limit: i64,
    offset: i64,
) -> sqlx::Result<Vec<Action>> {
    sqlx::query_as!(
        Action,
        "SELECT id, at, actor_id, actor_email, actor_name, address, action, target_kind, target_id, details \
         FROM operator_actions \
         WHERE ($1::bigint IS NULL OR actor_id = $1) AND ($2::text IS NULL OR action = $2) \
           AND ($3::text IS NULL OR target_kind = $3) AND ($4::bigint IS NULL OR target_id = $4) \
           AND ($5::timestamptz IS NULL OR at >= $5) AND ($6::timestamptz IS NULL OR at < $6) \
         ORDER BY id DESC LIMIT $7 OFFSET $8",
        f.actor_id,
        f.action,
        f.target_kind,
        f.target_id,
        f.since,
        f.until,
        limit,
        offset
    )
    .fetch_all(db)
    .await
}
