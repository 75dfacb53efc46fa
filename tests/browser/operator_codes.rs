//! An operator opens a store and prints its codes; a renter rents and returns with them.

use crate::harness::*;
use crate::operator::create_admin;
use fantoccini::Locator;
use serde_json::json;
use stack::{Stack, TempDir};
use std::time::Duration;

const OP_EMAIL: &str = "op@example.com";
const OP_PASSWORD: &str = "operator-pass-1";

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
    create_admin(&s, OP_EMAIL, "김운영", OP_PASSWORD);
    let b = Browser::open(&dir, base.clone(), "journey").await;

    // --- The operator sets up a region, a store with hours, a locker and umbrellas. ---
    b.log_in(OP_EMAIL, OP_PASSWORD).await;
    b.visit("/admin", "main", "대여 중").await;
    b.shot("01-console-dashboard").await;
    add_a_region(&b).await;
    let store = add_a_store(&b).await;
    open_all_week_with_a_photo(&b, &base).await;
    let secret = add_a_locker_and_two_umbrellas(&b, &s, &store).await;
    let codes = read_the_code_sheet(&b, &s, &base, &store).await;

    // --- A renter scans the first umbrella's code, signs up with consent, rents. ---
    rent_with_the_umbrellas_code(&b, &codes.first_umbrella, &secret).await;
    let rental = resync_the_locker_and_return(&b, &s, &codes.store, &secret, &store).await;
    let lost = another_renter_rents_the_second(&s, &base, &store, &codes).await;

    // --- The operator confirms the same-day return's deposit from the dashboard, and
    // refunds it. ---
    confirm_and_refund_the_return(&b, &s, &rental).await;
    // --- The second renter paid, then lost the umbrella: closed as lost, the deposit
    // is kept. ---
    close_the_rental_as_lost(&b, &s, &lost).await;
    // --- The umbrella turns up at the café: found, owed back, the renter gives an
    // account, the operator refunds. ---
    the_lost_umbrella_is_found_and_refunded(&b, &s, &lost).await;
    // --- The books: nothing held, the day's figures, and the CSV as Excel opens it. ---
    the_books_and_their_export(&b, &rental, &lost).await;
    every_other_console_screen(&b, &secret).await;

    // The map page: the key is set, Kakao is out of reach, the list remains.
    b.visit("/", "main", "지도를 불러오지 못했습니다").await;
    b.wait_text("a.store", "우산 카페").await;
    b.shot("24-stores-map-fallback").await;
    b.c.close().await.unwrap();
}

async fn add_a_region(b: &Browser) {
    b.goto("/admin/classifications").await;
    b.send_form(
        "form#region-form",
        &[
            ("name", "신촌"),
            ("latitude", "37.5598"),
            ("longitude", "126.9425"),
        ],
    )
    .await;
    b.wait_text("main", "신촌").await;
    b.shot("02-console-regions").await;
}

/// The new store's form, sent; the store's id, from its page.
async fn add_a_store(b: &Browser) -> String {
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
    store
}

/// Open every day around the clock, a photo, then activated.
async fn open_all_week_with_a_photo(b: &Browser, base: &str) {
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
    b.send_form(
        "form#image-form",
        &[("url", &format!("{base}/img/store.svg"))],
    )
    .await;
    b.wait("main img.store-image").await;
    b.tap_confirming("button#activate").await;
    b.wait_text("main", "운영 중").await;
}

/// A locker (its secret, shown once) and umbrellas 1 and 2.
async fn add_a_locker_and_two_umbrellas(b: &Browser, s: &Stack, store: &str) -> String {
    b.send_form("form#locker-form", &[]).await;
    let secret = b.wait("#locker-secret").await.text().await.unwrap();
    let secret = secret.trim().to_owned();
    assert!(
        secret.len() == 32 && secret.bytes().all(|c| c.is_ascii_hexdigit()),
        "{secret:?}"
    );
    b.shot("04-console-locker-secret").await;

    for number in ["1", "2"] {
        b.send_form("form#umbrella-form", &[("number", number)])
            .await;
        b.wait_text("main", &format!("{number}번")).await;
    }
    b.shot("05-console-store").await;
    let in_db = s
        .psql(&format!(
            "SELECT count(*) FROM business_hours WHERE store_id = {store}"
        ))
        .unwrap();
    assert_eq!(in_db, "7", "hours for every day");
    secret
}

/// The codes of the printable sheet, as URLs.
struct Codes {
    first_umbrella: String,
    second_umbrella: String,
    store: String,
    second_umbrella_id: i64,
}

/// The printable sheet: a code per umbrella and the store's, read back off the screen.
async fn read_the_code_sheet(b: &Browser, s: &Stack, base: &str, store: &str) -> Codes {
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
    let sheet = Codes {
        first_umbrella: find(format!("{base}/rent/{}?code=", umbrella_ids[0])),
        second_umbrella: find(format!("{base}/rent/{}?code=", umbrella_ids[1])),
        store: find(format!("{base}/return/{store}?code=")),
        second_umbrella_id: umbrella_ids[1].parse().unwrap(),
    };
    assert_eq!(codes.len(), 3, "{codes:?}");
    sheet
}

async fn rent_with_the_umbrellas_code(b: &Browser, code: &str, secret: &str) {
    b.log_out().await;
    b.goto(code).await;
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
        was::domain::locker::locker_password(secret, 0).unwrap(),
        "the locker's first password"
    );
    b.shot("08-renter-rented").await;
}

