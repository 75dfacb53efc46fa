//! What an attacker tries against the WAS directly: floods of password guesses and
//! sign-ups, forged client addresses, requests that skip web-proxy, cross-site forms,
//! old idempotent answers, moved ciphertexts. Each test checks the refusal and that
//! nothing happened behind it.

use std::time::{Duration, Instant};

use futures::future::join_all;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::*;

const SECRET: &str = "test-proxy-secret";

/// A client address nobody else in this run uses (from the benchmarking range
/// 198.18.0.0/15), so limits counted in the shared Redis do not meet.
fn fresh_address() -> String {
    let n = uuid::Uuid::new_v4().as_u128();
    format!(
        "198.{}.{}.{}",
        18 + (n % 2),
        (n >> 8) % 256,
        (n >> 16) % 254 + 1
    )
}

fn retry_after(r: &reqwest::Response) -> u64 {
    r.headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .expect("429 and 503 carry Retry-After in seconds")
}

async fn sign_up(app: &TestApp, email: &str) -> i64 {
    json_ok(
        app.post(&app.client(), "/api/auth/signup", signup_form(email))
            .await,
        StatusCode::CREATED,
    )
    .await["id"]
        .as_i64()
        .expect("id")
}

/// A request as web-proxy forwards it: with the shared secret and the client's address.
fn via_proxy(builder: reqwest::RequestBuilder, client_ip: &str) -> reqwest::RequestBuilder {
    builder
        .header("x-upbrella-proxy-secret", SECRET)
        .header("x-forwarded-for", client_ip)
}

#[tokio::test]
async fn limits_hold_across_replicas() {
    let deps = deps().await;
    let database = fresh_database(&deps.pg_base).await;
    let limit = [("RATE_LIMIT_LOGIN_FAILURES", "4/1m")];
    let a = spawn_on(&database, &deps.redis_url, &limit).await;
    let b = spawn_on(&database, &deps.redis_url, &limit).await;
    let email = format!("replicas-{}@example.com", uuid::Uuid::new_v4().simple());
    sign_up(&a, &email).await;
    let mut statuses = Vec::new();
    for replica in [&a, &b, &a, &b, &a, &b] {
        let r = replica
            .post(
                &replica.client(),
                "/api/auth/login",
                json!({"email": email, "password": "nope-nope"}),
            )
            .await;
        statuses.push(r.status().as_u16());
    }
    assert_eq!(statuses, [401, 401, 401, 401, 429, 429]);
}

#[tokio::test]
async fn with_the_proxy_secret_the_forwarded_client_address_is_what_counts() {
    let app = spawn_app_with(&[
        ("WAS_PROXY_SECRET", SECRET),
        ("RATE_LIMIT_SIGNUP_PER_ADDRESS", "2/1m"),
    ])
    .await;
    let client_a = fresh_address();
    let client_b = fresh_address();
    let signup = |ip: &str| {
        let email = format!("n{}@example.com", uuid::Uuid::new_v4().simple());
        via_proxy(app.client().post(app.url("/api/auth/signup")), ip)
            .json(&signup_form(email))
            .send()
    };
    assert_eq!(
        signup(&client_a).await.unwrap().status(),
        StatusCode::CREATED
    );
    assert_eq!(
        signup(&client_a).await.unwrap().status(),
        StatusCode::CREATED
    );
    let refused = signup(&client_a).await.unwrap();
    problem(refused, StatusCode::TOO_MANY_REQUESTS).await;
    // Another client behind the same proxy is not affected.
    assert_eq!(
        signup(&client_b).await.unwrap().status(),
        StatusCode::CREATED
    );
    let users: i64 = sqlx::query_scalar("SELECT count(*) FROM users")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(users, 3, "the refused sign-up created nothing");
}

