//! Admin: the deposit books for whoever keeps them. What is held now, what came in,
//! went back and was kept per day and per month (from the ledger), the refund queue
//! oldest first, several transfers confirmed at once, and a CSV export of every rental
//! with every deposit event that Excel opens in Korean.

use axum::Extension;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use time::macros::format_description;
use time::{Date, OffsetDateTime, UtcOffset};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::domain::deposit::{ForfeitReason, Operation, State as DepositState};
use crate::error::{Error, Result};
use crate::http::admin::rentals::{AdminRentalView, move_deposit, one};
use crate::http::extract::{Json, Paging, Query};
use crate::http::session::Operator;
use crate::repo::deposits::{self, ExportRow, Movement};
use crate::state::AppState;

/// Korea's offset: the books close at midnight in Seoul.
const KST: UtcOffset = match UtcOffset::from_hms(9, 0, 0) {
    Ok(offset) => offset,
    Err(_) => UtcOffset::UTC,
};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(summary))
        .routes(routes!(refund_queue))
        .routes(routes!(confirm_payments))
        .routes(routes!(export))
}

#[derive(Serialize, ToSchema)]
pub struct MovementView {
    /// The day (`2026-12-05`) or the month (`2026-12`), in Korea.
    pub period: String,
    /// Won received (payments confirmed).
    pub received: i64,
    /// Won sent back.
    pub refunded: i64,
    /// Won kept for losses and damage, net of what was given back when a lost umbrella
    /// was found.
    pub forfeited: i64,
}

impl MovementView {
    fn new(m: Movement, unit: Unit) -> Self {
        let period = match unit {
            Unit::Day => m.period.to_string(),
            Unit::Month => format!("{}-{:02}", m.period.year(), u8::from(m.period.month())),
        };
        Self {
            period,
            received: m.received,
            refunded: m.refunded,
            forfeited: m.forfeited,
        }
    }
}

#[derive(Clone, Copy)]
enum Unit {
    Day,
    Month,
}

#[derive(Serialize, ToSchema)]
pub struct TotalsView {
    pub received: i64,
    pub refunded: i64,
    pub forfeited: i64,
}

#[derive(Serialize, ToSchema)]
pub struct DepositSummary {
    /// Deposits in our account now (paid, refund due, refund failed).
    pub held_count: i64,
    pub held_amount: i64,
    /// Everything the ledger recorded. `held_amount` always equals received − refunded
    /// − forfeited: the books balance.
    pub total: TotalsView,
    /// The last 31 days, newest first (days without movement left out).
    pub by_day: Vec<MovementView>,
    /// The last 12 months, newest first.
    pub by_month: Vec<MovementView>,
}

/// Deposits held now and what moved per day and month.
#[utoipa::path(get, path = "/deposits/summary", tag = "admin", responses((status = 200, body = DepositSummary)))]
pub async fn summary(State(state): State<AppState>) -> Result<Json<DepositSummary>> {
    let held = deposits::held(&state.db).await?;
    let total = deposits::totals(&state.db).await?;
    let per = |unit, rows: Vec<Movement>| {
        rows.into_iter()
            .map(|m| MovementView::new(m, unit))
            .collect()
    };
    Ok(Json(DepositSummary {
        held_count: held.count,
        held_amount: held.amount,
        total: TotalsView {
            received: total.received,
            refunded: total.refunded,
            forfeited: total.forfeited,
        },
        by_day: per(Unit::Day, deposits::movements(&state.db, "day", 31).await?),
        by_month: per(
            Unit::Month,
            deposits::movements(&state.db, "month", 12).await?,
        ),
    }))
}

#[derive(Serialize, ToSchema)]
pub struct WaitingRefund {
    /// Since when the refund is due (the later of the return, the payment and the
    /// finding of a lost umbrella).
    #[serde(with = "time::serde::rfc3339")]
    pub due_since: OffsetDateTime,
    /// Whole days waiting.
    pub age_days: i64,
    pub rental: AdminRentalView,
}

/// Refunds owed (and refunds the bank rejected), the longest waiting first.
#[utoipa::path(get, path = "/deposits/refund-queue", tag = "admin", params(Paging), responses((status = 200, body = [WaitingRefund])))]
pub async fn refund_queue(
    State(state): State<AppState>,
    Query(paging): Query<Paging>,
) -> Result<Json<Vec<WaitingRefund>>> {
    let now = OffsetDateTime::now_utc();
    let mut out = Vec::new();
    for w in deposits::refund_queue(&state.db, paging.limit(), paging.offset()).await? {
        out.push(WaitingRefund {
            due_since: w.since,
            age_days: (now - w.since).whole_days(),
            rental: one(&state, w.rental_id).await?,
        });
    }
    Ok(Json(out))
}

