//! The upbrella topology as real local processes: Redis, a throwaway PostgreSQL cluster,
//! WAS replicas and web-proxies. The one-command launcher and every test that needs real
//! components start them through this crate, so there is one way to do it.
//!
//! Each process runs under a small guardian shell that kills it when the parent process
//! goes away, however it goes away (a test binary that panics or is killed leaves no
//! Redis or PostgreSQL behind), and in its own process group, so Ctrl-C reaches only the
//! launcher, which then stops everything in order.

pub mod mailcatcher;
pub mod pg;
pub mod photos;
pub mod process;
pub mod redis;
pub mod remind;
pub mod seed;
pub mod topology;

pub use mailcatcher::MailCatcher;
pub use pg::Postgres;
pub use photos::PhotoStore;
pub use process::{Process, Signal};
pub use redis::Redis;
pub use topology::{Binaries, Options, Service, Stack};

use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

/// A port on 127.0.0.1 that was free a moment ago, for a server about to be started on
/// it.
///
/// Taken below the kernel's ephemeral range (`net.ipv4.ip_local_port_range`), which
/// outgoing connections draw their local ports from. A port from `bind(0)` comes from
/// that range, so between this check and the server's own bind an outgoing connection (a
/// pool's, the load's) could take it and the server would not start ("address already
/// in use"); below the range only a listener can. Each process starts at its own place
/// in the range and never hands out a port twice in a row.
pub fn free_port() -> std::io::Result<u16> {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    const FIRST: u32 = 10_000;
    let span = u32::from(ephemeral_low()).saturating_sub(FIRST);
    if span > 0 {
        let start = std::process::id().wrapping_mul(7_919) % span;
        for _ in 0..span {
            let n = NEXT.fetch_add(1, Ordering::Relaxed);
            let Ok(port) = u16::try_from(FIRST + (start + n) % span) else {
                continue;
            };
            if TcpListener::bind((Ipv4Addr::LOCALHOST, port)).is_ok() {
                return Ok(port);
            }
        }
    }
    // No room below the range (an unusual kernel setting): any free port.
    Ok(TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?
        .local_addr()?
        .port())
}

/// The lowest port the kernel gives outgoing connections (Linux's default: 32768).
fn ephemeral_low() -> u16 {
    std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|range| range.split_whitespace().next()?.parse().ok())
        .unwrap_or(32_768)
}

/// Polls `GET http://addr{path}` until it answers 200 or `timeout` passes.
pub fn wait_http_ok(addr: SocketAddr, path: &str, timeout: Duration) -> Result<Duration, String> {
    let started = Instant::now();
    let mut last = String::new();
    while started.elapsed() < timeout {
        match shared::healthcheck::probe(addr, path, Duration::from_millis(500)) {
            Ok(()) => return Ok(started.elapsed()),
            Err(e) => last = e,
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    Err(format!(
        "{addr}{path} not healthy after {timeout:?}: {last}"
    ))
}

/// A fresh directory under the system temp dir, removed by [`TempDir`]'s drop, and also
/// when this process dies (a guardian removes it).
pub struct TempDir {
    path: PathBuf,
    _janitor: Option<Process>,
}

impl TempDir {
    pub fn new(prefix: &str) -> std::io::Result<Self> {
        let path = std::env::temp_dir().join(format!("{prefix}-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&path)?;
        let janitor = Process::janitor(&path).ok();
        Ok(Self {
            path,
            _janitor: janitor,
        })
    }

    pub fn path(&self) -> &std::path::Path {
        &self.path
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

/// Finds a program: `$override_var`, then each of `dirs`, then `PATH`.
pub fn find_program(name: &str, override_var: Option<&str>, dirs: &[PathBuf]) -> Option<PathBuf> {
    if let Some(var) = override_var
        && let Ok(dir) = std::env::var(var)
    {
        let p = PathBuf::from(dir).join(name);
        if p.is_file() {
            return Some(p);
        }
    }
    for d in dirs {
        let p = d.join(name);
        if p.is_file() {
            return Some(p);
        }
    }
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join(name))
            .find(|p| p.is_file())
    })
}

#[cfg(test)]
mod port_tests {
    use super::*;

    #[test]
    fn free_ports_come_from_below_the_ephemeral_range_and_differ() {
        let low = ephemeral_low();
        let a = free_port().unwrap();
        let b = free_port().unwrap();
        assert_ne!(a, b);
        for port in [a, b] {
            assert!(port < low, "{port} is in the ephemeral range (from {low})");
            TcpListener::bind((Ipv4Addr::LOCALHOST, port)).unwrap();
        }
    }
}
