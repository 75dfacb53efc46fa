use reqwest::StatusCode;
use serde_json::Value;

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
