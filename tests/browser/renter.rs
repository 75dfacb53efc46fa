//! Renter journeys: reminders, the one-scan return, support, English, the offline shell, accessibility.

use crate::harness::*;
use fantoccini::Locator;
use serde_json::json;
use stack::seed::StoreSeed;
use stack::{Binaries, Stack, TempDir};
use std::time::Duration;
use was::domain::codes::Subject;

/// The operators' contact every page shows (footer, guide, under errors).
pub(crate) const SUPPORT: [(&str, &str); 3] = [
    ("SUPPORT_KAKAO_URL", "https://pf.kakao.com/_upbrella"),
    ("SUPPORT_PHONE", "02-123-4567"),
    ("SUPPORT_EMAIL", "help@upbrella.test"),
];

/// A region and a store (no locker) lending umbrellas `numbers`: (store id, umbrella ids).
pub(crate) fn seed_store(
    s: &Stack,
    base: &str,
    name: &str,
    numbers: std::ops::Range<i64>,
) -> (i64, Vec<i64>) {
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
pub(crate) async fn renter_with_rental(
    s: &Stack,
    base: &str,
    email: &str,
    umbrella: i64,
    store: i64,
) {
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
pub(crate) fn was_command(s: &Stack, extra: &[(&str, &str)]) -> std::process::Command {
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
pub(crate) async fn reminder_to(
    catcher: &stack::MailCatcher,
    to: &str,
) -> (String, String, String) {
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
pub(crate) fn site_link(text: &str) -> String {
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
pub(crate) fn shot_name(path: &str) -> String {
    match path.trim_matches('/') {
        "" => "home".to_owned(),
        p => p.replace('/', "-"),
    }
}

pub(crate) async fn switch_to_english(b: &Browser) {
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
        phones.push(a_phone_logged_in(&dir, &base, lang, email).await);
    }
    the_reminder_pass_runs_the_day_before(&s, &mail);

    for ((lang, email, number, _), b) in renters.iter().zip(&phones) {
        follow_the_reminder(b, &catcher, lang, email, *number).await;
        // One scan of the store's code: the return page, the saved account, one tap.
        return_with_one_scan(b, &s, lang, email, store).await;
    }
    for b in phones {
        b.c.close().await.unwrap();
    }
}

/// A phone in `lang` with `email` logged in.
async fn a_phone_logged_in(dir: &TempDir, base: &str, lang: &str, email: &str) -> Browser {
    let b = Browser::open(
        dir,
        base.to_owned(),
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
    b
}

/// Thirteen days after renting, the scheduled pass at 20:00 (Seoul) the day before the
/// due date.
fn the_reminder_pass_runs_the_day_before(s: &Stack, mail: &[(&str, &str)]) {
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
    let ran = was_command(s, mail)
        .args(["remind", "--now", &now])
        .output()
        .unwrap();
    assert!(
        ran.status.success(),
        "was remind --now {now}: {}{}",
        String::from_utf8_lossy(&ran.stdout),
        String::from_utf8_lossy(&ran.stderr)
    );
}

/// The reminder as mailed, and its link: the umbrella and the due time.
async fn follow_the_reminder(
    b: &Browser,
    catcher: &stack::MailCatcher,
    lang: &str,
    email: &str,
    number: i64,
) {
    let (id, subject, text) = reminder_to(catcher, email).await;
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
    let expected = if lang == "ko" {
        format!("우산 {number}번")
    } else {
        format!("Umbrella No. {number}")
    };
    let card = b.wait_text(".in-use", &expected).await;
    let card = card.text().await.unwrap();
    assert!(card.contains("14:05"), "due with its time: {card}");
    b.shot("1-reminder-link").await;
}

async fn return_with_one_scan(b: &Browser, s: &Stack, lang: &str, email: &str, store: i64) {
    let code = upbrella_tests::code_for(s, Subject::Store(store));
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
        if lang == "ko" {
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
    only_a_plain_click_is_the_pages(&b).await;

    b.goto("/me").await;
    b.send_form(
        "#profile form",
        &[("name", "Alex Kim"), ("phone", "+44 7911 123456")],
    )
    .await;
    b.wait_text("#profile-saved", "프로필을 저장했습니다").await;
    assert_eq!(
        s.psql("SELECT name || '|' || phone FROM users WHERE email = 'me@example.com'")
            .unwrap(),
        "Alex Kim|+447911123456"
    );

    b.tap("#reminders-toggle").await;
    b.wait_text("#reminders-saved", "받지 않습니다").await;
    b.shot("1-profile-reminders").await;

    b.send_form(
        ".report form",
        &[("kind", "파손 (고장 났어요)"), ("note", "살이 부러졌어요")],
    )
    .await;
    b.wait_text(".report .report-sent", "신고를 접수했습니다")
        .await;
    b.shot("2-reported").await;
    assert_eq!(
        s.psql("SELECT kind || '|' || note FROM rental_reports")
            .unwrap(),
        "broken|살이 부러졌어요"
    );

    b.tap_confirming("#delete-bank").await;
    b.wait_text("#bank-account", "등록된 계좌가 없습니다").await;
    b.shot("3-account-deleted").await;

    // The session lapses while the renter types: what was typed survives the login.
    a_lapsed_form_comes_back_after_login(&b).await;
    b.c.close().await.unwrap();
}

/// On the stores page, every modified click on a store's link is left to the browser; the
/// plain one opens the store in this tab with focus on its heading.
async fn only_a_plain_click_is_the_pages(b: &Browser) {
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
}

async fn a_lapsed_form_comes_back_after_login(b: &Browser) {
    let profile = b.wait("#profile form").await;
    b.fill(&profile, &[("name", "Alex Lee")]).await;
    b.log_out().await;
    b.submit(&profile).await;
    b.wait("#session-lapsed").await;
    assert_eq!(b.path().await, "/login");
    b.shot("4-session-lapsed").await;
    b.send_form(
        "main form",
        &[("email", "me@example.com"), ("password", "password123")],
    )
    .await;
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
}
