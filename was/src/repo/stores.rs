//! Stores: details, business hours, images, activation, and the markers of the map.

use std::collections::HashMap;

use sqlx::{PgExecutor, PgPool};

use crate::domain::hours::{self, BusinessHour};

/// A store with everything its page shows.
#[derive(Debug, Clone)]
pub struct Store {
    pub summary: StoreSummary,
    pub images: Vec<Image>,
    pub business_hours: Vec<BusinessHour>,
    /// Closures that have not ended (yesterday's included: a night's interval may
    /// still be running).
    pub closures: Vec<StoreClosure>,
}

/// A holiday or temporary closure of a store, local dates inclusive.
#[derive(Debug, Clone)]
pub struct StoreClosure {
    pub id: i64,
    pub store_id: i64,
    pub starts_on: time::Date,
    pub ends_on: time::Date,
    pub reason: String,
}

impl StoreClosure {
    pub fn dates(&self) -> hours::Closure {
        hours::Closure {
            starts_on: self.starts_on,
            ends_on: self.ends_on,
        }
    }
}

/// A store's own row, with what is counted from its umbrellas and locker.
#[derive(Debug, Clone)]
pub struct StoreSummary {
    pub id: i64,
    pub name: String,
    pub category: String,
    pub region_id: i64,
    pub tag_id: Option<i64>,
    pub latitude: f64,
    pub longitude: f64,
    pub address: String,
    pub address_detail: String,
    pub umbrella_location: String,
    pub working_hours: String,
    pub contact: String,
    pub instagram_url: Option<String>,
    pub description: String,
    pub activated: bool,
    /// Umbrellas that can be rented here this moment.
    pub rentable_count: i64,
    pub has_locker: bool,
}

#[derive(Debug, Clone)]
pub struct Image {
    pub id: i64,
    pub url: String,
}

/// What an admin writes about a store: checked by the handler before it gets here.
pub struct StoreFields {
    pub name: String,
    pub category: String,
    pub region_id: i64,
    pub tag_id: Option<i64>,
    pub latitude: f64,
    pub longitude: f64,
    pub address: String,
    pub address_detail: String,
    pub umbrella_location: String,
    pub working_hours: String,
    pub contact: String,
    pub instagram_url: Option<String>,
    pub description: String,
}

/// `query_as!` for [`StoreSummary`] rows of `stores s`: the select list, then the
/// query's tail.
macro_rules! summaries {
    ($tail:tt $(, $arg:expr)* $(,)?) => {
        sqlx::query_as!(
            StoreSummary,
            r#"SELECT s.id, s.name, s.category, s.region_id, s.tag_id, s.latitude, s.longitude, s.address,
                      s.address_detail, s.umbrella_location, s.working_hours, s.contact, s.instagram_url,
                      s.description, s.activated,
                      (SELECT count(*) FROM umbrella_states u WHERE u.store_id = s.id AND u.available) AS "rentable_count!",
                      EXISTS (SELECT 1 FROM lockers l WHERE l.store_id = s.id) AS "has_locker!"
               FROM stores s "# + $tail
            $(, $arg)*
        )
    };
}

/// The images and hours of several stores, fetched together: two queries for any number
/// of stores.
async fn with_details(db: &PgPool, summaries: Vec<StoreSummary>) -> sqlx::Result<Vec<Store>> {
    let ids: Vec<i64> = summaries.iter().map(|s| s.id).collect();
    let rows = sqlx::query!(
        "SELECT id, store_id, url FROM store_images WHERE store_id = ANY($1) ORDER BY id",
        &ids
    )
    .fetch_all(db)
    .await?;
    let mut images: HashMap<i64, Vec<Image>> = HashMap::new();
    for r in rows {
        images.entry(r.store_id).or_default().push(Image {
            id: r.id,
            url: r.url,
        });
    }
    let mut hours = hours_of(db, &ids).await?;
    let mut closures = closures_of(db, &ids).await?;
    Ok(summaries
        .into_iter()
        .map(|summary| Store {
            images: images.remove(&summary.id).unwrap_or_default(),
            business_hours: hours.remove(&summary.id).unwrap_or_default(),
            closures: closures.remove(&summary.id).unwrap_or_default(),
            summary,
        })
        .collect())
}

