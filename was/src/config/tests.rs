use super::*;
use std::collections::HashMap;

use crate::aws::AwsCredentialSource;
use crate::dbauth::DatabaseAuth;

/// Configurations that between them take every branch that reads a variable.
fn every_branch() -> Vec<HashMap<&'static str, &'static str>> {
    let mut kakao = base();
    kakao.extend([
        ("KAKAO_CLIENT_ID", "id"),
        (
            "KAKAO_REDIRECT_URI",
            "https://example.test/api/auth/kakao/callback",
        ),
        ("RETURN_WEBHOOK_URL", "http://127.0.0.1:1/hook"),
        (
            "QR_SIGNING_KEY",
            "1f1e1d1c1b1a191817161514131211100f0e0d0c0b0a09080706050403020100",
        ),
        ("QR_LEGACY_CODES", "accept"),
        ("QR_LEGACY_UNTIL", "2026-12-31"),
        ("PUBLIC_URL", "https://upbrella.example"),
    ]);
    let mut iam_static = base();
    iam_static.extend([
        ("DATABASE_AUTH", "rds-iam"),
        ("AWS_REGION", "ap-northeast-2"),
        ("AWS_ACCESS_KEY_ID", "AKID"),
        ("AWS_SECRET_ACCESS_KEY", "secret"),
    ]);
    let mut iam_full = base();
    iam_full.extend([
        ("DATABASE_AUTH", "rds-iam"),
        ("AWS_DEFAULT_REGION", "ap-northeast-2"),
        (
            "AWS_CONTAINER_CREDENTIALS_FULL_URI",
            "http://127.0.0.1:1/creds",
        ),
    ]);
    let mut file_role = base();
    file_role.extend([
        ("DATABASE_PASSWORD_FILE", "/run/secrets/db"),
        ("WAS_APP_ROLE", "upbrella_app"),
        ("WAS_APP_ROLE_PASSWORD", "pw"),
    ]);
    let mut pg = base();
    pg.remove("DATABASE_URL");
    pg.insert("PGHOST", "db.internal");
    let mut smtp = base();
    smtp.extend([
        ("MAIL_TRANSPORT", "smtp"),
        ("SMTP_URL", "smtp://127.0.0.1:1025"),
        ("PUBLIC_URL", "https://upbrella.example"),
        ("MAIL_FROM", "우산대여 <no-reply@example.com>"),
        ("MAIL_QUEUE", "10"),
        (
            "SERVER_HMAC_KEY_PREVIOUS",
            "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
        ),
        ("EMAIL_VERIFY_TTL", "1h"),
        ("PASSWORD_RESET_TTL", "10m"),
        ("REAUTH_WINDOW", "5m"),
    ]);
    let mut ses = base();
    ses.extend([
        ("MAIL_TRANSPORT", "ses"),
        ("MAIL_FROM", "no-reply@example.com"),
        ("PUBLIC_URL", "https://upbrella.example"),
        ("SES_REGION", "ap-northeast-2"),
        ("SES_ENDPOINT", "http://127.0.0.1:5000"),
        (
            "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
            "/v2/credentials/x",
        ),
    ]);
    let mut photos = base();
    photos.extend([
        ("PHOTO_BUCKET", "upbrella-photos"),
        ("PHOTO_REGION", "ap-northeast-2"),
        ("PHOTO_S3_ENDPOINT", "http://127.0.0.1:5000"),
        ("PHOTO_PUBLIC_BASE_URL", "https://photos.example"),
        ("AWS_ACCESS_KEY_ID", "AKID"),
        ("AWS_SECRET_ACCESS_KEY", "secret"),
        ("KAKAO_REST_API_KEY", "rest-key"),
        ("KAKAO_LOCAL_API_URL", "http://127.0.0.1:1"),
    ]);
    vec![
        base(),
        photos,
        kakao,
        iam_static,
        iam_full,
        file_role,
        pg,
        smtp,
        ses,
    ]
}

#[test]
fn the_configuration_reads_only_variables_its_table_lists() {
    let mut asked = std::collections::BTreeSet::new();
    for env in every_branch() {
        let recording = shared::config::Recording::new(&env);
        Config::from_source(&recording).expect("valid configuration");
        DatabaseConfig::from_source(&recording).expect("valid database configuration");
        asked.extend(recording.asked());
    }
    let (unlisted, unread) = shared::config::against_table(&asked, VARS);
    assert!(unlisted.is_empty(), "read but not in VARS: {unlisted:?}");
    // The rest are read by `was admin create`, the allocator and the logging setup.
    assert_eq!(
        unread,
        [
            "WAS_ADMIN_PASSWORD",
            "MIMALLOC_PURGE_DELAY",
            "LOG_FORMAT",
            "RUST_LOG"
        ]
    );
}

