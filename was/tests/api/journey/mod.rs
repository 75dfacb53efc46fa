//! Renters come back and operators keep up: roles on every console route, staff returns,
//! renters' reports, reminders, stores as they are, long renter sessions, international
//! phone numbers.

use reqwest::{Client, StatusCode};
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::helpers::*;

mod days;

/// A logged-in user with this role (verified address; staff at `stores`).
async fn operator(app: &TestApp, role: &str, stores: &[i64]) -> (Client, i64) {
    let (client, id) = app.user().await;
    app.verify_email(id).await;
    sqlx::query("UPDATE users SET role = $2 WHERE id = $1")
        .bind(id)
        .bind(role)
        .execute(&app.db)
        .await
        .expect("role");
    for store in stores {
        sqlx::query("INSERT INTO staff_stores (user_id, store_id) VALUES ($1, $2)")
            .bind(id)
            .bind(store)
            .execute(&app.db)
            .await
            .expect("staff store");
    }
    (client, id)
}

/// What each role may call, written out here independently of the server's table: the
/// test fails if either changes without the other.
fn expected(role: &str, method: &str, path: &str) -> bool {
    const CLERK: &[&str] = &[
        "GET /dashboard",
        "GET /rentals",
        "GET /rentals/{id}",
        "POST /rentals/{id}/deposit",
        "POST /rentals/{id}/bank-account/reveal",
        "DELETE /rentals/{id}/bank-account",
        "POST /rentals/{id}/close",
        "POST /rentals/{id}/found",
        "GET /deposits/summary",
        "GET /deposits/refund-queue",
        "POST /deposits/confirm",
        "GET /deposits/export.csv",
        "GET /condition-reports",
        "GET /improvement-reports",
        "GET /reports",
        "POST /reports/{id}/resolve",
        "GET /statistics",
        "GET /stock",
        "GET /stores",
        "GET /stores/{id}",
        "GET /stores/{id}/monthly-report",
        "GET /umbrellas",
        "GET /umbrellas/statistics",
        "GET /stores/{id}/umbrellas/statistics",
    ];
    const STAFF: &[&str] = &[
        "GET /stores",
        "GET /stores/{id}",
        "POST /stores/{id}/staff-returns",
        "GET /umbrellas",
        "GET /lockers",
        "PUT /lockers/{id}/counter",
        "GET /reports",
        "POST /reports/{id}/resolve",
        "GET /stock",
    ];
    let key = format!("{method} {path}");
    match role {
        "admin" => true,
        "clerk" => CLERK.contains(&key.as_str()),
        "staff" => STAFF.contains(&key.as_str()),
        _ => false,
    }
}

#[tokio::test]
async fn every_console_route_holds_every_role_to_its_limits() {
    let app = spawn_app().await;
    let f = app.store().await;
    let anonymous = app.client();
    let (renter, _) = app.user().await;
    let (staff, _) = operator(&app, "staff", &[f.store]).await;
    let (clerk, _) = operator(&app, "clerk", &[]).await;
    let (admin, _) = operator(&app, "admin", &[]).await;
    let doc: Value = app
        .get(&anonymous, "/api/openapi.json")
        .await
        .json()
        .await
        .expect("document");
    let mut checked = 0;
    let mut allowed = std::collections::BTreeMap::<&str, usize>::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        let Some(route) = path.strip_prefix("/api/admin") else {
            continue;
        };
        for method in ["get", "post", "put", "patch", "delete"] {
            if item.get(method).is_none() {
                continue;
            }
            let upper = method.to_uppercase();
            // Ids: the staff member's store (so the store check passes where it
            // applies), nothing that exists otherwise (no route changes real data).
            let concrete = route
                .replace("/stores/{id}", &format!("/stores/{}", f.store))
                .replace("{id}", "987654")
                .replace("{image_id}", "987654")
                .replace("{closure_id}", "987654");
            let call = |client: &Client| {
                let request = client.request(
                    reqwest::Method::from_bytes(upper.as_bytes()).expect("method"),
                    app.url(&format!("/api/admin{concrete}")),
                );
                let request = if method == "get" || method == "delete" {
                    request
                } else {
                    request.json(&json!({}))
                };
                request.send()
            };
            let r = call(&anonymous).await.expect("request");
            assert_eq!(
                r.status(),
                StatusCode::UNAUTHORIZED,
                "{upper} {route} anonymous"
            );
            let r = call(&renter).await.expect("request");
            let body = problem(r, StatusCode::FORBIDDEN).await;
            assert_eq!(body["code"], "admin_only", "{upper} {route} renter");
            for (role, client) in [("staff", &staff), ("clerk", &clerk), ("admin", &admin)] {
                let r = call(client).await.expect("request");
                let status = r.status();
                let text = r.text().await.unwrap_or_default();
                let refused = status == StatusCode::FORBIDDEN && text.contains("role_forbidden");
                if expected(role, &upper, route) {
                    assert!(
                        !refused && status != StatusCode::UNAUTHORIZED,
                        "{role} should reach {upper} {route}: {status} {text}"
                    );
                    *allowed.entry(role).or_default() += 1;
                } else {
                    assert!(
                        refused,
                        "{role} should be refused {upper} {route}: {status} {text}"
                    );
                    assert!(
                        text.contains("역할") && text.contains("Not for this role"),
                        "Korean first, English beside: {text}"
                    );
                }
                checked += 1;
            }
        }
    }
    println!("console routes × roles checked: {checked}; reachable: {allowed:?}");
    assert!(
        checked > 150,
        "the document lists the console's routes: {checked}"
    );
    assert_eq!(allowed.get("staff"), Some(&9), "every staff route exists");
}

