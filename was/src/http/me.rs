//! The logged-in user: profile, current and past rentals, bank account, leaving.

use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::domain::bank::{self, BankAccount, Owner};
use crate::domain::deposit::Operation;
use crate::domain::role::Role;
use crate::domain::values::{Name, Phone, Report as ReportText};
use crate::error::{Error, Result};
use crate::http::extract::{Json, Path};
use crate::http::session::{self, CurrentUser};
use crate::http::views::{BankView, CurrentRental, RentalView, UserView};
use crate::ledger;
use crate::repo::rentals::Actor;
use crate::repo::{rentals, users};
use crate::state::AppState;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(me, leave))
        .routes(routes!(current_rental))
        .routes(routes!(my_rentals))
        .routes(routes!(set_bank_account, delete_bank_account))
        .routes(routes!(complete_profile))
        .routes(routes!(set_preferences))
        .routes(routes!(report_umbrella))
        .routes(routes!(set_rental_refund_account))
}

pub async fn user_view(state: &AppState, id: i64) -> Result<UserView> {
    let user = users::profile(&state.db, id)
        .await?
        .ok_or(Error::NotFound("user"))?;
    let bank = match (user.bank_name, user.bank_account) {
        (Some(bank_name), Some(sealed)) => Some(BankView {
            bank_name,
            account_number: bank::mask(&state.cipher.decrypt(&sealed, Owner::User(user.id))?),
        }),
        _ => None,
    };
    Ok(UserView {
        id: user.id,
        email: user.email,
        name: user.name,
        ready_to_rent: user.phone.is_some() && user.agreed,
        agreed: user.agreed,
        phone: user.phone,
        staff_store_ids: if user.role == Role::Staff {
            users::staff_stores(&state.db, user.id).await?
        } else {
            Vec::new()
        },
        role: user.role,
        is_admin: user.role == Role::Admin,
        reminders: user.reminders,
        kakao_linked: user.kakao_id.is_some(),
        email_verified: user.email_verified,
        has_password: user.has_password,
        bank,
    })
}

/// The logged-in user.
#[utoipa::path(get, path = "/me", tag = "me", responses((status = 200, body = UserView), (status = 401, body = crate::error::Problem)))]
pub async fn me(State(state): State<AppState>, user: CurrentUser) -> Result<Json<UserView>> {
    Ok(Json(user_view(&state, user.id).await?))
}

/// The user's open rental, if any: umbrella, days elapsed, due date.
#[utoipa::path(get, path = "/me/rental", tag = "me", responses((status = 200, body = CurrentRental), (status = 401, body = crate::error::Problem)))]
pub async fn current_rental(
    State(state): State<AppState>,
    user: CurrentUser,
) -> Result<Json<CurrentRental>> {
    let rental = rentals::open_of(&state.db, user.id).await?;
    let mut views: Vec<RentalView> = rental.into_iter().map(Into::into).collect();
    with_reports(&state, &mut views).await?;
    Ok(Json(CurrentRental {
        rental: views.pop(),
    }))
}

/// All of the user's rentals, newest first.
#[utoipa::path(get, path = "/me/rentals", tag = "me", responses((status = 200, body = [RentalView]), (status = 401, body = crate::error::Problem)))]
pub async fn my_rentals(
    State(state): State<AppState>,
    user: CurrentUser,
) -> Result<Json<Vec<RentalView>>> {
    let all = rentals::of_user(&state.db, user.id).await?;
    let mut views: Vec<RentalView> = all.into_iter().map(Into::into).collect();
    with_reports(&state, &mut views).await?;
    Ok(Json(views))
}

/// Adds the renter's reports to each rental.
async fn with_reports(state: &AppState, views: &mut [RentalView]) -> Result<()> {
    let ids: Vec<i64> = views.iter().map(|v| v.id).collect();
    if ids.is_empty() {
        return Ok(());
    }
    for report in crate::repo::reports::of_rentals(&state.db, &ids).await? {
        if let Some(view) = views.iter_mut().find(|v| v.id == report.rental_id) {
            view.reports.push(report.into());
        }
    }
    Ok(())
}

#[derive(Deserialize, ToSchema)]
pub struct ProfileInput {
    #[schema(
        example = "010-1234-5678",
        pattern = r"^(01[0-9][- ]?[0-9]{3,4}[- ]?[0-9]{4}|\+[1-9][0-9 ().-]{6,20})$"
    )]
    pub phone: String,
    /// A new name (1 to 50 characters); unchanged when missing.
    #[serde(default)]
    #[schema(min_length = 1, max_length = 50)]
    pub name: Option<String>,
    /// Must be `true`: the terms of service are agreed to.
    pub agree_terms: bool,
    /// Must be `true`: the collection and use of personal data is agreed to.
    pub agree_privacy: bool,
}

