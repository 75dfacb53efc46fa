//! Operator journeys: roles, staff returns, reports, statistics, stores as they are.
//! Each runs the real stack in a phone-sized Chromium; screenshots land in
//! `target/browser/operator-*.png`.

use crate::harness::*;
use fantoccini::Locator;
use serde_json::{Value, json};
use stack::seed::StoreSeed;
use stack::{Binaries, Stack, TempDir};
use std::time::Duration;

// Helpers of these journeys -------------------------------------------------------------

/// The first admin, made with `was admin create` as the README says.
fn create_admin(s: &Stack, email: &str, name: &str, password: &str) {
    let created = std::process::Command::new(&Binaries::in_target("debug").unwrap().was)
        .args(["admin", "create", "--email", email, "--name", name])
        .args(["--phone", "010-1111-2222"])
        .env("DATABASE_URL", &s.database_url)
        .env("WAS_ADMIN_PASSWORD", password)
        .output()
        .unwrap();
    assert!(
        created.status.success(),
        "{}",
        String::from_utf8_lossy(&created.stderr)
    );
}

fn user_id(s: &Stack, email: &str) -> i64 {
    s.psql(&format!("SELECT id FROM users WHERE email = '{email}'"))
        .unwrap()
        .parse()
        .unwrap()
}

/// An account that may be made an operator: signed up, its address verified (the mailed
/// link is the account journeys' subject; here it is marked in the database).
async fn operator_to_be(s: &Stack, base: &str, email: &str) -> i64 {
    upbrella_tests::sign_up(&upbrella_tests::client(), base, email).await;
    s.psql(&format!(
        "UPDATE users SET email_verified_at = now() WHERE email = '{email}'"
    ))
    .unwrap();
    user_id(s, email)
}

/// A request from the page itself (its cookies, its origin), as the console would send
/// it: the status and the parsed body.
async fn page_call(b: &Browser, method: &str, path: &str, body: Option<Value>) -> (u64, Value) {
    let answer = b
        .c
        .execute(
            "const [method, path, body] = arguments;
             const init = { method, credentials: 'same-origin', headers: { accept: 'application/json' } };
             if (body !== null) { init.headers['content-type'] = 'application/json'; init.body = JSON.stringify(body); }
             return fetch(path, init).then(async (r) => ({ status: r.status, text: await r.text() }));",
            vec![json!(method), json!(path), body.unwrap_or(Value::Null)],
        )
        .await
        .unwrap();
    let text = answer["text"].as_str().unwrap_or_default();
    (
        answer["status"].as_u64().unwrap(),
        serde_json::from_str(text).unwrap_or(Value::Null),
    )
}

/// Logs in through the API from the page (the login screen is the renter journeys'
/// subject), then opens `then`.
async fn log_in_as(b: &Browser, email: &str, password: &str, then: &str) {
    b.log_out().await;
    b.goto("/guide").await;
    b.wait("main h1").await;
    let (status, body) = page_call(
        b,
        "POST",
        "/api/auth/login",
        Some(json!({"email": email, "password": password})),
    )
    .await;
    assert_eq!(status, 200, "login of {email}: {body}");
    b.goto(then).await;
}

/// Chooses the page's language (the choice the language switch stores).
async fn set_language(b: &Browser, lang: &str) {
    b.c.execute(
        "localStorage.setItem('upbrella.lang', arguments[0]);",
        vec![json!(lang)],
    )
    .await
    .unwrap();
}

/// Sets a date or time input as a script would (typing into them depends on the locale).
async fn set_value(b: &Browser, css: &str, value: &str) {
    let field = b.wait(css).await;
    b.c.execute(
        "arguments[0].value = arguments[1]; arguments[0].dispatchEvent(new Event('input', {bubbles: true}));",
        vec![serde_json::to_value(&field).unwrap(), json!(value)],
    )
    .await
    .unwrap();
}

