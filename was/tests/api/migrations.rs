//! Migrations across deploys: a rollback to an older commit runs that commit's migrate
//! step against a schema that has moved on.

use sqlx::PgPool;

use crate::helpers::*;

#[tokio::test]
async fn an_older_binary_accepts_migrations_newer_than_itself() {
    let deps = deps().await;
    let owner_url = fresh_database(&deps.pg_base).await;
    let owner = PgPool::connect(&owner_url).await.expect("owner");
    // What a newer commit's migrate step leaves behind: a version this binary lacks.
    sqlx::query(
        "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
         VALUES (29991231000001, 'from a newer commit', true, '\\x00', 1)",
    )
    .execute(&owner)
    .await
    .expect("record a newer migration");
    was::migrate::run(&owner)
        .await
        .expect("the older binary's migrate step must pass");
    let versions: i64 = sqlx::query_scalar("SELECT count(*) FROM _sqlx_migrations")
        .fetch_one(&owner)
        .await
        .expect("count");
    assert_eq!(
        versions as usize,
        was::migrate::MIGRATOR.iter().count() + 1,
        "nothing applied twice, nothing removed"
    );
    owner.close().await;
}
