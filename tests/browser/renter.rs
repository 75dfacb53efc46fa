//! Renter journeys: reminders, the one-scan return, support, English, the offline shell, accessibility.

use crate::harness::*;
use fantoccini::Locator;
use serde_json::json;
use stack::seed::StoreSeed;
use stack::{Binaries, Stack, TempDir};
use std::time::Duration;
use was::domain::codes::Subject;

/// The operators' contact every page shows (footer, guide, under errors).
const SUPPORT: [(&str, &str); 3] = [
    ("SUPPORT_KAKAO_URL", "https://pf.kakao.com/_upbrella"),
    ("SUPPORT_PHONE", "02-123-4567"),
    ("SUPPORT_EMAIL", "help@upbrella.test"),
];

/// A region and a store (no locker) lending umbrellas `numbers`: (store id, umbrella ids).
fn seed_store(s: &Stack, base: &str, name: &str, numbers: std::ops::Range<i64>) -> (i64, Vec<i64>) {
    let region = s.seed_region("신촌").unwrap();
    let image = format!("{base}/img/store.svg");
    let seeded = s
        .seed_store(
            region,
            &StoreSeed {
                name,
                umbrella_location: "입구 옆",
                image_url: Some(&image),
                umbrellas: numbers,
                ..StoreSeed::default()
            },
        )
        .unwrap();
    (seeded.id, seeded.umbrellas)
}

