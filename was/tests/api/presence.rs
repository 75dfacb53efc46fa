//! Proof of presence: a new deployment rents and returns only with signed codes, the
//! original stickers work only in a dated, flagged migration mode, renting and returning
//! are rate limited, and locker passwords cannot be farmed.

use reqwest::StatusCode;
use serde_json::json;
use was::domain::codes::Subject;

use crate::helpers::*;

#[tokio::test]
async fn a_fresh_deployment_refuses_rents_and_returns_without_a_code() {
    let app = spawn_app_with(&FRESH_DEPLOYMENT).await;
    let f = app.store().await;
    let u = app.umbrella(f.store).await;
    let (renter, _) = app.user().await;
    for r in [
        app.get(&renter, &format!("/api/umbrellas/{u}/rent-form"))
            .await,
        app.post(
            &renter,
            "/api/rentals",
            json!({"umbrella_id": u, "store_id": f.store}),
        )
        .await,
    ] {
        let p = problem(r, StatusCode::BAD_REQUEST).await;
        assert_eq!(p["code"], "qr_code_required");
    }
    let rented = json_ok(
        app.post(
            &renter,
            "/api/rentals",
            json!({"umbrella_id": u, "store_id": f.store, "code": code_for(Subject::Umbrella(u))}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(rented["rental"]["without_code"], false);
    for r in [
        app.get(&renter, &format!("/api/stores/{}/return-form", f.store))
            .await,
        app.post(
            &renter,
            "/api/rentals/current/return",
            json!({"store_id": f.store, "bank_name": "국민", "account_number": "123456789"}),
        )
        .await,
    ] {
        let p = problem(r, StatusCode::BAD_REQUEST).await;
        assert_eq!(p["code"], "qr_code_required");
    }
    json_ok(
        app.post(
            &renter,
            "/api/rentals/current/return",
            json!({"store_id": f.store, "bank_name": "국민", "account_number": "123456789",
                   "code": code_for(Subject::Store(f.store))}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
}

#[tokio::test]
async fn the_migration_mode_accepts_the_old_stickers_until_its_date_and_flags_each_use() {
    let app = spawn_app_with(&[
        ("QR_LEGACY_CODES", "accept"),
        ("QR_LEGACY_UNTIL", "2999-12-31"),
    ])
    .await;
    let (admin, _) = app.admin().await;
    let f = app.store().await;
    let u = app.umbrella(f.store).await;
    let (renter, _) = app.user().await;
    let rented = app.rent(&renter, u, f.store).await;
    assert_eq!(rented["rental"]["without_code"], true);
    let id = rented["rental"]["id"].as_i64().unwrap();
    let back = json_ok(
        app.post(
            &renter,
            "/api/rentals/current/return",
            json!({"store_id": f.store, "bank_name": "국민", "account_number": "123456789"}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(back["without_code"], true);
    let flagged = json_ok(
        app.get(&admin, "/api/admin/rentals?status=flagged").await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(flagged[0]["id"], id);
    assert_eq!(
        (&flagged[0]["rent_verified"], &flagged[0]["return_verified"]),
        (&json!(false), &json!(false))
    );
    let board = json_ok(
        app.get(&admin, "/api/admin/dashboard").await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(board["flagged"], 1);

    // With a signed code, nothing is flagged.
    let u2 = app.umbrella(f.store).await;
    json_ok(
        app.post(
            &renter,
            "/api/rentals",
            json!({"umbrella_id": u2, "store_id": f.store, "code": code_for(Subject::Umbrella(u2))}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let flagged = json_ok(
        app.get(&admin, "/api/admin/rentals?status=flagged").await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(flagged.as_array().unwrap().len(), 1);

    // After the last day the mode ends by itself.
    let ended = spawn_app_with(&[
        ("QR_LEGACY_CODES", "accept"),
        ("QR_LEGACY_UNTIL", "2020-01-31"),
    ])
    .await;
    let f = ended.store().await;
    let u = ended.umbrella(f.store).await;
    let (renter, _) = ended.user().await;
    let p = problem(
        ended
            .post(
                &renter,
                "/api/rentals",
                json!({"umbrella_id": u, "store_id": f.store}),
            )
            .await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert_eq!(p["code"], "qr_code_required");
}

#[tokio::test]
async fn rents_and_returns_are_limited_per_user_and_per_address() {
    let app = spawn_app_with(&[
        ("RATE_LIMIT_RENTAL_PER_USER", "3/1h"),
        ("RATE_LIMIT_RENTAL_PER_ADDRESS", "5/1h"),
    ])
    .await;
    let f = app.store().await;
    let u = app.umbrella(f.store).await;
    let form = format!("/api/umbrellas/{u}/rent-form");
    let (first, _) = app.user().await;
    for _ in 0..3 {
        json_ok(app.get(&first, &form).await, StatusCode::OK).await;
    }
    let p = problem(app.get(&first, &form).await, StatusCode::TOO_MANY_REQUESTS).await;
    assert!(p["detail"].as_str().unwrap().contains("대여·반납"));
    // A throw-away second account from the same address gets what is left of the
    // address's allowance (the refused fourth request counted against it too), and no
    // more.
    let (second, _) = app.user().await;
    json_ok(app.get(&second, &form).await, StatusCode::OK).await;
    let r = app
        .post(
            &second,
            "/api/rentals",
            json!({"umbrella_id": u, "store_id": f.store}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(r.headers().contains_key("retry-after"));
}

/// A store with a locker whose secret the test knows, and a renter who rented there.
async fn rented_at_a_locker(app: &TestApp) -> (Fixture, reqwest::Client, String, i64) {
    let (admin, _) = app.admin().await;
    let f = app.store().await;
    let secret = "00112233445566778899aabbccddeeff".to_owned();
    json_ok(
        app.post(
            &admin,
            "/api/admin/lockers",
            json!({"store_id": f.store, "secret": secret}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let u = app.umbrella(f.store).await;
    let (renter, _) = app.user().await;
    let rented = app.rent(&renter, u, f.store).await;
    let password = rented["locker_password"].as_str().unwrap().to_owned();
    assert_eq!(
        password,
        was::domain::locker::locker_password(&secret, 0).unwrap(),
        "the renter gets exactly the password the counter expects next"
    );
    let counter: i64 = sqlx::query_scalar("SELECT counter FROM lockers WHERE store_id = $1")
        .bind(f.store)
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(counter, 1, "and the counter moves past it");
    (f, renter, secret, counter)
}

#[tokio::test]
async fn a_locker_resync_needs_the_store_code_moves_only_forward_and_only_once() {
    let app = spawn_app().await;
    let (f, renter, secret, ours) = rented_at_a_locker(&app).await;
    let code = code_for(Subject::Store(f.store));
    let resync = |counter: i64, code: &str| {
        app.post(
            &renter,
            "/api/rentals/current/locker-password",
            json!({"counter": counter, "code": code}),
        )
    };
    // Another store's code, or none at all, proves nothing.
    let p = problem(
        resync(ours, &code_for(Subject::Store(f.store + 1))).await,
        StatusCode::FORBIDDEN,
    )
    .await;
    assert_eq!(p["code"], "qr_code_mismatch");
    problem(
        app.post(
            &renter,
            "/api/rentals/current/locker-password",
            json!({"counter": ours}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    // Behind ours (passwords already issued) or far ahead: refused, and our counter
    // does not move.
    for counter in [ours - 1, 0, ours + 6, 10_000] {
        let p = problem(
            resync(counter, &code).await,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
        assert_eq!(p["code"], "counter_out_of_range", "{counter}");
    }
    let unchanged: i64 = sqlx::query_scalar("SELECT counter FROM lockers WHERE store_id = $1")
        .bind(f.store)
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(unchanged, ours);
    let given = json_ok(resync(ours + 2, &code).await, StatusCode::OK).await;
    assert_eq!(
        given["locker_password"],
        was::domain::locker::locker_password(&secret, u64::try_from(ours + 2).unwrap()).unwrap()
    );
    // Once per rental.
    let p = problem(resync(ours + 3, &code).await, StatusCode::CONFLICT).await;
    assert_eq!(p["code"], "resync_used");
}

#[tokio::test]
async fn the_locker_limit_is_checked_before_anything_else() {
    let app = spawn_app_with(&[("RATE_LIMIT_LOCKER_PER_USER", "1/1h")]).await;
    let (_, renter, _, ours) = rented_at_a_locker(&app).await;
    // The rent spent the allowance: even a request that would fail on its code is
    // answered 429, so nothing can be probed past the limit.
    let p = problem(
        app.post(
            &renter,
            "/api/rentals/current/locker-password",
            json!({"counter": ours, "code": "not-a-code"}),
        )
        .await,
        StatusCode::TOO_MANY_REQUESTS,
    )
    .await;
    assert_eq!(p["code"], "rate_limited");
}

#[tokio::test]
async fn locker_secrets_are_sealed_at_rest_and_older_rows_are_sealed_at_start() {
    let app = spawn_app().await;
    let (admin, _) = app.admin().await;
    let f = app.store().await;
    let secret = "a1b2c3d4e5f60718293a4b5c6d7e8f90";
    json_ok(
        app.post(
            &admin,
            "/api/admin/lockers",
            json!({"store_id": f.store, "secret": secret}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let (plain, sealed): (Option<String>, Option<Vec<u8>>) =
        sqlx::query_as("SELECT secret, sealed_secret FROM lockers WHERE store_id = $1")
            .bind(f.store)
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert!(plain.is_none());
    let sealed = sealed.unwrap();
    assert!(
        !sealed.windows(secret.len()).any(|w| w == secret.as_bytes()),
        "the secret is not stored in the clear"
    );

    // A row from before sealing is sealed when a WAS starts, and still works.
    let old = app.store_in(f.region).await;
    sqlx::query("INSERT INTO lockers (store_id, secret) VALUES ($1, $2)")
        .bind(old)
        .bind(secret)
        .execute(&app.db)
        .await
        .unwrap();
    let second = spawn_on(&app.database_url, &app.redis_url, &[]).await;
    let mut sealed_now = false;
    for _ in 0..50 {
        let plain: Option<String> =
            sqlx::query_scalar("SELECT secret FROM lockers WHERE store_id = $1")
                .bind(old)
                .fetch_one(&app.db)
                .await
                .unwrap();
        if plain.is_none() {
            sealed_now = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(sealed_now, "the plain secret was sealed at start");
    let u = second.umbrella(old).await;
    let (renter, _) = second.user().await;
    let rented = second.rent(&renter, u, old).await;
    assert_eq!(
        rented["locker_password"],
        was::domain::locker::locker_password(secret, 0).unwrap()
    );
}

#[tokio::test]
async fn a_retried_rent_past_the_limit_gets_its_first_answer() {
    let app = spawn_app_with(&[("RATE_LIMIT_RENTAL_PER_USER", "1/1h")]).await;
    let f = app.store().await;
    let u = app.umbrella(f.store).await;
    // The limits count in the Redis every test shares, by user id: the test above uses
    // users 1 and 2 of its own database, so this renter is user 3.
    app.user().await;
    app.user().await;
    let (renter, renter_id) = app.user().await;
    assert_eq!(renter_id, 3);
    let send = || {
        renter
            .post(app.url("/api/rentals"))
            .header("idempotency-key", "a-flaky-phone-retries")
            .json(&json!({"umbrella_id": u, "store_id": f.store}))
            .send()
    };
    let first = send().await.unwrap();
    assert_eq!(first.status(), StatusCode::CREATED);
    // The allowance is spent, but the retry of what went through is answered as before.
    let again = send().await.unwrap();
    assert_eq!(again.status(), StatusCode::CREATED);
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    // Anything new is limited.
    problem(
        app.get(&renter, &format!("/api/umbrellas/{u}/rent-form"))
            .await,
        StatusCode::TOO_MANY_REQUESTS,
    )
    .await;
}
