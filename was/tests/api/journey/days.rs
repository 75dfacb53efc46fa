//! Journeys over days: reminders, stores open past midnight, long renter sessions,
//! names and phone numbers, the support contact, a renter made an operator.

use super::*;

/// The mail settings a WAS would read from these variables.
fn mail_config(vars: Vec<(String, String)>) -> was::config::MailConfig {
    let mut env = base_env("postgres://x@127.0.0.1/x", "redis://127.0.0.1");
    env.extend(vars);
    was::Config::from_source(&env).expect("config").mail
}

/// Rents an umbrella for a new verified renter `days` days before `now`; the renter's
/// address and the rental's id.
async fn rented_days_ago(
    app: &TestApp,
    store: i64,
    now: OffsetDateTime,
    days: i64,
) -> (String, i64) {
    let (client, id) = app.user().await;
    app.verify_email(id).await;
    let umbrella = app.umbrella(store).await;
    let rental = app.rent_id(&client, umbrella, store).await;
    sqlx::query("UPDATE rentals SET rented_at = $2 WHERE id = $1")
        .bind(rental)
        .bind(now - time::Duration::days(days))
        .execute(&app.db)
        .await
        .expect("backdate");
    let email: String = sqlx::query_scalar("SELECT email FROM users WHERE id = $1")
        .bind(id)
        .fetch_one(&app.db)
        .await
        .expect("email");
    (email, rental)
}

