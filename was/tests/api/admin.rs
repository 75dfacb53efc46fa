use std::collections::BTreeSet;

use reqwest::{Client, Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::*;

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

async fn grant_and_revoke_admin(a: &mut Admin<'_>) {
    let (_, user_id) = a.app.user().await;
    let found = a
        .call(
            Method::GET,
            "/users",
            "/users?page=0&size=10&q=%EC%9A%B0%EC%82%B0",
            None,
        )
        .await;
    assert!(
        found.as_array().unwrap().iter().any(|u| u["id"] == user_id),
        "searching for 우산 finds 김우산"
    );
    // Admin rights go to verified addresses only (accounts.rs covers the refusal).
    a.app.verify_email(user_id).await;
    let u = a
        .call(
            Method::PATCH,
            "/users/{id}",
            &format!("/users/{user_id}"),
            Some(json!({"role": "admin"})),
        )
        .await;
    assert_eq!(u["is_admin"], true);
    a.call(
        Method::PATCH,
        "/users/{id}",
        &format!("/users/{user_id}"),
        Some(json!({"role": "renter"})),
    )
    .await;
}

async fn regions_and_tags(a: &mut Admin<'_>) -> (i64, i64) {
    let region = a
        .call(
            Method::POST,
            "/classifications",
            "/classifications",
            Some(json!({"kind": "region", "name": "신촌", "latitude": 37.55, "longitude": 126.93})),
        )
        .await;
    let region_id = region["id"].as_i64().unwrap();
    let tag = a
        .call(
            Method::POST,
            "/classifications",
            "/classifications",
            Some(json!({"kind": "tag", "name": "연세로", "latitude": 37.56, "longitude": 126.94})),
        )
        .await;
    let tag_id = tag["id"].as_i64().unwrap();
    a.call(Method::GET, "/classifications", "/classifications", None)
        .await;
    let spare = a
        .call(
            Method::POST,
            "/classifications",
            "/classifications",
            Some(json!({"kind": "tag", "name": "임시", "latitude": 0, "longitude": 0})),
        )
        .await;
    let spare_id = spare["id"].as_i64().unwrap();
    a.call(
        Method::PUT,
        "/classifications/{id}",
        &format!("/classifications/{spare_id}"),
        Some(json!({"kind": "tag", "name": "임시2", "latitude": 1, "longitude": 1})),
    )
    .await;
    a.call(
        Method::DELETE,
        "/classifications/{id}",
        &format!("/classifications/{spare_id}"),
        None,
    )
    .await;

    (region_id, tag_id)
}

async fn a_store_with_images_hours_and_activation(
    a: &mut Admin<'_>,
    region_id: i64,
    tag_id: i64,
) -> i64 {
    let store_body = json!({"name": "우산 카페", "category": "cafe", "region_id": region_id, "tag_id": tag_id, "latitude": 37.55, "longitude": 126.93,
        "address": "서울 서대문구", "working_hours": "평일 9-18", "instagram_url": "https://instagram.com/upbrella"});
    let store = a
        .call(Method::POST, "/stores", "/stores", Some(store_body.clone()))
        .await;
    let store_id = store["id"].as_i64().unwrap();
    assert_eq!(store["activated"], false);
    a.call(Method::GET, "/stores", "/stores", None).await;
    a.call(
        Method::GET,
        "/stores/{id}",
        &format!("/stores/{store_id}"),
        None,
    )
    .await;
    let mut renamed = store_body.clone();
    renamed["name"] = json!("우산 카페 2호점");
    let s = a
        .call(
            Method::PUT,
            "/stores/{id}",
            &format!("/stores/{store_id}"),
            Some(renamed),
        )
        .await;
    assert_eq!(s["name"], "우산 카페 2호점");
    let image = a
        .call(
            Method::POST,
            "/stores/{id}/images",
            &format!("/stores/{store_id}/images"),
            Some(json!({"url": "https://img.example.com/1.jpg"})),
        )
        .await;
    a.call(
        Method::POST,
        "/stores/{id}/images",
        &format!("/stores/{store_id}/images"),
        Some(json!({"url": "https://img.example.com/2.jpg"})),
    )
    .await;
    a.call(
        Method::DELETE,
        "/stores/{id}/images/{image_id}",
        &format!("/stores/{store_id}/images/{}", image["id"]),
        None,
    )
    .await;
    let s = a
        .call(
            Method::PUT,
            "/stores/{id}/activation",
            &format!("/stores/{store_id}/activation"),
            Some(json!({"activated": true})),
        )
        .await;
    assert_eq!(s["activated"], true);
    let hours = a.call(Method::PUT, "/stores/{id}/business-hours", &format!("/stores/{store_id}/business-hours"),
        Some(json!([{"weekday": 1, "open": "09:00", "close": "18:00"}, {"weekday": 6, "open": "10:00", "close": "15:30"}]))).await;
    assert_eq!(hours.as_array().unwrap().len(), 2);
    let hours = a
        .call(
            Method::GET,
            "/stores/{id}/business-hours",
            &format!("/stores/{store_id}/business-hours"),
            None,
        )
        .await;
    assert_eq!(hours[1]["close"], "15:30");

    store_id
}

/// Returns the two umbrellas it added (the first marked missing).
async fn umbrellas_and_statistics(a: &mut Admin<'_>, store_id: i64) -> (i64, i64) {
    let umbrella = a
        .call(
            Method::POST,
            "/umbrellas",
            "/umbrellas",
            Some(json!({"store_id": store_id, "number": 101})),
        )
        .await;
    let umbrella_id = umbrella["id"].as_i64().unwrap();
    a.call(
        Method::POST,
        "/umbrellas",
        "/umbrellas",
        Some(json!({"store_id": store_id, "number": 102})),
    )
    .await;
    a.call(
        Method::GET,
        "/umbrellas",
        &format!("/umbrellas?store_id={store_id}&page=0&size=10"),
        None,
    )
    .await;
    a.call(
        Method::PUT,
        "/umbrellas/{id}",
        &format!("/umbrellas/{umbrella_id}"),
        Some(json!({"store_id": store_id, "number": 103, "note": "새 것"})),
    )
    .await;
    let m = a
        .call(
            Method::PUT,
            "/umbrellas/{id}/missed",
            &format!("/umbrellas/{umbrella_id}/missed"),
            Some(json!({"missed": true})),
        )
        .await;
    assert_eq!(m["missed"], true);
    let stats = a
        .call(
            Method::GET,
            "/umbrellas/statistics",
            "/umbrellas/statistics",
            None,
        )
        .await;
    assert_eq!(stats["total"], 2);
    assert_eq!(stats["missing"], 1);
    assert_eq!(stats["missing_rate"], 0.5);
    let stats = a
        .call(
            Method::GET,
            "/stores/{id}/umbrellas/statistics",
            &format!("/stores/{store_id}/umbrellas/statistics"),
            None,
        )
        .await;
    assert_eq!(stats["rentable"], 1);

    let second: i64 = sqlx::query_scalar("SELECT id FROM umbrellas WHERE number = 102")
        .fetch_one(&a.app.db)
        .await
        .unwrap();
    (umbrella_id, second)
}

async fn a_rental_its_deposit_and_reports(a: &mut Admin<'_>, store_id: i64, second: i64) {
    let app = a.app;
    let (renter, _) = app.user().await;
    json_ok(
        app.post(
            &renter,
            "/api/rentals",
            json!({"umbrella_id": second, "store_id": store_id, "condition_report": "깨끗해요"}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let stats = a
        .call(
            Method::GET,
            "/umbrellas/statistics",
            "/umbrellas/statistics",
            None,
        )
        .await;
    assert_eq!(
        (
            stats["rented"].as_i64(),
            stats["rentable"].as_i64(),
            stats["total_rents"].as_i64()
        ),
        (Some(1), Some(0), Some(1))
    );
    json_ok(app.post(&renter, "/api/rentals/current/return",
        json!({"store_id": store_id, "improvement_report": "좋아요", "bank_name": "국민", "account_number": "123-456-789012"})).await, StatusCode::OK).await;
    let rentals = a
        .call(Method::GET, "/rentals", "/rentals?refunded=false", None)
        .await;
    let rental = &rentals[0];
    assert_eq!(
        (&rental["account_masked"], &rental["has_bank_account"]),
        (&json!("***-***-**9012"), &json!(true)),
        "lists show the refund account masked"
    );
    assert!(rental.get("account_number").is_none());
    let rental_id = rental["id"].as_i64().unwrap();
    let full = a
        .call(
            Method::POST,
            "/rentals/{id}/bank-account/reveal",
            &format!("/rentals/{rental_id}/bank-account/reveal"),
            None,
        )
        .await;
    assert_eq!(
        (&full["bank_name"], &full["account_number"]),
        (&json!("국민"), &json!("123-456-789012")),
        "the admin making the transfer reads it in full"
    );
    let log = a
        .call(Method::GET, "/account-views", "/account-views", None)
        .await;
    assert_eq!(log[0]["target_id"], rental_id, "and the read is logged");
    assert_eq!(log[0]["action"], "bank_account.read");
    assert_eq!(log.as_array().unwrap().len(), 1);
    a.call(
        Method::GET,
        "/condition-reports",
        "/condition-reports",
        None,
    )
    .await;
    let reports = a
        .call(
            Method::GET,
            "/improvement-reports",
            "/improvement-reports",
            None,
        )
        .await;
    assert_eq!(reports[0]["content"], "좋아요");
    let confirmed = a
        .call(
            Method::POST,
            "/deposits/confirm",
            "/deposits/confirm",
            Some(json!({"rental_ids": [rental_id]})),
        )
        .await;
    assert_eq!(confirmed[0]["confirmed"], true, "{confirmed}");
    let r = a
        .call(
            Method::GET,
            "/rentals/{id}",
            &format!("/rentals/{rental_id}"),
            None,
        )
        .await;
    assert!(r["paid_at"].is_string());
    assert_eq!(r["deposit"]["state"], "refund_due");
    let board = a.call(Method::GET, "/dashboard", "/dashboard", None).await;
    assert_eq!(board["refunds_due"], 1, "{board}");
    let queue = a
        .call(
            Method::GET,
            "/deposits/refund-queue",
            "/deposits/refund-queue",
            None,
        )
        .await;
    assert_eq!(queue[0]["rental"]["id"], rental_id);
    let r = a
        .call(
            Method::POST,
            "/rentals/{id}/deposit",
            &format!("/rentals/{rental_id}/deposit"),
            Some(json!({"operation": "refund"})),
        )
        .await;
    assert!(r["refunded_at"].is_string());
    let books = a
        .call(Method::GET, "/deposits/summary", "/deposits/summary", None)
        .await;
    assert_eq!(books["total"]["refunded"], 10_000, "{books}");
    a.call(
        Method::GET,
        "/deposits/export.csv",
        "/deposits/export.csv",
        None,
    )
    .await;
    let actions = a
        .call(
            Method::GET,
            "/actions",
            "/actions?action=deposit.refund",
            None,
        )
        .await;
    assert_eq!(actions[0]["target_id"], rental_id);
    let refunded = a
        .call(Method::GET, "/rentals", "/rentals?refunded=true", None)
        .await;
    assert_eq!(refunded.as_array().unwrap().len(), 1);
    a.call(
        Method::DELETE,
        "/rentals/{id}/bank-account",
        &format!("/rentals/{rental_id}/bank-account"),
        None,
    )
    .await;
}

/// A new umbrella (made through the console) rented by a new renter: its id, the
/// renter's client, the rental's id.
async fn rented_new_umbrella(a: &mut Admin<'_>, store_id: i64, number: i64) -> (i64, Client, i64) {
    let umbrella = a
        .call(
            Method::POST,
            "/umbrellas",
            "/umbrellas",
            Some(json!({"store_id": store_id, "number": number})),
        )
        .await["id"]
        .as_i64()
        .unwrap();
    let (renter, _) = a.app.user().await;
    let rental = a.app.rent_id(&renter, umbrella, store_id).await;
    (umbrella, renter, rental)
}

/// An umbrella left at the counter taken back, a renter's report followed up, and a
/// holiday added and removed.
async fn staff_return_report_and_closure(a: &mut Admin<'_>, store_id: i64) {
    let app = a.app;
    let (umbrella, renter, rental) = rented_new_umbrella(a, store_id, 105).await;
    json_ok(
        app.post(
            &renter,
            &format!("/api/me/rentals/{rental}/reports"),
            json!({"kind": "broken"}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let reports = a.call(Method::GET, "/reports", "/reports", None).await;
    let report = reports[0]["id"].as_i64().unwrap();
    a.call(
        Method::POST,
        "/reports/{id}/resolve",
        &format!("/reports/{report}/resolve"),
        Some(json!({"note": "확인"})),
    )
    .await;
    let closed = a
        .call(
            Method::POST,
            "/stores/{id}/staff-returns",
            &format!("/stores/{store_id}/staff-returns"),
            Some(json!({"umbrella_number": 105})),
        )
        .await;
    assert_eq!(closed["closed_reason"], "returned_by_staff");
    a.call(
        Method::DELETE,
        "/umbrellas/{id}",
        &format!("/umbrellas/{umbrella}"),
        None,
    )
    .await;
    let closure = a
        .call(
            Method::POST,
            "/stores/{id}/closures",
            &format!("/stores/{store_id}/closures"),
            Some(json!({"starts_on": "2027-02-16", "ends_on": "2027-02-18", "reason": "설 연휴"})),
        )
        .await;
    let listed = a
        .call(
            Method::GET,
            "/stores/{id}/closures",
            &format!("/stores/{store_id}/closures"),
            None,
        )
        .await;
    assert_eq!(listed[0]["reason"], "설 연휴");
    a.call(
        Method::DELETE,
        "/stores/{id}/closures/{closure_id}",
        &format!("/stores/{store_id}/closures/{}", closure["id"]),
        None,
    )
    .await;
}

/// A rental whose umbrella is lost; the umbrella is then retired.
async fn close_a_stuck_rental(a: &mut Admin<'_>, store_id: i64) {
    let (umbrella, _, rental) = rented_new_umbrella(a, store_id, 104).await;
    let closed = a
        .call(
            Method::POST,
            "/rentals/{id}/close",
            &format!("/rentals/{rental}/close"),
            Some(json!({"reason": "lost"})),
        )
        .await;
    assert_eq!(closed["closed_reason"], "lost");
    let found = a
        .call(
            Method::POST,
            "/rentals/{id}/found",
            &format!("/rentals/{rental}/found"),
            Some(json!({"store_id": store_id})),
        )
        .await;
    assert!(found["found_at"].is_string());
    a.call(
        Method::DELETE,
        "/umbrellas/{id}",
        &format!("/umbrellas/{umbrella}"),
        None,
    )
    .await;
}

async fn print_codes(a: &mut Admin<'_>, store_id: i64) {
    let codes = a
        .call(
            Method::GET,
            "/stores/{id}/codes",
            &format!("/stores/{store_id}/codes"),
            None,
        )
        .await;
    assert_eq!(codes["umbrellas"].as_array().unwrap().len(), 2);
    a.call(
        Method::GET,
        "/stores/{id}/codes.svg",
        &format!("/stores/{store_id}/codes.svg"),
        None,
    )
    .await;
}

async fn statistics_stock_reports_and_the_store_form(a: &mut Admin<'_>, store_id: i64) {
    let stats = a
        .call(
            Method::GET,
            "/statistics",
            &format!("/statistics?bucket=week&store_id={store_id}"),
            None,
        )
        .await;
    assert!(stats["totals"]["rentals"].as_i64().unwrap() >= 1);
    let stock = a.call(Method::GET, "/stock", "/stock", None).await;
    assert!(
        stock
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["store_id"] == store_id)
    );
    let set = a
        .call(
            Method::PUT,
            "/stores/{id}/stock-thresholds",
            &format!("/stores/{store_id}/stock-thresholds"),
            Some(json!({"low": 2, "high": 20})),
        )
        .await;
    assert_eq!((&set["low"], &set["high"]), (&json!(2), &json!(20)));
    let report = a
        .call(
            Method::GET,
            "/stores/{id}/monthly-report",
            &format!("/stores/{store_id}/monthly-report"),
            None,
        )
        .await;
    assert_eq!(report["store"]["id"], store_id);
    a.call(
        Method::POST,
        "/stores/{id}/monthly-report/send",
        &format!("/stores/{store_id}/monthly-report/send"),
        Some(json!({"month": report["month"], "to": "cafe@example.com"})),
    )
    .await;
    let places = a
        .call(Method::GET, "/geocode", "/geocode?query=sinchon", None)
        .await;
    assert_eq!(places, json!([]));
    let upload = a
        .call(
            Method::POST,
            "/stores/{id}/images/uploads",
            &format!("/stores/{store_id}/images/uploads"),
            Some(json!({"content_type": "image/png", "size": 2048})),
        )
        .await;
    assert!(upload["image_url"].as_str().unwrap().starts_with(&format!(
        "https://upbrella-photos.s3.ap-northeast-2.amazonaws.com/stores/{store_id}/"
    )));
}

async fn a_locker(a: &mut Admin<'_>, store_id: i64) {
    let locker = a
        .call(
            Method::POST,
            "/lockers",
            "/lockers",
            Some(json!({"store_id": store_id, "secret": "00112233445566778899aabbccddeeff"})),
        )
        .await;
    let locker_id = locker["id"].as_i64().unwrap();
    a.call(Method::GET, "/lockers", "/lockers", None).await;
    a.call(
        Method::PUT,
        "/lockers/{id}",
        &format!("/lockers/{locker_id}"),
        Some(json!({"store_id": store_id, "secret": "ffeeddccbbaa99887766554433221100"})),
    )
    .await;
    a.call(
        Method::PUT,
        "/lockers/{id}/counter",
        &format!("/lockers/{locker_id}/counter"),
        Some(json!({"counter": 5})),
    )
    .await;
    a.call(
        Method::DELETE,
        "/lockers/{id}",
        &format!("/lockers/{locker_id}"),
        None,
    )
    .await;
}

async fn retire_umbrellas_and_close_the_store(
    a: &mut Admin<'_>,
    store_id: i64,
    (umbrella_id, second): (i64, i64),
) {
    a.call(
        Method::DELETE,
        "/umbrellas/{id}",
        &format!("/umbrellas/{umbrella_id}"),
        None,
    )
    .await;
    a.call(
        Method::DELETE,
        "/umbrellas/{id}",
        &format!("/umbrellas/{second}"),
        None,
    )
    .await;
    a.call(
        Method::DELETE,
        "/stores/{id}",
        &format!("/stores/{store_id}"),
        None,
    )
    .await;
}

async fn ban_and_lift(a: &mut Admin<'_>) {
    let app = a.app;
    let (_, victim) = app.user().await;
    a.call(
        Method::POST,
        "/users/{id}/ban",
        &format!("/users/{victim}/ban"),
        None,
    )
    .await;
    let list = a.call(Method::GET, "/blacklist", "/blacklist", None).await;
    let entry = list[0]["id"].as_i64().unwrap();
    a.call(
        Method::DELETE,
        "/blacklist/{id}",
        &format!("/blacklist/{entry}"),
        None,
    )
    .await;
}

/// Activation needs an image.
#[tokio::test]
async fn activation_needs_an_image() {
    let app = spawn_app().await;
    let (admin, _) = app.admin().await;
    let f = app.store().await;
    let bare = json_ok(app.post(&admin, "/api/admin/stores", json!({"name": "새 가게", "category": "shop", "region_id": f.region, "latitude": 37.5, "longitude": 127.0})).await, StatusCode::CREATED).await;
    let bare_id = bare["id"].as_i64().unwrap();
    problem(
        app.put(
            &admin,
            &format!("/api/admin/stores/{bare_id}/activation"),
            json!({"activated": true}),
        )
        .await,
        StatusCode::CONFLICT,
    )
    .await;
}

/// A store's region must be a region.
#[tokio::test]
async fn a_stores_region_must_be_a_region() {
    let app = spawn_app().await;
    let (admin, _) = app.admin().await;
    let f = app.store().await;
    let tag = json_ok(
        app.post(
            &admin,
            "/api/admin/classifications",
            json!({"kind": "tag", "name": "태그", "latitude": 0, "longitude": 0}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    problem(app.post(&admin, "/api/admin/stores", json!({"name": "x", "category": "x", "region_id": tag["id"], "latitude": 0, "longitude": 0})).await, StatusCode::UNPROCESSABLE_ENTITY).await;
    problem(app.post(&admin, "/api/admin/stores", json!({"name": "x", "category": "x", "region_id": f.region, "latitude": 91, "longitude": 0})).await, StatusCode::UNPROCESSABLE_ENTITY).await;
}

/// Duplicate classification.
#[tokio::test]
async fn classification_names_are_unique_per_kind() {
    let app = spawn_app().await;
    let (admin, _) = app.admin().await;
    let tag = json!({"kind": "tag", "name": "태그", "latitude": 0, "longitude": 0});
    json_ok(
        app.post(&admin, "/api/admin/classifications", tag).await,
        StatusCode::CREATED,
    )
    .await;
    let region = json!({"kind": "region", "name": "태그", "latitude": 0, "longitude": 0});
    json_ok(
        app.post(&admin, "/api/admin/classifications", region).await,
        StatusCode::CREATED,
    )
    .await;
    problem(
        app.post(
            &admin,
            "/api/admin/classifications",
            json!({"kind": "tag", "name": "태그", "latitude": 0, "longitude": 0}),
        )
        .await,
        StatusCode::CONFLICT,
    )
    .await;
}

/// A region in use cannot be deleted.
#[tokio::test]
async fn a_region_in_use_cannot_be_deleted() {
    let app = spawn_app().await;
    let (admin, _) = app.admin().await;
    let f = app.store().await;
    problem(
        app.delete(&admin, &format!("/api/admin/classifications/{}", f.region))
            .await,
        StatusCode::CONFLICT,
    )
    .await;
}

/// Business hours are validated.
#[tokio::test]
async fn business_hours_are_validated() {
    let app = spawn_app().await;
    let (admin, _) = app.admin().await;
    let f = app.store().await;
    problem(
        app.put(
            &admin,
            &format!("/api/admin/stores/{}/business-hours", f.store),
            json!([{"weekday": 1, "open": "18:00", "close": "09:00"}, {"weekday": 2, "open": "08:00", "close": "12:00"}]),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    problem(
        app.put(
            &admin,
            &format!("/api/admin/stores/{}/business-hours", f.store),
            json!([{"weekday": 0, "open": "09:00", "close": "18:00"}]),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    problem(
        app.put(
            &admin,
            &format!("/api/admin/stores/{}/business-hours", f.store),
            json!([{"weekday": 1, "open": "9시", "close": "18:00"}]),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
}

/// Umbrella numbers are unique among umbrellas in service, and free again once deleted.
#[tokio::test]
async fn umbrella_numbers_are_unique_in_service_and_free_again_once_deleted() {
    let app = spawn_app().await;
    let (admin, _) = app.admin().await;
    let f = app.store().await;
    let u = json_ok(
        app.post(
            &admin,
            "/api/admin/umbrellas",
            json!({"store_id": f.store, "number": 7}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    problem(
        app.post(
            &admin,
            "/api/admin/umbrellas",
            json!({"store_id": f.store, "number": 7}),
        )
        .await,
        StatusCode::CONFLICT,
    )
    .await;
    problem(
        app.post(
            &admin,
            "/api/admin/umbrellas",
            json!({"store_id": 999_999, "number": 8}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    // A store with umbrellas cannot be deleted.
    problem(
        app.delete(&admin, &format!("/api/admin/stores/{}", f.store))
            .await,
        StatusCode::CONFLICT,
    )
    .await;
    assert_eq!(
        app.delete(&admin, &format!("/api/admin/umbrellas/{}", u["id"]))
            .await
            .status(),
        StatusCode::NO_CONTENT
    );
    json_ok(
        app.post(
            &admin,
            "/api/admin/umbrellas",
            json!({"store_id": f.store, "number": 7}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
}

/// One locker per store; secrets are long hex.
#[tokio::test]
async fn one_locker_per_store_with_a_long_hex_secret() {
    let app = spawn_app().await;
    let (admin, _) = app.admin().await;
    let f = app.store().await;
    problem(
        app.post(
            &admin,
            "/api/admin/lockers",
            json!({"store_id": f.store, "secret": "abc"}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    json_ok(
        app.post(
            &admin,
            "/api/admin/lockers",
            json!({"store_id": f.store, "secret": "00112233445566778899aabbccddeeff"}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    problem(
        app.post(
            &admin,
            "/api/admin/lockers",
            json!({"store_id": f.store, "secret": "00112233445566778899aabbccddeeff"}),
        )
        .await,
        StatusCode::CONFLICT,
    )
    .await;
}

/// Admins cannot lock themselves out.
#[tokio::test]
async fn admins_cannot_lock_themselves_out() {
    let app = spawn_app().await;
    let (admin, admin_id) = app.admin().await;
    problem(
        app.patch(
            &admin,
            &format!("/api/admin/users/{admin_id}"),
            json!({"role": "renter"}),
        )
        .await,
        StatusCode::CONFLICT,
    )
    .await;
    problem(
        app.post(
            &admin,
            &format!("/api/admin/users/{admin_id}/ban"),
            json!({}),
        )
        .await,
        StatusCode::CONFLICT,
    )
    .await;
    problem(
        app.get(&admin, "/api/admin/stores/999999").await,
        StatusCode::NOT_FOUND,
    )
    .await;
}

#[tokio::test]
async fn deposit_rules_refund_only_after_payment_and_return_and_bank_info_after_refund() {
    let app = spawn_app().await;
    let (admin, _) = app.admin().await;
    let f = app.store().await;
    let u = app.umbrella(f.store).await;
    let (c, _) = app.user().await;
    let rent = app.rent(&c, u, f.store).await;
    let id = rent["rental"]["id"].as_i64().unwrap();
    let path = format!("/api/admin/rentals/{id}");
    let op = |operation: &str| json!({"operation": operation});
    let refused = problem(
        app.post(&admin, &format!("{path}/deposit"), op("refund"))
            .await,
        StatusCode::CONFLICT,
    )
    .await;
    assert_eq!(refused["code"], "deposit_not_refund_due");
    json_ok(
        app.post(&admin, &format!("{path}/deposit"), op("confirm_payment"))
            .await,
        StatusCode::OK,
    )
    .await;
    let refused = problem(
        app.post(&admin, &format!("{path}/deposit"), op("refund"))
            .await,
        StatusCode::CONFLICT,
    )
    .await;
    assert_eq!(refused["code"], "rental_still_open");
    json_ok(
        app.post(
            &c,
            "/api/rentals/current/return",
            json!({"store_id": f.store, "bank_name": "국민", "account_number": "123456789"}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    problem(
        app.delete(&admin, &format!("{path}/bank-account")).await,
        StatusCode::CONFLICT,
    )
    .await;
    let r = json_ok(
        app.post(&admin, &format!("{path}/deposit"), op("refund"))
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(r["deposit"]["state"], "refunded");
    // A refund is not undone by toggling: it is final, and a second one is refused.
    let again = problem(
        app.post(&admin, &format!("{path}/deposit"), op("refund"))
            .await,
        StatusCode::CONFLICT,
    )
    .await;
    assert_eq!(again["code"], "deposit_not_refund_due");
    // The old toggles are gone.
    assert_eq!(
        app.patch(&admin, &path, json!({"refunded": false}))
            .await
            .status(),
        StatusCode::METHOD_NOT_ALLOWED
    );
    assert_eq!(
        app.delete(&admin, &format!("{path}/bank-account"))
            .await
            .status(),
        StatusCode::NO_CONTENT
    );
    let (bank,): (Option<Vec<u8>>,) =
        sqlx::query_as("SELECT bank_account FROM rentals WHERE id = $1")
            .bind(id)
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert!(bank.is_none());
}

#[tokio::test]
async fn a_revoked_admin_loses_admin_access_on_the_next_request() {
    let app = spawn_app().await;
    let (root, _) = app.admin().await;
    let (other, other_id) = app.admin().await;
    json_ok(app.get(&other, "/api/admin/users").await, StatusCode::OK).await;
    json_ok(
        app.patch(
            &root,
            &format!("/api/admin/users/{other_id}"),
            json!({"role": "renter"}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    problem(
        app.get(&other, "/api/admin/users").await,
        StatusCode::FORBIDDEN,
    )
    .await;
}

/// A rental that will not end with a return is closed by an admin with a reason, and the
/// renter can rent again.
#[tokio::test]
async fn a_stuck_rental_is_closed_so_the_renter_can_rent_again() {
    let app = spawn_app().await;
    let (admin, _) = app.admin().await;
    let f = app.store().await;
    let other = app.store_in(f.region).await;
    let lost = app.umbrella(f.store).await;
    let spare = app.umbrella(f.store).await;
    let (renter, _) = app.user().await;
    let rent = |umbrella: i64| json!({"umbrella_id": umbrella, "store_id": f.store});
    let rented = json_ok(
        app.post(&renter, "/api/rentals", rent(lost)).await,
        StatusCode::CREATED,
    )
    .await;
    let first = rented["rental"]["id"].as_i64().unwrap();
    let close = |id: i64| format!("/api/admin/rentals/{id}/close");

    for (body, code) in [
        (json!({"reason": "stolen"}), "invalid_reason"),
        (json!({"reason": "returned_by_staff"}), "store_required"),
    ] {
        let p = problem(
            app.post(&admin, &close(first), body).await,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
        assert_eq!(p["code"], code);
    }
    let note = json!({"reason": "lost", "note": "3주째 연락 없음"});
    let closed = json_ok(
        app.post(&admin, &close(first), note.clone()).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(closed["closed_reason"], "lost");
    assert_eq!(closed["closed_note"], "3주째 연락 없음");
    assert!(closed["returned_at"].is_string());
    let again = problem(
        app.post(&admin, &close(first), note).await,
        StatusCode::CONFLICT,
    )
    .await;
    assert_eq!(again["code"], "already_closed");
    let missed: bool =
        sqlx::query_scalar("SELECT missed AND NOT rentable FROM umbrellas WHERE id = $1")
            .bind(lost)
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert!(missed, "a lost umbrella is marked missing");

    // A lost umbrella whose deposit was never paid is owed: no new rental until it is
    // settled (here the transfer arrives, and the deposit is kept for the loss).
    let owed = problem(
        app.post(&renter, "/api/rentals", rent(spare)).await,
        StatusCode::CONFLICT,
    )
    .await;
    assert_eq!(owed["code"], "deposit_outstanding");
    let kept = json_ok(
        app.post(
            &admin,
            &format!("/api/admin/rentals/{first}/deposit"),
            json!({"operation": "confirm_payment"}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(kept["deposit"]["state"], "forfeited");
    assert_eq!(kept["deposit"]["forfeit_reason"], "lost");

    // Then the renter is free to rent again, and sees how the first rental ended.
    let second = json_ok(
        app.post(&renter, "/api/rentals", rent(spare)).await,
        StatusCode::CREATED,
    )
    .await["rental"]["id"]
        .as_i64()
        .unwrap();
    let mine = json_ok(app.get(&renter, "/api/me/rentals").await, StatusCode::OK).await;
    let ended = mine
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == first)
        .unwrap();
    assert_eq!(ended["closed_reason"], "lost");

    // Taken back by staff: the umbrella stands at that store, rentable again.
    problem(
        app.post(&renter, &close(second), json!({"reason": "lost"}))
            .await,
        StatusCode::FORBIDDEN,
    )
    .await;
    let by_staff = json!({"reason": "returned_by_staff", "store_id": other});
    let closed = json_ok(
        app.post(&admin, &close(second), by_staff).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(closed["closed_reason"], "returned_by_staff");
    assert_eq!(closed["return_store_id"], other);
    let location = json_ok(
        app.get(&app.client(), &format!("/api/umbrellas/{spare}/location"))
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(location["rentable"], true);
    let at: i64 = sqlx::query_scalar("SELECT store_id FROM umbrellas WHERE id = $1")
        .bind(spare)
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(at, other, "the umbrella stands where staff took it");
}