#[test]
fn readme_documents_exactly_the_variables_of_the_table() {
    let readme = include_str!("../../../docs/configuration.md");
    assert_eq!(
        shared::config::readme_documents(readme, "### WAS configuration", VARS),
        Ok(())
    );
}

fn base() -> HashMap<&'static str, &'static str> {
    HashMap::from([
        ("DATABASE_URL", "postgres://localhost/upbrella"),
        ("REDIS_URL", "redis://localhost:6379"),
        (
            "BANK_ENCRYPTION_KEY",
            "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
        ),
        (
            "SERVER_HMAC_KEY",
            "1f1e1d1c1b1a191817161514131211100f0e0d0c0b0a09080706050403020100",
        ),
    ])
}

#[test]
fn qr_settings_are_checked() {
    let c = Config::from_source(&base()).expect("valid config");
    assert_eq!(
        c.legacy_codes,
        LegacyCodes::Refuse,
        "a new deployment refuses code-less rents and returns"
    );
    assert_ne!(
        c.qr_key.0, c.bank_key.0,
        "the QR key is derived, not the bank key"
    );
    for (var, value) in [
        ("QR_LEGACY_CODES", "maybe"),
        ("PUBLIC_URL", "upbrella.example"),
        ("PUBLIC_URL", "ftp://upbrella.example"),
        ("QR_SIGNING_KEY", "short"),
    ] {
        let mut env = base();
        env.insert(var, value);
        let err = Config::from_source(&env).expect_err(value);
        assert_eq!(err.var, var);
    }
    // Accepting the original stickers needs an end date, which is checked.
    let mut env = base();
    env.insert("QR_LEGACY_CODES", "accept");
    assert_eq!(
        Config::from_source(&env).unwrap_err().var,
        "QR_LEGACY_UNTIL"
    );
    env.insert("QR_LEGACY_UNTIL", "2026-13-01");
    assert_eq!(
        Config::from_source(&env).unwrap_err().var,
        "QR_LEGACY_UNTIL"
    );
    env.insert("QR_LEGACY_UNTIL", "2026-12-31");
    let mode = Config::from_source(&env)
        .expect("valid config")
        .legacy_codes;
    // The last day counts in Korea: 2026-12-31 23:59 KST is 14:59 UTC.
    let at = |t: &str| {
        time::OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339).unwrap()
    };
    assert!(mode.accepted_at(at("2026-12-31T14:59:00Z")));
    assert!(!mode.accepted_at(at("2026-12-31T15:00:00Z")));
    assert!(!LegacyCodes::Refuse.accepted_at(at("2000-01-01T00:00:00Z")));

    let mut env = base();
    env.insert("PUBLIC_URL", "https://Upbrella.example/ignored/path");
    let c = Config::from_source(&env).expect("valid config");
    assert_eq!(c.public_url.as_deref(), Some("https://upbrella.example"));
}

#[test]
fn the_admin_listener_is_on_loopback_unless_moved_or_turned_off() {
    let c = Config::from_source(&base()).expect("valid config");
    assert_eq!(c.admin_addr, Some(SocketAddr::from(([127, 0, 0, 1], 9101))));
    for (value, expected) in [
        ("off", None),
        ("OFF", None),
        ("0.0.0.0:9200", Some(SocketAddr::from(([0, 0, 0, 0], 9200)))),
    ] {
        let mut env = base();
        env.insert("WAS_ADMIN_ADDR", value);
        let c = Config::from_source(&env).expect(value);
        assert_eq!(c.admin_addr, expected, "{value}");
    }
    let mut env = base();
    env.insert("WAS_ADMIN_ADDR", "loopback");
    let err = Config::from_source(&env).expect_err("not an address");
    assert_eq!(err.var, "WAS_ADMIN_ADDR");
}

#[test]
fn minimal_environment_gives_local_defaults() {
    let c = Config::from_source(&base()).expect("valid config");
    assert_eq!(c.listen_addr.port(), 8080);
    assert_eq!(c.session_idle_timeout, Duration::from_secs(1800));
    assert!(!c.session_cookie_secure);
    assert!(c.kakao.is_none());
    assert_eq!(c.bank_key.0[31], 0x1f);
    assert_eq!(c.session_cookie(), "upbrella_sid");
    assert!(c.proxy_secret.is_none());
    assert!(c.password_hashing.concurrency >= 1);
}

