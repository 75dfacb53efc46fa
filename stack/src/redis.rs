//! Redis on loopback, no config file. Throwaway by default (tests); with a data
//! directory it persists (append-only file), so the local stack keeps sessions across a
//! Redis restart as a managed Redis would.

use std::io;
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::process::{Process, Spec};

pub struct Redis {
    port: u16,
    program: PathBuf,
    log: PathBuf,
    process: Option<Process>,
    data_dir: Option<PathBuf>,
    /// More `redis-server` options (TLS, a password).
    extra: Vec<String>,
}

impl Redis {
    /// Starts `redis-server` on a free port, logging to `log_dir/redis.log`.
    pub fn start(log_dir: &Path) -> io::Result<Self> {
        Self::start_with(log_dir, crate::free_port()?, None)
    }

    /// Starts on `port`; with `data_dir`, sessions survive a restart.
    pub fn start_with(log_dir: &Path, port: u16, data_dir: Option<PathBuf>) -> io::Result<Self> {
        Self::start_configured(log_dir, port, data_dir, Vec::new())
    }

    /// Starts on `port` with more options, e.g. `--tls-port` and `--requirepass`: the
    /// plain `port` stays open for the test's own commands.
    pub fn start_configured(
        log_dir: &Path,
        port: u16,
        data_dir: Option<PathBuf>,
        extra: Vec<String>,
    ) -> io::Result<Self> {
        let program = crate::find_program("redis-server", None, &[]).ok_or_else(|| {
            io::Error::other(
                "redis-server not found: install it (Debian: apt-get install redis-server)",
            )
        })?;
        if let Some(d) = &data_dir {
            std::fs::create_dir_all(d)?;
        }
        let mut redis = Self {
            port,
            program,
            log: log_dir.join("redis.log"),
            process: None,
            data_dir,
            extra,
        };
        redis.restart()?;
        Ok(redis)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Stops Redis (its data is gone: sessions live in memory only).
    pub fn stop(&mut self) {
        if let Some(mut p) = self.process.take() {
            p.stop(Duration::from_secs(5));
        }
    }

    pub fn process(&self) -> Option<&Process> {
        self.process.as_ref()
    }

    /// Starts (again) on the same port and waits until it accepts connections.
    pub fn restart(&mut self) -> io::Result<()> {
        self.stop();
        let mut spec = Spec::new("redis", &self.program)
            .arg("--port")
            .arg(self.port.to_string())
            .arg("--bind")
            .arg("127.0.0.1")
            .arg("--save")
            .arg("")
            .arg("--daemonize")
            .arg("no")
            .log(self.log.clone());
        spec = match &self.data_dir {
            Some(dir) => spec
                .arg("--dir")
                .arg(dir.display().to_string())
                .arg("--appendonly")
                .arg("yes")
                .arg("--appendfsync")
                .arg("everysec"),
            None => spec.arg("--appendonly").arg("no"),
        };
        for arg in &self.extra {
            spec = spec.arg(arg.clone());
        }
        self.process = Some(Process::spawn(spec)?);
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, self.port));
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(10) {
            if ping(addr) {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        Err(io::Error::other(format!("redis did not start on {addr}")))
    }
}

fn ping(addr: SocketAddr) -> bool {
    use std::io::{Read, Write};
    let Ok(mut s) = TcpStream::connect_timeout(&addr, Duration::from_millis(200)) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_millis(500)));
    if s.write_all(b"PING\r\n").is_err() {
        return false;
    }
    // A server with a password answers NOAUTH: it is up all the same.
    let mut buf = [0u8; 7];
    s.read_exact(&mut buf).is_ok() && (&buf == b"+PONG\r\n" || &buf == b"-NOAUTH")
}

impl Drop for Redis {
    fn drop(&mut self) {
        self.stop();
    }
}