/// Signs `email` up through the API with a saved refund account and rents `umbrella` at
/// `store` with its sticker's code.
async fn renter_with_rental(s: &Stack, base: &str, email: &str, umbrella: i64, store: i64) {
    let api = upbrella_tests::client();
    upbrella_tests::sign_up(&api, base, email).await;
    let r = api
        .put(format!("{base}/api/me/bank-account"))
        .json(&json!({"bank_name": "신한", "account_number": "110-123-456789"}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        200,
        "saving the refund account: {:?}",
        r.text().await
    );
    let code = upbrella_tests::code_for(s, Subject::Umbrella(umbrella));
    let r = api
        .post(format!("{base}/api/rentals"))
        .header("idempotency-key", uuid::Uuid::new_v4().to_string())
        .json(&json!({"umbrella_id": umbrella, "store_id": store, "code": code}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201, "renting: {:?}", r.text().await);
}

/// `was` with the stack's database, Redis and keys, as a scheduled task runs it.
fn was_command(s: &Stack, extra: &[(&str, &str)]) -> std::process::Command {
    let mut command = std::process::Command::new(&Binaries::in_target("debug").unwrap().was);
    command
        .env("DATABASE_URL", &s.database_url)
        .env("REDIS_URL", s.redis.url())
        .env("BANK_ENCRYPTION_KEY", &s.options.bank_key)
        .env("SERVER_HMAC_KEY", &s.options.server_key)
        .env("LOG_FORMAT", "json");
    for (k, v) in extra {
        command.env(k, v);
    }
    command
}

/// The newest mail to `to` that is not about verifying the address: (id, subject, text).
async fn reminder_to(catcher: &stack::MailCatcher, to: &str) -> (String, String, String) {
    let started = std::time::Instant::now();
    loop {
        let all: Vec<serde_json::Value> = reqwest::get(format!("{}/email", catcher.web_url()))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let found = all.iter().rev().find(|m| {
            m["to"][0]["address"].as_str() == Some(to)
                && !m["subject"]
                    .as_str()
                    .is_some_and(|s| s.contains("이메일 주소를 확인"))
        });
        if let Some(m) = found {
            return (
                m["id"].as_str().unwrap_or_default().to_owned(),
                m["subject"].as_str().unwrap_or_default().to_owned(),
                m["text"].as_str().unwrap_or_default().to_owned(),
            );
        }
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "no reminder to {to}; the catcher holds: {:?}",
            all.iter()
                .map(|m| (&m["to"][0]["address"], &m["subject"]))
                .collect::<Vec<_>>()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The first link to the site in a mail, as a path.
fn site_link(text: &str) -> String {
    let start = text
        .find("http://upbrella.test/")
        .unwrap_or_else(|| panic!("a link to PUBLIC_URL in {text}"));
    let link: String = text[start..]
        .chars()
        .take_while(|c| !c.is_whitespace() && !matches!(c, ')' | '>' | '"'))
        .collect();
    link.trim_start_matches("http://upbrella.test").to_owned()
}

/// A screenshot's name for a page: `home`, `stores-3`, `login`.
fn shot_name(path: &str) -> String {
    match path.trim_matches('/') {
        "" => "home".to_owned(),
        p => p.replace('/', "-"),
    }
}

async fn switch_to_english(b: &Browser) {
    b.click(&b.wait("#lang-switch").await).await;
    b.wait_text("#lang-switch", "한국어").await;
    let lang =
        b.c.execute("return document.documentElement.lang;", vec![])
            .await
            .unwrap();
    assert_eq!(lang, json!("en"));
}

/// Two renters (one reading Korean, one English) rented 13 days ago on their own phones
/// and logged in then. The scheduled reminder pass mails each the day before the due date;
/// each follows the mail's link, sees the umbrella and the due time, and returns it by
/// opening the store's QR code: no password typed, no login.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reminded_renter_returns_with_one_scan_in_korean_and_english() {
    let dir = TempDir::new("upbrella-browser-remind").unwrap();
    let catcher = stack::MailCatcher::start(dir.path()).unwrap();
    let smtp = catcher.smtp_url();
    let mail = [
        ("MAIL_TRANSPORT", "smtp"),
        ("SMTP_URL", smtp.as_str()),
        ("MAIL_FROM", "우산대여 upbrella <no-reply@upbrella.test>"),
        ("PUBLIC_URL", "http://upbrella.test"),
    ];
    let mut env = mail.to_vec();
    env.extend(SUPPORT);
    let s = stack(&dir, &env, &[]);
    let base = s.proxies[0].url("");
    let (store, umbrellas) = seed_store(&s, &base, "반납 카페", 12..14);
    let renters = [
        ("ko", "remind-ko@example.com", 12, umbrellas[0]),
        ("en", "remind-en@example.com", 13, umbrellas[1]),
    ];
    let mut phones = Vec::new();
    for (lang, email, _, umbrella) in renters {
        renter_with_rental(&s, &base, email, umbrella, store).await;
        // The day of renting: logged in on the phone, once.
        let b = Browser::open(
            &dir,
            base.clone(),
            if lang == "ko" {
                "remind-ko"
            } else {
                "remind-en"
            },
        )
        .await;
        b.goto("/").await;
        b.wait("main h1").await;
        if lang == "en" {
            switch_to_english(&b).await;
        }
        b.log_in(email, "password123").await;
        phones.push(b);
    }

    // Reminders go to verified addresses only (both followed the mail on day one).
    s.psql("UPDATE users SET email_verified_at = now() WHERE email LIKE 'remind-%'")
        .unwrap();
    // Thirteen days later: due tomorrow at 14:05 (Seoul); the pass runs at 20:00 today.
    s.psql(
        "UPDATE rentals SET rented_at = (((now() AT TIME ZONE 'Asia/Seoul')::date + 1 + time '14:05') \
         AT TIME ZONE 'Asia/Seoul') - interval '14 days' WHERE returned_at IS NULL",
    )
    .unwrap();
    let now = s
        .psql(
            "SELECT to_char((((now() AT TIME ZONE 'Asia/Seoul')::date + time '20:00') AT TIME ZONE 'Asia/Seoul') \
             AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')",
        )
        .unwrap();
    let ran = was_command(&s, &mail)
        .args(["remind", "--now", &now])
        .output()
        .unwrap();
    assert!(
        ran.status.success(),
        "was remind --now {now}: {}{}",
        String::from_utf8_lossy(&ran.stdout),
        String::from_utf8_lossy(&ran.stderr)
    );

    for ((lang, email, number, _), b) in renters.iter().zip(&phones) {
        let (id, subject, text) = reminder_to(&catcher, email).await;
        assert!(
            text.contains("14:05"),
            "the due time in {subject:?}: {text}"
        );
        assert!(subject.contains(&format!("{number}번")), "{subject}");
        // The mail as the renter reads it.
        b.goto(&format!("{}/email/{id}/html", catcher.web_url()))
            .await;
        b.wait("body").await;
        b.shot("0-reminder-mail").await;
        let path = site_link(&text);
        b.goto(&path).await;
        let expected = if *lang == "ko" {
            format!("우산 {number}번")
        } else {
            format!("Umbrella No. {number}")
        };
        let card = b.wait_text(".in-use", &expected).await;
        let card = card.text().await.unwrap();
        assert!(card.contains("14:05"), "due with its time: {card}");
        b.shot("1-reminder-link").await;

        // One scan of the store's code: the return page, the saved account, one tap.
        let code = upbrella_tests::code_for(&s, Subject::Store(store));
        b.goto(&format!("/return/{store}?code={code}")).await;
        let form = b.wait("main > form").await;
        b.wait("#saved-account").await;
        assert!(
            b.c.find(Locator::Css("input[type=password]"))
                .await
                .is_err(),
            "no password asked"
        );
        assert_eq!(b.path().await, format!("/return/{store}"));
        b.shot("2-return").await;
        b.submit(&form).await;
        b.wait_text(
            "main h1",
            if *lang == "ko" {
                "반납 완료"
            } else {
                "Returned"
            },
        )
        .await;
        b.shot("3-returned").await;
        let returned = s
            .psql(&format!(
                "SELECT r.return_store_id FROM rentals r JOIN users u ON u.id = r.user_id WHERE u.email = '{email}'"
            ))
            .unwrap();
        assert_eq!(returned, store.to_string());
        // The contact the service configured, in the footer.
        let foot = b.wait_text("#foot .support", "02-123-4567").await;
        assert!(foot.text().await.unwrap().contains("help@upbrella.test"));
    }
    for b in phones {
        b.c.close().await.unwrap();
    }
}

/// A renter who saw the rental once opens the site with no connection (and again with the
/// service out of reach): the cached shell says so in words and still shows which
/// umbrella is out and when it is due. A load balancer's HTML error page reads as words
/// too, never as a JSON parser's complaint.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_offline_shell_still_shows_the_rental_and_its_due_date() {
    let dir = TempDir::new("upbrella-browser-offline").unwrap();
    let mut s = stack(&dir, &SUPPORT, &[]);
    let base = s.proxies[0].url("");
    let (store, umbrellas) = seed_store(&s, &base, "오프라인 카페", 21..22);
    renter_with_rental(&s, &base, "offline@example.com", umbrellas[0], store).await;
    let due = s
        .psql(
            "SELECT to_char((rented_at + interval '14 days') AT TIME ZONE 'Asia/Seoul', 'FMMM\"월\" FMDD\"일\"|HH24:MI') FROM rentals",
        )
        .unwrap();
    let (due_day, due_time) = due.split_once('|').unwrap();
    let b = Browser::open(&dir, base.clone(), "offline").await;
    b.log_in("offline@example.com", "password123").await;
    b.goto("/").await;
    // Rented today: said so, not "0일째".
    let card = b
        .wait_text("#in-use", "오늘 빌림")
        .await
        .text()
        .await
        .unwrap();
    assert!(!card.contains("0일째"), "{card}");
    assert!(card.contains(due_day) && card.contains(due_time), "{card}");
    b.wait_service_worker().await;
    b.shot("1-online").await;

    // No signal.
    b.set_offline(true).await;
    b.c.refresh().await.unwrap();
    let saved = b.wait_text("#offline-rental", "우산 21번").await;
    let saved = saved.text().await.unwrap();
    assert!(
        saved.contains(due_day) && saved.contains(due_time),
        "{saved}"
    );
    b.wait_text("main .error", "인터넷 연결을 확인해 주세요")
        .await;
    assert!(
        b.c.find(Locator::Css("main button.retry")).await.is_ok(),
        "a retry button"
    );
    b.shot("2-offline").await;

    // In English too.
    switch_to_english(&b).await;
    b.wait_text("#offline-rental", "Umbrella No. 21").await;
    b.wait_text("#offline-rental", due_time).await;
    b.wait_text("main .error", "You're offline").await;
    b.shot("3-offline-en").await;
    b.set_offline(false).await;

    // The site itself out of reach (web-proxy gone): the same shell, the same rental.
    s.proxies[0].kill();
    b.c.refresh().await.unwrap();
    b.wait_text("#offline-rental", "Umbrella No. 21").await;
    b.wait_text("#offline-rental", due_time).await;
    b.shot("4-unreachable").await;
    s.proxies[0].start().unwrap();

    // A gateway's HTML error page (502, 504): words, with a retry, never `SyntaxError`.
    b.c.refresh().await.unwrap();
    b.wait("#in-use").await;
    let message =
        b.c.execute(
            "return import('/ui.js').then(async (ui) => {
               const real = window.fetch;
               window.fetch = async () => new Response('<html><body>502 Bad Gateway</body></html>',
                 {status: 502, headers: {'content-type': 'text/html'}});
               try { await ui.api('GET', '/me'); return ['no error']; }
               catch (e) { return [e.message, e.kind, e.retryable]; }
               finally { window.fetch = real; }
             });",
            vec![],
        )
        .await
        .unwrap();
    let text = message[0].as_str().unwrap_or_default();
    assert!(
        !text.contains("SyntaxError") && !text.contains("Unexpected token"),
        "{message}"
    );
    assert!(text.contains("502"), "{message}");
    assert_eq!(
        (message[1].clone(), message[2].clone()),
        (json!("gateway"), json!(true))
    );
    b.c.close().await.unwrap();
}

