//! The API held to its own OpenAPI document by a fuzzer: schemathesis (PyPI, pinned in
//! `scripts/requirements-tools.txt`, installed by `scripts/test.sh`) generates requests
//! for every operation from `/api/openapi.json` and sends them through web-proxy to the
//! real topology, anonymous, as a user and as an admin. The checks: no 5xx, and every
//! response's status, content type and body as documented.
//!
//! The database is seeded so that generated ids meet real rows (stores, umbrellas, a
//! locker, rentals); the fuzzing user's id is far from them, so an admin run that bans or
//! demotes random ids does not end its own session. Operations that end the session
//! (logout, log out everywhere, a password change, leave) are left out of the logged-in
//! runs. Examples per operation are bounded
//! and the seed fixed, so a run takes well under a minute and repeats itself.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;
use std::process::Command;

use stack::{Binaries, Options, Stack};
use upbrella_tests::{API_SEED, session_cookie, sign_up};

/// The schemathesis CLI from the tools venv; a missing one fails the test with the fix.
fn schemathesis() -> PathBuf {
    let st = stack::topology::workspace_root().join("target/tools/venv/bin/st");
    assert!(
        st.exists(),
        "schemathesis is missing at {}: run scripts/test.sh, or `python3 -m venv target/tools/venv && \
         target/tools/venv/bin/pip install -r scripts/requirements-tools.txt`",
        st.display()
    );
    st
}

/// One bounded schemathesis run; returns whether it passed and what it printed.
/// hypothesis (under schemathesis) parses source code while it describes a strategy, and
/// CPython 3.11 before the fix of gh-106905 keeps the AST builder's recursion depth in
/// state all threads share: two workers parsing at once fail with "AST constructor
/// recursion depth mismatch" before our API is involved. So the fuzzer runs one worker;
/// a run that still meets that error is run once more, and says so; any other failure
/// counts.
fn run_once_more_on_tool_errors(base: &str, who: &str, args: &[&str]) -> (bool, String) {
    let (ok, text) = run(base, who, args);
    if ok || !text.contains("AST constructor recursion depth mismatch") {
        return (ok, text);
    }
    println!("{who}: the fuzzer failed inside hypothesis itself; running it once more");
    run(base, who, args)
}

