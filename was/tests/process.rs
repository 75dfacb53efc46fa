#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The `was` binary as a real process: its command line, migrations, two replicas
//! sharing sessions, the container health check, and graceful shutdown.

#[path = "api/helpers.rs"]
mod helpers;

use std::net::SocketAddr;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use helpers::*;
use reqwest::StatusCode;
use serde_json::{Value, json};
use stack::process::{Process, Spec};

const WAS: &str = env!("CARGO_BIN_EXE_was");

struct Replica {
    process: Process,
    addr: SocketAddr,
    _logs: stack::TempDir,
}

impl Replica {
    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }
}

fn replica(name: &str, database_url: &str, redis_url: &str, extra: &[(&str, &str)]) -> Replica {
    let logs = stack::TempDir::new("upbrella-was-log").unwrap();
    let port = stack::free_port().unwrap();
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let mut spec = Spec::new(name, Path::new(WAS))
        .env("WAS_LISTEN_ADDR", addr.to_string())
        .env("WAS_ADMIN_ADDR", "127.0.0.1:0")
        .env("WAS_INSTANCE_ID", name)
        .env("DATABASE_URL", database_url)
        .env("REDIS_URL", redis_url)
        .env("BANK_ENCRYPTION_KEY", KEY_HEX)
        .env("SERVER_HMAC_KEY", HMAC_KEY_HEX)
        .env("LOG_FORMAT", "json")
        .log(logs.path().join("was.log"));
    for (k, v) in extra {
        spec = spec.env(*k, *v);
    }
    let process = Process::spawn(spec).unwrap();
    // A blocking wait: off the async runtime's threads when called from a test's runtime.
    let started = tokio::task::block_in_place(|| {
        stack::wait_http_ok(addr, "/health", Duration::from_secs(20))
    });
    if let Err(e) = started {
        panic!("{name} did not start: {e}\n{}", process.log_tail(30));
    }
    Replica {
        process,
        addr,
        _logs: logs,
    }
}

