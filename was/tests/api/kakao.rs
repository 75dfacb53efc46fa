//! Kakao login against a stand-in provider that the test starts: the real
//! authorization-code flow over HTTP, with every Kakao URL pointed at it.

use std::sync::{Arc, Mutex};

use axum::extract::{Form, State};
use axum::http::{HeaderMap, StatusCode as AxumStatus};
use axum::routing::{get, post};
use axum::{Json, Router};
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::net::TcpListener;

use crate::helpers::*;

type FormFields = Vec<(String, String)>;

#[derive(Clone, Default)]
struct Provider {
    /// Form fields of the token requests received.
    token_requests: Arc<Mutex<Vec<FormFields>>>,
    kakao_id: i64,
}

async fn token(
    State(p): State<Provider>,
    Form(form): Form<Vec<(String, String)>>,
) -> Result<Json<Value>, AxumStatus> {
    let code = form
        .iter()
        .find(|(k, _)| k == "code")
        .map(|(_, v)| v.clone());
    p.token_requests.lock().unwrap().push(form);
    match code.as_deref() {
        Some("good-code") => Ok(Json(
            json!({"access_token": "token-123", "token_type": "bearer"}),
        )),
        _ => Err(AxumStatus::BAD_REQUEST),
    }
}

async fn profile(State(p): State<Provider>, headers: HeaderMap) -> Result<Json<Value>, AxumStatus> {
    if headers.get("authorization").and_then(|v| v.to_str().ok()) != Some("Bearer token-123") {
        return Err(AxumStatus::UNAUTHORIZED);
    }
    Ok(Json(
        json!({"id": p.kakao_id, "kakao_account": {"profile": {"nickname": "카카오김"}}}),
    ))
}

async fn start_provider(kakao_id: i64) -> (String, Provider) {
    let provider = Provider {
        kakao_id,
        ..Default::default()
    };
    let app = Router::new()
        .route("/oauth/token", post(token))
        .route("/v2/user/me", get(profile))
        .with_state(provider.clone());
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (base, provider)
}

async fn app_with_kakao(base: &str) -> TestApp {
    app_with_kakao_and(base, &[]).await
}

async fn app_with_kakao_and(base: &str, extra: &[(&str, &str)]) -> TestApp {
    let authorize = format!("{base}/oauth/authorize");
    let token = format!("{base}/oauth/token");
    let profile = format!("{base}/v2/user/me");
    let mut settings = vec![
        ("KAKAO_CLIENT_ID", "client-1"),
        ("KAKAO_CLIENT_SECRET", "secret-1"),
        (
            "KAKAO_REDIRECT_URI",
            "http://localhost:8000/api/auth/kakao/callback",
        ),
        ("KAKAO_AUTHORIZE_URL", authorize.as_str()),
        ("KAKAO_TOKEN_URL", token.as_str()),
        ("KAKAO_PROFILE_URL", profile.as_str()),
    ];
    settings.extend_from_slice(extra);
    spawn_app_with(&settings).await
}

/// Follows the flow up to Kakao's redirect back; returns the state.
async fn start(app: &TestApp, c: &reqwest::Client, provider_base: &str) -> String {
    let r = app.get(c, "/api/auth/kakao").await;
    assert_eq!(r.status(), StatusCode::FOUND);
    let location = url::Url::parse(r.headers()["location"].to_str().unwrap()).unwrap();
    assert!(
        location
            .as_str()
            .starts_with(&format!("{provider_base}/oauth/authorize"))
    );
    let q: std::collections::HashMap<_, _> = location.query_pairs().into_owned().collect();
    assert_eq!(q["client_id"], "client-1");
    assert_eq!(q["response_type"], "code");
    q["state"].clone()
}

