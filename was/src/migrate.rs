//! Schema migrations, embedded in the binary. `was migrate` runs them as a step before
//! the replicas start (the stack and ECS both do this); sqlx's migrator holds a
//! PostgreSQL advisory lock while it runs, so concurrent runs serialise instead of racing.

use secrecy::ExposeSecret;
use sqlx::PgPool;
use sqlx::migrate::Migrator;

use crate::config::{AppRole, AppRoleLogin};

pub static MIGRATOR: Migrator = sqlx::migrate!("./migrations");

/// Applies the migrations this binary knows that the database lacks. Migrations newer
/// than the binary are accepted: deploying an older commit (a rollback) runs its migrate
/// step against the newer schema, which expand-then-contract keeps compatible.
pub async fn run(db: &PgPool) -> Result<(), sqlx::migrate::MigrateError> {
    let mut migrator = sqlx::migrate!("./migrations");
    migrator.set_ignore_missing(true);
    migrator.run(db).await
}

/// Creates (or updates) the role the WAS connects as, with the privileges it needs and
/// nothing more: read and write rows, use sequences; no DDL (it owns nothing and may not
/// create in the schema), no TRUNCATE, of the migration history only the versions applied, and only INSERT and SELECT
/// on the operator action log and the deposit ledger. Runs as the schema owner
/// after the migrations, every time, so a table added by a migration is covered (the
/// default privileges cover tables the owner creates later too).
///
/// Role names cannot be bound as parameters; PostgreSQL's `format()` quotes them (`%I`)
/// and the password (`%L`) on the server, and the statement it returns is executed.
pub async fn provision_app_role(db: &PgPool, role: &AppRole) -> Result<(), sqlx::Error> {
    let exists: bool = sqlx::query_scalar!(
        r#"SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1) AS "exists!""#,
        role.name
    )
    .fetch_one(db)
    .await?;
    if !exists {
        match execute_formatted(db, "CREATE ROLE %I LOGIN", &role.name, None).await {
            Ok(()) => tracing::info!(role = %role.name, "application role created"),
            // Another migration run created it a moment ago.
            Err(sqlx::Error::Database(e))
                if matches!(e.code().as_deref(), Some("42710" | "23505")) => {}
            Err(e) => return Err(e),
        }
    }
    for statement in [
        "ALTER ROLE %I WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS",
        "GRANT USAGE ON SCHEMA public TO %I",
        "GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO %I",
        "GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA public TO %I",
        "ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO %I",
        "ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT, UPDATE ON SEQUENCES TO %I",
        "REVOKE ALL ON TABLE _sqlx_migrations FROM %I",
        // Which migrations ran, for `/api/ready`; not what they did.
        "GRANT SELECT (version, success) ON TABLE _sqlx_migrations TO %I",
        // The operator action log and the deposit ledger are append-only for the app
        // (a trigger refuses rewrites to everyone, the owner included).
        "REVOKE UPDATE, DELETE, TRUNCATE ON TABLE operator_actions, deposit_events FROM %I",
    ] {
        execute_formatted(db, statement, &role.name, None).await?;
    }
    // PostgreSQL before 15 lets every role create objects in `public`.
    sqlx::query!("REVOKE CREATE ON SCHEMA public FROM PUBLIC")
        .execute(db)
        .await?;
    match &role.login {
        AppRoleLogin::Password(password) => {
            execute_formatted(
                db,
                "ALTER ROLE %I WITH PASSWORD %L",
                &role.name,
                Some(password.expose_secret()),
            )
            .await?;
        }
        AppRoleLogin::RdsIam => {
            let on_rds = sqlx::query_scalar!(
                r#"SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'rds_iam') AS "exists!""#
            )
            .fetch_one(db)
            .await?;
            if !on_rds {
                return Err(sqlx::Error::Protocol(
                    "WAS_APP_ROLE_AUTH=rds-iam needs RDS (the rds_iam role does not exist here)"
                        .into(),
                ));
            }
            execute_formatted(db, "GRANT rds_iam TO %I", &role.name, None).await?;
            execute_formatted(db, "ALTER ROLE %I WITH PASSWORD NULL", &role.name, None).await?;
        }
    }
    tracing::info!(role = %role.name, "application role provisioned");
    Ok(())
}

async fn execute_formatted(
    db: &PgPool,
    template: &str,
    name: &str,
    literal: Option<&str>,
) -> Result<(), sqlx::Error> {
    let statement = sqlx::query_scalar!(
        r#"SELECT format($1::text, $2::text, $3::text) AS "statement!""#,
        template,
        name,
        literal
    )
    .fetch_one(db)
    .await?;
    sqlx::raw_sql(&statement).execute(db).await?;
    Ok(())
}
