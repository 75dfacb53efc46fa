//! Accounts their owners control: verified e-mail, password change and reset through the
//! mail catcher, sessions ended by a password change, re-authentication before refund
//! changes, and login limits that a stranger cannot turn against the owner.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::*;

mod guessing;

async fn sign_up_as(app: &TestApp, client: &reqwest::Client, email: &str) -> i64 {
    json_ok(
        app.post(client, "/api/auth/signup", signup_form(email))
            .await,
        StatusCode::CREATED,
    )
    .await["id"]
        .as_i64()
        .expect("id")
}

fn unique(prefix: &str) -> String {
    format!("{prefix}-{}@example.com", uuid::Uuid::new_v4().simple())
}

async fn login(
    app: &TestApp,
    client: &reqwest::Client,
    email: &str,
    password: &str,
) -> reqwest::Response {
    app.post(
        client,
        "/api/auth/login",
        json!({"email": email, "password": password}),
    )
    .await
}

#[tokio::test]
async fn sign_up_sends_a_link_that_verifies_the_address_once() {
    let app = spawn_app_with_mail(&[]).await;
    let c = app.client();
    let email = unique("verify");
    sign_up_as(&app, &c, &email).await;
    let me = json_ok(app.get(&c, "/api/me").await, StatusCode::OK).await;
    assert_eq!(me["email_verified"], false);
    assert_eq!(me["has_password"], true);

    let mail = wait_for_mail(&email, "이메일 주소를 확인해 주세요", 1).await;
    assert!(
        mail["text"]
            .as_str()
            .unwrap()
            .contains("http://upbrella.test/verify-email#t=")
    );
    assert!(
        mail["html"]
            .as_str()
            .unwrap()
            .contains("이메일 주소 확인하기")
    );
    assert_eq!(mail["from"][0]["address"], "no-reply@upbrella.test");
    let token = token_in(&mail);

    // The link works from any device, without a session.
    let r = app
        .post(
            &app.client(),
            "/api/auth/email/confirm",
            json!({"token": token}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let me = json_ok(app.get(&c, "/api/me").await, StatusCode::OK).await;
    assert_eq!(me["email_verified"], true);
    // Once only; a made-up token gets the same answer.
    for t in [token.as_str(), &"ab".repeat(32)] {
        let p = problem(
            app.post(
                &app.client(),
                "/api/auth/email/confirm",
                json!({"token": t}),
            )
            .await,
            StatusCode::BAD_REQUEST,
        )
        .await;
        assert_eq!(p["code"], "invalid_link");
    }
    let p = problem(
        app.post(&c, "/api/me/email/verification", json!({})).await,
        StatusCode::CONFLICT,
    )
    .await;
    assert_eq!(p["code"], "already_verified");
    // Only the token's hash is stored.
    let stored: Vec<u8> = sqlx::query_scalar("SELECT token_hash FROM account_tokens LIMIT 1")
        .fetch_one(&app.db)
        .await
        .expect("token row");
    assert_ne!(stored, token.as_bytes());
}

#[tokio::test]
async fn a_verification_link_expires() {
    let app = spawn_app_with_mail(&[("EMAIL_VERIFY_TTL", "1s")]).await;
    let c = app.client();
    let email = unique("expire");
    sign_up_as(&app, &c, &email).await;
    let token = token_in(&wait_for_mail(&email, "확인해 주세요", 1).await);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let p = problem(
        app.post(&c, "/api/auth/email/confirm", json!({"token": token}))
            .await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert_eq!(p["code"], "invalid_link");
    // A new link can be asked for.
    assert_eq!(
        app.post(&c, "/api/me/email/verification", json!({}))
            .await
            .status(),
        StatusCode::ACCEPTED
    );
    let token = token_in(&wait_for_mail(&email, "확인해 주세요", 2).await);
    assert_eq!(
        app.post(&c, "/api/auth/email/confirm", json!({"token": token}))
            .await
            .status(),
        StatusCode::NO_CONTENT
    );
}

#[tokio::test]
async fn a_password_change_ends_every_other_session_and_keeps_this_one() {
    let app = spawn_app_with_mail(&[]).await;
    let email = unique("change");
    let phone = app.client();
    sign_up_as(&app, &phone, &email).await;
    let laptop = app.client();
    json_ok(
        login(&app, &laptop, &email, "password123").await,
        StatusCode::OK,
    )
    .await;
    let stolen = app.client();
    json_ok(
        login(&app, &stolen, &email, "password123").await,
        StatusCode::OK,
    )
    .await;

    let p = problem(
        app.put(
            &phone,
            "/api/me/password",
            json!({"current_password": "not-it-at-all", "new_password": "a new password 42"}),
        )
        .await,
        StatusCode::UNAUTHORIZED,
    )
    .await;
    assert_eq!(p["code"], "bad_credentials");
    let p = problem(
        app.put(
            &phone,
            "/api/me/password",
            json!({"current_password": "password123", "new_password": "short"}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert!(p["detail"].as_str().unwrap().contains("비밀번호"), "{p}");

    let r = app
        .put(
            &phone,
            "/api/me/password",
            json!({"current_password": "password123", "new_password": "a new password 42"}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    // This device continues; the others are logged out at their next request.
    json_ok(app.get(&phone, "/api/me").await, StatusCode::OK).await;
    problem(app.get(&laptop, "/api/me").await, StatusCode::UNAUTHORIZED).await;
    problem(app.get(&stolen, "/api/me").await, StatusCode::UNAUTHORIZED).await;
    // The old password is gone, the new one works.
    problem(
        login(&app, &app.client(), &email, "password123").await,
        StatusCode::UNAUTHORIZED,
    )
    .await;
    json_ok(
        login(&app, &app.client(), &email, "a new password 42").await,
        StatusCode::OK,
    )
    .await;
    // The owner hears about it, with a way back in if it was not them.
    let notice = wait_for_mail(&email, "비밀번호가 바뀌었습니다", 1).await;
    assert!(
        notice["text"]
            .as_str()
            .unwrap()
            .contains("http://upbrella.test/forgot-password")
    );
}

#[tokio::test]
async fn log_out_everywhere_ends_every_session() {
    let app = spawn_app().await;
    let (a, _) = app.user().await;
    let email: String = sqlx::query_scalar("SELECT email FROM users ORDER BY id DESC LIMIT 1")
        .fetch_one(&app.db)
        .await
        .expect("email");
    let b = app.client();
    json_ok(login(&app, &b, &email, "password123").await, StatusCode::OK).await;
    assert_eq!(
        app.post(&a, "/api/auth/logout-everywhere", json!({}))
            .await
            .status(),
        StatusCode::NO_CONTENT
    );
    problem(app.get(&a, "/api/me").await, StatusCode::UNAUTHORIZED).await;
    problem(app.get(&b, "/api/me").await, StatusCode::UNAUTHORIZED).await;
    json_ok(
        login(&app, &app.client(), &email, "password123").await,
        StatusCode::OK,
    )
    .await;
}

#[tokio::test]
async fn a_reset_link_sets_a_new_password_once_and_ends_every_session() {
    let app = spawn_app_with_mail(&[]).await;
    let email = unique("reset");
    let old_session = app.client();
    sign_up_as(&app, &old_session, &email).await;

    // The same answer whether or not the address has an account.
    let nobody = unique("nobody");
    for address in [email.as_str(), nobody.as_str()] {
        let r = app
            .post(
                &app.client(),
                "/api/auth/password-reset",
                json!({"email": address}),
            )
            .await;
        assert_eq!(r.status(), StatusCode::ACCEPTED);
        assert_eq!(r.text().await.expect("body"), "");
    }
    let mail = wait_for_mail(&email, "비밀번호 재설정", 1).await;
    assert!(
        mail["text"]
            .as_str()
            .unwrap()
            .contains("http://upbrella.test/reset-password#t=")
    );
    let token = token_in(&mail);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        mails_to(&nobody).await.is_empty(),
        "no mail to an address without an account"
    );

    // A too-short password does not spend the link.
    problem(
        app.post(
            &app.client(),
            "/api/auth/password-reset/confirm",
            json!({"token": token, "password": "short"}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    let r = app
        .post(
            &app.client(),
            "/api/auth/password-reset/confirm",
            json!({"token": token, "password": "brand new secret"}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let p = problem(
        app.post(
            &app.client(),
            "/api/auth/password-reset/confirm",
            json!({"token": token, "password": "attacker's choice"}),
        )
        .await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert_eq!(p["code"], "invalid_link");
    problem(
        app.get(&old_session, "/api/me").await,
        StatusCode::UNAUTHORIZED,
    )
    .await;
    json_ok(
        login(&app, &app.client(), &email, "brand new secret").await,
        StatusCode::OK,
    )
    .await;
    // Reading the mail proved the address too.
    let verified: bool = sqlx::query_scalar(
        "SELECT email_verified_at IS NOT NULL FROM users WHERE lower(email) = lower($1)",
    )
    .bind(&email)
    .fetch_one(&app.db)
    .await
    .expect("user");
    assert!(verified);
}

#[tokio::test]
async fn reset_links_expire() {
    let app = spawn_app_with_mail(&[("PASSWORD_RESET_TTL", "1s")]).await;
    let email = unique("reset-ttl");
    sign_up_as(&app, &app.client(), &email).await;
    app.post(
        &app.client(),
        "/api/auth/password-reset",
        json!({"email": email}),
    )
    .await;
    let first = token_in(&wait_for_mail(&email, "비밀번호 재설정", 1).await);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let p = problem(
        app.post(
            &app.client(),
            "/api/auth/password-reset/confirm",
            json!({"token": first, "password": "too late for this"}),
        )
        .await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert_eq!(p["code"], "invalid_link");
}

#[tokio::test]
async fn reset_requests_are_limited_without_telling_whether_the_account_exists() {
    let app = spawn_app_with_mail(&[
        ("RATE_LIMIT_MAIL_PER_ACCOUNT", "2/1h"),
        ("RATE_LIMIT_MAIL_PER_ADDRESS", "6/1h"),
    ])
    .await;
    let email = unique("reset-limit");
    sign_up_as(&app, &app.client(), &email).await;
    // The sign-up's verification mail counts as nothing here: only resets below.
    let mut statuses = Vec::new();
    for _ in 0..4 {
        statuses.push(
            app.post(
                &app.client(),
                "/api/auth/password-reset",
                json!({"email": email}),
            )
            .await
            .status()
            .as_u16(),
        );
    }
    assert_eq!(statuses, [202, 202, 202, 202], "the answer never changes");
    tokio::time::sleep(Duration::from_millis(500)).await;
    let resets = mails_to(&email)
        .await
        .into_iter()
        .filter(|m| m["subject"].as_str().is_some_and(|s| s.contains("재설정")))
        .count();
    assert_eq!(resets, 2, "the account's allowance");
    // The address's own limit is a plain 429.
    for _ in 0..2 {
        app.post(
            &app.client(),
            "/api/auth/password-reset",
            json!({"email": unique("x")}),
        )
        .await;
    }
    let r = app
        .post(
            &app.client(),
            "/api/auth/password-reset",
            json!({"email": email}),
        )
        .await;
    problem(r, StatusCode::TOO_MANY_REQUESTS).await;
}

#[tokio::test]
async fn changing_the_refund_account_needs_a_recent_password() {
    let app = spawn_app_with(&[("REAUTH_WINDOW", "1s")]).await;
    let (c, _) = app.user().await;
    let account = json!({"bank_name": "신한", "account_number": "110-123-456789"});
    // Just logged in: fresh enough.
    json_ok(
        app.put(&c, "/api/me/bank-account", account.clone()).await,
        StatusCode::OK,
    )
    .await;
    tokio::time::sleep(Duration::from_millis(2100)).await;
    // A day-old cookie in a thief's hands cannot redirect refunds.
    let p = problem(
        app.put(
            &c,
            "/api/me/bank-account",
            json!({"bank_name": "국민", "account_number": "999-999-999999"}),
        )
        .await,
        StatusCode::UNAUTHORIZED,
    )
    .await;
    assert_eq!(p["code"], "reauth_required");
    assert!(p["detail"].as_str().unwrap().contains("비밀번호"));
    let p = problem(
        app.post(&c, "/api/auth/reauth", json!({"password": "guess-guess"}))
            .await,
        StatusCode::UNAUTHORIZED,
    )
    .await;
    assert_eq!(p["code"], "bad_credentials");
    assert_eq!(
        app.post(&c, "/api/auth/reauth", json!({"password": "password123"}))
            .await
            .status(),
        StatusCode::NO_CONTENT
    );
    let me = json_ok(
        app.put(
            &c,
            "/api/me/bank-account",
            json!({"bank_name": "국민", "account_number": "999-999-999999"}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(me["bank"]["bank_name"], "국민");
    // The e-mail address likewise.
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let p = problem(
        app.put(&c, "/api/me/email", json!({"email": unique("new")}))
            .await,
        StatusCode::UNAUTHORIZED,
    )
    .await;
    assert_eq!(p["code"], "reauth_required");
}

#[tokio::test]
async fn a_new_address_takes_effect_only_from_the_link_sent_to_it() {
    let app = spawn_app_with_mail(&[]).await;
    let c = app.client();
    let old = unique("old");
    sign_up_as(&app, &c, &old).await;
    let new = unique("new");
    assert_eq!(
        app.put(&c, "/api/me/email", json!({"email": new}))
            .await
            .status(),
        StatusCode::ACCEPTED
    );
    // Nothing changed yet.
    let me = json_ok(app.get(&c, "/api/me").await, StatusCode::OK).await;
    assert_eq!(me["email"], old.as_str());
    let token = token_in(&wait_for_mail(&new, "새 이메일 주소를 확인해 주세요", 1).await);
    assert_eq!(
        app.post(
            &app.client(),
            "/api/auth/email/confirm",
            json!({"token": token})
        )
        .await
        .status(),
        StatusCode::NO_CONTENT
    );
    let me = json_ok(app.get(&c, "/api/me").await, StatusCode::OK).await;
    assert_eq!(me["email"], new.as_str());
    assert_eq!(me["email_verified"], true);
    let notice = wait_for_mail(&old, "이메일 주소가 바뀌었습니다", 1).await;
    assert!(notice["text"].as_str().unwrap().contains(&new));
    json_ok(
        login(&app, &app.client(), &new, "password123").await,
        StatusCode::OK,
    )
    .await;
    problem(
        login(&app, &app.client(), &old, "password123").await,
        StatusCode::UNAUTHORIZED,
    )
    .await;
    // A taken address is refused up front.
    let other = unique("other");
    sign_up_as(&app, &app.client(), &other).await;
    let p = problem(
        app.put(&c, "/api/me/email", json!({"email": other})).await,
        StatusCode::CONFLICT,
    )
    .await;
    assert_eq!(p["code"], "email_taken");
}
