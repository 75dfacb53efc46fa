//! Operator journeys: a renter's report reaching the operators, and the statistics page
//! over a seeded month. Screenshots land in `target/browser/operator-*.png`.

use crate::harness::*;
use crate::operator::*;
use fantoccini::Locator;
use serde_json::{Value, json};
use stack::seed::StoreSeed;
use stack::{Stack, TempDir};

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
    let (from, to) = seed_a_month_of_rentals(&s, cafe.id).await;

    let b = Browser::open(&dir, base.clone(), "operator-statistics").await;
    log_in_as(
        &b,
        "op@example.com",
        "operator-pass-1",
        &format!("/admin/statistics?from={from}&to={to}&bucket=day"),
    )
    .await;
    the_month_in_totals_charts_and_per_store(&b).await;
    // Per week, the café only: the same month.
    per_week_for_the_cafe_only(&b, quiet.id).await;
    // The café's monthly report for this month, printable.
    the_monthly_report_is_mailed_to_the_cafe(&b, &s, &catcher, cafe.id, &to[..7]).await;
    // Stock: 29 of the café's umbrellas are in; a high mark of 20 makes it overflowing.
    b.goto("/admin/stock").await;
    let card = format!("article.stock[data-store-id='{}']", cafe.id);
    b.send_form(&format!("{card} form"), &[("low", "2"), ("high", "20")])
        .await;
    b.wait_text(&format!("{card} .stock-status"), "넘침").await;
    b.wait_text(&format!("{card} p"), "대여 가능 29개").await;
    b.shot("06-stock").await;
    b.assert_accessible("the stock alerts").await;
    b.c.close().await.unwrap();
}

/// Umbrella n was rented n days ago (Seoul) by month@example.com: 1..=30, so every rental
/// is in the past; 5, 10 and 15 lost, 20 still out. The month's first and last days.
async fn seed_a_month_of_rentals(s: &Stack, store: i64) -> (String, String) {
    let renter = user_id(s, "month@example.com");
    let admin = user_id(s, "op@example.com");
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
        rented = day("u.number::int", "10:00"),
        back = day("u.number::int", "12:00"),
    ))
    .unwrap();
    s.psql(&format!(
        "UPDATE umbrellas SET rentable = false WHERE store_id = {store} AND number = 20"
    ))
    .unwrap();
    s.psql("SELECT to_char((now() AT TIME ZONE 'Asia/Seoul')::date - 30, 'YYYY-MM-DD') || '|' || to_char((now() AT TIME ZONE 'Asia/Seoul')::date, 'YYYY-MM-DD')")
        .unwrap()
        .split_once('|')
        .map(|(a, b)| (a.to_owned(), b.to_owned()))
        .unwrap()
}

async fn the_month_in_totals_charts_and_per_store(b: &Browser) {
    b.wait_text("#total-rentals .value", "30").await;
    assert_eq!(text_of(b, "#total-rentals .value").await, "30");
    assert_eq!(text_of(b, "#total-returns .value").await, "26");
    assert_eq!(text_of(b, "#total-lost .value").await, "3");
    assert_eq!(
        text_of(b, "#return-rate .value").await,
        "86.7%",
        "26 of 30 back"
    );
    assert_eq!(text_of(b, "#mean-duration .value").await, "2.0시간");
    assert_eq!(text_of(b, "#median-duration .value").await, "2.0시간");
    // Each chart is an image with a title and a description, and its numbers as a table.
    for chart in ["chart-rentals", "chart-lost", "chart-overdue"] {
        let svg = b.wait(&format!("#{chart} svg[role=img]")).await;
        let labelled = svg.attr("aria-labelledby").await.unwrap().unwrap();
        for id in labelled.split(' ') {
            b.wait(&format!("#{chart} svg #{id}")).await;
        }
    }
    let rows = table_rows(b, "#chart-rentals table").await;
    let column = |i: usize| -> i64 { rows.iter().map(|r| r[i].parse::<i64>().unwrap()).sum() };
    assert_eq!((column(1), column(2)), (30, 26), "{rows:?}");
    assert_eq!(
        rows.iter().filter(|r| r[1] == "1").count(),
        30,
        "one rental a day: {rows:?}"
    );
    let lost = table_rows(b, "#chart-lost table").await;
    assert_eq!(
        lost.iter()
            .map(|r| r[1].parse::<i64>().unwrap())
            .sum::<i64>(),
        3,
        "{lost:?}"
    );
    let ageing = table_rows(b, "#chart-overdue table").await;
    let overdue: Vec<_> = ageing.iter().filter(|r| r[1] != "0").collect();
    assert_eq!(overdue.len(), 1, "{ageing:?}");
    assert!(
        overdue[0][0].starts_with('4') && overdue[0][0].contains('7'),
        "six days overdue is in 4–7 days: {ageing:?}"
    );
    assert_eq!(overdue[0][1], "1");
    let per_store = table_rows(b, "#per-store").await;
    assert!(
        per_store
            .iter()
            .any(|r| r[..4] == ["우산 카페", "30", "26", "3"]),
        "{per_store:?}"
    );
    b.shot("01-statistics-month").await;
    assert_fits_phone(b).await;
    b.tap("#chart-rentals details summary").await;
    b.shot("02-statistics-table").await;
    b.assert_accessible("the statistics page").await;
}

async fn per_week_for_the_cafe_only(b: &Browser, quiet: i64) {
    b.send_form(
        "form#statistics-form",
        &[("bucket", "주별"), ("store_id", "우산 카페")],
    )
    .await;
    b.wait_text("#statistics-scope", "우산 카페").await;
    b.wait_text("#total-rentals .value", "30").await;
    let weeks = table_rows(b, "#chart-rentals table").await;
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
            "#per-store tr[data-store-id='{quiet}']"
        )))
        .await
        .is_err()
    );
    b.shot("03-statistics-weekly").await;
}

async fn the_monthly_report_is_mailed_to_the_cafe(
    b: &Browser,
    s: &Stack,
    catcher: &stack::MailCatcher,
    cafe: i64,
    month: &str,
) {
    b.goto(&format!("/admin/stores/{cafe}/report?month={month}"))
        .await;
    let rentals_this_month: i64 = s
        .psql(&format!(
            "SELECT count(*) FROM rentals WHERE rent_store_id = {cafe} AND to_char(rented_at AT TIME ZONE 'Asia/Seoul', 'YYYY-MM') = '{month}'"
        ))
        .unwrap()
        .parse()
        .unwrap();
    b.wait_text("#report-rentals", &rentals_this_month.to_string())
        .await;
    b.shot("04-monthly-report").await;
    b.assert_accessible("the monthly report").await;
    // Sent to the café: the mail arrives with the month's figures.
    b.send_form("form#report-send-form", &[("to", "cafe@example.com")])
        .await;
    b.wait_text("#report-sent", "cafe@example.com").await;
    let mail = mail_to(catcher, "cafe@example.com", "우산 대여 보고서").await;
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
}
