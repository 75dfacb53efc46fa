//! The web page in a real browser (headless Chromium through chromedriver) against the
//! real stack: browse the stores, scan an umbrella's QR link, sign up on the way, rent
//! it, get the locker password, and see the rental on "my page". Screenshots land in
//! `target/browser/`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;
use std::time::Duration;

use fantoccini::{ClientBuilder, Locator};
use serde_json::json;
use stack::process::{Process, Spec};
use stack::seed::StoreSeed;
use stack::{Binaries, Options, Stack};

fn chrome() -> Option<(PathBuf, PathBuf)> {
    let chromium = ["chromium", "chromium-browser", "google-chrome"]
        .iter()
        .find_map(|n| stack::find_program(n, None, &[]))?;
    let driver = stack::find_program("chromedriver", None, &[PathBuf::from("/usr/lib/chromium")])?;
    Some((chromium, driver))
}

async fn wait_for(c: &fantoccini::Client, css: &str) -> fantoccini::elements::Element {
    c.wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"))
}

/// Waits until the element's text is `text` (the page re-renders in place).
async fn wait_for_text(c: &fantoccini::Client, css: &str, text: &str) {
    let started = std::time::Instant::now();
    loop {
        if let Ok(e) = c.find(Locator::Css(css)).await
            && e.text().await.is_ok_and(|t| t == text)
        {
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "{css} never read {text:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_visitor_finds_a_store_signs_up_and_rents_an_umbrella() {
    // A test runs or fails: scripts/test.sh installs both.
    let (chromium, driver) = chrome().expect(
        "chromium and chromedriver are needed (Debian: apt-get install chromium chromium-driver; scripts/test.sh does)",
    );
    let root = stack::topology::workspace_root();
    let dir = stack::TempDir::new("upbrella-browser").unwrap();
    let mut options = Options::new(dir.path().to_path_buf());
    options.static_dir = Some(root.join("web"));
    options.was_replicas = 1;
    let s = Stack::start(&Binaries::in_target("debug").unwrap(), options).unwrap();
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

    let port = stack::free_port().unwrap();
    let _driver = Process::spawn(
        Spec::new("chromedriver", &driver)
            .arg(format!("--port={port}"))
            .log(dir.path().join("chromedriver.log")),
    )
    .unwrap();
    stack::wait_http_ok(
        format!("127.0.0.1:{port}").parse().unwrap(),
        "/status",
        Duration::from_secs(15),
    )
    .unwrap();
    let profile = dir.path().join("chrome-profile");
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        json!({"binary": chromium, "args": [
            "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync", "--window-size=420,900",
            format!("--user-data-dir={}", profile.display())
        ]}),
    );
    let c = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(caps)
        .connect(&format!("http://127.0.0.1:{port}"))
        .await
        .expect("chromedriver session");
    let shots = root.join("target").join("browser");
    std::fs::create_dir_all(&shots).unwrap();
    let shot = |name: &'static str| {
        let c = c.clone();
        let path = shots.join(name);
        async move { std::fs::write(path, c.screenshot().await.unwrap()).unwrap() }
    };

    // The map page lists the store with its rentable count.
    c.goto(&format!("{base}/")).await.unwrap();
    let card = wait_for(&c, "a.store").await;
    let text = card.text().await.unwrap();
    assert!(
        text.contains("우산 카페") && text.contains("대여 가능 우산 1개"),
        "{text}"
    );
    shot("1-stores.png").await;
    card.click().await.unwrap();
    wait_for_text(&c, "main h1", "우산 카페").await;
    assert!(c.source().await.unwrap().contains("입구 옆"));
    assert_eq!(
        c.current_url().await.unwrap().path(),
        format!("/stores/{store}")
    );

    // A sticker of the original service opens /rent/form/{id} (ours print /rent/{id}, the
    // same page); a visitor signs up on the way.
    c.goto(&format!("{base}/rent/form/{umbrella}"))
        .await
        .unwrap();
    wait_for(&c, "main a[href^='/login']")
        .await
        .click()
        .await
        .unwrap();
    wait_for(&c, "main a[href^='/signup']")
        .await
        .click()
        .await
        .unwrap();
    let form = wait_for(&c, "form").await;
    for (name, value) in [
        ("name", "김우산"),
        ("email", "browser@example.com"),
        ("password", "password123"),
        ("phone", "010-2222-3333"),
    ] {
        form.find(Locator::Css(&format!("input[name={name}]")))
            .await
            .unwrap()
            .send_keys(value)
            .await
            .unwrap();
    }
    // Sign-up asks for both agreements.
    for name in ["agree_terms", "agree_privacy"] {
        form.find(Locator::Css(&format!("input[name={name}]")))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
    }
    form.find(Locator::Css("button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    // Back on the rent page, logged in.
    let report = wait_for(&c, "textarea[name=condition_report]").await;
    assert!(c.source().await.unwrap().contains("우산 77번"));
    report.send_keys("손잡이가 조금 헐거워요").await.unwrap();
    shot("2-rent.png").await;
    c.find(Locator::Css("button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let done = wait_for(&c, "#rented").await;
    assert!(done.text().await.unwrap().contains("77번"));
    let password = wait_for(&c, "#locker-password").await.text().await.unwrap();
    assert!(
        password.len() == 4 && password.chars().all(|ch| ch.is_ascii_digit()),
        "{password:?}"
    );
    shot("3-rented.png").await;

    // My page shows the rental; the database agrees.
    c.goto(&format!("{base}/me")).await.unwrap();
    let current = wait_for(&c, "#current-rental").await;
    assert!(current.text().await.unwrap().contains("우산 77번"));
    shot("4-me.png").await;
    let open = s.psql("SELECT count(*) FROM rentals r JOIN users u ON u.id = r.user_id WHERE u.email = 'browser@example.com' AND r.returned_at IS NULL").unwrap();
    assert_eq!(open, "1");
    let agreed = s.psql("SELECT terms_agreed_at IS NOT NULL AND privacy_agreed_at IS NOT NULL FROM users WHERE email = 'browser@example.com'").unwrap();
    assert_eq!(agreed, "t", "the agreements given at sign-up are recorded");
    c.close().await.unwrap();
}
