//! Admin: statistics over time (rentals, returns, losses, durations, overdue ageing, per
//! store), store stock against its thresholds, and the monthly per-store report a
//! partner café receives by e-mail.
//!
//! Every date a client sends or receives is a day in Korea (Asia/Seoul); `repo::statistics`
//! says what is counted on which day and at which store.

use axum::Extension;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::json;
use time::{Date, OffsetDateTime, UtcOffset};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::domain::values::Email;
use crate::error::{Error, Result, ResultExt};
use crate::http::extract::{Json, Path, Query};
use crate::http::session::Operator;
use crate::http::views::{RENTAL_DAYS, StoreRef};
use crate::mail::templates;
use crate::repo::statistics::{self, Stock};
use crate::state::AppState;

mod monthly;
pub use monthly::*;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(overview))
        .routes(routes!(stock))
        .routes(routes!(set_thresholds))
        .routes(routes!(monthly_report))
        .routes(routes!(send_monthly_report))
}

/// The longest period one request may cover (a year and a bit, so a year compares with
/// the one before it month by month).
const MAX_PERIOD_DAYS: i64 = 400;
/// Without `from`/`to`: the last 30 days up to today.
const DEFAULT_PERIOD_DAYS: i64 = 30;

const DATE: &[time::format_description::FormatItem<'static>] =
    time::macros::format_description!("[year]-[month]-[day]");

fn seoul_today() -> Date {
    let seoul = UtcOffset::from_hms(9, 0, 0).unwrap_or(UtcOffset::UTC);
    OffsetDateTime::now_utc().to_offset(seoul).date()
}

fn format_date(d: Date) -> String {
    d.format(DATE).unwrap_or_default()
}

fn parse_date(raw: &str, what: &str) -> Result<Date> {
    Date::parse(raw.trim(), DATE).map_err(|_| {
        Error::invalid(
            "invalid_date",
            format!(
                "{what} 날짜는 YYYY-MM-DD 형식이어야 합니다. ({what} must be a date, YYYY-MM-DD.)"
            ),
        )
    })
}

/// A month as `YYYY-MM`: its first day.
fn parse_month(raw: &str) -> Result<Date> {
    let invalid = || {
        Error::invalid(
            "invalid_month",
            "월은 YYYY-MM 형식이어야 합니다. 예: 2026-11 (The month must be YYYY-MM, e.g. 2026-11.)",
        )
    };
    let (year, month) = raw.trim().split_once('-').ok_or_else(invalid)?;
    if year.len() != 4 || month.len() != 2 {
        return Err(invalid());
    }
    let year: i32 = year.parse().map_err(|_| invalid())?;
    let month: u8 = month.parse().map_err(|_| invalid())?;
    let month = time::Month::try_from(month).map_err(|_| invalid())?;
    Date::from_calendar_date(year, month, 1).map_err(|_| invalid())
}

fn format_month(first_day: Date) -> String {
    format!("{:04}-{:02}", first_day.year(), u8::from(first_day.month()))
}

/// How the series is cut.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Bucket {
    Day,
    Week,
    Month,
}

impl Bucket {
    fn parse(raw: Option<&str>) -> Result<Self> {
        match raw.map(str::trim) {
            None | Some("") | Some("day") => Ok(Self::Day),
            Some("week") => Ok(Self::Week),
            Some("month") => Ok(Self::Month),
            Some(_) => Err(Error::invalid(
                "invalid_bucket",
                "집계 단위는 day, week, month 중 하나여야 합니다. (bucket must be day, week or month.)",
            )),
        }
    }

    /// PostgreSQL's `date_trunc` field (and interval unit).
    fn as_sql(self) -> &'static str {
        match self {
            Self::Day => "day",
            Self::Week => "week",
            Self::Month => "month",
        }
    }
}

#[derive(Deserialize, IntoParams)]
pub struct StatisticsQuery {
    /// First day (Asia/Seoul), YYYY-MM-DD; default: 29 days before `to`.
    pub from: Option<String>,
    /// Last day, inclusive; default: today. At most 400 days after `from`.
    pub to: Option<String>,
    /// `day` (default), `week` (Monday to Sunday) or `month`.
    pub bucket: Option<String>,
    /// Only this store: its rentals, the returns to it, the losses of its rentals.
    pub store_id: Option<i64>,
}

