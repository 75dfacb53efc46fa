//! Bans, errors, the return webhook, what renters are told of their deposit, locker
//! resyncs, and idempotent replays across a key rotation.

use super::*;

#[tokio::test]
async fn a_banned_user_loses_the_session_at_once_and_cannot_come_back() {
    let app = spawn_app().await;
    let (admin, _) = app.admin().await;
    let c = app.client();
    let r = app
        .post(&c, "/api/auth/signup", signup_form("bad@example.com"))
        .await;
    let id = json_ok(r, StatusCode::CREATED).await["id"]
        .as_i64()
        .unwrap();
    assert_eq!(
        app.post(&admin, &format!("/api/admin/users/{id}/ban"), json!({}))
            .await
            .status(),
        StatusCode::NO_CONTENT
    );
    problem(app.get(&c, "/api/me").await, StatusCode::UNAUTHORIZED).await;
    let again = signup_form("BAD@example.com");
    problem(
        app.post(&app.client(), "/api/auth/signup", again.clone())
            .await,
        StatusCode::FORBIDDEN,
    )
    .await;
    // The banned account was anonymised, so its old password matches nothing: the
    // answer is the plain 401 anyone guessing gets, which tells nobody the identity
    // is banned.
    problem(
        app.post(
            &app.client(),
            "/api/auth/login",
            json!({"email": "bad@example.com", "password": "password123"}),
        )
        .await,
        StatusCode::UNAUTHORIZED,
    )
    .await;
    // Lifting the ban lets the identity sign up again, as a new account.
    let list = json_ok(
        app.get(&admin, "/api/admin/blacklist").await,
        StatusCode::OK,
    )
    .await;
    let entry = list
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["subject"] == "bad@example.com")
        .unwrap();
    assert_eq!(
        app.delete(&admin, &format!("/api/admin/blacklist/{}", entry["id"]))
            .await
            .status(),
        StatusCode::NO_CONTENT
    );
    let new = json_ok(
        app.post(&app.client(), "/api/auth/signup", again).await,
        StatusCode::CREATED,
    )
    .await;
    assert_ne!(new["id"], id);
}

#[tokio::test]
async fn locker_password_window_is_per_store() {
    let app = spawn_app().await;
    let f = app.store().await;
    let other = app.store_in(f.region).await;
    with_locker(&app, f.store).await;
    sqlx::query("INSERT INTO lockers (store_id, secret) VALUES ($1, $2)")
        .bind(other)
        .bind("ffeeddccbbaa99887766554433221100")
        .execute(&app.db)
        .await
        .unwrap();
    let u1 = app.umbrella(f.store).await;
    let u2 = app.umbrella(other).await;
    let (a, _) = app.user().await;
    let (b, _) = app.user().await;
    app.rent(&a, u1, f.store).await;
    tokio::time::sleep(Duration::from_millis(10)).await;
    app.rent(&b, u2, other).await;
}

