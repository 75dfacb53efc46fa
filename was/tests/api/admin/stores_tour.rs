//! The admin tour's first steps: roles, classifications, a store and its umbrellas.

use super::*;

pub(super) async fn grant_and_revoke_admin(a: &mut Admin<'_>) {
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

pub(super) async fn regions_and_tags(a: &mut Admin<'_>) -> (i64, i64) {
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

pub(super) async fn a_store_with_images_hours_and_activation(
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
pub(super) async fn umbrellas_and_statistics(a: &mut Admin<'_>, store_id: i64) -> (i64, i64) {
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