#[tokio::test]
async fn with_a_proxy_secret_requests_that_skip_the_proxy_are_refused() {
    let app = spawn_app_with(&[("WAS_PROXY_SECRET", SECRET)]).await;
    let c = app.client();
    problem(app.get(&c, "/api/tags").await, StatusCode::FORBIDDEN).await;
    let wrong = c
        .get(app.url("/api/tags"))
        .header("x-upbrella-proxy-secret", "test-proxy-secreT")
        .send()
        .await
        .unwrap();
    problem(wrong, StatusCode::FORBIDDEN).await;
    let r = app
        .post(&c, "/api/auth/signup", signup_form("skip@example.com"))
        .await;
    problem(r, StatusCode::FORBIDDEN).await;
    let users: i64 = sqlx::query_scalar("SELECT count(*) FROM users")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(users, 0);
    // The load balancer's probes carry no secret and must keep working.
    assert_eq!(app.get(&c, "/health").await.status(), StatusCode::OK);
    assert_eq!(app.get(&c, "/ready").await.status(), StatusCode::OK);
    let ok = via_proxy(c.get(app.url("/api/tags")), &fresh_address())
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), StatusCode::OK);
}

/// The proxy secret's rotation (README, "Rotating credentials"): while the WAS holds the
/// current and the rotating secret, web-proxy replicas sending either get through, so
/// web-proxy can roll in any order; anything else is still refused. Afterwards only the
/// new one counts.
#[tokio::test]
async fn during_a_proxy_secret_rotation_both_secrets_pass_and_nothing_else() {
    const NEXT: &str = "the-next-proxy-secret-0123456789";
    let during = spawn_app_with(&[
        ("WAS_PROXY_SECRET", SECRET),
        ("WAS_PROXY_SECRET_ROTATING", NEXT),
    ])
    .await;
    let after = spawn_app_with(&[("WAS_PROXY_SECRET", NEXT)]).await;
    let status = |app: &TestApp, secret: &'static str| {
        let request = app
            .client()
            .get(app.url("/api/tags"))
            .header("x-upbrella-proxy-secret", secret);
        async move { request.send().await.unwrap().status() }
    };
    assert_eq!(status(&during, SECRET).await, StatusCode::OK);
    assert_eq!(status(&during, NEXT).await, StatusCode::OK);
    for wrong in [&NEXT[..NEXT.len() - 1], "", "test-proxy-secreT"] {
        let wrong: &'static str = Box::leak(wrong.to_owned().into_boxed_str());
        assert_eq!(
            status(&during, wrong).await,
            StatusCode::FORBIDDEN,
            "{wrong:?}"
        );
    }
    assert_eq!(status(&after, NEXT).await, StatusCode::OK);
    assert_eq!(status(&after, SECRET).await, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn without_the_secret_a_forged_forwarded_for_is_ignored() {
    // No proxy secret configured: X-Forwarded-For is the client's own words, so the
    // limit counts the real peer (127.0.0.1) however the header varies.
    let app = spawn_app_with(&[("RATE_LIMIT_LOGIN_PER_ADDRESS", "3/1m")]).await;
    let mut statuses = Vec::new();
    for _ in 0..4 {
        let r = app
            .client()
            .post(app.url("/api/auth/login"))
            .header("x-forwarded-for", fresh_address())
            .json(&json!({"email": "nobody@example.com", "password": "whatever1"}))
            .send()
            .await
            .unwrap();
        statuses.push(r.status().as_u16());
    }
    assert_eq!(statuses, [401, 401, 401, 429]);
}

#[tokio::test]
async fn kakao_callbacks_are_limited_per_address() {
    let app = spawn_app_with(&[
        ("WAS_PROXY_SECRET", SECRET),
        ("RATE_LIMIT_KAKAO_PER_ADDRESS", "2/1m"),
        ("KAKAO_CLIENT_ID", "test-client"),
        (
            "KAKAO_REDIRECT_URI",
            "http://localhost/api/auth/kakao/callback",
        ),
        ("KAKAO_TOKEN_URL", "http://127.0.0.1:9/token"),
        ("KAKAO_PROFILE_URL", "http://127.0.0.1:9/profile"),
    ])
    .await;
    let ip = fresh_address();
    let mut statuses = Vec::new();
    for _ in 0..3 {
        let r = via_proxy(
            app.client()
                .get(app.url("/api/auth/kakao/callback?code=forged&state=forged")),
            &ip,
        )
        .send()
        .await
        .unwrap();
        statuses.push(r.status().as_u16());
    }
    assert_eq!(statuses, [400, 400, 429]);
    // Starting a login keeps a pre-session in Redis: starts are limited too.
    let ip = fresh_address();
    let mut statuses = Vec::new();
    for _ in 0..3 {
        let r = via_proxy(app.client().get(app.url("/api/auth/kakao")), &ip)
            .send()
            .await
            .unwrap();
        statuses.push(r.status().as_u16());
    }
    assert_eq!(statuses, [302, 302, 429]);
}

#[tokio::test]
async fn locker_passwords_are_limited_per_user() {
    let app = spawn_app_with(&[("RATE_LIMIT_LOCKER_PER_USER", "1/1h")]).await;
    let f = app.store().await;
    let second_locker = app.store_in(f.region).await;
    let plain = app.store_in(f.region).await;
    for (store, secret) in [
        (f.store, "00112233445566778899aabbccddeeff"),
        (second_locker, "ffeeddccbbaa99887766554433221100"),
    ] {
        sqlx::query("INSERT INTO lockers (store_id, secret) VALUES ($1, $2)")
            .bind(store)
            .bind(secret)
            .execute(&app.db)
            .await
            .unwrap();
    }
    let u1 = app.umbrella(f.store).await;
    let u2 = app.umbrella(second_locker).await;
    let (c, _) = app.user().await;
    let rented = app.rent(&c, u1, f.store).await;
    assert!(rented["locker_password"].is_string());
    json_ok(
        app.post(
            &c,
            "/api/rentals/current/return",
            json!({"store_id": plain, "bank_name": "신한", "account_number": "110-123-456789"}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    let r = app
        .post(
            &c,
            "/api/rentals",
            json!({"umbrella_id": u2, "store_id": second_locker}),
        )
        .await;
    assert!(
        retry_after(&r) > 60,
        "the hourly limit, not the locker's minute"
    );
    let body = problem(r, StatusCode::TOO_MANY_REQUESTS).await;
    assert!(
        body["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("보관함"),
        "{body}"
    );
    let open: i64 = sqlx::query_scalar("SELECT count(*) FROM rentals WHERE returned_at IS NULL")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(open, 0, "the refused rent opened nothing");
    let counter: i64 = sqlx::query_scalar("SELECT counter FROM lockers WHERE store_id = $1")
        .bind(second_locker)
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(counter, 0, "the second locker issued no password");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_login_flood_beyond_the_hash_queue_is_refused_fast_with_503() {
    let app = spawn_app_with(&[
        ("PASSWORD_HASH_CONCURRENCY", "1"),
        ("PASSWORD_HASH_QUEUE", "2"),
    ])
    .await;
    let started = Instant::now();
    let answers = join_all((0..24).map(|i| {
        let app = &app;
        async move {
            let r = app
                .post(
                    &app.client(),
                    "/api/auth/login",
                    json!({"email": format!("flood{i}@example.com"), "password": "guess-guess"}),
                )
                .await;
            let status = r.status();
            let wait = (status == StatusCode::SERVICE_UNAVAILABLE).then(|| retry_after(&r));
            if status == StatusCode::SERVICE_UNAVAILABLE {
                problem(r, status).await;
            }
            (status, wait)
        }
    }))
    .await;
    let refused = answers
        .iter()
        .filter(|(s, _)| *s == StatusCode::SERVICE_UNAVAILABLE)
        .count();
    let checked = answers
        .iter()
        .filter(|(s, _)| *s == StatusCode::UNAUTHORIZED)
        .count();
    assert_eq!(refused + checked, 24, "{answers:?}");
    assert!(refused >= 10, "most of the flood is refused: {answers:?}");
    assert!(
        checked >= 3,
        "the slot and the queue are served: {answers:?}"
    );
    assert!(answers.iter().all(|(_, w)| w.is_none_or(|w| w >= 1)));
    assert!(started.elapsed() < Duration::from_secs(10));
    // Reads do not wait behind the hashes.
    assert_eq!(
        app.get(&app.client(), "/api/tags").await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn a_session_ends_at_its_absolute_lifetime_however_busy() {
    let app = spawn_app_with(&[
        ("RENTER_SESSION_IDLE_TIMEOUT", "2s"),
        ("RENTER_SESSION_ABSOLUTE_TIMEOUT", "4s"),
    ])
    .await;
    let (c, _) = app.user().await;
    let logged_in = Instant::now();
    let ended = loop {
        let status = app.get(&c, "/api/me").await.status();
        if status == StatusCode::UNAUTHORIZED {
            break logged_in.elapsed();
        }
        assert_eq!(status, StatusCode::OK);
        assert!(logged_in.elapsed() < Duration::from_secs(10), "never ended");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    // Kept alive by use past its idle timeout, ended by its absolute one.
    assert!(
        ended >= Duration::from_millis(2900),
        "ended after {ended:?}"
    );
}

#[tokio::test]
async fn cross_site_forms_are_refused_and_change_nothing() {
    let app = spawn_app().await;
    let cases: [&[(&str, &str)]; 4] = [
        &[("origin", "null")],
        &[("origin", "null"), ("sec-fetch-site", "same-origin")],
        &[
            ("origin", "https://evil.example"),
            ("sec-fetch-site", "cross-site"),
        ],
        // Same host over plain HTTP, while the client is on HTTPS.
        &[
            ("origin", "http://upbrella.example"),
            ("x-forwarded-proto", "https"),
            ("x-forwarded-host", "upbrella.example"),
        ],
    ];
    for headers in cases {
        let mut req = app.client().post(app.url("/api/auth/signup"));
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let email = format!("csrf{}@example.com", uuid::Uuid::new_v4().simple());
        let r = req.json(&signup_form(email)).send().await.unwrap();
        problem(r, StatusCode::FORBIDDEN).await;
    }
    let users: i64 = sqlx::query_scalar("SELECT count(*) FROM users")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(users, 0);
}

#[tokio::test]
async fn stored_idempotent_answers_expire_with_their_locker_passwords() {
    let app = spawn_app_with(&[("IDEMPOTENCY_TTL", "1s")]).await;
    let f = app.store().await;
    let umbrella = app.umbrella(f.store).await;
    let (c, _) = app.user().await;
    let r = c
        .post(app.url("/api/rentals"))
        .header("idempotency-key", "expiring-key")
        .json(&json!({"umbrella_id": umbrella, "store_id": f.store}))
        .send()
        .await
        .unwrap();
    json_ok(r, StatusCode::CREATED).await;
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let kept: i64 = sqlx::query_scalar("SELECT count(*) FROM idempotency_keys")
            .fetch_one(&app.db)
            .await
            .unwrap();
        if kept == 0 {
            break;
        }
        assert!(Instant::now() < deadline, "the stored answer never expired");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn one_users_idempotency_key_never_returns_another_users_answer() {
    let app = spawn_app().await;
    let f = app.store().await;
    let (a, _) = app.user().await;
    let (b, _) = app.user().await;
    let ua = app.umbrella(f.store).await;
    let ub = app.umbrella(f.store).await;
    let rent = |client: &reqwest::Client, umbrella: i64| {
        client
            .post(app.url("/api/rentals"))
            .header("idempotency-key", "shared-key")
            .json(&json!({"umbrella_id": umbrella, "store_id": f.store}))
            .send()
    };
    let first = json_ok(rent(&a, ua).await.unwrap(), StatusCode::CREATED).await;
    let second = json_ok(rent(&b, ub).await.unwrap(), StatusCode::CREATED).await;
    assert_ne!(first["rental"]["id"], second["rental"]["id"]);
    assert_eq!(second["rental"]["umbrella_id"], ub);
}

#[tokio::test]
async fn a_bank_account_moved_to_another_row_is_not_readable() {
    let app = spawn_app().await;
    let (a, a_id) = app.user().await;
    let (b, b_id) = app.user().await;
    json_ok(
        app.put(
            &a,
            "/api/me/bank-account",
            json!({"bank_name": "신한", "account_number": "110-123-456789"}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    // Someone with write access to the database copies A's sealed account onto B.
    sqlx::query(
        "UPDATE users SET bank_name = src.bank_name, bank_account = src.bank_account \
         FROM users src WHERE src.id = $1 AND users.id = $2",
    )
    .bind(a_id)
    .bind(b_id)
    .execute(&app.db)
    .await
    .unwrap();
    // The moved ciphertext fails to open (a loud 500, logged), never shows as B's.
    let r = app.get(&b, "/api/me").await;
    assert_eq!(r.status(), StatusCode::INTERNAL_SERVER_ERROR);
    let text = r.text().await.unwrap();
    assert!(
        !text.contains("6789"),
        "A's account must not show as B's: {text}"
    );
    let mine: Value = json_ok(app.get(&a, "/api/me").await, StatusCode::OK).await;
    assert_eq!(mine["bank"]["account_number"], "***-***-**6789");
}

#[tokio::test]
async fn control_characters_in_text_are_refused_not_a_500() {
    // Found by fuzzing: PostgreSQL refuses NUL in text, which surfaced as 500s.
    let app = spawn_app().await;
    let r = app
        .post(
            &app.client(),
            "/api/auth/signup",
            signup_form("a\u{0}@example.com"),
        )
        .await;
    problem(r, StatusCode::UNPROCESSABLE_ENTITY).await;
    let r = app
        .post(
            &app.client(),
            "/api/auth/login",
            json!({"email": "a\u{0}@example.com", "password": "password123"}),
        )
        .await;
    problem(r, StatusCode::UNAUTHORIZED).await;
    let (c, _) = app.user().await;
    let r = app
        .put(
            &c,
            "/api/me/bank-account",
            json!({"bank_name": "신\u{0}한", "account_number": "110-123-456789"}),
        )
        .await;
    problem(r, StatusCode::UNPROCESSABLE_ENTITY).await;
    let f = app.store().await;
    let umbrella = app.umbrella(f.store).await;
    let r = app
        .post(
            &c,
            "/api/rentals",
            json!({"umbrella_id": umbrella, "store_id": f.store, "condition_report": "a\u{0}b"}),
        )
        .await;
    problem(r, StatusCode::UNPROCESSABLE_ENTITY).await;
    let (admin, _) = app.admin().await;
    let r = app
        .post(
            &admin,
            "/api/admin/classifications",
            json!({"kind": "region", "name": "신\u{0}촌", "latitude": 37.5, "longitude": 127.0}),
        )
        .await;
    problem(r, StatusCode::UNPROCESSABLE_ENTITY).await;
}

#[tokio::test]
async fn a_locker_counter_cannot_be_set_where_the_next_rent_would_overflow() {
    // Found by fuzzing: a counter at i64::MAX made every rent at that store a 500.
    let app = spawn_app().await;
    let (admin, _) = app.admin().await;
    let f = app.store().await;
    let locker = json_ok(
        app.post(
            &admin,
            "/api/admin/lockers",
            json!({"store_id": f.store, "secret": "00112233445566778899aabbccddeeff"}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let r = app
        .put(
            &admin,
            &format!("/api/admin/lockers/{}/counter", locker["id"]),
            json!({"counter": i64::MAX}),
        )
        .await;
    problem(r, StatusCode::UNPROCESSABLE_ENTITY).await;
    let (c, _) = app.user().await;
    let umbrella = app.umbrella(f.store).await;
    app.rent(&c, umbrella, f.store).await;
}
