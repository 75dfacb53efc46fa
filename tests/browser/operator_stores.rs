//! Operator journeys about stores as they are: hours past midnight, adding a store by its
//! address (Kakao's Local API stood in for), and a photo from the phone's camera.
//! Screenshots land in `target/browser/operator-*.png`.

use crate::harness::*;
use crate::operator::*;
use fantoccini::Locator;
use serde_json::{Value, json};
use stack::seed::StoreSeed;
use stack::{Stack, TempDir};
use std::time::Duration;

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
    let week = Week::around_now_in_seoul(&s).await;

    let b = Browser::open(&dir, base.clone(), "operator-overnight").await;
    log_in_as(
        &b,
        "op@example.com",
        "operator-pass-1",
        &format!("/admin/stores/{}", bar.id),
    )
    .await;
    fill_in_a_bars_week(&b, &week).await;
    the_hours_are_stored_as_intervals(&s, bar.id, &week);
    // A holiday next month: listed, and kept apart from today.
    add_a_holiday_next_month(&b, &s).await;
    // A photo from the phone: this stack has no bucket, so the console says so and keeps
    // the field for the photo's address.
    a_photo_without_a_bucket_asks_for_its_address(&b, &dir).await;

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

/// The bar's week, shaped around the time in Seoul (ISO weekdays, 1 = Monday).
struct Week {
    today: u32,
    yesterday: u32,
    tomorrow: u32,
    before_yesterday: u32,
    /// Yesterday's interval, which runs past midnight into now.
    open: String,
    close: String,
}

impl Week {
    async fn around_now_in_seoul(s: &Stack) -> Self {
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
        Self {
            today,
            yesterday,
            tomorrow: next(today),
            before_yesterday: if yesterday == 1 { 7 } else { yesterday - 1 },
            open,
            close,
        }
    }
}

/// The hours form: today closed, yesterday past midnight, tomorrow 24 hours, a break the
/// day before yesterday, 11:00–02:00 otherwise; checked and saved.
async fn fill_in_a_bars_week(b: &Browser, w: &Week) {
    let hours = b.wait("form#hours-form").await;
    for day in 1..=7u32 {
        let (on, o, c) = if day == w.today {
            ("off", "11:00", "02:00")
        } else if day == w.yesterday {
            ("on", w.open.as_str(), w.close.as_str())
        } else if day == w.before_yesterday {
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
    b.fill(&hours, &[(&format!("allday_{}", w.tomorrow), "on")])
        .await;
    // The day before yesterday has a break: 11:00–15:00, then 17:00–23:00.
    let before_yesterday = w.before_yesterday;
    b.tap(&format!(
        "fieldset[data-weekday='{before_yesterday}'] button.add-interval"
    ))
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
        &format!("fieldset[data-weekday='{}'] .next-day", w.yesterday),
        "다음 날",
    )
    .await;
    b.c.execute(
        "document.querySelector(arguments[0]).scrollIntoView({block: 'center'});",
        vec![json!(format!("fieldset[data-weekday='{}']", w.yesterday))],
    )
    .await
    .unwrap();
    b.shot("01-hours-overnight").await;
    b.assert_accessible("an admin's store page").await;
    assert_fits_phone(b).await;
    b.submit(&hours).await;
    b.wait_text("main", "영업 시간을 저장했습니다").await;
}

fn the_hours_are_stored_as_intervals(s: &Stack, bar: i64, w: &Week) {
    let Week {
        today,
        yesterday,
        tomorrow,
        before_yesterday,
        ..
    } = w;
    let stored = s
        .psql(&format!(
            "SELECT to_char(open_at, 'HH24:MI') || '-' || to_char(close_at, 'HH24:MI') FROM business_hours WHERE store_id = {bar} AND weekday = {yesterday}"
        ))
        .unwrap();
    assert_eq!(stored, format!("{}-{}", w.open, w.close));
    assert_eq!(
        s.psql(&format!(
            "SELECT string_agg(to_char(open_at, 'HH24:MI') || '-' || to_char(close_at, 'HH24:MI'), ',' ORDER BY open_at) FROM business_hours WHERE store_id = {bar} AND weekday = {before_yesterday}"
        ))
        .unwrap(),
        "11:00-15:00,17:00-23:00",
        "a break time is two intervals"
    );
    assert_eq!(
        s.psql(&format!(
            "SELECT to_char(open_at, 'HH24:MI') || '-' || to_char(close_at, 'HH24:MI') FROM business_hours WHERE store_id = {bar} AND weekday = {tomorrow}"
        ))
        .unwrap(),
        "00:00-00:00",
        "24 hours"
    );
    assert_eq!(
        s.psql(&format!(
            "SELECT count(*) FROM business_hours WHERE store_id = {bar} AND weekday = {today}"
        ))
        .unwrap(),
        "0",
        "today is closed: only yesterday's interval can open the store now"
    );
}

async fn add_a_holiday_next_month(b: &Browser, s: &Stack) {
    let closure = b.wait("form#closure-form").await;
    let next_month = s
        .psql("SELECT to_char((now() AT TIME ZONE 'Asia/Seoul')::date + 40, 'YYYY-MM-DD')")
        .unwrap();
    set_value(b, "form#closure-form input[name=starts_on]", &next_month).await;
    set_value(b, "form#closure-form input[name=ends_on]", &next_month).await;
    b.fill(&closure, &[("reason", "설 연휴")]).await;
    b.submit(&closure).await;
    b.wait_text("#closures table", "설 연휴").await;
    b.shot("02-closures").await;
}

async fn a_photo_without_a_bucket_asks_for_its_address(b: &Browser, dir: &TempDir) {
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
    let png_bytes = blue_png();
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

/// A small blue picture (64×48), as a PNG.
fn blue_png() -> Vec<u8> {
    let mut png_bytes = Vec::new();
    let mut encoder = png::Encoder::new(&mut png_bytes, 64, 48);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header().unwrap();
    let pixels: Vec<u8> = (0..64 * 48).flat_map(|_| [47u8, 111, 237]).collect();
    writer.write_image_data(&pixels).unwrap();
    writer.finish().unwrap();
    png_bytes
}
