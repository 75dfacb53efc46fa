//! Dependency outages: each test gets its own Redis or PostgreSQL to stop and restart.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::json;
use stack::{Postgres, Redis, TempDir};
use tokio::task::block_in_place;

use crate::helpers::*;

/// Polls until `path` answers `status`, for at most `limit`.
async fn eventually(
    app: &TestApp,
    c: &reqwest::Client,
    path: &str,
    status: StatusCode,
    limit: Duration,
) -> Duration {
    let started = Instant::now();
    loop {
        let r = c.get(app.url(path)).send().await.unwrap();
        if r.status() == status {
            return started.elapsed();
        }
        assert!(
            started.elapsed() < limit,
            "{path} did not answer {status} within {limit:?} (last {})",
            r.status()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_down_fails_session_endpoints_fast_keeps_public_ones_and_recovers() {
    let dir = TempDir::new("upbrella-redis-outage").unwrap();
    let mut redis = block_in_place(|| Redis::start(dir.path())).unwrap();
    let deps = deps().await;
    let database_url = fresh_database(&deps.pg_base).await;
    let app = spawn_on(&database_url, &redis.url(), &[("REDIS_TIMEOUT", "500ms")]).await;
    let f = app.store().await;
    let (c, _) = app.user().await;
    json_ok(app.get(&c, "/api/me").await, StatusCode::OK).await;

    redis.stop();
    let started = Instant::now();
    problem(
        app.get(&c, "/api/me").await,
        StatusCode::SERVICE_UNAVAILABLE,
    )
    .await;
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "503 must come fast, took {:?}",
        started.elapsed()
    );
    let started = Instant::now();
    let r = app
        .post(
            &app.client(),
            "/api/auth/login",
            json!({"email": "a@example.com", "password": "password123"}),
        )
        .await;
    assert!(matches!(
        r.status(),
        StatusCode::SERVICE_UNAVAILABLE | StatusCode::UNAUTHORIZED
    ));
    assert!(started.elapsed() < Duration::from_secs(2));
    // Public endpoints need only the database, with or without a session cookie.
    json_ok(
        app.get(&c, &format!("/api/regions/{}/stores", f.region))
            .await,
        StatusCode::OK,
    )
    .await;
    json_ok(
        app.get(&app.client(), &format!("/api/stores/{}", f.store))
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(app.get(&c, "/health").await.status(), StatusCode::OK);
    let ready = problem_or_json(app.get(&c, "/ready").await, StatusCode::SERVICE_UNAVAILABLE).await;
    assert_eq!(ready["redis"]["ok"], false);
    assert_eq!(ready["database"]["ok"], true);
    // The public readiness says the same, without the error's text.
    let public = problem_or_json(
        app.get(&c, "/api/ready").await,
        StatusCode::SERVICE_UNAVAILABLE,
    )
    .await;
    assert_eq!(
        (&public["redis"], &public["database"]),
        (&json!(false), &json!(true))
    );
    assert!(
        public["message"]
            .as_str()
            .unwrap()
            .contains("세션 저장소 (Redis)"),
        "{public}"
    );
    let text = public.to_string().to_lowercase();
    assert!(
        !text.contains("error") && !text.contains("connect"),
        "{public}"
    );

    // Redis comes back empty (no persistence here): logging in works again without
    // restarting the WAS.
    block_in_place(|| redis.restart()).unwrap();
    let (c2, _) = {
        let started = Instant::now();
        loop {
            let client = app.client();
            let email = format!("r{}@example.com", uuid::Uuid::new_v4().simple());
            let r = app
                .post(&client, "/api/auth/signup", signup_form(email))
                .await;
            if r.status() == StatusCode::CREATED {
                break (client, ());
            }
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "no recovery: {}",
                r.status()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    };
    json_ok(app.get(&c2, "/api/me").await, StatusCode::OK).await;
    eventually(&app, &c2, "/ready", StatusCode::OK, Duration::from_secs(10)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn database_down_is_a_fast_503_and_recovers_without_restart() {
    let dir = TempDir::new("upbrella-pg-outage").unwrap();
    let mut pg = block_in_place(|| Postgres::start(dir.path())).unwrap();
    let admin = sqlx::PgPool::connect(&pg.url("postgres")).await.unwrap();
    sqlx::query("CREATE DATABASE outage")
        .execute(&admin)
        .await
        .unwrap();
    admin.close().await;
    let url = pg.url("outage");
    migrate_as_owner(&url).await;
    let deps = deps().await;
    let app = spawn_on(&url, &deps.redis_url, &[("DATABASE_TIMEOUT", "1s")]).await;
    let c = app.client();
    json_ok(app.get(&c, "/api/regions").await, StatusCode::OK).await;
    app.db.close().await;

    pg.stop();
    // The regions were kept in memory; the replica stops answering from memory once its
    // change listener finds the connection gone (at once: the server closed it).
    let lost = eventually(
        &app,
        &c,
        "/api/regions",
        StatusCode::SERVICE_UNAVAILABLE,
        Duration::from_secs(1),
    )
    .await;
    eprintln!("the outage reached the public reads after {lost:?}");
    let started = Instant::now();
    problem(
        app.get(&c, "/api/regions").await,
        StatusCode::SERVICE_UNAVAILABLE,
    )
    .await;
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "503 must come fast, took {:?}",
        started.elapsed()
    );
    assert_eq!(
        app.get(&c, "/health").await.status(),
        StatusCode::OK,
        "liveness never depends on the database"
    );
    let ready = problem_or_json(app.get(&c, "/ready").await, StatusCode::SERVICE_UNAVAILABLE).await;
    assert_eq!(ready["database"]["ok"], false);

    block_in_place(|| pg.restart()).unwrap();
    let took = eventually(
        &app,
        &c,
        "/api/regions",
        StatusCode::OK,
        Duration::from_secs(15),
    )
    .await;
    eprintln!("database recovery seen after {took:?}");
}

async fn problem_or_json(r: reqwest::Response, status: StatusCode) -> serde_json::Value {
    assert_eq!(r.status(), status);
    r.json().await.unwrap()
}