#[tokio::test]
async fn kakao_login_creates_the_user_once_and_logs_in() {
    let (base, provider) = start_provider(424_242).await;
    let app = app_with_kakao(&base).await;
    let c = app.client();
    let state = start(&app, &c, &base).await;
    let r = app
        .get(
            &c,
            &format!("/api/auth/kakao/callback?code=good-code&state={state}"),
        )
        .await;
    assert_eq!(r.status(), StatusCode::FOUND);
    assert_eq!(r.headers()["location"], "/");
    let me = json_ok(app.get(&c, "/api/me").await, StatusCode::OK).await;
    assert_eq!(me["kakao_linked"], true);
    assert_eq!(me["name"], "카카오김");
    let sent = provider.token_requests.lock().unwrap().clone();
    assert!(sent[0].contains(&("client_secret".into(), "secret-1".into())));
    assert!(sent[0].contains(&("grant_type".into(), "authorization_code".into())));

    // A second login finds the same user.
    let c2 = app.client();
    let state = start(&app, &c2, &base).await;
    app.get(
        &c2,
        &format!("/api/auth/kakao/callback?code=good-code&state={state}"),
    )
    .await;
    let me2 = json_ok(app.get(&c2, "/api/me").await, StatusCode::OK).await;
    assert_eq!(me["id"], me2["id"]);
}

