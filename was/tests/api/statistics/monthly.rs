//! A store's monthly report, summed up and mailed to the cafe.

use super::*;

#[tokio::test]
async fn a_monthly_report_sums_up_a_store_and_is_mailed_to_the_cafe() {
    let app = spawn_app_with_mail(&[]).await;
    let (admin, admin_id) = app.admin().await;
    let (a, _) = november(&app, admin_id).await;

    let report = json_ok(
        app.get(
            &admin,
            &format!("/api/admin/stores/{a}/monthly-report?month=2026-11"),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(report["store"], json!({"id": a, "name": "매장A"}));
    assert_eq!(report["month"], "2026-11");
    assert_eq!(report["rentals"], 3);
    assert_eq!(report["returns_here"], 2);
    assert_eq!(report["lost"], 0);
    close(
        &report["mean_duration_hours"],
        (24.0 + 12.0 + 61.0 / 60.0) / 3.0,
    );
    assert_eq!(
        report["busiest_weekday"], 1,
        "the 2nd and the 30th are Mondays"
    );
    let days = report["days"].as_array().expect("days");
    assert_eq!(days.len(), 30);
    assert_eq!(
        days[1],
        json!({"date": "2026-11-02", "rentals": 2, "returns": 1})
    );
    assert_eq!(
        days[0],
        json!({"date": "2026-11-01", "rentals": 0, "returns": 1})
    );

    let cafe = format!("cafe-{}@example.com", uuid::Uuid::new_v4().simple());
    let queued = json_ok(
        app.post(
            &admin,
            &format!("/api/admin/stores/{a}/monthly-report/send"),
            json!({"month": "2026-11", "to": cafe}),
        )
        .await,
        StatusCode::ACCEPTED,
    )
    .await;
    assert_eq!(queued["to"], cafe.as_str());
    let mail = wait_for_mail(&cafe, "우산 대여 보고서", 1).await;
    assert!(
        mail["subject"]
            .as_str()
            .is_some_and(|s| s.starts_with("[업브렐라] 매장A 2026년 11월")),
        "{}",
        mail["subject"]
    );
    let text = mail["text"].as_str().expect("text part");
    assert!(text.contains("이 매장에서 빌려 간 우산: 3개"), "{text}");
    assert!(text.contains("월요일") && text.contains("Monday"), "{text}");
    assert!(text.contains("2026-11-02  2  1"), "{text}");
    assert!(
        text.find("안녕하세요") < text.find("Thank you"),
        "Korean first: {text}"
    );
    assert!(
        mail["html"].as_str().is_some_and(|h| h.contains("<table")),
        "the HTML part has the daily table"
    );
    let logged: Value = sqlx::query_scalar(
        "SELECT details FROM operator_actions WHERE action = 'store.send_monthly_report' \
         AND target_id = $1 AND actor_id = $2",
    )
    .bind(a)
    .bind(admin_id)
    .fetch_one(&app.db)
    .await
    .expect("logged");
    assert_eq!(logged, json!({"month": "2026-11", "to": cafe}));

    for (body, code) in [
        (
            json!({"month": "2026-13", "to": "cafe@example.com"}),
            "invalid_month",
        ),
        (
            json!({"month": "2026-11", "to": "not an address"}),
            "invalid_email",
        ),
    ] {
        let p = problem(
            app.post(
                &admin,
                &format!("/api/admin/stores/{a}/monthly-report/send"),
                body,
            )
            .await,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
        assert_eq!(p["code"], code);
    }
    problem(
        app.get(
            &admin,
            "/api/admin/stores/999999/monthly-report?month=2026-11",
        )
        .await,
        StatusCode::NOT_FOUND,
    )
    .await;
    let p = problem(
        app.get(
            &admin,
            &format!("/api/admin/stores/{a}/monthly-report?month=11-2026"),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(p["code"], "invalid_month");
}
