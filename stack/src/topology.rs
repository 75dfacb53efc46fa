//! The whole local topology: Redis, PostgreSQL, migrations, WAS replicas, web-proxies.
//! The launcher and the resilience suite both start it through [`Stack::start`], and the
//! suite then kills, pauses and restarts its parts.

use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::pg::{self, Postgres};
use crate::process::{Process, Spec};
use crate::redis::Redis;

/// Where the `was` and `web-proxy` binaries are.
#[derive(Debug, Clone)]
pub struct Binaries {
    pub was: PathBuf,
    pub web_proxy: PathBuf,
}

impl Binaries {
    /// The workspace's `target/<profile>` binaries (`CARGO_TARGET_DIR` is honoured).
    pub fn in_target(profile: &str) -> io::Result<Self> {
        let target = std::env::var_os("CARGO_TARGET_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| workspace_root().join("target"));
        let dir = target.join(profile);
        let bins = Self {
            was: dir.join("was"),
            web_proxy: dir.join("web-proxy"),
        };
        for b in [&bins.was, &bins.web_proxy] {
            if !b.is_file() {
                return Err(io::Error::other(format!(
                    "{} is missing: build it first (cargo build{} -p was -p web-proxy)",
                    b.display(),
                    if profile == "release" {
                        " --release"
                    } else {
                        ""
                    }
                )));
            }
        }
        Ok(bins)
    }
}

pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default()
}

#[derive(Debug, Clone)]
pub struct Options {
    /// State directory: PostgreSQL data, Redis's append-only file, logs.
    pub dir: PathBuf,
    pub was_replicas: usize,
    pub proxies: usize,
    /// Port of the first web-proxy (others follow); `None` picks free ports.
    pub proxy_port: Option<u16>,
    pub static_dir: Option<PathBuf>,
    /// Redis keeps its data across restarts.
    pub persistent_redis: bool,
    pub was_env: Vec<(String, String)>,
    pub proxy_env: Vec<(String, String)>,
    pub bank_key: String,
    /// `SERVER_HMAC_KEY` of the WAS replicas (not the bank key).
    pub server_key: String,
    /// The secret web-proxy adds to what it forwards and the WAS demands
    /// (`WEB_PROXY_UPSTREAM_SECRET`, `WAS_PROXY_SECRET`); `None` leaves both unset, so
    /// the WAS can also be called directly.
    pub proxy_secret: Option<String>,
}

impl Options {
    pub fn new(dir: PathBuf) -> Self {
        Self {
            dir,
            was_replicas: 2,
            proxies: 1,
            proxy_port: None,
            static_dir: None,
            persistent_redis: true,
            was_env: Vec::new(),
            proxy_env: Vec::new(),
            bank_key: "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f".into(),
            server_key: "1f1e1d1c1b1a191817161514131211100f0e0d0c0b0a09080706050403020100".into(),
            proxy_secret: None,
        }
    }
}

/// A server process we can stop and start again on the same address, as an
/// orchestrator restarts a container.
pub struct Service {
    pub name: String,
    pub addr: SocketAddr,
    /// Admin listener (web-proxy only).
    pub admin: Option<SocketAddr>,
    program: PathBuf,
    env: Vec<(String, String)>,
    log: PathBuf,
    pub process: Option<Process>,
}

impl Service {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Starts the process and waits for its /health.
    pub fn start(&mut self) -> io::Result<Duration> {
        if self.process.is_some() {
            return Err(io::Error::other(format!(
                "{} is already running",
                self.name
            )));
        }
        let mut spec = Spec::new(&self.name, &self.program).log(self.log.clone());
        for (k, v) in &self.env {
            spec = spec.env(k.clone(), v.clone());
        }
        let process = Process::spawn(spec)?;
        match crate::wait_http_ok(
            self.admin.unwrap_or(self.addr),
            "/health",
            Duration::from_secs(30),
        ) {
            Ok(took) => {
                self.process = Some(process);
                Ok(took)
            }
            Err(e) => Err(io::Error::other(format!(
                "{} did not become healthy: {e}\n{}",
                self.name,
                process.log_tail(30)
            ))),
        }
    }

    /// SIGKILL: the process dies without a word, like a crashed container.
    pub fn kill(&mut self) {
        if let Some(mut p) = self.process.take() {
            p.kill();
        }
    }

    /// SIGTERM, then waits for the graceful exit.
    pub fn stop(&mut self, within: Duration) {
        if let Some(mut p) = self.process.take() {
            p.stop(within);
        }
    }

    pub fn process(&self) -> Option<&Process> {
        self.process.as_ref()
    }
}

pub struct Stack {
    pub redis: Redis,
    pub postgres: Postgres,
    pub database_url: String,
    pub was: Vec<Service>,
    pub proxies: Vec<Service>,
    pub options: Options,
}

fn local(port: u16) -> SocketAddr {
    SocketAddr::from((Ipv4Addr::LOCALHOST, port))
}

