//! Statistics over time, stock alerts and the monthly report, against rentals seeded at
//! known instants: days are Korean days, whatever UTC says.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::*;

mod monthly;

/// A user who can hold one open rental (each seeded rental gets its own).
async fn renter(app: &TestApp) -> i64 {
    sqlx::query_scalar("INSERT INTO users (email, name) VALUES ($1, '통계김') RETURNING id")
        .bind(format!("s{}@example.com", uuid::Uuid::new_v4().simple()))
        .fetch_one(&app.db)
        .await
        .expect("user")
}

/// Seeds a rental: rented at `store` at `rented` (RFC 3339), and if `ended` is given,
/// returned to `returned_to` then, or closed as lost by `admin` when `returned_to` is None.
async fn seed(
    app: &TestApp,
    store: i64,
    rented: &str,
    ended: Option<(&str, Option<i64>)>,
    admin: i64,
) -> i64 {
    let umbrella = app.umbrella(store).await;
    let user = renter(app).await;
    let (returned_at, return_store, closed_reason, closed_by) = match ended {
        None => (None, None, None, None),
        Some((at, Some(to))) => (Some(at), Some(to), None, None),
        Some((at, None)) => (Some(at), None, Some("lost"), Some(admin)),
    };
    sqlx::query_scalar(
        "INSERT INTO rentals (umbrella_id, user_id, rent_store_id, rented_at, returned_at, return_store_id, \
                              closed_reason, closed_by) \
         VALUES ($1, $2, $3, $4::timestamptz, $5::timestamptz, $6, $7, $8) RETURNING id",
    )
    .bind(umbrella)
    .bind(user)
    .bind(store)
    .bind(rented)
    .bind(returned_at)
    .bind(return_store)
    .bind(closed_reason)
    .bind(closed_by)
    .fetch_one(&app.db)
    .await
    .expect("rental")
}

/// November 2026 at two stores, A and B (times in KST):
/// - r1: A, 11-02 00:30 (11-01 in UTC) → returned to B 11-03 00:30 (24 h)
/// - r2: A, 11-02 10:00 → returned to A 11-02 22:00 (12 h)
/// - r3: B, 11-10 09:00 → closed as lost 11-20 09:00
/// - r4: A, 11-30 23:30 (the period's last day) → still open
/// - r5: A, 10-31 23:59 (before the period) → returned to A 11-01 01:00 (61 min)
/// - r6: A, 12-01 00:00 (after the period)
async fn november(app: &TestApp, admin: i64) -> (i64, i64) {
    let a = app.store().await.store;
    let b = app.store().await.store;
    sqlx::query("UPDATE stores SET name = CASE WHEN id = $1 THEN '매장A' ELSE '매장B' END WHERE id IN ($1, $2)")
        .bind(a)
        .bind(b)
        .execute(&app.db)
        .await
        .expect("names");
    seed(
        app,
        a,
        "2026-11-02T00:30:00+09:00",
        Some(("2026-11-03T00:30:00+09:00", Some(b))),
        admin,
    )
    .await;
    seed(
        app,
        a,
        "2026-11-02T10:00:00+09:00",
        Some(("2026-11-02T22:00:00+09:00", Some(a))),
        admin,
    )
    .await;
    seed(
        app,
        b,
        "2026-11-10T09:00:00+09:00",
        Some(("2026-11-20T09:00:00+09:00", None)),
        admin,
    )
    .await;
    seed(app, a, "2026-11-30T23:30:00+09:00", None, admin).await;
    seed(
        app,
        a,
        "2026-10-31T23:59:00+09:00",
        Some(("2026-11-01T01:00:00+09:00", Some(a))),
        admin,
    )
    .await;
    seed(
        app,
        a,
        "2026-12-01T00:00:00+09:00",
        Some(("2026-12-01T05:00:00+09:00", Some(a))),
        admin,
    )
    .await;
    (a, b)
}

fn close(actual: &Value, expected: f64) {
    let got = actual
        .as_f64()
        .unwrap_or_else(|| panic!("a number: {actual}"));
    assert!((got - expected).abs() < 1e-6, "{got} != {expected}");
}