/// A store that is not deleted; with `in_service_only`, only an activated one.
pub async fn find(db: &PgPool, id: i64, in_service_only: bool) -> sqlx::Result<Option<Store>> {
    let summary = summaries!(
        "WHERE s.id = $1 AND NOT s.deleted AND (s.activated OR NOT $2)",
        id,
        in_service_only
    )
    .fetch_optional(db)
    .await?;
    match summary {
        None => Ok(None),
        Some(summary) => Ok(with_details(db, vec![summary]).await?.pop()),
    }
}

/// The stores not deleted, by id, with their images and hours: three queries a page.
pub async fn page(db: &PgPool, limit: i64, offset: i64) -> sqlx::Result<Vec<Store>> {
    let summaries = summaries!(
        "WHERE NOT s.deleted ORDER BY s.id LIMIT $1 OFFSET $2",
        limit,
        offset
    )
    .fetch_all(db)
    .await?;
    with_details(db, summaries).await
}

/// Business hours of several stores at once, keyed by store id.
pub async fn hours_of(
    db: impl PgExecutor<'_>,
    store_ids: &[i64],
) -> sqlx::Result<HashMap<i64, Vec<BusinessHour>>> {
    let rows = sqlx::query!(
        "SELECT store_id, weekday, open_at, close_at FROM business_hours \
         WHERE store_id = ANY($1) ORDER BY store_id, weekday, open_at",
        store_ids
    )
    .fetch_all(db)
    .await?;
    let mut map: HashMap<i64, Vec<BusinessHour>> = HashMap::new();
    for r in rows {
        map.entry(r.store_id).or_default().push(BusinessHour {
            weekday: r.weekday,
            open: r.open_at,
            close: r.close_at,
        });
    }
    Ok(map)
}

/// The closures of several stores that have not ended (from yesterday, Asia/Seoul, on),
/// keyed by store id, earliest first.
pub async fn closures_of(
    db: impl PgExecutor<'_>,
    store_ids: &[i64],
) -> sqlx::Result<HashMap<i64, Vec<StoreClosure>>> {
    let rows = sqlx::query_as!(
        StoreClosure,
        "SELECT id, store_id, starts_on, ends_on, reason FROM store_closures \
         WHERE store_id = ANY($1) AND ends_on >= (now() AT TIME ZONE 'Asia/Seoul')::date - 1 \
         ORDER BY store_id, starts_on, id",
        store_ids
    )
    .fetch_all(db)
    .await?;
    let mut map: HashMap<i64, Vec<StoreClosure>> = HashMap::new();
    for r in rows {
        map.entry(r.store_id).or_default().push(r);
    }
    Ok(map)
}

/// Adds a closure; its id.
pub async fn add_closure(
    db: impl PgExecutor<'_>,
    store_id: i64,
    starts_on: time::Date,
    ends_on: time::Date,
    reason: &str,
) -> sqlx::Result<StoreClosure> {
    sqlx::query_as!(
        StoreClosure,
        "INSERT INTO store_closures (store_id, starts_on, ends_on, reason) VALUES ($1, $2, $3, $4) \
         RETURNING id, store_id, starts_on, ends_on, reason",
        store_id,
        starts_on,
        ends_on,
        reason
    )
    .fetch_one(db)
    .await
}

/// Removes a closure of this store; `false` when there is none.
pub async fn delete_closure(db: impl PgExecutor<'_>, store_id: i64, id: i64) -> sqlx::Result<bool> {
    sqlx::query!(
        "DELETE FROM store_closures WHERE id = $1 AND store_id = $2",
        id,
        store_id
    )
    .execute(db)
    .await
    .map(|r| r.rows_affected() == 1)
}

