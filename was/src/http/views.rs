//! What the API sends out. Each view is filled from an explicit SELECT list or built by
//! hand, so a new column never reaches a client by accident.

use serde::Serialize;
use time::OffsetDateTime;
use utoipa::ToSchema;

use crate::domain::hours::BusinessHour;

#[derive(Debug, Serialize, ToSchema, sqlx::FromRow)]
pub struct ClassificationView {
    pub id: i64,
    /// `region` or `tag`.
    pub kind: String,
    pub name: String,
    pub latitude: f64,
    pub longitude: f64,
}

/// A store as a map marker.
#[derive(Debug, Serialize, ToSchema)]
pub struct StoreMarker {
    pub id: i64,
    pub name: String,
    pub open_now: bool,
    pub rentable_count: i64,
    pub latitude: f64,
    pub longitude: f64,
}

#[derive(Debug, Serialize, ToSchema, sqlx::FromRow)]
pub struct ImageView {
    pub id: i64,
    pub url: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct StoreDetail {
    pub id: i64,
    pub name: String,
    pub category: String,
    pub region_id: i64,
    pub tag_id: Option<i64>,
    pub latitude: f64,
    pub longitude: f64,
    pub address: String,
    pub address_detail: String,
    /// Where in the store the umbrellas stand.
    pub umbrella_location: String,
    /// Free-text opening hours as the store describes them.
    pub working_hours: String,
    pub contact: String,
    pub instagram_url: Option<String>,
    pub description: String,
    pub images: Vec<ImageView>,
    pub business_hours: Vec<BusinessHour>,
    pub open_now: bool,
    pub rentable_count: i64,
    pub has_locker: bool,
    /// Admin views only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub activated: Option<bool>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UmbrellaLocation {
    pub umbrella_id: i64,
    pub number: i64,
    pub store_id: i64,
    pub store_name: String,
    pub latitude: f64,
    pub longitude: f64,
    pub rentable: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BankView {
    pub bank_name: String,
    /// All but the last four digits masked.
    pub account_number: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UserView {
    pub id: i64,
    pub email: Option<String>,
    pub name: String,
    pub phone: Option<String>,
    pub is_admin: bool,
    pub kakao_linked: bool,
    pub bank: Option<BankView>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct StoreRef {
    pub id: i64,
    pub name: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RentalView {
    pub id: i64,
    pub umbrella_id: i64,
    pub umbrella_number: i64,
    pub rent_store: StoreRef,
    #[serde(with = "time::serde::rfc3339")]
    pub rented_at: OffsetDateTime,
    /// Rented at + 14 days.
    #[serde(with = "time::serde::rfc3339")]
    pub due_at: OffsetDateTime,
    /// Whole days since renting.
    pub elapsed_days: i64,
    #[serde(with = "time::serde::rfc3339::option")]
    pub returned_at: Option<OffsetDateTime>,
    pub return_store: Option<StoreRef>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CurrentRental {
    /// `null` when the user has no open rental.
    pub rental: Option<RentalView>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RentResult {
    pub rental: RentalView,
    /// Four digits that open the store's locker; only at stores with a locker.
    pub locker_password: Option<String>,
}
