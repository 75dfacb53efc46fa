use futures::StreamExt;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::*;

#[tokio::test]
async fn health_answers_without_touching_dependencies() {
    let app = spawn_app().await;
    let r = app.get(&app.client(), "/health").await;
    assert_eq!(r.status(), StatusCode::OK);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["status"], "ok");
}

#[tokio::test]
async fn ready_reports_each_dependency() {
    let app = spawn_app().await;
    let body = json_ok(app.get(&app.client(), "/ready").await, StatusCode::OK).await;
    assert_eq!(body["status"], "ready");
    assert_eq!(body["database"]["ok"], true);
    assert_eq!(body["redis"]["ok"], true);
}

/// The readiness a deploy checks through the public URL: the release that answered, the
/// database as the application role, Redis, and the schema at this release's version.
#[tokio::test]
async fn api_ready_reports_the_release_and_a_schema_behind_it() {
    let app = spawn_app_with(&[("UPBRELLA_RELEASE", "v-test-42")]).await;
    let c = app.client();
    let r = app.get(&c, "/api/ready").await;
    assert_eq!(r.headers()["cache-control"], "no-store");
    let body = json_ok(r, StatusCode::OK).await;
    assert_eq!(body["status"], "ready");
    assert_eq!(body["release"], "v-test-42");
    assert_eq!(
        (&body["database"], &body["redis"], &body["schema"]),
        (&json!(true), &json!(true), &json!(true))
    );
    assert_eq!(body["schema_applied"], body["schema_expected"]);
    assert!(body.get("message").is_none(), "{body}");

    // The newest migration not applied (a deploy whose migration step did not run): the
    // release is not ready, and says why.
    sqlx::query(
        "DELETE FROM _sqlx_migrations WHERE version = (SELECT max(version) FROM _sqlx_migrations)",
    )
    .execute(&app.db)
    .await
    .unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let body = json_ok(
        app.get(&c, "/api/ready").await,
        StatusCode::SERVICE_UNAVAILABLE,
    )
    .await;
    assert_eq!(body["status"], "unavailable");
    assert_eq!(
        (&body["database"], &body["schema"]),
        (&json!(true), &json!(false))
    );
    assert!(body["schema_applied"].as_i64() < body["schema_expected"].as_i64());
    let message = body["message"].as_str().unwrap();
    assert!(
        message.starts_with("서비스가 준비되지 않았습니다"),
        "{message}"
    );
    assert!(
        message.contains("스키마") && message.contains("schema"),
        "{message}"
    );
    // The load balancer's liveness is not readiness.
    assert_eq!(app.get(&c, "/health").await.status(), StatusCode::OK);
}

#[tokio::test]
async fn request_ids_are_kept_when_valid_and_generated_otherwise() {
    let app = spawn_app().await;
    let c = app.client();
    let r = c
        .get(app.url("/api/regions"))
        .header("x-request-id", "abc-123")
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["x-request-id"], "abc-123");
    let r = c
        .get(app.url("/api/regions"))
        .header("x-request-id", "bad id\"")
        .send()
        .await
        .unwrap();
    let id = r.headers()["x-request-id"].to_str().unwrap().to_owned();
    assert_ne!(id, "bad id\"");
    assert_eq!(id.len(), 36, "a UUID");
    let r = c.get(app.url("/api/nope")).send().await.unwrap();
    assert!(
        r.headers().contains_key("x-request-id"),
        "errors carry it too"
    );
    assert_eq!(r.headers()["x-upbrella-instance"], app.instance.as_str());
}

