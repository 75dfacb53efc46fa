//! What both upbrella binaries share: typed configuration from the environment, tracing
//! setup, the HTTP server loop with the timeouts and graceful shutdown we want, and the
//! `healthcheck` probe used by container health checks.

pub mod config;
pub mod healthcheck;
pub mod request_id;
pub mod serve;
pub mod shutdown;
pub mod telemetry;
