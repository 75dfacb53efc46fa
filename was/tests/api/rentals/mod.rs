use std::time::Duration;

use futures::future::join_all;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::*;

mod notices;

const SECRET: &str = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

fn locker_password(counter: u64) -> String {
    let key = hex::decode(SECRET).unwrap();
    was::domain::locker::hotp(&key, counter, 6)[..4].to_owned()
}

async fn with_locker(app: &TestApp, store: i64) {
    sqlx::query("INSERT INTO lockers (store_id, secret) VALUES ($1, $2)")
        .bind(store)
        .bind(SECRET)
        .execute(&app.db)
        .await
        .unwrap();
}

fn refund() -> Value {
    json!({"bank_name": "신한", "account_number": "110-123-456789"})
}

fn return_body(store: i64) -> Value {
    let mut b = refund();
    b["store_id"] = json!(store);
    b
}

#[tokio::test]
async fn rent_then_return_moves_the_umbrella_and_records_everything() {
    let app = spawn_app().await;
    let a = app.store().await;
    let b = app.store_in(a.region).await;
    let u = app.umbrella(a.store).await;
    let (c, user_id) = app.user().await;

    let form = json_ok(
        app.get(&c, &format!("/api/umbrellas/{u}/rent-form")).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(form["store_id"], a.store);
    assert_eq!(form["rentable"], true);

    let r = app.post(&c, "/api/rentals", json!({"umbrella_id": u, "store_id": a.store, "condition_report": "살이 하나 휘었어요"})).await;
    let rent = json_ok(r, StatusCode::CREATED).await;
    assert!(rent["locker_password"].is_null(), "no locker at this store");
    let rental = &rent["rental"];
    let rented_at = time::OffsetDateTime::parse(
        rental["rented_at"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    let due_at = time::OffsetDateTime::parse(
        rental["due_at"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    assert_eq!(due_at - rented_at, time::Duration::days(14));
    assert_eq!(rental["elapsed_days"], 0);

    let current = json_ok(app.get(&c, "/api/me/rental").await, StatusCode::OK).await;
    assert_eq!(current["rental"]["umbrella_id"], u);
    let (rentable,): (bool,) = sqlx::query_as("SELECT rentable FROM umbrellas WHERE id = $1")
        .bind(u)
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert!(!rentable);

    let form = json_ok(
        app.get(&c, &format!("/api/stores/{b}/return-form")).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(form["rental"]["umbrella_id"], u);
    let mut body = return_body(b);
    body["improvement_report"] = json!("대여소가 더 많았으면");
    let returned = json_ok(
        app.post(&c, "/api/rentals/current/return", body).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(returned["return_store"]["id"], b);

    let (store_id, rentable): (i64, bool) =
        sqlx::query_as("SELECT store_id, rentable FROM umbrellas WHERE id = $1")
            .bind(u)
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!(store_id, b, "the umbrella now stands at the return store");
    assert!(rentable);
    let (report, bank): (Option<String>, Option<Vec<u8>>) =
        sqlx::query_as("SELECT improvement_report, bank_account FROM rentals WHERE user_id = $1")
            .bind(user_id)
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!(report.as_deref(), Some("대여소가 더 많았으면"));
    assert!(bank.is_some(), "refund account recorded (encrypted)");
    let current = json_ok(app.get(&c, "/api/me/rental").await, StatusCode::OK).await;
    assert!(current["rental"].is_null());
    let history = json_ok(app.get(&c, "/api/me/rentals").await, StatusCode::OK).await;
    assert_eq!(history.as_array().unwrap().len(), 1);
    problem(
        app.post(&c, "/api/rentals/current/return", return_body(b))
            .await,
        StatusCode::CONFLICT,
    )
    .await;
}

#[tokio::test]
async fn fifty_concurrent_rents_of_one_umbrella_give_exactly_one_success() {
    let app = spawn_app().await;
    let f = app.store().await;
    let u = app.umbrella(f.store).await;
    let mut users = Vec::new();
    for chunk in 0..5 {
        let batch = join_all((0..10).map(|_| app.user())).await;
        users.extend(batch);
        let _ = chunk;
    }
    let results = join_all(users.iter().map(|(c, _)| {
        app.post(
            c,
            "/api/rentals",
            json!({"umbrella_id": u, "store_id": f.store}),
        )
    }))
    .await;
    let created = results
        .iter()
        .filter(|r| r.status() == StatusCode::CREATED)
        .count();
    let conflicts = results
        .iter()
        .filter(|r| r.status() == StatusCode::CONFLICT)
        .count();
    assert_eq!((created, conflicts), (1, 49));
    let open: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM rentals WHERE umbrella_id = $1 AND returned_at IS NULL",
    )
    .bind(u)
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert_eq!(open, 1);
}

#[tokio::test]
async fn one_user_cannot_hold_two_open_rentals_even_concurrently() {
    let app = spawn_app().await;
    let f = app.store().await;
    let umbrellas: Vec<i64> = join_all((0..10).map(|_| app.umbrella(f.store))).await;
    let (c, user) = app.user().await;
    let results = join_all(umbrellas.iter().map(|u| {
        app.post(
            &c,
            "/api/rentals",
            json!({"umbrella_id": u, "store_id": f.store}),
        )
    }))
    .await;
    let created = results
        .iter()
        .filter(|r| r.status() == StatusCode::CREATED)
        .count();
    assert_eq!(created, 1);
    assert!(
        results
            .iter()
            .all(|r| matches!(r.status(), StatusCode::CREATED | StatusCode::CONFLICT))
    );
    let open: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM rentals WHERE user_id = $1 AND returned_at IS NULL",
    )
    .bind(user)
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert_eq!(open, 1);
}

#[tokio::test]
async fn the_database_itself_refuses_a_second_open_rental() {
    let app = spawn_app().await;
    let f = app.store().await;
    let u = app.umbrella(f.store).await;
    let (_, a) = app.user().await;
    let (_, b) = app.user().await;
    let insert = "INSERT INTO rentals (umbrella_id, user_id, rent_store_id) VALUES ($1, $2, $3)";
    sqlx::query(insert)
        .bind(u)
        .bind(a)
        .bind(f.store)
        .execute(&app.db)
        .await
        .unwrap();
    let err = sqlx::query(insert)
        .bind(u)
        .bind(b)
        .bind(f.store)
        .execute(&app.db)
        .await
        .unwrap_err();
    assert!(
        was::error::is_constraint(&err, "rentals_open_umbrella_key"),
        "{err}"
    );
    let u2 = app.umbrella(f.store).await;
    let err = sqlx::query(insert)
        .bind(u2)
        .bind(a)
        .bind(f.store)
        .execute(&app.db)
        .await
        .unwrap_err();
    assert!(
        was::error::is_constraint(&err, "rentals_open_user_key"),
        "{err}"
    );
}

#[tokio::test]
async fn rent_rules_give_precise_errors() {
    let app = spawn_app().await;
    let f = app.store().await;
    let other = app.store_in(f.region).await;
    let u = app.umbrella(f.store).await;
    let (c, _) = app.user().await;
    problem(
        app.post(
            &c,
            "/api/rentals",
            json!({"umbrella_id": 999_999, "store_id": f.store}),
        )
        .await,
        StatusCode::NOT_FOUND,
    )
    .await;
    problem(
        app.post(
            &c,
            "/api/rentals",
            json!({"umbrella_id": u, "store_id": other}),
        )
        .await,
        StatusCode::CONFLICT,
    )
    .await;
    let long = "가".repeat(401);
    problem(
        app.post(
            &c,
            "/api/rentals",
            json!({"umbrella_id": u, "store_id": f.store, "condition_report": long}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    sqlx::query("UPDATE umbrellas SET missed = true WHERE id = $1")
        .bind(u)
        .execute(&app.db)
        .await
        .unwrap();
    problem(
        app.post(
            &c,
            "/api/rentals",
            json!({"umbrella_id": u, "store_id": f.store}),
        )
        .await,
        StatusCode::CONFLICT,
    )
    .await;
    sqlx::query("UPDATE umbrellas SET missed = false, rentable = false WHERE id = $1")
        .bind(u)
        .execute(&app.db)
        .await
        .unwrap();
    problem(
        app.post(
            &c,
            "/api/rentals",
            json!({"umbrella_id": u, "store_id": f.store}),
        )
        .await,
        StatusCode::CONFLICT,
    )
    .await;
    let none: i64 = sqlx::query_scalar("SELECT count(*) FROM rentals")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(none, 0, "failed rents leave nothing behind");
}

#[tokio::test]
async fn an_idempotent_rent_replay_returns_the_first_result() {
    let app = spawn_app().await;
    let f = app.store().await;
    let u = app.umbrella(f.store).await;
    let (c, user) = app.user().await;
    let body = json!({"umbrella_id": u, "store_id": f.store});
    let send = || {
        c.post(app.url("/api/rentals"))
            .header("idempotency-key", "rent-1")
            .json(&body)
            .send()
    };
    let first = send().await.unwrap();
    assert_eq!(first.status(), StatusCode::CREATED);
    let first: Value = first.json().await.unwrap();
    let again = send().await.unwrap();
    assert_eq!(
        again.status(),
        StatusCode::CREATED,
        "a replay is not a conflict"
    );
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    let again: Value = again.json().await.unwrap();
    assert_eq!(first, again);
    let rentals: i64 = sqlx::query_scalar("SELECT count(*) FROM rentals WHERE user_id = $1")
        .bind(user)
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(rentals, 1);
    // The same key with another request is a client error.
    let r = c
        .post(app.url("/api/rentals"))
        .header("idempotency-key", "rent-1")
        .json(&json!({"umbrella_id": u, "store_id": f.store, "condition_report": "x"}))
        .send()
        .await
        .unwrap();
    problem(r, StatusCode::UNPROCESSABLE_ENTITY).await;
}

#[tokio::test]
async fn concurrent_duplicates_of_one_idempotent_rent_all_get_the_first_result() {
    let app = spawn_app().await;
    let f = app.store().await;
    let u = app.umbrella(f.store).await;
    let (c, user) = app.user().await;
    let body = json!({"umbrella_id": u, "store_id": f.store});
    let results = join_all((0..8).map(|_| {
        c.post(app.url("/api/rentals"))
            .header("idempotency-key", "k")
            .json(&body)
            .send()
    }))
    .await;
    let mut bodies = Vec::new();
    for r in results {
        let r = r.unwrap();
        assert_eq!(r.status(), StatusCode::CREATED);
        bodies.push(r.json::<Value>().await.unwrap());
    }
    assert!(bodies.windows(2).all(|w| w[0] == w[1]));
    let rentals: i64 = sqlx::query_scalar("SELECT count(*) FROM rentals WHERE user_id = $1")
        .bind(user)
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(rentals, 1);
}

#[tokio::test]
async fn an_idempotent_return_replay_returns_the_first_result() {
    let app = spawn_app().await;
    let f = app.store().await;
    let u = app.umbrella(f.store).await;
    let (c, _) = app.user().await;
    app.rent(&c, u, f.store).await;
    let send = || {
        c.post(app.url("/api/rentals/current/return"))
            .header("idempotency-key", "ret-1")
            .json(&return_body(f.store))
            .send()
    };
    let first: Value = json_ok(send().await.unwrap(), StatusCode::OK).await;
    let again: Value = json_ok(send().await.unwrap(), StatusCode::OK).await;
    assert_eq!(first, again);
}

#[tokio::test]
async fn return_needs_a_refund_account() {
    let app = spawn_app().await;
    let f = app.store().await;
    let u = app.umbrella(f.store).await;
    let (c, _) = app.user().await;
    app.rent(&c, u, f.store).await;
    problem(
        app.post(
            &c,
            "/api/rentals/current/return",
            json!({"store_id": f.store}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    // The saved account is used when none is given.
    app.put(&c, "/api/me/bank-account", refund()).await;
    json_ok(
        app.post(
            &c,
            "/api/rentals/current/return",
            json!({"store_id": f.store}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
}

#[tokio::test]
async fn a_locker_store_issues_hotp_passwords_at_most_once_a_minute() {
    let app = spawn_app().await;
    let f = app.store().await;
    with_locker(&app, f.store).await;
    let u1 = app.umbrella(f.store).await;
    let u2 = app.umbrella(f.store).await;
    let (a, _) = app.user().await;
    let (b, _) = app.user().await;
    let rent = app.rent(&a, u1, f.store).await;
    assert_eq!(rent["locker_password"], locker_password(0));
    let r = app
        .post(
            &b,
            "/api/rentals",
            json!({"umbrella_id": u2, "store_id": f.store}),
        )
        .await;
    let retry_after: u64 = r.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry_after));
    problem(r, StatusCode::TOO_MANY_REQUESTS).await;
    let (rentable,): (bool,) = sqlx::query_as("SELECT rentable FROM umbrellas WHERE id = $1")
        .bind(u2)
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert!(rentable, "a refused rent changes nothing");
    // A minute later (moved back in the database rather than waited for) the next
    // password uses the next counter.
    sqlx::query("UPDATE lockers SET last_access = now() - interval '61 seconds'")
        .execute(&app.db)
        .await
        .unwrap();
    let rent = app.rent(&b, u2, f.store).await;
    assert_eq!(rent["locker_password"], locker_password(1));
}

#[tokio::test]
async fn admins_resync_a_locker_counter() {
    let app = spawn_app().await;
    let f = app.store().await;
    with_locker(&app, f.store).await;
    let u = app.umbrella(f.store).await;
    let (admin, _) = app.admin().await;
    let lockers = json_ok(app.get(&admin, "/api/admin/lockers").await, StatusCode::OK).await;
    let id = lockers[0]["id"].as_i64().unwrap();
    let l = json_ok(
        app.put(
            &admin,
            &format!("/api/admin/lockers/{id}/counter"),
            json!({"counter": 41}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(l["counter"], 41);
    let (c, _) = app.user().await;
    let rent = app.rent(&c, u, f.store).await;
    assert_eq!(rent["locker_password"], locker_password(41));
    problem(
        app.put(
            &admin,
            &format!("/api/admin/lockers/{id}/counter"),
            json!({"counter": -1}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
}

#[tokio::test]
async fn returns_at_a_locker_store_must_carry_a_valid_signature() {
    let app = spawn_app().await;
    let f = app.store().await;
    let locker_store = app.store_in(f.region).await;
    with_locker(&app, locker_store).await;
    let u = app.umbrella(f.store).await;
    let (c, _) = app.user().await;
    app.rent(&c, u, f.store).await;
    let salt = "a1b2c3";
    let good = was::domain::locker::signature(SECRET, salt);
    let form = format!("/api/stores/{locker_store}/return-form");
    problem(app.get(&c, &form).await, StatusCode::BAD_REQUEST).await;
    problem(
        app.get(
            &c,
            &format!("{form}?salt={salt}&signature={}", "0".repeat(64)),
        )
        .await,
        StatusCode::FORBIDDEN,
    )
    .await;
    let ok = json_ok(
        app.get(&c, &format!("{form}?salt={salt}&signature={good}"))
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(ok["has_locker"], true);

    // The return itself checks too: a forged return is refused and changes nothing.
    problem(
        app.post(&c, "/api/rentals/current/return", return_body(locker_store))
            .await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    let mut forged = return_body(locker_store);
    forged["salt"] = json!(salt);
    forged["signature"] = json!("F".repeat(64));
    problem(
        app.post(&c, "/api/rentals/current/return", forged).await,
        StatusCode::FORBIDDEN,
    )
    .await;
    let open: i64 = sqlx::query_scalar("SELECT count(*) FROM rentals WHERE returned_at IS NULL")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(open, 1);
    let mut real = return_body(locker_store);
    real["salt"] = json!(salt);
    real["signature"] = json!(good);
    json_ok(
        app.post(&c, "/api/rentals/current/return", real).await,
        StatusCode::OK,
    )
    .await;
}
