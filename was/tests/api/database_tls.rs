//! PostgreSQL over TLS with the server's certificate checked (`sslmode=verify-full` and
//! a root certificate, as the task definitions set `PGSSLMODE` and `PGSSLROOTCERT` to the
//! RDS CA bundle): a local PostgreSQL with a certificate from its own CA is trusted with
//! that CA and refused with another, where `require` would have talked to it anyway.

use std::path::Path;
use std::process::Command;

use reqwest::StatusCode;
use sqlx::Connection;

use crate::helpers::*;

pub(crate) fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .current_dir(dir)
        .args(args)
        .output()
        .expect("openssl (scripts/test-deps.sh installs it)");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A CA (`{name}-ca.crt`), and with `server`, a certificate it signs for localhost and
/// 127.0.0.1 (`server.crt`, `server.key`).
pub(crate) fn make_ca(dir: &Path, name: &str) {
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
    ];
    let key = format!("{name}-ca.key");
    let crt = format!("{name}-ca.crt");
    let subject = format!("/CN=upbrella test CA {name}");
    let mut args = vec!["req", "-x509"];
    args.extend(ec);
    args.extend([
        "-keyout",
        &key,
        "-out",
        &crt,
        "-days",
        "2",
        "-subj",
        &subject,
        "-addext",
        "basicConstraints=critical,CA:TRUE",
        "-addext",
        "keyUsage=critical,keyCertSign,cRLSign",
    ]);
    openssl(dir, &args);
}

pub(crate) fn make_server_cert(dir: &Path, ca: &str) {
    std::fs::write(
        dir.join("server.ext"),
        "subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\n\
         keyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n",
    )
    .expect("extensions");
    let mut args = vec!["req"];
    args.extend([
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
    ]);
    args.extend([
        "-keyout",
        "server.key",
        "-out",
        "server.csr",
        "-subj",
        "/CN=localhost",
    ]);
    openssl(dir, &args);
    let ca_crt = format!("{ca}-ca.crt");
    let ca_key = format!("{ca}-ca.key");
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            &ca_crt,
            "-CAkey",
            &ca_key,
            "-CAcreateserial",
            "-out",
            "server.crt",
            "-days",
            "2",
            "-extfile",
            "server.ext",
        ],
    );
}

