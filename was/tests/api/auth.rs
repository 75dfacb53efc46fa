use std::time::Duration;

use fred::prelude::{ClientLike, KeysInterface};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::*;

#[tokio::test]
async fn sign_up_logs_in_and_me_returns_the_profile_without_secrets() {
    let app = spawn_app().await;
    let c = app.client();
    let r = app
        .post(&c, "/api/auth/signup", signup_form("Kim@Example.com"))
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let me = json_ok(app.get(&c, "/api/me").await, StatusCode::OK).await;
    assert_eq!(me["email"], "kim@example.com");
    assert_eq!(me["phone"], "01012345678");
    assert_eq!(me["is_admin"], false);
    assert!(me.get("password_hash").is_none());
}

#[tokio::test]
async fn sign_up_rejects_duplicates_and_invalid_fields() {
    let app = spawn_app().await;
    let c = app.client();
    let body = signup_form("dup@example.com");
    assert_eq!(
        app.post(&c, "/api/auth/signup", body.clone())
            .await
            .status(),
        StatusCode::CREATED
    );
    let mut upper = body.clone();
    upper["email"] = json!("DUP@example.com");
    problem(
        app.post(&app.client(), "/api/auth/signup", upper).await,
        StatusCode::CONFLICT,
    )
    .await;
    for (field, value) in [
        ("email", "not-an-email"),
        ("password", "short"),
        ("phone", "02-123-4567"),
        ("name", ""),
    ] {
        let mut b = body.clone();
        b["email"] = json!(format!("{}@example.com", uuid::Uuid::new_v4().simple()));
        b[field] = json!(value);
        let p = problem(
            app.post(&app.client(), "/api/auth/signup", b).await,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
        assert!(!p["detail"].as_str().unwrap().is_empty(), "{field}");
    }
    // Both agreements are required, and their time is kept.
    for missing in ["agree_terms", "agree_privacy"] {
        let mut b = body.clone();
        b["email"] = json!(format!("{}@example.com", uuid::Uuid::new_v4().simple()));
        b[missing] = json!(false);
        let p = problem(
            app.post(&app.client(), "/api/auth/signup", b).await,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
        assert_eq!(p["code"], "consent_required", "{missing}");
    }
    let agreed: bool = sqlx::query_scalar(
        "SELECT terms_agreed_at IS NOT NULL AND privacy_agreed_at IS NOT NULL FROM users WHERE email = 'dup@example.com'",
    )
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert!(agreed);
}

#[tokio::test]
async fn malformed_requests_get_clear_problems() {
    let app = spawn_app().await;
    let c = app.client();
    let url = app.url("/api/auth/login");
    let r = c
        .post(&url)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    problem(r, StatusCode::BAD_REQUEST).await;
    let r = c.post(&url).body("email=a").send().await.unwrap();
    problem(r, StatusCode::UNSUPPORTED_MEDIA_TYPE).await;
    let r = c
        .post(&url)
        .json(&json!({"email": 5}))
        .send()
        .await
        .unwrap();
    problem(r, StatusCode::UNPROCESSABLE_ENTITY).await;
    let r = c
        .post(&url)
        .header("content-type", "application/json")
        .body(vec![b' '; 200 * 1024])
        .send()
        .await
        .unwrap();
    problem(r, StatusCode::PAYLOAD_TOO_LARGE).await;
    problem(
        app.get(&c, "/api/stores/abc").await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    problem(
        app.get(&c, "/api/no/such/route").await,
        StatusCode::NOT_FOUND,
    )
    .await;
    let r = c.delete(app.url("/api/regions")).send().await.unwrap();
    problem(r, StatusCode::METHOD_NOT_ALLOWED).await;
}

#[tokio::test]
async fn login_checks_the_password_and_rotates_the_session_id() {
    let app = spawn_app().await;
    let c = app.client();
    let r = app
        .post(&c, "/api/auth/signup", signup_form("rot@example.com"))
        .await;
    let first = session_cookie(r.headers()).expect("cookie at sign-up");
    problem(
        app.post(
            &c,
            "/api/auth/login",
            json!({"email": "rot@example.com", "password": "wrong-password"}),
        )
        .await,
        StatusCode::UNAUTHORIZED,
    )
    .await;
    problem(
        app.post(
            &c,
            "/api/auth/login",
            json!({"email": "nobody@example.com", "password": "password123"}),
        )
        .await,
        StatusCode::UNAUTHORIZED,
    )
    .await;
    let r = app
        .post(
            &c,
            "/api/auth/login",
            json!({"email": "rot@example.com", "password": "password123"}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let second = session_cookie(r.headers()).expect("cookie at login");
    let id = |c: &str| c.split(';').next().unwrap().to_owned();
    assert_ne!(id(&first), id(&second), "login must issue a new session id");
    // The old id is dead.
    let old = app.client();
    let r = old
        .get(app.url("/api/me"))
        .header("cookie", id(&first))
        .send()
        .await
        .unwrap();
    problem(r, StatusCode::UNAUTHORIZED).await;
}

#[tokio::test]
async fn session_cookie_is_http_only_lax_and_secure_only_when_configured() {
    let app = spawn_app().await;
    let r = app
        .post(
            &app.client(),
            "/api/auth/signup",
            signup_form("c@example.com"),
        )
        .await;
    let cookie = session_cookie(r.headers()).unwrap();
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    assert!(cookie.contains("SameSite=Lax"), "{cookie}");
    assert!(!cookie.contains("Secure"), "{cookie}");
    // A renter's session: 30 days on their own phone (operators': 30 minutes).
    assert!(cookie.contains("Max-Age=2592000"), "{cookie}");

    let secure = spawn_app_with(&[("SESSION_COOKIE_SECURE", "true")]).await;
    let r = secure
        .post(
            &secure.client(),
            "/api/auth/signup",
            signup_form("s@example.com"),
        )
        .await;
    let cookie = r
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("__Host-upbrella_sid="))
        .expect("a Secure session cookie carries the __Host- prefix")
        .to_owned();
    assert!(cookie.contains("Secure"), "{cookie}");
    assert!(cookie.contains("Path=/"), "{cookie}");
    assert!(!cookie.contains("Domain"), "{cookie}");
}

#[tokio::test]
async fn logout_deletes_the_session_in_redis() {
    let app = spawn_app().await;
    let c = app.client();
    let r = app
        .post(&c, "/api/auth/signup", signup_form("out@example.com"))
        .await;
    let cookie = session_cookie(r.headers()).unwrap();
    let sid = cookie
        .split(';')
        .next()
        .unwrap()
        .trim_start_matches("upbrella_sid=")
        .to_owned();
    let redis = fred::clients::Client::new(
        fred::prelude::Config::from_url(&app.redis_url).unwrap(),
        None,
        None,
        None,
    );
    redis.init().await.unwrap();
    let stored: Option<Vec<u8>> = redis.get(&sid).await.unwrap();
    let stored = stored.expect("the session is in Redis");
    let text = String::from_utf8_lossy(&stored);
    assert!(
        !text.contains("out@example.com") && !text.contains("김"),
        "only ids live in the session"
    );
    assert_eq!(
        app.post(&c, "/api/auth/logout", json!({})).await.status(),
        StatusCode::NO_CONTENT
    );
    let gone: Option<Vec<u8>> = redis.get(&sid).await.unwrap();
    assert!(gone.is_none(), "logout deletes the session in Redis");
    problem(app.get(&c, "/api/me").await, StatusCode::UNAUTHORIZED).await;
}

#[tokio::test]
async fn an_idle_session_expires_and_an_active_one_does_not() {
    let app = spawn_app_with(&[("RENTER_SESSION_IDLE_TIMEOUT", "3s")]).await;
    let (active, _) = app.user().await;
    let (idle, _) = app.user().await;
    for _ in 0..5 {
        tokio::time::sleep(Duration::from_millis(900)).await;
        assert_eq!(
            app.get(&active, "/api/me").await.status(),
            StatusCode::OK,
            "activity keeps the session"
        );
    }
    // 4.5 s without a request: longer than the 3 s idle timeout.
    problem(app.get(&idle, "/api/me").await, StatusCode::UNAUTHORIZED).await;
}

#[tokio::test]
async fn anonymous_calls_to_user_endpoints_are_401() {
    let app = spawn_app().await;
    let c = app.client();
    for path in [
        "/api/me",
        "/api/me/rental",
        "/api/me/rentals",
        "/api/umbrellas/1/rent-form",
        "/api/stores/1/return-form",
    ] {
        problem(app.get(&c, path).await, StatusCode::UNAUTHORIZED).await;
    }
    problem(
        app.post(&c, "/api/rentals", json!({"umbrella_id": 1, "store_id": 1}))
            .await,
        StatusCode::UNAUTHORIZED,
    )
    .await;
    problem(
        app.post(&c, "/api/rentals/current/return", json!({"store_id": 1}))
            .await,
        StatusCode::UNAUTHORIZED,
    )
    .await;
}

#[tokio::test]
async fn cross_site_state_changes_are_refused() {
    let app = spawn_app().await;
    let c = app.client();
    let body = json!({"email": "x@example.com", "password": "password123"});
    let r = c
        .post(app.url("/api/auth/login"))
        .header("origin", "https://evil.example")
        .json(&body)
        .send()
        .await
        .unwrap();
    problem(r, StatusCode::FORBIDDEN).await;
    let r = c
        .post(app.url("/api/auth/login"))
        .header("sec-fetch-site", "cross-site")
        .json(&body)
        .send()
        .await
        .unwrap();
    problem(r, StatusCode::FORBIDDEN).await;
    // Same origin passes the check (and then fails on the credentials).
    let r = c
        .post(app.url("/api/auth/login"))
        .header("origin", app.base.clone())
        .header("sec-fetch-site", "same-origin")
        .json(&body)
        .send()
        .await
        .unwrap();
    problem(r, StatusCode::UNAUTHORIZED).await;
    // Reads are never blocked.
    let r = c
        .get(app.url("/api/regions"))
        .header("sec-fetch-site", "cross-site")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
}

#[tokio::test]
async fn bank_account_is_encrypted_at_rest_and_masked_in_views() {
    let app = spawn_app().await;
    let (c, id) = app.user().await;
    let me = json_ok(
        app.put(
            &c,
            "/api/me/bank-account",
            json!({"bank_name": "신한", "account_number": "110-123-456789"}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(me["bank"]["account_number"], "***-***-**6789");
    let stored: Vec<u8> = sqlx::query_scalar("SELECT bank_account FROM users WHERE id = $1")
        .bind(id)
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert!(
        !String::from_utf8_lossy(&stored).contains("456789"),
        "no plaintext in the database"
    );
    problem(
        app.put(
            &c,
            "/api/me/bank-account",
            json!({"bank_name": "신한", "account_number": "12"}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(
        app.delete(&c, "/api/me/bank-account").await.status(),
        StatusCode::NO_CONTENT
    );
    let me: Value = json_ok(app.get(&c, "/api/me").await, StatusCode::OK).await;
    assert!(me["bank"].is_null());
}

#[tokio::test]
async fn leaving_anonymises_the_account_and_ends_the_session() {
    let app = spawn_app().await;
    let (c, id) = app.user().await;
    assert_eq!(
        app.delete(&c, "/api/me").await.status(),
        StatusCode::NO_CONTENT
    );
    problem(app.get(&c, "/api/me").await, StatusCode::UNAUTHORIZED).await;
    let (email, status, name): (Option<String>, String, String) =
        sqlx::query_as("SELECT email, status, name FROM users WHERE id = $1")
            .bind(id)
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!(email, None);
    assert_eq!(status, "left");
    assert_ne!(name, "김우산");
}
