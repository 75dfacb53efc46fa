//! nginx configured as a competent production reverse proxy: worker per core, upstream
//! keep-alive, HTTP/1.1 to the upstream, sendfile for static files, access log off (as
//! web-proxy's is in the benchmark); h2c on a port of its own (nginx cannot offer both on
//! one plain port). And nginx as the fast upstream both proxies forward to.

use std::net::SocketAddr;
use std::path::Path;

use stack::process::{Process, Signal, Spec};

pub struct Nginx {
    /// Files, and `/api/` to the WAS replicas.
    pub addr: SocketAddr,
    /// `/api/` to the fast upstream, HTTP/1.1.
    pub fast_addr: SocketAddr,
    /// The same, h2c (HTTP/2 without TLS, prior knowledge).
    pub fast_h2_addr: SocketAddr,
    process: Process,
}

/// The fast upstream: one nginx worker answering every path with a fixed small JSON body
/// from memory, so that what a proxy in front of it costs shows.
pub struct Upstream {
    pub addr: SocketAddr,
    /// Stopped when dropped.
    _process: Process,
}

/// The fast upstream's answer: a store marker, about the size of the API's small answers.
pub const FIXED_BODY: &str = r#"{"id":1,"name":"강남역 1번 출구","rentable":true,"umbrellas":12}"#;

fn program() -> Result<std::path::PathBuf, String> {
    stack::find_program("nginx", None, &[std::path::PathBuf::from("/usr/sbin")]).ok_or_else(|| {
        "nginx is not installed (Debian: apt-get install nginx); scripts/bench.sh installs it"
            .to_owned()
    })
}

fn loopback(port: u16) -> Result<SocketAddr, String> {
    format!("127.0.0.1:{port}")
        .parse()
        .map_err(|e| format!("{e}"))
}

/// `/api/` passed to an upstream group, as a production proxy would: HTTP/1.1 with
/// keep-alive, the client's host and address, short connect timeout, retry on error.
fn api_location(upstream: &str) -> String {
    format!(
        r#"        location /api/ {{
            proxy_pass http://{upstream};
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto $scheme;
            proxy_connect_timeout 1s;
            proxy_read_timeout 30s;
            proxy_next_upstream error timeout;
        }}
"#
    )
}

/// Writes `conf` into `root` and starts nginx on it (stopped gracefully, with QUIT).
fn spawn(name: &str, program: &Path, root: &Path, conf: &str) -> Result<Process, String> {
    let conf_path = root.join("nginx.conf");
    std::fs::write(&conf_path, conf).map_err(|e| e.to_string())?;
    let mut spec = Spec::new(name, program)
        .arg("-c")
        .arg(conf_path.display().to_string())
        .log(root.join("stderr.log"));
    spec.stop_signal = Signal::QUIT;
    Process::spawn(spec).map_err(|e| e.to_string())
}

impl Upstream {
    pub fn start(dir: &Path) -> Result<Self, String> {
        let program = program()?;
        let port = stack::free_port().map_err(|e| e.to_string())?;
        let root = dir.join("nginx-upstream");
        std::fs::create_dir_all(root.join("tmp")).map_err(|e| e.to_string())?;
        let conf = format!(
            r#"worker_processes 1;
daemon off;
user root;
pid {root}/nginx.pid;
error_log {root}/error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    keepalive_timeout 75s;
    keepalive_requests 1000000;
    client_body_temp_path {root}/tmp/body;
    proxy_temp_path {root}/tmp/proxy;
    fastcgi_temp_path {root}/tmp/fastcgi;
    uwsgi_temp_path {root}/tmp/uwsgi;
    scgi_temp_path {root}/tmp/scgi;
    server {{
        listen 127.0.0.1:{port};
        default_type application/json;
        location / {{ return 200 '{FIXED_BODY}'; }}
    }}
}}
"#,
            root = root.display(),
        );
        let process = spawn("nginx-upstream", &program, &root, &conf)?;
        let addr = loopback(port)?;
        stack::wait_http_ok(addr, "/health", std::time::Duration::from_secs(10))?;
        Ok(Self {
            addr,
            _process: process,
        })
    }
}

impl Nginx {
    pub fn start(
        dir: &Path,
        upstreams: &[SocketAddr],
        fast: SocketAddr,
        static_dir: &Path,
    ) -> Result<Self, String> {
        let program = program()?;
        let port = stack::free_port().map_err(|e| e.to_string())?;
        let fast_port = stack::free_port().map_err(|e| e.to_string())?;
        let fast_h2_port = stack::free_port().map_err(|e| e.to_string())?;
        let root = dir.join("nginx");
        std::fs::create_dir_all(root.join("tmp")).map_err(|e| e.to_string())?;
        let servers: String = upstreams
            .iter()
            .map(|a| format!("        server {a};\n"))
            .collect();
        let conf = format!(
            r#"worker_processes auto;
daemon off;
user root;
pid {root}/nginx.pid;
error_log {root}/error.log warn;
events {{ worker_connections 4096; }}
http {{
    include /etc/nginx/mime.types;
    access_log off;
    sendfile on;
    tcp_nopush on;
    keepalive_timeout 75s;
    keepalive_requests 1000000;
    http2_max_requests 1000000;
    client_body_temp_path {root}/tmp/body;
    proxy_temp_path {root}/tmp/proxy;
    fastcgi_temp_path {root}/tmp/fastcgi;
    uwsgi_temp_path {root}/tmp/uwsgi;
    scgi_temp_path {root}/tmp/scgi;
    upstream was {{
{servers}        keepalive 64;
        keepalive_timeout 50s;
    }}
    server {{
        listen 127.0.0.1:{port};
        root {static_dir};
{api_to_was}        location / {{
            try_files $uri /index.html;
        }}
    }}
    upstream fast {{
        server {fast};
        keepalive 64;
        keepalive_timeout 50s;
    }}
    server {{
        listen 127.0.0.1:{fast_port};
        listen 127.0.0.1:{fast_h2_port} http2;
{api_to_fast}    }}
}}
"#,
            root = root.display(),
            static_dir = static_dir.display(),
            api_to_was = api_location("was"),
            api_to_fast = api_location("fast"),
        );
        let process = spawn("nginx", &program, &root, &conf)?;
        let addr = loopback(port)?;
        stack::wait_http_ok(addr, "/index.html", std::time::Duration::from_secs(10))?;
        let fast_addr = loopback(fast_port)?;
        stack::wait_http_ok(fast_addr, "/api/health", std::time::Duration::from_secs(10))?;
        Ok(Self {
            addr,
            fast_addr,
            fast_h2_addr: loopback(fast_h2_port)?,
            process,
        })
    }

    /// The master and its workers.
    pub fn pids(&self) -> Vec<i32> {
        let master = self.process.pid();
        let mut pids = vec![master];
        pids.extend(crate::measure::children(master));
        pids
    }
}