/// Completes the profile renting needs: the phone number and both agreements (asked of
/// Kakao sign-ups before their first rent; also how anyone changes their number).
#[utoipa::path(put, path = "/me/profile", tag = "me", responses((status = 200, body = UserView), (status = 422, body = crate::error::Problem)))]
pub async fn complete_profile(
    State(state): State<AppState>,
    user: CurrentUser,
    Json(body): Json<ProfileInput>,
) -> Result<Json<UserView>> {
    let phone = Phone::parse(&body.phone)?;
    let name = body.name.as_deref().map(Name::parse).transpose()?;
    if !(body.agree_terms && body.agree_privacy) {
        return Err(consent_required());
    }
    let mut tx = state.db.begin().await?;
    users::complete_profile(&mut *tx, user.id, phone.as_str()).await?;
    if let Some(name) = name {
        users::set_name(&mut *tx, user.id, name.as_str()).await?;
    }
    tx.commit().await?;
    Ok(Json(user_view(&state, user.id).await?))
}

#[derive(Deserialize, ToSchema)]
pub struct Preferences {
    /// Reminder e-mails: the day before the due date and once overdue.
    pub reminders: bool,
}

/// Turns reminder e-mails on or off.
#[utoipa::path(put, path = "/me/preferences", tag = "me", responses((status = 200, body = UserView)))]
pub async fn set_preferences(
    State(state): State<AppState>,
    user: CurrentUser,
    Json(body): Json<Preferences>,
) -> Result<Json<UserView>> {
    users::set_reminders(&state.db, user.id, body.reminders).await?;
    Ok(Json(user_view(&state, user.id).await?))
}

#[derive(Deserialize, ToSchema)]
pub struct UmbrellaReport {
    /// `lost` (the umbrella is gone) or `broken`.
    #[schema(pattern = "^(lost|broken)$")]
    pub kind: String,
    /// What happened (at most 400 characters).
    #[serde(default)]
    #[schema(max_length = 400)]
    pub note: Option<String>,
}

/// How long after a return the renter can still report the umbrella broken.
const REPORT_AFTER_RETURN: time::Duration = time::Duration::days(7);

/// Reports the umbrella of one of the user's rentals lost or broken (the open rental,
/// or one returned in the last 7 days). The operators' list and webhook get it; they
/// follow up (closing a lost rental is theirs to do).
#[utoipa::path(post, path = "/me/rentals/{id}/reports", tag = "me", params(("id" = i64, Path)),
    responses((status = 201, body = crate::http::admin::RentalReportView), (status = 404, body = crate::error::Problem),
        (status = 409, description = "the same report is already open, or the rental ended too long ago", body = crate::error::Problem),
        (status = 422, body = crate::error::Problem)))]
pub async fn report_umbrella(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Json(body): Json<UmbrellaReport>,
) -> Result<(StatusCode, Json<crate::http::admin::RentalReportView>)> {
    if !matches!(body.kind.as_str(), "lost" | "broken") {
        return Err(Error::invalid(
            "invalid_kind",
            "신고 종류는 lost(분실) 또는 broken(파손)입니다. (kind is lost or broken.)",
        ));
    }
    let note = ReportText::parse(body.note.as_deref(), "내용")?;
    let rental = rentals::find(&state.db, id)
        .await?
        .filter(|r| r.user_id == user.id)
        .ok_or(Error::NotFound("rental"))?;
    if rental
        .returned_at
        .is_some_and(|at| time::OffsetDateTime::now_utc() - at > REPORT_AFTER_RETURN)
    {
        return Err(Error::conflict(
            "report_too_late",
            "반납한 지 7일이 지난 대여는 신고할 수 없습니다. 운영진에게 문의해 주세요. (Returned more than 7 days ago: please contact the operators.)",
        ));
    }
    let created = crate::repo::reports::create(
        &state.db,
        rental.id,
        &body.kind,
        note.as_deref().unwrap_or(""),
    )
    .await
    .map_err(|e| {
        if crate::error::is_constraint(&e, "rental_reports_open_key") {
            Error::conflict(
                "already_reported",
                "이미 신고하셨습니다. 운영진이 확인하고 있습니다. (Already reported: the operators are on it.)",
            )
        } else {
            e.into()
        }
    })?;
    let report = crate::repo::reports::find(&state.db, created)
        .await?
        .ok_or(Error::NotFound("report"))?;
    tracing::info!(user_id = user.id, rental_id = rental.id, kind = %report.kind, "umbrella reported");
    if let Some(notifier) = &state.notifier {
        let what = if report.kind == "lost" {
            "분실"
        } else {
            "파손"
        };
        notifier.post(
            report.rental_id,
            serde_json::json!({
                "text": format!(
                    "우산 {what} 신고: {}번 우산 ({} 대여), {}. {}",
                    report.umbrella_number, report.store_name, report.user_name, report.note
                ),
                "upbrella": {
                    "event": "umbrella_reported",
                    "report_id": report.id,
                    "rental_id": report.rental_id,
                    "umbrella_id": report.umbrella_id,
                    "umbrella_number": report.umbrella_number,
                    "rent_store_id": report.store_id,
                    "kind": report.kind,
                }
            }),
        );
    }
    Ok((StatusCode::CREATED, Json(report.into())))
}

#[derive(Deserialize, ToSchema)]
pub struct BankAccountInput {
    #[schema(example = "신한", min_length = 1, max_length = 30)]
    pub bank_name: String,
    #[schema(example = "110-123-456789", pattern = "^[0-9][0-9-]{4,28}[0-9]$")]
    pub account_number: String,
}