#[tokio::test]
async fn errors_carry_a_stable_code_and_a_korean_message() {
    let app = spawn_app().await;
    let f = app.store().await;
    let other = app.store_in(f.region).await;
    let u = app.umbrella(f.store).await;
    let (c, _) = app.user().await;
    let cases = [
        (
            json!({"umbrella_id": 999_999, "store_id": f.store}),
            StatusCode::NOT_FOUND,
            "umbrella_not_found",
        ),
        (
            json!({"umbrella_id": u, "store_id": other}),
            StatusCode::CONFLICT,
            "umbrella_not_at_store",
        ),
        (
            json!({"umbrella_id": u, "store_id": f.store, "condition_report": "가".repeat(401)}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "too_long",
        ),
        (
            json!({"umbrella_id": "x", "store_id": f.store}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_body",
        ),
    ];
    for (body, status, code) in cases {
        // `problem` also checks that the message is Korean.
        let p = problem(app.post(&c, "/api/rentals", body).await, status).await;
        assert_eq!(p["code"], code, "{p}");
    }
    let p = problem(
        app.get(&app.client(), "/api/me").await,
        StatusCode::UNAUTHORIZED,
    )
    .await;
    assert_eq!(p["code"], "login_required");
}

/// Operators hear of every return through the webhook, in the background: a webhook that
/// is slow, or fails at first, neither delays nor fails the return.
#[tokio::test]
async fn a_return_is_announced_to_the_webhook_without_waiting_for_it() {
    use std::sync::{Arc, Mutex};

    #[derive(Clone, Default)]
    struct Receiver {
        bodies: Arc<Mutex<Vec<Value>>>,
        release: Arc<tokio::sync::Notify>,
    }
    // The first delivery is held until the test releases it, then refused with 500; the
    // retry is accepted.
    async fn hook(
        axum::extract::State(r): axum::extract::State<Receiver>,
        axum::Json(body): axum::Json<Value>,
    ) -> axum::http::StatusCode {
        let first = {
            let mut bodies = r.bodies.lock().unwrap();
            bodies.push(body);
            bodies.len() == 1
        };
        if first {
            r.release.notified().await;
            axum::http::StatusCode::INTERNAL_SERVER_ERROR
        } else {
            axum::http::StatusCode::OK
        }
    }
    let receiver = Receiver::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let router = axum::Router::new()
        .route("/hook", axum::routing::post(hook))
        .with_state(receiver.clone());
    tokio::spawn(async move { axum::serve(listener, router).await });

    let app = spawn_app_with(&[("RETURN_WEBHOOK_URL", url.as_str())]).await;
    let f = app.store().await;
    let u = app.umbrella(f.store).await;
    let (c, _) = app.user().await;
    app.rent(&c, u, f.store).await;
    let returned = json_ok(
        app.post(&c, "/api/rentals/current/return", return_body(f.store))
            .await,
        StatusCode::OK,
    )
    .await;
    // Answered while the webhook still holds its first delivery.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while receiver.bodies.lock().unwrap().is_empty() {
        assert!(std::time::Instant::now() < deadline, "no notice arrived");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(
        receiver.bodies.lock().unwrap().len(),
        1,
        "the first delivery is still held"
    );
    receiver.release.notify_one();
    while receiver.bodies.lock().unwrap().len() < 2 {
        assert!(
            std::time::Instant::now() < deadline,
            "refused, and never retried"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let bodies = receiver.bodies.lock().unwrap().clone();
    assert_eq!(bodies[0], bodies[1], "the retry sends the same notice");
    let notice = &bodies[1];
    assert_eq!(notice["upbrella"]["event"], "umbrella_returned");
    assert_eq!(notice["upbrella"]["rental_id"], returned["id"]);
    let text = notice["text"].as_str().unwrap();
    assert!(text.starts_with("우산 반납"), "{text}");
    assert!(
        text.contains(&format!("{}번 우산", returned["umbrella_number"])),
        "{text}"
    );
}

/// The renter sees the deposit before renting, its state afterwards, and a warning when
/// the rental is overdue.
#[tokio::test]
async fn renters_see_the_deposit_its_state_and_an_overdue_warning() {
    let app = spawn_app_with(&[
        ("DEPOSIT_AMOUNT", "5000"),
        ("DEPOSIT_ACCOUNT", "신한 110-123-456789 업브렐라"),
        ("KAKAO_MAP_KEY", "0123abcd"),
    ])
    .await;
    let info = json_ok(
        app.get(&app.client(), "/api/service-info").await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(
        info,
        json!({"deposit_amount": 5000, "deposit_account": "신한 110-123-456789 업브렐라", "rental_days": 14, "map_key": "0123abcd",
               "support": {"kakao_url": null, "phone": null, "email": null}})
    );
    let f = app.store().await;
    let u = app.umbrella(f.store).await;
    let (c, _) = app.user().await;
    let rented = app.rent(&c, u, f.store).await;
    let id = rented["rental"]["id"].as_i64().unwrap();
    let current = json_ok(app.get(&c, "/api/me/rental").await, StatusCode::OK).await;
    let deposit = |r: &Value| {
        (
            r["deposit_paid"].as_bool(),
            r["deposit_refunded"].as_bool(),
            r["overdue"].as_bool(),
        )
    };
    assert_eq!(
        deposit(&current["rental"]),
        (Some(false), Some(false), Some(false))
    );

    let (admin, _) = app.admin().await;
    json_ok(
        app.post(
            &admin,
            &format!("/api/admin/rentals/{id}/deposit"),
            json!({"operation": "confirm_payment"}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    sqlx::query("UPDATE rentals SET rented_at = now() - interval '15 days' WHERE id = $1")
        .bind(id)
        .execute(&app.db)
        .await
        .unwrap();
    let current = json_ok(app.get(&c, "/api/me/rental").await, StatusCode::OK).await;
    assert_eq!(
        deposit(&current["rental"]),
        (Some(true), Some(false), Some(true))
    );
    assert_eq!(current["rental"]["elapsed_days"], 15);
    assert_eq!(current["rental"]["deposit"]["label"], "보증금 입금 확인");
}

/// A locker that refused the password: the renter scans the store's code, types the
/// number on its screen and gets the password for that number, once it is a few steps
/// ahead of ours and soon after renting; the next rent continues from there.
#[tokio::test]
async fn a_renter_resyncs_a_locker_with_the_number_it_shows() {
    let app = spawn_app().await;
    let f = app.store().await;
    with_locker(&app, f.store).await;
    let u = app.umbrella(f.store).await;
    let (c, _) = app.user().await;
    let code = code_for(was::domain::codes::Subject::Store(f.store));
    let resync = |counter: i64| json!({"counter": counter, "code": code});
    let path = "/api/rentals/current/locker-password";

    let p = problem(app.post(&c, path, resync(0)).await, StatusCode::CONFLICT).await;
    assert_eq!(
        p["code"], "nothing_to_return",
        "no open rental, no password"
    );
    let rented = app.rent(&c, u, f.store).await;
    assert_eq!(rented["locker_password"], locker_password(0));

    // The device moved on by itself and shows 3: the password for 3.
    let got = json_ok(app.post(&c, path, resync(3)).await, StatusCode::OK).await;
    assert_eq!(got["locker_password"], locker_password(3));
    let counter: i64 = sqlx::query_scalar("SELECT counter FROM lockers WHERE store_id = $1")
        .bind(f.store)
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(
        counter, 4,
        "the next password continues after the device's number"
    );
    // The window is checked before anything else about the number.
    sqlx::query("UPDATE rentals SET rented_at = now() - interval '31 minutes', locker_resynced_at = NULL WHERE user_id = (SELECT user_id FROM rentals WHERE umbrella_id = $1 AND returned_at IS NULL)")
        .bind(u)
        .execute(&app.db)
        .await
        .unwrap();
    let p = problem(app.post(&c, path, resync(4)).await, StatusCode::CONFLICT).await;
    assert_eq!(p["code"], "resync_window_passed");
}

/// Idempotency records are HMACs under `SERVER_HMAC_KEY`. During a rotation a retry of a
/// request recorded under the old key still gets its first answer, as long as the old key
/// is kept as `SERVER_HMAC_KEY_PREVIOUS`; without it, the retry is taken for another
/// request.
#[tokio::test]
async fn an_idempotent_replay_survives_a_key_rotation() {
    const NEW_KEY: &str = "a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf";
    let app = spawn_app().await;
    let f = app.store().await;
    let u = app.umbrella(f.store).await;
    let (c, _) = app.user().await;
    let body = json!({"umbrella_id": u, "store_id": f.store});
    let first = c
        .post(app.url("/api/rentals"))
        .header("idempotency-key", "rotate-1")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(first.status(), StatusCode::CREATED);
    let first: Value = first.json().await.unwrap();

    let rotated = spawn_on(
        &app.database_url,
        &app.redis_url,
        &[
            ("SERVER_HMAC_KEY", NEW_KEY),
            ("SERVER_HMAC_KEY_PREVIOUS", HMAC_KEY_HEX),
        ],
    )
    .await;
    let again = c
        .post(rotated.url("/api/rentals"))
        .header("idempotency-key", "rotate-1")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), StatusCode::CREATED);
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    assert_eq!(again.json::<Value>().await.unwrap(), first);

    let forgot = spawn_on(
        &app.database_url,
        &app.redis_url,
        &[("SERVER_HMAC_KEY", NEW_KEY)],
    )
    .await;
    let r = c
        .post(forgot.url("/api/rentals"))
        .header("idempotency-key", "rotate-1")
        .json(&body)
        .send()
        .await
        .unwrap();
    let p = problem(r, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(p["code"], "idempotency_key_reused");
}
