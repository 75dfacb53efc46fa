//! A store's monthly report: its figures day by day, and the mail that sends it to the cafe.

use super::*;

#[derive(Deserialize, IntoParams)]
pub struct MonthQuery {
    /// YYYY-MM (Asia/Seoul); default: the current month.
    pub month: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct DayFigures {
    #[schema(example = "2026-11-03")]
    pub date: String,
    pub rentals: i64,
    pub returns: i64,
}

#[derive(Serialize, ToSchema)]
pub struct MonthlyReport {
    pub store: StoreRef,
    #[schema(example = "2026-11")]
    pub month: String,
    /// Umbrellas rented at this store.
    pub rentals: i64,
    /// Umbrellas returned to this store, wherever rented.
    pub returns_here: i64,
    /// Rentals from this store closed as lost in the month.
    pub lost: i64,
    /// Of the rentals from this store returned in the month; null without any.
    pub mean_duration_hours: Option<f64>,
    /// ISO weekday (1 = Monday … 7 = Sunday) with the most rentals; null without any.
    #[schema(minimum = 1, maximum = 7)]
    pub busiest_weekday: Option<i32>,
    /// Every day of the month.
    pub days: Vec<DayFigures>,
}

pub(super) async fn report(state: &AppState, store_id: i64, month: Date) -> Result<MonthlyReport> {
    let name = require_store(state, store_id).await?;
    let m = statistics::month(&state.db, store_id, month).await?;
    let days = statistics::days(&state.db, store_id, month).await?;
    Ok(MonthlyReport {
        store: StoreRef { id: store_id, name },
        month: format_month(month),
        rentals: m.rentals,
        returns_here: m.returns_here,
        lost: m.lost,
        mean_duration_hours: m.mean_duration_hours,
        busiest_weekday: m.busiest_weekday,
        days: days
            .into_iter()
            .map(|d| DayFigures {
                date: format_date(d.date),
                rentals: d.rentals,
                returns: d.returns,
            })
            .collect(),
    })
}

pub(super) fn month_or_current(raw: Option<&str>) -> Result<Date> {
    match raw.map(str::trim) {
        None | Some("") => {
            let today = seoul_today();
            Date::from_calendar_date(today.year(), today.month(), 1)
                .map_err(|e| Error::internal(format!("first day of the month: {e}")))
        }
        Some(raw) => parse_month(raw),
    }
}

/// A store's month: rentals, returns to it, losses, durations, its busiest weekday and
/// every day's figures.
#[utoipa::path(get, path = "/stores/{id}/monthly-report", tag = "admin",
    params(("id" = i64, Path), MonthQuery),
    responses((status = 200, body = MonthlyReport), (status = 404, body = crate::error::Problem),
        (status = 422, body = crate::error::Problem)))]
pub async fn monthly_report(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    Query(q): Query<MonthQuery>,
) -> Result<Json<MonthlyReport>> {
    let month = month_or_current(q.month.as_deref())?;
    Ok(Json(report(&state, id, month).await?))
}

#[derive(Deserialize, ToSchema)]
pub struct SendReportInput {
    #[schema(example = "2026-11")]
    pub month: String,
    /// The café's address.
    #[schema(example = "cafe@example.com")]
    pub to: String,
}

#[derive(Serialize, ToSchema)]
pub struct ReportQueued {
    pub month: String,
    pub to: String,
}

/// Mails a store's monthly report (Korean first, English beside) through the outgoing
/// mail queue: 202 once queued.
#[utoipa::path(post, path = "/stores/{id}/monthly-report/send", tag = "admin", params(("id" = i64, Path)),
    responses((status = 202, body = ReportQueued), (status = 404, body = crate::error::Problem),
        (status = 422, body = crate::error::Problem)))]
pub async fn send_monthly_report(
    State(state): State<AppState>,
    Extension(admin): Extension<Operator>,
    Path(id): Path<i64>,
    Json(body): Json<SendReportInput>,
) -> Result<(StatusCode, Json<ReportQueued>)> {
    let month = parse_month(&body.month)?;
    let to = Email::parse(&body.to)?;
    let r = report(&state, id, month).await?;
    let days: Vec<(String, i64, i64)> = r
        .days
        .iter()
        .map(|d| (d.date.clone(), d.rentals, d.returns))
        .collect();
    let mail = templates::monthly_report(
        to.as_str(),
        &templates::MonthlyFigures {
            store: &r.store.name,
            year: month.year(),
            month: u8::from(month.month()),
            rentals: r.rentals,
            returns_here: r.returns_here,
            lost: r.lost,
            mean_duration_hours: r.mean_duration_hours,
            busiest_weekday: r.busiest_weekday,
            days: &days,
        },
    );
    admin
        .log(
            &state.db,
            "store.send_monthly_report",
            "store",
            Some(id),
            json!({"month": r.month, "to": to.as_str()}),
        )
        .await?;
    state.mailer.send(mail);
    Ok((
        StatusCode::ACCEPTED,
        Json(ReportQueued {
            month: r.month,
            to: to.as_str().to_owned(),
        }),
    ))
}
