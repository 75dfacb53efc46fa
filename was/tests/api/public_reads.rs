//! The public reads kept in memory by each replica: a change made through one replica,
//! or outside the API, reaches every other within a second; the writer reads its own
//! write at once; a replica whose change listener was cut answers from the database
//! until it listens again, and then keeps answers again.

use std::future::Future;
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::*;

/// Polls `check` until it gives `Some`, for at most a second: how long a change written
/// elsewhere (another replica, psql, a test's own pool) may take to reach a replica's
/// public reads. Returns what it gave and how long it took.
pub async fn within_a_second<T, F, Fut>(what: &str, mut check: F) -> (T, Duration)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let started = Instant::now();
    loop {
        if let Some(v) = check().await {
            return (v, started.elapsed());
        }
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "{what}: not seen within a second"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// `upbrella_was_public_reads_total{outcome=…}` of a replica.
async fn reads(app: &TestApp, outcome: &str) -> u64 {
    let line = format!("upbrella_was_public_reads_total{{outcome=\"{outcome}\"}} ");
    app.metrics()
        .await
        .lines()
        .find_map(|l| l.strip_prefix(&line).and_then(|v| v.parse().ok()))
        .expect("the public reads counter")
}

async fn listening(app: &TestApp) -> bool {
    app.metrics()
        .await
        .lines()
        .any(|l| l == "upbrella_was_public_reads_listening 1")
}

/// Waits (up to 5 s) until a replica's change listener is connected.
async fn wait_listening(app: &TestApp) {
    let started = Instant::now();
    while !listening(app).await {
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "the change listener never connected"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn store_page(app: &TestApp, store: i64) -> Value {
    json_ok(
        app.get(&app.client(), &format!("/api/stores/{store}"))
            .await,
        StatusCode::OK,
    )
    .await
}

/// Reads `store` until a read comes from memory, for at most a second. Not just twice:
/// a notification may still be on its way when the first read is kept (a fixture's
/// insert, or after a reconnection one PostgreSQL delivers again for changes committed
/// before the new `LISTEN`), and it rightly drops what that read kept.
async fn held_in_memory(app: &TestApp, store: i64) -> Value {
    wait_listening(app).await;
    store_page(app, store).await;
    let (page, _) = within_a_second("a store page read from memory", || async {
        let hits = reads(app, "hit").await;
        let page = store_page(app, store).await;
        (reads(app, "hit").await == hits + 1).then_some(page)
    })
    .await;
    page
}

fn today_in_seoul() -> String {
    time::OffsetDateTime::now_utc()
        .to_offset(time::UtcOffset::from_hms(9, 0, 0).expect("offset"))
        .date()
        .to_string()
}

#[tokio::test]
async fn a_change_through_one_replica_reaches_the_other_within_a_second() {
    let a = spawn_app().await;
    let b = spawn_on(&a.database_url, &a.redis_url, &[]).await;
    let f = a.store().await;
    let before = held_in_memory(&b, f.store).await;
    assert_eq!(before["open_now"], true);
    let markers = format!("/api/regions/{}/stores", f.region);
    json_ok(b.get(&b.client(), &markers).await, StatusCode::OK).await;

    // An operator closes the store for today through replica A.
    let (admin, _) = a.admin().await;
    let today = today_in_seoul();
    let closure = a
        .post(
            &admin,
            &format!("/api/admin/stores/{}/closures", f.store),
            json!({"starts_on": today, "ends_on": today, "reason": "임시 휴무"}),
        )
        .await;
    assert_eq!(closure.status(), StatusCode::CREATED);
    let (page, took) = within_a_second("the closure on replica B's store page", || async {
        let page = store_page(&b, f.store).await;
        (page["open_now"] == false).then_some(page)
    })
    .await;
    assert_eq!(page["closures"][0]["reason"], "임시 휴무");
    eprintln!("a closure made through replica A was on replica B's store page after {took:?}");
    within_a_second("the closure on replica B's map", || async {
        let m = json_ok(b.get(&b.client(), &markers).await, StatusCode::OK).await;
        (m[0]["open_now"] == false).then_some(())
    })
    .await;
}

#[tokio::test]
async fn a_rental_moves_the_count_on_every_replica() {
    let a = spawn_app().await;
    let b = spawn_on(&a.database_url, &a.redis_url, &[]).await;
    let f = a.store().await;
    let umbrella = a.umbrella(f.store).await;
    let markers = format!("/api/regions/{}/stores", f.region);
    wait_listening(&b).await;
    let count = |app: &TestApp| {
        let (c, path) = (app.client(), app.url(&markers));
        async move {
            let m: Value = c.get(path).send().await.unwrap().json().await.unwrap();
            m[0]["rentable_count"].as_i64()
        }
    };
    within_a_second("the new umbrella on replica B", || async {
        (count(&b).await == Some(1)).then_some(())
    })
    .await;
    json_ok(b.get(&b.client(), "/api/regions").await, StatusCode::OK).await;
    let (renter, _) = a.user().await;
    a.rent(&renter, umbrella, f.store).await;
    // The writer sees its own write at once.
    assert_eq!(count(&a).await, Some(0), "replica A right after the rental");
    let (_, took) = within_a_second("the rental on replica B", || async {
        (count(&b).await == Some(0)).then_some(())
    })
    .await;
    eprintln!("a rental through replica A was counted on replica B after {took:?}");
    // A rental changes counts, not the regions: those stay in memory.
    let hits = reads(&b, "hit").await;
    json_ok(b.get(&b.client(), "/api/regions").await, StatusCode::OK).await;
    assert_eq!(
        reads(&b, "hit").await,
        hits + 1,
        "the regions kept through a rental"
    );
}

#[tokio::test]
async fn a_write_outside_the_api_is_seen_within_a_second() {
    let app = spawn_app().await;
    let f = app.store().await;
    held_in_memory(&app, f.store).await;
    // As `was admin` or an operator's psql would.
    sqlx::query("UPDATE stores SET name = '비 오는 날 카페' WHERE id = $1")
        .bind(f.store)
        .execute(&app.db)
        .await
        .unwrap();
    let (_, took) = within_a_second("a name changed in the database", || async {
        (store_page(&app, f.store).await["name"] == "비 오는 날 카페").then_some(())
    })
    .await;
    eprintln!("a change written with SQL reached the replica after {took:?}");
}

#[tokio::test]
async fn a_replica_whose_listener_was_cut_misses_nothing_and_listens_again() {
    let app = spawn_app().await;
    let f = app.store().await;
    held_in_memory(&app, f.store).await;
    // Cut the listening connection, and change the store before it can be back: the
    // change's notification goes to nobody.
    let cut: i64 = sqlx::query_scalar(
        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity \
         WHERE datname = current_database() AND application_name LIKE 'upbrella-was/%/listen'",
    )
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert_eq!(cut, 1, "one listening connection per replica");
    sqlx::query("UPDATE stores SET name = '끊긴 사이' WHERE id = $1")
        .bind(f.store)
        .execute(&app.db)
        .await
        .unwrap();
    within_a_second("a change made while the listener was cut", || async {
        (store_page(&app, f.store).await["name"] == "끊긴 사이").then_some(())
    })
    .await;
    // It listens again, and keeps answers again.
    let page = held_in_memory(&app, f.store).await;
    assert_eq!(page["name"], "끊긴 사이");
}

#[tokio::test]
async fn a_store_that_does_not_exist_is_not_kept() {
    let app = spawn_app().await;
    wait_listening(&app).await;
    let c = app.client();
    for id in [987_654, 987_654, 987_655] {
        problem(
            app.get(&c, &format!("/api/stores/{id}")).await,
            StatusCode::NOT_FOUND,
        )
        .await;
    }
    assert_eq!(
        reads(&app, "hit").await,
        0,
        "a 404 is never answered from memory"
    );
}
