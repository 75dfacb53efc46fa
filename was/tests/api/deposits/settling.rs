//! Settling up: bans and paused stores, the books and their export, random walks over
//! the deposit queues, a lost umbrella rented out again.

use super::*;

#[tokio::test]
async fn a_ban_keeps_the_contact_of_a_renter_who_holds_an_umbrella_until_settled() {
    let app = spawn_app().await;
    let (admin, _) = app.admin().await;
    let f = app.store().await;
    let (renter, renter_id) = app.user().await;
    let u = app.umbrella(f.store).await;
    let id = app.rent_id(&renter, u, f.store).await;
    assert_eq!(
        app.post(
            &admin,
            &format!("/api/admin/users/{renter_id}/ban"),
            json!({})
        )
        .await
        .status(),
        StatusCode::NO_CONTENT
    );
    // The login ends at once; the phone number we would chase them with stays.
    problem(app.get(&renter, "/api/me").await, StatusCode::UNAUTHORIZED).await;
    let contact: (String, Option<String>, String) =
        sqlx::query_as("SELECT name, phone, status FROM users WHERE id = $1")
            .bind(renter_id)
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!(
        contact,
        (
            "김우산".to_owned(),
            Some("01012345678".to_owned()),
            "banned".to_owned()
        )
    );
    // Closed as lost, deposit unpaid: still owed, still kept.
    json_ok(
        app.post(
            &admin,
            &format!("/api/admin/rentals/{id}/close"),
            json!({"reason": "lost"}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    let phone: Option<String> = sqlx::query_scalar("SELECT phone FROM users WHERE id = $1")
        .bind(renter_id)
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert!(phone.is_some(), "money is still owed");
    // Paid (and kept for the loss): settled, the row is anonymised.
    json_ok(
        deposit(&app, &admin, id, "confirm_payment").await,
        StatusCode::OK,
    )
    .await;
    let after: (String, Option<String>, Option<String>) =
        sqlx::query_as("SELECT name, phone, email FROM users WHERE id = $1")
            .bind(renter_id)
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!(after, ("(탈퇴한 사용자)".to_owned(), None, None));
}

#[tokio::test]
async fn a_store_paused_for_rentals_still_takes_umbrellas_back() {
    let app = spawn_app().await;
    let (admin, _) = app.admin().await;
    let f = app.store().await;
    let (renter, _) = app.user().await;
    let u = app.umbrella(f.store).await;
    app.rent(&renter, u, f.store).await;
    json_ok(
        app.put(
            &admin,
            &format!("/api/admin/stores/{}/activation", f.store),
            json!({"activated": false}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    json_ok(
        app.get(&renter, &format!("/api/stores/{}/return-form", f.store))
            .await,
        StatusCode::OK,
    )
    .await;
    give_back(&app, &renter, f.store).await;
}

#[tokio::test]
async fn the_books_balance_and_the_export_opens_in_excel() {
    let app = spawn_app().await;
    let (admin, _) = app.admin().await;
    let f = app.store().await;
    // A renter whose name a spreadsheet would run as a formula.
    let (renter, renter_id) = app.user().await;
    sqlx::query("UPDATE users SET name = '=HYPERLINK(\"x\",\"y\")' WHERE id = $1")
        .bind(renter_id)
        .execute(&app.db)
        .await
        .unwrap();
    let mut ids = Vec::new();
    for _ in 0..3 {
        let u = app.umbrella(f.store).await;
        let id = app.rent_id(&renter, u, f.store).await;
        give_back(&app, &renter, f.store).await;
        ids.push(id);
    }
    // Several transfers confirmed at once; an unknown one and a repeat are reported,
    // not fatal.
    let outcome = json_ok(
        app.post(
            &admin,
            "/api/admin/deposits/confirm",
            json!({"rental_ids": [ids[0], ids[1], ids[2], 999_999, ids[0]]}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    let confirmed: Vec<bool> = outcome
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["confirmed"].as_bool().unwrap())
        .collect();
    assert_eq!(confirmed, [true, true, true, false, false]);
    assert_eq!(outcome[4]["code"], "deposit_already_paid");
    problem(
        app.post(
            &admin,
            "/api/admin/deposits/confirm",
            json!({"rental_ids": []}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    json_ok(
        deposit(&app, &admin, ids[0], "refund").await,
        StatusCode::OK,
    )
    .await;
    json_ok(
        deposit(&app, &admin, ids[1], "forfeit_damaged").await,
        StatusCode::OK,
    )
    .await;
    let books = json_ok(
        app.get(&admin, "/api/admin/deposits/summary").await,
        StatusCode::OK,
    )
    .await;
    let t = &books["total"];
    assert_eq!(
        (&t["received"], &t["refunded"], &t["forfeited"]),
        (&json!(30_000), &json!(10_000), &json!(10_000))
    );
    assert_eq!(books["held_amount"], 10_000);
    assert_eq!(books["held_count"], 1);
    assert_eq!(books["by_day"][0]["received"], 30_000);
    let day = books["by_day"][0]["period"].as_str().unwrap();
    assert!(
        day.len() == 10
            && day.as_bytes()[4] == b'-'
            && day.starts_with(&books["by_month"][0]["period"].as_str().unwrap()[..7]),
        "a day is YYYY-MM-DD and a month YYYY-MM: {books}"
    );
    assert_eq!(books["by_month"][0]["refunded"], 10_000);
    let queue = json_ok(
        app.get(&admin, "/api/admin/deposits/refund-queue").await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(queue.as_array().unwrap().len(), 1);
    assert_eq!(queue[0]["rental"]["id"], ids[2]);
    assert_eq!(queue[0]["age_days"], 0);

    let r = admin
        .get(app.url("/api/admin/deposits/export.csv"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(
        r.headers()["content-type"].to_str().unwrap(),
        "text/csv; charset=utf-8"
    );
    assert!(
        r.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("attachment; filename=\"upbrella-deposits-")
    );
    let bytes = r.bytes().await.unwrap();
    assert_eq!(
        &bytes[..3],
        b"\xEF\xBB\xBF",
        "a UTF-8 byte-order mark for Excel"
    );
    let text = std::str::from_utf8(&bytes[3..]).unwrap();
    let lines: Vec<&str> = text.split("\r\n").filter(|l| !l.is_empty()).collect();
    assert!(
        lines[0].starts_with("대여번호,대여자,연락처"),
        "{}",
        lines[0]
    );
    // One line per deposit event: three payments, a refund, a damage.
    assert_eq!(lines.len(), 1 + 5, "{text}");
    assert!(
        lines
            .iter()
            .any(|l| l.contains(",환급 완료,환급 대기,환급 완료,")),
        "the refund: operation, from, to: {text}"
    );
    assert!(
        lines[1].contains("\"'=HYPERLINK(\"\"x\"\",\"\"y\"\")\""),
        "a formula is defused and quoted: {}",
        lines[1]
    );
    // The file carries every renter's name and phone: its export is logged.
    let exports = json_ok(
        app.get(&admin, "/api/admin/actions?action=deposits.export")
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(exports[0]["details"]["rows"], 5, "{exports}");
    problem(
        app.get(&admin, "/api/admin/deposits/export.csv?from=2026-13-40")
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
}

/// A small deterministic generator, so a failing walk can be replayed from its seed.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        usize::try_from(self.0 % u64::try_from(n).unwrap()).unwrap()
    }
}

/// Random sequences of rent, return, pay, refund, refund failure, new account, damage,
/// waive, lose, find, close by staff and ban, each through the API; after every step the
/// invariants hold: a rental is in exactly one work queue when money is outstanding and
/// in none otherwise, every refund follows a payment, and the money held equals what was
/// received minus what was refunded and kept.
#[tokio::test]
async fn random_walks_keep_every_deposit_in_one_queue_and_the_books_balanced() {
    let app = spawn_app().await;
    let (admin, _) = app.admin().await;
    let f = app.store().await;
    let mut renters = Vec::new();
    for _ in 0..5 {
        renters.push(app.user().await);
    }
    let mut umbrellas = Vec::new();
    for _ in 0..6 {
        umbrellas.push(app.umbrella(f.store).await);
    }
    // Weighted so that the walk rents and returns often and bans rarely.
    const ACTIONS: [&str; 19] = [
        "rent",
        "rent",
        "rent",
        "rent",
        "return",
        "return",
        "return",
        "confirm_payment",
        "confirm_payment",
        "confirm_payment",
        "refund",
        "refund",
        "refund_failed",
        "forfeit_damaged",
        "waive",
        "close",
        "found",
        "new_account",
        "ban",
    ];
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut steps_taken = 0;
    for step in 0..200 {
        let rentals: Vec<i64> = sqlx::query_scalar("SELECT id FROM rentals ORDER BY id")
            .fetch_all(&app.db)
            .await
            .unwrap();
        let pick = |rng: &mut Rng| (!rentals.is_empty()).then(|| rentals[rng.below(rentals.len())]);
        let (renter, renter_id) = &renters[rng.below(renters.len())];
        let action = ACTIONS[rng.below(ACTIONS.len())];
        let r = match action {
            "rent" => {
                let u = umbrellas[rng.below(umbrellas.len())];
                app.post(renter, "/api/rentals", json!({"umbrella_id": u, "store_id": f.store}))
                    .await
            }
            "return" => {
                app.post(
                    renter,
                    "/api/rentals/current/return",
                    json!({"store_id": f.store, "bank_name": "국민", "account_number": "123456789"}),
                )
                .await
            }
            "close" => {
                let Some(id) = pick(&mut rng) else { continue };
                app.post(
                    &admin,
                    &format!("/api/admin/rentals/{id}/close"),
                    json!({"reason": if rng.below(2) == 0 { "lost" } else { "returned_by_staff" }, "store_id": f.store}),
                )
                .await
            }
            "found" => {
                let Some(id) = pick(&mut rng) else { continue };
                app.post(
                    &admin,
                    &format!("/api/admin/rentals/{id}/found"),
                    json!({"store_id": f.store}),
                )
                .await
            }
            "new_account" => {
                let Some(id) = pick(&mut rng) else { continue };
                app.put(
                    renter,
                    &format!("/api/me/rentals/{id}/refund-account"),
                    json!({"bank_name": "신한", "account_number": "110123456789"}),
                )
                .await
            }
            "ban" => {
                // Rarely, and never the last renter left.
                if rng.below(6) != 0 || step < 100 {
                    continue;
                }
                app.post(&admin, &format!("/api/admin/users/{renter_id}/ban"), json!({}))
                    .await
            }
            op => {
                let Some(id) = pick(&mut rng) else { continue };
                deposit(&app, &admin, id, op).await
            }
        };
        let status = r.status();
        assert!(
            status.is_success() || [401, 404, 409].contains(&status.as_u16()),
            "step {step} (action {action}): {status} {}",
            r.text().await.unwrap()
        );
        steps_taken += 1;
        check_invariants(&app, &admin, step).await;
    }
    assert!(steps_taken > 150, "the walk took {steps_taken} steps");
    let states: i64 = sqlx::query_scalar("SELECT count(DISTINCT deposit_state) FROM rentals")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert!(states >= 5, "the walk reached {states} deposit states");
}

async fn check_invariants(app: &TestApp, admin: &Client, step: usize) {
    let rows: Vec<(i64, String)> = sqlx::query_as("SELECT id, deposit_state FROM rentals")
        .fetch_all(&app.db)
        .await
        .unwrap();
    let queues = [
        queue(app, admin, "unpaid").await,
        queue(app, admin, "refund_due").await,
        queue(app, admin, "refund_failed").await,
    ];
    for (id, state) in &rows {
        let in_queues = queues.iter().filter(|q| q.contains(id)).count();
        let outstanding = matches!(
            state.as_str(),
            "awaiting_payment" | "refund_due" | "refund_failed"
        );
        assert_eq!(
            in_queues,
            usize::from(outstanding),
            "step {step}: rental {id} ({state}) is in {in_queues} queues"
        );
    }
    let refunds_without_payment: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM deposit_events r WHERE r.operation = 'refund' AND NOT EXISTS \
         (SELECT 1 FROM deposit_events p WHERE p.rental_id = r.rental_id \
            AND p.operation = 'confirm_payment' AND p.id < r.id)",
    )
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert_eq!(
        refunds_without_payment, 0,
        "step {step}: a refund before a payment"
    );
    let books = json_ok(
        app.get(admin, "/api/admin/deposits/summary").await,
        StatusCode::OK,
    )
    .await;
    let t = &books["total"];
    let (held, received, refunded, kept) = (
        books["held_amount"].as_i64().unwrap(),
        t["received"].as_i64().unwrap(),
        t["refunded"].as_i64().unwrap(),
        t["forfeited"].as_i64().unwrap(),
    );
    assert_eq!(
        held,
        received - refunded - kept,
        "step {step}: held {held} ≠ received {received} − refunded {refunded} − kept {kept}"
    );
    let board = json_ok(app.get(admin, "/api/admin/dashboard").await, StatusCode::OK).await;
    assert_eq!(board["deposits_held_amount"], held, "step {step}");
    assert_eq!(
        usize::try_from(board["unpaid_deposits"].as_u64().unwrap()).unwrap(),
        queues[0].len(),
        "step {step}"
    );
}

#[tokio::test]
async fn a_lost_umbrella_rented_out_again_cannot_be_found_from_under_its_renter() {
    let app = spawn_app().await;
    let (admin, _) = app.admin().await;
    let f = app.store().await;
    let other = app.store_in(f.region).await;
    let u = app.umbrella(f.store).await;
    let (first, _) = app.user().await;
    let lost = app.rent_id(&first, u, f.store).await;
    json_ok(
        app.post(
            &admin,
            &format!("/api/admin/rentals/{lost}/close"),
            json!({"reason": "lost"}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    // An operator puts the umbrella back in service by hand, and someone rents it.
    json_ok(
        app.put(
            &admin,
            &format!("/api/admin/umbrellas/{u}/missed"),
            json!({"missed": false}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    sqlx::query("UPDATE umbrellas SET rentable = true WHERE id = $1")
        .bind(u)
        .execute(&app.db)
        .await
        .unwrap();
    let (second, _) = app.user().await;
    app.rent(&second, u, f.store).await;
    let p = problem(
        app.post(
            &admin,
            &format!("/api/admin/rentals/{lost}/found"),
            json!({"store_id": other}),
        )
        .await,
        StatusCode::CONFLICT,
    )
    .await;
    assert_eq!(p["code"], "umbrella_rented");
    let (store, rentable): (i64, bool) =
        sqlx::query_as("SELECT store_id, rentable FROM umbrellas WHERE id = $1")
            .bind(u)
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!(
        (store, rentable),
        (f.store, false),
        "not moved from under its renter"
    );
}
