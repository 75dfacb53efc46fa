//! Store queries: details, business hours, rentable counts.

use std::collections::HashMap;

use sqlx::PgExecutor;
use time::{OffsetDateTime, Time};

use crate::domain::hours::{self, BusinessHour};
use crate::error::Result;
use crate::http::views::{ImageView, StoreDetail};

/// The SQL condition for "this umbrella (alias u) can be rented now".
pub const RENTABLE: &str = "u.rentable AND NOT u.missed AND NOT u.deleted \
     AND NOT EXISTS (SELECT 1 FROM rentals r WHERE r.umbrella_id = u.id AND r.returned_at IS NULL)";

#[derive(sqlx::FromRow)]
struct StoreRow {
    id: i64,
    name: String,
    category: String,
    region_id: i64,
    tag_id: Option<i64>,
    latitude: f64,
    longitude: f64,
    address: String,
    address_detail: String,
    umbrella_location: String,
    working_hours: String,
    contact: String,
    instagram_url: Option<String>,
    description: String,
    activated: bool,
    rentable_count: i64,
    has_locker: bool,
}

#[derive(sqlx::FromRow)]
struct HourRow {
    store_id: i64,
    weekday: i16,
    open_at: Time,
    close_at: Time,
}

/// Business hours of several stores at once, keyed by store id.
pub async fn hours_of(
    db: impl PgExecutor<'_>,
    store_ids: &[i64],
) -> Result<HashMap<i64, Vec<BusinessHour>>> {
    let rows: Vec<HourRow> = sqlx::query_as(
        "SELECT store_id, weekday, open_at, close_at FROM business_hours \
         WHERE store_id = ANY($1) ORDER BY store_id, weekday",
    )
    .bind(store_ids)
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

/// A store's full detail. `public` hides stores that are not activated; deleted stores
/// are never found.
pub async fn detail(db: &sqlx::PgPool, id: i64, public: bool) -> Result<Option<StoreDetail>> {
    let sql = format!(
        "SELECT s.id, s.name, s.category, s.region_id, s.tag_id, s.latitude, s.longitude, s.address, \
                s.address_detail, s.umbrella_location, s.working_hours, s.contact, s.instagram_url, \
                s.description, s.activated, \
                (SELECT count(*) FROM umbrellas u WHERE u.store_id = s.id AND {RENTABLE}) AS rentable_count, \
                EXISTS (SELECT 1 FROM lockers l WHERE l.store_id = s.id) AS has_locker \
         FROM stores s WHERE s.id = $1 AND NOT s.deleted AND (s.activated OR NOT $2)"
    );
    let Some(row) = sqlx::query_as::<_, StoreRow>(&sql)
        .bind(id)
        .bind(public)
        .fetch_optional(db)
        .await?
    else {
        return Ok(None);
    };
    let images: Vec<ImageView> =
        sqlx::query_as("SELECT id, url FROM store_images WHERE store_id = $1 ORDER BY id")
            .bind(id)
            .fetch_all(db)
            .await?;
    let business_hours = hours_of(db, &[id]).await?.remove(&id).unwrap_or_default();
    let open_now = row.activated && hours::is_open(&business_hours, OffsetDateTime::now_utc());
    Ok(Some(StoreDetail {
        id: row.id,
        name: row.name,
        category: row.category,
        region_id: row.region_id,
        tag_id: row.tag_id,
        latitude: row.latitude,
        longitude: row.longitude,
        address: row.address,
        address_detail: row.address_detail,
        umbrella_location: row.umbrella_location,
        working_hours: row.working_hours,
        contact: row.contact,
        instagram_url: row.instagram_url,
        description: row.description,
        images,
        business_hours,
        open_now,
        rentable_count: row.rentable_count,
        has_locker: row.has_locker,
        activated: (!public).then_some(row.activated),
    }))
}

/// Whether a store exists and is in service (activated, not deleted).
pub async fn is_in_service(db: impl PgExecutor<'_>, id: i64) -> Result<bool> {
    Ok(sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM stores WHERE id = $1 AND activated AND NOT deleted)",
    )
    .bind(id)
    .fetch_one(db)
    .await?)
}
