//! `web-proxy`: the upbrella web tier. See `web-proxy --help`.

use std::process::ExitCode;

use web_proxy::Proxy;
use web_proxy::config::{Config, Layered};

const HELP: &str = "\
web-proxy: the upbrella web tier (reverse proxy to the WAS, static front-end)

Usage:
  web-proxy               serve (the default)
  web-proxy serve         serve
  web-proxy healthcheck   GET /health on the local listener (with TLS: the listener accepts
                          and the admin listener answers /health), with the same
                          configuration as serve; exit 0 if healthy
  web-proxy --help        show this text
  web-proxy --version     show the version

Configuration: WEB_PROXY_* environment variables, optionally over a TOML file named
by WEB_PROXY_CONFIG. README.md lists them all. The essential one:
  WEB_PROXY_UPSTREAMS     comma-separated http://host:port of the WAS (or its ALB)";

fn main() -> ExitCode {
    let command = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "serve".to_owned());
    match command.as_str() {
        "-h" | "--help" | "help" => {
            println!("{HELP}");
            ExitCode::SUCCESS
        }
        "-V" | "--version" => {
            println!("web-proxy {}", env!("CARGO_PKG_VERSION"));
            ExitCode::SUCCESS
        }
        "healthcheck" => healthcheck(),
        "serve" => serve(),
        other => {
            eprintln!("web-proxy: unknown command {other:?}\n\n{HELP}");
            ExitCode::from(2)
        }
    }
}

fn load() -> Result<Config, String> {
    let source = Layered::from_env().map_err(|e| e.to_string())?;
    Config::from_source(&source).map_err(|e| e.to_string())
}

/// Reads the same configuration as `serve` (environment over the TOML file). Plain HTTP:
/// GET /health on the listener. With TLS the listener speaks only TLS, so: the listener
/// accepts connections, and the admin listener (plain HTTP, loopback) answers /health.
fn healthcheck() -> ExitCode {
    use shared::healthcheck::{connect, exit_code, local, probe};
    let config = match load() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("web-proxy: {e}");
            return ExitCode::from(2);
        }
    };
    let timeout = std::time::Duration::from_secs(2);
    let listener = local(config.listen_addr);
    exit_code(if config.tls.is_some() {
        connect(listener, timeout)
            .and_then(|()| probe(local(config.admin_addr), "/health", timeout))
    } else {
        probe(listener, "/health", timeout)
    })
}

fn serve() -> ExitCode {
    shared::telemetry::init("info");
    let config = match load() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("web-proxy: {e}");
            return ExitCode::from(2);
        }
    };
    shared::block_on("web-proxy", async {
        match Proxy::build(config).await {
            Ok(proxy) => {
                proxy.run_until(shared::shutdown::signal()).await;
                ExitCode::SUCCESS
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot start");
                ExitCode::FAILURE
            }
        }
    })
}
