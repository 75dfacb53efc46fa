//! The `healthcheck` subcommand of both binaries: one `GET /health` to the local server,
//! exit 0 on 200 and 1 otherwise. Container images carry no curl, so the binary probes
//! itself. Plain HTTP/1.1 over a TCP socket keeps this free of any client dependency.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

/// Probes `http://{addr}{path}` and returns whether it answered 200 within `timeout`.
pub fn probe(addr: SocketAddr, path: &str, timeout: Duration) -> Result<(), String> {
    let mut stream = TcpStream::connect_timeout(&addr, timeout)
        .map_err(|e| format!("cannot connect to {addr}: {e}"))?;
    stream
        .set_read_timeout(Some(timeout))
        .and_then(|()| stream.set_write_timeout(Some(timeout)))
        .map_err(|e| format!("cannot set timeouts: {e}"))?;
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nUser-Agent: healthcheck\r\n\r\n"
    );
    stream
        .write_all(request.as_bytes())
        .map_err(|e| format!("cannot send the request: {e}"))?;
    let mut head = [0u8; 64];
    let mut read = 0;
    while read < 12 {
        match stream.read(&mut head[read..]) {
            Ok(0) => break,
            Ok(n) => read += n,
            Err(e) => return Err(format!("no answer from {addr}: {e}")),
        }
    }
    let status_line = String::from_utf8_lossy(&head[..read]);
    let status = status_line.split_whitespace().nth(1).unwrap_or("");
    if status == "200" {
        Ok(())
    } else {
        Err(format!(
            "{addr}{path} answered {:?}",
            status_line.lines().next().unwrap_or("")
        ))
    }
}

/// Whether something accepts TCP connections on `addr` within `timeout`.
pub fn connect(addr: SocketAddr, timeout: Duration) -> Result<(), String> {
    TcpStream::connect_timeout(&addr, timeout)
        .map(drop)
        .map_err(|e| format!("cannot connect to {addr}: {e}"))
}

/// Where to reach a server listening on `addr` from the same host: a wildcard address
/// becomes the loopback of its family.
pub fn local(addr: SocketAddr) -> SocketAddr {
    match addr.ip() {
        std::net::IpAddr::V4(ip) if ip.is_unspecified() => {
            SocketAddr::from(([127, 0, 0, 1], addr.port()))
        }
        std::net::IpAddr::V6(ip) if ip.is_unspecified() => {
            SocketAddr::from((std::net::Ipv6Addr::LOCALHOST, addr.port()))
        }
        _ => addr,
    }
}

/// Exit code of a probe's outcome, printing why it failed.
pub fn exit_code(outcome: Result<(), String>) -> std::process::ExitCode {
    match outcome {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("unhealthy: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// The `healthcheck` subcommand: probes `/health` on the port of the listen address in
/// `listen_var` (or `default_port`) on 127.0.0.1, and exits 0 or 1.
pub fn subcommand(listen_var: &str, default_port: u16) -> std::process::ExitCode {
    let port = std::env::var(listen_var)
        .ok()
        .and_then(|a| a.parse::<SocketAddr>().ok())
        .map_or(default_port, |a| a.port());
    exit_code(probe(
        SocketAddr::from(([127, 0, 0, 1], port)),
        "/health",
        Duration::from_secs(2),
    ))
}