#[derive(Deserialize, ToSchema)]
pub struct ConfirmPayments {
    /// The rentals whose transfers arrived (1 to 100).
    #[schema(min_items = 1, max_items = 100)]
    pub rental_ids: Vec<i64>,
}

#[derive(Serialize, ToSchema)]
pub struct ConfirmOutcome {
    pub rental_id: i64,
    pub confirmed: bool,
    /// Why not, when not (a problem's code and its Korean message).
    pub code: Option<String>,
    pub message: Option<String>,
}

/// Confirms several transfers at once, as they appear on a bank statement. Each is its
/// own transaction: one already confirmed, or unknown, does not hold up the rest; the
/// answer says which went through.
#[utoipa::path(post, path = "/deposits/confirm", tag = "admin", request_body = ConfirmPayments,
    responses((status = 200, body = [ConfirmOutcome]), (status = 422, body = crate::error::Problem)))]
pub async fn confirm_payments(
    State(state): State<AppState>,
    Extension(admin): Extension<Operator>,
    Json(body): Json<ConfirmPayments>,
) -> Result<Json<Vec<ConfirmOutcome>>> {
    if body.rental_ids.is_empty() || body.rental_ids.len() > 100 {
        return Err(Error::invalid(
            "invalid_selection",
            "한 번에 1건에서 100건까지 확인할 수 있습니다. (Select 1 to 100 rentals.)",
        ));
    }
    let mut outcomes = Vec::with_capacity(body.rental_ids.len());
    for &id in &body.rental_ids {
        let mut tx = state.db.begin().await?;
        let result = move_deposit(&mut tx, &admin, id, Operation::ConfirmPayment, None).await;
        outcomes.push(match result {
            Ok(()) => {
                tx.commit().await?;
                ConfirmOutcome {
                    rental_id: id,
                    confirmed: true,
                    code: None,
                    message: None,
                }
            }
            Err(e @ (Error::Conflict(_) | Error::NotFound(_))) => ConfirmOutcome {
                rental_id: id,
                confirmed: false,
                code: Some(e.code()),
                message: Some(e.to_string()),
            },
            Err(e) => return Err(e),
        });
    }
    Ok(Json(outcomes))
}

#[derive(Deserialize, IntoParams)]
pub struct ExportRange {
    /// First day of rentals to include (YYYY-MM-DD, Korea); default: 90 days ago.
    #[param(value_type = Option<String>, format = Date)]
    pub from: Option<String>,
    /// Last day included (YYYY-MM-DD, Korea); default: today.
    #[param(value_type = Option<String>, format = Date)]
    pub to: Option<String>,
}

fn parse_day(name: &'static str, raw: Option<&str>, default: Date) -> Result<Date> {
    match raw.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(default),
        Some(text) => {
            Date::parse(text, format_description!("[year]-[month]-[day]")).map_err(|_| {
                Error::invalid(
                    "invalid_date",
                    format!(
                        "{name}: 날짜는 YYYY-MM-DD 형식으로 입력해 주세요. (Dates are YYYY-MM-DD.)"
                    ),
                )
            })
        }
    }
}

/// Every rental rented in the range with every deposit event (who did it and when), as
/// CSV: UTF-8 with a byte-order mark, which is what makes Excel read Korean correctly.
#[utoipa::path(get, path = "/deposits/export.csv", tag = "admin", params(ExportRange),
    responses((status = 200, content_type = "text/csv", body = String), (status = 422, body = crate::error::Problem)))]
