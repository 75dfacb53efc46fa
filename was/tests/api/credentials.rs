//! The WAS's database role and credentials: least privilege, and a credential that
//! changes under a running replica without costing a request.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use axum::http::HeaderMap;
use reqwest::StatusCode;
use sqlx::PgPool;
use stack::TempDir;

use crate::helpers::*;

async fn sqlstate(db: &PgPool, statement: &str) -> Option<String> {
    match sqlx::raw_sql(statement).execute(db).await {
        Ok(_) => None,
        Err(sqlx::Error::Database(e)) => e.code().map(|c| c.into_owned()),
        Err(e) => panic!("{statement}: {e}"),
    }
}

#[tokio::test]
async fn the_application_role_reads_and_writes_rows_but_cannot_change_the_schema() {
    let deps = deps().await;
    let owner_url = fresh_database(&deps.pg_base).await;
    let app = PgPool::connect(&as_role(&owner_url, APP_ROLE, Some(APP_ROLE_PASSWORD)))
        .await
        .expect("connect as the application role");

    for denied in [
        "CREATE TABLE stolen (id int)",
        "ALTER TABLE users ADD COLUMN extra int",
        "DROP TABLE rentals",
        "TRUNCATE users",
        "CREATE INDEX users_name ON users (name)",
        "CREATE FUNCTION f() RETURNS int LANGUAGE sql AS 'SELECT 1'",
        "DELETE FROM _sqlx_migrations",
        "UPDATE _sqlx_migrations SET success = true",
        "SELECT description, checksum FROM _sqlx_migrations",
    ] {
        assert_eq!(
            sqlstate(&app, denied).await.as_deref(),
            Some("42501"),
            "{denied:?} must be refused with insufficient_privilege"
        );
    }
    for allowed in [
        "SELECT count(*) FROM users",
        "INSERT INTO classifications (kind, name, latitude, longitude) VALUES ('region', '권한 시험', 37.5, 127.0)",
        "UPDATE classifications SET name = '권한 시험 2' WHERE name = '권한 시험'",
        "DELETE FROM classifications WHERE name = '권한 시험 2'",
        // Which migrations ran, for /api/ready, and nothing else of the history.
        "SELECT max(version) FROM _sqlx_migrations WHERE success",
    ] {
        assert_eq!(sqlstate(&app, allowed).await, None, "{allowed:?}");
    }
    app.close().await;

    // The same statement as the owner succeeds: the refusals above are about the role.
    let owner = PgPool::connect(&owner_url).await.expect("owner");
    assert_eq!(
        sqlstate(&owner, "ALTER TABLE users ADD COLUMN extra int").await,
        None
    );
    owner.close().await;
}

/// The rotation as it is done: the new password goes to the secret (here the file the WAS
/// reads) and `was migrate` sets it on the role, while requests keep coming; then every
/// connection the WAS had ends and new ones must log in. No request may fail.
#[tokio::test]
async fn a_password_rotation_under_load_costs_no_request() {
    let deps = deps().await;
    let owner_url = fresh_database(&deps.pg_base).await;
    let owner = PgPool::connect(&owner_url).await.expect("owner");
    // A role of its own: the shared one must not change under the other tests.
    let role = format!("app_{}", &uuid::Uuid::new_v4().simple().to_string()[..12]);
    provision(&owner, &role, "first-password").await;
    let dir = TempDir::new("upbrella-dbpass").expect("temp dir");
    let file = dir.path().join("password");
    std::fs::write(&file, "first-password\n").expect("write password file");

    let app = spawn_as(
        &owner_url,
        &as_role(&owner_url, &role, None),
        &deps.redis_url,
        &[
            ("DATABASE_PASSWORD_FILE", file.to_str().expect("utf-8 path")),
            ("DATABASE_CREDENTIALS_REFRESH", "50ms"),
        ],
    )
    .await;

    let stop = Arc::new(AtomicBool::new(false));
    let (ok, failed) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let load = tokio::spawn({
        let (stop, ok, failed) = (stop.clone(), ok.clone(), failed.clone());
        let (client, url) = (app.client(), app.url("/api/regions"));
        async move {
            while !stop.load(Ordering::Relaxed) {
                match client.get(&url).send().await {
                    Ok(r) if r.status() == StatusCode::OK => ok.fetch_add(1, Ordering::Relaxed),
                    _ => failed.fetch_add(1, Ordering::Relaxed),
                };
            }
        }
    });
    wait_for(
        || async { ok.load(Ordering::Relaxed) >= 20 },
        "the first requests",
    )
    .await;

    let before = app.credentials.generation();
    let next = dir.path().join("password.next");
    std::fs::write(&next, "second-password\n").expect("write");
    std::fs::rename(&next, &file).expect("replace the password file");
    provision(&owner, &role, "second-password").await;
    wait_for(
        || async { app.credentials.generation() > before },
        "the WAS to read the new password",
    )
    .await;

    stop.store(true, Ordering::Relaxed);
    load.await.expect("load loop");
    assert_eq!(
        failed.load(Ordering::Relaxed),
        0,
        "requests failed during the rotation ({} succeeded)",
        ok.load(Ordering::Relaxed)
    );

    // The connections from before the change end (recycled, or the database restarted);
    // the ones that replace them log in with the new password.
    let killed: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = $1) t",
    )
    .bind(&role)
    .fetch_one(&owner)
    .await
    .expect("terminate");
    assert!(killed >= 1, "the WAS had no connection to lose");
    let client = app.client();
    for i in 0..50 {
        let r = app.get(&client, "/api/regions").await;
        assert_eq!(
            r.status(),
            StatusCode::OK,
            "request {i} after the old connections ended"
        );
    }
    let reconnected: i64 =
        sqlx::query_scalar("SELECT count(*) FROM pg_stat_activity WHERE usename = $1")
            .bind(&role)
            .fetch_one(&owner)
            .await
            .expect("count connections");
    assert!(reconnected >= 1, "the WAS did not reconnect");
    owner.close().await;
}