/// A checked period.
struct Period {
    from: Date,
    to: Date,
}

impl Period {
    fn parse(from: Option<&str>, to: Option<&str>) -> Result<Self> {
        let to = match to {
            Some(raw) if !raw.trim().is_empty() => parse_date(raw, "to")?,
            _ => seoul_today(),
        };
        let from = match from {
            Some(raw) if !raw.trim().is_empty() => parse_date(raw, "from")?,
            _ => to - time::Duration::days(DEFAULT_PERIOD_DAYS - 1),
        };
        if to < from {
            return Err(Error::invalid(
                "invalid_period",
                "끝 날짜(to)가 시작 날짜(from)보다 앞설 수 없습니다. (to must not be before from.)",
            ));
        }
        if (to - from).whole_days() + 1 > MAX_PERIOD_DAYS {
            return Err(Error::invalid(
                "period_too_long",
                format!(
                    "기간은 {MAX_PERIOD_DAYS}일 이내로 정해 주세요. (The period may cover at most {MAX_PERIOD_DAYS} days.)"
                ),
            ));
        }
        Ok(Self { from, to })
    }
}

#[derive(Serialize, ToSchema)]
pub struct SeriesPoint {
    /// The bucket's first day (the first bucket may start before `from`; only the
    /// period's days are counted).
    #[schema(example = "2026-11-02")]
    pub start: String,
    pub rentals: i64,
    pub returns: i64,
    pub lost: i64,
    /// Mean time between rent and return of the bucket's returns; null without returns.
    pub mean_duration_hours: Option<f64>,
}

#[derive(Serialize, ToSchema)]
pub struct StatisticsTotals {
    pub rentals: i64,
    pub returns: i64,
    pub lost: i64,
    /// Of the period's rentals, the share returned by now (lost and still open ones are
    /// not); null when the period has no rentals.
    #[schema(minimum = 0.0, maximum = 1.0)]
    pub return_rate: Option<f64>,
    pub mean_duration_hours: Option<f64>,
    pub median_duration_hours: Option<f64>,
}

#[derive(Serialize, ToSchema)]
pub struct AgeingBucket {
    /// `1–3일`, `4–7일`, `8–14일`, `15일+`.
    pub label: &'static str,
    /// The same in English.
    pub label_en: &'static str,
    pub min_days: i32,
    /// Null for the last, open-ended bucket.
    pub max_days: Option<i32>,
    pub count: i64,
}

#[derive(Serialize, ToSchema)]
pub struct StoreFigures {
    pub store_id: i64,
    pub name: String,
    pub rentals: i64,
    pub returns: i64,
    pub lost: i64,
}

#[derive(Serialize, ToSchema)]
pub struct RentalStatistics {
    #[schema(example = "2026-11-01")]
    pub from: String,
    #[schema(example = "2026-11-30")]
    pub to: String,
    #[schema(example = "day")]
    pub bucket: &'static str,
    pub store_id: Option<i64>,
    pub series: Vec<SeriesPoint>,
    pub totals: StatisticsTotals,
    /// Rentals open now, by days past their due time (rented at + 14 days); not bound
    /// to the period.
    pub overdue_ageing: Vec<AgeingBucket>,
    pub per_store: Vec<StoreFigures>,
}

async fn require_store(state: &AppState, store_id: i64) -> Result<String> {
    statistics::store_name(&state.db, store_id)
        .await?
        .ok_or(Error::NotFound("store"))
}

/// Rentals, returns, losses and durations over a period, per day, week or month, with
/// the overdue rentals by age and a per-store breakdown.
#[utoipa::path(get, path = "/statistics", tag = "admin", params(StatisticsQuery),
    responses((status = 200, body = RentalStatistics), (status = 404, body = crate::error::Problem),
        (status = 422, description = "a bad date, bucket or period", body = crate::error::Problem)))]
