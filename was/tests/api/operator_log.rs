//! The operator action log: every change an operator makes is there with who, when and
//! from where; it survives the operator leaving; nobody can rewrite it; the full read of
//! a refund account is a logged, uncached POST.

use reqwest::StatusCode;
use serde_json::{Value, json};
use sqlx::PgPool;

use crate::helpers::*;

async fn log(app: &TestApp, admin: &reqwest::Client, query: &str) -> Vec<Value> {
    json_ok(
        app.get(admin, &format!("/api/admin/actions{query}")).await,
        StatusCode::OK,
    )
    .await
    .as_array()
    .unwrap()
    .clone()
}

#[tokio::test]
async fn every_operator_change_is_logged_with_who_when_and_where() {
    let app = spawn_app().await;
    let (admin, admin_id) = app.admin().await;
    let email: String = sqlx::query_scalar("SELECT email FROM users WHERE id = $1")
        .bind(admin_id)
        .fetch_one(&app.db)
        .await
        .unwrap();
    let f = app.store().await;
    let u = app.umbrella(f.store).await;
    let (renter, renter_id) = app.user().await;
    let rental = app.rent_id(&renter, u, f.store).await;
    json_ok(
        app.post(
            &admin,
            &format!("/api/admin/rentals/{rental}/deposit"),
            json!({"operation": "confirm_payment"}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    json_ok(
        app.put(
            &admin,
            &format!("/api/admin/umbrellas/{u}/missed"),
            json!({"missed": false}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    json_ok(
        app.post(&admin, "/api/admin/lockers", json!({"store_id": f.store}))
            .await,
        StatusCode::CREATED,
    )
    .await;
    json_ok(
        app.put(
            &admin,
            &format!("/api/admin/stores/{}/activation", f.store),
            json!({"activated": false}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    app.verify_email(renter_id).await;
    json_ok(
        app.patch(
            &admin,
            &format!("/api/admin/users/{renter_id}"),
            json!({"role": "admin"}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    let entries = log(&app, &admin, "").await;
    let actions: Vec<&str> = entries
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        [
            "user.set_role",
            "store.set_activation",
            "locker.install",
            "umbrella.set_missed",
            "deposit.confirm_payment"
        ]
    );
    for e in &entries {
        assert_eq!(e["actor_id"], admin_id);
        assert_eq!(e["actor_email"], email.as_str());
        assert_eq!(e["address"], "127.0.0.1");
        assert!(e["at"].is_string());
    }
    assert_eq!(
        entries[4]["details"],
        json!({"from": "awaiting_payment", "to": "paid", "amount": 10_000, "note": null})
    );
    assert!(
        entries[2]["details"].get("secret").is_none(),
        "a locker's secret never reaches the log"
    );
    // Filters.
    let rights = log(
        &app,
        &admin,
        &format!("?target_kind=user&target_id={renter_id}"),
    )
    .await;
    assert_eq!(rights.len(), 1);
    assert_eq!(
        log(&app, &admin, "?action=deposit.confirm_payment")
            .await
            .len(),
        1
    );
    assert_eq!(log(&app, &admin, "?actor_id=999999").await.len(), 0);
    // A filter that names no action (a NUL, which PostgreSQL cannot hold) is malformed.
    problem(
        app.get(&admin, "/api/admin/actions?action=deposit%00")
            .await,
        StatusCode::BAD_REQUEST,
    )
    .await;

    // The operator leaves: the entries still name them.
    assert_eq!(
        app.delete(&admin, "/api/me").await.status(),
        StatusCode::NO_CONTENT
    );
    let (other, _) = app.admin().await;
    let after = log(&app, &other, "?action=deposit.confirm_payment").await;
    assert_eq!(after[0]["actor_email"], email.as_str());
    assert_eq!(after[0]["actor_name"], "김우산");
}

#[tokio::test]
async fn the_log_and_the_ledger_cannot_be_rewritten_by_the_app_role_or_the_owner() {
    let app = spawn_app().await;
    let (admin, _) = app.admin().await;
    let f = app.store().await;
    let u = app.umbrella(f.store).await;
    let (renter, _) = app.user().await;
    let rental = app.rent_id(&renter, u, f.store).await;
    json_ok(
        app.post(
            &admin,
            &format!("/api/admin/rentals/{rental}/deposit"),
            json!({"operation": "confirm_payment"}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    let app_role = PgPool::connect(&as_role(
        &app.database_url,
        APP_ROLE,
        Some(APP_ROLE_PASSWORD),
    ))
    .await
    .unwrap();
    for table in ["operator_actions", "deposit_events"] {
        for statement in [
            format!("UPDATE {table} SET at = now() - interval '1 year'"),
            format!("DELETE FROM {table}"),
            format!("TRUNCATE {table}"),
        ] {
            // The app's role: no privilege at all. It is refused before the trigger runs
            // (which raises the same SQLSTATE), so the message tells the two apart.
            let e = sqlx::query(&statement)
                .execute(&app_role)
                .await
                .unwrap_err();
            let code = e.as_database_error().and_then(|d| d.code()).unwrap();
            assert_eq!(code, "42501", "{statement} as the app role: {e}");
            assert!(
                e.to_string().contains("permission denied for table"),
                "{statement} as the app role: {e}"
            );
            // The owner: the trigger refuses.
            let e = sqlx::query(&statement).execute(&app.db).await.unwrap_err();
            assert!(
                e.to_string().contains("append-only"),
                "{statement} as the owner: {e}"
            );
        }
        // Appending and reading stay allowed to the app.
        let n: i64 = sqlx::query_scalar(&format!("SELECT count(*) FROM {table}"))
            .fetch_one(&app_role)
            .await
            .unwrap();
        assert_eq!(n, 1, "{table}");
    }
}

#[tokio::test]
async fn reading_an_account_in_full_is_a_logged_post_never_cached() {
    let app = spawn_app().await;
    let (admin, _) = app.admin().await;
    let f = app.store().await;
    let u = app.umbrella(f.store).await;
    let (renter, _) = app.user().await;
    let rental = app.rent_id(&renter, u, f.store).await;
    json_ok(
        app.post(
            &renter,
            "/api/rentals/current/return",
            json!({"store_id": f.store, "bank_name": "국민", "account_number": "123-456-789012"}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    let path = format!("/api/admin/rentals/{rental}/bank-account");
    // A GET (what a link or an image on another site makes a browser send) reads nothing.
    assert_eq!(
        app.get(&admin, &path).await.status(),
        StatusCode::METHOD_NOT_ALLOWED
    );
    // A cross-site POST is refused by the CSRF rule.
    let r = admin
        .post(app.url(&format!("{path}/reveal")))
        .header("sec-fetch-site", "cross-site")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert!(
        log(&app, &admin, "?action=bank_account.read")
            .await
            .is_empty()
    );
    let r = app.post(&admin, &format!("{path}/reveal"), json!({})).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["cache-control"], "no-store");
    let full: Value = r.json().await.unwrap();
    assert_eq!(full["account_number"], "123-456-789012");
    let reads = log(&app, &admin, "?action=bank_account.read").await;
    assert_eq!(reads.len(), 1);
    assert_eq!(reads[0]["target_id"], rental);
}
