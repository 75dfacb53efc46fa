//! The web page in a real browser (headless Chromium through chromedriver, a phone-sized
//! window) against the real stack: web-proxy serving the page and forwarding to a WAS,
//! PostgreSQL and Redis. Chromium resolves no name but loopback, so nothing leaves the
//! machine. Screenshots of every screen land in `target/browser/`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;
use std::time::Duration;

use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;
use stack::process::{Process, Spec};
use stack::seed::StoreSeed;
use stack::{Binaries, Options, Stack, TempDir};

fn chrome() -> (PathBuf, PathBuf) {
    // A test runs or fails: scripts/test.sh installs both.
    let chromium = ["chromium", "chromium-browser", "google-chrome"]
        .iter()
        .find_map(|n| stack::find_program(n, None, &[]));
    let driver = stack::find_program("chromedriver", None, &[PathBuf::from("/usr/lib/chromium")]);
    chromium.zip(driver).expect(
        "chromium and chromedriver are needed (Debian: apt-get install chromium chromium-driver; scripts/test.sh does)",
    )
}

/// The real stack with the web front-end, one WAS.
fn stack(dir: &TempDir, was_env: &[(&str, &str)], proxy_env: &[(&str, &str)]) -> Stack {
    let mut options = Options::new(dir.path().to_path_buf());
    options.static_dir = Some(stack::topology::workspace_root().join("web"));
    options.was_replicas = 1;
    let owned = |pairs: &[(&str, &str)]| {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect::<Vec<_>>()
    };
    options.was_env.extend(owned(was_env));
    options.proxy_env.extend(owned(proxy_env));
    Stack::start(&Binaries::in_target("debug").unwrap(), options).unwrap()
}

/// The window of a large phone.
const PHONE: (u32, u32) = (412, 915);

/// One browser: a chromedriver, a Chromium session on a phone-sized window, and where its
/// screenshots go (`target/browser/{prefix}-{name}.png`).
struct Browser {
    c: Client,
    base: String,
    shots: PathBuf,
    prefix: &'static str,
    _driver: Process,
}

impl Browser {
    async fn open(dir: &TempDir, base: String, prefix: &'static str) -> Self {
        let (chromium, driver) = chrome();
        let port = stack::free_port().unwrap();
        let driver = Process::spawn(
            Spec::new("chromedriver", &driver)
                .arg(format!("--port={port}"))
                .log(dir.path().join(format!("chromedriver-{prefix}.log"))),
        )
        .unwrap();
        stack::wait_http_ok(
            format!("127.0.0.1:{port}").parse().unwrap(),
            "/status",
            Duration::from_secs(15),
        )
        .unwrap();
        let profile = dir.path().join(format!("chrome-{prefix}"));
        let mut caps = serde_json::Map::new();
        caps.insert(
            "goog:chromeOptions".into(),
            json!({"binary": chromium, "args": [
                "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync", "--window-size=420,900",
                // Every name but loopback fails to resolve: nothing leaves the machine.
                "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
                format!("--user-data-dir={}", profile.display())
            ]}),
        );
        let c = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(caps)
            .connect(&format!("http://127.0.0.1:{port}"))
            .await
            .expect("chromedriver session");
        // A phone's width (412 CSS pixels); the command line cannot go below 500.
        c.set_window_size(PHONE.0, PHONE.1).await.unwrap();
        let shots = stack::topology::workspace_root()
            .join("target")
            .join("browser");
        std::fs::create_dir_all(&shots).unwrap();
        Self {
            c,
            base,
            shots,
            prefix,
            _driver: driver,
        }
    }

    async fn shot(&self, name: &str) {
        let png = self.c.screenshot().await.unwrap();
        std::fs::write(self.shots.join(format!("{}-{name}.png", self.prefix)), png).unwrap();
    }

    async fn goto(&self, path: &str) {
        let url = if path.starts_with("http") {
            path.to_owned()
        } else {
            format!("{}{path}", self.base)
        };
        self.c.goto(&url).await.unwrap();
    }

    async fn path(&self) -> String {
        self.c.current_url().await.unwrap().path().to_owned()
    }

    async fn wait(&self, css: &str) -> Element {
        self.c
            .wait()
            .at_most(Duration::from_secs(10))
            .for_element(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("{css}: {e}"))
    }