fn point<'a>(body: &'a Value, start: &str) -> &'a Value {
    body["series"]
        .as_array()
        .expect("series")
        .iter()
        .find(|p| p["start"] == start)
        .unwrap_or_else(|| panic!("no bucket {start}: {body}"))
}

#[tokio::test]
async fn statistics_count_korean_days_per_store_with_return_rate_and_durations() {
    let app = spawn_app().await;
    let (admin, admin_id) = app.admin().await;
    let (a, b) = november(&app, admin_id).await;

    let body = json_ok(
        app.get(
            &admin,
            "/api/admin/statistics?from=2026-11-01&to=2026-11-30&bucket=day",
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(body["from"], "2026-11-01");
    assert_eq!(body["to"], "2026-11-30");
    assert_eq!(body["bucket"], "day");
    let series = body["series"].as_array().expect("series");
    assert_eq!(series.len(), 30, "one bucket per day, empty days too");
    assert_eq!(series[0]["start"], "2026-11-01");
    // r1 was rented at 00:30 KST on the 2nd (the 1st in UTC): it counts on the 2nd.
    let first = point(&body, "2026-11-01");
    assert_eq!(
        (&first["rentals"], &first["returns"]),
        (&json!(0), &json!(1))
    );
    let second = point(&body, "2026-11-02");
    assert_eq!(second["rentals"], 2);
    assert_eq!(second["returns"], 1);
    close(&second["mean_duration_hours"], 12.0);
    assert_eq!(point(&body, "2026-11-03")["returns"], 1);
    assert_eq!(point(&body, "2026-11-20")["lost"], 1);
    assert_eq!(point(&body, "2026-11-30")["rentals"], 1);
    assert!(point(&body, "2026-11-15")["mean_duration_hours"].is_null());

    let totals = &body["totals"];
    assert_eq!(totals["rentals"], 4);
    assert_eq!(totals["returns"], 3);
    assert_eq!(totals["lost"], 1);
    // Of the four rentals, r1 and r2 came back; r3 was lost and r4 is out.
    close(&totals["return_rate"], 0.5);
    close(
        &totals["mean_duration_hours"],
        (24.0 + 12.0 + 61.0 / 60.0) / 3.0,
    );
    close(&totals["median_duration_hours"], 12.0);

    let per_store = body["per_store"].as_array().expect("per store");
    assert_eq!(
        per_store[0],
        json!({"store_id": a, "name": "매장A", "rentals": 3, "returns": 2, "lost": 0})
    );
    assert_eq!(
        per_store[1],
        json!({"store_id": b, "name": "매장B", "rentals": 1, "returns": 1, "lost": 1})
    );

    // Weeks run Monday to Sunday: the 1st (a Sunday) is in the week of October 26th.
    let weeks = json_ok(
        app.get(
            &admin,
            "/api/admin/statistics?from=2026-11-01&to=2026-11-30&bucket=week",
        )
        .await,
        StatusCode::OK,
    )
    .await;
    let starts: Vec<&str> = weeks["series"]
        .as_array()
        .expect("series")
        .iter()
        .map(|p| p["start"].as_str().expect("start"))
        .collect();
    assert_eq!(
        starts,
        [
            "2026-10-26",
            "2026-11-02",
            "2026-11-09",
            "2026-11-16",
            "2026-11-23",
            "2026-11-30"
        ]
    );
    assert_eq!(point(&weeks, "2026-10-26")["returns"], 1);
    assert_eq!(point(&weeks, "2026-11-02")["rentals"], 2);
    assert_eq!(point(&weeks, "2026-11-02")["returns"], 2);
    close(&point(&weeks, "2026-11-02")["mean_duration_hours"], 18.0);
    assert_eq!(point(&weeks, "2026-11-16")["lost"], 1);

    let months = json_ok(
        app.get(
            &admin,
            "/api/admin/statistics?from=2026-11-01&to=2026-12-31&bucket=month",
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(months["series"].as_array().expect("series").len(), 2);
    assert_eq!(point(&months, "2026-11-01")["rentals"], 4);
    assert_eq!(point(&months, "2026-12-01")["rentals"], 1);

    // One store: its rentals, the returns to it, the losses of its rentals.
    let only_b = json_ok(
        app.get(
            &admin,
            &format!("/api/admin/statistics?from=2026-11-01&to=2026-11-30&store_id={b}"),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(only_b["store_id"], b);
    assert_eq!(only_b["totals"]["rentals"], 1);
    assert_eq!(only_b["totals"]["returns"], 1);
    assert_eq!(only_b["totals"]["lost"], 1);
    close(&only_b["totals"]["return_rate"], 0.0);
    assert_eq!(only_b["per_store"].as_array().expect("per store").len(), 1);

    // A period without rentals has no return rate rather than a made-up one.
    let empty = json_ok(
        app.get(
            &admin,
            "/api/admin/statistics?from=2025-01-01&to=2025-01-31",
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert!(empty["totals"]["return_rate"].is_null());
    assert_eq!(empty["totals"]["rentals"], 0);
}

#[tokio::test]
async fn bad_periods_and_buckets_are_422_with_a_korean_message() {
    let app = spawn_app().await;
    let (admin, _) = app.admin().await;
    for (query, code) in [
        ("from=2026-11-31&to=2026-12-01", "invalid_date"),
        ("from=2026/11/01&to=2026-12-01", "invalid_date"),
        ("from=2026-11-01&to=tomorrow", "invalid_date"),
        ("from=2026-12-02&to=2026-12-01", "invalid_period"),
        ("from=2025-01-01&to=2026-02-05", "period_too_long"),
        (
            "from=2026-11-01&to=2026-11-30&bucket=year",
            "invalid_bucket",
        ),
    ] {
        let body = problem(
            app.get(&admin, &format!("/api/admin/statistics?{query}"))
                .await,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
        assert_eq!(body["code"], code, "{query}");
    }
    // 400 days is the most one request covers.
    json_ok(
        app.get(
            &admin,
            "/api/admin/statistics?from=2025-01-01&to=2026-02-04",
        )
        .await,
        StatusCode::OK,
    )
    .await;
    // Without dates: the last 30 days, per day.
    let recent = json_ok(
        app.get(&admin, "/api/admin/statistics").await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(recent["series"].as_array().expect("series").len(), 30);
    problem(
        app.get(&admin, "/api/admin/statistics?store_id=999999")
            .await,
        StatusCode::NOT_FOUND,
    )
    .await;
}

#[tokio::test]
async fn open_rentals_are_aged_by_days_past_due() {
    let app = spawn_app().await;
    let (admin, admin_id) = app.admin().await;
    let store = app.store().await.store;
    // Due 14 days after renting; a day overdue begins the moment the due time passes.
    for age_hours in [10 * 24, 15 * 24 + 12, 19 * 24 + 12, 24 * 24 + 12, 40 * 24] {
        let umbrella = app.umbrella(store).await;
        let user = renter(&app).await;
        sqlx::query(
            "INSERT INTO rentals (umbrella_id, user_id, rent_store_id, rented_at) \
             VALUES ($1, $2, $3, now() - make_interval(hours => $4))",
        )
        .bind(umbrella)
        .bind(user)
        .bind(store)
        .bind(age_hours)
        .execute(&app.db)
        .await
        .expect("open rental");
    }
    // Returned rentals are never overdue, however old.
    seed(
        &app,
        store,
        "2026-01-01T00:00:00+09:00",
        Some(("2026-03-01T00:00:00+09:00", Some(store))),
        admin_id,
    )
    .await;
    let body = json_ok(
        app.get(&admin, "/api/admin/statistics").await,
        StatusCode::OK,
    )
    .await;
    let ageing: Vec<(String, i64)> = body["overdue_ageing"]
        .as_array()
        .expect("ageing")
        .iter()
        .map(|b| {
            (
                b["label"].as_str().expect("label").to_owned(),
                b["count"].as_i64().expect("count"),
            )
        })
        .collect();
    assert_eq!(
        ageing,
        [
            ("1–3일".to_owned(), 1),
            ("4–7일".to_owned(), 1),
            ("8–14일".to_owned(), 1),
            ("15일+".to_owned(), 1)
        ]
    );
    assert_eq!(body["overdue_ageing"][3]["label_en"], "15+ days");
}

#[tokio::test]
async fn stock_flags_empty_low_and_overflowing_stores_by_their_thresholds() {
    let app = spawn_app().await;
    let (admin, admin_id) = app.admin().await;
    let empty = app.store().await.store;
    let low = app.store().await.store;
    let full = app.store().await.store;
    app.umbrella(low).await;
    for _ in 0..3 {
        app.umbrella(full).await;
    }
    // A rented or missing umbrella is not on the shelf.
    let rented = app.umbrella(low).await;
    let user = renter(&app).await;
    sqlx::query("INSERT INTO rentals (umbrella_id, user_id, rent_store_id) VALUES ($1, $2, $3)")
        .bind(rented)
        .bind(user)
        .bind(low)
        .execute(&app.db)
        .await
        .expect("open rental");
    let missing = app.umbrella(low).await;
    sqlx::query("UPDATE umbrellas SET missed = true WHERE id = $1")
        .bind(missing)
        .execute(&app.db)
        .await
        .expect("missing");

    let r = app
        .put(
            &admin,
            &format!("/api/admin/stores/{full}/stock-thresholds"),
            json!({"low": 0, "high": 2}),
        )
        .await;
    let updated = json_ok(r, StatusCode::OK).await;
    assert_eq!(
        (
            &updated["available"],
            &updated["low"],
            &updated["high"],
            &updated["status"]
        ),
        (&json!(3), &json!(0), &json!(2), &json!("overflowing"))
    );
    let logged: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM operator_actions WHERE action = 'store.set_stock_thresholds' \
         AND target_id = $1 AND actor_id = $2 AND details = '{\"low\": 0, \"high\": 2}'::jsonb",
    )
    .bind(full)
    .bind(admin_id)
    .fetch_one(&app.db)
    .await
    .expect("log");
    assert_eq!(logged, 1, "the change is in the operator action log");

    let stock = json_ok(app.get(&admin, "/api/admin/stock").await, StatusCode::OK).await;
    let rows: Vec<(i64, i64, String)> = stock
        .as_array()
        .expect("stock")
        .iter()
        .map(|s| {
            (
                s["store_id"].as_i64().expect("id"),
                s["available"].as_i64().expect("available"),
                s["status"].as_str().expect("status").to_owned(),
            )
        })
        .collect();
    assert_eq!(
        rows,
        [
            (empty, 0, "empty".to_owned()),
            (low, 1, "low".to_owned()),
            (full, 3, "overflowing".to_owned())
        ],
        "the stores needing a visit come first"
    );

    for body in [
        json!({"low": 5, "high": 5}),
        json!({"low": -1, "high": 5}),
        json!({"low": 1, "high": 10001}),
    ] {
        let p = problem(
            app.put(
                &admin,
                &format!("/api/admin/stores/{full}/stock-thresholds"),
                body.clone(),
            )
            .await,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
        assert_eq!(p["code"], "invalid_stock_thresholds", "{body}");
    }
    problem(
        app.put(
            &admin,
            "/api/admin/stores/999999/stock-thresholds",
            json!({"low": 1, "high": 5}),
        )
        .await,
        StatusCode::NOT_FOUND,
    )
    .await;
    // The schema holds the rule too, for writers other than this endpoint.
    let refused = sqlx::query("UPDATE stores SET stock_low = 9, stock_high = 3 WHERE id = $1")
        .bind(full)
        .execute(&app.db)
        .await
        .expect_err("low above high");
    assert!(
        refused
            .to_string()
            .contains("stores_stock_thresholds_check"),
        "{refused}"
    );
}
