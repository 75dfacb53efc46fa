//! The rules the admin routes hold: what they refuse, and why.

use super::*;

/// Activation needs an image.
#[tokio::test]
async fn activation_needs_an_image() {
    let app = spawn_app().await;
    let (admin, _) = app.admin().await;
    let f = app.store().await;
    let bare = json_ok(app.post(&admin, "/api/admin/stores", json!({"name": "새 가게", "category": "shop", "region_id": f.region, "latitude": 37.5, "longitude": 127.0})).await, StatusCode::CREATED).await;
    let bare_id = bare["id"].as_i64().unwrap();
    problem(
        app.put(
            &admin,
            &format!("/api/admin/stores/{bare_id}/activation"),
            json!({"activated": true}),
        )
        .await,
        StatusCode::CONFLICT,
    )
    .await;
}

/// A store's region must be a region.
#[tokio::test]
async fn a_stores_region_must_be_a_region() {
    let app = spawn_app().await;
    let (admin, _) = app.admin().await;
    let f = app.store().await;
    let tag = json_ok(
        app.post(
            &admin,
            "/api/admin/classifications",
            json!({"kind": "tag", "name": "태그", "latitude": 0, "longitude": 0}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    problem(app.post(&admin, "/api/admin/stores", json!({"name": "x", "category": "x", "region_id": tag["id"], "latitude": 0, "longitude": 0})).await, StatusCode::UNPROCESSABLE_ENTITY).await;
    problem(app.post(&admin, "/api/admin/stores", json!({"name": "x", "category": "x", "region_id": f.region, "latitude": 91, "longitude": 0})).await, StatusCode::UNPROCESSABLE_ENTITY).await;
}

/// Duplicate classification.
#[tokio::test]
async fn classification_names_are_unique_per_kind() {
    let app = spawn_app().await;
    let (admin, _) = app.admin().await;
    let tag = json!({"kind": "tag", "name": "태그", "latitude": 0, "longitude": 0});
    json_ok(
        app.post(&admin, "/api/admin/classifications", tag).await,
        StatusCode::CREATED,
    )
    .await;
    let region = json!({"kind": "region", "name": "태그", "latitude": 0, "longitude": 0});
    json_ok(
        app.post(&admin, "/api/admin/classifications", region).await,
        StatusCode::CREATED,
    )
    .await;
    problem(
        app.post(
            &admin,
            "/api/admin/classifications",
            json!({"kind": "tag", "name": "태그", "latitude": 0, "longitude": 0}),
        )
        .await,
        StatusCode::CONFLICT,
    )
    .await;
}

/// A region in use cannot be deleted.
#[tokio::test]
async fn a_region_in_use_cannot_be_deleted() {
    let app = spawn_app().await;
    let (admin, _) = app.admin().await;
    let f = app.store().await;
    problem(
        app.delete(&admin, &format!("/api/admin/classifications/{}", f.region))
            .await,
        StatusCode::CONFLICT,
    )
    .await;
}

/// Business hours are validated.
#[tokio::test]
async fn business_hours_are_validated() {
    let app = spawn_app().await;
    let (admin, _) = app.admin().await;
    let f = app.store().await;
    problem(
        app.put(
            &admin,
            &format!("/api/admin/stores/{}/business-hours", f.store),
            json!([{"weekday": 1, "open": "18:00", "close": "09:00"}, {"weekday": 2, "open": "08:00", "close": "12:00"}]),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    problem(
        app.put(
            &admin,
            &format!("/api/admin/stores/{}/business-hours", f.store),
            json!([{"weekday": 0, "open": "09:00", "close": "18:00"}]),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    problem(
        app.put(
            &admin,
            &format!("/api/admin/stores/{}/business-hours", f.store),
            json!([{"weekday": 1, "open": "9시", "close": "18:00"}]),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
}

/// Umbrella numbers are unique among umbrellas in service, and free again once deleted.
#[tokio::test]
async fn umbrella_numbers_are_unique_in_service_and_free_again_once_deleted() {
    let app = spawn_app().await;
    let (admin, _) = app.admin().await;
    let f = app.store().await;
    let u = json_ok(
        app.post(
            &admin,
            "/api/admin/umbrellas",
            json!({"store_id": f.store, "number": 7}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    problem(
        app.post(
            &admin,
            "/api/admin/umbrellas",
            json!({"store_id": f.store, "number": 7}),
        )
        .await,
        StatusCode::CONFLICT,
    )
    .await;
    problem(
        app.post(
            &admin,
            "/api/admin/umbrellas",
            json!({"store_id": 999_999, "number": 8}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    // A store with umbrellas cannot be deleted.
    problem(
        app.delete(&admin, &format!("/api/admin/stores/{}", f.store))
            .await,
        StatusCode::CONFLICT,
    )
    .await;
    assert_eq!(
        app.delete(&admin, &format!("/api/admin/umbrellas/{}", u["id"]))
            .await
            .status(),
        StatusCode::NO_CONTENT
    );
    json_ok(
        app.post(
            &admin,
            "/api/admin/umbrellas",
            json!({"store_id": f.store, "number": 7}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
}

/// One locker per store; secrets are long hex.
#[tokio::test]
async fn one_locker_per_store_with_a_long_hex_secret() {
    let app = spawn_app().await;
    let (admin, _) = app.admin().await;
    let f = app.store().await;
    problem(
        app.post(
            &admin,
            "/api/admin/lockers",
            json!({"store_id": f.store, "secret": "abc"}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    json_ok(
        app.post(
            &admin,
            "/api/admin/lockers",
            json!({"store_id": f.store, "secret": "00112233445566778899aabbccddeeff"}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    problem(
        app.post(
            &admin,
            "/api/admin/lockers",
            json!({"store_id": f.store, "secret": "00112233445566778899aabbccddeeff"}),
        )
        .await,
        StatusCode::CONFLICT,
    )
    .await;
}

/// Admins cannot lock themselves out.
#[tokio::test]
async fn admins_cannot_lock_themselves_out() {
    let app = spawn_app().await;
    let (admin, admin_id) = app.admin().await;
    problem(
        app.patch(
            &admin,
            &format!("/api/admin/users/{admin_id}"),
            json!({"role": "renter"}),
        )
        .await,
        StatusCode::CONFLICT,
    )
    .await;
    problem(
        app.post(
            &admin,
            &format!("/api/admin/users/{admin_id}/ban"),
            json!({}),
        )
        .await,
        StatusCode::CONFLICT,
    )
    .await;
    problem(
        app.get(&admin, "/api/admin/stores/999999").await,
        StatusCode::NOT_FOUND,
    )
    .await;
}

#[tokio::test]
async fn deposit_rules_refund_only_after_payment_and_return_and_bank_info_after_refund() {
    let app = spawn_app().await;
    let (admin, _) = app.admin().await;
    let f = app.store().await;
    let u = app.umbrella(f.store).await;
    let (c, _) = app.user().await;
    let rent = app.rent(&c, u, f.store).await;
    let id = rent["rental"]["id"].as_i64().unwrap();
    let path = format!("/api/admin/rentals/{id}");
    let op = |operation: &str| json!({"operation": operation});
    let refused = problem(
        app.post(&admin, &format!("{path}/deposit"), op("refund"))
            .await,
        StatusCode::CONFLICT,
    )
    .await;
    assert_eq!(refused["code"], "deposit_not_refund_due");
    json_ok(
        app.post(&admin, &format!("{path}/deposit"), op("confirm_payment"))
            .await,
        StatusCode::OK,
    )
    .await;
    let refused = problem(
        app.post(&admin, &format!("{path}/deposit"), op("refund"))
            .await,
        StatusCode::CONFLICT,
    )
    .await;
    assert_eq!(refused["code"], "rental_still_open");
    json_ok(
        app.post(
            &c,
            "/api/rentals/current/return",
            json!({"store_id": f.store, "bank_name": "국민", "account_number": "123456789"}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    problem(
        app.delete(&admin, &format!("{path}/bank-account")).await,
        StatusCode::CONFLICT,
    )
    .await;
    let r = json_ok(
        app.post(&admin, &format!("{path}/deposit"), op("refund"))
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(r["deposit"]["state"], "refunded");
    // A refund is not undone by toggling: it is final, and a second one is refused.
    let again = problem(
        app.post(&admin, &format!("{path}/deposit"), op("refund"))
            .await,
        StatusCode::CONFLICT,
    )
    .await;
    assert_eq!(again["code"], "deposit_not_refund_due");
    // The old toggles are gone.
    assert_eq!(
        app.patch(&admin, &path, json!({"refunded": false}))
            .await
            .status(),
        StatusCode::METHOD_NOT_ALLOWED
    );
    assert_eq!(
        app.delete(&admin, &format!("{path}/bank-account"))
            .await
            .status(),
        StatusCode::NO_CONTENT
    );
    let (bank,): (Option<Vec<u8>>,) =
        sqlx::query_as("SELECT bank_account FROM rentals WHERE id = $1")
            .bind(id)
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert!(bank.is_none());
}

#[tokio::test]
async fn a_revoked_admin_loses_admin_access_on_the_next_request() {
    let app = spawn_app().await;
    let (root, _) = app.admin().await;
    let (other, other_id) = app.admin().await;
    json_ok(app.get(&other, "/api/admin/users").await, StatusCode::OK).await;
    json_ok(
        app.patch(
            &root,
            &format!("/api/admin/users/{other_id}"),
            json!({"role": "renter"}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    problem(
        app.get(&other, "/api/admin/users").await,
        StatusCode::FORBIDDEN,
    )
    .await;
}

/// A rental that will not end with a return is closed by an admin with a reason, and the
/// renter can rent again.
#[tokio::test]
async fn a_stuck_rental_is_closed_so_the_renter_can_rent_again() {
    let app = spawn_app().await;
    let (admin, _) = app.admin().await;
    let f = app.store().await;
    let other = app.store_in(f.region).await;
    let lost = app.umbrella(f.store).await;
    let spare = app.umbrella(f.store).await;
    let (renter, _) = app.user().await;
    let rent = |umbrella: i64| json!({"umbrella_id": umbrella, "store_id": f.store});
    let rented = json_ok(
        app.post(&renter, "/api/rentals", rent(lost)).await,
        StatusCode::CREATED,
    )
    .await;
    let first = rented["rental"]["id"].as_i64().unwrap();
    let close = |id: i64| format!("/api/admin/rentals/{id}/close");

    for (body, code) in [
        (json!({"reason": "stolen"}), "invalid_reason"),
        (json!({"reason": "returned_by_staff"}), "store_required"),
    ] {
        let p = problem(
            app.post(&admin, &close(first), body).await,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
        assert_eq!(p["code"], code);
    }
    let note = json!({"reason": "lost", "note": "3주째 연락 없음"});
    let closed = json_ok(
        app.post(&admin, &close(first), note.clone()).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(closed["closed_reason"], "lost");
    assert_eq!(closed["closed_note"], "3주째 연락 없음");
    assert!(closed["returned_at"].is_string());
    let again = problem(
        app.post(&admin, &close(first), note).await,
        StatusCode::CONFLICT,
    )
    .await;
    assert_eq!(again["code"], "already_closed");
    let missed: bool =
        sqlx::query_scalar("SELECT missed AND NOT rentable FROM umbrellas WHERE id = $1")
            .bind(lost)
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert!(missed, "a lost umbrella is marked missing");

    // A lost umbrella whose deposit was never paid is owed: no new rental until it is
    // settled (here the transfer arrives, and the deposit is kept for the loss).
    let owed = problem(
        app.post(&renter, "/api/rentals", rent(spare)).await,
        StatusCode::CONFLICT,
    )
    .await;
    assert_eq!(owed["code"], "deposit_outstanding");
    let kept = json_ok(
        app.post(
            &admin,
            &format!("/api/admin/rentals/{first}/deposit"),
            json!({"operation": "confirm_payment"}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(kept["deposit"]["state"], "forfeited");
    assert_eq!(kept["deposit"]["forfeit_reason"], "lost");

    // Then the renter is free to rent again, and sees how the first rental ended.
    let second = json_ok(
        app.post(&renter, "/api/rentals", rent(spare)).await,
        StatusCode::CREATED,
    )
    .await["rental"]["id"]
        .as_i64()
        .unwrap();
    let mine = json_ok(app.get(&renter, "/api/me/rentals").await, StatusCode::OK).await;
    let ended = mine
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == first)
        .unwrap();
    assert_eq!(ended["closed_reason"], "lost");

    // Taken back by staff: the umbrella stands at that store, rentable again.
    problem(
        app.post(&renter, &close(second), json!({"reason": "lost"}))
            .await,
        StatusCode::FORBIDDEN,
    )
    .await;
    let by_staff = json!({"reason": "returned_by_staff", "store_id": other});
    let closed = json_ok(
        app.post(&admin, &close(second), by_staff).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(closed["closed_reason"], "returned_by_staff");
    assert_eq!(closed["return_store_id"], other);
    let location = json_ok(
        app.get(&app.client(), &format!("/api/umbrellas/{spare}/location"))
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(location["rentable"], true);
    let at: i64 = sqlx::query_scalar("SELECT store_id FROM umbrellas WHERE id = $1")
        .bind(spare)
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(at, other, "the umbrella stands where staff took it");
}
