use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::*;
use crate::public_reads::within_a_second;

#[tokio::test]
async fn region_markers_count_rentable_umbrellas_and_show_open_stores() {
    let app = spawn_app().await;
    let f = app.store().await;
    let u1 = app.umbrella(f.store).await;
    let _u2 = app.umbrella(f.store).await;
    let missed = app.umbrella(f.store).await;
    sqlx::query("UPDATE umbrellas SET missed = true WHERE id = $1")
        .bind(missed)
        .execute(&app.db)
        .await
        .unwrap();
    // A deactivated store is not on the map.
    let hidden = app.store_in(f.region).await;
    sqlx::query("UPDATE stores SET activated = false WHERE id = $1")
        .bind(hidden)
        .execute(&app.db)
        .await
        .unwrap();
    let c = app.client();
    let markers = json_ok(
        app.get(&c, &format!("/api/regions/{}/stores", f.region))
            .await,
        StatusCode::OK,
    )
    .await;
    let markers = markers.as_array().unwrap();
    assert_eq!(markers.len(), 1);
    assert_eq!(markers[0]["id"], f.store);
    assert_eq!(markers[0]["rentable_count"], 2);
    assert_eq!(markers[0]["open_now"], true, "open 00:00-23:59 every day");

    // Renting one lowers the count.
    let (user, _) = app.user().await;
    let r = app
        .post(
            &user,
            "/api/rentals",
            json!({"umbrella_id": u1, "store_id": f.store}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let markers = json_ok(
        app.get(&c, &format!("/api/regions/{}/stores", f.region))
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(markers[0]["rentable_count"], 1);

    problem(
        app.get(&c, "/api/regions/999999/stores").await,
        StatusCode::NOT_FOUND,
    )
    .await;
    let regions = json_ok(app.get(&c, "/api/regions").await, StatusCode::OK).await;
    assert!(
        regions
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["id"] == f.region)
    );
    json_ok(app.get(&c, "/api/tags").await, StatusCode::OK).await;
}

#[tokio::test]
async fn a_store_without_hours_today_is_closed() {
    let app = spawn_app().await;
    let f = app.store().await;
    sqlx::query("DELETE FROM business_hours WHERE store_id = $1")
        .bind(f.store)
        .execute(&app.db)
        .await
        .unwrap();
    let markers = json_ok(
        app.get(&app.client(), &format!("/api/regions/{}/stores", f.region))
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(markers[0]["open_now"], false);
}

#[tokio::test]
async fn store_detail_shows_images_hours_and_hides_inactive_stores() {
    let app = spawn_app().await;
    let f = app.store().await;
    let c = app.client();
    let d = json_ok(
        app.get(&c, &format!("/api/stores/{}", f.store)).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(d["images"].as_array().unwrap().len(), 1);
    assert_eq!(d["business_hours"].as_array().unwrap().len(), 7);
    assert_eq!(d["business_hours"][0]["open"], "00:00");
    assert_eq!(d["has_locker"], false);
    assert!(d.get("activated").is_none(), "admin-only field");
    sqlx::query("UPDATE stores SET activated = false WHERE id = $1")
        .bind(f.store)
        .execute(&app.db)
        .await
        .unwrap();
    // Written outside the API: reaches the replica's kept answers within a second.
    let path = format!("/api/stores/{}", f.store);
    within_a_second("a deactivated store", || async {
        (app.get(&c, &path).await.status() == StatusCode::NOT_FOUND).then_some(())
    })
    .await;
    problem(app.get(&c, &path).await, StatusCode::NOT_FOUND).await;
}

#[tokio::test]
async fn the_introductions_list_every_store_in_service_with_its_first_image() {
    let app = spawn_app().await;
    let f = app.store().await;
    let hidden = app.store_in(f.region).await;
    sqlx::query("UPDATE stores SET activated = false WHERE id = $1")
        .bind(hidden)
        .execute(&app.db)
        .await
        .unwrap();
    sqlx::query(
        "INSERT INTO store_images (store_id, url) VALUES ($1, 'https://img.example.com/b.jpg')",
    )
    .bind(f.store)
    .execute(&app.db)
    .await
    .unwrap();
    let all = json_ok(
        app.get(&app.client(), "/api/stores/introductions").await,
        StatusCode::OK,
    )
    .await;
    let ids: Vec<_> = all
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].clone())
        .collect();
    assert_eq!(
        ids,
        [serde_json::json!(f.store)],
        "inactive stores are not introduced"
    );
    assert_eq!(all[0]["image_url"], "https://img.example.com/a.jpg");
    assert_eq!(all[0]["name"], "우산 카페");
    assert!(
        all[0]["region_name"]
            .as_str()
            .unwrap()
            .starts_with("region-")
    );
}

#[tokio::test]
async fn umbrella_location_names_its_store_but_not_what_a_remote_return_needs() {
    let app = spawn_app().await;
    let f = app.store().await;
    let u = app.umbrella(f.store).await;
    let loc = json_ok(
        app.get(&app.client(), &format!("/api/umbrellas/{u}/location"))
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(loc["store_name"], "우산 카페");
    assert_eq!(loc["rentable"], true);
    // The store's id together with the umbrella's is what a rent or return from
    // elsewhere would need: not handed out.
    assert!(loc.get("store_id").is_none(), "{loc}");
    problem(
        app.get(&app.client(), "/api/umbrellas/999999/location")
            .await,
        StatusCode::NOT_FOUND,
    )
    .await;
}

#[tokio::test]
async fn openapi_document_is_3_1_and_covers_the_api() {
    let app = spawn_app().await;
    let doc = json_ok(
        app.get(&app.client(), "/api/openapi.json").await,
        StatusCode::OK,
    )
    .await;
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
    let paths = doc["paths"].as_object().unwrap();
    for p in [
        "/api/regions",
        "/api/rentals",
        "/api/rentals/current/return",
        "/api/admin/umbrellas/statistics",
        "/health",
        "/ready",
    ] {
        assert!(paths.contains_key(p), "missing {p}");
    }
    let operations: usize = paths.values().map(|v| v.as_object().unwrap().len()).sum();
    assert!(operations >= 50, "{operations} operations documented");
}

#[tokio::test]
async fn public_reads_revalidate_with_an_etag() {
    let app = spawn_app().await;
    let f = app.store().await;
    let c = app.client();
    let path = format!("/api/regions/{}/stores", f.region);
    let first = app.get(&c, &path).await;
    assert_eq!(first.status(), StatusCode::OK);
    assert_eq!(first.headers()["cache-control"], "no-cache");
    let etag = first.headers()["etag"].to_str().unwrap().to_owned();
    assert!(etag.starts_with('"') && etag.ends_with('"'), "{etag}");

    let revalidate = || c.get(app.url(&path)).header("if-none-match", &etag).send();
    // Unchanged: 304 and no body.
    let again = revalidate().await.unwrap();
    assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
    assert_eq!(again.headers()["etag"].to_str().unwrap(), etag);
    assert!(again.bytes().await.unwrap().is_empty());

    // An umbrella more to rent (written outside the API, so seen within a second)
    // changes the answer, and so the tag.
    app.umbrella(f.store).await;
    let (changed, _) = within_a_second("a new umbrella", || async {
        let r = revalidate().await.unwrap();
        (r.status() == StatusCode::OK).then_some(r)
    })
    .await;
    assert_ne!(changed.headers()["etag"].to_str().unwrap(), etag);
    let body: serde_json::Value = changed.json().await.unwrap();
    assert_eq!(body[0]["rentable_count"], 1);

    // Logged-in answers are never tagged for sharing.
    let (user, _) = app.user().await;
    let me = app.get(&user, "/api/me").await;
    assert!(me.headers().get("etag").is_none());
}
