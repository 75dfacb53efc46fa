//! The web page in a real browser (headless Chromium through chromedriver, a phone-sized
//! window) against the real stack: web-proxy serving the page and forwarding to a WAS,
//! PostgreSQL and Redis. Chromium resolves no name but loopback, so nothing leaves the
//! machine. Screenshots of every screen land in `target/browser/`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod account;
mod deploy;
mod harness;
mod operator;
mod operator_codes;
mod operator_stats;
mod operator_stores;
mod renter;
mod renter_shell;

use fantoccini::Locator;
use harness::*;
use stack::seed::StoreSeed;
use stack::{Stack, TempDir};

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
    find_the_store_in_the_list(&b, store).await;
    // A sticker of the original service opens /rent/form/{id}; a visitor signs up on
    // the way.
    b.goto(&format!("/rent/form/{umbrella}")).await;
    b.sign_up_on_the_way("김우산", "browser@example.com", "010-2222-3333")
        .await;
    b.shot("3-signup").await;
    b.submit(&b.wait("main form").await).await;
    rent_reporting_the_condition(&b).await;
    the_rental_is_on_my_page(&b, &s).await;
    return_at_a_legacy_return_sticker(&b, &s, store).await;

    // The pages anyone can read.
    for (path, title, name) in [
        ("/stores", "협력 매장 소개", "8-introductions"),
        ("/guide", "이용안내", "9-guide"),
        ("/terms", "이용약관", "10-terms"),
        ("/privacy", "개인정보 처리방침", "11-privacy"),
    ] {
        b.visit(path, "main h1", title).await;
        b.shot(name).await;
    }
    assert!(b.main_text().await.contains("계좌번호"));
    b.c.close().await.unwrap();
}

async fn find_the_store_in_the_list(b: &Browser, store: i64) {
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
}

/// Back on the rent page, logged in: a note on the umbrella's condition, rented; the
/// transfer reference and the locker's password.
async fn rent_reporting_the_condition(b: &Browser) {
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
}

/// My page shows the rental; the database agrees.
async fn the_rental_is_on_my_page(b: &Browser, s: &Stack) {
    b.goto("/me").await;
    let current = b.wait("#current-rental").await;
    assert!(current.text().await.unwrap().contains("우산 77번"));
    b.shot("6-me").await;
    let open = s.psql("SELECT count(*) FROM rentals r JOIN users u ON u.id = r.user_id WHERE u.email = 'browser@example.com' AND r.returned_at IS NULL").unwrap();
    assert_eq!(open, "1");
    let agreed = s.psql("SELECT terms_agreed_at IS NOT NULL AND privacy_agreed_at IS NOT NULL FROM users WHERE email = 'browser@example.com'").unwrap();
    assert_eq!(agreed, "t", "the agreements given at sign-up are recorded");
}

/// The original service's return sticker at a store with a locker:
/// /return/form?storeId=…&salt=…&signature=….
async fn return_at_a_legacy_return_sticker(b: &Browser, s: &Stack, store: i64) {
    let salt = "c2FsdC0x";
    let signature = was::domain::locker::signature("00112233445566778899aabbccddeeff", salt);
    b.goto(&format!(
        "/return/form?storeId={store}&salt={salt}&signature={signature}"
    ))
    .await;
    b.send_form(
        "main form",
        &[("bank_name", "신한"), ("account_number", "110-123-456789")],
    )
    .await;
    b.wait_text("main h1", "반납 완료").await;
    b.shot("7-returned").await;
    let back = s
        .psql("SELECT return_store_id FROM rentals r JOIN users u ON u.id = r.user_id WHERE u.email = 'browser@example.com'")
        .unwrap();
    assert_eq!(back, store.to_string());
}
