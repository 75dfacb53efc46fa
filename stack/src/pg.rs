//! A throwaway PostgreSQL cluster on loopback, tuned for tests (no fsync).
//!
//! PostgreSQL refuses to run as root; when we are root, `initdb` and `postgres` run as
//! the `postgres` user that Debian's package creates, on a directory it owns.

use std::io;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::process::{Process, Signal, Spec};

pub struct Postgres {
    port: u16,
    data: PathBuf,
    socket_dir: PathBuf,
    bin: PathBuf,
    user: Option<&'static str>,
    log: PathBuf,
    process: Option<Process>,
}

fn is_root() -> bool {
    rustix::process::geteuid().is_root()
}

/// The directory holding `initdb` and `postgres`: `$PG_BIN`, else the newest
/// `/usr/lib/postgresql/*/bin`, else `PATH`.
pub fn bin_dir() -> io::Result<PathBuf> {
    if let Ok(dir) = std::env::var("PG_BIN") {
        return Ok(PathBuf::from(dir));
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let v = e.file_name().to_str()?.parse::<u32>().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").is_file().then_some((v, bin))
        })
        .collect();
    versions.sort();
    if let Some((_, bin)) = versions.pop() {
        return Ok(bin);
    }
    crate::find_program("initdb", None, &[])
        .and_then(|p| p.parent().map(Path::to_path_buf))
        .ok_or_else(|| io::Error::other("PostgreSQL not found: install it (Debian: apt-get install postgresql) or set PG_BIN"))
}

impl Postgres {
    /// Creates (if needed) and starts a cluster in `dir`, on a free port.
    pub fn start(dir: &Path) -> io::Result<Self> {
        Self::start_on(dir, crate::free_port()?)
    }

    pub fn start_on(dir: &Path, port: u16) -> io::Result<Self> {
        let bin = bin_dir()?;
        let user = is_root().then_some("postgres");
        let data = dir.join("data");
        let socket_dir = dir.join("run");
        std::fs::create_dir_all(&socket_dir)?;
        if let Some(user) = user {
            let status = Command::new("chown")
                .arg("-R")
                .arg(format!("{user}:"))
                .arg(dir)
                .status()?;
            if !status.success() {
                return Err(io::Error::other(format!(
                    "cannot chown {} to {user}",
                    dir.display()
                )));
            }
        }
        let log = dir.join("postgres.log");
        if !data.join("PG_VERSION").exists() {
            let mut cmd = match user {
                Some(u) => {
                    let mut c = Command::new("setpriv");
                    c.arg(format!("--reuid={u}"))
                        .arg(format!("--regid={u}"))
                        .arg("--init-groups")
                        .arg(bin.join("initdb"));
                    c
                }
                None => Command::new(bin.join("initdb")),
            };
            let out = cmd
                .arg("-D")
                .arg(&data)
                .args([
                    "-U",
                    "postgres",
                    "--auth=trust",
                    "--encoding=UTF8",
                    "--no-locale",
                    "--no-sync",
                ])
                .output()?;
            if !out.status.success() {
                return Err(io::Error::other(format!(
                    "initdb failed: {}{}",
                    String::from_utf8_lossy(&out.stdout),
                    String::from_utf8_lossy(&out.stderr)
                )));
            }
            // As in production, roles other than the superuser must give their password
            // over TCP (the WAS's least-privilege role and its rotation are tested
            // against this); the superuser and the Unix socket stay trusted.
            std::fs::write(
                data.join("pg_hba.conf"),
                "local all all trust\n\
                 host all postgres 127.0.0.1/32 trust\n\
                 host all postgres ::1/128 trust\n\
                 host all all 127.0.0.1/32 scram-sha-256\n\
                 host all all ::1/128 scram-sha-256\n",
            )?;
        }
        let mut pg = Self {
            port,
            data,
            socket_dir,
            bin,
            user,
            log,
            process: None,
        };
        pg.restart()?;
        Ok(pg)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// A URL for database `db` as the superuser.
    pub fn url(&self, db: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{db}", self.port)
    }

    pub fn process(&self) -> Option<&Process> {
        self.process.as_ref()
    }

    /// Fast shutdown: active connections are cut, as in a crash of the server.
    pub fn stop(&mut self) {
        if let Some(mut p) = self.process.take() {
            p.stop(Duration::from_secs(10));
        }
    }

    /// Starts (again) and waits until it accepts connections.
    pub fn restart(&mut self) -> io::Result<()> {
        self.stop();
        let program = self.bin.join("postgres");
        let mut spec = Spec::new("postgres", &program)
            .arg("-D")
            .arg(self.data.display().to_string())
            .arg("-p")
            .arg(self.port.to_string())
            .arg("-k")
            .arg(self.socket_dir.display().to_string());
        for setting in [
            "listen_addresses=127.0.0.1",
            "fsync=off",
            "synchronous_commit=off",
            "full_page_writes=off",
            "max_connections=300",
            "shared_buffers=64MB",
        ] {
            spec = spec.arg("-c").arg(setting);
        }
        spec.user = self.user;
        // SIGINT is PostgreSQL's "fast shutdown"; SIGTERM would wait for every client.
        spec.stop_signal = Signal::INT;
        spec = spec.log(self.log.clone());
        self.process = Some(Process::spawn(spec)?);
        let started = Instant::now();
        loop {
            let ready = Command::new(self.bin.join("pg_isready"))
                .args(["-q", "-h", "127.0.0.1", "-U", "postgres", "-p"])
                .arg(self.port.to_string())
                .status()
                .map(|s| s.success())
                .unwrap_or(false);
            if ready {
                return Ok(());
            }
            if started.elapsed() > Duration::from_secs(30) {
                let tail = self
                    .process
                    .as_ref()
                    .map(|p| p.log_tail(20))
                    .unwrap_or_default();
                return Err(io::Error::other(format!(
                    "postgres did not become ready:\n{tail}"
                )));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        self.stop();
    }
}
