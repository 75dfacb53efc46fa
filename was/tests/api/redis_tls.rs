//! Redis as the WAS meets it in AWS: ElastiCache with in-transit encryption and an AUTH
//! token (`rediss://`, `REDIS_PASSWORD`). A local redis-server with TLS (its certificate
//! from the test's own CA) and a password: the WAS is ready and keeps sessions there when
//! it trusts that CA and knows the token, and not ready (while still alive) when either
//! is wrong. Then the token's rotation as README gives it, ElastiCache's ROTATE then SET,
//! here as Redis ACL passwords: both tokens work, replicas move to the new one, the old
//! one stops working, and no session is lost on the way.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::json;
use stack::{Redis, TempDir};
use tokio::task::block_in_place;

use crate::database_tls::{make_ca, make_server_cert};
use crate::helpers::*;

const OLD: &str = "old-auth-token-0123456789abcdef";
const NEW: &str = "new-auth-token-fedcba9876543210";

/// Runs `command` on the plain port after AUTH with `password`; both must answer OK.
fn redis_admin(port: u16, password: &str, command: &[&str]) {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("redis plain port");
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    let mut out = Vec::new();
    for words in [&["AUTH", password][..], command] {
        out.extend(format!("*{}\r\n", words.len()).bytes());
        for w in words {
            out.extend(format!("${}\r\n{w}\r\n", w.len()).bytes());
        }
    }
    stream.write_all(&out).expect("write");
    let mut answer = Vec::new();
    let mut buf = [0u8; 256];
    while !String::from_utf8_lossy(&answer).ends_with("+OK\r\n+OK\r\n") {
        let n = stream.read(&mut buf).expect("redis answers");
        assert!(n > 0, "redis closed: {}", String::from_utf8_lossy(&answer));
        answer.extend(&buf[..n]);
        assert!(
            !answer.starts_with(b"-") && answer.len() < 4096,
            "{command:?}: {}",
            String::from_utf8_lossy(&answer)
        );
    }
}