/// An API client logged in as `email`.
async fn api_as(base: &str, email: &str, password: &str) -> reqwest::Client {
    let api = upbrella_tests::client();
    let r = api
        .post(format!("{base}/api/auth/login"))
        .json(&json!({"email": email, "password": password}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "login of {email}");
    api
}

/// Signs a renter up and rents `umbrella` at `store` with its signed code; the rental id.
async fn rent(
    s: &Stack,
    base: &str,
    email: &str,
    store: i64,
    umbrella: i64,
) -> (reqwest::Client, i64) {
    let api = upbrella_tests::client();
    upbrella_tests::sign_up(&api, base, email).await;
    let code = upbrella_tests::code_for(s, was::domain::codes::Subject::Umbrella(umbrella));
    let r = api
        .post(format!("{base}/api/rentals"))
        .json(&json!({"umbrella_id": umbrella, "store_id": store, "code": code}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201, "rent: {}", r.text().await.unwrap());
    let body: Value = r.json().await.unwrap();
    (api, body["rental"]["id"].as_i64().unwrap())
}

/// The page scrolls only up and down on a phone (the elements sticking out are named).
async fn assert_fits_phone(b: &Browser) {
    let wider = b
        .c
        .execute(
            "const width = document.documentElement.clientWidth;
             const out = [...document.querySelectorAll('body *')]
               .filter((e) => e.getBoundingClientRect().right > width + 1 && ![...e.children].some((c) => c.getBoundingClientRect().right > width + 1))
               .filter((e) => !e.closest('.table-wrap, .console-nav'))
               .slice(0, 5)
               .map((e) => `${e.tagName.toLowerCase()}.${e.className}[${e.getAttribute('name') || ''}] ${Math.round(e.getBoundingClientRect().right)}`);
             return { wider: document.documentElement.scrollWidth - width, out };",
            vec![],
        )
        .await
        .unwrap();
    assert!(
        wider["wider"].as_i64().unwrap() <= 0,
        "{} is wider than the phone: {wider}",
        b.path().await
    );
}

/// The first mail to `to` whose subject contains `subject`, from the mail catcher.
async fn mail_to(catcher: &stack::MailCatcher, to: &str, subject: &str) -> Value {
    let started = std::time::Instant::now();
    loop {
        let all: Vec<Value> = reqwest::get(format!("{}/email", catcher.web_url()))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if let Some(found) = all.into_iter().find(|m| {
            m["subject"].as_str().is_some_and(|s| s.contains(subject))
                && m["to"][0]["address"].as_str() == Some(to)
        }) {
            return found;
        }
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "no mail {subject:?} to {to}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn text_of(b: &Browser, css: &str) -> String {
    b.wait(css).await.text().await.unwrap()
}

/// Texts of the cells of the rows of the table under `css`.
async fn table_rows(b: &Browser, css: &str) -> Vec<Vec<String>> {
    let rows =
        b.c.execute(
            "return [...document.querySelectorAll(arguments[0] + ' tbody tr')]
               .map((tr) => [...tr.children].map((c) => c.textContent.trim()));",
            vec![json!(css)],
        )
        .await
        .unwrap();
    serde_json::from_value(rows).unwrap()
}

// Journeys ------------------------------------------------------------------------------

/// An admin makes a café's staff member staff of that café in the users screen; the staff
/// member records an umbrella left at the counter as a staff return, sees a wrong number
/// refused, and is refused at another store and on the rights screen.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cafe_staff_record_a_staff_return_at_their_store_and_are_refused_at_another() {
    let dir = TempDir::new("upbrella-operator-staff").unwrap();
    let s = stack(&dir, &[], &[]);
    let base = s.proxies[0].url("");
    let region = s.seed_region("신촌").unwrap();
    let cafe = s
        .seed_store(
            region,
            &StoreSeed {
                name: "우산 카페",
                umbrellas: 1..4,
                ..StoreSeed::default()
            },
        )
        .unwrap();
    let other = s
        .seed_store(
            region,
            &StoreSeed {
                name: "역앞 서점",
                umbrellas: 10..12,
                ..StoreSeed::default()
            },
        )
        .unwrap();
    create_admin(&s, "op@example.com", "김운영", "operator-pass-1");
    // The café's staff member has an ordinary account first.
    let staff = operator_to_be(&s, &base, "staff@example.com").await;
    // A renter leaves umbrella 1 at the café's counter.
    let (_, rental) = rent(&s, &base, "renter@example.com", cafe.id, cafe.umbrellas[0]).await;

    let b = Browser::open(&dir, base.clone(), "operator-staff").await;
    log_in_as(&b, "op@example.com", "operator-pass-1", "/admin/users").await;
    let card = format!("[data-user-id='{staff}']");
    let form = b.wait(&format!("{card} form.role-form")).await;
    b.fill(&form, &[("role", "매장 직원")]).await;
    b.click(
        &b.wait(&format!(
            "{card} input[name=store_ids][value='{}']",
            cafe.id
        ))
        .await,
    )
    .await;
    b.shot("01-grant-staff").await;
    b.assert_accessible("the users and roles screen").await;
    b.submit(&form).await;
    b.wait_text(&format!("{card} .role-saved"), "매장 직원")
        .await;
    b.wait_text(&format!("{card} .staff-stores"), "우산 카페")
        .await;
    assert_eq!(
        s.psql(&format!(
            "SELECT u.role, string_agg(ss.store_id::text, ',') FROM users u JOIN staff_stores ss ON ss.user_id = u.id WHERE u.id = {staff} GROUP BY u.role"
        ))
        .unwrap(),
        format!("staff|{}", cafe.id)
    );

    // The staff member's console: their store only, no money or rights.
    log_in_as(&b, "staff@example.com", "password123", "/admin").await;
    let mine = b
        .wait_text(
            &format!("a.staff-store[data-store-id='{}']", cafe.id),
            "우산 카페",
        )
        .await;
    assert!(
        !b.main_text().await.contains("역앞 서점"),
        "only their own store is listed"
    );
    for hidden in [
        "/admin/users",
        "/admin/rentals",
        "/admin/deposits",
        "/admin/statistics",
    ] {
        assert!(
            b.c.find(Locator::Css(&format!("nav.console-nav a[href='{hidden}']")))
                .await
                .is_err(),
            "staff are not offered {hidden}"
        );
    }
    b.shot("02-staff-home").await;
    b.click(&mine).await;
    let form = b.wait("form#staff-return-form").await;
    assert_eq!(b.path().await, format!("/admin/stores/{}", cafe.id));
    // A number that is not out on a rental is refused, in words.
    b.fill(&form, &[("umbrella_number", "2")]).await;
    b.submit(&form).await;
    b.wait_text("form#staff-return-form .error", "대여 중이 아닙니다")
        .await;
    b.fill(
        &form,
        &[("umbrella_number", "1"), ("note", "카운터에 두고 감")],
    )
    .await;
    b.shot("03-staff-return-form").await;
    assert_fits_phone(&b).await;
    b.submit(&form).await;
    b.wait_text("#staff-return-done", "우산 1번").await;
    b.wait_text(
        &format!("tr[data-umbrella-id='{}']", cafe.umbrellas[0]),
        "대여 가능",
    )
    .await;
    b.shot("04-staff-return-done").await;
    b.assert_accessible("a staff member's store page").await;
    assert_eq!(
        s.psql(&format!(
            "SELECT closed_reason, return_store_id, returned_at IS NOT NULL FROM rentals WHERE id = {rental}"
        ))
        .unwrap(),
        format!("returned_by_staff|{}|t", cafe.id)
    );
    assert_eq!(
        s.psql(&format!(
            "SELECT store_id, rentable FROM umbrellas WHERE id = {}",
            cafe.umbrellas[0]
        ))
        .unwrap(),
        format!("{}|t", cafe.id),
        "the umbrella is back at the café and lendable"
    );

    // Another store: the page and the staff return are refused (403 store_forbidden).
    b.goto(&format!("/admin/stores/{}", other.id)).await;
    b.wait("#forbidden").await;
    assert!(b.main_text().await.contains("권한이 없습니다"));
    b.shot("05-staff-other-store-refused").await;
    b.assert_accessible("the refusal").await;
    let (status, body) = page_call(
        &b,
        "POST",
        &format!("/api/admin/stores/{}/staff-returns", other.id),
        Some(json!({"umbrella_number": 10})),
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (403, Some("store_forbidden")),
        "{body}"
    );
    // And the rights screen: role_forbidden, said plainly.
    b.goto("/admin/users").await;
    b.wait_text("#forbidden", "이 역할로는 쓸 수 없는").await;
    b.shot("06-staff-users-refused").await;
    b.c.close().await.unwrap();
}

/// A deposit clerk, in English, handles the money but is refused the rights screen, and
/// the grant call itself answers 403 role_forbidden.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deposit_clerk_is_refused_the_rights_screen_and_the_grant_call() {
    let dir = TempDir::new("upbrella-operator-clerk").unwrap();
    let s = stack(&dir, &[], &[]);
    let base = s.proxies[0].url("");
    create_admin(&s, "op@example.com", "김운영", "operator-pass-1");
    let clerk = operator_to_be(&s, &base, "clerk@example.com").await;
    let admin = api_as(&base, "op@example.com", "operator-pass-1").await;
    let r = admin
        .patch(format!("{base}/api/admin/users/{clerk}"))
        .json(&json!({"role": "clerk", "store_ids": []}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());

    let b = Browser::open(&dir, base.clone(), "operator-clerk").await;
    b.goto("/guide").await;
    set_language(&b, "en").await;
    log_in_as(&b, "clerk@example.com", "password123", "/admin").await;
    b.wait_text("main h1", "Dashboard").await;
    b.wait("nav.console-nav a[href='/admin/deposits']").await;
    b.wait("nav.console-nav a[href='/admin/statistics']").await;
    assert!(
        b.c.find(Locator::Css("nav.console-nav a[href='/admin/users']"))
            .await
            .is_err(),
        "clerks are not offered the rights screen"
    );
    b.shot("01-clerk-dashboard-en").await;
    b.goto("/admin/deposits").await;
    b.wait_text("main h1", "Deposits").await;
    // The statistics, in English: charts with their titles, the totals.
    b.goto("/admin/statistics").await;
    b.wait_text(
        "#chart-rentals figcaption",
        "Rentals and returns per period",
    )
    .await;
    b.wait_text("#return-rate", "Return rate").await;
    let ageing = table_rows(&b, "#chart-overdue table").await;
    assert_eq!(ageing[0][0], "1–3 days", "{ageing:?}");
    b.shot("02-clerk-statistics-en").await;
    b.assert_accessible("the statistics page in English").await;

    // Typed in by hand: the screen says no, in English.
    b.goto("/admin/users").await;
    let refusal = b.wait_text("#forbidden", "Your role cannot use").await;
    assert_eq!(
        refusal.attr("data-code").await.unwrap().as_deref(),
        Some("role_forbidden")
    );
    assert!(b.main_text().await.contains("Not allowed"));
    b.shot("03-clerk-users-refused-en").await;

    // The grant itself, from the clerk's page: refused, and nothing changed.
    let (status, body) = page_call(
        &b,
        "PATCH",
        &format!("/api/admin/users/{clerk}"),
        Some(json!({"role": "admin", "store_ids": []})),
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (403, Some("role_forbidden")),
        "{body}"
    );
    assert_eq!(
        s.psql(&format!("SELECT role FROM users WHERE id = {clerk}"))
            .unwrap(),
        "clerk"
    );
    // Nor a ban.
    let op = user_id(&s, "op@example.com");
    let (status, _) = page_call(&b, "POST", &format!("/api/admin/users/{op}/ban"), None).await;
    assert_eq!(status, 403);
    b.c.close().await.unwrap();
}

/// A renter reports a broken umbrella; it reaches the operators' reports list, which
/// links to the rental, and an operator resolves it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_renters_broken_umbrella_report_reaches_the_operators() {
    let dir = TempDir::new("upbrella-operator-report").unwrap();
    let s = stack(&dir, &[], &[]);
    let base = s.proxies[0].url("");
    let region = s.seed_region("신촌").unwrap();
    let cafe = s
        .seed_store(
            region,
            &StoreSeed {
                name: "우산 카페",
                umbrellas: 7..8,
                ..StoreSeed::default()
            },
        )
        .unwrap();
    create_admin(&s, "op@example.com", "김운영", "operator-pass-1");
    let (renter, rental) = rent(&s, &base, "renter@example.com", cafe.id, cafe.umbrellas[0]).await;
    let r = renter
        .post(format!("{base}/api/me/rentals/{rental}/reports"))
        .json(&json!({"kind": "broken", "note": "우산살이 두 개 부러졌어요"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
    let report = r.json::<Value>().await.unwrap()["id"].as_i64().unwrap();

    let b = Browser::open(&dir, base.clone(), "operator-report").await;
    log_in_as(&b, "op@example.com", "operator-pass-1", "/admin").await;
    b.click(&b.wait("main a[href='/admin/reports']").await)
        .await;
    let card = format!("[data-report-id='{report}']");
    let shown = b.wait_text(&card, "우산살이 두 개 부러졌어요").await;
    let text = shown.text().await.unwrap();
    assert!(text.contains("파손"), "{text}");
    assert!(text.contains("우산 7번"), "{text}");
    assert!(text.contains("김우산"), "{text}");
    assert!(text.contains("우산 카페"), "{text}");
    assert!(text.contains("처리 전"), "{text}");
    // The rental is a real link (a new tab opens it).
    let to_rental = b
        .wait(&format!("{card} a[href='/admin/rentals/{rental}']"))
        .await;
    b.shot("01-reports-open").await;
    b.assert_accessible("the reports list").await;
    // A Ctrl-click (or a middle click) is the browser's: a new tab, the page stays put.
    let kept = b
        .c
        .execute(
            "const e = new MouseEvent('click', { ctrlKey: true, bubbles: true, cancelable: true, button: 0 });
             arguments[0].dispatchEvent(e);
             const m = new MouseEvent('click', { bubbles: true, cancelable: true, button: 1 });
             arguments[0].dispatchEvent(m);
             return [e.defaultPrevented, m.defaultPrevented, location.pathname];",
            vec![serde_json::to_value(&to_rental).unwrap()],
        )
        .await
        .unwrap();
    assert_eq!(kept, json!([false, false, "/admin/reports"]));

    b.click(&b.wait(&format!("{card} .resolve-report")).await)
        .await;
    let form = b.wait(&format!("{card} form")).await;
    b.fill(&form, &[("note", "매장에서 새 우산으로 교체")])
        .await;
    b.shot("02-report-resolving").await;
    b.submit(&form).await;
    b.wait_text(&format!("{card} .report-state"), "처리 완료")
        .await;
    b.shot("03-report-resolved").await;
    assert_eq!(
        s.psql(&format!(
            "SELECT resolved_at IS NOT NULL, resolved_by = (SELECT id FROM users WHERE email = 'op@example.com') FROM rental_reports WHERE id = {report}"
        ))
        .unwrap(),
        "t|t"
    );
    // Gone from the open list, kept in the whole list.
    b.goto("/admin/reports").await;
    b.wait_text("main", "처리할 신고가 없습니다").await;
    b.goto("/admin/reports?status=all").await;
    b.wait_text(&card, "처리 완료").await;

    // A plain click follows the link within the page.
    b.click(
        &b.wait(&format!("{card} a[href='/admin/rentals/{rental}']"))
            .await,
    )
    .await;
    assert_eq!(b.path().await, format!("/admin/rentals/{rental}"));
    b.wait_text(&format!("[data-rental-id='{rental}']"), "우산 7번")
        .await;
    b.shot("04-report-rental").await;
    b.c.close().await.unwrap();
}

/// Thirty days of rentals seeded straight into PostgreSQL (one a day at 10:00 Seoul, each
/// back two hours later, but three lost and one still out and six days overdue): the
/// statistics page shows exactly those numbers, in its totals, its charts' tables and per
/// store.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_statistics_page_after_a_seeded_month() {
    let dir = TempDir::new("upbrella-operator-statistics").unwrap();
    let catcher = stack::MailCatcher::start(dir.path()).unwrap();
    let smtp = catcher.smtp_url();
    let s = stack(
        &dir,
        &[
            ("MAIL_TRANSPORT", "smtp"),
            ("SMTP_URL", &smtp),
            ("MAIL_FROM", "우산대여 upbrella <no-reply@upbrella.test>"),
            ("PUBLIC_URL", "http://upbrella.test"),
        ],
        &[],
    );
    let base = s.proxies[0].url("");
    let region = s.seed_region("신촌").unwrap();
    let cafe = s
        .seed_store(
            region,
            &StoreSeed {
                name: "우산 카페",
                umbrellas: 1..31,
                ..StoreSeed::default()
            },
        )
        .unwrap();
    // A second store with nothing rented: filtered out when the café is chosen.
    let quiet = s
        .seed_store(
            region,
            &StoreSeed {
                name: "조용한 가게",
                umbrellas: 50..51,
                ..StoreSeed::default()
            },
        )
        .unwrap();
    create_admin(&s, "op@example.com", "김운영", "operator-pass-1");
    upbrella_tests::sign_up(&upbrella_tests::client(), &base, "month@example.com").await;
    let renter = user_id(&s, "month@example.com");
    let admin = user_id(&s, "op@example.com");
    // Umbrella n was rented n days ago (Seoul): 1..=30, so every rental is in the past.
    let day = |n: &str, at: &str| {
        format!(
            "(((now() AT TIME ZONE 'Asia/Seoul')::date - {n}) + time '{at}') AT TIME ZONE 'Asia/Seoul'"
        )
    };
    s.psql(&format!(
        "INSERT INTO rentals (umbrella_id, user_id, rent_store_id, rented_at, returned_at, return_store_id, closed_reason, closed_by)
         SELECT u.id, {renter}, {store}, {rented},
                CASE WHEN u.number = 20 THEN NULL ELSE {back} END,
                CASE WHEN u.number IN (5, 10, 15, 20) THEN NULL ELSE {store} END,
                CASE WHEN u.number IN (5, 10, 15) THEN 'lost' END,
                CASE WHEN u.number IN (5, 10, 15) THEN {admin} END
         FROM umbrellas u WHERE u.store_id = {store} AND u.number BETWEEN 1 AND 30",
        store = cafe.id,
        rented = day("u.number::int", "10:00"),
        back = day("u.number::int", "12:00"),
    ))
    .unwrap();
    s.psql(&format!(
        "UPDATE umbrellas SET rentable = false WHERE store_id = {} AND number = 20",
        cafe.id
    ))
    .unwrap();
    let (from, to) = s
        .psql("SELECT to_char((now() AT TIME ZONE 'Asia/Seoul')::date - 30, 'YYYY-MM-DD') || '|' || to_char((now() AT TIME ZONE 'Asia/Seoul')::date, 'YYYY-MM-DD')")
        .unwrap()
        .split_once('|')
        .map(|(a, b)| (a.to_owned(), b.to_owned()))
        .unwrap();

    let b = Browser::open(&dir, base.clone(), "operator-statistics").await;
    log_in_as(
        &b,
        "op@example.com",
        "operator-pass-1",
        &format!("/admin/statistics?from={from}&to={to}&bucket=day"),
    )
    .await;
    b.wait_text("#total-rentals .value", "30").await;
    assert_eq!(text_of(&b, "#total-rentals .value").await, "30");
    assert_eq!(text_of(&b, "#total-returns .value").await, "26");
    assert_eq!(text_of(&b, "#total-lost .value").await, "3");
    assert_eq!(
        text_of(&b, "#return-rate .value").await,
        "86.7%",
        "26 of 30 back"
    );
    assert_eq!(text_of(&b, "#mean-duration .value").await, "2.0시간");
    assert_eq!(text_of(&b, "#median-duration .value").await, "2.0시간");
    // Each chart is an image with a title and a description, and its numbers as a table.
    for chart in ["chart-rentals", "chart-lost", "chart-overdue"] {
        let svg = b.wait(&format!("#{chart} svg[role=img]")).await;
        let labelled = svg.attr("aria-labelledby").await.unwrap().unwrap();
        for id in labelled.split(' ') {
            b.wait(&format!("#{chart} svg #{id}")).await;
        }
    }
    let rows = table_rows(&b, "#chart-rentals table").await;
    let column = |i: usize| -> i64 { rows.iter().map(|r| r[i].parse::<i64>().unwrap()).sum() };
    assert_eq!((column(1), column(2)), (30, 26), "{rows:?}");
    assert_eq!(
        rows.iter().filter(|r| r[1] == "1").count(),
        30,
        "one rental a day: {rows:?}"
    );
    let lost = table_rows(&b, "#chart-lost table").await;
    assert_eq!(
        lost.iter()
            .map(|r| r[1].parse::<i64>().unwrap())
            .sum::<i64>(),
        3,
        "{lost:?}"
    );
    let ageing = table_rows(&b, "#chart-overdue table").await;
    let overdue: Vec<_> = ageing.iter().filter(|r| r[1] != "0").collect();
    assert_eq!(overdue.len(), 1, "{ageing:?}");
    assert!(
        overdue[0][0].starts_with('4') && overdue[0][0].contains('7'),
        "six days overdue is in 4–7 days: {ageing:?}"
    );
    assert_eq!(overdue[0][1], "1");
    let per_store = table_rows(&b, "#per-store").await;
    assert!(
        per_store
            .iter()
            .any(|r| r[..4] == ["우산 카페", "30", "26", "3"]),
        "{per_store:?}"
    );
    b.shot("01-statistics-month").await;
    assert_fits_phone(&b).await;
    b.click(&b.wait("#chart-rentals details summary").await)
        .await;
    b.shot("02-statistics-table").await;
    b.assert_accessible("the statistics page").await;

    // Per week, the café only: the same month.
    let form = b.wait("form#statistics-form").await;
    b.fill(&form, &[("bucket", "주별"), ("store_id", "우산 카페")])
        .await;
    b.submit(&form).await;
    b.wait_text("#statistics-scope", "우산 카페").await;
    b.wait_text("#total-rentals .value", "30").await;
    let weeks = table_rows(&b, "#chart-rentals table").await;
    assert!(
        (5..=6).contains(&weeks.len()),
        "31 days are five or six weeks: {weeks:?}"
    );
    assert_eq!(
        weeks
            .iter()
            .map(|r| r[1].parse::<i64>().unwrap())
            .sum::<i64>(),
        30
    );
    assert!(
        b.c.find(Locator::Css(&format!(
            "#per-store tr[data-store-id='{}']",
            quiet.id
        )))
        .await
        .is_err()
    );
    b.shot("03-statistics-weekly").await;

    // The café's monthly report for this month, printable.
    let month = &to[..7];
    b.goto(&format!("/admin/stores/{}/report?month={month}", cafe.id))
        .await;
    let rentals_this_month: i64 = s
        .psql(&format!(
            "SELECT count(*) FROM rentals WHERE rent_store_id = {} AND to_char(rented_at AT TIME ZONE 'Asia/Seoul', 'YYYY-MM') = '{month}'",
            cafe.id
        ))
        .unwrap()
        .parse()
        .unwrap();
    b.wait_text("#report-rentals", &rentals_this_month.to_string())
        .await;
    b.shot("04-monthly-report").await;
    b.assert_accessible("the monthly report").await;
    // Sent to the café: the mail arrives with the month's figures.
    let form = b.wait("form#report-send-form").await;
    b.fill(&form, &[("to", "cafe@example.com")]).await;
    b.submit(&form).await;
    b.wait_text("#report-sent", "cafe@example.com").await;
    let mail = mail_to(&catcher, "cafe@example.com", "우산 대여 보고서").await;
    assert!(
        mail["subject"].as_str().unwrap().contains("우산 카페"),
        "{mail}"
    );
    assert!(
        mail["text"]
            .as_str()
            .unwrap()
            .contains(&rentals_this_month.to_string()),
        "{mail}"
    );
    b.shot("05-monthly-report-sent").await;

    // Stock: 29 of the café's umbrellas are in; a high mark of 20 makes it overflowing.
    b.goto("/admin/stock").await;
    let card = format!("article.stock[data-store-id='{}']", cafe.id);
    let form = b.wait(&format!("{card} form")).await;
    b.fill(&form, &[("low", "2"), ("high", "20")]).await;
    b.submit(&form).await;
    b.wait_text(&format!("{card} .stock-status"), "넘침").await;
    b.wait_text(&format!("{card} p"), "대여 가능 29개").await;
    b.shot("06-stock").await;
    b.assert_accessible("the stock alerts").await;
    b.c.close().await.unwrap();
}

/// A bar open 11:00–02:00 is open after midnight. The WAS has no settable clock, so the
/// journey shapes the hours around the real time in Seoul: yesterday's weekday gets an
/// interval that opens an hour after (today's) closing and closes half an hour from now,
/// so it runs past midnight and now falls in its after-midnight part; today's weekday is
/// closed, so only the overnight rule can make the store open. Tomorrow is open 24 hours,
/// the day before yesterday has a break and closes at 23:00 (intervals may not overlap, a
/// night's part after midnight included), and the other days read 11:00–02:00, as a bar's
/// would. In the last three minutes of a Seoul day no such interval fits; the journey
/// then waits for the new day.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_open_past_midnight_shows_open_after_midnight() {
    let dir = TempDir::new("upbrella-operator-overnight").unwrap();
    let s = stack(&dir, &[], &[]);
    let base = s.proxies[0].url("");
    let region = s.seed_region("신촌").unwrap();
    let image = format!("{base}/img/store.svg");
    let bar = s
        .seed_store(
            region,
            &StoreSeed {
                name: "달빛 바",
                image_url: Some(&image),
                umbrellas: 1..3,
                ..StoreSeed::default()
            },
        )
        .unwrap();
    create_admin(&s, "op@example.com", "김운영", "operator-pass-1");

    let seoul = || {
        let now = s
            .psql("SELECT extract(isodow FROM now() AT TIME ZONE 'Asia/Seoul')::int || '|' || (extract(hour FROM now() AT TIME ZONE 'Asia/Seoul') * 60 + extract(minute FROM now() AT TIME ZONE 'Asia/Seoul'))::int")
            .unwrap();
        let (day, minute) = now.split_once('|').unwrap();
        (day.parse::<u32>().unwrap(), minute.parse::<u32>().unwrap())
    };
    let (mut today, mut minute) = seoul();
    // In the last three minutes of a Seoul day no such interval fits: wait for the new day.
    if minute >= 23 * 60 + 57 {
        tokio::time::sleep(Duration::from_secs(u64::from(24 * 60 - minute) * 60 + 60)).await;
        (today, minute) = seoul();
    }
    let yesterday = if today == 1 { 7 } else { today - 1 };
    let hhmm = |m: u32| format!("{:02}:{:02}", m / 60, m % 60);
    // Late in the day both stop short of midnight: the interval still closes after now
    // and opens (yesterday) after it closes (today), so it runs past midnight.
    let close = hhmm((minute + 30).min(23 * 60 + 58));
    let open = hhmm((minute + 90).min(23 * 60 + 59));
    let next = |d: u32| d % 7 + 1;
    let tomorrow = next(today);
    let before_yesterday = if yesterday == 1 { 7 } else { yesterday - 1 };

    let b = Browser::open(&dir, base.clone(), "operator-overnight").await;
    log_in_as(
        &b,
        "op@example.com",
        "operator-pass-1",
        &format!("/admin/stores/{}", bar.id),
    )
    .await;
    let hours = b.wait("form#hours-form").await;
    for day in 1..=7u32 {
        let (on, o, c) = if day == today {
            ("off", "11:00", "02:00")
        } else if day == yesterday {
            ("on", open.as_str(), close.as_str())
        } else if day == before_yesterday {
            ("on", "11:00", "15:00")
        } else {
            ("on", "11:00", "02:00")
        };
        b.fill(
            &hours,
            &[
                (&format!("open_{day}"), on),
                (&format!("open_at_{day}"), o),
                (&format!("close_at_{day}"), c),
            ],
        )
        .await;
    }
    b.fill(&hours, &[(&format!("allday_{tomorrow}"), "on")])
        .await;
    // The day before yesterday has a break: 11:00–15:00, then 17:00–23:00.
    b.click(
        &b.wait(&format!(
            "fieldset[data-weekday='{before_yesterday}'] button.add-interval"
        ))
        .await,
    )
    .await;
    b.fill(
        &hours,
        &[
            (&format!("open_at_{before_yesterday}_2"), "17:00"),
            (&format!("close_at_{before_yesterday}_2"), "23:00"),
        ],
    )
    .await;
    b.wait_text(
        &format!("fieldset[data-weekday='{yesterday}'] .next-day"),
        "다음 날",
    )
    .await;
    b.c.execute(
        "document.querySelector(arguments[0]).scrollIntoView({block: 'center'});",
        vec![json!(format!("fieldset[data-weekday='{yesterday}']"))],
    )
    .await
    .unwrap();
    b.shot("01-hours-overnight").await;
    b.assert_accessible("an admin's store page").await;
    assert_fits_phone(&b).await;
    b.submit(&hours).await;
    b.wait_text("main", "영업 시간을 저장했습니다").await;
    let stored = s
        .psql(&format!(
            "SELECT to_char(open_at, 'HH24:MI') || '-' || to_char(close_at, 'HH24:MI') FROM business_hours WHERE store_id = {} AND weekday = {yesterday}",
            bar.id
        ))
        .unwrap();
    assert_eq!(stored, format!("{open}-{close}"));
    assert_eq!(
        s.psql(&format!(
            "SELECT string_agg(to_char(open_at, 'HH24:MI') || '-' || to_char(close_at, 'HH24:MI'), ',' ORDER BY open_at) FROM business_hours WHERE store_id = {} AND weekday = {before_yesterday}",
            bar.id
        ))
        .unwrap(),
        "11:00-15:00,17:00-23:00",
        "a break time is two intervals"
    );
    assert_eq!(
        s.psql(&format!(
            "SELECT to_char(open_at, 'HH24:MI') || '-' || to_char(close_at, 'HH24:MI') FROM business_hours WHERE store_id = {} AND weekday = {tomorrow}",
            bar.id
        ))
        .unwrap(),
        "00:00-00:00",
        "24 hours"
    );
    assert_eq!(
        s.psql(&format!(
            "SELECT count(*) FROM business_hours WHERE store_id = {} AND weekday = {today}",
            bar.id
        ))
        .unwrap(),
        "0",
        "today is closed: only yesterday's interval can open the store now"
    );

    // A holiday next month: listed, and kept apart from today.
    let closure = b.wait("form#closure-form").await;
    let next_month = s
        .psql("SELECT to_char((now() AT TIME ZONE 'Asia/Seoul')::date + 40, 'YYYY-MM-DD')")
        .unwrap();
    set_value(&b, "form#closure-form input[name=starts_on]", &next_month).await;
    set_value(&b, "form#closure-form input[name=ends_on]", &next_month).await;
    b.fill(&closure, &[("reason", "설 연휴")]).await;
    b.submit(&closure).await;
    b.wait_text("#closures table", "설 연휴").await;
    b.shot("02-closures").await;

    // A photo from the phone: this stack has no bucket, so the console says so and keeps
    // the field for the photo's address.
    let photo = dir.path().join("counter.png");
    std::fs::write(&photo, b"\x89PNG\r\n\x1a\n a phone's photo").unwrap();
    let form = b.wait("form#photo-form").await;
    let file = form.find(Locator::Css("input[name=photo]")).await.unwrap();
    assert_eq!(
        file.attr("capture").await.unwrap().as_deref(),
        Some("environment")
    );
    file.send_keys(photo.to_str().unwrap()).await.unwrap();
    b.submit(&form).await;
    b.wait_text("#upload-message .error", "사진 주소로 추가해 주세요")
        .await;
    assert!(!form.is_displayed().await.unwrap());
    b.wait("form#image-form input[name=url]").await;
    b.c.execute(
        "document.querySelector('#upload-message').scrollIntoView({block: 'center'});",
        vec![],
    )
    .await
    .unwrap();
    b.shot("03-photo-by-address").await;

    // The public page: open now, after midnight of yesterday's interval.
    b.goto(&format!("/stores/{}", bar.id)).await;
    b.wait_text("main h1", "달빛 바").await;
    b.wait_text("main", "영업 중").await;
    assert!(
        b.main_text().await.contains("11:00"),
        "{}",
        b.main_text().await
    );
    b.shot("04-public-open-after-midnight").await;
    let detail: Value = reqwest::get(format!("{base}/api/stores/{}", bar.id))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(detail["open_now"], json!(true), "{detail}");
    b.c.close().await.unwrap();
}

/// A stand-in for Kakao's Local API (as the Kakao login has one): every address search
/// with the expected key answers one place, in Kakao's shape; anything else 401.
async fn kakao_local_stand_in() -> u16 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut request = Vec::new();
                let mut buf = [0u8; 4096];
                while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                    match socket.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => request.extend_from_slice(&buf[..n]),
                    }
                }
                let request = String::from_utf8_lossy(&request).to_lowercase();
                let authorised = request.starts_with("get /v2/local/search/address.json?")
                    && request.contains("authorization: kakaoak test-rest-key");
                let (status, body) = if authorised {
                    (
                        "200 OK",
                        json!({"documents": [{"address_name": "서울 서대문구 연세로 50", "x": "126.9386", "y": "37.5658"}],
                               "meta": {"total_count": 1}})
                        .to_string(),
                    )
                } else {
                    ("401 Unauthorized", "{}".to_owned())
                };
                let answer = format!(
                    "HTTP/1.1 {status}\r\ncontent-type: application/json;charset=UTF-8\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                socket.write_all(answer.as_bytes()).await.ok();
            });
        }
    });
    port
}

