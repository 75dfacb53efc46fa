//! The admin tour's rental steps: a rental and its deposit, returns, codes, lockers,
//! retiring a store, bans.

use super::*;

pub(super) async fn a_rental_its_deposit_and_reports(
    a: &mut Admin<'_>,
    store_id: i64,
    second: i64,
) {
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
pub(super) async fn rented_new_umbrella(
    a: &mut Admin<'_>,
    store_id: i64,
    number: i64,
) -> (i64, Client, i64) {
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
pub(super) async fn staff_return_report_and_closure(a: &mut Admin<'_>, store_id: i64) {
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
pub(super) async fn close_a_stuck_rental(a: &mut Admin<'_>, store_id: i64) {
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

pub(super) async fn print_codes(a: &mut Admin<'_>, store_id: i64) {
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

pub(super) async fn statistics_stock_reports_and_the_store_form(a: &mut Admin<'_>, store_id: i64) {
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

pub(super) async fn a_locker(a: &mut Admin<'_>, store_id: i64) {
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

pub(super) async fn retire_umbrellas_and_close_the_store(
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

pub(super) async fn ban_and_lift(a: &mut Admin<'_>) {
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