    /// Waits until the element's text contains `text` (pages re-render in place).
    async fn wait_text(&self, css: &str, text: &str) -> Element {
        let started = std::time::Instant::now();
        loop {
            if let Ok(e) = self.c.find(Locator::Css(css)).await
                && e.text().await.is_ok_and(|t| t.contains(text))
            {
                return e;
            }
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "{css} never read {text:?}; the page: {}",
                self.main_text().await
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn main_text(&self) -> String {
        match self.c.find(Locator::Css("main")).await {
            Ok(main) => main.text().await.unwrap_or_default(),
            Err(e) => e.to_string(),
        }
    }

    /// Clicks the element in the middle of the window (the sticky header covers the top).
    async fn click(&self, element: &Element) {
        self.c
            .execute(
                "arguments[0].scrollIntoView({block: 'center'});",
                vec![serde_json::to_value(element).unwrap()],
            )
            .await
            .unwrap();
        element.click().await.unwrap();
    }

    /// Types into (or ticks, or selects in) the named fields of `form`.
    async fn fill(&self, form: &Element, fields: &[(&str, &str)]) {
        for (name, value) in fields {
            let field = form
                .find(Locator::Css(&format!("[name={name}]")))
                .await
                .unwrap_or_else(|e| panic!("field {name}: {e}"));
            let tag = field.tag_name().await.unwrap();
            let kind = field.attr("type").await.unwrap().unwrap_or_default();
            if tag == "select" {
                field.select_by_label(value).await.unwrap();
            } else if kind == "checkbox" {
                let checked = field.prop("checked").await.unwrap().as_deref() == Some("true");
                if checked != (*value == "on") {
                    self.click(&field).await;
                }
            } else if kind == "time" {
                // A time input takes keystrokes per segment; set it as a script would.
                self.c
                    .execute(
                        "arguments[0].value = arguments[1]; arguments[0].dispatchEvent(new Event('input', {bubbles: true}));",
                        vec![serde_json::to_value(&field).unwrap(), json!(value)],
                    )
                    .await
                    .unwrap();
            } else {
                field.clear().await.unwrap();
                field.send_keys(value).await.unwrap();
            }
        }
    }

    async fn submit(&self, form: &Element) {
        self.click(
            &form
                .find(Locator::Css("button[type=submit]"))
                .await
                .unwrap(),
        )
        .await;
    }

    /// Clicks a button that asks `confirm()` first, and says yes.
    async fn click_confirming(&self, button: &Element) {
        self.click(button).await;
        self.c.accept_alert().await.unwrap();
    }

    async fn log_in(&self, email: &str, password: &str) {
        self.goto("/login").await;
        let form = self.wait("main form").await;
        self.fill(&form, &[("email", email), ("password", password)])
            .await;
        self.submit(&form).await;
        self.wait("nav button").await;
    }

    /// From a page that asks to log in: on to sign-up, and the form filled with both
    /// agreements given (not yet sent).
    async fn sign_up_on_the_way(&self, name: &str, email: &str, phone: &str) {
        self.click(&self.wait("main a[href^='/login']").await).await;
        self.click(&self.wait("main a[href^='/signup']").await)
            .await;
        let form = self.wait("main form").await;
        self.fill(
            &form,
            &[
                ("name", name),
                ("email", email),
                ("password", "password123"),
                ("phone", phone),
                ("agree_terms", "on"),
                ("agree_privacy", "on"),
            ],
        )
        .await;
    }

    async fn log_out(&self) {
        self.c.delete_all_cookies().await.unwrap();
    }
}

/// Reads every QR code in a PNG.
fn qr_codes(png_bytes: &[u8]) -> Vec<String> {
    let decoder = png::Decoder::new(std::io::Cursor::new(png_bytes));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    let channels = info.color_type.samples();
    let (w, h) = (info.width as usize, info.height as usize);
    let luma = |x: usize, y: usize| {
        let i = (y * w + x) * channels;
        if channels >= 3 {
            let (r, g, b) = (
                u32::from(buf[i]),
                u32::from(buf[i + 1]),
                u32::from(buf[i + 2]),
            );
            u8::try_from((r * 299 + g * 587 + b * 114) / 1000).unwrap_or(u8::MAX)
        } else {
            buf[i]
        }
    };
    let mut image = rqrr::PreparedImage::prepare_from_greyscale(w, h, luma);
    image
        .detect_grids()
        .into_iter()
        .filter_map(|g| g.decode().ok().map(|(_, text)| text))
        .collect()
}

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
