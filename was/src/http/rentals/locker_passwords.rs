//! Lockers: the password a rent issues, the resync when a locker's clock drifted, and
//! the proof a locker return carries.

use super::*;

pub(super) async fn issue_locker_password(
    tx: &mut Transaction<'_, Postgres>,
    state: &AppState,
    user_id: i64,
    store_id: i64,
) -> Result<Option<String>> {
    let Some(locker) = lockers::lock_at_store(&mut **tx, store_id).await? else {
        return Ok(None);
    };
    state
        .limiter
        .check(Limit::LockerPerUser, Subject::User(user_id))
        .await?;
    let now = OffsetDateTime::now_utc();
    if let Some(last) = locker.last_access {
        let since = now - last;
        if since < LOCKER_INTERVAL && since >= time::Duration::ZERO {
            let wait = LOCKER_INTERVAL - Duration::try_from(since).unwrap_or_default();
            return Err(Error::too_many(
                "locker_busy",
                "이 매장의 보관함이 1분 안에 비밀번호를 발급했습니다. 잠시 후 다시 시도해 주세요.",
                wait,
            ));
        }
    }
    // Exactly the password the counter expects next; the counter then moves past it.
    let secret = locker_secret(state, &locker)?;
    let counter = u64::try_from(locker.counter).unwrap_or_default();
    let password = locker::locker_password(&secret, counter)?;
    lockers::advance(&mut **tx, locker.id).await?;
    state.metrics.locker_password_issued();
    Ok(Some(password))
}

pub(super) fn locker_secret(state: &AppState, l: &lockers::Locker) -> Result<String> {
    locker::unseal(
        &state.cipher,
        l.id,
        l.secret.as_deref(),
        l.sealed_secret.as_deref(),
    )
}

/// How long after renting the renter may re-sync the locker (they stand at it).
pub(super) const RESYNC_WINDOW: time::Duration = time::Duration::minutes(30);
/// How far ahead of ours the device's counter may be. A device only moves forward (each
/// press of its keypad); a number behind ours or far ahead is tampering or a swapped
/// device, which is an operator's job.
pub(super) const RESYNC_AHEAD: i64 = 5;

#[derive(Deserialize, ToSchema)]
pub struct LockerResync {
    /// The number the locker's screen shows.
    #[schema(minimum = 0)]
    pub counter: i64,
    /// The code of the store's QR sticker: the renter stands at the locker.
    #[schema(min_length = 1, max_length = 64)]
    pub code: String,
}

#[derive(Serialize, ToSchema)]
pub struct LockerPassword {
    pub locker_password: String,
}

/// A locker that refused the password: the renter scans the store's code, types the
/// number its screen shows and gets the password for it (the original service's flow).
/// Checked in this order, so that nothing is learnt past a refusal: the per-user locker
/// limit; the renter's open rental, within 30 minutes of renting, not re-synced before
/// (once per rental); the store's code; the number at most a few steps ahead of ours.
#[utoipa::path(post, path = "/rentals/current/locker-password", tag = "rentals",
    responses((status = 200, body = LockerPassword), (status = 401, body = crate::error::Problem),
        (status = 403, description = "the code is not the rental store's", body = crate::error::Problem),
        (status = 409, description = "no open rental, no locker at its store, too late, or re-synced already", body = crate::error::Problem),
        (status = 422, description = "the number is behind ours or too far ahead", body = crate::error::Problem),
        (status = 429, body = crate::error::Problem)))]
pub async fn resync_locker(
    State(state): State<AppState>,
    user: CurrentUser,
    Json(body): Json<LockerResync>,
) -> Result<Json<LockerPassword>> {
    state
        .limiter
        .check(Limit::LockerPerUser, Subject::User(user.id))
        .await?;
    let mut tx = state.db.begin().await?;
    let open = rentals::lock_open(&mut *tx, user.id)
        .await?
        .ok_or_else(nothing_to_return)?;
    let rental = rentals::find(&mut *tx, open.id)
        .await?
        .ok_or_else(nothing_to_return)?;
    if OffsetDateTime::now_utc() - rental.rented_at > RESYNC_WINDOW {
        return Err(Error::conflict(
            "resync_window_passed",
            "대여한 지 30분이 지나 비밀번호를 다시 받을 수 없습니다. 운영진에게 문의해 주세요.",
        ));
    }
    if rental.locker_resynced_at.is_some() {
        return Err(Error::conflict(
            "resync_used",
            "이 대여에서는 이미 비밀번호를 다시 받았습니다. 운영진에게 문의해 주세요. (Already re-synced once for this rental.)",
        ));
    }
    if !state
        .codes
        .verify(Code::Store(rental.rent_store_id), &body.code)
    {
        return Err(Error::forbidden(
            "qr_code_mismatch",
            "QR 코드가 대여한 매장의 것이 아닙니다. 매장의 QR 코드를 다시 찍어 주세요.",
        ));
    }
    let locker = lockers::lock_at_store(&mut *tx, rental.rent_store_id)
        .await?
        .ok_or_else(|| Error::conflict("no_locker", "이 매장에는 보관함이 없습니다."))?;
    if body.counter < locker.counter || body.counter > locker.counter + RESYNC_AHEAD {
        return Err(Error::invalid(
            "counter_out_of_range",
            "보관함 화면의 숫자를 다시 확인해 주세요. 계속 안 되면 운영진에게 문의해 주세요.",
        ));
    }
    let secret = locker_secret(&state, &locker)?;
    let counter = u64::try_from(body.counter).unwrap_or_default();
    let password = locker::locker_password(&secret, counter)?;
    lockers::resync_and_advance(&mut *tx, locker.id, body.counter).await?;
    rentals::mark_resynced(&mut *tx, rental.id).await?;
    tx.commit().await?;
    state.metrics.locker_password_issued();
    tracing::info!(
        user_id = user.id,
        locker_id = locker.id,
        from = locker.counter,
        to = body.counter,
        "locker re-synced by the renter"
    );
    Ok(Json(LockerPassword {
        locker_password: password,
    }))
}

pub(super) fn check_locker_proof(
    secret: Option<&str>,
    salt: Option<&str>,
    signature: Option<&str>,
) -> Result<()> {
    let Some(secret) = secret else {
        return Ok(());
    };
    let (Some(salt), Some(signature)) = (salt, signature) else {
        return Err(Error::bad_request(
            "locker_proof_required",
            "보관함이 있는 매장입니다. 매장의 QR 코드로 다시 접속해 주세요.",
        ));
    };
    if locker::verify_signature(secret, salt, signature) {
        Ok(())
    } else {
        Err(Error::forbidden(
            "locker_proof_mismatch",
            "QR 코드가 이 매장의 것이 아닙니다. 매장의 QR 코드로 다시 접속해 주세요.",
        ))
    }
}
