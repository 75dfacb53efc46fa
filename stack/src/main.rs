//! `cargo stack`: the whole upbrella topology on this machine as real processes (Redis,
//! PostgreSQL, migrations, two WAS replicas, web-proxy, the hourly `was remind` pass, a
//! stand-in S3 bucket for store photos when moto is installed), with demo data on first
//! start. Ctrl-C stops everything.

use std::path::PathBuf;
use std::process::{Command, ExitCode};
use std::time::Duration;

use clap::Parser;
use serde_json::{Value, json};
use stack::{Binaries, Options, Stack};

/// The whole upbrella topology on this machine as real processes: Redis, PostgreSQL (data
/// in .stack/), migrations, WAS replicas and web-proxy serving the front-end. Seeds demo
/// data on first start and prints the URL; Ctrl-C stops everything.
#[derive(Parser)]
#[command(name = "cargo stack", bin_name = "cargo stack", version)]
struct Args {
    /// web-proxy's port on 127.0.0.1
    #[arg(long, default_value_t = 8000)]
    port: u16,
    /// WAS replicas behind web-proxy
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u16).range(1..=16))]
    replicas: u16,
    /// Delete .stack/ (the database, logs) first
    #[arg(long)]
    fresh: bool,
}

fn main() -> ExitCode {
    let args = Args::parse();
    match run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn say(msg: &str) {
    println!("==> {msg}");
}

/// Installs Redis, PostgreSQL and Node.js (for the mail catcher) with apt-get when they
/// are missing.
fn ensure_system_packages() -> Result<(), String> {
    let mut missing = Vec::new();
    if stack::find_program("redis-server", None, &[]).is_none() {
        missing.push("redis-server");
    }
    if stack::mailcatcher::maildev_program().is_none() {
        if stack::find_program("node", None, &[]).is_none() {
            missing.push("nodejs");
        }
        if stack::find_program("npm", None, &[]).is_none() {
            missing.push("npm");
        }
    }
    if stack::pg::bin_dir().is_err() {
        missing.push("postgresql");
    }
    if missing.is_empty() {
        return Ok(());
    }
    if stack::find_program("apt-get", None, &[]).is_none() {
        return Err(format!(
            "missing {}: install Redis, PostgreSQL 15+ and Node.js with your package manager (macOS: brew install redis postgresql@16 node), or set PG_BIN",
            missing.join(", ")
        ));
    }
    say(&format!(
        "installing {} with apt-get (needs root or sudo)",
        missing.join(" ")
    ));
    let root = Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false);
    let run = |args: &[&str]| -> Result<(), String> {
        let mut cmd = if root {
            Command::new(args[0])
        } else {
            let mut c = Command::new("sudo");
            c.arg(args[0]);
            c
        };
        let status = cmd
            .args(&args[1..])
            .env("DEBIAN_FRONTEND", "noninteractive")
            .status()
            .map_err(|e| e.to_string())?;
        if status.success() {
            Ok(())
        } else {
            Err(format!("{} failed", args.join(" ")))
        }
    };
    run(&["apt-get", "update", "-qq"])?;
    let mut install = vec!["apt-get", "install", "-y", "-qq", "--no-install-recommends"];
    install.extend(missing);
    run(&install)
}

/// The mail catcher, installed with npm under target/tools/maildev when missing.
fn ensure_maildev(root: &std::path::Path) -> Result<(), String> {
    if stack::mailcatcher::maildev_program().is_some() {
        return Ok(());
    }
    let version = stack::mailcatcher::MAILDEV_VERSION;
    say(&format!(
        "installing the mail catcher (maildev {version}, npm)"
    ));
    let dir = root.join("target/tools/maildev");
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let status = Command::new("npm")
        .args(["install", "--no-audit", "--no-fund", "--silent", "--prefix"])
        .arg(&dir)
        .arg(format!("maildev@{version}"))
        .status()
        .map_err(|e| format!("npm: {e} (install Node.js and npm)"))?;
    if !status.success() {
        return Err("npm install maildev failed".into());
    }
    std::fs::write(dir.join("version"), version).map_err(|e| e.to_string())
}

fn build_binaries(root: &std::path::Path) -> Result<Binaries, String> {
    say("building was and web-proxy (release)");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = Command::new(cargo)
        .args([
            "build",
            "--release",
            "--quiet",
            "-p",
            "was",
            "-p",
            "web-proxy",
        ])
        .current_dir(root)
        .status()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    if !status.success() {
        return Err("cargo build failed".into());
    }
    Binaries::in_target("release").map_err(|e| e.to_string())
}

