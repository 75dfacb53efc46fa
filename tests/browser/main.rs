//! The web page in a real browser (headless Chromium through chromedriver, a phone-sized
//! window) against the real stack: web-proxy serving the page and forwarding to a WAS,
//! PostgreSQL and Redis. Chromium resolves no name but loopback, so nothing leaves the
//! machine. Screenshots of every screen land in `target/browser/`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod harness;
mod operator;
mod renter;

use fantoccini::Locator;
use harness::*;
use serde_json::json;
use stack::seed::StoreSeed;
use stack::{Binaries, TempDir};
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_visitor_finds_a_store_signs_up_and_rents_an_umbrella() {
    let dir = TempDir::new("upbrella-browser").unwrap();
    // The original service's stickers: a deployment in the migration mode that accepts
    // them until a date (a new deployment refuses them).
    let s = stack(
        &dir,
        &[
            ("QR_LEGACY_CODES", "accept"),
            ("QR_LEGACY_UNTIL", "2999-12-31"),
        ],
        &[],
    );
    let base = s.proxies[0].url("");
    let region = s.seed_region("신촌").unwrap();
    let image = format!("{base}/img/store.svg");
    let seeded = s
        .seed_store(
            region,
            &StoreSeed {
                name: "우산 카페",
                umbrella_location: "입구 옆",
                image_url: Some(&image),
                locker_secret: Some("00112233445566778899aabbccddeeff"),
                umbrellas: 77..78,
                ..StoreSeed::default()
            },
        )
        .unwrap();
    let (store, umbrella) = (seeded.id, seeded.umbrellas[0]);
    let b = Browser::open(&dir, base, "visitor").await;

    // Without a Kakao Maps key, the store list is the map page: no map is attempted.
    b.goto("/").await;
    let card = b.wait_text("a.store", "우산 카페").await;
    assert!(card.text().await.unwrap().contains("대여 가능 우산 1개"));
    assert!(b.c.find(Locator::Css("#map")).await.is_err());
    b.shot("1-stores").await;
    card.click().await.unwrap();
    b.wait_text("main h1", "우산 카페").await;
    assert!(b.main_text().await.contains("입구 옆"));
    assert!(
        b.main_text().await.contains("반납용 QR 코드를 찍어"),
        "the store page says how to return instead of linking to a return"
    );
    assert_eq!(b.path().await, format!("/stores/{store}"));
    b.shot("2-store").await;

    // A sticker of the original service opens /rent/form/{id}; a visitor signs up on
    // the way.
    b.goto(&format!("/rent/form/{umbrella}")).await;
    b.sign_up_on_the_way("김우산", "browser@example.com", "010-2222-3333")
        .await;
    b.shot("3-signup").await;
    b.submit(&b.wait("main form").await).await;
    // Back on the rent page, logged in.
    let report = b.wait("textarea[name=condition_report]").await;
    assert!(b.main_text().await.contains("우산 77번"));
    report.send_keys("손잡이가 조금 헐거워요").await.unwrap();
    b.shot("4-rent").await;
    b.c.find(Locator::Css("main button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let done = b.wait("#rented").await;
    assert!(done.text().await.unwrap().contains("77번"));
    // The transfer reference: the renter's name and four digits.
    let reference = b
        .wait("#deposit-reference .reference")
        .await
        .text()
        .await
        .unwrap();
    assert!(reference.starts_with("김우산"), "{reference}");
    let password = b.wait("#locker-password").await.text().await.unwrap();
    assert!(
        password.len() == 4 && password.chars().all(|ch| ch.is_ascii_digit()),
        "{password:?}"
    );
    b.shot("5-rented").await;

    // My page shows the rental; the database agrees.
    b.goto("/me").await;
    let current = b.wait("#current-rental").await;
    assert!(current.text().await.unwrap().contains("우산 77번"));
    b.shot("6-me").await;
    let open = s.psql("SELECT count(*) FROM rentals r JOIN users u ON u.id = r.user_id WHERE u.email = 'browser@example.com' AND r.returned_at IS NULL").unwrap();
    assert_eq!(open, "1");
    let agreed = s.psql("SELECT terms_agreed_at IS NOT NULL AND privacy_agreed_at IS NOT NULL FROM users WHERE email = 'browser@example.com'").unwrap();
    assert_eq!(agreed, "t", "the agreements given at sign-up are recorded");

    // The original service's return sticker at a store with a locker:
    // /return/form?storeId=…&salt=…&signature=….
    let salt = "c2FsdC0x";
    let signature = was::domain::locker::signature("00112233445566778899aabbccddeeff", salt);
    b.goto(&format!(
        "/return/form?storeId={store}&salt={salt}&signature={signature}"
    ))
    .await;
    let form = b.wait("main form").await;
    b.fill(
        &form,
        &[("bank_name", "신한"), ("account_number", "110-123-456789")],
    )
    .await;
    b.submit(&form).await;
    b.wait_text("main h1", "반납 완료").await;
    b.shot("7-returned").await;
    let back = s
        .psql("SELECT return_store_id FROM rentals r JOIN users u ON u.id = r.user_id WHERE u.email = 'browser@example.com'")
        .unwrap();
    assert_eq!(back, store.to_string());

    // The pages anyone can read.
    for (path, title, name) in [
        ("/stores", "협력 매장 소개", "8-introductions"),
        ("/guide", "이용안내", "9-guide"),
        ("/terms", "이용약관", "10-terms"),
        ("/privacy", "개인정보 처리방침", "11-privacy"),
    ] {
        b.goto(path).await;
        b.wait_text("main h1", title).await;
        b.shot(name).await;
    }
    assert!(b.main_text().await.contains("계좌번호"));
    b.c.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operator_opens_a_store_and_a_renter_uses_its_codes() {
    let dir = TempDir::new("upbrella-journey").unwrap();
    // A Kakao Maps key is configured, but Chromium can reach no Kakao host here: the map
    // fails to load and the list remains.
    let s = stack(
        &dir,
        &[("KAKAO_MAP_KEY", "offline-test-key")],
        &[("WEB_PROXY_KAKAO_MAPS", "true")],
    );
    let base = s.proxies[0].url("");
    // The first admin, as the README says.
    let created = std::process::Command::new(&Binaries::in_target("debug").unwrap().was)
        .args([
            "admin",
            "create",
            "--email",
            "op@example.com",
            "--name",
            "김운영",
        ])
        .args(["--phone", "010-1111-2222"])
        .env("DATABASE_URL", &s.database_url)
        .env("WAS_ADMIN_PASSWORD", "operator-pass-1")
        .output()
        .unwrap();
    assert!(
        created.status.success(),
        "{}",
        String::from_utf8_lossy(&created.stderr)
    );
    let b = Browser::open(&dir, base.clone(), "journey").await;

    // --- The operator sets up a region, a store with hours, a locker and umbrellas. ---
    b.log_in("op@example.com", "operator-pass-1").await;
    b.goto("/admin").await;
    b.wait_text("main", "대여 중").await;
    b.shot("01-console-dashboard").await;

    b.goto("/admin/classifications").await;
    let form = b.wait("form#region-form").await;
    b.fill(
        &form,
        &[
            ("name", "신촌"),
            ("latitude", "37.5598"),
            ("longitude", "126.9425"),
        ],
    )
    .await;
    b.submit(&form).await;
    b.wait_text("main", "신촌").await;
    b.shot("02-console-regions").await;

    b.goto("/admin/stores").await;
    let form = b.wait("form#store-form").await;
    b.fill(
        &form,
        &[
            ("name", "우산 카페"),
            ("category", "카페"),
            ("region_id", "신촌"),
            ("latitude", "37.5591"),
            ("longitude", "126.9410"),
            ("address", "서울 서대문구 연세로 1"),
            ("umbrella_location", "입구 옆 우산꽂이"),
            ("contact", "02-123-4567"),
        ],
    )
    .await;
    b.shot("03-console-new-store").await;
    b.submit(&form).await;
    b.wait("form#hours-form").await;
    let store = b.path().await.rsplit('/').next().unwrap().to_owned();
    assert!(store.parse::<i64>().is_ok(), "on the store's page: {store}");

    let hours = b.wait("form#hours-form").await;
    for day in 1..=7 {
        b.fill(
            &hours,
            &[
                (&format!("open_{day}"), "on"),
                (&format!("open_at_{day}"), "00:00"),
                (&format!("close_at_{day}"), "23:59"),
            ],
        )
        .await;
    }
    b.submit(&hours).await;
    b.wait_text("main", "영업 시간을 저장했습니다").await;
    let image = b.wait("form#image-form").await;
    b.fill(&image, &[("url", &format!("{base}/img/store.svg"))])
        .await;
    b.submit(&image).await;
    b.wait("main img.store-image").await;
    b.click_confirming(&b.wait("button#activate").await).await;
    b.wait_text("main", "운영 중").await;

    let locker = b.wait("form#locker-form").await;
    b.submit(&locker).await;
    let secret = b.wait("#locker-secret").await.text().await.unwrap();
    let secret = secret.trim().to_owned();
    assert!(
        secret.len() == 32 && secret.bytes().all(|c| c.is_ascii_hexdigit()),
        "{secret:?}"
    );
    b.shot("04-console-locker-secret").await;

    for number in ["1", "2"] {
        let form = b.wait("form#umbrella-form").await;
        b.fill(&form, &[("number", number)]).await;
        b.submit(&form).await;
        b.wait_text("main", &format!("{number}번")).await;
    }
    b.shot("05-console-store").await;
    let in_db = s
        .psql(&format!(
            "SELECT count(*) FROM business_hours WHERE store_id = {store}"
        ))
        .unwrap();
    assert_eq!(in_db, "7", "hours for every day");

    // The printable sheet: a code per umbrella and the store's, read back off the screen.
    b.goto(&format!("/admin/stores/{store}/codes")).await;
    let sheet = b.wait("img.qr-sheet").await;
    b.c.wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::XPath(
            "//img[contains(@class,'qr-sheet') and @naturalWidth!=0]",
        ))
        .await
        .ok();
    b.shot("06-console-codes").await;
    b.c.set_window_size(1400, 2000).await.unwrap();
    let codes = qr_codes(&sheet.screenshot().await.unwrap());
    b.c.set_window_size(PHONE.0, PHONE.1).await.unwrap();
    let umbrella_ids = s
        .psql(&format!("SELECT string_agg(id::text, ',' ORDER BY number) FROM umbrellas WHERE store_id = {store}"))
        .unwrap();
    let umbrella_ids: Vec<&str> = umbrella_ids.split(',').collect();
    let find = |prefix: String| {
        codes
            .iter()
            .find(|c| c.starts_with(&prefix))
            .unwrap_or_else(|| panic!("no code for {prefix} among {codes:?}"))
            .clone()
    };
    let first_umbrella = find(format!("{base}/rent/{}?code=", umbrella_ids[0]));
    let second_umbrella = find(format!("{base}/rent/{}?code=", umbrella_ids[1]));
    let store_code = find(format!("{base}/return/{store}?code="));
    assert_eq!(codes.len(), 3, "{codes:?}");

    // --- A renter scans the first umbrella's code, signs up with consent, rents. ---
    b.log_out().await;
    b.goto(&first_umbrella).await;
    b.sign_up_on_the_way("이대여", "renter@example.com", "010-3333-4444")
        .await;
    b.submit(&b.wait("main form").await).await;
    b.wait_text("main", "보증금").await;
    assert!(b.main_text().await.contains("우산 1번"));
    b.shot("07-renter-rent").await;
    b.submit(&b.wait("main form").await).await;
    let password = b.wait("#locker-password").await.text().await.unwrap();
    assert_eq!(
        password,
        was::domain::locker::locker_password(&secret, 0).unwrap(),
        "the locker's first password"
    );
    b.shot("08-renter-rented").await;

    // The locker refused (its counter ran ahead to 3): the renter scans the store's code
    // (proof of standing at the locker) and types the number on its screen.
    b.goto("/me").await;
    b.wait_text("#current-rental", "반납용 QR 코드").await;
    b.goto(&store_code).await;
    let resync = b.wait("#resync form").await;
    b.fill(&resync, &[("counter", "3")]).await;
    b.submit(&resync).await;
    b.wait_text(
        "#resync-password",
        &was::domain::locker::locker_password(&secret, 3).unwrap(),
    )
    .await;
    b.shot("09-renter-resync").await;

    // Then returns on the same page.
    let form = b.wait("main > form").await;
    b.fill(
        &form,
        &[("bank_name", "신한"), ("account_number", "110-123-456789")],
    )
    .await;
    b.shot("10-renter-return").await;
    b.submit(&form).await;
    b.wait_text("main h1", "반납 완료").await;
    b.shot("11-renter-returned").await;
    let returned = s
        .psql("SELECT id, return_store_id FROM rentals WHERE returned_at IS NOT NULL")
        .unwrap();
    let (rental, returned_at) = returned.split_once('|').unwrap();
    assert_eq!(returned_at, store);
    let rental = rental.to_owned();

    // A while later (the locker gives one password a minute), another renter rents the
    // second umbrella (through the API) and loses it.
    s.psql(&format!(
        "UPDATE lockers SET last_access = now() - interval '2 minutes' WHERE store_id = {store}"
    ))
    .unwrap();
    let api = upbrella_tests::client();
    upbrella_tests::sign_up(&api, &base, "loser@example.com").await;
    let second_id: i64 = umbrella_ids[1].parse().unwrap();
    let code = second_umbrella.rsplit("code=").next().unwrap();
    let r = api
        .post(format!("{base}/api/rentals"))
        .json(&json!({"umbrella_id": second_id, "store_id": store.parse::<i64>().unwrap(), "code": code}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let lost = s
        .psql("SELECT id FROM rentals WHERE returned_at IS NULL")
        .unwrap();

    // --- The operator confirms the same-day return's deposit from the dashboard, and
    // refunds it. ---
    b.log_out().await;
    b.log_in("op@example.com", "operator-pass-1").await;
    b.goto("/admin").await;
    b.click(&b.wait("a.stat[href='/admin/rentals?status=unpaid']").await)
        .await;
    let card = format!("[data-rental-id='{rental}']");
    b.wait_text(&format!("{card} .deposit-state"), "입금 대기")
        .await;
    b.shot("12-console-payment-queue").await;
    b.click_confirming(&b.wait(&format!("{card} .deposit-confirm-payment")).await)
        .await;
    // Back already: the deposit is owed to the renter, and only refunding is offered.
    b.wait_text(&format!("{card} .deposit-state"), "환급 대기")
        .await;
    b.click(&b.wait(&format!("{card} .show-account")).await)
        .await;
    b.wait_text(&card, "110-123-456789").await;
    b.click_confirming(&b.wait(&format!("{card} .deposit-refund")).await)
        .await;
    b.wait_text(&format!("{card} .deposit-state"), "환급 완료")
        .await;
    b.shot("13-console-refunded").await;
    let state = s
        .psql(&format!(
            "SELECT deposit_state, paid_at IS NOT NULL, refunded_at IS NOT NULL FROM rentals WHERE id = {rental}"
        ))
        .unwrap();
    assert_eq!(state, "refunded|t|t", "deposit confirmed, then refunded");
    assert_eq!(
        s.psql(&format!(
            "SELECT count(*) FROM operator_actions WHERE target_id = {rental} AND action = 'bank_account.read' AND actor_email = 'op@example.com'"
        ))
        .unwrap(),
        "1",
        "the full account's read is logged"
    );

    // --- The second renter paid, then lost the umbrella: closed as lost, the deposit
    // is kept. ---
    b.goto("/admin/rentals?status=open").await;
    let lost_card = format!("[data-rental-id='{lost}']");
    b.click_confirming(
        &b.wait(&format!("{lost_card} .deposit-confirm-payment"))
            .await,
    )
    .await;
    b.wait_text(&format!("{lost_card} .deposit-state"), "입금 확인")
        .await;
    b.click(&b.wait(&format!("{lost_card} .close-rental")).await)
        .await;
    let form = b.wait(&format!("{lost_card} form.close-form")).await;
    b.fill(
        &form,
        &[("reason", "분실"), ("note", "우산을 잃어버렸다고 연락 옴")],
    )
    .await;
    b.shot("14-console-close-rental").await;
    b.click_confirming(
        &form
            .find(Locator::Css("button[type=submit]"))
            .await
            .unwrap(),
    )
    .await;
    b.wait_text(&format!("{lost_card} .deposit-state"), "보증금 차감")
        .await;
    assert_eq!(
        s.psql(&format!(
            "SELECT closed_reason, deposit_state, forfeit_reason FROM rentals WHERE id = {lost}"
        ))
        .unwrap(),
        "lost|forfeited|lost"
    );
    // The renter's page says so.
    b.log_out().await;
    b.log_in("loser@example.com", "password123").await;
    b.goto("/me").await;
    b.wait_text("main td.deposit-label", "분실로").await;
    b.shot("15-renter-forfeited").await;

    // --- The umbrella turns up at the café: found, owed back, the renter gives an
    // account, the operator refunds. ---
    b.log_out().await;
    b.log_in("op@example.com", "operator-pass-1").await;
    b.goto("/admin/rentals?status=forfeited").await;
    b.click(&b.wait(&format!("{lost_card} .found-umbrella")).await)
        .await;
    let found = b.wait(&format!("{lost_card} form.found-form")).await;
    b.click_confirming(
        &found
            .find(Locator::Css("button[type=submit]"))
            .await
            .unwrap(),
    )
    .await;
    b.wait_text(&format!("{lost_card} .deposit-state"), "환급 대기")
        .await;
    b.shot("16-console-found").await;
    b.log_out().await;
    b.log_in("loser@example.com", "password123").await;
    b.goto("/me").await;
    let account = b.wait(".refund-account form").await;
    b.fill(
        &account,
        &[("bank_name", "국민"), ("account_number", "123-45-678901")],
    )
    .await;
    b.shot("17-renter-refund-account").await;
    b.submit(&account).await;
    b.wait_text("main td.deposit-label", "환급 대기").await;
    b.log_out().await;
    b.log_in("op@example.com", "operator-pass-1").await;
    b.goto("/admin/deposits").await;
    b.wait_text("main", "환급 대기 (오래된 순)").await;
    b.wait_text(&format!("tr[data-rental-id='{lost}']"), "국민")
        .await;
    b.goto("/admin/rentals?status=refund_due").await;
    b.click_confirming(&b.wait(&format!("{lost_card} .deposit-refund")).await)
        .await;
    b.wait_text(&format!("{lost_card} .deposit-state"), "환급 완료")
        .await;
    assert_eq!(
        s.psql(&format!(
            "SELECT deposit_state FROM rentals WHERE id = {lost}"
        ))
        .unwrap(),
        "refunded"
    );

    // --- The books: nothing held, the day's figures, and the CSV as Excel opens it. ---
    b.goto("/admin/deposits").await;
    b.wait_text("#held-amount", "0원").await;
    b.shot("18-console-deposits").await;
    let csv =
        b.c.execute(
            "const f = document.querySelector('form.export');
             const q = new URLSearchParams(new FormData(f));
             return fetch(f.action + '?' + q).then(async (r) => ({
               type: r.headers.get('content-type'),
               disposition: r.headers.get('content-disposition'),
               bytes: Array.from(new Uint8Array(await r.arrayBuffer())),
             }));",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(csv["type"], "text/csv; charset=utf-8");
    assert!(
        csv["disposition"]
            .as_str()
            .unwrap()
            .starts_with("attachment;")
    );
    let bytes: Vec<u8> = csv["bytes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| u8::try_from(b.as_u64().unwrap()).unwrap())
        .collect();
    assert_eq!(&bytes[..3], b"\xEF\xBB\xBF", "UTF-8 with a byte-order mark");
    let text = String::from_utf8(bytes[3..].to_vec()).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[0].starts_with("대여번호,대여자"), "{}", lines[0]);
    let of = |id: &str| {
        lines
            .iter()
            .filter(|l| l.starts_with(&format!("{id},")))
            .count()
    };
    // First rental: paid (straight to refund due), refunded. Second: paid, kept for the
    // loss, found, refunded.
    assert_eq!((of(&rental), of(&lost)), (2, 4), "{text}");
    assert!(text.contains("op@example.com"));
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with(&format!("{lost},")) && l.contains("분실 우산 회수")),
        "{text}"
    );

    // Every other console screen, as operators see them.
    for (path, text, name) in [
        ("/admin", "대여 중", "19-console-dashboard-after"),
        ("/admin/umbrellas", "우산 카페", "20-console-umbrellas"),
        ("/admin/lockers", "우산 카페", "21-console-lockers"),
        ("/admin/users", "이대여", "22-console-users"),
        ("/admin/actions", "op@example.com", "23-console-actions"),
    ] {
        b.goto(path).await;
        b.wait_text("main", text).await;
        b.shot(name).await;
    }
    assert!(
        !b.main_text().await.contains(&secret),
        "the locker secret is never shown again"
    );

    // The map page: the key is set, Kakao is out of reach, the list remains.
    b.goto("/").await;
    b.wait_text("main", "지도를 불러오지 못했습니다").await;
    b.wait_text("a.store", "우산 카페").await;
    b.shot("24-stores-map-fallback").await;
    b.c.close().await.unwrap();
}

/// Waits for the newest mail to `to` whose subject contains `subject` (at least `count`
/// of them) in the mail catcher, and returns the path and fragment of its link.
async fn mailed_link(
    catcher: &stack::MailCatcher,
    to: &str,
    subject: &str,
    count: usize,
) -> String {
    let started = std::time::Instant::now();
    loop {
        let all: Vec<serde_json::Value> = reqwest::get(format!("{}/email", catcher.web_url()))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let found: Vec<_> = all
            .iter()
            .filter(|m| {
                m["subject"].as_str().is_some_and(|s| s.contains(subject))
                    && m["to"][0]["address"].as_str() == Some(to)
            })
            .collect();
        if found.len() >= count {
            let text = found[found.len() - 1]["text"].as_str().unwrap();
            let start = text
                .find("http://upbrella.test/")
                .expect("a link to PUBLIC_URL");
            let link: String = text[start..]
                .chars()
                .take_while(|c| !c.is_whitespace())
                .collect();
            return link.trim_start_matches("http://upbrella.test").to_owned();
        }
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "no mail {subject:?} to {to}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A renter verifies the address from the mail, changes the password (the other device is
/// logged out), forgets it and resets it from the mail, and confirms the password again
/// before changing the refund account.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_renter_verifies_changes_and_resets_through_the_mail() {
    let dir = TempDir::new("upbrella-browser-account").unwrap();
    let catcher = stack::MailCatcher::start(dir.path()).unwrap();
    let smtp = catcher.smtp_url();
    let s = stack(
        &dir,
        &[
            ("MAIL_TRANSPORT", "smtp"),
            ("SMTP_URL", &smtp),
            ("MAIL_FROM", "우산대여 upbrella <no-reply@upbrella.test>"),
            ("PUBLIC_URL", "http://upbrella.test"),
            ("REAUTH_WINDOW", "3s"),
        ],
        &[],
    );
    let base = s.proxies[0].url("");
    let email = format!("mail-{}@example.com", uuid::Uuid::new_v4().simple());
    let phone = Browser::open(&dir, base.clone(), "account").await;
    phone.goto("/signup").await;
    let form = phone.wait("main form").await;
    phone
        .fill(
            &form,
            &[
                ("name", "이메일"),
                ("email", &email),
                ("password", "password123"),
                ("phone", "010-2222-3333"),
                ("agree_terms", "on"),
                ("agree_privacy", "on"),
            ],
        )
        .await;
    phone.submit(&form).await;
    phone.wait("nav button").await;
    phone.goto("/me").await;
    phone
        .wait_text("#verify-banner", "이메일 주소를 확인해 주세요")
        .await;
    phone.shot("01-unverified").await;

    let verify = mailed_link(&catcher, &email, "이메일 주소를 확인해 주세요", 1).await;
    assert!(verify.starts_with("/verify-email#t="), "{verify}");
    phone.goto(&verify).await;
    phone.wait_text("#email-verified", "확인했습니다").await;
    assert_eq!(phone.path().await, "/verify-email");
    phone.shot("02-verified").await;
    phone.goto("/me").await;
    phone.wait("#change-password form").await;
    assert!(phone.c.find(Locator::Css("#verify-banner")).await.is_err());

    // A second device, logged in with the same account.
    let laptop = Browser::open(&dir, base.clone(), "account-laptop").await;
    laptop.log_in(&email, "password123").await;
    laptop.goto("/me").await;
    laptop.wait("#change-password").await;

    let form = phone.wait("#change-password form").await;
    phone
        .fill(
            &form,
            &[
                ("current_password", "password123"),
                ("new_password", "second password 2"),
            ],
        )
        .await;
    phone.submit(&form).await;
    phone.wait_text("#password-changed", "바꿨습니다").await;
    phone.shot("03-password-changed").await;
    laptop.goto("/me").await;
    laptop.wait_text("main h1", "로그인이 필요합니다").await;
    laptop.shot("04-logged-out-elsewhere").await;
    mailed_link(&catcher, &email, "비밀번호가 바뀌었습니다", 1).await;

    // Forgotten: reset from the mail.
    phone.log_out().await;
    phone.goto("/login").await;
    phone
        .click(&phone.wait("main a[href='/forgot-password']").await)
        .await;
    let form = phone.wait("main form").await;
    phone.fill(&form, &[("email", &email)]).await;
    phone.submit(&form).await;
    phone
        .wait_text("#reset-sent", "재설정 링크를 보냈습니다")
        .await;
    phone.shot("05-reset-sent").await;
    let reset = mailed_link(&catcher, &email, "비밀번호 재설정", 1).await;
    assert!(reset.starts_with("/reset-password#t="), "{reset}");
    phone.goto(&reset).await;
    let form = phone.wait("main form").await;
    phone
        .fill(
            &form,
            &[
                ("password", "third password 3"),
                ("confirm", "third password 3"),
            ],
        )
        .await;
    phone.submit(&form).await;
    phone
        .wait_text("#password-reset", "새 비밀번호로 로그인")
        .await;
    phone.shot("06-reset-done").await;
    // The link was spent.
    phone.goto(&reset).await;
    let form = phone.wait("main form").await;
    phone
        .fill(
            &form,
            &[
                ("password", "fourth password"),
                ("confirm", "fourth password"),
            ],
        )
        .await;
    phone.submit(&form).await;
    phone
        .wait_text("main .error", "만료되었거나 이미 사용")
        .await;

    // The refund account, once the login is no longer fresh, needs the password again.
    phone.log_in(&email, "third password 3").await;
    tokio::time::sleep(Duration::from_millis(3500)).await;
    phone.goto("/me").await;
    phone.wait("#change-password form").await;
    let forms = phone.c.find_all(Locator::Css("main form")).await.unwrap();
    let mut bank_form = None;
    for f in forms {
        if f.find(Locator::Css("[name=account_number]")).await.is_ok() {
            bank_form = Some(f);
        }
    }
    let bank_form = bank_form.expect("the refund account form");
    phone
        .fill(
            &bank_form,
            &[("bank_name", "신한"), ("account_number", "110-123-456789")],
        )
        .await;
    phone.submit(&bank_form).await;
    let dialog = phone.wait("dialog#reauth form").await;
    phone.shot("07-reauth").await;
    phone
        .fill(&dialog, &[("password", "third password 3")])
        .await;
    phone.submit(&dialog).await;
    phone.wait_text("main", "신한 ***-***-**6789").await;
    phone.shot("08-account-saved").await;
}
