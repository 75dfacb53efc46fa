//! Integration tests of the WAS against real Redis and PostgreSQL. One binary, so the
//! servers start once; each test gets its own database.

mod helpers;

mod auth;
mod health;
mod public;