#[tokio::test]
async fn a_kakao_user_gives_a_phone_number_and_both_agreements_before_the_first_rent() {
    let (base, _) = start_provider(515_151).await;
    let app = app_with_kakao(&base).await;
    let f = app.store().await;
    let umbrella = app.umbrella(f.store).await;
    let c = app.client();
    let state = start(&app, &c, &base).await;
    app.get(
        &c,
        &format!("/api/auth/kakao/callback?code=good-code&state={state}"),
    )
    .await;
    let me = json_ok(app.get(&c, "/api/me").await, StatusCode::OK).await;
    assert_eq!(
        (&me["phone"], &me["agreed"], &me["ready_to_rent"]),
        (&Value::Null, &json!(false), &json!(false))
    );
    let p = problem(
        app.post(
            &c,
            "/api/rentals",
            json!({"umbrella_id": umbrella, "store_id": f.store}),
        )
        .await,
        StatusCode::CONFLICT,
    )
    .await;
    assert_eq!(p["code"], "profile_incomplete");

    // Both agreements are needed, and a real phone number.
    let p = problem(
        app.put(
            &c,
            "/api/me/profile",
            json!({"phone": "010-5555-6666", "agree_terms": true, "agree_privacy": false}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(p["code"], "consent_required");
    problem(
        app.put(
            &c,
            "/api/me/profile",
            json!({"phone": "12", "agree_terms": true, "agree_privacy": true}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    let me = json_ok(
        app.put(
            &c,
            "/api/me/profile",
            json!({"phone": "010-5555-6666", "agree_terms": true, "agree_privacy": true}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(
        (&me["phone"], &me["ready_to_rent"]),
        (&json!("01055556666"), &json!(true))
    );
    let agreed: bool = sqlx::query_scalar(
        "SELECT terms_agreed_at IS NOT NULL AND privacy_agreed_at IS NOT NULL FROM users WHERE kakao_id = 515151",
    )
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert!(agreed, "the agreements' times are stored");
    app.rent(&c, umbrella, f.store).await;
}

#[tokio::test]
async fn a_browser_meeting_a_kakao_error_lands_on_the_login_page_with_its_code() {
    let (base, _) = start_provider(2).await;
    let app = app_with_kakao(&base).await;
    let c = app.client();
    let _ = start(&app, &c, &base).await;
    for (query, code) in [
        ("error=access_denied", "kakao_login_cancelled"),
        ("code=good-code&state=forged", "kakao_state_mismatch"),
    ] {
        let r = c
            .get(app.url(&format!("/api/auth/kakao/callback?{query}")))
            .header("accept", "text/html,application/xhtml+xml,*/*;q=0.8")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::FOUND, "{query}");
        assert_eq!(
            r.headers()["location"],
            format!("/login?error={code}").as_str(),
            "{query}"
        );
    }
    // A program still reads the problem.
    let p = problem(
        app.get(&c, "/api/auth/kakao/callback?error=access_denied")
            .await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert_eq!(p["code"], "kakao_login_cancelled");
}

#[tokio::test]
async fn kakao_callback_refuses_a_forged_state_or_a_bad_code() {
    let (base, _) = start_provider(1).await;
    let app = app_with_kakao(&base).await;
    let c = app.client();
    let _ = start(&app, &c, &base).await;
    problem(
        app.get(&c, "/api/auth/kakao/callback?code=good-code&state=forged")
            .await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    problem(
        app.get(
            &app.client(),
            "/api/auth/kakao/callback?code=good-code&state=x",
        )
        .await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    let state = start(&app, &c, &base).await;
    problem(
        app.get(
            &c,
            &format!("/api/auth/kakao/callback?code=bad&state={state}"),
        )
        .await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    problem(app.get(&c, "/api/me").await, StatusCode::UNAUTHORIZED).await;
}

#[tokio::test]
async fn a_banned_kakao_identity_cannot_log_in_again() {
    let (base, _) = start_provider(777).await;
    let app = app_with_kakao(&base).await;
    let (admin, _) = app.admin().await;
    let c = app.client();
    let state = start(&app, &c, &base).await;
    app.get(
        &c,
        &format!("/api/auth/kakao/callback?code=good-code&state={state}"),
    )
    .await;
    let me = json_ok(app.get(&c, "/api/me").await, StatusCode::OK).await;
    assert_eq!(
        app.post(
            &admin,
            &format!("/api/admin/users/{}/ban", me["id"]),
            json!({})
        )
        .await
        .status(),
        StatusCode::NO_CONTENT
    );
    let c2 = app.client();
    let state = start(&app, &c2, &base).await;
    problem(
        app.get(
            &c2,
            &format!("/api/auth/kakao/callback?code=good-code&state={state}"),
        )
        .await,
        StatusCode::FORBIDDEN,
    )
    .await;
}

#[tokio::test]
async fn an_unreachable_provider_is_a_503_and_no_kakao_config_is_a_404() {
    let free = stack::free_port().unwrap();
    let base = format!("http://127.0.0.1:{free}");
    let app = app_with_kakao(&base).await;
    let c = app.client();
    let state = start(&app, &c, &base).await;
    problem(
        app.get(
            &c,
            &format!("/api/auth/kakao/callback?code=good-code&state={state}"),
        )
        .await,
        StatusCode::SERVICE_UNAVAILABLE,
    )
    .await;
    let plain = spawn_app().await;
    problem(
        plain.get(&plain.client(), "/api/auth/kakao").await,
        StatusCode::NOT_FOUND,
    )
    .await;
}

/// Kakao login comes back to the page it started from (the QR code's rent page), and
/// never to another site.
#[tokio::test]
async fn kakao_login_returns_to_the_page_it_started_from_on_this_site_only() {
    let (base, _provider) = start_provider(515_151).await;
    let app = app_with_kakao(&base).await;
    for (next, lands) in [
        ("/rent/form/7?from=qr", "/rent/form/7?from=qr"),
        ("//evil.example/steal", "/"),
        ("https://evil.example/", "/"),
        ("/\\evil.example", "/"),
    ] {
        let c = app.client();
        let r = app
            .get(&c, &format!("/api/auth/kakao?next={}", urlencode(next)))
            .await;
        assert_eq!(r.status(), StatusCode::FOUND);
        let location = url::Url::parse(r.headers()["location"].to_str().unwrap()).unwrap();
        let q: std::collections::HashMap<_, _> = location.query_pairs().into_owned().collect();
        let state = q["state"].clone();
        let r = app
            .get(
                &c,
                &format!("/api/auth/kakao/callback?code=good-code&state={state}"),
            )
            .await;
        assert_eq!(r.status(), StatusCode::FOUND, "{next}");
        assert_eq!(r.headers()["location"], lands, "{next}");
    }
}

fn urlencode(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

/// A sibling subdomain (or anyone who can set a cookie for the site) plants a state of
/// its choosing and sends the victim to the callback with the attacker's code: the state
/// was never issued by the server, so nothing logs in. A real state works once.
#[tokio::test]
async fn a_planted_or_replayed_kakao_state_logs_no_one_in() {
    let (base, _) = start_provider(31_337).await;
    let app = app_with_kakao(&base).await;
    let victim = app.client();
    let planted = "00000000000000000000000000000000aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    let r = victim
        .get(app.url(&format!(
            "/api/auth/kakao/callback?code=good-code&state={planted}"
        )))
        .header("cookie", format!("upbrella_oauth={planted}"))
        .send()
        .await
        .expect("request");
    let p = problem(r, StatusCode::BAD_REQUEST).await;
    assert_eq!(p["code"], "kakao_state_mismatch");
    problem(app.get(&victim, "/api/me").await, StatusCode::UNAUTHORIZED).await;

    // The state cookie is host-only, for the whole site, HttpOnly.
    let r = app.get(&victim, "/api/auth/kakao").await;
    let cookie = r.headers()["set-cookie"]
        .to_str()
        .expect("cookie")
        .to_owned();
    assert!(cookie.starts_with("upbrella_oauth="), "{cookie}");
    assert!(
        cookie.contains("Path=/;") || cookie.ends_with("Path=/"),
        "{cookie}"
    );
    assert!(!cookie.to_ascii_lowercase().contains("domain="), "{cookie}");
    assert!(cookie.contains("HttpOnly"), "{cookie}");

    let c = app.client();
    let state = start(&app, &c, &base).await;
    let value = format!("upbrella_oauth={state}");
    let first = c
        .get(app.url(&format!(
            "/api/auth/kakao/callback?code=good-code&state={state}"
        )))
        .send()
        .await
        .expect("request");
    assert_eq!(first.status(), StatusCode::FOUND);
    // The same state again (the cookie replayed by hand): spent.
    let again = app
        .client()
        .get(app.url(&format!(
            "/api/auth/kakao/callback?code=good-code&state={state}"
        )))
        .header("cookie", value)
        .send()
        .await
        .expect("request");
    let p = problem(again, StatusCode::BAD_REQUEST).await;
    assert_eq!(p["code"], "kakao_state_mismatch");
}

/// With `SESSION_COOKIE_SECURE` the state cookie carries the `__Host-` prefix, which a
/// browser accepts only with `Secure`, `Path=/` and no `Domain`: no sibling can set it.
#[tokio::test]
async fn behind_tls_the_kakao_state_cookie_is_host_prefixed() {
    let (base, _) = start_provider(5).await;
    let app = app_with_kakao_and(&base, &[("SESSION_COOKIE_SECURE", "true")]).await;
    let r = app.get(&app.client(), "/api/auth/kakao").await;
    let cookie = r.headers()["set-cookie"]
        .to_str()
        .expect("cookie")
        .to_owned();
    assert!(cookie.starts_with("__Host-upbrella_oauth="), "{cookie}");
    assert!(cookie.contains("Secure"), "{cookie}");
}

/// A Kakao account has no password to give again: a fresh Kakao login is what lets it
/// change its refund account once the login is no longer recent.
#[tokio::test]
async fn a_kakao_account_confirms_itself_by_logging_in_with_kakao_again() {
    let (base, _) = start_provider(2024).await;
    let app = app_with_kakao_and(&base, &[("REAUTH_WINDOW", "1s")]).await;
    let c = app.client();
    let login = |c: reqwest::Client| {
        let app = &app;
        let base = base.clone();
        async move {
            let state = start(app, &c, &base).await;
            let r = app
                .get(
                    &c,
                    &format!("/api/auth/kakao/callback?code=good-code&state={state}"),
                )
                .await;
            assert_eq!(r.status(), StatusCode::FOUND);
        }
    };
    login(c.clone()).await;
    let me = json_ok(app.get(&c, "/api/me").await, StatusCode::OK).await;
    assert_eq!(me["has_password"], false);
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    let account = json!({"bank_name": "카카오뱅크", "account_number": "3333-01-1234567"});
    let p = problem(
        app.put(&c, "/api/me/bank-account", account.clone()).await,
        StatusCode::UNAUTHORIZED,
    )
    .await;
    assert_eq!(p["code"], "reauth_required");
    let p = problem(
        app.post(&c, "/api/auth/reauth", json!({"password": "anything"}))
            .await,
        StatusCode::CONFLICT,
    )
    .await;
    assert_eq!(p["code"], "kakao_account");
    login(c.clone()).await;
    json_ok(
        app.put(&c, "/api/me/bank-account", account).await,
        StatusCode::OK,
    )
    .await;
}
