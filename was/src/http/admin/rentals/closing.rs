//! Ending a rental other than by the renter's return: closed by an operator (lost, or
//! taken back by staff), a staff return at a store, and a lost umbrella found again.

use super::*;

#[derive(Deserialize, ToSchema)]
pub struct CloseRental {
    /// `lost`: the umbrella is gone (it is marked missing; a paid deposit is kept, per
    /// the terms). `returned_by_staff`: staff took it back at `store_id` (it stands
    /// there, rentable again; a paid deposit is owed back to the renter).
    #[schema(pattern = "^(lost|returned_by_staff)$")]
    pub reason: String,
    /// Required with `returned_by_staff`.
    #[serde(default)]
    pub store_id: Option<i64>,
    /// Why, for the record (at most 400 characters).
    #[serde(default)]
    #[schema(max_length = 400)]
    pub note: Option<String>,
}

/// Closes an open rental that will not end with the renter's return (a lost umbrella,
/// one taken back by staff), so the renter can rent again once the deposit is settled.
#[utoipa::path(post, path = "/rentals/{id}/close", tag = "admin", params(("id" = i64, Path)),
    responses((status = 200, body = AdminRentalView), (status = 404, body = crate::error::Problem),
        (status = 409, description = "already returned or closed", body = crate::error::Problem),
        (status = 422, body = crate::error::Problem)))]
pub async fn close(
    State(state): State<AppState>,
    Extension(admin): Extension<Operator>,
    Path(id): Path<i64>,
    Json(body): Json<CloseRental>,
) -> Result<Json<AdminRentalView>> {
    let note = ReportText::parse(body.note.as_deref(), "메모")?;
    let closing = match (body.reason.as_str(), body.store_id) {
        ("lost", _) => Closing::Lost,
        ("returned_by_staff", Some(store_id)) => Closing::ReturnedByStaff { store_id },
        ("returned_by_staff", None) => {
            return Err(Error::invalid(
                "store_required",
                "우산을 회수한 매장을 골라 주세요.",
            ));
        }
        _ => {
            return Err(Error::invalid(
                "invalid_reason",
                "사유는 lost(분실) 또는 returned_by_staff(직원 회수)입니다.",
            ));
        }
    };
    close_rental(
        &state,
        &admin,
        id,
        closing,
        note.as_deref(),
        &body.reason,
        body.store_id,
    )
    .await
}

#[derive(Deserialize, ToSchema)]
pub struct StaffReturn {
    /// The management number on the umbrella left at the counter.
    #[schema(minimum = 1)]
    pub umbrella_number: i64,
    #[serde(default)]
    #[schema(max_length = 400)]
    pub note: Option<String>,
}

/// Staff took back an umbrella left at this store's counter: its open rental is closed
/// as returned by staff here (the umbrella stands here, rentable again; a paid deposit
/// is owed back to the renter). Staff may do it at their own stores only.
#[utoipa::path(post, path = "/stores/{id}/staff-returns", tag = "admin", params(("id" = i64, Path, description = "The store")),
    responses((status = 200, body = AdminRentalView), (status = 404, description = "no such store, or the umbrella is not rented out (`no_open_rental`)", body = crate::error::Problem),
        (status = 409, body = crate::error::Problem), (status = 422, body = crate::error::Problem)))]
pub async fn staff_return(
    State(state): State<AppState>,
    Extension(operator): Extension<Operator>,
    Path(store_id): Path<i64>,
    Json(body): Json<StaffReturn>,
) -> Result<Json<AdminRentalView>> {
    operator.may_manage(store_id)?;
    let note = ReportText::parse(body.note.as_deref(), "메모")?;
    if !stores::exists(&state.db, store_id).await? {
        return Err(Error::NotFound("store"));
    }
    let Some(id) = rentals::open_by_umbrella_number(&state.db, body.umbrella_number).await? else {
        return Err(Error::not_found_code(
            "no_open_rental",
            format!(
                "{}번 우산은 지금 대여 중이 아닙니다. 번호를 확인해 주세요. (Umbrella {} is not rented out.)",
                body.umbrella_number, body.umbrella_number
            ),
        ));
    };
    close_rental(
        &state,
        &operator,
        id,
        Closing::ReturnedByStaff { store_id },
        note.as_deref(),
        "returned_by_staff",
        Some(store_id),
    )
    .await
}

