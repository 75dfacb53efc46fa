//! Signed QR codes, the operators' lists and the refund-account audit log.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::*;

fn code_of(url: &str) -> String {
    let url = url::Url::parse(url).unwrap();
    url.query_pairs()
        .find(|(k, _)| k == "code")
        .map(|(_, v)| v.into_owned())
        .expect("a code in the URL")
}

async fn codes(app: &TestApp, admin: &reqwest::Client, store: i64) -> Value {
    json_ok(
        app.get(admin, &format!("/api/admin/stores/{store}/codes"))
            .await,
        StatusCode::OK,
    )
    .await
}

fn umbrella_code(codes: &Value, umbrella: i64) -> String {
    let entry = codes["umbrellas"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["id"] == umbrella)
        .expect("the umbrella's code");
    code_of(entry["url"].as_str().unwrap())
}

#[tokio::test]
async fn a_signed_code_rents_only_its_umbrella_and_returns_only_at_its_store() {
    let app = spawn_app().await;
    let f = app.store().await;
    let other = app.store_in(f.region).await;
    let umbrella = app.umbrella(f.store).await;
    let (admin, _) = app.admin().await;
    let here = codes(&app, &admin, f.store).await;
    let there = codes(&app, &admin, other).await;
    let url = here["umbrellas"][0]["url"].as_str().unwrap();
    assert!(
        url.starts_with(&format!("{}/rent/{umbrella}?code=", app.base)),
        "{url}"
    );
    let rent_code = umbrella_code(&here, umbrella);
    let store_code = code_of(here["store"]["url"].as_str().unwrap());
    let (renter, _) = app.user().await;

    // Another subject's code, or a forged one, names nothing here.
    for wrong in [store_code.as_str(), "AAAAAAAAAAAAAAAAAAAAAA", "x"] {
        let p = problem(
            app.get(
                &renter,
                &format!("/api/umbrellas/{umbrella}/rent-form?code={wrong}"),
            )
            .await,
            StatusCode::FORBIDDEN,
        )
        .await;
        assert_eq!(p["code"], "qr_code_mismatch");
        let p = problem(
            app.post(
                &renter,
                "/api/rentals",
                json!({"umbrella_id": umbrella, "store_id": f.store, "code": wrong}),
            )
            .await,
            StatusCode::FORBIDDEN,
        )
        .await;
        assert_eq!(p["code"], "qr_code_mismatch");
    }
    let form = json_ok(
        app.get(
            &renter,
            &format!("/api/umbrellas/{umbrella}/rent-form?code={rent_code}"),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(form["rentable"], true);
    json_ok(
        app.post(
            &renter,
            "/api/rentals",
            json!({"umbrella_id": umbrella, "store_id": f.store, "code": rent_code}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;

    // The return needs the code of the store it names.
    let other_code = code_of(there["store"]["url"].as_str().unwrap());
    let p = problem(
        app.get(
            &renter,
            &format!("/api/stores/{}/return-form?code={other_code}", f.store),
        )
        .await,
        StatusCode::FORBIDDEN,
    )
    .await;
    assert_eq!(p["code"], "qr_code_mismatch");
    let p = problem(
        app.post(&renter, "/api/rentals/current/return", json!({"store_id": f.store, "code": rent_code, "bank_name": "신한", "account_number": "110-123-456789"}))
            .await,
        StatusCode::FORBIDDEN,
    )
    .await;
    assert_eq!(p["code"], "qr_code_mismatch");
    json_ok(
        app.get(
            &renter,
            &format!("/api/stores/{other}/return-form?code={other_code}"),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    let back = json_ok(
        app.post(&renter, "/api/rentals/current/return", json!({"store_id": other, "code": other_code, "bank_name": "신한", "account_number": "110-123-456789"}))
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(back["return_store"]["id"], other);
}

#[tokio::test]
async fn with_the_original_stickers_refused_only_signed_codes_rent_and_return() {
    let app = spawn_app_with(&[("QR_LEGACY_CODES", "refuse")]).await;
    let f = app.store().await;
    let umbrella = app.umbrella(f.store).await;
    let (admin, _) = app.admin().await;
    let codes = codes(&app, &admin, f.store).await;
    let (renter, _) = app.user().await;
    for r in [
        app.get(&renter, &format!("/api/umbrellas/{umbrella}/rent-form"))
            .await,
        app.post(
            &renter,
            "/api/rentals",
            json!({"umbrella_id": umbrella, "store_id": f.store}),
        )
        .await,
    ] {
        let p = problem(r, StatusCode::BAD_REQUEST).await;
        assert_eq!(p["code"], "qr_code_required");
    }
    let code = umbrella_code(&codes, umbrella);
    json_ok(
        app.post(
            &renter,
            "/api/rentals",
            json!({"umbrella_id": umbrella, "store_id": f.store, "code": code}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let p = problem(
        app.post(
            &renter,
            "/api/rentals/current/return",
            json!({"store_id": f.store, "bank_name": "신한", "account_number": "110-123-456789"}),
        )
        .await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert_eq!(p["code"], "qr_code_required");
    let store_code = code_of(codes["store"]["url"].as_str().unwrap());
    json_ok(
        app.post(&renter, "/api/rentals/current/return", json!({"store_id": f.store, "code": store_code, "bank_name": "신한", "account_number": "110-123-456789"}))
            .await,
        StatusCode::OK,
    )
    .await;
}

#[tokio::test]
async fn the_printable_sheet_holds_every_code_and_runs_nothing() {
    let app = spawn_app_with(&[("PUBLIC_URL", "https://upbrella.example")]).await;
    let f = app.store().await;
    for _ in 0..4 {
        app.umbrella(f.store).await;
    }
    let (admin, _) = app.admin().await;
    let codes = codes(&app, &admin, f.store).await;
    assert!(
        codes["store"]["url"]
            .as_str()
            .unwrap()
            .starts_with(&format!(
                "https://upbrella.example/return/{}?code=",
                f.store
            )),
        "PUBLIC_URL is the origin printed"
    );
    let r = app
        .get(&admin, &format!("/api/admin/stores/{}/codes.svg", f.store))
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["content-type"], "image/svg+xml");
    assert!(
        r.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .starts_with("default-src 'none'")
    );
    let svg = r.text().await.unwrap();
    assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
    assert_eq!(
        svg.matches("<path").count(),
        5,
        "the store's code and four umbrellas'"
    );
    assert!(svg.contains("이 매장에 반납하기"));
    assert_eq!(
        svg.matches("번</text>").count(),
        4,
        "each umbrella captioned by number"
    );
    let (user, _) = app.user().await;
    problem(
        app.get(&user, &format!("/api/admin/stores/{}/codes.svg", f.store))
            .await,
        StatusCode::FORBIDDEN,
    )
    .await;
}

#[tokio::test]
async fn operators_find_rentals_by_state_and_by_renter_or_umbrella() {
    let app = spawn_app().await;
    let f = app.store().await;
    let (admin, _) = app.admin().await;
    let (late, late_id) = app.user().await;
    let (fresh, _) = app.user().await;
    sqlx::query("UPDATE users SET name = '박연체', phone = '010-9876-5432' WHERE id = $1")
        .bind(late_id)
        .execute(&app.db)
        .await
        .unwrap();
    let late_umbrella = app.umbrella(f.store).await;
    let late_rental = app.rent(&late, late_umbrella, f.store).await["rental"]["id"]
        .as_i64()
        .unwrap();
    sqlx::query("UPDATE rentals SET rented_at = now() - interval '20 days' WHERE id = $1")
        .bind(late_rental)
        .execute(&app.db)
        .await
        .unwrap();
    let fresh_umbrella = app.umbrella(f.store).await;
    app.rent(&fresh, fresh_umbrella, f.store).await;
    let number: i64 = sqlx::query_scalar("SELECT number FROM umbrellas WHERE id = $1")
        .bind(fresh_umbrella)
        .fetch_one(&app.db)
        .await
        .unwrap();

    let ids = |v: Value| -> Vec<i64> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|r| r["umbrella_id"].as_i64().unwrap())
            .collect()
    };
    let list = |query: String| {
        let admin = admin.clone();
        let app = &app;
        async move {
            json_ok(
                app.get(&admin, &format!("/api/admin/rentals?{query}"))
                    .await,
                StatusCode::OK,
            )
            .await
        }
    };
    assert_eq!(ids(list("status=overdue".into()).await), [late_umbrella]);
    assert_eq!(
        ids(list("status=open".into()).await),
        [fresh_umbrella, late_umbrella]
    );
    assert_eq!(ids(list("status=today".into()).await), [fresh_umbrella]);
    assert_eq!(ids(list("status=closed".into()).await), Vec::<i64>::new());
    assert_eq!(ids(list("q=연체".into()).await), [late_umbrella], "by name");
    assert_eq!(
        ids(list("q=98765432".into()).await),
        [late_umbrella],
        "by phone digits"
    );
    assert_eq!(
        ids(list(format!("q={number}")).await),
        [fresh_umbrella],
        "by umbrella number"
    );
    let overdue = &list("status=overdue".into()).await[0];
    assert_eq!(overdue["overdue"], true);
    let p = problem(
        app.get(&admin, "/api/admin/rentals?status=lost").await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert!(p["detail"].as_str().unwrap().contains("status"), "{p}");
    for q in ["%00x", "a%1Fb"] {
        let p = problem(
            app.get(&admin, &format!("/api/admin/rentals?q={q}")).await,
            StatusCode::BAD_REQUEST,
        )
        .await;
        assert_eq!(p["code"], "invalid_search", "{q}");
    }

    let board = json_ok(
        app.get(&admin, "/api/admin/dashboard").await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(
        (
            &board["rented_today"],
            &board["open"],
            &board["overdue"],
            &board["unpaid_deposits"],
            &board["refunds_due"]
        ),
        (&json!(1), &json!(2), &json!(1), &json!(2), &json!(0)),
        "{board}"
    );
    assert_eq!(board["umbrellas"]["rented"], 2);

    let users = json_ok(
        app.get(&admin, "/api/admin/users?q=9876").await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(users.as_array().unwrap().len(), 1);
    assert_eq!(users[0]["id"], late_id);
}

#[tokio::test]
async fn a_locker_secret_is_generated_and_shown_once() {
    let app = spawn_app().await;
    let f = app.store().await;
    let (admin, _) = app.admin().await;
    let created = json_ok(
        app.post(&admin, "/api/admin/lockers", json!({"store_id": f.store}))
            .await,
        StatusCode::CREATED,
    )
    .await;
    let secret = created["secret"].as_str().unwrap();
    assert!(
        secret.len() == 32 && secret.bytes().all(|b| b.is_ascii_hexdigit()),
        "{secret}"
    );
    let (id, sealed): (i64, Vec<u8>) =
        sqlx::query_as("SELECT id, sealed_secret FROM lockers WHERE store_id = $1")
            .bind(f.store)
            .fetch_one(&app.db)
            .await
            .unwrap();
    let mut key = [0u8; 32];
    hex::decode_to_slice(KEY_HEX, &mut key).unwrap();
    let stored = was::domain::bank::BankCipher::new(&key)
        .decrypt(&sealed, was::domain::bank::Owner::Locker(id))
        .unwrap();
    assert_eq!(
        stored, secret,
        "the device gets the secret the WAS keeps (sealed)"
    );
    let listed = json_ok(app.get(&admin, "/api/admin/lockers").await, StatusCode::OK).await;
    assert_eq!(listed[0]["id"], created["id"]);
    assert_eq!(listed[0]["secret"], Value::Null, "never listed");
    let p = problem(
        app.put(
            &admin,
            &format!("/api/admin/lockers/{}", created["id"]),
            json!({"store_id": f.store}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(p["code"], "locker_secret_required");
}
