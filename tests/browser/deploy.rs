//! Deploys: web-proxy serves every script under a content-hashed name, so a deploy that
//! changes a script (even one imported two levels down) is run by the very next load,
//! from the network and from the service worker alike; and a renter's pages never fetch
//! the operators' console.

use crate::harness::*;
use serde_json::{Value, json};
use stack::TempDir;
use std::path::Path;
use std::time::Duration;

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// Replaces a file as a deploy does: the new content written aside, then renamed over it.
fn deploy(path: &Path, content: &str) {
    let aside = path.with_file_name(".deploying");
    std::fs::write(&aside, content).unwrap();
    std::fs::rename(aside, path).unwrap();
}

/// What the deployed `i18n.js` marks the page with (`null` before any deploy).
async fn deployed(b: &Browser) -> Value {
    b.c.execute(
        "return document.documentElement.dataset.deploy || null;",
        vec![],
    )
    .await
    .unwrap()
}

/// The service worker's caches, each with the paths it holds.
async fn sw_caches(b: &Browser) -> Value {
    b.run_async(
        "const done = arguments[arguments.length - 1];
         caches.keys().then((keys) => Promise.all(keys.map((k) => caches.open(k)
           .then((c) => c.keys()).then((rs) => [k, rs.map((r) => new URL(r.url).pathname)]))))
           .then((all) => done(Object.fromEntries(all)), (e) => done(String(e)));",
    )
    .await
}

/// Waits until the service worker keeps exactly one cache, other than `old`; its name.
async fn wait_new_cache(b: &Browser, old: &str) -> (String, Vec<String>) {
    let started = std::time::Instant::now();
    loop {
        let all = sw_caches(b).await;
        if let Some(map) = all.as_object()
            && map.len() == 1
            && let Some((name, paths)) = map.iter().next()
            && name != old
            && paths.as_array().is_some_and(|p| !p.is_empty())
        {
            let paths = serde_json::from_value(paths.clone()).unwrap();
            return (name.clone(), paths);
        }
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "the new worker never replaced cache {old}: {all}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn is_hashed_script(path: &str, stem: &str) -> bool {
    path.strip_prefix(&format!("/{stem}."))
        .and_then(|rest| rest.strip_suffix(".js"))
        .is_some_and(|h| h.len() == 10 && h.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// Loads `path` and checks what the page fetched: hashed scripts, never the console.
async fn renter_page_loads_no_console(b: &Browser, path: &str) -> Vec<String> {
    b.goto(path).await;
    b.wait("main h1").await;
    let fetched = b.resources().await;
    assert!(
        fetched.iter().all(|p| !p.contains("console")),
        "a renter's page {path} fetched console files: {fetched:?}"
    );
    fetched
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deployed_script_runs_at_the_next_load_and_renters_never_load_the_console() {
    let dir = TempDir::new("upbrella-browser-deploy").unwrap();
    let web = dir.path().join("web");
    copy_dir(&stack::topology::workspace_root().join("web"), &web);
    let original = std::fs::read_to_string(web.join("i18n.js")).unwrap();
    let mut s = stack_serving(&dir, web.clone(), &[], &[]);
    let base = s.proxies[0].url("");
    let b = Browser::open(&dir, base.clone(), "deploy").await;

    b.goto("/").await;
    b.wait("#nav a").await;
    b.wait_service_worker().await;
    for path in ["/stores", "/guide", "/login", "/terms", "/"] {
        let fetched = renter_page_loads_no_console(&b, path).await;
        assert!(
            fetched.iter().any(|p| is_hashed_script(p, "app-session")),
            "{fetched:?}"
        );
    }
    let fetched = b.resources().await;
    let app = fetched
        .iter()
        .find(|p| is_hashed_script(p, "app"))
        .cloned()
        .unwrap_or_else(|| panic!("the page loads app.js by its hashed name: {fetched:?}"));
    assert!(!fetched.iter().any(|p| p == "/app.js" || p == "/i18n.js"));
    let caches = sw_caches(&b).await;
    let (shell, paths) = caches.as_object().unwrap().iter().next().unwrap();
    let shell = shell.clone();
    let paths = paths.to_string();
    assert!(paths.contains(&app), "the worker keeps {app}: {paths}");
    assert!(
        !paths.contains("console"),
        "the worker keeps no console: {paths}"
    );
    assert_eq!(deployed(&b).await, Value::Null);
    let http = reqwest::Client::new();
    let r = http.get(format!("{base}{app}")).send().await.unwrap();
    assert_eq!(
        r.headers()["cache-control"],
        "public, max-age=31536000, immutable"
    );
    let r = http.get(format!("{base}/sw.js")).send().await.unwrap();
    assert_eq!(r.headers()["cache-control"], "no-cache");
    let version = shell.trim_start_matches("upbrella-shell-").to_owned();
    assert!(r.text().await.unwrap().contains(&version));
    b.shot("1-before").await;

    // A deploy replaces i18n.js in place (imported by ui.js, imported by app.js): the
    // next load runs it, and the worker of the new deploy replaces the old cache.
    deploy(
        &web.join("i18n.js"),
        &format!("{original}\ndocument.documentElement.dataset.deploy = \"1\";\n"),
    );
    b.goto("/").await;
    b.wait("#nav a").await;
    assert_eq!(
        deployed(&b).await,
        json!("1"),
        "the first load after the deploy runs the new script"
    );
    let now = b.resources().await;
    assert!(!now.contains(&app), "app.js has a new name: {now:?}");
    let (new_shell, new_paths) = wait_new_cache(&b, &shell).await;
    assert!(!new_paths.contains(&app), "{new_paths:?}");
    // The old name, from a page still open: today's file, revalidated, not kept a year.
    let r = http.get(format!("{base}{app}")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["cache-control"], "no-cache");
    // Offline, the worker's copy is the new script too.
    b.set_offline(true).await;
    b.goto("/").await;
    b.wait("#nav a").await;
    assert_eq!(
        deployed(&b).await,
        json!("1"),
        "the worker's copy after the deploy"
    );
    b.shot("2-offline-after-deploy").await;
    b.set_offline(false).await;

    // A deploy as a container would: web-proxy stopped, files replaced, started again.
    s.proxies[0].stop(Duration::from_secs(10));
    deploy(
        &web.join("i18n.js"),
        &format!("{original}\ndocument.documentElement.dataset.deploy = \"2\";\n"),
    );
    s.proxies[0].start().unwrap();
    b.goto("/").await;
    b.wait("#nav a").await;
    assert_eq!(
        deployed(&b).await,
        json!("2"),
        "the first load after the restart runs the new script"
    );
    wait_new_cache(&b, &new_shell).await;
    renter_page_loads_no_console(&b, "/stores").await;
    b.shot("3-after-restart").await;
    b.c.close().await.unwrap();
}
