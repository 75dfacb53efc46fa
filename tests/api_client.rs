//! An API document clients can use: `/api/openapi.json` passes an OpenAPI validator
//! (`openapi-spec-validator`), a client is generated from it with a mainstream generator
//! (`openapi-python-client`), and `tests/api_client.py` calls every operation of that
//! generated client against the running topology (through web-proxy, as an admin),
//! checking that each answers with a status the document declares and that what it
//! declares for 2xx parses. An operation the generator dropped or mangled fails the test.
//! Both tools are pinned in `scripts/requirements-tools.txt`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::Command;

use stack::{Binaries, Options, Stack};
use upbrella_tests::{API_SEED, session_cookie, sign_up};

fn tool(name: &str) -> PathBuf {
    let path = stack::topology::workspace_root()
        .join("target/tools/venv/bin")
        .join(name);
    assert!(
        path.exists(),
        "{name} is missing at {}: run scripts/test.sh, or `python3 -m venv target/tools/venv && \
         target/tools/venv/bin/pip install -r scripts/requirements-tools.txt`",
        path.display()
    );
    path
}

fn run(command: &mut Command) -> String {
    let out = command.output().expect("the tool runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{command:?} failed:\n{text}");
    text
}

fn generate(doc: &Path, out: &Path) -> String {
    let config = out.with_file_name("generator.yaml");
    std::fs::write(
        &config,
        "project_name_override: upbrella-client\npackage_name_override: upbrella_client\npost_hooks: []\n",
    )
    .unwrap();
    run(Command::new(tool("openapi-python-client"))
        .arg("generate")
        .arg("--path")
        .arg(doc)
        .arg("--config")
        .arg(&config)
        .arg("--output-path")
        .arg(out)
        .arg("--overwrite")
        .arg("--meta")
        .arg("none"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_generated_from_the_document_calls_every_operation() {
    let dir = stack::TempDir::new("upbrella-api-client").unwrap();
    let bins = Binaries::in_target("debug")
        .expect("was and web-proxy are built by `cargo test --workspace`");
    let mut options = Options::new(dir.path().to_path_buf());
    options.persistent_redis = false;
    options.was_replicas = 1;
    options.proxy_secret = Some("api-client-secret".into());
    options.was_env = vec![("RATE_LIMIT_LOGIN_PER_ADDRESS".into(), "off".into())];
    options.proxy_env = vec![("WEB_PROXY_DRAIN_PERIOD".into(), "0s".into())];
    let s = Stack::start(&bins, options).unwrap();
    s.psql(API_SEED).unwrap();
    let base = s.proxies[0].url("");

    let work = stack::topology::workspace_root().join("target/api-client");
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work).unwrap();
    let doc = work.join("openapi.json");
    let text = reqwest::get(format!("{base}/api/openapi.json"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    std::fs::write(&doc, &text).unwrap();

    let validated = run(Command::new(tool("openapi-spec-validator")).arg(&doc));
    println!("{}", validated.trim());

    let generated = generate(&doc, &work.join("upbrella_client"));
    // The generator keeps the operation but leaves the body of a response that is not
    // JSON (the QR sheet's SVG, CSV exports) to the caller as bytes: that is all it can
    // do, and the driver still calls them. Anything else it warns about is a finding.
    let findings: Vec<&str> = generated
        .split("WARNING parsing")
        .skip(1)
        .filter(|w| {
            !["image/svg+xml", "text/csv"]
                .iter()
                .any(|t| w.contains(&format!("Unsupported content_type {t}")))
        })
        .collect();
    assert!(
        findings.is_empty() && !generated.contains("ERROR"),
        "the generator could not represent part of the document:\n{generated}"
    );

    let signed_up = sign_up(&reqwest::Client::new(), &base, "client@example.com").await;
    let cookie = session_cookie(&signed_up);
    s.psql("UPDATE users SET role = 'admin' WHERE email = 'client@example.com'")
        .unwrap();
    let driver = stack::topology::workspace_root().join("tests/api_client.py");
    let report = run(Command::new(tool("python"))
        .arg(&driver)
        .args(["--base", &base, "--cookie", &cookie])
        .args(["--probe-base", &s.was[0].url("")])
        .arg("--doc")
        .arg(&doc)
        .env("PYTHONPATH", &work));
    println!("{report}");
}
