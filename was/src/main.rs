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
/// The log filter when `RUST_LOG` is unset. tower-sessions opens an info-level span of
/// its own around every request; it names nothing, and as the innermost span it would
/// take the place of the request's (and its request id) in every line a handler logs.
const DEFAULT_LOG_FILTER: &str = "info,sqlx=warn,fred=warn,tower_sessions=warn";

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The upbrella application server: the umbrella-rental domain over HTTP.
///
/// Configuration comes from environment variables only (listed below; docs/configuration.md "WAS
/// configuration" says more about each). A missing or malformed one stops the process
/// with exit code 2 and a message naming it.
#[derive(Parser)]
#[command(name = "was", version)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand, Clone, PartialEq, Eq)]
enum Command {
    /// Serve HTTP (the default)
    Serve,
    /// Apply database migrations (as the schema owner), provision WAS_APP_ROLE when set,
    /// then exit; needs only the database settings
    Migrate,
    /// GET /health on the local server; exit 0 if it answers 200
    Healthcheck,
    /// Send the reminders that are due (the day before the due date, overdue, the
    /// operators' weekly digest), each once, then exit; run it every hour
    Remind {
        /// Act as if it were this moment (RFC 3339), for rehearsals and tests
        #[arg(long)]
        now: Option<String>,
        /// Keep running, a pass every this long (e.g. 1h), until stopped: for a
        /// container without a scheduler
        #[arg(long)]
        every: Option<String>,
    },
    /// Create the first admin, or grant and revoke roles (admin, clerk, staff) (needs only the database
    /// settings; runs as a one-off task like migrate)
    Admin {
        #[command(subcommand)]
        action: AdminAction,
    },
}

#[derive(Subcommand, Clone, PartialEq, Eq)]
enum AdminAction {
    /// Create a local admin account with the password in WAS_ADMIN_PASSWORD. An account
    /// already using the address is refused unless --promote is given (and its owner
    /// verified the address)
    Create {
        #[arg(long)]
        email: String,
        /// Make the existing account with this address an admin (it keeps its password)
        #[arg(long)]
        promote: bool,
        #[arg(long)]
        name: String,
        /// A mobile number, e.g. 010-1234-5678
        #[arg(long)]
        phone: String,
    },
    /// Give the account with this (verified) e-mail address a role: admin (the default),
    /// clerk (deposits and refunds, not rights or bans), or staff of the --store(s)
    Grant {
        email: String,
        /// admin, clerk or staff
        #[arg(long, default_value = "admin", value_parser = ["admin", "clerk", "staff"])]
        role: String,
        /// A store a staff member works for (repeat for several)
        #[arg(long = "store")]
        stores: Vec<i64>,
    },
    /// Make the account with this e-mail address a renter again (no console)
    Revoke { email: String },
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
    "QR_",
    "DEPOSIT_",
    "RETURN_WEBHOOK_",
    "RENTER_SESSION_",
    "SUPPORT_",
    "MAIL_",
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
        Command::Admin { action } => admin(action),
        Command::Remind { now, every } => remind(now.as_deref(), every.as_deref()),
        command => run(&command),
    }
}

