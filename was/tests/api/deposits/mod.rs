//! Deposits as one state machine: every transition and refusal through the API, the work
//! queues, the gate on renting, bans that keep the contact, the books and their export,
//! and random walks that hold the invariants.

use reqwest::{Client, StatusCode};
use serde_json::{Value, json};

use crate::helpers::*;

mod settling;

/// An operator's deposit operation, with a note (some operations require one).
async fn deposit(app: &TestApp, admin: &Client, rental: i64, operation: &str) -> reqwest::Response {
    app.post(
        admin,
        &format!("/api/admin/rentals/{rental}/deposit"),
        json!({"operation": operation, "note": "테스트 메모"}),
    )
    .await
}

async fn queue(app: &TestApp, admin: &Client, status: &str) -> Vec<i64> {
    json_ok(
        app.get(
            admin,
            &format!("/api/admin/rentals?status={status}&size=100"),
        )
        .await,
        StatusCode::OK,
    )
    .await
    .as_array()
    .unwrap()
    .iter()
    .map(|r| r["id"].as_i64().unwrap())
    .collect()
}

async fn give_back(app: &TestApp, renter: &Client, store: i64) -> Value {
    json_ok(
        app.post(
            renter,
            "/api/rentals/current/return",
            json!({"store_id": store, "bank_name": "국민", "account_number": "123-456-789012"}),
        )
        .await,
        StatusCode::OK,
    )
    .await
}