pub async fn export(
    State(state): State<AppState>,
    Extension(admin): Extension<Operator>,
    Query(range): Query<ExportRange>,
) -> Result<Response> {
    let today = OffsetDateTime::now_utc().to_offset(KST).date();
    let from = parse_day(
        "from",
        range.from.as_deref(),
        today - time::Duration::days(90),
    )?;
    let to = parse_day("to", range.to.as_deref(), today)?;
    if to < from {
        return Err(Error::invalid(
            "invalid_range",
            "끝 날짜가 시작 날짜보다 앞섭니다. (The range ends before it starts.)",
        ));
    }
    let start = from.midnight().assume_offset(KST);
    let end = (to + time::Duration::days(1)).midnight().assume_offset(KST);
    let rows = deposits::export(&state.db, start, end).await?;
    // Every renter's name and phone leave in this file: the export is logged like a
    // full account read, before it is served.
    admin
        .log(
            &state.db,
            "deposits.export",
            "deposits",
            None,
            serde_json::json!({"from": from.to_string(), "to": to.to_string(), "rows": rows.len()}),
        )
        .await?;
    let mut csv = String::from("\u{feff}");
    csv.push_str(HEADER);
    for row in &rows {
        csv.push_str(&csv_line(row));
    }
    let mut response = csv.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    let disposition = format!("attachment; filename=\"upbrella-deposits-{from}-{to}.csv\"");
    if let Ok(value) = HeaderValue::from_str(&disposition) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    Ok(response)
}

const HEADER: &str = "대여번호,대여자,연락처,우산번호,대여 매장,대여 시각,반납 매장,반납 시각,종료 사유,보증금(원),입금자명,보증금 상태,차감 사유,처리,이전 상태,이후 상태,처리 시각,처리자 이메일,처리자,메모\r\n";

fn csv_line(r: &ExportRow) -> String {
    let time = |t: Option<OffsetDateTime>| {
        t.map(|t| {
            let t = t.to_offset(KST);
            format!("{} {:02}:{:02}", t.date(), t.hour(), t.minute())
        })
        .unwrap_or_default()
    };
    let state_label = |s: Option<&str>| {
        s.and_then(DepositState::parse)
            .map(state_name)
            .unwrap_or_default()
            .to_owned()
    };
    let fields = [
        r.rental_id.to_string(),
        r.user_name.clone(),
        r.user_phone.clone().unwrap_or_default(),
        r.umbrella_number.to_string(),
        r.rent_store_name.clone(),
        time(Some(r.rented_at)),
        r.return_store_name.clone().unwrap_or_default(),
        time(r.returned_at),
        match r.closed_reason.as_deref() {
            Some("lost") => "분실".to_owned(),
            Some("returned_by_staff") => "직원 회수".to_owned(),
            _ => String::new(),
        },
        r.deposit_amount.to_string(),
        r.deposit_reference.clone().unwrap_or_default(),
        state_label(Some(&r.deposit_state)),
        match r.forfeit_reason.as_deref().and_then(ForfeitReason::parse) {
            Some(ForfeitReason::Lost) => "분실".to_owned(),
            Some(ForfeitReason::Damaged) => "파손".to_owned(),
            None => String::new(),
        },
        r.event_operation
            .as_deref()
            .and_then(operation_label)
            .unwrap_or_default()
            .to_owned(),
        state_label(r.event_from.as_deref()),
        state_label(r.event_to.as_deref()),
        time(r.event_at),
        r.event_actor_email.clone().unwrap_or_default(),
        r.event_actor_name.clone().unwrap_or_default(),
        r.event_note.clone().unwrap_or_default(),
    ];
    let mut line = fields
        .iter()
        .map(|f| field(f))
        .collect::<Vec<_>>()
        .join(",");
    line.push_str("\r\n");
    line
}

/// A CSV field (RFC 4180): quoted when it holds a separator, a quote or a line break.
/// A field a spreadsheet would run as a formula (`=`, `+`, `-`, `@` first) gets a leading
/// apostrophe: names and notes come from renters.
fn field(value: &str) -> String {
    let guarded = if value.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{value}")
    } else {
        value.to_owned()
    };
    if guarded.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", guarded.replace('"', "\"\""))
    } else {
        guarded
    }
}

fn state_name(s: DepositState) -> &'static str {
    match s {
        DepositState::AwaitingPayment => "입금 대기",
        DepositState::Paid => "입금 확인",
        DepositState::RefundDue => "환급 대기",
        DepositState::Refunded => "환급 완료",
        DepositState::Forfeited => "보증금 차감",
        DepositState::RefundFailed => "환급 실패",
        DepositState::Waived => "면제",
    }
}

fn operation_label(name: &str) -> Option<&'static str> {
    Operation::ALL
        .into_iter()
        .find(|op| op.as_str() == name)
        .map(Operation::label)
}

#[cfg(test)]
mod tests {
    use super::field;

    #[test]
    fn fields_are_quoted_and_formulas_defused() {
        assert_eq!(field("김우산"), "김우산");
        assert_eq!(field("a,b"), "\"a,b\"");
        assert_eq!(field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(field("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(field("-1"), "'-1");
    }
}