/// `was remind`: one pass (or one every `--every`); prints what it sent. Exits 0 when
/// every due reminder went out, 1 when one could not be sent (it is tried again next
/// time) or the database failed, 2 on bad settings or arguments.
fn remind(now: Option<&str>, every: Option<&str>) -> ExitCode {
    use time::format_description::well_known::Rfc3339;
    shared::telemetry::init_direct("info,sqlx=warn");
    let now = match now
        .map(|t| time::OffsetDateTime::parse(t, &Rfc3339))
        .transpose()
    {
        Ok(now) => now,
        Err(e) => {
            eprintln!(
                "was: --now는 2026-12-07T10:00:00+09:00 같은 RFC 3339 시각입니다 (--now must be RFC 3339): {e}"
            );
            return ExitCode::from(2);
        }
    };
    let every = match every.map(shared::config::parse_duration).transpose() {
        Ok(every) => every,
        Err(e) => {
            eprintln!("was: --every: {e}");
            return ExitCode::from(2);
        }
    };
    let config = match Config::from_source(&Env) {
        Ok(c) => c,
        Err(e) => return pass_failed(&e.to_string(), ExitCode::from(2)),
    };
    shared::block_on("was", async move {
        let sender = match was::mail::Sender::new(&config.mail) {
            Ok(s) => s,
            Err(e) => return pass_failed(&e.to_string(), ExitCode::from(2)),
        };
        let webhook = match config
            .return_webhook
            .as_ref()
            .map(was::notify::ReturnNotifier::new)
        {
            Some(Ok(w)) => Some(w),
            Some(Err(e)) => {
                return pass_failed(&format!("RETURN_WEBHOOK_URL: {e}"), ExitCode::from(2));
            }
            None => None,
        };
        let db = match was::startup::database(&config.database, "remind").await {
            Ok((db, _)) => db,
            Err(e) => {
                return pass_failed(
                    &format!("데이터베이스에 연결할 수 없습니다 (cannot reach the database): {e}"),
                    ExitCode::FAILURE,
                );
            }
        };
        let reminders = was::remind::Reminders {
            db: &db,
            mail: &sender,
            webhook: webhook.as_ref(),
            public_url: config.public_url.as_deref().unwrap_or("http://localhost"),
        };
        let pass = || remind_pass(&reminders, now);
        let Some(every) = every else {
            let code = pass().await;
            db.close().await;
            return code;
        };
        let stop = shared::shutdown::signal();
        tokio::pin!(stop);
        loop {
            pass().await;
            tokio::select! {
                () = &mut stop => break,
                () = tokio::time::sleep(every) => {}
            }
        }
        db.close().await;
        ExitCode::SUCCESS
    })
}

/// One reminder pass at `now` (or the clock's now), printing what was sent.
async fn remind_pass(
    reminders: &was::remind::Reminders<'_>,
    now: Option<time::OffsetDateTime>,
) -> ExitCode {
    let at = now.unwrap_or_else(time::OffsetDateTime::now_utc);
    match reminders.run(at).await {
        Ok(o) if o.quiet => {
            println!(
                "알림 시간(09–21시)이 아니라 보내지 않았습니다. (Outside 09:00–21:00 Asia/Seoul: nothing sent.)"
            );
            ExitCode::SUCCESS
        }
        Ok(o) => {
            println!(
                "반납 예정 알림 {}건, 연체 알림 {}건, 주간 목록 {}, 실패 {}건. (due soon {}, overdue {}, digest {}, failed {})",
                o.due_soon,
                o.overdue,
                o.digest
                    .map_or_else(|| "없음".to_owned(), |n| format!("{n}명")),
                o.failed,
                o.due_soon,
                o.overdue,
                o.digest
                    .map_or_else(|| "none".to_owned(), |n| n.to_string()),
                o.failed
            );
            if o.failed == 0 {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        Err(e) => {
            tracing::error!(event = "remind_failed", error = %e, "reminders failed");
            eprintln!("was: {e}");
            ExitCode::FAILURE
        }
    }
}

/// A reminder pass that could not run: said on stderr, and logged as `remind_failed`,
/// which the stack's alarm counts (a broken configuration or an unreachable database
/// must page like a failed send).
fn pass_failed(message: &str, code: ExitCode) -> ExitCode {
    tracing::error!(event = "remind_failed", error = %message, "reminders failed");
    eprintln!("was: {message}");
    code
}

/// `was admin …`: prints what it did in Korean (an operator reads it), exits 0 when done,
/// 1 when there is no such account or the database refused, 2 on bad settings or input.
fn admin(action: AdminAction) -> ExitCode {
    shared::telemetry::init_direct("warn");
    let config = match was::config::DatabaseConfig::from_source(&Env) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("was: {e}");
            return ExitCode::from(2);
        }
    };
    shared::block_on("was", async move {
        let db = match was::startup::database(&config, "admin").await {
            Ok((db, _)) => db,
            Err(e) => {
                eprintln!("was: 데이터베이스에 연결할 수 없습니다: {e}");
                return ExitCode::FAILURE;
            }
        };
        let outcome =
            match &action {
                AdminAction::Create {
                    email,
                    name,
                    phone,
                    promote,
                } => {
                    let Ok(password) = std::env::var("WAS_ADMIN_PASSWORD") else {
                        eprintln!("was: WAS_ADMIN_PASSWORD에 새 관리자의 비밀번호를 넣어 주세요.");
                        return ExitCode::from(2);
                    };
                    was::bootstrap::create_admin(&db, email, name, phone, &password, *promote)
                        .await
                        .map(|o| describe(&o, email, was::domain::role::Role::Admin))
                }
                AdminAction::Grant {
                    email,
                    role,
                    stores,
                } => {
                    let role = was::domain::role::Role::parse(role)
                        .unwrap_or(was::domain::role::Role::Admin);
                    was::bootstrap::grant_role(&db, email, role, stores)
                        .await
                        .map(|o| describe(&o, email, role))
                }
                AdminAction::Revoke { email } => was::bootstrap::revoke_admin(&db, email)
                    .await
                    .map(|id| match id {
                        Some(id) => Ok(format!(
                            "운영진 권한을 해제했습니다 (사용자 {id}, {email}). (Now a renter.)"
                        )),
                        None => Err("이 이메일을 쓰는 활성 계정이 없습니다.".to_owned()),
                    }),
            };
        db.close().await;
        match outcome {
            Ok(Ok(done)) => {
                println!("{done}");
                ExitCode::SUCCESS
            }
            Ok(Err(refused)) => {
                eprintln!("was: {refused}");
                ExitCode::FAILURE
            }
            Err(e @ (was::error::Error::Invalid(_) | was::error::Error::BadRequest(_))) => {
                eprintln!("was: {e}");
                ExitCode::from(2)
            }
            Err(e) => {
                eprintln!("was: {e}");
                ExitCode::FAILURE
            }
        }
    })
}