#[test]
fn missing_database_url_is_named() {
    let mut env = base();
    env.remove("DATABASE_URL");
    let err = Config::from_source(&env).unwrap_err();
    assert_eq!(err.var, "DATABASE_URL");
}

#[test]
fn pg_variables_can_replace_database_url() {
    let mut env = base();
    env.remove("DATABASE_URL");
    env.insert("PGHOST", "db.internal");
    let c = Config::from_source(&env).expect("valid");
    assert!(c.database.url.is_none());
}

#[test]
fn migrate_needs_only_the_database_settings() {
    let env = HashMap::from([
        ("PGHOST", "db.internal"),
        ("WAS_APP_ROLE", "upbrella_app"),
        ("WAS_APP_ROLE_AUTH", "rds-iam"),
    ]);
    let c = DatabaseConfig::from_source(&env).expect("no Redis or bank key needed");
    let role = c.app_role.expect("role");
    assert_eq!(role.name, "upbrella_app");
    assert!(matches!(role.login, AppRoleLogin::RdsIam));
    assert!(matches!(c.auth, DatabaseAuth::Static));
}

#[test]
fn a_rotating_proxy_secret_and_a_redis_ca_need_what_they_go_with() {
    for (settings, var) in [
        (
            &[("WAS_PROXY_SECRET_ROTATING", "next")][..],
            "WAS_PROXY_SECRET_ROTATING",
        ),
        (&[("REDIS_CA_FILE", "/etc/ca.pem")][..], "REDIS_CA_FILE"),
    ] {
        let mut env = base();
        env.extend(settings.iter().copied());
        let err = Config::from_source(&env).unwrap_err();
        assert_eq!(err.var, var, "{settings:?}: {err}");
    }
    let mut env = base();
    env.extend([
        ("WAS_PROXY_SECRET", "current"),
        ("WAS_PROXY_SECRET_ROTATING", "next"),
        ("REDIS_URL", "rediss://redis.example:6379"),
        ("REDIS_CA_FILE", "/etc/ca.pem"),
    ]);
    let c = Config::from_source(&env).expect("valid together");
    assert!(c.proxy_secret_rotating.is_some());
    assert_eq!(
        c.redis_ca_file.as_deref(),
        Some(std::path::Path::new("/etc/ca.pem"))
    );
    assert_eq!(c.release, "dev");
}

#[test]
fn database_auth_settings_are_checked() {
    let cases: [(&[(&str, &str)], &str); 6] = [
        (&[("WAS_APP_ROLE", "app; DROP TABLE users")], "WAS_APP_ROLE"),
        (&[("WAS_APP_ROLE", "Upbrella")], "WAS_APP_ROLE"),
        (&[("WAS_APP_ROLE", "upbrella_app")], "WAS_APP_ROLE_PASSWORD"),
        (&[("DATABASE_AUTH", "kerberos")], "DATABASE_AUTH"),
        (&[("DATABASE_AUTH", "rds-iam")], "AWS_REGION"),
        (
            &[
                ("DATABASE_AUTH", "rds-iam"),
                ("AWS_REGION", "ap-northeast-2"),
                ("DATABASE_PASSWORD_FILE", "/run/pw"),
            ],
            "DATABASE_PASSWORD_FILE",
        ),
    ];
    for (settings, var) in cases {
        let mut env = base();
        env.extend(settings.iter().copied());
        let err = Config::from_source(&env).unwrap_err();
        assert_eq!(err.var, var, "{settings:?}: {err}");
    }
}

#[test]
fn rds_iam_takes_the_ecs_task_role_endpoint() {
    let mut env = base();
    env.extend([
        ("DATABASE_AUTH", "rds-iam"),
        ("AWS_REGION", "ap-northeast-2"),
        (
            "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
            "/v2/credentials/abc",
        ),
    ]);
    let c = Config::from_source(&env).expect("valid");
    let DatabaseAuth::RdsIam {
        region,
        credentials,
    } = c.database.auth
    else {
        panic!("not rds-iam");
    };
    assert_eq!(region, "ap-northeast-2");
    assert!(
        matches!(credentials, AwsCredentialSource::Endpoint { ref url, .. } if url == "http://169.254.170.2/v2/credentials/abc")
    );
    env.remove("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");
    let err = Config::from_source(&env).unwrap_err();
    assert!(err.problem.contains("task role"), "{err}");
}

#[test]
fn short_key_is_rejected_with_its_length() {
    let mut env = base();
    env.insert("BANK_ENCRYPTION_KEY", "c2hvcnQ=");
    let err = Config::from_source(&env).unwrap_err();
    assert_eq!(err.var, "BANK_ENCRYPTION_KEY");
    assert!(err.problem.contains("got 5"), "{}", err.problem);
}