/// Replaces a store's business hours.
pub async fn replace_hours(
    db: &mut sqlx::PgConnection,
    store_id: i64,
    hours: &[BusinessHour],
) -> sqlx::Result<()> {
    sqlx::query!("DELETE FROM business_hours WHERE store_id = $1", store_id)
        .execute(&mut *db)
        .await?;
    let weekdays: Vec<i16> = hours.iter().map(|h| h.weekday).collect();
    let opens: Vec<time::Time> = hours.iter().map(|h| h.open).collect();
    let closes: Vec<time::Time> = hours.iter().map(|h| h.close).collect();
    sqlx::query!(
        "INSERT INTO business_hours (store_id, weekday, open_at, close_at) \
         SELECT $1, * FROM UNNEST($2::smallint[], $3::time[], $4::time[])",
        store_id,
        &weekdays,
        &opens,
        &closes
    )
    .execute(&mut *db)
    .await?;
    Ok(())
}

/// Creates a store (not activated); returns its id.
pub async fn create(db: impl PgExecutor<'_>, s: &StoreFields) -> sqlx::Result<i64> {
    sqlx::query_scalar!(
        "INSERT INTO stores (name, category, region_id, tag_id, latitude, longitude, address, address_detail, \
                             umbrella_location, working_hours, contact, instagram_url, description) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING id",
        s.name,
        s.category,
        s.region_id,
        s.tag_id,
        s.latitude,
        s.longitude,
        s.address,
        s.address_detail,
        s.umbrella_location,
        s.working_hours,
        s.contact,
        s.instagram_url,
        s.description
    )
    .fetch_one(db)
    .await
}

/// Replaces a store's fields; `false` when there is no such store.
pub async fn update(db: impl PgExecutor<'_>, id: i64, s: &StoreFields) -> sqlx::Result<bool> {
    let done = sqlx::query!(
        "UPDATE stores SET name = $2, category = $3, region_id = $4, tag_id = $5, latitude = $6, longitude = $7, \
                address = $8, address_detail = $9, umbrella_location = $10, working_hours = $11, contact = $12, \
                instagram_url = $13, description = $14 \
         WHERE id = $1 AND NOT deleted",
        id,
        s.name,
        s.category,
        s.region_id,
        s.tag_id,
        s.latitude,
        s.longitude,
        s.address,
        s.address_detail,
        s.umbrella_location,
        s.working_hours,
        s.contact,
        s.instagram_url,
        s.description
    )
    .execute(db)
    .await?;
    Ok(done.rows_affected() > 0)
}

/// A store locked until the transaction ends, with what its changes depend on.
pub struct Locked {
    pub activated: bool,
    pub image_count: i64,
}

/// Locks a store that is not deleted.
pub async fn lock(db: impl PgExecutor<'_>, id: i64) -> sqlx::Result<Option<Locked>> {
    sqlx::query_as!(
        Locked,
        r#"SELECT s.activated, (SELECT count(*) FROM store_images i WHERE i.store_id = s.id) AS "image_count!"
           FROM stores s WHERE s.id = $1 AND NOT s.deleted FOR UPDATE"#,
        id
    )
    .fetch_optional(db)
    .await
}

pub async fn set_activated(db: impl PgExecutor<'_>, id: i64, activated: bool) -> sqlx::Result<()> {
    sqlx::query!(
        "UPDATE stores SET activated = $2 WHERE id = $1",
        id,
        activated
    )
    .execute(db)
    .await?;
    Ok(())
}

/// Deletes a store softly: rentals keep pointing at it.
pub async fn mark_deleted(db: impl PgExecutor<'_>, id: i64) -> sqlx::Result<()> {
    sqlx::query!(
        "UPDATE stores SET deleted = true, activated = false WHERE id = $1",
        id
    )
    .execute(db)
    .await?;
    Ok(())
}

/// Adds an image to a store that is not deleted; `None` when there is no such store.
pub async fn add_image(
    db: impl PgExecutor<'_>,
    store_id: i64,
    url: &str,
) -> sqlx::Result<Option<Image>> {
    sqlx::query_as!(
        Image,
        "INSERT INTO store_images (store_id, url) SELECT id, $2 FROM stores WHERE id = $1 AND NOT deleted \
         RETURNING id, url",
        store_id,
        url
    )
    .fetch_optional(db)
    .await
}

