//! Regions and tags: the map's areas and the labels stores carry.

use sqlx::PgExecutor;

/// A region or a tag.
#[derive(Debug, Clone)]
pub struct Classification {
    pub id: i64,
    /// `region` or `tag`.
    pub kind: String,
    pub name: String,
    pub latitude: f64,
    pub longitude: f64,
}

/// What an admin writes: checked by the handler before it gets here.
pub struct ClassificationFields {
    pub kind: String,
    pub name: String,
    pub latitude: f64,
    pub longitude: f64,
}

pub async fn all(db: impl PgExecutor<'_>) -> sqlx::Result<Vec<Classification>> {
    sqlx::query_as!(
        Classification,
        "SELECT id, kind, name, latitude, longitude FROM classifications ORDER BY kind, name"
    )
    .fetch_all(db)
    .await
}

pub async fn of_kind(db: impl PgExecutor<'_>, kind: &str) -> sqlx::Result<Vec<Classification>> {
    sqlx::query_as!(
        Classification,
        "SELECT id, kind, name, latitude, longitude FROM classifications WHERE kind = $1 ORDER BY name",
        kind
    )
    .fetch_all(db)
    .await
}

pub async fn is_region(db: impl PgExecutor<'_>, id: i64) -> sqlx::Result<bool> {
    sqlx::query_scalar!(
        r#"SELECT EXISTS (SELECT 1 FROM classifications WHERE id = $1 AND kind = 'region') AS "exists!""#,
        id
    )
    .fetch_one(db)
    .await
}

pub async fn create(
    db: impl PgExecutor<'_>,
    c: &ClassificationFields,
) -> sqlx::Result<Classification> {
    sqlx::query_as!(
        Classification,
        "INSERT INTO classifications (kind, name, latitude, longitude) VALUES ($1, $2, $3, $4) \
         RETURNING id, kind, name, latitude, longitude",
        c.kind,
        c.name,
        c.latitude,
        c.longitude
    )
    .fetch_one(db)
    .await
}

/// `None` when there is no such classification.
pub async fn update(
    db: impl PgExecutor<'_>,
    id: i64,
    c: &ClassificationFields,
) -> sqlx::Result<Option<Classification>> {
    sqlx::query_as!(
        Classification,
        "UPDATE classifications SET kind = $2, name = $3, latitude = $4, longitude = $5 WHERE id = $1 \
         RETURNING id, kind, name, latitude, longitude",
        id,
        c.kind,
        c.name,
        c.latitude,
        c.longitude
    )
    .fetch_optional(db)
    .await
}

/// Whether a classification was deleted.
pub async fn delete(db: impl PgExecutor<'_>, id: i64) -> sqlx::Result<bool> {
    let done = sqlx::query!("DELETE FROM classifications WHERE id = $1", id)
        .execute(db)
        .await?;
    Ok(done.rows_affected() > 0)
}
