#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Integration tests of the WAS against real Redis and PostgreSQL. One binary, so the
//! servers start once; each test gets its own database.

mod helpers;

mod abuse;
mod accounts;
mod admin;
mod auth;
mod codes;
mod credentials;
mod database_tls;
mod deposits;
mod geocode;
mod health;
mod journey;
mod kakao;
mod mail;
mod migrations;
mod operator_log;
mod outages;
mod photos;
mod presence;
mod public;
mod public_reads;
mod redis_tls;
mod rentals;
mod statistics;