/// With a Kakao REST key, an admin adds a store by searching its address: the pick fills
/// the address and the coordinates, which are kept in a fold to correct by hand.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_adds_a_store_by_searching_its_address() {
    let dir = TempDir::new("upbrella-operator-geocode").unwrap();
    let port = kakao_local_stand_in().await;
    let kakao = format!("http://127.0.0.1:{port}");
    let s = stack(
        &dir,
        &[
            ("KAKAO_REST_API_KEY", "test-rest-key"),
            ("KAKAO_LOCAL_API_URL", &kakao),
        ],
        &[],
    );
    let base = s.proxies[0].url("");
    s.seed_region("신촌").unwrap();
    create_admin(&s, "op@example.com", "김운영", "operator-pass-1");
    let b = Browser::open(&dir, base.clone(), "operator-geocode").await;
    log_in_as(&b, "op@example.com", "operator-pass-1", "/admin/stores").await;
    let form = b.wait("form#store-form").await;
    // The coordinates are folded away: the search fills them.
    assert!(
        !form
            .find(Locator::Css("input[name=latitude]"))
            .await
            .unwrap()
            .is_displayed()
            .await
            .unwrap()
    );
    b.fill(
        &form,
        &[
            ("name", "연세로 카페"),
            ("category", "카페"),
            ("region_id", "신촌"),
            ("geocode_query", "연세로 50"),
        ],
    )
    .await;
    b.click(&b.wait("form#store-form button.geocode-search").await)
        .await;
    let pick = b
        .wait_text("form#store-form button.geocode-pick", "연세로 50")
        .await;
    b.shot("01-address-results").await;
    b.assert_accessible("the store form with address results")
        .await;
    b.click(&pick).await;
    b.wait_text("form#store-form .geocode-results", "주소를 골랐습니다")
        .await;
    b.shot("02-address-picked").await;
    b.submit(&form).await;
    b.wait("form#hours-form").await;
    let store = b.path().await.rsplit('/').next().unwrap().to_owned();
    assert_eq!(
        s.psql(&format!(
            "SELECT name, address, round(latitude::numeric, 4), round(longitude::numeric, 4) FROM stores WHERE id = {store}"
        ))
        .unwrap(),
        "연세로 카페|서울 서대문구 연세로 50|37.5658|126.9386"
    );
    b.c.close().await.unwrap();
}