/// With RDS IAM authentication the token is signed with the task role's credentials,
/// fetched from the container credentials endpoint (here a local one) with its
/// authorization token, and cached until five minutes before they expire.
#[tokio::test]
async fn iam_credentials_come_from_the_container_endpoint_and_are_cached() {
    for (valid_for, expect_refetch) in [
        (time::Duration::hours(6), false),
        (time::Duration::minutes(2), true),
    ] {
        let hits = Arc::new(AtomicU64::new(0));
        let endpoint = {
            let hits = hits.clone();
            let expires = (time::OffsetDateTime::now_utc() + valid_for)
                .format(&time::format_description::well_known::Rfc3339)
                .expect("format");
            axum::Router::new().route(
                "/v2/credentials/task",
                axum::routing::get(move |headers: HeaderMap| {
                    let hits = hits.clone();
                    let expires = expires.clone();
                    async move {
                        if headers.get("authorization").and_then(|v| v.to_str().ok())
                            != Some("local-auth-token")
                        {
                            return (StatusCode::UNAUTHORIZED, String::new());
                        }
                        hits.fetch_add(1, Ordering::Relaxed);
                        (
                            StatusCode::OK,
                            serde_json::json!({
                                "AccessKeyId": "ASIAEXAMPLE",
                                "SecretAccessKey": "secret",
                                "Token": "session",
                                "Expiration": expires,
                                "RoleArn": "arn:aws:iam::123456789012:role/upbrella-was-task"
                            })
                            .to_string(),
                        )
                    }
                }),
            )
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let server = tokio::spawn(async move { axum::serve(listener, endpoint).await });

        let deps = deps().await;
        let owner_url = fresh_database(&deps.pg_base).await;
        let credentials_url = format!("http://{addr}/v2/credentials/task");
        let app = spawn_as(
            &owner_url,
            &as_role(&owner_url, APP_ROLE, None),
            &deps.redis_url,
            &[
                ("DATABASE_AUTH", "rds-iam"),
                ("AWS_REGION", "ap-northeast-2"),
                ("AWS_CONTAINER_CREDENTIALS_FULL_URI", &credentials_url),
                ("AWS_CONTAINER_AUTHORIZATION_TOKEN", "local-auth-token"),
                ("DATABASE_CREDENTIALS_REFRESH", "20ms"),
            ],
        )
        .await;
        if expect_refetch {
            // Short-lived credentials are due again at the first refresh, which may
            // already have run while the app was starting.
            assert!(hits.load(Ordering::Relaxed) >= 1, "fetched at start");
            wait_for(|| async { hits.load(Ordering::Relaxed) >= 3 }, "refetches").await;
        } else {
            assert_eq!(hits.load(Ordering::Relaxed), 1, "fetched once at start");
            // Twenty refreshes' worth: tokens are minted, the credentials reused.
            let started = Instant::now();
            wait_for(
                || async { started.elapsed() > Duration::from_millis(400) },
                "refreshes",
            )
            .await;
            assert_eq!(
                hits.load(Ordering::Relaxed),
                1,
                "credentials refetched early"
            );
        }
        // PostgreSQL here cannot check an IAM token: readiness says so, health does not care.
        assert_eq!(
            app.get(&app.client(), "/ready").await.status(),
            StatusCode::SERVICE_UNAVAILABLE
        );
        assert_eq!(
            app.get(&app.client(), "/health").await.status(),
            StatusCode::OK
        );
        app.stop().await;
        server.abort();
    }
}

async fn wait_for<F, Fut>(mut condition: F, what: &str)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + Duration::from_secs(10);
    while !condition().await {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}
