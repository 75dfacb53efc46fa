#![allow(dead_code)]

//! Test harness: real Redis and PostgreSQL (started once per test binary, or taken from
//! `REDIS_URL` / `DATABASE_URL`), a fresh database per test cloned from a migrated
//! template, and the WAS built with `Application::build` on port 0.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::Duration;

use reqwest::{Client, Response, StatusCode};
use serde_json::{Value, json};
use sqlx::PgPool;
use sqlx::postgres::PgPoolOptions;
use stack::{Postgres, Redis, TempDir};
use tokio::sync::{OnceCell, oneshot};
use was::{Application, Config};

// A path relative to this file, so that was/tests/process.rs, which includes this file by
// its path, finds the module too.
#[path = "helpers/mail.rs"]
mod mail;
// was/tests/process.rs sends no mail.
#[allow(unused_imports)]
pub use mail::*;

pub const KEY_HEX: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
/// The server's HMAC key in tests (not the bank key).
pub const HMAC_KEY_HEX: &str = "1f1e1d1c1b1a191817161514131211100f0e0d0c0b0a09080706050403020100";
const TEMPLATE: &str = "upbrella_template";

pub struct Deps {
    pub redis_url: String,
    /// A URL whose user may create databases, without the database name.
    pub pg_base: String,
    _redis: Option<Redis>,
    _pg: Option<Postgres>,
    _dir: Option<TempDir>,
}

static DEPS: OnceCell<Deps> = OnceCell::const_new();

pub async fn deps() -> &'static Deps {
    DEPS.get_or_init(|| async {
        let dir = TempDir::new("upbrella-test").expect("temp dir");
        let (redis_url, redis) = match std::env::var("REDIS_URL") {
            Ok(url) => (url, None),
            Err(_) => {
                // Starting a server blocks: on a blocking thread, not the test's runtime.
                let path = dir.path().to_owned();
                let r = tokio::task::spawn_blocking(move || Redis::start(&path))
                    .await
                    .expect("join")
                    .expect("start redis");
                (r.url(), Some(r))
            }
        };
        let (pg_base, pg) = match std::env::var("DATABASE_URL") {
            Ok(url) => (
                url.rsplit_once('/')
                    .map(|(b, _)| b.to_owned())
                    .unwrap_or(url),
                None,
            ),
            Err(_) => {
                let path = dir.path().join("pg");
                let p = tokio::task::spawn_blocking(move || Postgres::start(&path))
                    .await
                    .expect("join")
                    .expect("start postgres");
                (p.url("").trim_end_matches('/').to_owned(), Some(p))
            }
        };
        let admin = PgPool::connect(&format!("{pg_base}/postgres"))
            .await
            .expect("connect to postgres");
        sqlx::query(&format!("DROP DATABASE IF EXISTS {TEMPLATE}"))
            .execute(&admin)
            .await
            .expect("drop template");
        sqlx::query(&format!("CREATE DATABASE {TEMPLATE}"))
            .execute(&admin)
            .await
            .expect("create template");
        migrate_as_owner(&format!("{pg_base}/{TEMPLATE}")).await;
        admin.close().await;
        Deps {
            redis_url,
            pg_base,
            _redis: redis,
            _pg: pg,
            _dir: Some(dir),
        }
    })
    .await
}

/// The role every test WAS connects as, provisioned by `was migrate` like in production:
/// the suite passing is what shows its privileges are enough.
pub const APP_ROLE: &str = "upbrella_app";
pub const APP_ROLE_PASSWORD: &str = "upbrella-app-test";

/// What `was migrate` does with `WAS_APP_ROLE` set: migrations, then the application
/// role, both as the database's owner.
pub async fn migrate_as_owner(owner_url: &str) {
    let owner = PgPool::connect(owner_url).await.expect("connect as owner");
    was::migrate::run(&owner).await.expect("migrate");
    provision(&owner, APP_ROLE, APP_ROLE_PASSWORD).await;
    owner.close().await;
}

pub async fn provision(owner: &PgPool, name: &str, password: &str) {
    let role = was::config::AppRole {
        name: name.to_owned(),
        login: was::config::AppRoleLogin::Password(password.to_owned().into()),
    };
    was::migrate::provision_app_role(owner, &role)
        .await
        .expect("provision the application role");
}

/// The same database, as the given role.
pub fn as_role(database_url: &str, name: &str, password: Option<&str>) -> String {
    let mut url = url::Url::parse(database_url).expect("database URL");
    url.set_username(name).expect("user in URL");
    url.set_password(password).expect("password in URL");
    url.to_string()
}

