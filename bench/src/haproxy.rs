//! HAProxy as the second peer proxy: what Debian ships (2.6), configured as a production
//! HTTP proxy would be (threads per core, kept upstream connections shared between
//! requests, `X-Forwarded-For`/`-Proto`, logging off as everyone's is here), in front of
//! the same fast upstream as nginx and web-proxy.

use std::net::SocketAddr;
use std::path::Path;

use stack::process::{Process, Spec};

pub struct HaProxy {
    pub addr: SocketAddr,
    process: Process,
}

fn program() -> Result<std::path::PathBuf, String> {
    stack::find_program("haproxy", None, &[std::path::PathBuf::from("/usr/sbin")]).ok_or_else(
        || {
            "haproxy is not installed (Debian: apt-get install haproxy); scripts/bench.sh installs it"
                .to_owned()
        },
    )
}

impl HaProxy {
    pub fn start(dir: &Path, fast: SocketAddr) -> Result<Self, String> {
        let program = program()?;
        let port = stack::free_port().map_err(|e| e.to_string())?;
        let root = dir.join("haproxy");
        std::fs::create_dir_all(&root).map_err(|e| e.to_string())?;
        let conf = format!(
            r#"global
    maxconn 8192
defaults
    mode http
    timeout connect 1s
    timeout client 75s
    timeout server 30s
    timeout http-keep-alive 75s
    option forwardfor
    http-reuse always
frontend api
    bind 127.0.0.1:{port}
    http-request set-header X-Forwarded-Proto http
    default_backend fast
backend fast
    server fast {fast}
"#
        );
        let conf_path = root.join("haproxy.cfg");
        std::fs::write(&conf_path, conf).map_err(|e| e.to_string())?;
        let process = Process::spawn(
            Spec::new("haproxy", &program)
                .arg("-db")
                .arg("-f")
                .arg(conf_path.display().to_string())
                .log(root.join("stderr.log")),
        )
        .map_err(|e| e.to_string())?;
        let addr: SocketAddr = format!("127.0.0.1:{port}")
            .parse()
            .map_err(|e| format!("{e}"))?;
        stack::wait_http_ok(addr, "/api/health", std::time::Duration::from_secs(10))?;
        Ok(Self { addr, process })
    }

    pub fn pid(&self) -> i32 {
        self.process.pid()
    }
}
