//! Mail through SES: the SES v2 API as moto emulates it (a stand-in for AWS, so this
//! shows the request is one SES accepts and what it carries, not delivery), signed with
//! credentials from the container credentials endpoint as in an ECS task.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use axum::http::{HeaderMap, StatusCode as AxumStatus};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::*;

#[tokio::test]
async fn mail_goes_out_through_ses_signed_with_the_task_roles_credentials() {
    let (_moto, _dir, moto) = start_moto("upbrella-ses");
    // The domain identity the stack creates (moto verifies it at once).
    let identity = reqwest::Client::new()
        .post(format!("{moto}/v2/email/identities"))
        .header(
            "authorization",
            "AWS4-HMAC-SHA256 Credential=setup/20260101/ap-northeast-2/ses/aws4_request, SignedHeaders=host, Signature=0",
        )
        .json(&json!({"EmailIdentity": "upbrella.test"}))
        .send()
        .await
        .expect("create identity");
    assert!(identity.status().is_success());

    // The task role's credentials, as the ECS agent serves them.
    let hits = Arc::new(AtomicU64::new(0));
    let endpoint = {
        let hits = hits.clone();
        axum::Router::new().route(
            "/v2/credentials/task",
            axum::routing::get(move |headers: HeaderMap| {
                let hits = hits.clone();
                async move {
                    if headers.get("authorization").and_then(|v| v.to_str().ok())
                        != Some("ecs-agent-token")
                    {
                        return (AxumStatus::UNAUTHORIZED, String::new());
                    }
                    hits.fetch_add(1, Ordering::Relaxed);
                    let expires = (time::OffsetDateTime::now_utc() + time::Duration::hours(6))
                        .format(&time::format_description::well_known::Rfc3339)
                        .expect("format");
                    (
                        AxumStatus::OK,
                        json!({"AccessKeyId": "ASIATASKROLE", "SecretAccessKey": "secret", "Token": "session-token", "Expiration": expires})
                            .to_string(),
                    )
                }
            }),
        )
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let credentials = format!(
        "http://{}/v2/credentials/task",
        listener.local_addr().expect("addr")
    );
    let server = tokio::spawn(async move { axum::serve(listener, endpoint).await });

    let app = spawn_app_with(&[
        ("MAIL_TRANSPORT", "ses"),
        ("MAIL_FROM", "우산대여 upbrella <no-reply@upbrella.test>"),
        ("SES_REGION", "ap-northeast-2"),
        ("SES_ENDPOINT", &moto),
        ("PUBLIC_URL", "https://upbrella.test"),
        ("AWS_CONTAINER_CREDENTIALS_FULL_URI", &credentials),
        ("AWS_CONTAINER_AUTHORIZATION_TOKEN", "ecs-agent-token"),
    ])
    .await;
    let email = format!("ses-{}@example.com", uuid::Uuid::new_v4().simple());
    json_ok(
        app.post(&app.client(), "/api/auth/signup", signup_form(&email))
            .await,
        StatusCode::CREATED,
    )
    .await;

    let started = Instant::now();
    let sent = loop {
        let data: Value = reqwest::get(format!("{moto}/moto-api/data.json"))
            .await
            .expect("moto data")
            .json()
            .await
            .expect("json");
        let found = data["ses"]["Message"].as_array().and_then(|m| {
            m.iter()
                .find(|m| m["destinations"]["ToAddresses"][0].as_str() == Some(email.as_str()))
                .cloned()
        });
        if let Some(m) = found {
            break m;
        }
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "SES got nothing: {data}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    // The Korean display name travels MIME-encoded, as SES requires.
    assert_eq!(
        sent["source"],
        "=?utf-8?B?7Jqw7IKw64yA7JesIHVwYnJlbGxh?= <no-reply@upbrella.test>"
    );
    assert!(
        sent["subject"]
            .as_str()
            .expect("subject")
            .contains("이메일 주소를 확인해 주세요")
    );
    assert!(
        sent["body"]
            .as_str()
            .expect("body")
            .contains("https://upbrella.test/verify-email#t="),
        "{sent}"
    );
    assert_eq!(
        hits.load(Ordering::Relaxed),
        1,
        "credentials from the task role, once"
    );
    let metrics = app.metrics().await;
    assert!(
        metrics.contains("upbrella_was_mail_total{outcome=\"sent\"} 1"),
        "{metrics}"
    );
    app.stop().await;
    server.abort();
}

/// A request never waits for mail: with the SMTP server unreachable, sign-up still
/// answers at once, and the mail is retried in the background and counted.
#[tokio::test]
async fn an_unreachable_mail_server_never_holds_up_a_request() {
    let dead = stack::free_port().expect("port");
    let app = spawn_app_with(&[
        ("MAIL_TRANSPORT", "smtp"),
        ("SMTP_URL", &format!("smtp://127.0.0.1:{dead}")),
        ("MAIL_FROM", "no-reply@upbrella.test"),
        ("PUBLIC_URL", "https://upbrella.test"),
    ])
    .await;
    let started = Instant::now();
    json_ok(
        app.post(
            &app.client(),
            "/api/auth/signup",
            signup_form(format!(
                "slow-{}@example.com",
                uuid::Uuid::new_v4().simple()
            )),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    let started = Instant::now();
    loop {
        let metrics = app.metrics().await;
        if metrics.contains("upbrella_was_mail_total{outcome=\"retried\"} 1") {
            assert!(metrics.contains("upbrella_was_mail_total{outcome=\"sent\"} 0"));
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(10), "{metrics}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A full queue drops the new mail (counted) and still answers the request: with the
/// mail server unreachable, four mails are being retried, one waits for a slot, one sits
/// in the queue of one, and the rest are dropped.
#[tokio::test]
async fn a_full_mail_queue_drops_and_counts_but_never_fails_a_request() {
    let dead = stack::free_port().expect("port");
    let app = spawn_app_with(&[
        ("MAIL_TRANSPORT", "smtp"),
        ("SMTP_URL", &format!("smtp://127.0.0.1:{dead}")),
        ("MAIL_FROM", "no-reply@upbrella.test"),
        ("PUBLIC_URL", "https://upbrella.test"),
        ("MAIL_QUEUE", "1"),
    ])
    .await;
    for i in 0..9 {
        json_ok(
            app.post(
                &app.client(),
                "/api/auth/signup",
                signup_form(format!(
                    "full{i}-{}@example.com",
                    uuid::Uuid::new_v4().simple()
                )),
            )
            .await,
            StatusCode::CREATED,
        )
        .await;
    }
    let metrics = app.metrics().await;
    let dropped: u64 = metrics
        .lines()
        .find_map(|l| l.strip_prefix("upbrella_was_mail_total{outcome=\"dropped\"} "))
        .and_then(|v| v.parse().ok())
        .expect("the dropped counter");
    assert!(dropped >= 1, "{metrics}");
}