impl Stack {
    pub fn start(bins: &Binaries, options: Options) -> io::Result<Self> {
        let dir = &options.dir;
        std::fs::create_dir_all(dir.join("logs"))?;
        let logs = dir.join("logs");
        let redis_data = options.persistent_redis.then(|| dir.join("redis"));
        let redis = Redis::start_with(&logs, crate::free_port()?, redis_data)?;
        let postgres = Postgres::start(&dir.join("postgres"))?;
        create_database(&postgres, "upbrella")?;
        let database_url = postgres.url("upbrella");

        let common = common_env(&database_url, &redis.url(), &options);
        let migrate = Command::new(&bins.was)
            .arg("migrate")
            .envs(common.iter().map(|(k, v)| (k, v)))
            .output()?;
        if !migrate.status.success() {
            return Err(io::Error::other(format!(
                "was migrate failed:\n{}",
                String::from_utf8_lossy(&migrate.stdout)
            )));
        }

        let mut was = Vec::new();
        for i in 1..=options.was_replicas {
            let port = crate::free_port()?;
            let admin = local(crate::free_port()?);
            let mut env = common.clone();
            env.push(("WAS_LISTEN_ADDR".into(), local(port).to_string()));
            env.push(("WAS_ADMIN_ADDR".into(), admin.to_string()));
            env.push(("WAS_INSTANCE_ID".into(), format!("was-{i}")));
            env.push(("WAS_SHUTDOWN_GRACE".into(), "10s".into()));
            // As the image sets it (docker/was.Dockerfile).
            env.push(("MIMALLOC_PURGE_DELAY".into(), "0".into()));
            if let Some(secret) = &options.proxy_secret {
                env.push(("WAS_PROXY_SECRET".into(), secret.clone()));
            }
            env.extend(options.was_env.iter().cloned());
            let mut s = Service {
                name: format!("was-{i}"),
                addr: local(port),
                admin: Some(admin),
                program: bins.was.clone(),
                env,
                log: logs.join(format!("was-{i}.log")),
                process: None,
            };
            s.start()?;
            was.push(s);
        }

        let upstreams: Vec<String> = was.iter().map(|w| format!("http://{}", w.addr)).collect();
        let mut proxies = Vec::new();
        for i in 1..=options.proxies {
            let port = match options.proxy_port {
                Some(p) => p + u16::try_from(i - 1).unwrap_or(0),
                None => crate::free_port()?,
            };
            let admin = crate::free_port()?;
            let mut env = vec![
                ("WEB_PROXY_LISTEN_ADDR".into(), local(port).to_string()),
                ("WEB_PROXY_ADMIN_ADDR".into(), local(admin).to_string()),
                ("WEB_PROXY_UPSTREAMS".into(), upstreams.join(",")),
                ("WEB_PROXY_INSTANCE_ID".into(), format!("web-proxy-{i}")),
                ("LOG_FORMAT".into(), "json".into()),
            ];
            if let Some(static_dir) = &options.static_dir {
                env.push((
                    "WEB_PROXY_STATIC_DIR".into(),
                    static_dir.display().to_string(),
                ));
            }
            if let Some(secret) = &options.proxy_secret {
                env.push(("WEB_PROXY_UPSTREAM_SECRET".into(), secret.clone()));
            }
            env.extend(options.proxy_env.iter().cloned());
            let mut s = Service {
                name: format!("web-proxy-{i}"),
                addr: local(port),
                admin: Some(local(admin)),
                program: bins.web_proxy.clone(),
                env,
                log: logs.join(format!("web-proxy-{i}.log")),
                process: None,
            };
            s.start()?;
            proxies.push(s);
        }
        Ok(Self {
            redis,
            postgres,
            database_url,
            was,
            proxies,
            options,
        })
    }

    /// The settings a WAS replica gets, without those of its listeners: what a one-off
    /// `was` command of this stack (`was remind`) runs with.
    pub fn was_env(&self) -> Vec<(String, String)> {
        let mut env = common_env(&self.database_url, &self.redis.url(), &self.options);
        if let Some(secret) = &self.options.proxy_secret {
            env.push(("WAS_PROXY_SECRET".into(), secret.clone()));
        }
        env.extend(self.options.was_env.iter().cloned());
        env
    }

    /// Runs SQL through `psql` as the superuser; returns its unaligned output.
    pub fn psql(&self, sql: &str) -> io::Result<String> {
        psql(&self.postgres, "upbrella", sql)
    }

    /// Stops everything, front to back: proxies, replicas, then Redis and PostgreSQL.
    pub fn shutdown(&mut self) {
        for p in &mut self.proxies {
            p.stop(Duration::from_secs(10));
        }
        for w in &mut self.was {
            w.stop(Duration::from_secs(15));
        }
        self.redis.stop();
        self.postgres.stop();
    }
}

impl Drop for Stack {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// What every `was` process of the stack is given: the data stores and the keys.
fn common_env(database_url: &str, redis_url: &str, options: &Options) -> Vec<(String, String)> {
    vec![
        ("DATABASE_URL".into(), database_url.to_owned()),
        ("REDIS_URL".into(), redis_url.to_owned()),
        ("BANK_ENCRYPTION_KEY".into(), options.bank_key.clone()),
        ("SERVER_HMAC_KEY".into(), options.server_key.clone()),
        ("LOG_FORMAT".into(), "json".into()),
    ]
}

pub fn psql(pg: &Postgres, db: &str, sql: &str) -> io::Result<String> {
    let out = Command::new(pg::bin_dir()?.join("psql"))
        .args([
            "-X",
            "-q",
            "-tA",
            "-v",
            "ON_ERROR_STOP=1",
            "-h",
            "127.0.0.1",
            "-U",
            "postgres",
            "-p",
        ])
        .arg(pg.port().to_string())
        .arg("-d")
        .arg(db)
        .arg("-c")
        .arg(sql)
        .output()?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
    } else {
        Err(io::Error::other(format!(
            "psql: {}",
            String::from_utf8_lossy(&out.stderr)
        )))
    }
}

fn create_database(pg: &Postgres, name: &str) -> io::Result<()> {
    let exists = psql(
        pg,
        "postgres",
        &format!("SELECT 1 FROM pg_database WHERE datname = '{name}'"),
    )?;
    if exists != "1" {
        psql(pg, "postgres", &format!("CREATE DATABASE {name}"))?;
    }
    Ok(())
}