/// A fresh, migrated database; returns its URL (as the owner).
pub async fn fresh_database(pg_base: &str) -> String {
    let name = format!("t_{}", uuid::Uuid::new_v4().simple());
    let admin = PgPool::connect(&format!("{pg_base}/postgres"))
        .await
        .expect("connect");
    // Cloning the template is much faster than migrating each database.
    let mut tries = 0;
    loop {
        match sqlx::query(&format!("CREATE DATABASE {name} TEMPLATE {TEMPLATE}"))
            .execute(&admin)
            .await
        {
            Ok(_) => break,
            // Two clones at the same instant can collide on the template's lock.
            Err(e) if tries < 20 => {
                tries += 1;
                tracing::debug!(error = %e, "retrying database clone");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(e) => panic!("cannot create test database: {e}"),
        }
    }
    admin.close().await;
    format!("{pg_base}/{name}")
}

/// What a new deployment runs with: no migration mode for the original stickers.
pub const FRESH_DEPLOYMENT: [(&str, &str); 2] = [("QR_LEGACY_CODES", ""), ("QR_LEGACY_UNTIL", "")];

/// The signed code of a sticker, as the console prints it (the test key's derived QR key).
pub fn code_for(subject: was::domain::codes::Subject) -> String {
    let mut key = [0u8; 32];
    hex::decode_to_slice(KEY_HEX, &mut key).expect("test key");
    was::domain::codes::CodeSigner::new(was::domain::codes::derive_key(&key)).sign(subject)
}

/// A sign-up form that passes every check, for `email`.
pub fn signup_form(email: impl Into<String>) -> Value {
    json!({
        "email": email.into(),
        "password": "password123",
        "name": "김우산",
        "phone": "010-1234-5678",
        "agree_terms": true,
        "agree_privacy": true,
    })
}

pub fn base_env(database_url: &str, redis_url: &str) -> HashMap<String, String> {
    HashMap::from([
        ("WAS_LISTEN_ADDR".into(), "127.0.0.1:0".into()),
        ("WAS_ADMIN_ADDR".into(), "127.0.0.1:0".into()),
        ("DATABASE_URL".into(), database_url.into()),
        ("REDIS_URL".into(), redis_url.into()),
        ("BANK_ENCRYPTION_KEY".into(), KEY_HEX.into()),
        ("SERVER_HMAC_KEY".into(), HMAC_KEY_HEX.into()),
        ("WAS_SHUTDOWN_GRACE".into(), "2s".into()),
        // Every test signs up from 127.0.0.1 against one Redis; the tests of the limits
        // (abuse.rs) turn on the one they check.
        ("RATE_LIMIT_LOGIN_FAILURES".into(), "off".into()),
        ("RATE_LIMIT_LOGIN_FAILURES_PER_ACCOUNT".into(), "off".into()),
        ("RATE_LIMIT_LOGIN_PER_ADDRESS".into(), "off".into()),
        ("RATE_LIMIT_LOGIN_BURST_PER_ADDRESS".into(), "off".into()),
        ("RATE_LIMIT_MAIL_PER_ACCOUNT".into(), "off".into()),
        ("RATE_LIMIT_MAIL_PER_ADDRESS".into(), "off".into()),
        ("RATE_LIMIT_SIGNUP_PER_ADDRESS".into(), "off".into()),
        ("RATE_LIMIT_KAKAO_PER_ADDRESS".into(), "off".into()),
        ("RATE_LIMIT_LOCKER_PER_USER".into(), "off".into()),
        ("RATE_LIMIT_RENTAL_PER_USER".into(), "off".into()),
        ("RATE_LIMIT_RENTAL_PER_ADDRESS".into(), "off".into()),
        // Most of these tests exercise the rental domain by ids, as the original service's
        // stickers do: they run in the dated migration mode. The proof-of-presence tests
        // (codes.rs, presence.rs) take the default, which refuses code-less requests.
        ("QR_LEGACY_CODES".into(), "accept".into()),
        ("QR_LEGACY_UNTIL".into(), "2999-12-31".into()),
    ])
}

pub struct TestApp {
    pub addr: SocketAddr,
    /// The admin listener (`/metrics`).
    pub admin: SocketAddr,
    pub base: String,
    pub db: PgPool,
    pub database_url: String,
    pub redis_url: String,
    pub instance: String,
    /// The WAS's database credential source.
    pub credentials: std::sync::Arc<was::dbauth::DbCredentials>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// A client with its own cookie jar: one browser.
    pub fn client(&self) -> Client {
        Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(30))
            .build()
            .expect("client")
    }

    /// The replica's `/metrics` page (its admin listener).
    pub async fn metrics(&self) -> String {
        reqwest::get(format!("http://{}/metrics", self.admin))
            .await
            .expect("metrics")
            .text()
            .await
            .expect("text")
    }

    pub async fn get(&self, client: &Client, path: &str) -> Response {
        client.get(self.url(path)).send().await.expect("request")
    }

    pub async fn post(&self, client: &Client, path: &str, body: Value) -> Response {
        client
            .post(self.url(path))
            .json(&body)
            .send()
            .await
            .expect("request")
    }

    pub async fn put(&self, client: &Client, path: &str, body: Value) -> Response {
        client
            .put(self.url(path))
            .json(&body)
            .send()
            .await
            .expect("request")
    }

    pub async fn patch(&self, client: &Client, path: &str, body: Value) -> Response {
        client
            .patch(self.url(path))
            .json(&body)
            .send()
            .await
            .expect("request")
    }

    pub async fn delete(&self, client: &Client, path: &str) -> Response {
        client.delete(self.url(path)).send().await.expect("request")
    }

    /// Signs up a new user with a unique e-mail; returns the logged-in client and its id.
    pub async fn user(&self) -> (Client, i64) {
        let client = self.client();
        let email = format!("u{}@example.com", uuid::Uuid::new_v4().simple());
        let r = self
            .post(&client, "/api/auth/signup", signup_form(email))
            .await;
        assert_eq!(r.status(), StatusCode::CREATED, "sign-up failed");
        let body: Value = r.json().await.expect("json");
        (client, body["id"].as_i64().expect("id"))
    }

    /// Marks a user's e-mail address verified, as opening the mailed link does.
    pub async fn verify_email(&self, user_id: i64) {
        sqlx::query("UPDATE users SET email_verified_at = now() WHERE id = $1")
            .bind(user_id)
            .execute(&self.db)
            .await
            .expect("verify");
    }

    /// A logged-in admin.
    pub async fn admin(&self) -> (Client, i64) {
        let (client, id) = self.user().await;
        sqlx::query("UPDATE users SET role = 'admin', email_verified_at = now() WHERE id = $1")
            .bind(id)
            .execute(&self.db)
            .await
            .expect("promote");
        (client, id)
    }

    /// An activated store with an image, open every day from 00:00 to 23:59, in a new region.
    pub async fn store(&self) -> Fixture {
        let region: i64 = sqlx::query_scalar(
            "INSERT INTO classifications (kind, name, latitude, longitude) VALUES ('region', $1, 37.5, 127.0) RETURNING id",
        )
        .bind(format!("region-{}", uuid::Uuid::new_v4().simple()))
        .fetch_one(&self.db)
        .await
        .expect("region");
        let store = self.store_in(region).await;
        Fixture { region, store }
    }

    pub async fn store_in(&self, region: i64) -> i64 {
        let store: i64 = sqlx::query_scalar(
            "INSERT INTO stores (region_id, name, category, latitude, longitude, activated) \
             VALUES ($1, '우산 카페', 'cafe', 37.5, 127.0, true) RETURNING id",
        )
        .bind(region)
        .fetch_one(&self.db)
        .await
        .expect("store");
        sqlx::query(
            "INSERT INTO store_images (store_id, url) VALUES ($1, 'https://img.example.com/a.jpg')",
        )
        .bind(store)
        .execute(&self.db)
        .await
        .expect("image");
        sqlx::query("INSERT INTO business_hours (store_id, weekday, open_at, close_at) SELECT $1, d, '00:00', '23:59' FROM generate_series(1, 7) d")
            .bind(store)
            .execute(&self.db)
            .await
            .expect("hours");
        store
    }

    /// Rents `umbrella` at `store` as `client`; the 201 body.
    pub async fn rent(&self, client: &Client, umbrella: i64, store: i64) -> Value {
        json_ok(
            self.post(
                client,
                "/api/rentals",
                json!({"umbrella_id": umbrella, "store_id": store}),
            )
            .await,
            StatusCode::CREATED,
        )
        .await
    }

    /// Rents `umbrella` at `store` as `client`; the rental's id.
    pub async fn rent_id(&self, client: &Client, umbrella: i64, store: i64) -> i64 {
        self.rent(client, umbrella, store).await["rental"]["id"]
            .as_i64()
            .expect("rental id")
    }

    pub async fn umbrella(&self, store: i64) -> i64 {
        static NEXT: std::sync::atomic::AtomicI64 = std::sync::atomic::AtomicI64::new(1);
        let number = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        sqlx::query_scalar("INSERT INTO umbrellas (store_id, number) VALUES ($1, $2) RETURNING id")
            .bind(store)
            .bind(number)
            .fetch_one(&self.db)
            .await
            .expect("umbrella")
    }

    /// Stops the server (graceful shutdown) and waits for it.
    pub async fn stop(mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.task.take() {
            let _ = t.await;
        }
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
    }
}

