//! `was`: the upbrella application server. See `was --help`.

use std::process::ExitCode;
use std::time::Duration;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};
use shared::config::{Env, unknown_vars, vars_help};
use was::{Application, Config};

/// mimalloc instead of glibc's malloc. argon2 allocates 19 MiB per hash; glibc keeps such
/// blocks in per-thread arenas after they are freed (its mmap threshold rises to meet
/// them), so a login flood left a replica at gigabytes of resident memory for good.
/// mimalloc returns freed memory to the system, but only on later allocator activity in
/// the heap that freed it, and the blocking threads that hash go idle and exit: with its
/// default purge delay a replica stayed ~40 MiB above idle after a flood. The image and
/// the local stack therefore run it with `MIMALLOC_PURGE_DELAY=0` (purge at once), which
/// the login-flood test and benchmark measure. (Setting the option from code would take
/// `unsafe` FFI, which this workspace forbids.)
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The upbrella application server: the umbrella-rental domain over HTTP.
///
/// Configuration comes from environment variables only (listed below; README.md "WAS
/// configuration" says more about each). A missing or malformed one stops the process
/// with exit code 2 and a message naming it.
#[derive(Parser)]
#[command(name = "was", version)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand, Clone, Copy, PartialEq, Eq)]
enum Command {
    /// Serve HTTP (the default)
    Serve,
    /// Apply database migrations (as the schema owner), provision WAS_APP_ROLE when set,
    /// then exit; needs only the database settings
    Migrate,
    /// GET /health on the local server; exit 0 if it answers 200
    Healthcheck,
}

/// Prefixes of our variables: a set variable with one of these that the table does not
/// list is most likely a typo, and is logged.
const PREFIXES: &[&str] = &[
    "WAS_",
    "DATABASE_",
    "REDIS_",
    "SESSION_",
    "KAKAO_",
    "RATE_LIMIT_",
];

fn main() -> ExitCode {
    let help = vars_help("Environment variables", was::config::VARS);
    let matches = Cli::command().after_help(help).get_matches();
    let cli = match Cli::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(e) => e.exit(),
    };
    match cli.command.unwrap_or(Command::Serve) {
        Command::Healthcheck => shared::healthcheck::subcommand("WAS_LISTEN_ADDR", 8080),
        command => run(command),
    }
}

fn run(command: Command) -> ExitCode {
    shared::telemetry::init("info,sqlx=warn,fred=warn");
    let set: Vec<String> = std::env::vars_os()
        .filter_map(|(name, _)| name.into_string().ok())
        .collect();
    for name in unknown_vars(set.iter().map(String::as_str), PREFIXES, was::config::VARS) {
        tracing::warn!(variable = %name, "not a setting of the WAS (see was --help); ignored");
    }
    if command == Command::Migrate {
        // The migration task gets the database settings only (no Redis, no bank key).
        let config = match was::config::DatabaseConfig::from_source(&Env) {
            Ok(c) => c,
            Err(e) => {
                eprintln!("was: {e}");
                return ExitCode::from(2);
            }
        };
        return shared::block_on("was", migrate(&config));
    }
    let config = match Config::from_source(&Env) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("was: {e}");
            return ExitCode::from(2);
        }
    };
    shared::block_on("was", async {
        match Application::build(config).await {
            Ok(app) => {
                app.run_until(shared::shutdown::signal()).await;
                ExitCode::SUCCESS
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot start");
                ExitCode::FAILURE
            }
        }
    })
}

/// Applies migrations, then provisions the application role, retrying for a while when
/// the database is not up yet (the stack and ECS start this step together with
/// PostgreSQL).
async fn migrate(config: &was::config::DatabaseConfig) -> ExitCode {
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let result = async {
            let (db, _) = was::startup::database(config, "migrate").await?;
            let outcome = match was::migrate::run(&db).await {
                Ok(()) => match &config.app_role {
                    Some(role) => was::migrate::provision_app_role(&db, role)
                        .await
                        .map_err(was::startup::StartError::AppRole),
                    None => Ok(()),
                },
                Err(e) => Err(e.into()),
            };
            db.close().await;
            outcome
        }
        .await;
        match result {
            Ok(()) => {
                tracing::info!("migrations applied");
                return ExitCode::SUCCESS;
            }
            Err(e) if std::time::Instant::now() < deadline && is_transient(&e) => {
                tracing::warn!(error = %e, "database not reachable yet; retrying");
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            Err(e) => {
                tracing::error!(error = %e, "migration failed");
                return ExitCode::FAILURE;
            }
        }
    }
}

fn is_transient(e: &was::startup::StartError) -> bool {
    matches!(e, was::startup::StartError::Migrate(sqlx::migrate::MigrateError::Execute(db)) if was::error::is_unavailable(db))
}
