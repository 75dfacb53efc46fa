//! What the API sends out. Each view is built field by field from a record of `repo`,
//! so a new column never reaches a client by accident.

use serde::Serialize;
use time::OffsetDateTime;
use utoipa::ToSchema;

use crate::domain::deposit;
use crate::domain::hours::{self, BusinessHour};
use crate::repo::classifications::Classification;
use crate::repo::rentals::Rental;
use crate::repo::stores::{Image, Marker, Store};
use crate::repo::umbrellas::Location;

#[derive(Debug, Serialize, ToSchema)]
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

#[derive(Debug, Serialize, ToSchema)]
pub struct ImageView {
    pub id: i64,
    pub url: String,
}

impl From<Classification> for ClassificationView {
    fn from(c: Classification) -> Self {
        Self {
            id: c.id,
            kind: c.kind,
            name: c.name,
            latitude: c.latitude,
            longitude: c.longitude,
        }
    }
}

impl StoreMarker {
    pub fn new(
        m: Marker,
        hours: &[BusinessHour],
        closures: &[hours::Closure],
        now: OffsetDateTime,
    ) -> Self {
        Self {
            id: m.id,
            name: m.name,
            open_now: hours::is_open(hours, closures, now),
            rentable_count: m.rentable_count,
            latitude: m.latitude,
            longitude: m.longitude,
        }
    }
}

impl From<Image> for ImageView {
    fn from(i: Image) -> Self {
        Self {
            id: i.id,
            url: i.url,
        }
    }
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
    /// Opening intervals, by weekday then opening time: several a day (a break time),
    /// `close` at or before `open` past midnight, `open == close` 24 hours.
    pub business_hours: Vec<BusinessHour>,
    /// Holidays and temporary closures that have not ended, earliest first.
    pub closures: Vec<ClosureView>,
    /// Open at this moment (Asia/Seoul), closures and nights past midnight counted.
    pub open_now: bool,
    pub rentable_count: i64,
    pub has_locker: bool,
    /// Admin views only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub activated: Option<bool>,
}

impl StoreDetail {
    /// `admin` views also say whether the store is activated.
    pub fn new(store: Store, admin: bool, now: OffsetDateTime) -> Self {
        let s = store.summary;
        let closed: Vec<_> = store
            .closures
            .iter()
            .map(crate::repo::stores::StoreClosure::dates)
            .collect();
        Self {
            open_now: s.activated && hours::is_open(&store.business_hours, &closed, now),
            closures: store.closures.into_iter().map(Into::into).collect(),
            id: s.id,
            name: s.name,
            category: s.category,
            region_id: s.region_id,
            tag_id: s.tag_id,
            latitude: s.latitude,
            longitude: s.longitude,
            address: s.address,
            address_detail: s.address_detail,
            umbrella_location: s.umbrella_location,
            working_hours: s.working_hours,
            contact: s.contact,
            instagram_url: s.instagram_url,
            description: s.description,
            images: store.images.into_iter().map(Into::into).collect(),
            business_hours: store.business_hours,
            rentable_count: s.rentable_count,
            has_locker: s.has_locker,
            activated: admin.then_some(s.activated),
        }
    }
}

/// A holiday or temporary closure: closed from `starts_on` to `ends_on` (local dates,
/// inclusive).
#[derive(Debug, Serialize, ToSchema)]
pub struct ClosureView {
    pub id: i64,
    #[schema(value_type = String, example = "2027-02-16")]
    pub starts_on: String,
    #[schema(value_type = String, example = "2027-02-18")]
    pub ends_on: String,
    pub reason: String,
}