fn run(args: Args) -> Result<(), String> {
    // Checked before anything starts: a typo should not cost a build and a stack start.
    let remind_every = stack::remind::every(std::env::var(stack::remind::VAR).ok().as_deref())?;
    ensure_system_packages()?;
    let root = stack::topology::workspace_root();
    let bins = build_binaries(&root)?;
    let dir = root.join(".stack");
    if args.fresh && dir.exists() {
        say("--fresh: deleting .stack/");
        std::fs::remove_dir_all(&dir).map_err(|e| e.to_string())?;
    }
    let mut options = Options::new(dir.clone());
    options.was_replicas = usize::from(args.replicas);
    options.proxy_port = Some(args.port);
    options.static_dir = Some(root.join("web"));
    options.bank_key = key_file(&dir, "bank.key")?;
    options.server_key = key_file(&dir, "server.key")?;
    ensure_maildev(&root)?;
    std::fs::create_dir_all(dir.join("logs")).map_err(|e| e.to_string())?;
    let mail = stack::MailCatcher::start(&dir.join("logs")).map_err(|e| e.to_string())?;
    // What the service mails (verification and reset links) goes to the catcher; the
    // links point at web-proxy.
    options.was_env.extend([
        ("MAIL_TRANSPORT".to_owned(), "smtp".to_owned()),
        ("SMTP_URL".to_owned(), mail.smtp_url()),
        (
            "MAIL_FROM".to_owned(),
            "우산대여 upbrella <no-reply@upbrella.local>".to_owned(),
        ),
        (
            "PUBLIC_URL".to_owned(),
            format!("http://127.0.0.1:{}", args.port),
        ),
    ]);
    // As in production, the replicas answer only what web-proxy forwards.
    options.proxy_secret = Some(uuid::Uuid::new_v4().simple().to_string());
    // Nothing balances in front of the local proxy, so there is nothing to drain for.
    options.proxy_env = vec![("WEB_PROXY_DRAIN_PERIOD".into(), "0s".into())];
    let runtime = tokio::runtime::Runtime::new().map_err(|e| e.to_string())?;
    let photos = start_photos(&runtime, &dir.join("logs"), args.port);
    if let Some(p) = &photos {
        options.was_env.extend(p.was_env());
        options.proxy_env.extend(p.proxy_env());
    }
    say("starting Redis, PostgreSQL, migrations, WAS replicas and web-proxy");
    let mut stack = Stack::start(&bins, options).map_err(|e| e.to_string())?;
    let base = stack.proxies[0].url("");
    let admin = runtime.block_on(seed_if_empty(&stack, &base, &dir))?;
    let remind_log = dir.join("logs").join("remind.log");
    let mut reminders = remind_every.map(|every| {
        let pass = stack::remind::Pass::was_remind(&bins.was, stack.was_env(), remind_log.clone());
        stack::remind::Reminders::start(pass, every)
    });
    print_running(&stack, &admin, &mail, photos.as_ref(), remind_every, &dir);
    runtime.block_on(async {
        let _ = tokio::signal::ctrl_c().await;
    });
    println!();
    say(
        "stopping the reminder pass, web-proxy, WAS replicas, Redis, PostgreSQL and the mail catcher",
    );
    if let Some(r) = reminders.as_mut() {
        r.stop();
    }
    stack.shutdown();
    drop(mail);
    drop(photos);
    say("stopped; data stays in .stack/ (--fresh starts over; uploaded photos do not stay)");
    Ok(())
}

/// Where everything runs, as printed once the stack is up.
fn print_running(
    stack: &Stack,
    admin: &(String, String),
    mail: &stack::MailCatcher,
    photos: Option<&stack::PhotoStore>,
    remind_every: Option<Duration>,
    dir: &std::path::Path,
) {
    let base = stack.proxies[0].url("");
    let remind_log = dir.join("logs").join("remind.log");
    println!();
    println!("  upbrella is running:  {base}/");
    println!("  admin login:          {} / {}", admin.0, admin.1);
    for w in &stack.was {
        println!(
            "  {}:                {} (API only through web-proxy)",
            w.name,
            w.url("")
        );
    }
    if let Some(a) = stack.proxies[0].admin {
        println!("  proxy metrics:        http://{a}/metrics");
    }
    println!("  보낸 메일 (mail sent): {}/", mail.web_url());
    match photos {
        Some(p) => println!(
            "  store photos:         uploads to {}/{} (moto; kept until Ctrl-C)",
            p.endpoint(),
            stack::photos::BUCKET
        ),
        None => println!("  store photos:         by URL only (no moto_server for uploads)"),
    }
    match remind_every {
        Some(every) => println!(
            "  reminders:            was remind now and every {} s ({}), log {}",
            every.as_secs(),
            stack::remind::VAR,
            remind_log.display()
        ),
        None => println!("  reminders:            off ({}=0)", stack::remind::VAR),
    }
    println!("  logs:                 {}", dir.join("logs").display());
    println!();
    println!("  Ctrl-C stops everything.");
}

