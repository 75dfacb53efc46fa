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
pub(crate) fn create_admin(s: &Stack, email: &str, name: &str, password: &str) {
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

pub(crate) fn user_id(s: &Stack, email: &str) -> i64 {
    s.psql(&format!("SELECT id FROM users WHERE email = '{email}'"))
        .unwrap()
        .parse()
        .unwrap()
}

/// An account that may be made an operator: signed up, its address verified (the mailed
/// link is the account journeys' subject; here it is marked in the database).
pub(crate) async fn operator_to_be(s: &Stack, base: &str, email: &str) -> i64 {
    upbrella_tests::sign_up(&upbrella_tests::client(), base, email).await;
    s.psql(&format!(
        "UPDATE users SET email_verified_at = now() WHERE email = '{email}'"
    ))
    .unwrap();
    user_id(s, email)
}

/// A request from the page itself (its cookies, its origin), as the console would send
/// it: the status and the parsed body.
pub(crate) async fn page_call(
    b: &Browser,
    method: &str,
    path: &str,
    body: Option<Value>,
) -> (u64, Value) {
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
pub(crate) async fn log_in_as(b: &Browser, email: &str, password: &str, then: &str) {
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
pub(crate) async fn set_language(b: &Browser, lang: &str) {
    b.c.execute(
        "localStorage.setItem('upbrella.lang', arguments[0]);",
        vec![json!(lang)],
    )
    .await
    .unwrap();
}

/// Sets a date or time input as a script would (typing into them depends on the locale).
pub(crate) async fn set_value(b: &Browser, css: &str, value: &str) {
    let field = b.wait(css).await;
    b.c.execute(
        "arguments[0].value = arguments[1]; arguments[0].dispatchEvent(new Event('input', {bubbles: true}));",
        vec![serde_json::to_value(&field).unwrap(), json!(value)],
    )
    .await
    .unwrap();
}

/// An API client logged in as `email`.
pub(crate) async fn api_as(base: &str, email: &str, password: &str) -> reqwest::Client {
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
pub(crate) async fn rent(
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
pub(crate) async fn assert_fits_phone(b: &Browser) {
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
pub(crate) async fn mail_to(catcher: &stack::MailCatcher, to: &str, subject: &str) -> Value {
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

pub(crate) async fn text_of(b: &Browser, css: &str) -> String {
    b.wait(css).await.text().await.unwrap()
}

/// Texts of the cells of the rows of the table under `css`.
pub(crate) async fn table_rows(b: &Browser, css: &str) -> Vec<Vec<String>> {
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
    make_staff_of_the_cafe(&b, &s, staff, cafe.id).await;

    // The staff member's console: their store only, no money or rights.
    log_in_as(&b, "staff@example.com", "password123", "/admin").await;
    let mine = the_staff_home_lists_their_store_only(&b, cafe.id).await;
    b.click(&mine).await;
    record_a_staff_return(&b, &s, &cafe, rental).await;

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
    b.visit("/admin/users", "#forbidden", "이 역할로는 쓸 수 없는")
        .await;
    b.shot("06-staff-users-refused").await;
    b.c.close().await.unwrap();
}

/// In the users screen, the admin makes `staff` staff of the café.
async fn make_staff_of_the_cafe(b: &Browser, s: &Stack, staff: i64, cafe: i64) {
    let card = format!("[data-user-id='{staff}']");
    let form = b.wait(&format!("{card} form.role-form")).await;
    b.fill(&form, &[("role", "매장 직원")]).await;
    b.tap(&format!("{card} input[name=store_ids][value='{cafe}']"))
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
        format!("staff|{cafe}")
    );
}

/// The staff member's home: the link to their store, and no other store, money or rights.
async fn the_staff_home_lists_their_store_only(
    b: &Browser,
    cafe: i64,
) -> fantoccini::elements::Element {
    let mine = b
        .wait_text(
            &format!("a.staff-store[data-store-id='{cafe}']"),
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
    mine
}

/// On the café's page: a wrong number refused in words, then umbrella 1 taken back.
async fn record_a_staff_return(
    b: &Browser,
    s: &Stack,
    cafe: &stack::seed::SeededStore,
    rental: i64,
) {
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
    assert_fits_phone(b).await;
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
