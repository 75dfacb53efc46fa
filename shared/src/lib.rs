//! What both upbrella binaries share: typed configuration from the environment, tracing
//! setup, the HTTP server loop with the timeouts and graceful shutdown we want, and the
//! `healthcheck` probe used by container health checks.

pub mod config;
pub mod conn;
pub mod emf;
pub mod healthcheck;
pub mod metrics;
pub mod request_id;
pub mod serve;
pub mod shutdown;
pub mod telemetry;

/// Runs a binary's async main on a multi-threaded runtime, turning a runtime that cannot
/// start into a clear message and exit code, the same way for both binaries.
pub fn block_on<F>(binary: &str, main: F) -> std::process::ExitCode
where
    F: std::future::Future<Output = std::process::ExitCode>,
{
    match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime.block_on(main),
        Err(e) => {
            eprintln!("{binary}: cannot start the async runtime: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