/// `false` when the store has no such image.
pub async fn delete_image(
    db: impl PgExecutor<'_>,
    store_id: i64,
    image_id: i64,
) -> sqlx::Result<bool> {
    let done = sqlx::query!(
        "DELETE FROM store_images WHERE id = $1 AND store_id = $2",
        image_id,
        store_id
    )
    .execute(db)
    .await?;
    Ok(done.rows_affected() > 0)
}

/// Whether a store exists and is not deleted.
pub async fn exists(db: impl PgExecutor<'_>, id: i64) -> sqlx::Result<bool> {
    sqlx::query_scalar!(
        r#"SELECT EXISTS (SELECT 1 FROM stores WHERE id = $1 AND NOT deleted) AS "exists!""#,
        id
    )
    .fetch_one(db)
    .await
}

/// Whether a store is in service (activated, not deleted).
pub async fn is_in_service(db: impl PgExecutor<'_>, id: i64) -> sqlx::Result<bool> {
    sqlx::query_scalar!(
        r#"SELECT EXISTS (SELECT 1 FROM stores WHERE id = $1 AND activated AND NOT deleted) AS "exists!""#,
        id
    )
    .fetch_one(db)
    .await
}

/// A store as a place to return to: its name and its locker's secret (sealed, or in the
/// clear for a row from before sealing).
pub struct ReturnPoint {
    pub name: String,
    pub locker_id: Option<i64>,
    pub locker_secret: Option<String>,
    pub locker_sealed: Option<Vec<u8>>,
}

/// Any store that is not deleted takes umbrellas back: one paused for rentals (not
/// activated) still does, or a renter standing at its counter could not return.
pub async fn return_point(db: impl PgExecutor<'_>, id: i64) -> sqlx::Result<Option<ReturnPoint>> {
    sqlx::query_as!(
        ReturnPoint,
        r#"SELECT s.name, l.id AS "locker_id?", l.secret AS "locker_secret?", l.sealed_secret AS "locker_sealed?"
           FROM stores s LEFT JOIN lockers l ON l.store_id = s.id
           WHERE s.id = $1 AND NOT s.deleted"#,
        id
    )
    .fetch_optional(db)
    .await
}

/// A store in service on the map.
pub struct Marker {
    pub id: i64,
    pub name: String,
    pub latitude: f64,
    pub longitude: f64,
    pub rentable_count: i64,
}

/// The stores in service of a region, by id.
pub async fn markers_in_region(
    db: impl PgExecutor<'_>,
    region_id: i64,
) -> sqlx::Result<Vec<Marker>> {
    sqlx::query_as!(
        Marker,
        r#"SELECT s.id, s.name, s.latitude, s.longitude,
                  (SELECT count(*) FROM umbrella_states u WHERE u.store_id = s.id AND u.available) AS "rentable_count!"
           FROM stores s WHERE s.region_id = $1 AND s.activated AND NOT s.deleted ORDER BY s.id"#,
        region_id
    )
    .fetch_all(db)
    .await
}

/// A store in service as the introductions page shows it.
pub struct Introduction {
    pub id: i64,
    pub name: String,
    pub category: String,
    pub region_name: String,
    pub description: String,
    /// Its first image.
    pub image_url: Option<String>,
}

/// Every store in service, by region then name.
pub async fn introductions(db: impl PgExecutor<'_>) -> sqlx::Result<Vec<Introduction>> {
    sqlx::query_as!(
        Introduction,
        r#"SELECT s.id, s.name, s.category, r.name AS region_name, s.description,
                  (SELECT i.url FROM store_images i WHERE i.store_id = s.id ORDER BY i.id LIMIT 1) AS image_url
           FROM stores s JOIN classifications r ON r.id = s.region_id
           WHERE s.activated AND NOT s.deleted ORDER BY r.name, s.name, s.id"#
    )
    .fetch_all(db)
    .await
}
