//! The upbrella application server (WAS): the umbrella-rental domain over HTTP.
//!
//! Stateless by design: sessions live in Redis and data in PostgreSQL, so any replica
//! serves any user and a replica can die or be replaced at any time. `main.rs` only reads
//! the configuration and calls [`Application::build`]; tests build the same application
//! on port 0.

pub mod aws;
pub mod bootstrap;
pub mod config;
pub mod dbauth;
pub mod domain;
pub mod error;
pub mod geocode;
pub mod http;
pub mod kakao;
pub mod ledger;
pub mod limits;
pub mod mail;
pub mod metrics;
pub mod migrate;
pub mod notify;
pub mod photos;
pub mod public_reads;
pub mod remind;
pub mod repo;
pub mod sigv4;
pub mod startup;
pub mod state;

pub use config::Config;
pub use startup::Application;