#[test]
fn kakao_needs_a_redirect_uri() {
    let mut env = base();
    env.insert("KAKAO_CLIENT_ID", "abc");
    let err = Config::from_source(&env).unwrap_err();
    assert_eq!(err.var, "KAKAO_REDIRECT_URI");
    env.insert(
        "KAKAO_REDIRECT_URI",
        "http://localhost:8080/api/auth/kakao/callback",
    );
    let c = Config::from_source(&env).expect("valid");
    let k = c.kakao.expect("kakao on");
    assert_eq!(k.token_url.as_str(), "https://kauth.kakao.com/oauth/token");
}

#[test]
fn allowed_origins_are_normalised() {
    let mut env = base();
    env.insert(
        "ALLOWED_ORIGINS",
        "https://Upbrella.example/, http://localhost:8000",
    );
    let c = Config::from_source(&env).expect("valid");
    assert_eq!(
        c.allowed_origins,
        vec!["https://upbrella.example", "http://localhost:8000"]
    );
}

#[test]
fn secrets_never_show_in_debug_output() {
    let mut env = base();
    env.insert("DATABASE_URL", "postgres://was:pg-pass-123@db/upbrella");
    env.insert("REDIS_PASSWORD", "redis-pass-456");
    env.insert("WAS_PROXY_SECRET", "proxy-secret-789");
    env.insert("KAKAO_CLIENT_ID", "abc");
    env.insert("KAKAO_CLIENT_SECRET", "kakao-secret-000");
    env.insert("KAKAO_REDIRECT_URI", "http://localhost/cb");
    let text = format!("{:?}", Config::from_source(&env).expect("valid"));
    for secret in [
        "pg-pass-123",
        "redis-pass-456",
        "proxy-secret-789",
        "kakao-secret-000",
        "30, 31",
    ] {
        assert!(!text.contains(secret), "{secret} leaked: {text}");
    }
    assert!(text.contains("REDACTED"), "{text}");
}

#[test]
fn a_secure_cookie_gets_the_host_prefix() {
    let mut env = base();
    env.insert("SESSION_COOKIE_SECURE", "true");
    let c = Config::from_source(&env).expect("valid");
    assert_eq!(c.session_cookie(), "__Host-upbrella_sid");
}

#[test]
fn mail_settings_are_checked_and_name_their_variable() {
    let cases: [(&[(&str, &str)], &str); 8] = [
        (
            &[
                ("MAIL_TRANSPORT", "smtp"),
                ("SMTP_URL", "smtp://mail:25"),
                ("MAIL_FROM", "a@b.c"),
            ],
            "PUBLIC_URL",
        ),
        (&[("MAIL_TRANSPORT", "sendmail")], "MAIL_TRANSPORT"),
        (&[("MAIL_TRANSPORT", "smtp")], "SMTP_URL"),
        (
            &[("MAIL_TRANSPORT", "smtp"), ("SMTP_URL", "http://mail:25")],
            "SMTP_URL",
        ),
        (
            &[
                ("MAIL_TRANSPORT", "smtp"),
                ("SMTP_URL", "smtp://mail:25"),
                ("PUBLIC_URL", "https://u.example"),
            ],
            "MAIL_FROM",
        ),
        (
            &[
                ("MAIL_TRANSPORT", "smtp"),
                ("SMTP_URL", "smtp://mail:25"),
                ("MAIL_FROM", "no address here"),
            ],
            "MAIL_FROM",
        ),
        (
            &[("MAIL_TRANSPORT", "ses"), ("MAIL_FROM", "a@b.c")],
            "SES_REGION",
        ),
        (&[("SERVER_HMAC_KEY", "short")], "SERVER_HMAC_KEY"),
    ];
    for (set, var) in cases {
        let mut env = base();
        env.extend(set.iter().copied());
        let err = Config::from_source(&env).unwrap_err();
        assert_eq!(err.var, var, "{set:?}");
    }
    let mut env = base();
    env.remove("SERVER_HMAC_KEY");
    assert_eq!(
        Config::from_source(&env).unwrap_err().var,
        "SERVER_HMAC_KEY"
    );
    // A password in the SMTP URL never shows.
    let mut env = base();
    env.extend([
        ("MAIL_TRANSPORT", "smtp"),
        ("SMTP_URL", "smtps://user:hunter2@mail.example:465"),
        ("MAIL_FROM", "a@example.com"),
        ("PUBLIC_URL", "https://upbrella.example"),
    ]);
    let config = Config::from_source(&env).expect("valid");
    assert!(!format!("{config:?}").contains("hunter2"));
}