pub(super) async fn close_rental(
    state: &AppState,
    admin: &Operator,
    id: i64,
    closing: Closing,
    note: Option<&str>,
    reason: &str,
    store_id: Option<i64>,
) -> Result<Json<AdminRentalView>> {
    let mut tx = state.db.begin().await?;
    let (open, umbrella_id) = rentals::lock_if_open(&mut *tx, id)
        .await?
        .ok_or(Error::NotFound("rental"))?;
    if !open {
        return Err(Error::conflict(
            "already_closed",
            "이미 반납되었거나 종료된 대여입니다.",
        ));
    }
    if let Closing::ReturnedByStaff { store_id } = closing
        && !stores::exists(&mut *tx, store_id).await?
    {
        return Err(unknown_store());
    }
    let op = match closing {
        Closing::Lost => Operation::Lose,
        Closing::ReturnedByStaff { .. } => Operation::Return,
    };
    let applied = ledger::apply(&mut tx, id, op, Actor(Some(admin.id)), note).await?;
    rentals::close_by_admin(&mut *tx, id, closing, note, admin.id).await?;
    match closing {
        Closing::Lost => umbrellas::mark_lost(&mut *tx, umbrella_id).await?,
        Closing::ReturnedByStaff { store_id } => {
            umbrellas::place(&mut *tx, umbrella_id, store_id).await?;
            // The renter never stood at a return form: their saved account, if any,
            // becomes this rental's refund account (they can add one on their page).
            copy_saved_account(state, &mut tx, applied.before.user_id, id).await?;
        }
    }
    admin
        .log(
            &mut *tx,
            "rental.close",
            "rental",
            Some(id),
            json!({
                "reason": reason,
                "store_id": store_id,
                "note": note,
                "deposit": {"from": applied.before.standing.state.as_str(), "to": applied.after.state.as_str()},
            }),
        )
        .await?;
    users::anonymise_if_settled(&mut *tx, applied.before.user_id).await?;
    tx.commit().await?;
    Ok(Json(one(state, id).await?))
}

pub(super) async fn copy_saved_account(
    state: &AppState,
    tx: &mut sqlx::PgConnection,
    user_id: i64,
    rental_id: i64,
) -> Result<()> {
    if let SavedAccount {
        bank_name: Some(name),
        bank_account: Some(sealed),
    } = users::saved_account(&mut *tx, user_id).await?
    {
        let number = state.cipher.decrypt(&sealed, Owner::User(user_id))?;
        let resealed = state.cipher.encrypt(&number, Owner::Rental(rental_id))?;
        rentals::set_refund_account(&mut *tx, rental_id, &name, &resealed).await?;
    }
    Ok(())
}

#[derive(Deserialize, ToSchema)]
pub struct FoundUmbrella {
    /// Where the umbrella turned up; it stands there, rentable again.
    pub store_id: i64,
    #[serde(default)]
    #[schema(max_length = 400)]
    pub note: Option<String>,
}

/// A rental closed as lost whose umbrella came back: the umbrella stands at the store
/// again, and a deposit kept for the loss is owed back to the renter (refund due).
#[utoipa::path(post, path = "/rentals/{id}/found", tag = "admin", params(("id" = i64, Path)),
    responses((status = 200, body = AdminRentalView), (status = 404, body = crate::error::Problem),
        (status = 409, description = "not a rental closed as lost, or already found", body = crate::error::Problem),
        (status = 422, body = crate::error::Problem)))]
pub async fn found(
    State(state): State<AppState>,
    Extension(admin): Extension<Operator>,
    Path(id): Path<i64>,
    Json(body): Json<FoundUmbrella>,
) -> Result<Json<AdminRentalView>> {
    let note = ReportText::parse(body.note.as_deref(), "메모")?;
    let mut tx = state.db.begin().await?;
    if !stores::exists(&mut *tx, body.store_id).await? {
        return Err(unknown_store());
    }
    // A lost umbrella that an operator already put back in service and someone rented
    // since is not moved from under them.
    let umbrella_id = rentals::find(&mut *tx, id)
        .await?
        .ok_or(Error::NotFound("rental"))?
        .umbrella_id;
    if umbrellas::lock(&mut *tx, umbrella_id)
        .await?
        .is_some_and(|u| u.rented)
    {
        return Err(Error::conflict(
            "umbrella_rented",
            "이 우산은 지금 다른 대여 중입니다. 반납된 뒤에 처리해 주세요. (The umbrella is rented out again.)",
        ));
    }
    let applied = ledger::apply(
        &mut tx,
        id,
        Operation::Find,
        Actor(Some(admin.id)),
        note.as_deref(),
    )
    .await?;
    rentals::mark_found(&mut *tx, id, body.store_id).await?;
    umbrellas::recover(&mut *tx, applied.before.umbrella_id, body.store_id).await?;
    if !applied.before.has_account {
        copy_saved_account(&state, &mut tx, applied.before.user_id, id).await?;
    }
    admin
        .log(
            &mut *tx,
            "rental.found",
            "rental",
            Some(id),
            json!({
                "store_id": body.store_id,
                "note": note.as_deref(),
                "deposit": {"from": applied.before.standing.state.as_str(), "to": applied.after.state.as_str()},
            }),
        )
        .await?;
    tx.commit().await?;
    Ok(Json(one(&state, id).await?))
}