/// The pages a renter sees pass axe-core's WCAG 2.2 A/AA rules with no violation, in
/// Korean and in English; the umbrella named by a QR code is shown before logging in and
/// Kakao comes first; the English choice survives a reload.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn renter_pages_pass_the_accessibility_check_in_korean_and_english() {
    // Fail fast and say how to install, before starting anything.
    axe_source();
    let dir = TempDir::new("upbrella-browser-a11y").unwrap();
    let s = stack(&dir, &SUPPORT, &[]);
    let base = s.proxies[0].url("");
    let (store, umbrellas) = seed_store(&s, &base, "접근성 카페", 31..33);
    renter_with_rental(&s, &base, "a11y@example.com", umbrellas[0], store).await;
    // A store as it is: a bar's night past midnight, a 24-hour day, a break time, closed
    // the rest of the week, a holiday ahead, its own words on the hours, contact, Instagram.
    s.psql(&format!(
        "DELETE FROM business_hours WHERE store_id = {store};
         INSERT INTO business_hours (store_id, weekday, open_at, close_at) VALUES
           ({store}, 1, '11:00', '02:00'), ({store}, 2, '00:00', '00:00'),
           ({store}, 3, '09:00', '12:00'), ({store}, 3, '13:00', '18:00');
         INSERT INTO store_closures (store_id, starts_on, ends_on, reason)
           VALUES ({store}, '2999-02-16', '2999-02-18', '설 연휴');
         UPDATE stores SET working_hours = '라스트 오더 01:30', contact = '02-333-4444',
           instagram_url = 'https://www.instagram.com/upbrella' WHERE id = {store};"
    ))
    .unwrap();
    let b = Browser::open(&dir, base.clone(), "a11y").await;

    for lang in ["ko", "en"] {
        b.log_out().await;
        b.goto("/").await;
        b.wait("a.store").await;
        if lang == "en" {
            switch_to_english(&b).await;
            // (d) The choice persists across a reload.
            b.c.refresh().await.unwrap();
            b.wait_text("main h1", "Umbrella stores nearby").await;
            b.wait_text("#lang-switch", "한국어").await;
            b.shot("en-persists").await;
        }
        let ko = lang == "ko";

        // The QR code of umbrella 32, before logging in: which umbrella, and Kakao first.
        let code = upbrella_tests::code_for(&s, Subject::Umbrella(umbrellas[1]));
        b.goto(&format!("/rent/{}?code={code}", umbrellas[1])).await;
        b.wait_text(
            "#login-context",
            if ko {
                "우산 32번을 빌리려면 로그인하세요"
            } else {
                "umbrella No. 32"
            },
        )
        .await;
        b.assert_accessible(&format!("{lang} need-login")).await;
        b.shot(&format!("{lang}-need-login")).await;
        b.click(&b.wait("main a[href^='/login']").await).await;
        b.wait_text("#login-context", if ko { "우산 32번" } else { "No. 32" })
            .await;
        let kakao_first = b
            .c
            .execute(
                "const k = document.querySelector('main .kakao-login'), f = document.querySelector('main form');
                 return !!k && !!f && !!(k.compareDocumentPosition(f) & Node.DOCUMENT_POSITION_FOLLOWING)
                   && k.getAttribute('href').includes(encodeURIComponent('/rent/'));",
                vec![],
            )
            .await
            .unwrap();
        assert_eq!(
            kakao_first,
            json!(true),
            "Kakao first, keeping where to go next"
        );
        b.shot(&format!("{lang}-login-context")).await;

        let store_path = format!("/stores/{store}");
        let pages: [(&str, &str, &str); 4] = [
            (
                "/",
                "a.store",
                if ko {
                    "가까운 우산 대여소"
                } else {
                    "Umbrella stores nearby"
                },
            ),
            (&store_path, "#how-to-return", "접근성 카페"),
            ("/login", "main form", if ko { "로그인" } else { "Log in" }),
            (
                "/signup",
                "main form",
                if ko { "회원가입" } else { "Sign up" },
            ),
        ];
        for (path, ready, title) in pages {
            b.goto(path).await;
            b.wait(ready).await;
            b.wait_text("main h1", title).await;
            if path == store_path {
                let hours = b.wait("main table.hours").await.text().await.unwrap();
                for expected in if ko {
                    [
                        "월요일 11:00–02:00 (다음 날)",
                        "화요일 24시간",
                        "수요일 09:00–12:00, 13:00–18:00",
                        "목요일 휴무",
                    ]
                } else {
                    [
                        "Mon 11:00–02:00 (next day)",
                        "Tue 24 hours",
                        "Wed 09:00–12:00, 13:00–18:00",
                        "Thu Closed",
                    ]
                } {
                    assert!(hours.contains(expected), "{expected:?} in {hours}");
                }
                let main = b.main_text().await;
                for expected in [
                    "라스트 오더 01:30",
                    "설 연휴",
                    "02-333-4444",
                    if ko { "인스타그램" } else { "Instagram" },
                    if ko { "보관함 없음" } else { "No locker" },
                ] {
                    assert!(
                        main.contains(expected),
                        "{expected:?} on the store page: {main}"
                    );
                }
            }
            b.wait_text("#foot .support", "02-123-4567").await;
            b.assert_accessible(&format!("{lang} {path}")).await;
            b.shot(&format!("{lang}-{}", shot_name(path))).await;
        }
        let title = b.c.title().await.unwrap();
        assert!(
            title.starts_with(if ko { "회원가입" } else { "Sign up" }),
            "{title}"
        );

        b.log_in("a11y@example.com", "password123").await;
        // The pages a QR code opens, logged in: the rent page (of a second umbrella) and
        // the return page with the saved account.
        let rent_path = format!("/rent/{}?code={code}", umbrellas[1]);
        let store_code = upbrella_tests::code_for(&s, Subject::Store(store));
        let return_path = format!("/return/{store}?code={store_code}");
        for (path, ready, name) in [
            (&rent_path, "#deposit", "rent"),
            (&return_path, "#saved-account", "return"),
        ] {
            b.goto(path).await;
            b.wait(ready).await;
            b.assert_accessible(&format!("{lang} {name} page")).await;
            b.shot(&format!("{lang}-{name}")).await;
        }
        let logged_in: [(&str, &str, &str); 3] = [
            ("/", "#in-use", if ko { "이용 중" } else { "In use" }),
            (
                "/me",
                "#current-rental",
                if ko {
                    "우산 31번"
                } else {
                    "Umbrella No. 31"
                },
            ),
            ("/guide", "main h1", if ko { "이용안내" } else { "Guide" }),
        ];
        for (path, ready, text) in logged_in {
            b.goto(path).await;
            b.wait_text(ready, text).await;
            if path == "/guide" {
                b.wait_text("main .guide-support", "help@upbrella.test")
                    .await;
            }
            b.assert_accessible(&format!("{lang} {path} (logged in)"))
                .await;
            b.shot(&format!("{lang}-{}-logged-in", shot_name(path)))
                .await;
        }
    }
    b.c.close().await.unwrap();
}

