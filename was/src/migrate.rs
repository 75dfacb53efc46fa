//! Schema migrations, embedded in the binary. `was migrate` runs them as a step before
//! the replicas start (the stack and ECS both do this); sqlx's migrator holds a
//! PostgreSQL advisory lock while it runs, so concurrent runs serialise instead of racing.

use sqlx::PgPool;
use sqlx::migrate::Migrator;

pub static MIGRATOR: Migrator = sqlx::migrate!("./migrations");

pub async fn run(db: &PgPool) -> Result<(), sqlx::migrate::MigrateError> {
    MIGRATOR.run(db).await
}
