//! `web-proxy`: the upbrella web tier. See `web-proxy --help`.

use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};
use shared::config::{unknown_vars, vars_help};
use web_proxy::Proxy;
use web_proxy::config::{Config, Layered};

/// The upbrella web tier: a reverse proxy to the WAS that also serves the front-end.
///
/// Configuration: the environment variables below, optionally over a TOML file named by
/// WEB_PROXY_CONFIG (docs/configuration.md "web-proxy configuration" says more about each).
#[derive(Parser)]
#[command(name = "web-proxy", version)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand, Clone, Copy)]
enum Command {
    /// Serve (the default)
    Serve,
    /// GET /health on the local listener (with TLS: the listener accepts and the admin
    /// listener answers /health), with the same configuration as serve; exit 0 if healthy
    Healthcheck,
}

/// mimalloc instead of glibc's malloc: a forwarded request allocates and frees a few dozen
/// small blocks across two worker threads, and glibc's arenas spent about a fifth of the
/// proxy's CPU on them (`_int_malloc`, `malloc_consolidate`, `_int_free` in the profile).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let help = vars_help("Environment variables", web_proxy::config::VARS);
    let matches = Cli::command().after_help(help).get_matches();
    let cli = match Cli::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(e) => e.exit(),
    };
    match cli.command.unwrap_or(Command::Serve) {
        Command::Healthcheck => healthcheck(),
        Command::Serve => serve(),
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
    let _log = shared::telemetry::init("info");
    let set: Vec<String> = std::env::vars_os()
        .filter_map(|(name, _)| name.into_string().ok())
        .collect();
    let known = web_proxy::config::VARS;
    for name in unknown_vars(set.iter().map(String::as_str), &["WEB_PROXY_"], known) {
        tracing::warn!(variable = %name, "not a setting of web-proxy (see web-proxy --help); ignored");
    }
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