#[tokio::test]
async fn cafe_staff_take_back_an_umbrella_at_their_store_only() {
    let app = spawn_app().await;
    let ours = app.store().await;
    let theirs = app.store().await;
    let (staff, staff_id) = operator(&app, "staff", &[ours.store]).await;
    let (renter, renter_id) = app.user().await;
    let umbrella = app.umbrella(theirs.store).await;
    let rental = app.rent_id(&renter, umbrella, theirs.store).await;
    let number: i64 = sqlx::query_scalar("SELECT number FROM umbrellas WHERE id = $1")
        .bind(umbrella)
        .fetch_one(&app.db)
        .await
        .expect("number");

    // At another store: refused, and nothing changed.
    let r = app
        .post(
            &staff,
            &format!("/api/admin/stores/{}/staff-returns", theirs.store),
            json!({"umbrella_number": number}),
        )
        .await;
    assert_eq!(
        problem(r, StatusCode::FORBIDDEN).await["code"],
        "store_forbidden"
    );
    // Their store's page yes, the other's no; the list holds theirs only.
    let r = app
        .get(&staff, &format!("/api/admin/stores/{}", theirs.store))
        .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let list = json_ok(app.get(&staff, "/api/admin/stores").await, StatusCode::OK).await;
    let ids: Vec<i64> = list
        .as_array()
        .expect("list")
        .iter()
        .map(|s| s["id"].as_i64().expect("id"))
        .collect();
    assert_eq!(ids, vec![ours.store]);

    // A number not rented out: a clear 404.
    let r = app
        .post(
            &staff,
            &format!("/api/admin/stores/{}/staff-returns", ours.store),
            json!({"umbrella_number": 424_242}),
        )
        .await;
    let body = problem(r, StatusCode::NOT_FOUND).await;
    assert_eq!(body["code"], "no_open_rental");

    // At their own store: the rental closes, the umbrella stands there.
    let closed = json_ok(
        app.post(
            &staff,
            &format!("/api/admin/stores/{}/staff-returns", ours.store),
            json!({"umbrella_number": number, "note": "카운터에 두고 가심"}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(closed["id"], rental);
    assert_eq!(closed["closed_reason"], "returned_by_staff");
    let at: i64 = sqlx::query_scalar("SELECT store_id FROM umbrellas WHERE id = $1")
        .bind(umbrella)
        .fetch_one(&app.db)
        .await
        .expect("umbrella");
    assert_eq!(at, ours.store);
    let me = json_ok(app.get(&renter, "/api/me/rental").await, StatusCode::OK).await;
    assert!(
        me["rental"].is_null(),
        "the renter has no open rental: {me}"
    );
    // The action log names the staff member.
    let actor: i64 = sqlx::query_scalar(
        "SELECT actor_id FROM operator_actions WHERE action = 'rental.close' AND target_id = $1",
    )
    .bind(rental)
    .fetch_one(&app.db)
    .await
    .expect("logged");
    assert_eq!(actor, staff_id);
    let _ = renter_id;
}

/// A role change refused with `status`; its code.
async fn role_change(
    app: &TestApp,
    client: &Client,
    user: i64,
    body: Value,
    status: StatusCode,
) -> Value {
    let r = app
        .patch(client, &format!("/api/admin/users/{user}"), body)
        .await;
    problem(r, status).await["code"].clone()
}

#[tokio::test]
async fn roles_are_granted_by_admins_to_verified_accounts_only() {
    let app = spawn_app().await;
    let f = app.store().await;
    let (admin, _) = operator(&app, "admin", &[]).await;
    let (clerk, _) = operator(&app, "clerk", &[]).await;
    let (_, user) = app.user().await;
    // A clerk handles money, not rights.
    assert_eq!(
        role_change(
            &app,
            &clerk,
            user,
            json!({"role": "clerk"}),
            StatusCode::FORBIDDEN
        )
        .await,
        "role_forbidden"
    );
    let r = app
        .post(&clerk, &format!("/api/admin/users/{user}/ban"), json!({}))
        .await;
    assert_eq!(
        problem(r, StatusCode::FORBIDDEN).await["code"],
        "role_forbidden"
    );
    // Unverified: no role.
    assert_eq!(
        role_change(
            &app,
            &admin,
            user,
            json!({"role": "clerk"}),
            StatusCode::CONFLICT
        )
        .await,
        "email_unverified"
    );
    app.verify_email(user).await;
    // Staff need stores that exist.
    assert_eq!(
        role_change(
            &app,
            &admin,
            user,
            json!({"role": "staff"}),
            StatusCode::UNPROCESSABLE_ENTITY
        )
        .await,
        "stores_required"
    );
    assert_eq!(
        role_change(
            &app,
            &admin,
            user,
            json!({"role": "staff", "store_ids": [987_654]}),
            StatusCode::UNPROCESSABLE_ENTITY
        )
        .await,
        "unknown_store"
    );
    let r = app
        .patch(
            &admin,
            &format!("/api/admin/users/{user}"),
            json!({"role": "boss"}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let granted = json_ok(
        app.patch(
            &admin,
            &format!("/api/admin/users/{user}"),
            json!({"role": "staff", "store_ids": [f.store, f.store]}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(granted["role"], "staff");
    assert_eq!(granted["store_ids"], json!([f.store]));
    // Back to renter: the stores go too.
    json_ok(
        app.patch(
            &admin,
            &format!("/api/admin/users/{user}"),
            json!({"role": "renter"}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    let left: i64 = sqlx::query_scalar("SELECT count(*) FROM staff_stores WHERE user_id = $1")
        .bind(user)
        .fetch_one(&app.db)
        .await
        .expect("count");
    assert_eq!(left, 0);
}

#[tokio::test]
async fn a_renter_reports_a_broken_umbrella_and_the_operators_follow_it_up() {
    let app = spawn_app().await;
    let f = app.store().await;
    let other = app.store().await;
    let (renter, _) = app.user().await;
    let (stranger, _) = app.user().await;
    let (staff, _) = operator(&app, "staff", &[f.store]).await;
    let (elsewhere, _) = operator(&app, "staff", &[other.store]).await;
    let (clerk, _) = operator(&app, "clerk", &[]).await;
    let umbrella = app.umbrella(f.store).await;
    let rental = app.rent_id(&renter, umbrella, f.store).await;
    let path = format!("/api/me/rentals/{rental}/reports");

    let r = app.post(&stranger, &path, json!({"kind": "broken"})).await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND, "only one's own rentals");
    let r = app.post(&renter, &path, json!({"kind": "stolen"})).await;
    assert_eq!(
        problem(r, StatusCode::UNPROCESSABLE_ENTITY).await["code"],
        "invalid_kind"
    );
    let report = json_ok(
        app.post(
            &renter,
            &path,
            json!({"kind": "broken", "note": "살이 하나 부러졌어요"}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let r = app.post(&renter, &path, json!({"kind": "broken"})).await;
    assert_eq!(
        problem(r, StatusCode::CONFLICT).await["code"],
        "already_reported"
    );
    let mine = json_ok(app.get(&renter, "/api/me/rental").await, StatusCode::OK).await;
    assert_eq!(mine["rental"]["reports"][0]["kind"], "broken");

    // The store's staff and the clerk see it; staff of another store do not.
    for client in [&staff, &clerk] {
        let list = json_ok(app.get(client, "/api/admin/reports").await, StatusCode::OK).await;
        assert_eq!(list[0]["id"], report["id"], "{list}");
        assert_eq!(list[0]["note"], "살이 하나 부러졌어요");
    }
    let list = json_ok(
        app.get(&elsewhere, "/api/admin/reports").await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(list, json!([]));
    let id = report["id"].as_i64().expect("id");
    let r = app
        .post(
            &elsewhere,
            &format!("/api/admin/reports/{id}/resolve"),
            json!({}),
        )
        .await;
    assert_eq!(
        problem(r, StatusCode::FORBIDDEN).await["code"],
        "store_forbidden"
    );
    let done = json_ok(
        app.post(
            &staff,
            &format!("/api/admin/reports/{id}/resolve"),
            json!({"note": "교체함"}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert!(done["resolved_at"].is_string());
    let r = app
        .post(
            &staff,
            &format!("/api/admin/reports/{id}/resolve"),
            json!({}),
        )
        .await;
    assert_eq!(
        problem(r, StatusCode::CONFLICT).await["code"],
        "already_resolved"
    );
    let open = json_ok(app.get(&clerk, "/api/admin/reports").await, StatusCode::OK).await;
    assert_eq!(open, json!([]), "resolved reports leave the open list");
    let all = json_ok(
        app.get(&clerk, "/api/admin/reports?status=all").await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(all[0]["resolution"], "교체함");
    // A new broken report may follow a resolved one.
    let r = app.post(&renter, &path, json!({"kind": "broken"})).await;
    assert_eq!(r.status(), StatusCode::CREATED);
}