#[derive(Debug, Clone, Copy)]
pub struct Fixture {
    pub region: i64,
    pub store: i64,
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(&[]).await
}

/// Starts the WAS against the shared Redis and a fresh database, with extra settings.
pub async fn spawn_app_with(overrides: &[(&str, &str)]) -> TestApp {
    let deps = deps().await;
    let database_url = fresh_database(&deps.pg_base).await;
    spawn_on(&database_url, &deps.redis_url, overrides).await
}

/// Starts the WAS against the given database (its owner's URL; the WAS connects as
/// [`APP_ROLE`]) and Redis.
pub async fn spawn_on(database_url: &str, redis_url: &str, overrides: &[(&str, &str)]) -> TestApp {
    let app_url = as_role(database_url, APP_ROLE, Some(APP_ROLE_PASSWORD));
    spawn_as(database_url, &app_url, redis_url, overrides).await
}

/// Starts the WAS connecting with `app_url`; the test's own pool uses `database_url`.
pub async fn spawn_as(
    database_url: &str,
    app_url: &str,
    redis_url: &str,
    overrides: &[(&str, &str)],
) -> TestApp {
    let mut env = base_env(app_url, redis_url);
    for (k, v) in overrides {
        // An empty value removes a setting of the base, so its default applies.
        if v.is_empty() {
            env.remove(*k);
        } else {
            env.insert((*k).to_owned(), (*v).to_owned());
        }
    }
    let config = Config::from_source(&env).expect("test config");
    let instance = config.instance_id.clone();
    let app = Application::build(config).await.expect("build app");
    let addr = app.local_addr();
    let admin = app.admin_addr().expect("the admin listener is on in tests");
    let credentials = app.db_credentials();
    let (tx, rx) = oneshot::channel::<()>();
    let task = tokio::spawn(app.run_until(async {
        let _ = rx.await;
    }));
    let db = PgPoolOptions::new()
        .max_connections(5)
        .connect(database_url)
        .await
        .expect("test pool");
    TestApp {
        addr,
        admin,
        base: format!("http://{addr}"),
        db,
        database_url: database_url.to_owned(),
        redis_url: redis_url.to_owned(),
        instance,
        credentials,
        stop: Some(tx),
        task: Some(task),
    }
}

