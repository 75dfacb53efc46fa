//! Data access, one module per aggregate. Every query is a fixed string checked at
//! compile time against the schema (sqlx's macros; the results are committed in
//! `was/.sqlx`, see `scripts/sqlx.sh`). Functions take the pool or a transaction and
//! return records of the domain, never API views; errors stay `sqlx::Error` so the
//! handler decides what a violated constraint means to the client.

pub mod actions;
pub mod classifications;
pub mod deposits;
pub mod idempotency;
pub mod lockers;
pub mod rentals;
pub mod reports;
pub mod statistics;
pub mod stores;
pub mod tokens;
pub mod umbrellas;
pub mod users;