/// A renter edits the profile (an international number), turns reminders off, reports the
/// umbrella broken and deletes the saved refund account; a form sent after the session
/// lapsed comes back filled after logging in again. Real links: a Ctrl-click opens a new
/// tab and leaves this page alone; a plain click moves focus to the new page's heading.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_renter_manages_the_account_and_a_lapsed_form_survives_login() {
    let dir = TempDir::new("upbrella-browser-me").unwrap();
    let s = stack(&dir, &SUPPORT, &[]);
    let base = s.proxies[0].url("");
    let (store, umbrellas) = seed_store(&s, &base, "내정보 카페", 41..42);
    renter_with_rental(&s, &base, "me@example.com", umbrellas[0], store).await;
    let b = Browser::open(&dir, base.clone(), "me").await;
    b.log_in("me@example.com", "password123").await;

    // Real links: a Ctrl/⌘/Shift or middle click is the browser's (a new tab), so the
    // page must not take it; a plain click is the page's.
    b.goto("/").await;
    let link = b.wait("a.store").await;
    let taken = b
        .c
        .execute(
            "const a = arguments[0], seen = [];
             const spy = (e) => { seen.push(e.defaultPrevented); e.preventDefault(); };
             window.addEventListener('click', spy);
             for (const init of [{ctrlKey: true}, {metaKey: true}, {shiftKey: true}, {button: 1}, {}]) {
               a.dispatchEvent(new MouseEvent('click', {bubbles: true, cancelable: true, ...init}));
             }
             window.removeEventListener('click', spy);
             return seen;",
            vec![serde_json::to_value(&link).unwrap()],
        )
        .await
        .unwrap();
    assert_eq!(
        taken,
        json!([false, false, false, false, true]),
        "only the plain click is taken by the page"
    );
    // The plain click moved to the store's page in this tab.
    b.wait_text("main h1", "내정보 카페").await;
    let focused =
        b.c.execute(
            "return document.activeElement.tagName + '|' + document.title;",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(
        focused.as_str().unwrap().split('|').next(),
        Some("H1"),
        "focus on the heading: {focused}"
    );
    assert!(
        focused
            .as_str()
            .unwrap()
            .contains("|내정보 카페 · 업브렐라"),
        "{focused}"
    );

    b.goto("/me").await;
    let profile = b.wait("#profile form").await;
    b.fill(
        &profile,
        &[("name", "Alex Kim"), ("phone", "+44 7911 123456")],
    )
    .await;
    b.submit(&profile).await;
    b.wait_text("#profile-saved", "프로필을 저장했습니다").await;
    assert_eq!(
        s.psql("SELECT name || '|' || phone FROM users WHERE email = 'me@example.com'")
            .unwrap(),
        "Alex Kim|+447911123456"
    );

    let reminders = b.wait("#reminders-toggle").await;
    b.click(&reminders).await;
    b.wait_text("#reminders-saved", "받지 않습니다").await;
    b.shot("1-profile-reminders").await;

    let report = b.wait(".report form").await;
    b.fill(
        &report,
        &[("kind", "파손 (고장 났어요)"), ("note", "살이 부러졌어요")],
    )
    .await;
    b.submit(&report).await;
    b.wait_text(".report .report-sent", "신고를 접수했습니다")
        .await;
    b.shot("2-reported").await;
    assert_eq!(
        s.psql("SELECT kind || '|' || note FROM rental_reports")
            .unwrap(),
        "broken|살이 부러졌어요"
    );

    b.click_confirming(&b.wait("#delete-bank").await).await;
    b.wait_text("#bank-account", "등록된 계좌가 없습니다").await;
    b.shot("3-account-deleted").await;

    // The session lapses while the renter types: what was typed survives the login.
    let profile = b.wait("#profile form").await;
    b.fill(&profile, &[("name", "Alex Lee")]).await;
    b.log_out().await;
    b.submit(&profile).await;
    b.wait("#session-lapsed").await;
    assert_eq!(b.path().await, "/login");
    b.shot("4-session-lapsed").await;
    let login = b.wait("main form").await;
    b.fill(
        &login,
        &[("email", "me@example.com"), ("password", "password123")],
    )
    .await;
    b.submit(&login).await;
    b.wait(".resumed").await;
    assert_eq!(b.path().await, "/me");
    let name = b
        .wait("#profile form [name=name]")
        .await
        .prop("value")
        .await
        .unwrap();
    assert_eq!(name.as_deref(), Some("Alex Lee"));
    let stored =
        b.c.execute("return sessionStorage.getItem('upbrella.resume');", vec![])
            .await
            .unwrap();
    assert_eq!(stored, serde_json::Value::Null, "forgotten once restored");
    b.shot("5-restored").await;
    b.c.close().await.unwrap();
}