/// The value of the sample `name{labels}` in a Prometheus text page.
fn sample(page: &str, series: &str) -> Option<f64> {
    page.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

#[tokio::test]
async fn metrics_on_the_admin_listener_count_routes_statuses_rentals_and_the_session_store() {
    let app = spawn_app().await;
    let store = app.store().await;
    let umbrella = app.umbrella(store.store).await;
    let (c, _) = app.user().await;
    app.rent(&c, umbrella, store.store).await;
    let body =
        json!({"store_id": store.store, "bank_name": "신한", "account_number": "110123456789"});
    let r = app.post(&c, "/api/rentals/current/return", body).await;
    assert_eq!(r.status(), StatusCode::OK, "{}", r.text().await.unwrap());
    for _ in 0..3 {
        app.get(&c, &format!("/api/stores/{}", store.store)).await;
    }
    app.get(&c, "/api/stores/999999999").await;
    app.get(&c, "/no/such/path").await;

    // The main listener does not serve them; the admin listener does.
    let main = app.get(&c, "/metrics").await;
    assert_ne!(main.status(), StatusCode::OK);
    let r = reqwest::get(format!("http://{}/metrics", app.admin))
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain; version=0.0.4")
    );
    let page = r.text().await.unwrap();
    let get =
        |series: &str| sample(&page, series).unwrap_or_else(|| panic!("{series} missing:\n{page}"));

    assert_eq!(
        get(r#"upbrella_was_requests_total{method="GET",route="/api/stores/{id}",status="2xx"}"#),
        3.0
    );
    assert_eq!(
        get(r#"upbrella_was_requests_total{method="GET",route="/api/stores/{id}",status="4xx"}"#),
        1.0
    );
    assert_eq!(
        get(r#"upbrella_was_requests_total{method="POST",route="/api/rentals",status="2xx"}"#),
        1.0
    );
    assert_eq!(
        get(
            r#"upbrella_was_request_duration_seconds_count{method="GET",route="/api/stores/{id}"}"#
        ),
        4.0
    );
    assert!(
        page.lines().any(|l| l.starts_with(
            "upbrella_was_requests_total{method=\"GET\",route=\"unmatched\",status=\"4xx\"}"
        )),
        "an unknown path is counted without its raw path as a label:\n{page}"
    );
    assert!(!page.contains("/no/such/path"));
    assert_eq!(get("upbrella_was_rentals_total"), 1.0);
    assert_eq!(get("upbrella_was_returns_total"), 1.0);
    assert!(
        get("upbrella_was_session_store_seconds_count") >= 3.0,
        "the logged-in requests read the session store"
    );
    assert_eq!(get("upbrella_was_session_store_errors_total"), 0.0);
    assert!(get("upbrella_was_db_pool_connections") >= 1.0);
    assert!(get("upbrella_was_db_pool_max") >= get("upbrella_was_db_pool_connections"));
    assert_eq!(get("upbrella_was_password_hash_queue"), 0.0);
    assert_eq!(get("upbrella_was_password_hashes_running"), 0.0);
    // The scrape itself is not a request of the main listener.
    assert_eq!(get("upbrella_was_in_flight_requests"), 0.0);
}

/// No metric series is keyed by what a client invents: 10,000 made-up methods, paths,
/// hosts and user agents add at most the handful of fixed series they fall into
/// (`other`, `unmatched`, a status class).
#[tokio::test]
async fn invented_methods_paths_and_headers_add_no_metric_series() {
    let app = spawn_app().await;
    let series = || async {
        app.metrics()
            .await
            .lines()
            .filter(|l| !l.starts_with('#'))
            .count()
    };
    let client = app.client();
    // Warm every fixed series these requests can fall into.
    for method in ["XWARM", "GET"] {
        client
            .request(
                reqwest::Method::from_bytes(method.as_bytes()).expect("method"),
                app.url("/api/tags"),
            )
            .send()
            .await
            .expect("request");
    }
    client
        .get(app.url("/api/nothing-here"))
        .send()
        .await
        .expect("request");
    let before = series().await;
    let n = 10_000;
    let sends = (0..n).map(|i| {
        let client = client.clone();
        let url = app.url(&format!("/api/x{i}/y"));
        let tags = app.url("/api/tags");
        async move {
            let method =
                reqwest::Method::from_bytes(format!("XQWERTY{i}").as_bytes()).expect("method");
            let a = client
                .request(method, &tags)
                .send()
                .await
                .expect("request")
                .status();
            let b = client
                .get(&url)
                .header("host", format!("h{i}.example"))
                .header("user-agent", format!("agent/{i}"))
                .send()
                .await
                .expect("request")
                .status();
            (a, b)
        }
    });
    let mut statuses = std::collections::BTreeMap::new();
    let results: Vec<_> = futures::stream::iter(sends)
        .buffer_unordered(16)
        .collect()
        .await;
    for (a, b) in results {
        *statuses.entry((a.as_u16(), b.as_u16())).or_insert(0) += 1;
    }
    let after = series().await;
    assert!(
        after <= before + 4,
        "{} distinct methods, paths, hosts and agents grew the series from {before} to {after}",
        n
    );
    let metrics = app.metrics().await;
    assert!(
        metrics.contains("method=\"other\",route=\"/api/tags\""),
        "{statuses:?}"
    );
    assert!(!metrics.contains("XQWERTY"));
    assert!(!metrics.contains("/api/x1/"));
    println!(
        "{n} invented methods + {n} invented paths/hosts/agents: series {before} → {after}; statuses {statuses:?}"
    );
}