#[test]
fn rates_parse_and_name_their_variable() {
    assert_eq!(
        Rate::parse("10/15m"),
        Ok(Some(Rate {
            count: 10,
            period: Duration::from_secs(900)
        }))
    );
    assert_eq!(Rate::parse("OFF"), Ok(None));
    assert!(Rate::parse("0/1m").is_err());
    assert!(Rate::parse("ten/1m").is_err());
    let mut env = base();
    env.insert("RATE_LIMIT_SIGNUP_PER_ADDRESS", "lots");
    let err = Config::from_source(&env).unwrap_err();
    assert_eq!(err.var, "RATE_LIMIT_SIGNUP_PER_ADDRESS");
}

#[test]
fn address_search_takes_its_own_key_or_the_logins() {
    assert!(
        Config::from_source(&base())
            .expect("valid")
            .geocode
            .is_none()
    );
    let mut env = base();
    env.extend([
        ("KAKAO_CLIENT_ID", "login-rest-key"),
        ("KAKAO_REDIRECT_URI", "http://localhost/cb"),
    ]);
    let g = Config::from_source(&env)
        .expect("valid")
        .geocode
        .expect("the login's REST key searches addresses too");
    assert_eq!(g.api_key.expose_secret(), "login-rest-key");
    assert_eq!(g.base_url.as_str(), "https://dapi.kakao.com/");
    env.insert("KAKAO_REST_API_KEY", "own-key");
    env.insert("KAKAO_LOCAL_API_URL", "kakao");
    assert_eq!(
        Config::from_source(&env).unwrap_err().var,
        "KAKAO_LOCAL_API_URL"
    );
    env.remove("KAKAO_LOCAL_API_URL");
    let g = Config::from_source(&env)
        .expect("valid")
        .geocode
        .expect("on");
    assert_eq!(g.api_key.expose_secret(), "own-key");
}

#[test]
fn photo_uploads_need_a_valid_bucket_a_region_and_credentials() {
    assert!(
        Config::from_source(&base())
            .expect("valid")
            .photos
            .is_none()
    );
    let with = |extra: &[(&'static str, &'static str)]| {
        let mut env = base();
        env.insert("PHOTO_BUCKET", "upbrella-photos");
        env.extend(extra.iter().copied());
        Config::from_source(&env)
    };
    assert_eq!(with(&[]).unwrap_err().var, "PHOTO_REGION");
    let aws = [
        ("AWS_REGION", "ap-northeast-2"),
        ("AWS_ACCESS_KEY_ID", "AKID"),
        ("AWS_SECRET_ACCESS_KEY", "secret"),
    ];
    let p = with(&aws).expect("valid").photos.expect("on");
    assert_eq!(p.region, "ap-northeast-2");
    assert!(p.endpoint.is_none());
    assert_eq!(
        p.public_base_url,
        "https://upbrella-photos.s3.ap-northeast-2.amazonaws.com/"
    );
    let mut emulator = aws.to_vec();
    emulator.push(("PHOTO_S3_ENDPOINT", "http://127.0.0.1:5000/"));
    let p = with(&emulator).expect("valid").photos.expect("on");
    assert_eq!(p.public_base_url, "http://127.0.0.1:5000/upbrella-photos/");
    let mut cdn = aws.to_vec();
    cdn.push(("PHOTO_PUBLIC_BASE_URL", "https://photos.example/stores"));
    let p = with(&cdn).expect("valid").photos.expect("on");
    assert_eq!(p.public_base_url, "https://photos.example/stores/");
    for (var, value) in [
        ("PHOTO_BUCKET", "Upbrella_Photos"),
        ("PHOTO_S3_ENDPOINT", "s3.local"),
        ("PHOTO_PUBLIC_BASE_URL", "ftp://photos.example"),
        ("PHOTO_PUBLIC_BASE_URL", "https://photos.example/?a=b"),
    ] {
        let mut settings = aws.to_vec();
        settings.push((var, value));
        assert_eq!(with(&settings).unwrap_err().var, var, "{value}");
    }
    let err = with(&[("AWS_REGION", "ap-northeast-2")]).unwrap_err();
    assert!(err.problem.contains("PHOTO_BUCKET"), "{err}");
}

#[test]
fn absolute_lifetime_cannot_be_shorter_than_idle() {
    let mut env = base();
    env.insert("SESSION_ABSOLUTE_TIMEOUT", "10m");
    let err = Config::from_source(&env).unwrap_err();
    assert_eq!(err.var, "SESSION_ABSOLUTE_TIMEOUT");
}