pub async fn overview(
    State(state): State<AppState>,
    Query(q): Query<StatisticsQuery>,
) -> Result<Json<RentalStatistics>> {
    let period = Period::parse(q.from.as_deref(), q.to.as_deref())?;
    let bucket = Bucket::parse(q.bucket.as_deref())?;
    if let Some(id) = q.store_id {
        require_store(&state, id).await?;
    }
    let (from, to, store) = (period.from, period.to, q.store_id);
    let series = statistics::series(&state.db, from, to, bucket.as_sql(), store).await?;
    let totals = statistics::totals(&state.db, from, to, store).await?;
    let rental_days = i32::try_from(RENTAL_DAYS).unwrap_or(14);
    let overdue = statistics::overdue(&state.db, rental_days, store).await?;
    let per_store = statistics::per_store(&state.db, from, to, store).await?;
    #[allow(clippy::cast_precision_loss)] // counts far below 2^52
    let return_rate =
        (totals.rentals > 0).then(|| totals.rentals_returned as f64 / totals.rentals as f64);
    Ok(Json(RentalStatistics {
        from: format_date(from),
        to: format_date(to),
        bucket: bucket.as_sql(),
        store_id: store,
        series: series
            .into_iter()
            .map(|b| SeriesPoint {
                start: format_date(b.start),
                rentals: b.rentals,
                returns: b.returns,
                lost: b.lost,
                mean_duration_hours: b.mean_duration_hours,
            })
            .collect(),
        totals: StatisticsTotals {
            rentals: totals.rentals,
            returns: totals.returns,
            lost: totals.lost,
            return_rate,
            mean_duration_hours: totals.mean_duration_hours,
            median_duration_hours: totals.median_duration_hours,
        },
        overdue_ageing: vec![
            AgeingBucket {
                label: "1–3일",
                label_en: "1–3 days",
                min_days: 1,
                max_days: Some(3),
                count: overdue.days_1_3,
            },
            AgeingBucket {
                label: "4–7일",
                label_en: "4–7 days",
                min_days: 4,
                max_days: Some(7),
                count: overdue.days_4_7,
            },
            AgeingBucket {
                label: "8–14일",
                label_en: "8–14 days",
                min_days: 8,
                max_days: Some(14),
                count: overdue.days_8_14,
            },
            AgeingBucket {
                label: "15일+",
                label_en: "15+ days",
                min_days: 15,
                max_days: None,
                count: overdue.days_15_plus,
            },
        ],
        per_store: per_store
            .into_iter()
            .map(|s| StoreFigures {
                store_id: s.store_id,
                name: s.name,
                rentals: s.rentals,
                returns: s.returns,
                lost: s.lost,
            })
            .collect(),
    }))
}

/// Where a store's stock stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum StockStatus {
    /// No umbrella to rent.
    Empty,
    /// At or below `low`.
    Low,
    Ok,
    /// Above `high`: umbrellas pile up; move some.
    Overflowing,
}

impl StockStatus {
    fn of(available: i64, low: i32, high: i32) -> Self {
        if available == 0 {
            Self::Empty
        } else if available <= i64::from(low) {
            Self::Low
        } else if available > i64::from(high) {
            Self::Overflowing
        } else {
            Self::Ok
        }
    }