/// The body of a problem response, after checking its status and content type.
pub async fn problem(r: Response, status: StatusCode) -> Value {
    assert_eq!(r.status(), status, "unexpected status for {}", r.url());
    let ct = r
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert_eq!(
        ct, "application/problem+json",
        "problem responses are RFC 9457 documents"
    );
    let body: Value = r.json().await.expect("problem json");
    assert_eq!(body["status"], status.as_u16());
    // Every problem has a stable code for programs and a Korean message for people.
    assert!(
        body["code"].as_str().is_some_and(|c| !c.is_empty()
            && c.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')),
        "a snake_case code: {body}"
    );
    assert!(
        body["detail"]
            .as_str()
            .is_some_and(|d| d.chars().any(|c| ('가'..='힣').contains(&c))),
        "a Korean message: {body}"
    );
    body
}

pub async fn json_ok(r: Response, status: StatusCode) -> Value {
    let url = r.url().clone();
    let got = r.status();
    let text = r.text().await.expect("body");
    assert_eq!(got, status, "{url}: {text}");
    serde_json::from_str(&text).unwrap_or(Value::Null)
}

/// The session cookie's value in a client's jar.
pub fn session_cookie(set_cookie_headers: &reqwest::header::HeaderMap) -> Option<String> {
    set_cookie_headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("upbrella_sid=") || v.starts_with("__Host-upbrella_sid="))
        .map(str::to_owned)
}