/// The locker refused (its counter ran ahead to 3): the renter scans the store's code
/// (proof of standing at the locker) and types the number on its screen, then returns on
/// the same page. The rental's id.
async fn resync_the_locker_and_return(
    b: &Browser,
    s: &Stack,
    store_code: &str,
    secret: &str,
    store: &str,
) -> String {
    b.visit("/me", "#current-rental", "반납용 QR 코드").await;
    b.goto(store_code).await;
    b.send_form("#resync form", &[("counter", "3")]).await;
    b.wait_text(
        "#resync-password",
        &was::domain::locker::locker_password(secret, 3).unwrap(),
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
    rental.to_owned()
}

/// A while later (the locker gives one password a minute), another renter rents the
/// second umbrella (through the API) and loses it. That rental's id.
async fn another_renter_rents_the_second(
    s: &Stack,
    base: &str,
    store: &str,
    codes: &Codes,
) -> String {
    s.psql(&format!(
        "UPDATE lockers SET last_access = now() - interval '2 minutes' WHERE store_id = {store}"
    ))
    .unwrap();
    let api = upbrella_tests::client();
    upbrella_tests::sign_up(&api, base, "loser@example.com").await;
    let code = codes.second_umbrella.rsplit("code=").next().unwrap();
    let r = api
        .post(format!("{base}/api/rentals"))
        .json(&json!({"umbrella_id": codes.second_umbrella_id, "store_id": store.parse::<i64>().unwrap(), "code": code}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    s.psql("SELECT id FROM rentals WHERE returned_at IS NULL")
        .unwrap()
}

async fn confirm_and_refund_the_return(b: &Browser, s: &Stack, rental: &str) {
    b.log_in_again(OP_EMAIL, OP_PASSWORD).await;
    b.goto("/admin").await;
    b.tap("a.stat[href='/admin/rentals?status=unpaid']").await;
    let card = format!("[data-rental-id='{rental}']");
    b.wait_text(&format!("{card} .deposit-state"), "입금 대기")
        .await;
    b.shot("12-console-payment-queue").await;
    b.tap_confirming(&format!("{card} .deposit-confirm-payment"))
        .await;
    // Back already: the deposit is owed to the renter, and only refunding is offered.
    b.wait_text(&format!("{card} .deposit-state"), "환급 대기")
        .await;
    b.tap(&format!("{card} .show-account")).await;
    b.wait_text(&card, "110-123-456789").await;
    b.tap_confirming(&format!("{card} .deposit-refund")).await;
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
}

async fn close_the_rental_as_lost(b: &Browser, s: &Stack, lost: &str) {
    b.goto("/admin/rentals?status=open").await;
    let lost_card = format!("[data-rental-id='{lost}']");
    b.tap_confirming(&format!("{lost_card} .deposit-confirm-payment"))
        .await;
    b.wait_text(&format!("{lost_card} .deposit-state"), "입금 확인")
        .await;
    b.tap(&format!("{lost_card} .close-rental")).await;
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
    b.log_in_again("loser@example.com", "password123").await;
    b.visit("/me", "main td.deposit-label", "분실로").await;
    b.shot("15-renter-forfeited").await;
}

async fn the_lost_umbrella_is_found_and_refunded(b: &Browser, s: &Stack, lost: &str) {
    let lost_card = format!("[data-rental-id='{lost}']");
    b.log_in_again(OP_EMAIL, OP_PASSWORD).await;
    b.goto("/admin/rentals?status=forfeited").await;
    b.tap(&format!("{lost_card} .found-umbrella")).await;
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
    b.log_in_again("loser@example.com", "password123").await;
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
    b.log_in_again(OP_EMAIL, OP_PASSWORD).await;
    b.visit("/admin/deposits", "main", "환급 대기 (오래된 순)")
        .await;
    b.wait_text(&format!("tr[data-rental-id='{lost}']"), "국민")
        .await;
    b.goto("/admin/rentals?status=refund_due").await;
    b.tap_confirming(&format!("{lost_card} .deposit-refund"))
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
}

/// The deposits' CSV export as the page fetches it: its bytes, after checking its headers.
async fn export_csv(b: &Browser) -> Vec<u8> {
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
    csv["bytes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| u8::try_from(b.as_u64().unwrap()).unwrap())
        .collect()
}

async fn the_books_and_their_export(b: &Browser, rental: &str, lost: &str) {
    b.visit("/admin/deposits", "#held-amount", "0원").await;
    b.shot("18-console-deposits").await;
    let bytes = export_csv(b).await;
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
    assert_eq!((of(rental), of(lost)), (2, 4), "{text}");
    assert!(text.contains("op@example.com"));
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with(&format!("{lost},")) && l.contains("분실 우산 회수")),
        "{text}"
    );
}

/// Every other console screen, as operators see them.
async fn every_other_console_screen(b: &Browser, secret: &str) {
    for (path, text, name) in [
        ("/admin", "대여 중", "19-console-dashboard-after"),
        ("/admin/umbrellas", "우산 카페", "20-console-umbrellas"),
        ("/admin/lockers", "우산 카페", "21-console-lockers"),
        ("/admin/users", "이대여", "22-console-users"),
        ("/admin/actions", "op@example.com", "23-console-actions"),
    ] {
        b.visit(path, "main", text).await;
        b.shot(name).await;
    }
    assert!(
        !b.main_text().await.contains(secret),
        "the locker secret is never shown again"
    );
}