impl From<crate::repo::stores::StoreClosure> for ClosureView {
    fn from(c: crate::repo::stores::StoreClosure) -> Self {
        Self {
            id: c.id,
            starts_on: c.starts_on.to_string(),
            ends_on: c.ends_on.to_string(),
            reason: c.reason,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UmbrellaLocation {
    pub umbrella_id: i64,
    pub number: i64,
    /// Where it stands, by name and place: not the store's id, which together with the
    /// umbrella's is what a rent or return from elsewhere would need.
    pub store_name: String,
    pub latitude: f64,
    pub longitude: f64,
    pub rentable: bool,
}

impl From<Location> for UmbrellaLocation {
    fn from(l: Location) -> Self {
        Self {
            umbrella_id: l.id,
            number: l.number,
            store_name: l.store_name,
            latitude: l.latitude,
            longitude: l.longitude,
            rentable: l.available && l.store_activated,
        }
    }
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
    /// `renter`, `staff`, `clerk` or `admin`: every role but renter opens the console.
    pub role: crate::domain::role::Role,
    /// The stores a staff member works for.
    pub staff_store_ids: Vec<i64>,
    /// `role == "admin"`.
    pub is_admin: bool,
    /// Reminder e-mails (due tomorrow, overdue) on.
    pub reminders: bool,
    pub kakao_linked: bool,
    /// The owner opened the link sent to `email`.
    pub email_verified: bool,
    /// A local account (a Kakao account logs in with Kakao instead).
    pub has_password: bool,
    pub bank: Option<BankView>,
    /// Both the terms and the privacy policy agreed to.
    pub agreed: bool,
    /// A phone number and both agreements: what renting needs (a Kakao sign-up has
    /// neither until it completes its profile).
    pub ready_to_rent: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct StoreRef {
    pub id: i64,
    pub name: String,
}

/// Days until a rental is due back (the original service's rule).
pub const RENTAL_DAYS: i64 = 14;

#[derive(Debug, Serialize, ToSchema)]
pub struct RentalView {
    pub id: i64,
    pub umbrella_id: i64,
    pub umbrella_number: i64,
    pub rent_store: StoreRef,
    #[serde(with = "time::serde::rfc3339")]
    pub rented_at: OffsetDateTime,
    /// Rented at + RENTAL_DAYS.
    #[serde(with = "time::serde::rfc3339")]
    pub due_at: OffsetDateTime,
    /// Whole days since renting.
    pub elapsed_days: i64,
    #[serde(with = "time::serde::rfc3339::option")]
    pub returned_at: Option<OffsetDateTime>,
    pub return_store: Option<StoreRef>,
    /// Set when staff closed the rental: `lost` or `returned_by_staff`.
    pub closed_reason: Option<String>,
    /// An admin confirmed the deposit arrived.
    pub deposit_paid: bool,
    /// An admin confirmed the deposit went back.
    pub deposit_refunded: bool,
    /// Where the deposit stands, in words for the renter.
    pub deposit: DepositView,
    /// The renter can (or must) give a refund account for this rental now.
    pub needs_refund_account: bool,
    /// Rented or returned with an original sticker (no signed code) in the migration
    /// mode: flagged for the operators.
    pub without_code: bool,
    /// Open and past its due date.
    pub overdue: bool,
    /// Calendar days (Asia/Seoul) from today to the due date: 0 on the due day,
    /// negative once overdue.
    pub days_left: i64,
    /// The due date and time as people read it, in Asia/Seoul: `12월 19일 (토) 14:05`.
    pub due_label: String,
    /// The same in English: `Sat 19 Dec, 14:05`.
    pub due_label_en: String,
    /// The renter's reports of this umbrella (lost, broken), oldest first.
    pub reports: Vec<RenterReportView>,
}

/// A renter's report as the renter sees it.
#[derive(Debug, Serialize, ToSchema)]
pub struct RenterReportView {
    pub id: i64,
    /// `lost` or `broken`.
    pub kind: String,
    pub note: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// When the operators followed it up.
    #[serde(with = "time::serde::rfc3339::option")]
    pub resolved_at: Option<OffsetDateTime>,
}

impl From<crate::repo::reports::RentalReport> for RenterReportView {
    fn from(r: crate::repo::reports::RentalReport) -> Self {
        Self {
            id: r.id,
            kind: r.kind,
            note: r.note,
            created_at: r.created_at,
            resolved_at: r.resolved_at,
        }
    }
}

/// A moment as people read it in Asia/Seoul, Korean and English:
/// (`12월 19일 (토) 14:05`, `Sat 19 Dec, 14:05`).
pub fn seoul_labels(at: OffsetDateTime) -> (String, String) {
    const KO: [&str; 7] = ["월", "화", "수", "목", "금", "토", "일"];
    const EN: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let local = at.to_offset(hours::SEOUL);
    let day = usize::from(local.weekday().number_days_from_monday());
    let month = u8::from(local.month());
    (
        format!(
            "{}월 {}일 ({}) {:02}:{:02}",
            month,
            local.day(),
            KO[day],
            local.hour(),
            local.minute()
        ),
        format!(
            "{} {} {}, {:02}:{:02}",
            EN[day],
            local.day(),
            MONTHS[usize::from(month - 1)],
            local.hour(),
            local.minute()
        ),
    )
}

/// Calendar days in Asia/Seoul from `now` to `at` (0 on the same local date).
pub fn seoul_days_between(now: OffsetDateTime, at: OffsetDateTime) -> i64 {
    let a = now.to_offset(hours::SEOUL).date();
    let b = at.to_offset(hours::SEOUL).date();
    i64::from(b.to_julian_day() - a.to_julian_day())
}

/// A rental's deposit as people read it.
#[derive(Debug, Serialize, ToSchema)]
pub struct DepositView {
    pub state: deposit::State,
    /// In won.
    pub amount: i32,
    /// What to write as the transfer's sender, so the statement names this rental.
    pub reference: Option<String>,
    /// Why a forfeited deposit is kept.
    pub forfeit_reason: Option<deposit::ForfeitReason>,
    /// The state in Korean, then in English.
    pub label: String,
    pub label_en: String,
}

impl DepositView {
    pub fn new(r: &Rental) -> Self {
        let standing = r.standing();
        let (label, label_en) = deposit::renter_label(standing.state, standing.forfeit);
        Self {
            state: standing.state,
            amount: r.deposit_amount,
            reference: r.deposit_reference.clone(),
            forfeit_reason: standing.forfeit,
            label: label.to_owned(),
            label_en: label_en.to_owned(),
        }
    }
}

impl From<Rental> for RentalView {
    fn from(r: Rental) -> Self {
        let deposit = DepositView::new(&r);
        let needs_refund_account = matches!(deposit.state, deposit::State::RefundFailed)
            || (r.bank_account.is_none()
                && r.returned_at.is_some()
                && deposit::apply(r.standing(), deposit::Operation::NewAccount).is_ok());
        let now = OffsetDateTime::now_utc();
        let end = r.returned_at.unwrap_or(now);
        let due_at = r.rented_at + time::Duration::days(RENTAL_DAYS);
        Self {
            id: r.id,
            umbrella_id: r.umbrella_id,
            umbrella_number: r.umbrella_number,
            rent_store: StoreRef {
                id: r.rent_store_id,
                name: r.rent_store_name,
            },
            rented_at: r.rented_at,
            due_at,
            elapsed_days: (end - r.rented_at).whole_days(),
            returned_at: r.returned_at,
            return_store: r
                .return_store_id
                .zip(r.return_store_name)
                .map(|(id, name)| StoreRef { id, name }),
            closed_reason: r.closed_reason,
            deposit_paid: r.paid_at.is_some(),
            deposit_refunded: r.refunded_at.is_some(),
            deposit,
            needs_refund_account,
            without_code: !r.rent_verified || r.return_verified == Some(false),
            overdue: r.returned_at.is_none() && now > due_at,
            days_left: seoul_days_between(now, due_at),
            due_label: seoul_labels(due_at).0,
            due_label_en: seoul_labels(due_at).1,
            reports: Vec::new(),
        }
    }
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

/// What `/api/ready` answers: the release, and whether each dependency works as this
/// replica uses it. No error text: the answer is public (the replica logs the details).
#[derive(Clone, Serialize, ToSchema)]
pub struct ServiceReadiness {
    /// `ready` or `unavailable`.
    pub status: &'static str,
    /// The release this replica runs (`UPBRELLA_RELEASE`, the image tag in ECS).
    #[schema(example = "3f2c1e0")]
    pub release: String,
    /// PostgreSQL as the application role (its own login, TLS as configured).
    pub database: bool,
    /// Redis as configured (AUTH, TLS): a command answered.
    pub redis: bool,
    /// The schema has every migration this release knows (or newer ones).
    pub schema: bool,
    /// The newest migration this release knows, and the newest applied.
    pub schema_expected: i64,
    pub schema_applied: Option<i64>,
    /// Korean first, English beside; only when unavailable.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// The last answer of `/api/ready`, reused for a second: a flood of readiness requests
/// costs one database query and one Redis command per second per replica, and concurrent
/// requests wait for the one check in flight.
#[derive(Clone, Default)]
pub struct ReadinessCache(
    pub(crate) std::sync::Arc<tokio::sync::Mutex<Option<(std::time::Instant, ServiceReadiness)>>>,
);