/// `/ready`'s status once the replica's Redis pool has had its chance to connect.
async fn settled_ready(app: &TestApp, want: StatusCode) -> serde_json::Value {
    let started = Instant::now();
    loop {
        let r = app.get(&app.client(), "/ready").await;
        let status = r.status();
        let body: serde_json::Value = r.json().await.unwrap();
        if status == want || started.elapsed() > Duration::from_secs(10) {
            assert_eq!(status, want, "{body}");
            return body;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn settings<'a>(password: &'a str, ca: &'a Path) -> [(&'a str, &'a str); 2] {
    [
        ("REDIS_PASSWORD", password),
        ("REDIS_CA_FILE", ca.to_str().expect("utf-8 path")),
    ]
}

#[tokio::test(flavor = "multi_thread")]
async fn tls_and_auth_work_and_the_token_rotates_without_losing_a_session() {
    let dir = TempDir::new("upbrella-redis-tls").expect("temp dir");
    let tls = dir.path().join("tls");
    std::fs::create_dir_all(&tls).expect("tls dir");
    make_ca(&tls, "ours");
    make_ca(&tls, "other");
    make_server_cert(&tls, "ours");
    let ours = tls.join("ours-ca.crt");
    let other = tls.join("other-ca.crt");
    let plain = stack::free_port().expect("port");
    let tls_port = stack::free_port().expect("port");
    let path = |name: &str| tls.join(name).display().to_string();
    let args: Vec<String> = [
        "--tls-port",
        &tls_port.to_string(),
        "--tls-cert-file",
        &path("server.crt"),
        "--tls-key-file",
        &path("server.key"),
        "--tls-ca-cert-file",
        &path("ours-ca.crt"),
        // ElastiCache asks no client certificate either.
        "--tls-auth-clients",
        "no",
        "--requirepass",
        OLD,
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let _redis = block_in_place(|| Redis::start_configured(dir.path(), plain, None, args))
        .expect("redis-server with TLS (Debian's is built with it)");
    let url = format!("rediss://localhost:{tls_port}");
    let deps = deps().await;
    let database = fresh_database(&deps.pg_base).await;

    // The right CA and token: ready, and sessions live there.
    let app = spawn_on(&database, &url, &settings(OLD, &ours)).await;
    let body = settled_ready(&app, StatusCode::OK).await;
    assert_eq!(body["redis"]["ok"], true);
    let public = json_ok(app.get(&app.client(), "/api/ready").await, StatusCode::OK).await;
    assert_eq!(public["redis"], true);
    let (renter, _) = app.user().await;
    json_ok(app.get(&renter, "/api/me").await, StatusCode::OK).await;

    // A wrong token, or a server our CA did not sign: not ready, still alive (the load
    // balancer keeps it; the deploy's readiness check fails it).
    for (what, password, ca) in [
        ("wrong token", "not-the-token", &ours),
        ("other CA", OLD, &other),
    ] {
        let bad = spawn_on(&database, &url, &settings(password, ca)).await;
        let body = settled_ready(&bad, StatusCode::SERVICE_UNAVAILABLE).await;
        assert_eq!(body["redis"]["ok"], false, "{what}: {body}");
        assert_eq!(
            bad.get(&bad.client(), "/health").await.status(),
            StatusCode::OK,
            "{what}"
        );
        bad.stop().await;
    }
    // Plain redis:// to the TLS port is no Redis at all.
    let plaintext = spawn_on(
        &database,
        &format!("redis://localhost:{tls_port}"),
        &[("REDIS_PASSWORD", OLD)],
    )
    .await;
    settled_ready(&plaintext, StatusCode::SERVICE_UNAVAILABLE).await;
    plaintext.stop().await;

    // Rotation, step 1 (ElastiCache: ROTATE): the new token is added, the old one stays.
    block_in_place(|| {
        redis_admin(
            plain,
            OLD,
            &["ACL", "SETUSER", "default", &format!(">{NEW}")],
        )
    });
    // Step 2: the secret holds the new token; replicas started now use it. The old
    // replica and the new one serve the same sessions.
    let rotated = spawn_on(&database, &url, &settings(NEW, &ours)).await;
    settled_ready(&rotated, StatusCode::OK).await;
    json_ok(rotated.get(&renter, "/api/me").await, StatusCode::OK).await;
    json_ok(app.get(&renter, "/api/me").await, StatusCode::OK).await;
    app.stop().await;
    // Step 3 (ElastiCache: SET): only the new token.
    block_in_place(|| {
        redis_admin(
            plain,
            NEW,
            &["ACL", "SETUSER", "default", &format!("<{OLD}")],
        )
    });
    let late = spawn_on(&database, &url, &settings(OLD, &ours)).await;
    let body = settled_ready(&late, StatusCode::SERVICE_UNAVAILABLE).await;
    assert_eq!(
        body["redis"]["ok"], false,
        "the old token must stop working: {body}"
    );
    late.stop().await;
    let me = json_ok(rotated.get(&renter, "/api/me").await, StatusCode::OK).await;
    assert!(me["id"].is_i64(), "the session survived the rotation: {me}");
    let r = rotated.post(&renter, "/api/auth/logout", json!({})).await;
    assert!(r.status().is_success(), "{}", r.status());
}

/// A CA file that holds no certificate, or is not there, stops the start naming the
/// variable, instead of leaving a replica that can never reach Redis.
#[tokio::test]
async fn a_redis_ca_file_without_a_certificate_stops_the_start() {
    let dir = TempDir::new("upbrella-redis-ca").expect("temp dir");
    let not_pem = dir.path().join("not-a-certificate.pem");
    std::fs::write(&not_pem, "no certificate here\n").expect("write");
    let deps = deps().await;
    let database = fresh_database(&deps.pg_base).await;
    for path in [not_pem, dir.path().join("missing.pem")] {
        let mut env = base_env(&database, "rediss://localhost:6379");
        env.insert("REDIS_CA_FILE".into(), path.display().to_string());
        let config = was::Config::from_source(&env).expect("a valid configuration");
        let Err(error) = was::Application::build(config).await else {
            panic!("the WAS started with {}", path.display());
        };
        let error = error.to_string();
        assert!(error.starts_with("REDIS_CA_FILE"), "{error}");
    }
}