fn was(args: &[&str], env: &[(&str, &str)]) -> std::process::Output {
    let mut cmd = Command::new(WAS);
    cmd.args(args)
        .env_remove("DATABASE_URL")
        .env_remove("REDIS_URL")
        .env_remove("BANK_ENCRYPTION_KEY")
        .env("WAS_ADMIN_ADDR", "127.0.0.1:0");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

#[test]
fn help_lists_the_commands_and_every_variable_and_unknown_arguments_fail() {
    let out = was(&["--help"], &[]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    for word in ["serve", "migrate", "healthcheck"] {
        assert!(text.contains(word), "help mentions {word}");
    }
    for var in was::config::VARS {
        assert!(text.contains(var.name), "help lists {}", var.name);
    }
    let out = was(&["--version"], &[]);
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        concat!("was ", env!("CARGO_PKG_VERSION"))
    );
    for unknown in [
        &["frobnicate"][..],
        &["--frobnicate"],
        &["serve", "--port", "1"],
    ] {
        let out = was(unknown, &[]);
        assert_eq!(out.status.code(), Some(2), "{unknown:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("unrecognized subcommand") || err.contains("unexpected argument"),
            "{err}"
        );
    }
}

#[test]
fn a_missing_setting_is_named_and_stops_the_process() {
    let out = was(
        &["serve"],
        &[
            ("REDIS_URL", "redis://127.0.0.1:1"),
            ("BANK_ENCRYPTION_KEY", KEY_HEX),
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("DATABASE_URL"), "{err}");
    let out = was(
        &["serve"],
        &[
            ("DATABASE_URL", "postgres://x/y"),
            ("REDIS_URL", "redis://127.0.0.1:1"),
            ("BANK_ENCRYPTION_KEY", "short"),
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("BANK_ENCRYPTION_KEY"));
}

/// A set variable with one of the WAS's prefixes that no setting reads (a typo) is named
/// in the log; the replica still starts with the settings it knows.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_setting_is_logged_as_a_warning() {
    let deps = deps().await;
    let db = fresh_database(&deps.pg_base).await;
    let a = replica(
        "was-typo",
        &db,
        &deps.redis_url,
        &[("QR_LEGACY_CODE", "refuse"), ("QR_LEGACY_CODES", "refuse")],
    );
    let logged = |name: &str| {
        a.process
            .log_tail(50)
            .lines()
            .any(|l| l.contains(&format!("\"{name}\"")) && l.contains("not a setting"))
    };
    assert!(logged("QR_LEGACY_CODE"), "{}", a.process.log_tail(20));
    assert!(
        !logged("QR_LEGACY_CODES"),
        "known settings are not reported"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_serve_one_user_interchangeably() {
    let deps = deps().await;
    let db = fresh_database(&deps.pg_base).await;
    let a = replica("was-a", &db, &deps.redis_url, &[]);
    let b = replica("was-b", &db, &deps.redis_url, &[]);
    let client = reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .unwrap();
    // Cookies are per host, and both replicas are 127.0.0.1: one jar, two servers.
    let r = client
        .post(a.url("/api/auth/signup"))
        .json(&json!({"email": "both@example.com", "password": "password123", "name": "김", "phone": "01012345678", "agree_terms": true, "agree_privacy": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    assert_eq!(r.headers()["x-upbrella-instance"], "was-a");
    let mut seen = std::collections::BTreeSet::new();
    for replica in [&a, &b, &a, &b] {
        let r = client.get(replica.url("/api/me")).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        seen.insert(
            r.headers()["x-upbrella-instance"]
                .to_str()
                .unwrap()
                .to_owned(),
        );
        let me: Value = r.json().await.unwrap();
        assert_eq!(me["email"], "both@example.com");
    }
    assert_eq!(seen.len(), 2, "both replicas served the session");
    // Logging out on one ends the session on the other.
    assert_eq!(
        client
            .post(b.url("/api/auth/logout"))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        client.get(a.url("/api/me")).send().await.unwrap().status(),
        StatusCode::UNAUTHORIZED
    );
    // JSON log lines with the request id.
    let log = a.process.log_tail(200);
    let line = log
        .lines()
        .find(|l| l.contains("\"request_id\"") && l.contains("\"status\""))
        .expect("a JSON access log line");
    let parsed: Value = serde_json::from_str(line).expect("log lines are JSON");
    assert!(parsed["duration_ms"].is_number());
    assert_eq!(parsed["target"], "access");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_migrations_do_not_race() {
    let deps = deps().await;
    let name = format!("m_{}", uuid::Uuid::new_v4().simple());
    let admin = sqlx::PgPool::connect(&format!("{}/postgres", deps.pg_base))
        .await
        .unwrap();
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&admin)
        .await
        .unwrap();
    let url = format!("{}/{name}", deps.pg_base);
    let env = [
        ("DATABASE_URL", url.as_str()),
        ("REDIS_URL", "redis://127.0.0.1:1"),
        ("BANK_ENCRYPTION_KEY", KEY_HEX),
    ];
    let handles: Vec<_> = (0..3)
        .map(|_| {
            let env: Vec<(String, String)> = env
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect();
            std::thread::spawn(move || {
                let env: Vec<(&str, &str)> =
                    env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
                was(&["migrate"], &env)
            })
        })
        .collect();
    for h in handles {
        let out = h.join().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stdout)
        );
    }
    let pool = sqlx::PgPool::connect(&url).await.unwrap();
    let applied: i64 = sqlx::query_scalar("SELECT count(*) FROM _sqlx_migrations WHERE success")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(applied as usize, was::migrate::MIGRATOR.iter().count());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_healthcheck_subcommand_reflects_the_local_server() {
    let deps = deps().await;
    let db = fresh_database(&deps.pg_base).await;
    let r = replica("was-hc", &db, &deps.redis_url, &[]);
    let listen = r.addr.to_string();
    let out = was(&["healthcheck"], &[("WAS_LISTEN_ADDR", &listen)]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    r.process.pause().unwrap();
    let started = Instant::now();
    let out = was(&["healthcheck"], &[("WAS_LISTEN_ADDR", &listen)]);
    assert_eq!(out.status.code(), Some(1), "a hung server is unhealthy");
    assert!(started.elapsed() < Duration::from_secs(5));
    r.process.resume().unwrap();
    let free = format!("127.0.0.1:{}", stack::free_port().unwrap());
    assert_eq!(
        was(&["healthcheck"], &[("WAS_LISTEN_ADDR", &free)])
            .status
            .code(),
        Some(1)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_finishes_in_flight_requests_then_exits() {
    let deps = deps().await;
    let db = fresh_database(&deps.pg_base).await;
    let mut r = replica(
        "was-drain",
        &db,
        &deps.redis_url,
        &[("WAS_SHUTDOWN_GRACE", "20s")],
    );
    let pool = sqlx::PgPool::connect(&db).await.unwrap();
    let app = TestAppLite { pool: pool.clone() };
    let (store, umbrella) = app.fixture().await;
    let client = reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .unwrap();
    let signup = client
        .post(r.url("/api/auth/signup"))
        .json(&json!({"email": "drain@example.com", "password": "password123", "name": "김", "phone": "01012345678", "agree_terms": true, "agree_privacy": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(signup.status(), StatusCode::CREATED);

    // Hold the umbrella's row lock so the rent request stays in flight.
    let mut lock = pool.begin().await.unwrap();
    sqlx::query("SELECT 1 FROM umbrellas WHERE id = $1 FOR UPDATE")
        .bind(umbrella)
        .execute(&mut *lock)
        .await
        .unwrap();
    let code = code_for(was::domain::codes::Subject::Umbrella(umbrella));
    let rent = {
        let client = client.clone();
        let url = r.url("/api/rentals");
        tokio::spawn(async move {
            client
                .post(url)
                .json(&json!({"umbrella_id": umbrella, "store_id": store, "code": code}))
                .send()
                .await
        })
    };
    // In flight: the rent's transaction waits on the umbrella's row lock.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let waiting: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE '%umbrellas%'",
        )
        .fetch_one(&pool)
        .await
        .unwrap();
        if waiting > 0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the rent request never reached the lock"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    r.process.signal(stack::Signal::TERM).unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        r.process.is_running(),
        "still draining the in-flight request"
    );
    let fresh = reqwest::Client::new()
        .get(r.url("/health"))
        .timeout(Duration::from_secs(2))
        .send()
        .await;
    assert!(fresh.is_err(), "no new connections once draining");
    lock.rollback().await.unwrap();
    let response = rent
        .await
        .unwrap()
        .expect("the in-flight request completes");
    assert_eq!(response.status(), StatusCode::CREATED);
    assert!(
        r.process.wait_exit(Duration::from_secs(10)),
        "exits once drained"
    );
}

struct TestAppLite {
    pool: sqlx::PgPool,
}

impl TestAppLite {
    async fn fixture(&self) -> (i64, i64) {
        let region: i64 = sqlx::query_scalar("INSERT INTO classifications (kind, name, latitude, longitude) VALUES ('region', 'r', 0, 0) RETURNING id")
            .fetch_one(&self.pool)
            .await
            .unwrap();
        let store: i64 = sqlx::query_scalar("INSERT INTO stores (region_id, name, category, latitude, longitude, activated) VALUES ($1, 's', 'c', 0, 0, true) RETURNING id")
            .bind(region)
            .fetch_one(&self.pool)
            .await
            .unwrap();
        let umbrella: i64 = sqlx::query_scalar(
            "INSERT INTO umbrellas (store_id, number) VALUES ($1, 1) RETURNING id",
        )
        .bind(store)
        .fetch_one(&self.pool)
        .await
        .unwrap();
        (store, umbrella)
    }
}

/// ECS passes RDS's managed credentials as libpq's `PG*` variables and the ElastiCache
/// AUTH token as `REDIS_PASSWORD`, neither inside a URL. Both paths against real servers:
/// a Redis that requires a password, and PostgreSQL reached without `DATABASE_URL`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credentials_can_come_from_pg_variables_and_redis_password() {
    let deps = deps().await;
    let database = fresh_database(&deps.pg_base).await;
    let pg = url::Url::parse(&database).unwrap();
    let dir = stack::TempDir::new("upbrella-auth-redis").unwrap();
    let redis_port = stack::free_port().unwrap();
    let redis_bin = stack::find_program("redis-server", None, &[]).unwrap();
    let _redis = Process::spawn(
        Spec::new("redis-auth", &redis_bin)
            .args([
                "--port",
                &redis_port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--requirepass",
                "s3cret",
            ])
            .log(dir.path().join("redis.log")),
    )
    .unwrap();
    let redis_url = format!("redis://127.0.0.1:{redis_port}");
    let pg_port = pg.port().unwrap_or(5432).to_string();
    let pg_env = [
        ("PGHOST", pg.host_str().unwrap()),
        ("PGPORT", pg_port.as_str()),
        ("PGUSER", pg.username()),
        ("PGDATABASE", pg.path().trim_start_matches('/')),
    ];
    let mut env: Vec<(&str, &str)> = pg_env.to_vec();
    env.push(("REDIS_PASSWORD", "s3cret"));
    // An empty DATABASE_URL counts as unset, so the PG* variables are used.
    let good = replica("was-pgvars", "", &redis_url, &env);
    let client = reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .unwrap();
    let ready = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            let r = client.get(good.url("/ready")).send().await.unwrap();
            if r.status() == StatusCode::OK {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
    .await;
    assert!(
        ready.is_ok(),
        "ready with PG* variables and the Redis password"
    );
    let r = client
        .post(good.url("/api/auth/signup"))
        .json(&json!({"email": "pgvars@example.com", "password": "password123", "name": "김", "phone": "01012345678", "agree_terms": true, "agree_privacy": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        StatusCode::CREATED,
        "a session was stored in the password-protected Redis"
    );
    assert_eq!(
        client
            .get(good.url("/api/me"))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );

    let mut wrong = pg_env.to_vec();
    wrong.push(("REDIS_PASSWORD", "wrong"));
    let bad = replica("was-badpass", "", &redis_url, &wrong);
    // Ready reports each dependency once the replica has tried them.
    let deadline = Instant::now() + Duration::from_secs(10);
    let body: Value = loop {
        let r = reqwest::get(bad.url("/ready")).await.unwrap();
        assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
        let body: Value = r.json().await.unwrap();
        if body["database"]["ok"] == true || Instant::now() >= deadline {
            break body;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(
        body["redis"]["ok"], false,
        "a wrong Redis password is not ready: {body}"
    );
    assert_eq!(body["database"]["ok"], true);
}

/// The stack and ECS start `was migrate` together with PostgreSQL: it waits for the
/// database (refused connections, then "starting up") instead of failing at once.
#[test]
fn migrate_waits_for_a_database_that_is_still_starting() {
    let dir = stack::TempDir::new("upbrella-late-pg").unwrap();
    let port = stack::free_port().unwrap();
    let url = format!("postgres://postgres@127.0.0.1:{port}/postgres");
    let migrate = {
        let url = url.clone();
        std::thread::spawn(move || {
            let started = Instant::now();
            let out = was(
                &["migrate"],
                &[
                    ("DATABASE_URL", &url),
                    ("REDIS_URL", "redis://127.0.0.1:1"),
                    ("BANK_ENCRYPTION_KEY", KEY_HEX),
                ],
            );
            (out, started.elapsed())
        })
    };
    // The scenario: PostgreSQL comes up 1.5 s after the migration started.
    std::thread::sleep(Duration::from_millis(1500));
    let _pg = stack::Postgres::start_on(dir.path(), port).unwrap();
    let (out, took) = migrate.join().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(
        took >= Duration::from_millis(1500),
        "it waited for the database ({took:?})"
    );
}

/// A new installation's first admin comes from the command line (a one-off task), and
/// the same command grants and revokes admin rights later.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_first_admin_is_created_and_revoked_from_the_command_line() {
    let deps = deps().await;
    let database = fresh_database(&deps.pg_base).await;
    let create = [
        "admin",
        "create",
        "--email",
        "Boss@Example.com",
        "--name",
        "관리자",
        "--phone",
        "010-1234-5678",
    ];
    let run = |args: &[&str], env: &[(&str, &str)]| {
        let mut all = vec![("DATABASE_URL", database.as_str())];
        all.extend_from_slice(env);
        tokio::task::block_in_place(|| was(args, &all))
    };
    let out = run(&create, &[]);
    assert_eq!(out.status.code(), Some(2), "no password, no admin");
    assert!(String::from_utf8_lossy(&out.stderr).contains("WAS_ADMIN_PASSWORD"));
    let password = ("WAS_ADMIN_PASSWORD", "correct horse battery");
    let out = run(&create, &[password]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("관리자 계정을 만들었습니다"));
    // Running it again finds the account: refused, with what the operator needs to
    // judge whose it is; --promote (the address is verified: the operator typed it)
    // keeps its password.
    let again = run(&create, &[("WAS_ADMIN_PASSWORD", "another password")]);
    assert_eq!(again.status.code(), Some(1));
    let said = String::from_utf8_lossy(&again.stderr);
    assert!(
        said.contains("계정이 이미 있습니다") && said.contains("가입 ") && said.contains("KST"),
        "{said}"
    );
    let mut promote = create.to_vec();
    promote.push("--promote");
    let again = run(&promote, &[("WAS_ADMIN_PASSWORD", "another password")]);
    assert!(
        again.status.success(),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
    assert!(
        String::from_utf8_lossy(&again.stdout).contains("비밀번호는 바꾸지 않았습니다"),
        "--promote keeps the account's password"
    );

    let app = spawn_on(&database, &deps.redis_url, &[]).await;
    // Someone signs up first with an operator's address: neither create, nor
    // --promote, nor grant makes that unverified account an admin.
    let squatter = app.client();
    json_ok(
        app.post(
            &squatter,
            "/api/auth/signup",
            json!({"email": "ops@example.com", "password": "squatter pw 1", "name": "가짜", "phone": "010-9999-9999", "agree_terms": true, "agree_privacy": true}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let ops = [
        "admin",
        "create",
        "--email",
        "ops@example.com",
        "--name",
        "운영",
        "--phone",
        "010-1111-1111",
    ];
    let out = run(&ops, &[password]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("확인 안 됨"));
    let mut ops_promote = ops.to_vec();
    ops_promote.push("--promote");
    let out = run(&ops_promote, &[password]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("확인되지 않아"));
    let out = run(&["admin", "grant", "ops@example.com"], &[]);
    assert_eq!(out.status.code(), Some(1));
    problem(
        app.get(&squatter, "/api/admin/users").await,
        StatusCode::FORBIDDEN,
    )
    .await;
    let c = app.client();
    let login = json!({"email": "boss@example.com", "password": "correct horse battery"});
    json_ok(app.post(&c, "/api/auth/login", login).await, StatusCode::OK).await;
    json_ok(app.get(&c, "/api/admin/users").await, StatusCode::OK).await;

    let out = run(&["admin", "revoke", "boss@example.com"], &[]);
    assert!(out.status.success());
    problem(app.get(&c, "/api/admin/users").await, StatusCode::FORBIDDEN).await;
    let out = run(&["admin", "grant", "nobody@example.com"], &[]);
    assert_eq!(out.status.code(), Some(1), "no such account");
    let out = run(&["admin", "grant", "not an address"], &[]);
    assert_eq!(out.status.code(), Some(2), "bad input");
    // Other roles: staff need stores that exist; a clerk handles money, not rights.
    let out = run(
        &["admin", "grant", "--role", "staff", "boss@example.com"],
        &[],
    );
    assert_eq!(out.status.code(), Some(2), "staff without a store");
    assert!(String::from_utf8_lossy(&out.stderr).contains("--store"));
    let out = run(
        &[
            "admin",
            "grant",
            "--role",
            "staff",
            "--store",
            "987654",
            "boss@example.com",
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(2), "no such store");
    let out = run(
        &["admin", "grant", "--role", "clerk", "boss@example.com"],
        &[],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("보증금 담당"));
    let c = app.client();
    let login = json!({"email": "boss@example.com", "password": "correct horse battery"});
    json_ok(app.post(&c, "/api/auth/login", login).await, StatusCode::OK).await;
    json_ok(
        app.get(&c, "/api/admin/deposits/summary").await,
        StatusCode::OK,
    )
    .await;
    let refused = problem(app.get(&c, "/api/admin/users").await, StatusCode::FORBIDDEN).await;
    assert_eq!(refused["code"], "role_forbidden");
    // Every change of rights from the command line is in the operator action log.
    let logged: Vec<(String, String)> = sqlx::query_as(
        "SELECT action, actor_name FROM operator_actions WHERE target_kind = 'user' ORDER BY id",
    )
    .fetch_all(&app.db)
    .await
    .unwrap();
    let expected = [
        "user.create_admin",
        "user.set_role",
        "user.revoke_role",
        "user.set_role",
    ];
    assert_eq!(
        logged.iter().map(|(a, _)| a.as_str()).collect::<Vec<_>>(),
        expected
    );
    assert!(logged.iter().all(|(_, who)| who == "was admin"));
}
