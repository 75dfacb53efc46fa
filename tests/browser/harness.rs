//! What every journey uses: the stack with the web front-end, a phone-sized Chromium
//! driven through chromedriver, screenshots, and reading QR codes.

use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;
use stack::process::{Process, Spec};
use stack::{Binaries, Options, Stack, TempDir};
use std::path::PathBuf;
use std::time::Duration;

pub fn chrome() -> (PathBuf, PathBuf) {
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
pub fn stack(dir: &TempDir, was_env: &[(&str, &str)], proxy_env: &[(&str, &str)]) -> Stack {
    let web = stack::topology::workspace_root().join("web");
    stack_serving(dir, web, was_env, proxy_env)
}

/// As [`stack`], web-proxy serving the front-end from `web`.
pub fn stack_serving(
    dir: &TempDir,
    web: PathBuf,
    was_env: &[(&str, &str)],
    proxy_env: &[(&str, &str)],
) -> Stack {
    let mut options = Options::new(dir.path().to_path_buf());
    options.static_dir = Some(web);
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
pub const PHONE: (u32, u32) = (412, 915);

/// One browser: a chromedriver, a Chromium session on a phone-sized window, and where its
/// screenshots go (`target/browser/{prefix}-{name}.png`).
pub struct Browser {
    pub c: Client,
    pub base: String,
    shots: PathBuf,
    prefix: &'static str,
    _driver: Process,
}

impl Browser {
    pub async fn open(dir: &TempDir, base: String, prefix: &'static str) -> Self {
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

    pub async fn shot(&self, name: &str) {
        let png = self.c.screenshot().await.unwrap();
        std::fs::write(self.shots.join(format!("{}-{name}.png", self.prefix)), png).unwrap();
    }

    pub async fn goto(&self, path: &str) {
        let url = if path.starts_with("http") {
            path.to_owned()
        } else {
            format!("{}{path}", self.base)
        };
        self.c.goto(&url).await.unwrap();
    }

    pub async fn path(&self) -> String {
        self.c.current_url().await.unwrap().path().to_owned()
    }

    pub async fn wait(&self, css: &str) -> Element {
        self.c
            .wait()
            .at_most(Duration::from_secs(10))
            .for_element(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("{css}: {e}"))
    }

    /// Waits until the element's text contains `text` (pages re-render in place).
    pub async fn wait_text(&self, css: &str, text: &str) -> Element {
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

    pub async fn main_text(&self) -> String {
        match self.c.find(Locator::Css("main")).await {
            Ok(main) => main.text().await.unwrap_or_default(),
            Err(e) => e.to_string(),
        }
    }

    /// Clicks the element in the middle of the window (the sticky header covers the top).
    pub async fn click(&self, element: &Element) {
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
    pub async fn fill(&self, form: &Element, fields: &[(&str, &str)]) {
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

    pub async fn submit(&self, form: &Element) {
        self.click(
            &form
                .find(Locator::Css("button[type=submit]"))
                .await
                .unwrap(),
        )
        .await;
    }

    /// Clicks a button that asks `confirm()` first, and says yes.
    pub async fn click_confirming(&self, button: &Element) {
        self.click(button).await;
        self.c.accept_alert().await.unwrap();
    }

    /// Clicks the element `css` names, once it is there.
    pub async fn tap(&self, css: &str) {
        self.click(&self.wait(css).await).await;
    }

    /// Clicks the button `css` names, which asks `confirm()` first, and says yes.
    pub async fn tap_confirming(&self, css: &str) {
        self.click_confirming(&self.wait(css).await).await;
    }

    /// Opens `path` and waits until `css` reads `text`.
    pub async fn visit(&self, path: &str, css: &str, text: &str) -> Element {
        self.goto(path).await;
        self.wait_text(css, text).await
    }

    /// Fills the form `css` names and sends it; the form.
    pub async fn send_form(&self, css: &str, fields: &[(&str, &str)]) -> Element {
        let form = self.wait(css).await;
        self.fill(&form, fields).await;
        self.submit(&form).await;
        form
    }

    /// Logs out and in again as another account.
    pub async fn log_in_again(&self, email: &str, password: &str) {
        self.log_out().await;
        self.log_in(email, password).await;
    }

    pub async fn log_in(&self, email: &str, password: &str) {
        self.goto("/login").await;
        let form = self.wait("main form").await;
        self.fill(&form, &[("email", email), ("password", password)])
            .await;
        self.submit(&form).await;
        self.wait("nav button").await;
    }

    /// From a page that asks to log in: on to sign-up, and the form filled with both
    /// agreements given (not yet sent).
    pub async fn sign_up_on_the_way(&self, name: &str, email: &str, phone: &str) {
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

    pub async fn log_out(&self) {
        self.c.delete_all_cookies().await.unwrap();
    }
}

/// Reads every QR code in a PNG.
pub fn qr_codes(png_bytes: &[u8]) -> Vec<String> {
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

/// The axe-core release the accessibility pass runs (`scripts/axe-core.sh` installs it
/// with npm under `target/tools/axe-core`; `AXE_CORE_JS` names another `axe.min.js`).
pub const AXE_CORE_VERSION: &str = "4.11.0";

/// axe-core's browser script. A missing axe fails the test: an accessibility pass that
/// silently did not run would read as a pass.
pub fn axe_source() -> String {
    let path = std::env::var_os("AXE_CORE_JS").map_or_else(
        || {
            stack::topology::workspace_root()
                .join("target/tools/axe-core/node_modules/axe-core/axe.min.js")
        },
        PathBuf::from,
    );
    std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "axe-core is needed for the accessibility pass and was not found at {} ({e}): run scripts/test-deps.sh, \
             or `npm install --prefix target/tools/axe-core axe-core@{AXE_CORE_VERSION}`",
            path.display()
        )
    })
}

/// A Chrome DevTools Protocol command sent through chromedriver's `goog/cdp/execute`.
#[derive(Debug)]
struct Cdp {
    cmd: String,
    params: serde_json::Value,
}

impl fantoccini::wd::WebDriverCompatibleCommand for Cdp {
    fn endpoint(
        &self,
        base_url: &reqwest::Url,
        session_id: Option<&str>,
    ) -> Result<reqwest::Url, <reqwest::Url as std::str::FromStr>::Err> {
        base_url.join(&format!(
            "session/{}/goog/cdp/execute",
            session_id.unwrap_or_default()
        ))
    }

    fn method_and_body(&self, _url: &reqwest::Url) -> (reqwest::Method, Option<String>) {
        (
            reqwest::Method::POST,
            Some(json!({"cmd": self.cmd, "params": self.params}).to_string()),
        )
    }
}

impl Browser {
    /// Runs one DevTools command on the page.
    pub async fn cdp(&self, cmd: &str, params: serde_json::Value) -> serde_json::Value {
        self.c
            .issue_cmd(Cdp {
                cmd: cmd.to_owned(),
                params,
            })
            .await
            .unwrap_or_else(|e| panic!("{cmd}: {e}"))
    }

    /// Cuts the page off the network (or lets it back on), as a phone losing signal.
    pub async fn set_offline(&self, offline: bool) {
        self.cdp("Network.enable", json!({})).await;
        self.cdp(
            "Network.emulateNetworkConditions",
            json!({"offline": offline, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1}),
        )
        .await;
    }

    /// The accessibility pass: axe-core's WCAG 2.0–2.2 A and AA rules over the page as it
    /// is now; any violation fails with what and where.
    pub async fn assert_accessible(&self, what: &str) {
        let loaded = self
            .c
            .execute("return typeof window.axe === 'object';", vec![])
            .await
            .unwrap();
        if loaded != json!(true) {
            self.c.execute(&axe_source(), vec![]).await.unwrap();
        }
        let result = self
            .c
            .execute(
                "return window.axe.run(document, {runOnly: {type: 'tag', values: \
                 ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa']}, resultTypes: ['violations']}) \
                 .then((r) => r.violations.map((v) => ({id: v.id, impact: v.impact, help: v.help, \
                 nodes: v.nodes.slice(0, 5).map((n) => n.target.join(' ') + ' :: ' + (n.failureSummary || ''))})));",
                vec![],
            )
            .await
            .unwrap();
        let violations = result.as_array().cloned().unwrap_or_default();
        assert!(
            violations.is_empty(),
            "axe-core found {} violation(s) on {what}:\n{}",
            violations.len(),
            serde_json::to_string_pretty(&violations).unwrap()
        );
    }

    /// Runs an async script: its last argument is the callback that gives the result.
    pub async fn run_async(&self, script: &str) -> serde_json::Value {
        self.c
            .execute_async(script, vec![])
            .await
            .unwrap_or_else(|e| panic!("{script}: {e}"))
    }

    /// The URL paths of every file the page has fetched since it loaded (scripts, style
    /// sheets, images; the Resource Timing entries).
    pub async fn resources(&self) -> Vec<String> {
        let names = self
            .c
            .execute(
                "return performance.getEntriesByType('resource').map((e) => new URL(e.name).pathname);",
                vec![],
            )
            .await
            .unwrap();
        serde_json::from_value(names).unwrap()
    }

    /// Waits until a service worker controls the page (the shell is cached by then).
    pub async fn wait_service_worker(&self) {
        let started = std::time::Instant::now();
        loop {
            let ready = self
                .c
                .execute(
                    "return !!(navigator.serviceWorker && navigator.serviceWorker.controller);",
                    vec![],
                )
                .await
                .unwrap();
            if ready == json!(true) {
                return;
            }
            assert!(
                started.elapsed() < Duration::from_secs(15),
                "no service worker took control of the page"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}