/// The photo bucket's stand-in (moto on loopback), with a CORS rule for the stack's web
/// origins. Optional: without moto_server, or if it fails, the stack runs and photos are
/// added by URL.
fn start_photos(
    runtime: &tokio::runtime::Runtime,
    logs: &std::path::Path,
    port: u16,
) -> Option<stack::PhotoStore> {
    if stack::photos::moto_program().is_none() {
        say(
            "no moto_server (scripts/test-deps.sh installs it): running without photo uploads; \
             store photos are added by URL",
        );
        return None;
    }
    say("starting the photo bucket's stand-in (moto)");
    let origins = [
        format!("http://127.0.0.1:{port}"),
        format!("http://localhost:{port}"),
    ];
    let started = std::fs::create_dir_all(logs)
        .and_then(|()| stack::PhotoStore::start(logs))
        .and_then(|p| runtime.block_on(p.create_bucket(&origins)).map(|()| p));
    match started {
        Ok(p) => Some(p),
        Err(e) => {
            say(&format!(
                "the photo bucket's stand-in did not start ({e}): running without photo uploads; \
                 store photos are added by URL"
            ));
            None
        }
    }
}

/// A key of this local stack (the bank key, the server's HMAC key), made once and kept
/// in .stack/.
fn key_file(dir: &std::path::Path, name: &str) -> Result<String, String> {
    let path = dir.join(name);
    if let Ok(k) = std::fs::read_to_string(&path) {
        return Ok(k.trim().to_owned());
    }
    std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
    let key = format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    );
    std::fs::write(&path, &key).map_err(|e| e.to_string())?;
    Ok(key)
}

/// The admin's API session that seeds the demo data.
struct Seeder {
    c: reqwest::Client,
    base: String,
}

impl Seeder {
    fn new(base: &str) -> Result<Self, String> {
        let c = reqwest::Client::builder()
            .cookie_store(true)
            .timeout(Duration::from_secs(10))
            .build()
            .map_err(|e| e.to_string())?;
        Ok(Self {
            c,
            base: base.to_owned(),
        })
    }

    async fn post(&self, path: &str, body: Value) -> Result<Value, String> {
        let url = format!("{}{path}", self.base);
        let r = self
            .c
            .post(&url)
            .json(&body)
            .send()
            .await
            .map_err(|e| e.to_string())?;
        let status = r.status();
        let v: Value = r.json().await.unwrap_or(Value::Null);
        if status.is_success() {
            Ok(v)
        } else {
            Err(format!("POST {url}: {status} {v}"))
        }
    }

    async fn put(&self, path: &str, body: Value) -> Result<(), String> {
        let url = format!("{}{path}", self.base);
        let r = self
            .c
            .put(&url)
            .json(&body)
            .send()
            .await
            .map_err(|e| e.to_string())?;
        if r.status().is_success() {
            Ok(())
        } else {
            Err(format!("PUT {url}: {}", r.status()))
        }
    }
}

/// Demo data through the public API (so seeding exercises it), on first start only.
async fn seed_if_empty(
    stack: &Stack,
    base: &str,
    dir: &std::path::Path,
) -> Result<(String, String), String> {
    let creds_path: PathBuf = dir.join("admin.txt");
    let email = "admin@upbrella.local".to_owned();
    if let Ok(saved) = std::fs::read_to_string(&creds_path) {
        return Ok((email, saved.trim().to_owned()));
    }
    say("first start: seeding demo data");
    let password = format!(
        "upbrella-{}",
        &uuid::Uuid::new_v4().simple().to_string()[..8]
    );
    let seeder = Seeder::new(base)?;
    seed_admin(stack, &seeder, &email, &password).await?;
    let region_ids = seed_regions(&seeder).await?;
    seed_demo_stores(&seeder, &region_ids).await?;
    std::fs::write(&creds_path, &password).map_err(|e| e.to_string())?;
    Ok((email, password))
}

/// The demo admin: signed up through the API (which logs the seeder in), then made admin
/// with a verified address in the database.
async fn seed_admin(
    stack: &Stack,
    seeder: &Seeder,
    email: &str,
    password: &str,
) -> Result<(), String> {
    let admin = seeder
        .post(
            "/api/auth/signup",
            json!({"email": email, "password": password, "name": "관리자", "phone": "010-0000-0000", "agree_terms": true, "agree_privacy": true}),
        )
        .await?;
    let id = admin["id"].as_i64().ok_or("sign-up returned no id")?;
    stack
        .psql(&format!(
            "UPDATE users SET role = 'admin', email_verified_at = now() WHERE id = {id}"
        ))
        .map_err(|e| e.to_string())?;
    Ok(())
}

