//! Renter journeys about the shell itself: offline (the cached shell still shows the
//! rental) and the accessibility pass over every renter page in Korean and English.

use crate::harness::*;
use crate::renter::*;
use fantoccini::Locator;
use serde_json::json;
use stack::TempDir;
use was::domain::codes::Subject;

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
        // The QR code of umbrella 32, before logging in: which umbrella, and Kakao first.
        let code = upbrella_tests::code_for(&s, Subject::Umbrella(umbrellas[1]));
        let rent_path = format!("/rent/{}?code={code}", umbrellas[1]);
        a_qr_code_names_the_umbrella_before_login(&b, lang, &rent_path).await;
        the_public_pages_pass(&b, lang, store).await;

        b.log_in("a11y@example.com", "password123").await;
        // The pages a QR code opens, logged in: the rent page (of a second umbrella) and
        // the return page with the saved account.
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
        the_logged_in_pages_pass(&b, lang).await;
    }
    b.c.close().await.unwrap();
}

/// The rent page of a QR code, logged out: which umbrella, then the login page with the
/// same context and Kakao first.
async fn a_qr_code_names_the_umbrella_before_login(b: &Browser, lang: &str, rent_path: &str) {
    let ko = lang == "ko";
    b.goto(rent_path).await;
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
    b.tap("main a[href^='/login']").await;
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
}

/// The pages anyone reads: the stores, a store (its hours as set), login and sign-up.
async fn the_public_pages_pass(b: &Browser, lang: &str, store: i64) {
    let ko = lang == "ko";
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
            the_store_page_reads_as_set(b, ko).await;
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
}

async fn the_store_page_reads_as_set(b: &Browser, ko: bool) {
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

async fn the_logged_in_pages_pass(b: &Browser, lang: &str) {
    let ko = lang == "ko";
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
        b.visit(path, ready, text).await;
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