/// Sets the bank account deposits are refunded to (stored encrypted). Needs the password
/// given within `REAUTH_WINDOW` (or a fresh login): a stolen session cookie alone cannot
/// redirect refunds.
#[utoipa::path(put, path = "/me/bank-account", tag = "me", responses((status = 200, body = UserView),
    (status = 401, description = "log in, or give the password again (`reauth_required`)", body = crate::error::Problem),
    (status = 422, body = crate::error::Problem)))]
pub async fn set_bank_account(
    State(state): State<AppState>,
    user: CurrentUser,
    Json(body): Json<BankAccountInput>,
) -> Result<Json<UserView>> {
    let account = BankAccount::parse(&body.bank_name, &body.account_number)?;
    user.require_recent_auth(&state)?;
    let sealed = state
        .cipher
        .encrypt(&account.number, Owner::User(user.id))?;
    users::set_bank_account(&state.db, user.id, &account.bank_name, &sealed).await?;
    Ok(Json(user_view(&state, user.id).await?))
}

/// Deletes the stored bank account.
#[utoipa::path(delete, operation_id = "delete_my_refund_account", path = "/me/bank-account", tag = "me", responses((status = 204)))]
pub async fn delete_bank_account(
    State(state): State<AppState>,
    user: CurrentUser,
) -> Result<StatusCode> {
    users::delete_bank_account(&state.db, user.id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Leaves the service: the account is anonymised (rentals keep pointing at it) and the
/// session ends. Refused while an umbrella is still rented, or while a deposit is owed
/// either way (leaving and signing up again must not wipe a debt, nor lose a refund).
#[utoipa::path(delete, path = "/me", tag = "me", responses((status = 204), (status = 409, description = "umbrella not returned, or a deposit not settled", body = crate::error::Problem)))]
pub async fn leave(State(state): State<AppState>, user: CurrentUser) -> Result<StatusCode> {
    let mut tx = state.db.begin().await?;
    if rentals::has_open(&mut *tx, user.id).await? {
        return Err(Error::conflict(
            "umbrella_not_returned",
            "빌린 우산을 반납한 뒤에 탈퇴할 수 있습니다.",
        ));
    }
    if users::has_unsettled(&mut *tx, user.id).await? {
        return Err(Error::conflict(
            "deposit_not_settled",
            "보증금 정산(입금 또는 환급)이 끝난 뒤에 탈퇴할 수 있습니다. (A deposit is still to be settled.)",
        ));
    }
    users::anonymise(&mut *tx, user.id, "left").await?;
    tx.commit().await?;
    session::log_out(&state, &user.session).await?;
    tracing::info!(user_id = user.id, "user left");
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, ToSchema)]
pub struct RefundAccount {
    #[schema(example = "신한", min_length = 1, max_length = 30)]
    pub bank_name: String,
    /// Digits, optionally with hyphens.
    #[schema(example = "110-123-456789", pattern = "^[0-9][0-9-]{4,28}[0-9]$")]
    pub account_number: String,
}

/// Gives (or replaces) the refund account of one of the user's returned rentals: one
/// taken back by staff has none, and one whose refund the bank rejected needs a new one
/// (which puts it back in the refund queue). Needs a recent password, like the saved
/// account.
#[utoipa::path(put, path = "/me/rentals/{id}/refund-account", tag = "me", params(("id" = i64, Path)), request_body = RefundAccount,
    responses((status = 200, body = RentalView), (status = 401, description = "log in, or give the password again (`reauth_required`)", body = crate::error::Problem),
        (status = 404, body = crate::error::Problem),
        (status = 409, description = "the rental is still open, or needs no account", body = crate::error::Problem),
        (status = 422, body = crate::error::Problem)))]
pub async fn set_rental_refund_account(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Json(body): Json<RefundAccount>,
) -> Result<Json<RentalView>> {
    let account = BankAccount::parse(&body.bank_name, &body.account_number)?;
    user.require_recent_auth(&state)?;
    let mut tx = state.db.begin().await?;
    let rental = rentals::find(&mut *tx, id)
        .await?
        .filter(|r| r.user_id == user.id)
        .ok_or(Error::NotFound("rental"))?;
    ledger::apply(
        &mut tx,
        rental.id,
        Operation::NewAccount,
        Actor(Some(user.id)),
        None,
    )
    .await?;
    let sealed = state
        .cipher
        .encrypt(&account.number, Owner::Rental(rental.id))?;
    rentals::set_refund_account(&mut *tx, rental.id, &account.bank_name, &sealed).await?;
    tx.commit().await?;
    let view = rentals::find(&state.db, id)
        .await?
        .ok_or(Error::NotFound("rental"))?;
    Ok(Json(view.into()))
}

/// The answer when the terms and the privacy policy are not agreed to (sign-up and the
/// consent form).
pub fn consent_required() -> Error {
    Error::invalid(
        "consent_required",
        "이용약관과 개인정보 처리방침에 동의해 주세요.",
    )
}