#[tokio::test]
async fn verify_full_trusts_only_the_servers_own_ca() {
    let dir = stack::TempDir::new("upbrella-pg-tls").expect("temp dir");
    let tls = dir.path().join("tls");
    std::fs::create_dir_all(&tls).expect("tls dir");
    make_ca(&tls, "ours");
    make_ca(&tls, "other");
    make_server_cert(&tls, "ours");
    let pg_dir = dir.path().join("pg");
    std::fs::create_dir_all(&pg_dir).expect("pg dir");
    // PostgreSQL reads its key only when it is private to its user.
    std::fs::rename(tls.join("server.key"), pg_dir.join("server.key")).expect("move key");
    std::fs::copy(tls.join("server.crt"), pg_dir.join("server.crt")).expect("copy cert");
    let path = pg_dir.clone();
    let pg = tokio::task::spawn_blocking(move || stack::Postgres::start(&path))
        .await
        .expect("join")
        .expect("start postgres");
    let key = pg_dir.join("server.key");
    Command::new("chmod")
        .arg("600")
        .arg(&key)
        .status()
        .expect("chmod");
    let superuser = format!("postgres://postgres@127.0.0.1:{}/postgres", pg.port());
    let admin = sqlx::PgPool::connect(&superuser).await.expect("superuser");
    for setting in [
        format!(
            "ALTER SYSTEM SET ssl_cert_file = '{}'",
            pg_dir.join("server.crt").display()
        ),
        format!("ALTER SYSTEM SET ssl_key_file = '{}'", key.display()),
        "ALTER SYSTEM SET ssl = on".to_owned(),
    ] {
        sqlx::query(&setting)
            .execute(&admin)
            .await
            .expect("TLS setting");
    }
    sqlx::query("SELECT pg_reload_conf()")
        .execute(&admin)
        .await
        .expect("reload");
    sqlx::query("CREATE DATABASE upbrella")
        .execute(&admin)
        .await
        .expect("database");
    admin.close().await;
    migrate_as_owner(&format!(
        "postgres://postgres@127.0.0.1:{}/upbrella",
        pg.port()
    ))
    .await;

    let ours = tls.join("ours-ca.crt");
    let other = tls.join("other-ca.crt");
    let url = |host: &str, mode: &str, root: &Path| {
        format!(
            "postgres://{APP_ROLE}:{APP_ROLE_PASSWORD}@{host}:{}/upbrella?sslmode={mode}&sslrootcert={}",
            pg.port(),
            root.display()
        )
    };
    // Wait until the reload has turned TLS on.
    let mut tries = 0;
    loop {
        match sqlx::PgConnection::connect(&url("localhost", "verify-full", &ours)).await {
            Ok(c) => {
                c.close().await.ok();
                break;
            }
            Err(e) if tries < 50 => {
                tries += 1;
                tracing::debug!(error = %e, "TLS not on yet");
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
            Err(e) => panic!("verify-full with the right CA failed: {e}"),
        }
    }
    // The bundle the image ships (every Amazon RDS root) loads in our TLS stack: with our
    // CA appended, it still verifies.
    let bundle = std::fs::read_to_string(
        stack::topology::workspace_root().join("docker/rds-ca/rds-ca-bundle.pem"),
    )
    .expect("the RDS CA bundle");
    assert!(bundle.contains("BEGIN CERTIFICATE"));
    let with_rds = tls.join("rds-and-ours.pem");
    std::fs::write(
        &with_rds,
        format!(
            "{bundle}{}",
            std::fs::read_to_string(&ours).expect("our CA")
        ),
    )
    .expect("write bundle");
    sqlx::PgConnection::connect(&url("localhost", "verify-full", &with_rds))
        .await
        .expect("the RDS bundle loads beside our CA");
    let rds_only = tls.join("rds-only.pem");
    std::fs::write(&rds_only, &bundle).expect("write bundle");
    let Err(not_ours) =
        sqlx::PgConnection::connect(&url("localhost", "verify-full", &rds_only)).await
    else {
        panic!("the RDS roots trusted a server they did not sign");
    };
    let message = not_ours.to_string().to_lowercase();
    assert!(
        message.contains("certificate") || message.contains("issuer"),
        "{message}"
    );
    // The same check by address.
    sqlx::PgConnection::connect(&url("127.0.0.1", "verify-full", &ours))
        .await
        .expect("the certificate names 127.0.0.1 too");

    // Someone else answering (a certificate our CA did not sign): refused under
    // verify-full, accepted under require, which is why require is not enough.
    let Err(refused) = sqlx::PgConnection::connect(&url("localhost", "verify-full", &other)).await
    else {
        panic!("a server outside our CA was trusted");
    };
    let refused = refused.to_string().to_lowercase();
    assert!(
        refused.contains("certificate") || refused.contains("issuer"),
        "{refused}"
    );
    sqlx::PgConnection::connect(&url("localhost", "require", &other))
        .await
        .expect("require checks nothing");

    // The WAS itself: ready with its CA, not ready (and saying so) with another.
    let deps = deps().await;
    let owner_url = format!("postgres://postgres@127.0.0.1:{}/upbrella", pg.port());
    let good = spawn_as(
        &owner_url,
        &url("localhost", "verify-full", &ours),
        &deps.redis_url,
        &[],
    )
    .await;
    assert_eq!(
        good.get(&good.client(), "/ready").await.status(),
        StatusCode::OK
    );
    good.stop().await;
    let bad = spawn_as(
        &owner_url,
        &url("localhost", "verify-full", &other),
        &deps.redis_url,
        &[],
    )
    .await;
    assert_eq!(
        bad.get(&bad.client(), "/ready").await.status(),
        StatusCode::SERVICE_UNAVAILABLE
    );
    assert_eq!(
        bad.get(&bad.client(), "/health").await.status(),
        StatusCode::OK
    );
    bad.stop().await;
    drop(pg);
}
