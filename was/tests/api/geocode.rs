//! The console's address search against a stand-in Kakao Local API that the test starts:
//! what is sent (the KakaoAK key, the query), what comes back, and what happens when
//! Kakao is slow or gone.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode as AxumStatus};
use axum::routing::get;
use axum::{Json, Router};
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::net::TcpListener;

use crate::helpers::*;

/// A search as received: its Authorization header and query parameters.
type Search = (String, Vec<(String, String)>);

#[derive(Clone, Default)]
struct Kakao {
    seen: Arc<Mutex<Vec<Search>>>,
    /// Answer this late (a hung Kakao).
    delay: Duration,
}

async fn address(
    State(k): State<Kakao>,
    headers: HeaderMap,
    Query(q): Query<Vec<(String, String)>>,
) -> Result<Json<Value>, AxumStatus> {
    tokio::time::sleep(k.delay).await;
    let auth = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    k.seen.lock().unwrap().push((auth.clone(), q));
    if auth != "KakaoAK rest-key-1" {
        return Err(AxumStatus::UNAUTHORIZED);
    }
    Ok(Json(json!({
        "meta": {"total_count": 3, "pageable_count": 3, "is_end": true},
        "documents": [
            {"address_name": "서울 서대문구 신촌동 134", "address_type": "REGION_ADDR",
             "x": "126.938633", "y": "37.565862", "address": null, "road_address": null},
            {"address_name": "서울 서대문구 연세로 50", "address_type": "ROAD_ADDR",
             "x": "126.9386", "y": "37.5659", "address": null, "road_address": null},
            {"address_name": "좌표 없는 주소", "address_type": "REGION",
             "x": "", "y": "", "address": null, "road_address": null}
        ]
    })))
}

async fn start_kakao(delay: Duration) -> (String, Kakao) {
    let kakao = Kakao {
        delay,
        ..Default::default()
    };
    let app = Router::new()
        .route("/v2/local/search/address.json", get(address))
        .with_state(kakao.clone());
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (base, kakao)
}

#[tokio::test]
async fn address_search_asks_kakao_with_the_rest_key_and_returns_coordinates() {
    let (base, kakao) = start_kakao(Duration::ZERO).await;
    let app = spawn_app_with(&[
        ("KAKAO_REST_API_KEY", "rest-key-1"),
        ("KAKAO_LOCAL_API_URL", &base),
    ])
    .await;
    let (admin, _) = app.admin().await;
    let places = json_ok(
        app.get(
            &admin,
            "/api/admin/geocode?query=%EC%8B%A0%EC%B4%8C%EB%8F%99%20134",
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(
        places,
        json!([
            {"address": "서울 서대문구 신촌동 134", "latitude": 37.565862, "longitude": 126.938633},
            {"address": "서울 서대문구 연세로 50", "latitude": 37.5659, "longitude": 126.9386}
        ]),
        "y is the latitude, x the longitude; a match without coordinates is left out"
    );
    let seen = kakao.seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].0, "KakaoAK rest-key-1");
    assert!(
        seen[0]
            .1
            .contains(&("query".to_owned(), "신촌동 134".to_owned()))
    );

    for query in ["", "%20%20", &"가".repeat(101)] {
        let p = problem(
            app.get(&admin, &format!("/api/admin/geocode?query={query}"))
                .await,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
        assert_eq!(p["code"], "invalid_geocode_query");
    }
    // Renters cannot use the operators' Kakao quota.
    let (user, _) = app.user().await;
    assert_eq!(
        app.get(&user, "/api/admin/geocode?query=x").await.status(),
        StatusCode::FORBIDDEN
    );
}

#[tokio::test]
async fn the_kakao_login_key_also_searches_addresses() {
    let (base, kakao) = start_kakao(Duration::ZERO).await;
    let app = spawn_app_with(&[
        ("KAKAO_CLIENT_ID", "rest-key-1"),
        (
            "KAKAO_REDIRECT_URI",
            "http://localhost:8000/api/auth/kakao/callback",
        ),
        ("KAKAO_LOCAL_API_URL", &base),
    ])
    .await;
    let (admin, _) = app.admin().await;
    json_ok(
        app.get(&admin, "/api/admin/geocode?query=sinchon").await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(kakao.seen.lock().unwrap()[0].0, "KakaoAK rest-key-1");
}

#[tokio::test]
async fn without_a_kakao_key_address_search_is_404_geocode_unavailable() {
    let app = spawn_app().await;
    let (admin, _) = app.admin().await;
    let p = problem(
        app.get(&admin, "/api/admin/geocode?query=sinchon").await,
        StatusCode::NOT_FOUND,
    )
    .await;
    assert_eq!(p["code"], "geocode_unavailable");
    assert!(
        p["detail"]
            .as_str()
            .is_some_and(|d| d.contains("직접 입력") && d.contains("type the latitude")),
        "{p}"
    );
}

#[tokio::test]
async fn a_hung_or_failing_kakao_is_a_quick_503_not_a_hang() {
    let (hung, _) = start_kakao(Duration::from_secs(30)).await;
    let app = spawn_app_with(&[
        ("KAKAO_REST_API_KEY", "rest-key-1"),
        ("KAKAO_LOCAL_API_URL", &hung),
        ("KAKAO_TIMEOUT", "500ms"),
    ])
    .await;
    let (admin, _) = app.admin().await;
    let started = Instant::now();
    let r = app.get(&admin, "/api/admin/geocode?query=sinchon").await;
    let took = started.elapsed();
    assert_eq!(r.headers()["retry-after"], "2");
    let p = problem(r, StatusCode::SERVICE_UNAVAILABLE).await;
    assert_eq!(p["code"], "geocode_failed");
    assert!(
        p["detail"]
            .as_str()
            .is_some_and(|d| d.starts_with("카카오 주소 검색") && d.contains("(Kakao")),
        "Korean first, English beside: {p}"
    );
    assert!(
        took < Duration::from_secs(3),
        "answered after {took:?}: KAKAO_TIMEOUT bounds the call"
    );

    // Nothing listening at all, and a wrong key (Kakao's 401): the same 503.
    let closed = format!("http://127.0.0.1:{}", stack::free_port().expect("port"));
    let (base, _) = start_kakao(Duration::ZERO).await;
    for (url, key) in [(closed.as_str(), "rest-key-1"), (base.as_str(), "wrong")] {
        let app = spawn_app_with(&[
            ("KAKAO_REST_API_KEY", key),
            ("KAKAO_LOCAL_API_URL", url),
            ("KAKAO_TIMEOUT", "500ms"),
        ])
        .await;
        let (admin, _) = app.admin().await;
        let p = problem(
            app.get(&admin, "/api/admin/geocode?query=sinchon").await,
            StatusCode::SERVICE_UNAVAILABLE,
        )
        .await;
        assert_eq!(p["code"], "geocode_failed", "{url} {key}");
    }
}