/// A photo from the phone's camera goes straight to the bucket (moto's S3 on loopback,
/// as `cargo stack` runs it): the WAS signs the upload, the browser PUTs the file, the
/// store shows the stored object.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_uploads_a_store_photo_from_the_phone() {
    let dir = TempDir::new("upbrella-operator-photo").unwrap();
    let photos = stack::photos::PhotoStore::start(dir.path()).unwrap();
    let was_env = photos.was_env();
    let proxy_env = photos.proxy_env();
    let was_env: Vec<(&str, &str)> = was_env
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let proxy_env: Vec<(&str, &str)> = proxy_env
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let s = stack(&dir, &was_env, &proxy_env);
    let base = s.proxies[0].url("");
    photos
        .create_bucket(&[base.trim_end_matches('/').to_owned()])
        .await
        .unwrap();
    let region = s.seed_region("신촌").unwrap();
    let cafe = s
        .seed_store(
            region,
            &StoreSeed {
                name: "사진 카페",
                ..StoreSeed::default()
            },
        )
        .unwrap();
    create_admin(&s, "op@example.com", "김운영", "operator-pass-1");

    // A small blue picture, as a phone's camera would hand over a JPEG or PNG.
    let path = dir.path().join("counter.png");
    let mut png_bytes = Vec::new();
    {
        let mut encoder = png::Encoder::new(&mut png_bytes, 64, 48);
        encoder.set_color(png::ColorType::Rgb);
        encoder.set_depth(png::BitDepth::Eight);
        let mut writer = encoder.write_header().unwrap();
        let pixels: Vec<u8> = (0..64 * 48).flat_map(|_| [47u8, 111, 237]).collect();
        writer.write_image_data(&pixels).unwrap();
    }
    std::fs::write(&path, &png_bytes).unwrap();

    let b = Browser::open(&dir, base.clone(), "operator-photo").await;
    log_in_as(
        &b,
        "op@example.com",
        "operator-pass-1",
        &format!("/admin/stores/{}", cafe.id),
    )
    .await;
    let form = b.wait("form#photo-form").await;
    form.find(Locator::Css("input[name=photo]"))
        .await
        .unwrap()
        .send_keys(path.to_str().unwrap())
        .await
        .unwrap();
    b.submit(&form).await;
    let image = b.wait("main img.store-image").await;
    b.wait_text("main", "사진 카페").await;
    let src = image.attr("src").await.unwrap().unwrap();
    assert!(src.starts_with(&photos.endpoint()), "{src}");
    b.c.execute(
        "arguments[0].scrollIntoView({block: 'center'});",
        vec![serde_json::to_value(&image).unwrap()],
    )
    .await
    .unwrap();
    b.shot("01-photo-uploaded").await;
    assert_eq!(
        s.psql(&format!(
            "SELECT url FROM store_images WHERE store_id = {}",
            cafe.id
        ))
        .unwrap(),
        src
    );
    // The stand-in bucket keeps objects private (in AWS a bucket policy lets anyone read
    // stores/*), so the object is read back as the WAS's credentials would (moto does not
    // check signatures).
    let stored = reqwest::Client::new()
        .get(&src)
        .header(
            "authorization",
            "AWS4-HMAC-SHA256 Credential=local-photos/20260101/ap-northeast-2/s3/aws4_request, SignedHeaders=host, Signature=00",
        )
        .header("x-amz-content-sha256", "UNSIGNED-PAYLOAD")
        .header("x-amz-date", "20260101T000000Z")
        .send()
        .await
        .unwrap();
    assert_eq!(stored.status(), 200);
    assert_eq!(
        stored.bytes().await.unwrap().as_ref(),
        png_bytes.as_slice(),
        "the very file"
    );
    b.c.close().await.unwrap();
}