    /// The order operators act in: empty stores first.
    fn urgency(self) -> u8 {
        match self {
            Self::Empty => 0,
            Self::Low => 1,
            Self::Overflowing => 2,
            Self::Ok => 3,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct StockView {
    pub store_id: i64,
    pub name: String,
    /// Umbrellas that can be rented there now.
    pub available: i64,
    pub low: i32,
    pub high: i32,
    pub status: StockStatus,
}

impl From<Stock> for StockView {
    fn from(s: Stock) -> Self {
        Self {
            status: StockStatus::of(s.available, s.low, s.high),
            store_id: s.store_id,
            name: s.name,
            available: s.available,
            low: s.low,
            high: s.high,
        }
    }
}

/// Every store in service with its rentable umbrellas against its thresholds, empty
/// stores first, then low, overflowing and fine ones (by name within each).
#[utoipa::path(get, path = "/stock", tag = "admin", responses((status = 200, body = [StockView])))]
pub async fn stock(
    State(state): State<AppState>,
    Extension(operator): Extension<Operator>,
) -> Result<Json<Vec<StockView>>> {
    let mut all: Vec<StockView> = statistics::stock(&state.db)
        .await?
        .into_iter()
        .map(StockView::from)
        .collect();
    // Staff: their own stores.
    if let Some(mine) = operator.store_scope() {
        all.retain(|s| mine.contains(&s.store_id));
    }
    all.sort_by_key(|s| s.status.urgency());
    Ok(Json(all))
}

#[derive(Deserialize, Serialize, ToSchema)]
pub struct ThresholdsInput {
    /// At or below this many rentable umbrellas the store is low (0: only empty alerts).
    #[schema(minimum = 0, example = 2)]
    pub low: i32,
    /// Above this many the store is overflowing; greater than `low`.
    #[schema(maximum = 10000, example = 30)]
    pub high: i32,
}

fn invalid_thresholds() -> Error {
    Error::invalid(
        "invalid_stock_thresholds",
        "기준은 0 ≤ 부족 기준(low) < 과잉 기준(high) ≤ 10000 이어야 합니다. \
         (Thresholds must satisfy 0 ≤ low < high ≤ 10000.)",
    )
}

/// Sets a store's stock thresholds.
#[utoipa::path(put, path = "/stores/{id}/stock-thresholds", tag = "admin", params(("id" = i64, Path)),
    responses((status = 200, body = StockView), (status = 404, body = crate::error::Problem),
        (status = 422, body = crate::error::Problem)))]
pub async fn set_thresholds(
    State(state): State<AppState>,
    Extension(admin): Extension<Operator>,
    Path(id): Path<i64>,
    Json(body): Json<ThresholdsInput>,
) -> Result<Json<StockView>> {
    if body.low < 0 || body.high <= body.low || body.high > 10_000 {
        return Err(invalid_thresholds());
    }
    let mut tx = state.db.begin().await?;
    let found = statistics::set_thresholds(&mut *tx, id, body.low, body.high)
        .await
        .on_constraint(|c| (c == "stores_stock_thresholds_check").then(invalid_thresholds))?;
    if !found {
        return Err(Error::NotFound("store"));
    }
    admin
        .log(
            &mut *tx,
            "store.set_stock_thresholds",
            "store",
            Some(id),
            json!(body),
        )
        .await?;
    tx.commit().await?;
    let stock = statistics::stock_of(&state.db, id)
        .await?
        .ok_or(Error::NotFound("store"))?;
    Ok(Json(stock.into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_and_periods_are_checked() {
        assert_eq!(
            format_month(parse_month("2026-02").expect("valid")),
            "2026-02"
        );
        for bad in ["2026-13", "2026-2", "26-02", "2026/02", "", "2026-00"] {
            assert!(parse_month(bad).is_err(), "{bad}");
        }
        let p = Period::parse(Some("2026-01-01"), Some("2027-02-04")).expect("400 days");
        assert_eq!((p.to - p.from).whole_days(), 399);
        assert!(Period::parse(Some("2026-01-01"), Some("2027-02-05")).is_err());
        assert!(Period::parse(Some("2026-01-02"), Some("2026-01-01")).is_err());
        let d = Period::parse(None, None).expect("default");
        assert_eq!((d.to - d.from).whole_days(), DEFAULT_PERIOD_DAYS - 1);
    }

    #[test]
    fn stock_status_follows_the_thresholds() {
        assert_eq!(StockStatus::of(0, 0, 30), StockStatus::Empty);
        assert_eq!(StockStatus::of(1, 1, 30), StockStatus::Low);
        assert_eq!(StockStatus::of(2, 1, 30), StockStatus::Ok);
        assert_eq!(StockStatus::of(30, 1, 30), StockStatus::Ok);
        assert_eq!(StockStatus::of(31, 1, 30), StockStatus::Overflowing);
    }
}