#[tokio::test]
async fn a_same_day_return_before_payment_stays_money_outstanding_until_refunded() {
    let app = spawn_app().await;
    let (admin, _) = app.admin().await;
    let f = app.store().await;
    let u = app.umbrella(f.store).await;
    let (renter, _) = app.user().await;
    let rented = app.rent(&renter, u, f.store).await;
    let id = rented["rental"]["id"].as_i64().unwrap();
    // The renter is told what to write as the transfer's sender.
    let reference = rented["rental"]["deposit"]["reference"].as_str().unwrap();
    assert!(reference.starts_with("김우산"), "{reference}");
    assert_eq!(
        reference.chars().count(),
        7,
        "name and four digits: {reference}"
    );
    let back = give_back(&app, &renter, f.store).await;
    assert_eq!(back["deposit"]["state"], "awaiting_payment");
    assert_eq!(back["deposit"]["label"], "입금 확인 전");

    // Returned before the transfer was confirmed: still in the payment queue, and the
    // dashboard says so (it used to fall out of every queue).
    assert_eq!(queue(&app, &admin, "unpaid").await, [id]);
    assert!(queue(&app, &admin, "refund_due").await.is_empty());
    let board = json_ok(
        app.get(&admin, "/api/admin/dashboard").await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(
        (&board["unpaid_deposits"], &board["refunds_due"]),
        (&json!(1), &json!(0))
    );
    // The reference finds the rental.
    let found = json_ok(
        app.get(
            &admin,
            &format!("/api/admin/rentals?q={}", urlencoding(reference)),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(found[0]["id"], id);

    // Confirmed the next day: straight to the refund queue.
    let r = json_ok(
        deposit(&app, &admin, id, "confirm_payment").await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(r["deposit"]["state"], "refund_due");
    assert_eq!(
        r["deposit_operations"],
        json!(["refund", "refund_failed", "forfeit_damaged"])
    );
    assert!(queue(&app, &admin, "unpaid").await.is_empty());
    assert_eq!(queue(&app, &admin, "refund_due").await, [id]);
    let r = json_ok(deposit(&app, &admin, id, "refund").await, StatusCode::OK).await;
    assert_eq!(r["deposit"]["state"], "refunded");
    assert_eq!(r["deposit_operations"], json!([]));
    let mine = json_ok(app.get(&renter, "/api/me/rentals").await, StatusCode::OK).await;
    assert_eq!(mine[0]["deposit"]["label"], "환급 완료");

    // The ledger holds both moves, with who made them.
    let events: Vec<(String, String, Option<String>)> = sqlx::query_as(
        "SELECT operation, to_state, actor_email FROM deposit_events WHERE rental_id = $1 ORDER BY id",
    )
    .bind(id)
    .fetch_all(&app.db)
    .await
    .unwrap();
    assert_eq!(events.len(), 2, "{events:?}");
    assert_eq!(
        (events[0].0.as_str(), events[0].1.as_str()),
        ("confirm_payment", "refund_due")
    );
    assert_eq!(
        (events[1].0.as_str(), events[1].1.as_str()),
        ("refund", "refunded")
    );
    assert!(events.iter().all(|e| e.2.is_some()));
}

fn urlencoding(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

#[tokio::test]
async fn a_lost_rental_keeps_a_paid_deposit_until_the_umbrella_is_found() {
    let app = spawn_app().await;
    let (admin, _) = app.admin().await;
    let f = app.store().await;
    let other = app.store_in(f.region).await;
    let u = app.umbrella(f.store).await;
    let (renter, _) = app.user().await;
    let id = app.rent_id(&renter, u, f.store).await;
    let paid = json_ok(
        deposit(&app, &admin, id, "confirm_payment").await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(paid["deposit"]["state"], "paid");
    let lost = json_ok(
        app.post(
            &admin,
            &format!("/api/admin/rentals/{id}/close"),
            json!({"reason": "lost"}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(lost["deposit"]["state"], "forfeited");
    assert_eq!(lost["deposit"]["forfeit_reason"], "lost");
    // One state everywhere: the API refuses the refund the console does not offer, no
    // queue lists it, and the renter reads that it is kept and why.
    assert_eq!(lost["deposit_operations"], json!([]));
    let refused = problem(
        deposit(&app, &admin, id, "refund").await,
        StatusCode::CONFLICT,
    )
    .await;
    assert_eq!(refused["code"], "deposit_not_refund_due");
    for q in ["unpaid", "refund_due", "refund_failed"] {
        assert!(queue(&app, &admin, q).await.is_empty(), "{q}");
    }
    let mine = json_ok(app.get(&renter, "/api/me/rentals").await, StatusCode::OK).await;
    let label = mine[0]["deposit"]["label"].as_str().unwrap();
    assert!(label.contains("분실"), "{label}");
    assert!(
        mine[0]["deposit"]["label_en"]
            .as_str()
            .unwrap()
            .contains("lost")
    );

    // Found at another store: back in service there, and the deposit is owed again.
    let found = json_ok(
        app.post(
            &admin,
            &format!("/api/admin/rentals/{id}/found"),
            json!({"store_id": other, "note": "카페 카운터에 있었음"}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(found["deposit"]["state"], "refund_due");
    assert!(found["deposit"]["forfeit_reason"].is_null());
    let (store, missed, rentable): (i64, bool, bool) =
        sqlx::query_as("SELECT store_id, missed, rentable FROM umbrellas WHERE id = $1")
            .bind(u)
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!((store, missed, rentable), (other, false, true));
    let again = problem(
        app.post(
            &admin,
            &format!("/api/admin/rentals/{id}/found"),
            json!({"store_id": other}),
        )
        .await,
        StatusCode::CONFLICT,
    )
    .await;
    assert_eq!(again["code"], "rental_not_lost");

    // The renter never gave an account (they never returned): asked for one on their
    // page, and the refund waits for it.
    let no_account = problem(
        deposit(&app, &admin, id, "refund").await,
        StatusCode::CONFLICT,
    )
    .await;
    assert_eq!(no_account["code"], "no_refund_account");
    let mine = json_ok(app.get(&renter, "/api/me/rentals").await, StatusCode::OK).await;
    assert_eq!(mine[0]["needs_refund_account"], true);
    json_ok(
        app.put(
            &renter,
            &format!("/api/me/rentals/{id}/refund-account"),
            json!({"bank_name": "신한", "account_number": "110-123-456789"}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    let done = json_ok(deposit(&app, &admin, id, "refund").await, StatusCode::OK).await;
    assert_eq!(done["deposit"]["state"], "refunded");
}

#[tokio::test]
async fn a_staff_return_takes_the_saved_account_or_asks_the_renter_for_one() {
    let app = spawn_app().await;
    let (admin, _) = app.admin().await;
    let f = app.store().await;
    let close = |id: i64| format!("/api/admin/rentals/{id}/close");
    let staff = json!({"reason": "returned_by_staff", "store_id": f.store});

    // A renter with a saved account: it becomes the rental's.
    let (saver, _) = app.user().await;
    json_ok(
        app.put(
            &saver,
            "/api/me/bank-account",
            json!({"bank_name": "우리", "account_number": "1002-123-456789"}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    let u1 = app.umbrella(f.store).await;
    let a = app.rent_id(&saver, u1, f.store).await;
    json_ok(
        deposit(&app, &admin, a, "confirm_payment").await,
        StatusCode::OK,
    )
    .await;
    let closed = json_ok(
        app.post(&admin, &close(a), staff.clone()).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(closed["deposit"]["state"], "refund_due");
    assert_eq!(closed["account_masked"], "****-***-**6789");
    json_ok(deposit(&app, &admin, a, "refund").await, StatusCode::OK).await;

    // A renter without one: the refund waits for the account they give on their page.
    let (renter, _) = app.user().await;
    let u2 = app.umbrella(f.store).await;
    let b = app.rent_id(&renter, u2, f.store).await;
    json_ok(
        deposit(&app, &admin, b, "confirm_payment").await,
        StatusCode::OK,
    )
    .await;
    let closed = json_ok(app.post(&admin, &close(b), staff).await, StatusCode::OK).await;
    assert_eq!(closed["has_bank_account"], false);
    problem(
        deposit(&app, &admin, b, "refund").await,
        StatusCode::CONFLICT,
    )
    .await;
    let mine = json_ok(app.get(&renter, "/api/me/rentals").await, StatusCode::OK).await;
    assert_eq!(mine[0]["needs_refund_account"], true);
    // Someone else's rental is nobody's business.
    problem(
        app.put(
            &saver,
            &format!("/api/me/rentals/{b}/refund-account"),
            json!({"bank_name": "신한", "account_number": "110123456789"}),
        )
        .await,
        StatusCode::NOT_FOUND,
    )
    .await;
    json_ok(
        app.put(
            &renter,
            &format!("/api/me/rentals/{b}/refund-account"),
            json!({"bank_name": "신한", "account_number": "110123456789"}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    json_ok(deposit(&app, &admin, b, "refund").await, StatusCode::OK).await;
}

#[tokio::test]
async fn a_refund_the_bank_rejects_waits_for_a_new_account() {
    let app = spawn_app().await;
    let (admin, _) = app.admin().await;
    let f = app.store().await;
    let u = app.umbrella(f.store).await;
    let (renter, _) = app.user().await;
    let id = app.rent_id(&renter, u, f.store).await;
    // An account cannot be given for a rental still open.
    let open = problem(
        app.put(
            &renter,
            &format!("/api/me/rentals/{id}/refund-account"),
            json!({"bank_name": "신한", "account_number": "110123456789"}),
        )
        .await,
        StatusCode::CONFLICT,
    )
    .await;
    assert_eq!(open["code"], "rental_still_open");
    give_back(&app, &renter, f.store).await;
    json_ok(
        deposit(&app, &admin, id, "confirm_payment").await,
        StatusCode::OK,
    )
    .await;
    let failed = json_ok(
        app.post(
            &admin,
            &format!("/api/admin/rentals/{id}/deposit"),
            json!({"operation": "refund_failed", "note": "예금주 불일치"}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(failed["deposit"]["state"], "refund_failed");
    assert_eq!(queue(&app, &admin, "refund_failed").await, [id]);
    assert!(queue(&app, &admin, "refund_due").await.is_empty());
    problem(
        deposit(&app, &admin, id, "refund").await,
        StatusCode::CONFLICT,
    )
    .await;
    let mine = json_ok(app.get(&renter, "/api/me/rentals").await, StatusCode::OK).await;
    assert_eq!(mine[0]["needs_refund_account"], true);
    assert!(
        mine[0]["deposit"]["label"]
            .as_str()
            .unwrap()
            .contains("환급 실패")
    );
    let again = json_ok(
        app.put(
            &renter,
            &format!("/api/me/rentals/{id}/refund-account"),
            json!({"bank_name": "신한", "account_number": "110-987-654321"}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(again["deposit"]["state"], "refund_due");
    let r = json_ok(deposit(&app, &admin, id, "refund").await, StatusCode::OK).await;
    assert_eq!(r["account_masked"], "***-***-**4321");
    // A refunded rental needs no account any more.
    problem(
        app.put(
            &renter,
            &format!("/api/me/rentals/{id}/refund-account"),
            json!({"bank_name": "신한", "account_number": "110123456789"}),
        )
        .await,
        StatusCode::CONFLICT,
    )
    .await;
}

#[tokio::test]
async fn each_operation_applies_only_where_the_deposit_stands() {
    let app = spawn_app().await;
    let (admin, _) = app.admin().await;
    let f = app.store().await;
    let (renter, _) = app.user().await;
    let u = app.umbrella(f.store).await;
    let id = app.rent_id(&renter, u, f.store).await;
    for (op, code) in [
        ("refund", "deposit_not_refund_due"),
        ("refund_failed", "deposit_not_refund_due"),
        ("forfeit_damaged", "deposit_not_refund_due"),
    ] {
        let p = problem(deposit(&app, &admin, id, op).await, StatusCode::CONFLICT).await;
        assert_eq!(p["code"], code, "{op}");
    }
    json_ok(
        deposit(&app, &admin, id, "confirm_payment").await,
        StatusCode::OK,
    )
    .await;
    let twice = problem(
        deposit(&app, &admin, id, "confirm_payment").await,
        StatusCode::CONFLICT,
    )
    .await;
    assert_eq!(twice["code"], "deposit_already_paid");
    let waive = problem(
        deposit(&app, &admin, id, "waive").await,
        StatusCode::CONFLICT,
    )
    .await;
    assert_eq!(waive["code"], "deposit_not_awaiting_payment");
    give_back(&app, &renter, f.store).await;
    let damaged = json_ok(
        app.post(
            &admin,
            &format!("/api/admin/rentals/{id}/deposit"),
            json!({"operation": "forfeit_damaged", "note": "살대 두 개 부러짐"}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(damaged["deposit"]["forfeit_reason"], "damaged");
    let mine = json_ok(app.get(&renter, "/api/me/rentals").await, StatusCode::OK).await;
    assert!(
        mine[0]["deposit"]["label"]
            .as_str()
            .unwrap()
            .contains("파손")
    );
    // Not an operation, no rental, a note too long, no reason where one is owed: clear
    // answers, nothing written.
    for op in ["waive", "refund_failed", "forfeit_damaged"] {
        let p = problem(
            app.post(
                &admin,
                &format!("/api/admin/rentals/{id}/deposit"),
                json!({"operation": op, "note": "  "}),
            )
            .await,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
        assert_eq!(p["code"], "note_required", "{op}");
    }
    problem(
        deposit(&app, &admin, id, "refund_twice").await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    problem(
        deposit(&app, &admin, 999_999, "confirm_payment").await,
        StatusCode::NOT_FOUND,
    )
    .await;
    problem(
        app.post(
            &admin,
            &format!("/api/admin/rentals/{id}/deposit"),
            json!({"operation": "waive", "note": "가".repeat(401)}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    let events: i64 =
        sqlx::query_scalar("SELECT count(*) FROM deposit_events WHERE rental_id = $1")
            .bind(id)
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!(events, 3, "payment, return to refund_due, damage");
}

#[tokio::test]
async fn renting_waits_while_a_deposit_is_owed() {
    let app = spawn_app_with(&[("DEPOSIT_UNPAID_DAYS", "3")]).await;
    let (admin, _) = app.admin().await;
    let f = app.store().await;
    let (renter, _) = app.user().await;
    let u1 = app.umbrella(f.store).await;
    let u2 = app.umbrella(f.store).await;
    let first = app.rent_id(&renter, u1, f.store).await;
    give_back(&app, &renter, f.store).await;
    // Returned today, unpaid: still within the grace period.
    let second = app.rent_id(&renter, u2, f.store).await;
    give_back(&app, &renter, f.store).await;
    // Four days later, the first is still unpaid: no new rental, and the answer says
    // which one and what to do.
    sqlx::query("UPDATE rentals SET returned_at = now() - interval '4 days' WHERE id = $1")
        .bind(first)
        .execute(&app.db)
        .await
        .unwrap();
    let rent = json!({"umbrella_id": u1, "store_id": f.store});
    let owed = problem(
        app.post(&renter, "/api/rentals", rent.clone()).await,
        StatusCode::CONFLICT,
    )
    .await;
    assert_eq!(owed["code"], "deposit_outstanding");
    assert!(
        owed["detail"]
            .as_str()
            .unwrap()
            .contains(&format!("#{first}"))
    );
    json_ok(
        deposit(&app, &admin, first, "confirm_payment").await,
        StatusCode::OK,
    )
    .await;
    let third = json_ok(
        app.post(&renter, "/api/rentals", rent).await,
        StatusCode::CREATED,
    )
    .await["rental"]["id"]
        .as_i64()
        .unwrap();

    // A lost umbrella never paid for: owed at once, until paid (kept) or waived.
    json_ok(
        app.post(
            &admin,
            &format!("/api/admin/rentals/{third}/close"),
            json!({"reason": "lost"}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    let rent = json!({"umbrella_id": u2, "store_id": f.store});
    let owed = problem(
        app.post(&renter, "/api/rentals", rent.clone()).await,
        StatusCode::CONFLICT,
    )
    .await;
    assert!(owed["detail"].as_str().unwrap().contains("분실"));
    // Nor can the debt be wiped by leaving and signing up again.
    let leave = problem(app.delete(&renter, "/api/me").await, StatusCode::CONFLICT).await;
    assert_eq!(leave["code"], "deposit_not_settled");
    let waived = json_ok(deposit(&app, &admin, third, "waive").await, StatusCode::OK).await;
    assert_eq!(waived["deposit"]["state"], "waived");
    json_ok(
        app.post(&renter, "/api/rentals", rent).await,
        StatusCode::CREATED,
    )
    .await;
    let _ = second;
}