#[tokio::test]
async fn reminders_go_out_once_in_daytime_to_renters_who_want_them() {
    let app = spawn_app_with_mail(&[]).await;
    let f = app.store().await;
    // Monday 2026-12-07 10:00 in Seoul.
    let now = OffsetDateTime::parse("2026-12-07T10:00:00+09:00", &Rfc3339).expect("time");
    let (due_tomorrow, _) = rented_days_ago(&app, f.store, now, 13).await;
    let (overdue, _) = rented_days_ago(&app, f.store, now, 16).await;
    let (not_yet, _) = rented_days_ago(&app, f.store, now, 5).await;
    let (quiet_please, _) = rented_days_ago(&app, f.store, now, 16).await;
    sqlx::query("UPDATE users SET reminders = false WHERE email = $1")
        .bind(&quiet_please)
        .execute(&app.db)
        .await
        .expect("off");
    let (unverified, _) = rented_days_ago(&app, f.store, now, 16).await;
    sqlx::query("UPDATE users SET email_verified_at = NULL WHERE email = $1")
        .bind(&unverified)
        .execute(&app.db)
        .await
        .expect("unverified");
    let (_, admin_id) = operator(&app, "admin", &[]).await;
    let admin_email: String = sqlx::query_scalar("SELECT email FROM users WHERE id = $1")
        .bind(admin_id)
        .fetch_one(&app.db)
        .await
        .expect("email");

    let config = mail_config(mail_env().await);
    let sender = was::mail::Sender::new(&config).expect("sender");
    let reminders = was::remind::Reminders {
        db: &app.db,
        mail: &sender,
        webhook: None,
        public_url: "http://upbrella.test",
    };
    // At night nothing goes out.
    let night = OffsetDateTime::parse("2026-12-07T22:30:00+09:00", &Rfc3339).expect("time");
    assert!(reminders.run(night).await.expect("run").quiet);

    // Two passes at once (two replicas, or a retried schedule), then another later.
    let (a, b) = tokio::join!(reminders.run(now), reminders.run(now));
    let (a, b) = (a.expect("pass"), b.expect("pass"));
    assert_eq!(a.due_soon + b.due_soon, 1, "{a:?} {b:?}");
    assert_eq!(a.overdue + b.overdue, 1, "{a:?} {b:?}");
    assert_eq!(
        a.digest.unwrap_or(0) + b.digest.unwrap_or(0),
        1,
        "the Monday digest once: {a:?} {b:?}"
    );
    let again = reminders
        .run(now + time::Duration::hours(1))
        .await
        .expect("pass");
    assert_eq!((again.due_soon, again.overdue, again.digest), (0, 0, None));

    let soon = wait_for_mail(&due_tomorrow, "반납일이 다가왔어요", 1).await;
    let text = soon["text"].as_str().expect("text");
    assert!(
        text.contains("12월 8일 (화)"),
        "due date with its day: {text}"
    );
    assert!(text.contains("http://upbrella.test/me"), "{text}");
    assert!(text.contains("Asia/Seoul"), "English beside: {text}");
    wait_for_mail(&overdue, "반납 기한이 지났어요", 1).await;
    let digest = wait_for_mail(&admin_email, "반납 지연", 1).await;
    assert!(
        digest["subject"].as_str().expect("subject").contains("3건"),
        "{digest}"
    );
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let count = |mails: Vec<Value>, subject: &str| {
        mails
            .iter()
            .filter(|m| m["subject"].as_str().is_some_and(|s| s.contains(subject)))
            .count()
    };
    assert_eq!(
        count(mails_to(&due_tomorrow).await, "다가왔어요"),
        1,
        "one due-soon mail"
    );
    assert_eq!(
        count(mails_to(&overdue).await, "지났어요"),
        1,
        "one overdue mail"
    );
    assert!(
        mails_to(&not_yet)
            .await
            .iter()
            .all(|m| !m["subject"].as_str().unwrap_or("").contains("반납")),
        "nothing for a rental due next week"
    );
    for quiet in [&quiet_please, &unverified] {
        assert!(
            mails_to(quiet)
                .await
                .iter()
                .all(|m| !m["subject"].as_str().unwrap_or("").contains("반납")),
            "{quiet} gets no reminder"
        );
    }
    // The renter turns reminders off through the API.
    let (client, id) = app.user().await;
    let me = json_ok(
        app.put(&client, "/api/me/preferences", json!({"reminders": false}))
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(me["reminders"], false);
    let on: bool = sqlx::query_scalar("SELECT reminders FROM users WHERE id = $1")
        .bind(id)
        .fetch_one(&app.db)
        .await
        .expect("pref");
    assert!(!on);
}

#[tokio::test]
async fn a_reminder_that_cannot_be_sent_is_tried_again() {
    let app = spawn_app().await;
    let f = app.store().await;
    let now = OffsetDateTime::parse("2026-12-08T10:00:00+09:00", &Rfc3339).expect("time");
    let (_, rental) = rented_days_ago(&app, f.store, now, 16).await;
    // SMTP to a closed port: every attempt fails.
    let port = stack::free_port().expect("port");
    let config = mail_config(vec![
        ("MAIL_TRANSPORT".into(), "smtp".into()),
        ("SMTP_URL".into(), format!("smtp://127.0.0.1:{port}")),
        ("MAIL_FROM".into(), "no-reply@upbrella.test".into()),
        ("PUBLIC_URL".into(), "http://upbrella.test".into()),
    ]);
    let sender = was::mail::Sender::new(&config).expect("sender");
    let reminders = was::remind::Reminders {
        db: &app.db,
        mail: &sender,
        webhook: None,
        public_url: "http://upbrella.test",
    };
    let outcome = reminders.run(now).await.expect("pass");
    assert_eq!((outcome.overdue, outcome.failed), (0, 1), "{outcome:?}");
    let claimed: i64 =
        sqlx::query_scalar("SELECT count(*) FROM reminders_sent WHERE rental_id = $1")
            .bind(rental)
            .fetch_one(&app.db)
            .await
            .expect("count");
    assert_eq!(claimed, 0, "the claim is withdrawn for the next run");
}

#[tokio::test]
async fn stores_open_past_midnight_with_breaks_and_closures() {
    let app = spawn_app().await;
    let f = app.store().await;
    let (admin, _) = operator(&app, "admin", &[]).await;
    let hours = format!("/api/admin/stores/{}/business-hours", f.store);
    // Overlapping: Monday night runs into Tuesday morning.
    let r = app
        .put(
            &admin,
            &hours,
            json!([{"weekday": 1, "open": "18:00", "close": "03:00"}, {"weekday": 2, "open": "02:00", "close": "09:00"}]),
        )
        .await;
    assert_eq!(
        problem(r, StatusCode::UNPROCESSABLE_ENTITY).await["code"],
        "overlapping_hours"
    );
    // A week of every kind: a break on weekdays, a bar's night on Friday, 24 hours on
    // the weekend.
    let mut week = vec![];
    for d in 1..=4 {
        week.push(json!({"weekday": d, "open": "09:00", "close": "12:00"}));
        week.push(json!({"weekday": d, "open": "13:00", "close": "18:00"}));
    }
    week.push(json!({"weekday": 5, "open": "11:00", "close": "02:00"}));
    // Saturday from 02:00 (when Friday's night ends) for 24 hours; Sunday from 02:00.
    week.push(json!({"weekday": 6, "open": "02:00", "close": "02:00"}));
    week.push(json!({"weekday": 7, "open": "02:00", "close": "23:00"}));
    let saved = json_ok(app.put(&admin, &hours, json!(week)).await, StatusCode::OK).await;
    assert_eq!(saved.as_array().map(Vec::len), Some(11));

    // Every day 24 hours: open now, whatever the time; then closed today.
    let always: Vec<Value> = (1..=7)
        .map(|d| json!({"weekday": d, "open": "00:00", "close": "00:00"}))
        .collect();
    json_ok(app.put(&admin, &hours, json!(always)).await, StatusCode::OK).await;
    let page = json_ok(
        app.get(&app.client(), &format!("/api/stores/{}", f.store))
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(page["open_now"], true, "{page}");
    let today = OffsetDateTime::now_utc()
        .to_offset(time::UtcOffset::from_hms(9, 0, 0).expect("offset"))
        .date();
    let closures = format!("/api/admin/stores/{}/closures", f.store);
    let r = app
        .post(
            &admin,
            &closures,
            json!({"starts_on": "2027-02-18", "ends_on": "2027-02-16"}),
        )
        .await;
    assert_eq!(
        problem(r, StatusCode::UNPROCESSABLE_ENTITY).await["code"],
        "closure_order"
    );
    let r = app
        .post(
            &admin,
            &closures,
            json!({"starts_on": "18 Feb", "ends_on": "2027-02-16"}),
        )
        .await;
    assert_eq!(
        problem(r, StatusCode::UNPROCESSABLE_ENTITY).await["code"],
        "invalid_date"
    );
    let closure = json_ok(
        app.post(
            &admin,
            &closures,
            json!({"starts_on": today.to_string(), "ends_on": today.to_string(), "reason": "임시 휴무"}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let page = json_ok(
        app.get(&app.client(), &format!("/api/stores/{}", f.store))
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(page["open_now"], false, "closed today: {page}");
    assert_eq!(page["closures"][0]["reason"], "임시 휴무");
    let markers = json_ok(
        app.get(&app.client(), &format!("/api/regions/{}/stores", f.region))
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(markers[0]["open_now"], false, "the map agrees: {markers}");
    let r = app
        .delete(&admin, &format!("{closures}/{}", closure["id"]))
        .await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let page = json_ok(
        app.get(&app.client(), &format!("/api/stores/{}", f.store))
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(page["open_now"], true);
}

#[tokio::test]
async fn renters_stay_signed_in_for_weeks_and_operators_do_not() {
    let app = spawn_app().await;
    let client = app.client();
    let email = format!("long{}@example.com", uuid::Uuid::new_v4().simple());
    let r = app
        .post(&client, "/api/auth/signup", signup_form(&email))
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let login = |email: String| {
        let app = &app;
        async move {
            let c = app.client();
            let r = app
                .post(
                    &c,
                    "/api/auth/login",
                    json!({"email": email, "password": "password123"}),
                )
                .await;
            assert_eq!(r.status(), StatusCode::OK);
            session_cookie(r.headers()).expect("cookie")
        }
    };
    let max_age = |cookie: &str| -> i64 {
        cookie
            .split(';')
            .find_map(|p| p.trim().strip_prefix("Max-Age="))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    let renter = login(email.clone()).await;
    assert!(
        max_age(&renter) >= 29 * 24 * 3600,
        "a renter's cookie lasts weeks: {renter}"
    );
    sqlx::query(
        "UPDATE users SET role = 'admin', email_verified_at = now() WHERE lower(email) = $1",
    )
    .bind(&email)
    .execute(&app.db)
    .await
    .expect("promote");
    let operator = login(email).await;
    assert!(
        (1..=30 * 60).contains(&max_age(&operator)),
        "an operator's lasts the idle timeout: {operator}"
    );
}

#[tokio::test]
async fn names_and_international_phone_numbers() {
    let app = spawn_app().await;
    let (client, _) = app.user().await;
    let me = json_ok(
        app.put(
            &client,
            "/api/me/profile",
            json!({"phone": "+44 7911 123456", "name": "Alex Kim", "agree_terms": true, "agree_privacy": true}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(me["phone"], "+447911123456");
    assert_eq!(me["name"], "Alex Kim");
    assert_eq!(me["role"], "renter");
    let me = json_ok(
        app.put(
            &client,
            "/api/me/profile",
            json!({"phone": "+82 10-9876-5432", "agree_terms": true, "agree_privacy": true}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(
        me["phone"], "01098765432",
        "a Korean number written for abroad"
    );
    assert_eq!(me["name"], "Alex Kim", "unchanged without a name");
    let r = app
        .put(
            &client,
            "/api/me/profile",
            json!({"phone": "+0 123", "agree_terms": true, "agree_privacy": true}),
        )
        .await;
    let body = problem(r, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(body["code"], "invalid_phone");
    assert!(
        body["detail"]
            .as_str()
            .unwrap_or("")
            .contains("international"),
        "{body}"
    );
    let r = app
        .post(
            &app.client(),
            "/api/auth/signup",
            json!({"email": format!("{}@example.com", uuid::Uuid::new_v4().simple()), "password": "password123",
                   "name": "Maria", "phone": "+1 415 555 2671", "agree_terms": true, "agree_privacy": true}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CREATED, "sign-up takes E.164 too");
}

#[tokio::test]
async fn the_support_contact_is_in_the_service_info() {
    let app = spawn_app_with(&[
        ("SUPPORT_KAKAO_URL", "https://pf.kakao.com/_upbrella/chat"),
        ("SUPPORT_PHONE", "010-0000-1234"),
        ("SUPPORT_EMAIL", "help@upbrella.test"),
    ])
    .await;
    let info = json_ok(
        app.get(&app.client(), "/api/service-info").await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(
        info["support"]["kakao_url"],
        "https://pf.kakao.com/_upbrella/chat"
    );
    assert_eq!(info["support"]["phone"], "010-0000-1234");
    assert_eq!(info["support"]["email"], "help@upbrella.test");
    let bare = spawn_app().await;
    let info = json_ok(
        bare.get(&bare.client(), "/api/service-info").await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(
        info["support"],
        json!({"kakao_url": null, "phone": null, "email": null})
    );
    let mut env = base_env("postgres://x@127.0.0.1/x", "redis://127.0.0.1");
    env.insert("SUPPORT_KAKAO_URL".into(), "javascript:alert(1)".into());
    let err = was::Config::from_source(&env).expect_err("refused");
    assert!(err.to_string().contains("SUPPORT_KAKAO_URL"), "{err}");
}

#[tokio::test]
async fn a_renter_made_an_operator_is_held_to_the_operators_idle_limit_at_once() {
    let app = spawn_app_with(&[
        ("SESSION_IDLE_TIMEOUT", "2s"),
        ("SESSION_ABSOLUTE_TIMEOUT", "1h"),
    ])
    .await;
    let (client, id) = app.user().await;
    tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
    assert_eq!(
        app.get(&client, "/api/me").await.status(),
        StatusCode::OK,
        "a renter idle past the operators' limit is still signed in"
    );
    sqlx::query("UPDATE users SET role = 'clerk', email_verified_at = now() WHERE id = $1")
        .bind(id)
        .execute(&app.db)
        .await
        .expect("promote");
    tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
    problem(app.get(&client, "/api/me").await, StatusCode::UNAUTHORIZED).await;
}