/// The demo regions; their ids in order.
async fn seed_regions(seeder: &Seeder) -> Result<Vec<i64>, String> {
    let regions = [("신촌", 37.5585, 126.9368), ("안암", 37.5890, 127.0326)];
    let mut region_ids = Vec::new();
    for (name, lat, lon) in regions {
        let r = seeder
            .post(
                "/api/admin/classifications",
                json!({"kind": "region", "name": name, "latitude": lat, "longitude": lon}),
            )
            .await?;
        region_ids.push(r["id"].as_i64().unwrap_or_default());
    }
    Ok(region_ids)
}

/// The demo stores, each open with hours, a photo and four umbrellas; the first with a
/// locker.
async fn seed_demo_stores(seeder: &Seeder, region_ids: &[i64]) -> Result<(), String> {
    let stores = [
        (
            0,
            "우산 카페 신촌점",
            "카페",
            37.5597,
            126.9423,
            "1층 입구 우산꽂이",
        ),
        (0, "연세 문구", "문구점", 37.5577, 126.9370, "계산대 옆"),
        (0, "독수리 서점", "서점", 37.5569, 126.9389, "2층 계단 앞"),
        (1, "안암 북카페", "카페", 37.5862, 127.0296, "창가 선반"),
        (
            1,
            "고려 편의점",
            "편의점",
            37.5891,
            127.0330,
            "출입문 오른쪽",
        ),
    ];
    let mut number = 1;
    for (i, (region, name, category, lat, lon, spot)) in stores.into_iter().enumerate() {
        let s = seeder
            .post(
                "/api/admin/stores",
                json!({"name": name, "category": category, "region_id": region_ids[region], "latitude": lat, "longitude": lon,
                       "address": "서울특별시", "umbrella_location": spot, "working_hours": "평일 08-22, 주말 10-20",
                       "contact": "02-000-0000", "description": "업브렐라 협력 대여소입니다."}),
            )
            .await?;
        let store = s["id"].as_i64().unwrap_or_default();
        open_demo_store(seeder, store).await?;
        for _ in 0..4 {
            seeder
                .post(
                    "/api/admin/umbrellas",
                    json!({"store_id": store, "number": number}),
                )
                .await?;
            number += 1;
        }
        if i == 0 {
            seeder
                .post(
                    "/api/admin/lockers",
                    json!({"store_id": store, "secret": "00112233445566778899aabbccddeeff"}),
                )
                .await?;
        }
    }
    Ok(())
}

/// A demo store's photo and hours (weekdays 08–22, weekends 10–20), then activated.
async fn open_demo_store(seeder: &Seeder, store: i64) -> Result<(), String> {
    let image = format!("{}/img/store.svg", seeder.base);
    let week: Vec<Value> = (1..=7)
        .map(|d| {
            if d <= 5 {
                json!({"weekday": d, "open": "08:00", "close": "22:00"})
            } else {
                json!({"weekday": d, "open": "10:00", "close": "20:00"})
            }
        })
        .collect();
    seeder
        .post(
            &format!("/api/admin/stores/{store}/images"),
            json!({"url": image}),
        )
        .await?;
    seeder
        .put(
            &format!("/api/admin/stores/{store}/business-hours"),
            json!(week),
        )
        .await?;
    seeder
        .put(
            &format!("/api/admin/stores/{store}/activation"),
            json!({"activated": true}),
        )
        .await
}

#[cfg(test)]
mod tests {
    use clap::{CommandFactory, Parser};

    use super::Args;

    #[test]
    fn arguments_parse_and_bad_ones_fail() {
        Args::command().debug_assert();
        let args = Args::try_parse_from([
            "cargo stack",
            "--port",
            "8100",
            "--replicas",
            "3",
            "--fresh",
        ])
        .expect("valid arguments");
        assert_eq!((args.port, args.replicas, args.fresh), (8100, 3, true));
        let defaults = Args::try_parse_from(["cargo stack"]).expect("no arguments");
        assert_eq!(
            (defaults.port, defaults.replicas, defaults.fresh),
            (8000, 2, false)
        );
        for bad in [
            &["cargo stack", "--replicas", "0"][..],
            &["cargo stack", "--port", "x"],
            &["cargo stack", "--frobnicate"],
        ] {
            assert!(Args::try_parse_from(bad).is_err(), "{bad:?}");
        }
    }
}
