use std::collections::BTreeSet;

use reqwest::{Client, Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::*;

mod stores_tour;
use stores_tour::*;
mod rentals_tour;
use rentals_tour::*;
mod rules;

/// Every admin operation in the OpenAPI document, as (METHOD, path template).
async fn admin_operations(app: &TestApp) -> BTreeSet<(String, String)> {
    let doc = json_ok(
        app.get(&app.client(), "/api/openapi.json").await,
        StatusCode::OK,
    )
    .await;
    let mut ops = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        if path.starts_with("/api/admin") {
            for method in item.as_object().unwrap().keys() {
                ops.insert((method.to_uppercase(), path.clone()));
            }
        }
    }
    ops
}

#[tokio::test]
async fn every_admin_route_is_401_anonymous_and_403_for_users() {
    let app = spawn_app().await;
    let ops = admin_operations(&app).await;
    assert!(ops.len() >= 30, "{} admin operations", ops.len());
    let anonymous = app.client();
    let (user, _) = app.user().await;
    for (method, template) in &ops {
        let path = template.replace("{id}", "1").replace("{image_id}", "1");
        let method = Method::from_bytes(method.as_bytes()).unwrap();
        let r = anonymous
            .request(method.clone(), app.url(&path))
            .json(&json!({}))
            .send()
            .await
            .unwrap();
        assert_eq!(
            r.status(),
            StatusCode::UNAUTHORIZED,
            "{method} {path} anonymous"
        );
        let r = user
            .request(method.clone(), app.url(&path))
            .json(&json!({}))
            .send()
            .await
            .unwrap();
        assert_eq!(
            r.status(),
            StatusCode::FORBIDDEN,
            "{method} {path} as a user"
        );
    }
}

/// Calls admin routes and remembers which operations answered 2xx.
struct Admin<'a> {
    app: &'a TestApp,
    client: Client,
    covered: BTreeSet<(String, String)>,
}

impl Admin<'_> {
    async fn call(
        &mut self,
        method: Method,
        template: &str,
        path: &str,
        body: Option<Value>,
    ) -> Value {
        let mut req = self
            .client
            .request(method.clone(), self.app.url(&format!("/api/admin{path}")));
        if let Some(b) = body {
            req = req.json(&b);
        }
        let r = req.send().await.unwrap();
        let status = r.status();
        let text = r.text().await.unwrap();
        assert!(
            status.is_success(),
            "{method} /api/admin{path}: {status} {text}"
        );
        self.covered
            .insert((method.to_string(), format!("/api/admin{template}")));
        serde_json::from_str(&text).unwrap_or(Value::Null)
    }
}

/// Admins can use every admin operation the OpenAPI document lists: each step below
/// drives one resource, and the test fails naming any operation no step reached.
#[tokio::test]
async fn admins_can_use_every_admin_route() {
    // Address search needs Kakao (a stand-in answering no match) and uploads a bucket
    // (signing is local: static keys, nothing is uploaded here).
    let kakao = axum::Router::new().route(
        "/v2/local/search/address.json",
        axum::routing::get(|| async { axum::Json(json!({"documents": []})) }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let kakao_url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, kakao).await });
    let app = spawn_app_with(&[
        ("KAKAO_REST_API_KEY", "rest-key"),
        ("KAKAO_LOCAL_API_URL", &kakao_url),
        ("PHOTO_BUCKET", "upbrella-photos"),
        ("PHOTO_REGION", "ap-northeast-2"),
        ("AWS_ACCESS_KEY_ID", "AKID"),
        ("AWS_SECRET_ACCESS_KEY", "secret"),
    ])
    .await;
    let (client, _) = app.admin().await;
    let mut a = Admin {
        app: &app,
        client,
        covered: BTreeSet::new(),
    };
    grant_and_revoke_admin(&mut a).await;
    let (region_id, tag_id) = regions_and_tags(&mut a).await;
    let store_id = a_store_with_images_hours_and_activation(&mut a, region_id, tag_id).await;
    let umbrellas = umbrellas_and_statistics(&mut a, store_id).await;
    print_codes(&mut a, store_id).await;
    a_rental_its_deposit_and_reports(&mut a, store_id, umbrellas.1).await;
    close_a_stuck_rental(&mut a, store_id).await;
    staff_return_report_and_closure(&mut a, store_id).await;
    a_locker(&mut a, store_id).await;
    statistics_stock_reports_and_the_store_form(&mut a, store_id).await;
    retire_umbrellas_and_close_the_store(&mut a, store_id, umbrellas).await;
    ban_and_lift(&mut a).await;

    let missing: Vec<_> = admin_operations(&app)
        .await
        .difference(&a.covered)
        .cloned()
        .collect();
    assert!(
        missing.is_empty(),
        "admin operations without a 2xx test: {missing:?}"
    );
}