fn run(base: &str, name: &str, extra: &[&str]) -> (bool, String) {
    let report = stack::topology::workspace_root().join(format!("target/api-fuzz/{name}"));
    let _ = std::fs::create_dir_all(&report);
    let out = Command::new(schemathesis())
        .arg("run")
        .arg(format!("{base}/api/openapi.json"))
        .args(["--url", base])
        // Not under /api: web-proxy answers its own /health, and /ready is the WAS's.
        .args(["--exclude-path-regex", "^/(health|ready)$"])
        .args([
            "--checks",
            "not_a_server_error,response_schema_conformance,content_type_conformance,status_code_conformance",
        ])
        .args(["--max-examples", "25", "--seed", "1", "--workers", "1"])
        .args(["--request-timeout", "10", "--generation-database", "none"])
        .arg("--continue-on-failure")
        .args(["--report", "junit", "--report-dir"])
        .arg(&report)
        .arg("--no-color")
        .args(extra)
        .output()
        .expect("schemathesis runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

/// The lines of schemathesis's summary worth repeating in the test's output.
fn summary(text: &str) -> String {
    text.lines()
        .filter(|l| {
            l.contains("test cases")
                || l.contains("passed")
                || l.contains("failed")
                || l.contains("Server error")
                || l.contains("Undocumented")
        })
        .take(12)
        .collect::<Vec<_>>()
        .join("\n")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_keeps_its_openapi_promises_under_fuzzing() {
    let dir = stack::TempDir::new("upbrella-api-fuzz").unwrap();
    let bins = Binaries::in_target("debug")
        .expect("was and web-proxy are built by `cargo test --workspace`");
    let mut options = Options::new(dir.path().to_path_buf());
    options.persistent_redis = false;
    options.was_replicas = 1;
    options.proxy_secret = Some("api-fuzz-secret".into());
    // The fuzzer sends thousands of logins and sign-ups from one address.
    options.was_env = [
        "RATE_LIMIT_LOGIN_FAILURES",
        "RATE_LIMIT_LOGIN_FAILURES_PER_ACCOUNT",
        "RATE_LIMIT_LOGIN_PER_ADDRESS",
        "RATE_LIMIT_LOGIN_BURST_PER_ADDRESS",
        "RATE_LIMIT_MAIL_PER_ACCOUNT",
        "RATE_LIMIT_MAIL_PER_ADDRESS",
        "RATE_LIMIT_SIGNUP_PER_ADDRESS",
        "RATE_LIMIT_KAKAO_PER_ADDRESS",
        "RATE_LIMIT_LOCKER_PER_USER",
        "RATE_LIMIT_RENTAL_PER_USER",
        "RATE_LIMIT_RENTAL_PER_ADDRESS",
    ]
    .iter()
    .map(|k| ((*k).to_owned(), "off".to_owned()))
    .collect();
    options.proxy_env = vec![("WEB_PROXY_DRAIN_PERIOD".into(), "0s".into())];
    let s = Stack::start(&bins, options).unwrap();
    s.psql(API_SEED).unwrap();
    let base = s.proxies[0].url("");

    let signed_up = sign_up(&reqwest::Client::new(), &base, "fuzz@example.com").await;
    let cookie = session_cookie(&signed_up);
    let cookie_header = format!("Cookie: {cookie}");
    let keep_session = [
        "--exclude-operation-id",
        "log_out",
        "--exclude-operation-id",
        "leave",
        "--exclude-operation-id",
        "log_in",
        "--exclude-operation-id",
        "sign_up",
        "--exclude-operation-id",
        "log_out_everywhere",
        "--exclude-operation-id",
        "change_password",
    ];

    let mut failures = Vec::new();
    let (ok, text) = run_once_more_on_tool_errors(&base, "anonymous", &[]);
    println!("anonymous:\n{}", summary(&text));
    if !ok {
        failures.push(("anonymous", text));
    }
    let mut user_args = vec!["-H", cookie_header.as_str()];
    user_args.extend(keep_session);
    let (ok, text) = run_once_more_on_tool_errors(&base, "user", &user_args);
    println!("user:\n{}", summary(&text));
    if !ok {
        failures.push(("user", text));
    }
    s.psql("UPDATE users SET role = 'admin' WHERE email = 'fuzz@example.com'")
        .unwrap();
    let (ok, text) = run_once_more_on_tool_errors(&base, "admin", &user_args);
    println!("admin:\n{}", summary(&text));
    if !ok {
        failures.push(("admin", text));
    }
    writes_reached_2xx(&s).await;
    for (who, text) in &failures {
        eprintln!("==== schemathesis, {who} ====\n{text}");
    }
    assert!(
        failures.is_empty(),
        "the API broke its OpenAPI promises in the {:?} run(s); reports in target/api-fuzz/",
        failures.iter().map(|(w, _)| *w).collect::<Vec<_>>()
    );
}

/// The fuzzer reached the write paths, not only their 4xx: what each write operation
/// answered with 2xx, from the WAS's own request metrics.
async fn writes_reached_2xx(s: &Stack) {
    let metrics = reqwest::get(format!("http://{}/metrics", s.was[0].admin.unwrap()))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let mut written = Vec::new();
    for line in metrics.lines() {
        let Some(rest) = line.strip_prefix("upbrella_was_requests_total{") else {
            continue;
        };
        if !rest.contains("status=\"2xx\"") || rest.contains("method=\"GET\"") {
            continue;
        }
        written.push(rest.to_owned());
    }
    println!("write operations answered 2xx:\n  {}", written.join("\n  "));
    for route in [
        "/api/auth/signup",
        "/api/auth/password-reset",
        "/api/admin/stores",
        "/api/admin/classifications",
        "/api/admin/umbrellas",
    ] {
        assert!(
            written
                .iter()
                .any(|w| w.contains(&format!("route=\"{route}\""))),
            "the fuzzer never got a 2xx from a write to {route}: its request schema does not describe a valid request"
        );
    }
}
