//! `bench`: the performance numbers of upbrella, side by side, from one command
//! (`scripts/bench.sh`). Starts the real topology from release binaries on loopback,
//! nginx as a competent production proxy over the same upstreams, a fast upstream (nginx
//! answering a fixed body) so that a proxy's own cost shows, a bare axum server doing the
//! WAS's work without its layers, and a bare axum "hello" as the ceiling; drives them with
//! wrk (and h2load for h2c); puts the whole stack through a rainy morning's rush (`rush`);
//! writes `bench/results/latest.md` and SVG plots.
//!
//! web-proxy and nginx run in rounds, alternating (A B A B …) so that a slow minute of
//! the machine hurts both; the tables give the median of the rounds and their spread.
//!
//! Load generator: wrk (Debian's package). It is the tool nginx's own figures are usually
//! quoted with, it keeps connections alive, reports latency percentiles through its Lua
//! hook, and costs little CPU per request, which matters when client and servers share
//! two cores. The rent/return cycle needs per-user sessions and state, so it runs in a
//! small Rust client instead.

mod duels;
mod h2load;
mod haproxy;
mod measure;
mod nginx;
mod plot;
mod report;
mod run;
mod rush;
mod rush_report;
mod same_work;
mod seed;
mod wrk;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::run::run;

/// The performance numbers of upbrella, side by side with nginx and a bare axum server,
/// written to bench/results/latest.md with SVG plots (scripts/bench.sh builds and runs
/// this).
#[derive(Parser)]
#[command(name = "bench", version)]
struct Cli {
    /// A short run proving the benchmark works; its figures mean nothing
    #[arg(long)]
    smoke: bool,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the bare axum "hello" ceiling on 127.0.0.1 (the benchmark starts it itself)
    Hello {
        #[arg(default_value_t = 18999)]
        port: u16,
    },
    /// Serve the WAS's same-work baseline on 127.0.0.1 (the benchmark starts it itself)
    SameWork {
        port: u16,
        #[arg(long)]
        database_url: String,
        #[arg(long)]
        redis_url: String,
        #[arg(long, default_value_t = 16)]
        pool_size: u32,
        /// The session cookie's name
        #[arg(long)]
        cookie: String,
        /// The logged-in user whom the session names
        #[arg(long)]
        user_id: i64,
    },
    /// Only the rainy-morning rush, on a topology of its own; writes
    /// bench/results/rush.md and rush.svg (the full run includes it in latest.md)
    Rush,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Some(Command::Hello { port }) => return hello(port),
        Some(Command::SameWork {
            port,
            database_url,
            redis_url,
            pool_size,
            cookie,
            user_id,
        }) => {
            let runtime = tokio::runtime::Runtime::new().expect("a tokio runtime");
            return match runtime.block_on(same_work::serve(
                port,
                &database_url,
                &redis_url,
                pool_size,
                cookie,
                user_id,
            )) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("bench same-work: {e}");
                    ExitCode::FAILURE
                }
            };
        }
        Some(Command::Rush) | None => {}
    }
    let runtime = tokio::runtime::Runtime::new().expect("a tokio runtime");
    let outcome = if matches!(cli.command, Some(Command::Rush)) {
        runtime.block_on(crate::run::rush_only(cli.smoke))
    } else {
        runtime.block_on(run(cli.smoke))
    };
    match outcome {
        Ok(path) => {
            println!("results written to {}", path.display());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("bench: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The ceiling: the least an axum server can do per request.
fn hello(port: u16) -> ExitCode {
    let runtime = tokio::runtime::Runtime::new().expect("a tokio runtime");
    runtime.block_on(async move {
        let app = axum::Router::new()
            .route("/hello", axum::routing::get(|| async { "hello" }))
            .route("/health", axum::routing::get(|| async { "ok" }));
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
            .await
            .expect("bind");
        axum::serve(listener, app).await.expect("serve");
    });
    ExitCode::SUCCESS
}

#[cfg(test)]
mod tests {
    use clap::{CommandFactory, Parser};

    use super::{Cli, Command};

    #[test]
    fn help_does_not_run_the_benchmark_and_unknown_flags_fail() {
        Cli::command().debug_assert();
        let help = Cli::try_parse_from(["bench", "--help"])
            .err()
            .map(|e| e.kind());
        assert_eq!(help, Some(clap::error::ErrorKind::DisplayHelp));
        let unknown = Cli::try_parse_from(["bench", "--rounds", "3"])
            .err()
            .map(|e| e.kind());
        assert_eq!(unknown, Some(clap::error::ErrorKind::UnknownArgument));
        let smoke = Cli::try_parse_from(["bench", "--smoke"]).expect("--smoke parses");
        assert!(smoke.smoke && smoke.command.is_none());
        let same = Cli::try_parse_from([
            "bench",
            "same-work",
            "19002",
            "--database-url",
            "postgres://x",
            "--redis-url",
            "redis://x",
            "--cookie",
            "id",
            "--user-id",
            "1",
        ])
        .expect("same-work parses");
        assert!(matches!(
            same.command,
            Some(Command::SameWork {
                port: 19002,
                pool_size: 16,
                ..
            })
        ));
        let hello = Cli::try_parse_from(["bench", "hello", "19001"]).expect("hello parses");
        assert!(matches!(
            hello.command,
            Some(Command::Hello { port: 19001 })
        ));
    }
}