/// What the operator reads about `create` or `grant`: `Ok` when done, `Err` when refused.
fn describe(
    outcome: &was::bootstrap::Outcome,
    email: &str,
    role: was::domain::role::Role,
) -> Result<String, String> {
    use was::bootstrap::{Existing, Outcome};
    let when = |t: time::OffsetDateTime| {
        let kst = t.to_offset(time::macros::offset!(+9));
        format!(
            "{:04}-{:02}-{:02} {:02}:{:02} KST",
            kst.year(),
            u8::from(kst.month()),
            kst.day(),
            kst.hour(),
            kst.minute()
        )
    };
    let about = |e: &Existing| {
        format!(
            "사용자 {}, 가입 {}, 마지막 로그인 {}, 이메일 {}",
            e.id,
            when(e.created_at),
            e.last_login_at.map_or_else(|| "없음".to_owned(), when),
            if e.email_verified {
                "확인됨"
            } else {
                "확인 안 됨"
            }
        )
    };
    match outcome {
        Outcome::Created(id) => Ok(format!(
            "관리자 계정을 만들었습니다 (사용자 {id}, {email})."
        )),
        Outcome::Promoted(id) => Ok(format!(
            "이미 있는 계정에 {} 역할을 주었습니다 (사용자 {id}, {email}). 비밀번호는 바꾸지 않았습니다.",
            role.label()
        )),
        Outcome::Exists(e) => Err(format!(
            "{email}을(를) 쓰는 계정이 이미 있습니다 ({}). 직접 만든 계정이 아니라면 관리자로 지정하지 마세요. 본인 계정이 맞으면 --promote를 붙여 다시 실행하세요. (An account already uses this address; not promoted.)",
            about(e)
        )),
        Outcome::Unverified(e) => Err(format!(
            "{email} 계정의 이메일 주소가 확인되지 않아 관리자로 지정하지 않았습니다 ({}). 계정 주인이 확인 메일의 링크를 연 뒤 다시 실행하세요. (The address is not verified; not promoted.)",
            about(e)
        )),
        Outcome::NoAccount => Err("이 이메일을 쓰는 활성 계정이 없습니다.".to_owned()),
    }
}

fn run(command: &Command) -> ExitCode {
    let _log = shared::telemetry::init(DEFAULT_LOG_FILTER);
    let set: Vec<String> = std::env::vars_os()
        .filter_map(|(name, _)| name.into_string().ok())
        .collect();
    for name in unknown_vars(set.iter().map(String::as_str), PREFIXES, was::config::VARS) {
        tracing::warn!(variable = %name, "not a setting of the WAS (see was --help); ignored");
    }
    if *command == Command::Migrate {
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
