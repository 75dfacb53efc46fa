//! A throwaway Redis on loopback: no persistence, no config file.

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
}

impl Redis {
    /// Starts `redis-server` on a free port, logging to `log_dir/redis.log`.
    pub fn start(log_dir: &Path) -> io::Result<Self> {
        let program = crate::find_program("redis-server", None, &[]).ok_or_else(|| {
            io::Error::other(
                "redis-server not found: install it (Debian: apt-get install redis-server)",
            )
        })?;
        let mut redis = Self {
            port: crate::free_port()?,
            program,
            log: log_dir.join("redis.log"),
            process: None,
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
        let spec = Spec::new("redis", &self.program)
            .arg("--port")
            .arg(self.port.to_string())
            .arg("--bind")
            .arg("127.0.0.1")
            .arg("--save")
            .arg("")
            .arg("--appendonly")
            .arg("no")
            .arg("--daemonize")
            .arg("no")
            .log(self.log.clone());
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
    let mut buf = [0u8; 7];
    s.read_exact(&mut buf).is_ok() && &buf == b"+PONG\r\n"
}

impl Drop for Redis {
    fn drop(&mut self) {
        self.stop();
    }
}
