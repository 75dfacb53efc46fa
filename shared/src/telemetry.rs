//! Tracing setup shared by both binaries: JSON lines for machines (containers, CI), a
//! readable format on a terminal. `LOG_FORMAT=json|text` overrides the guess and
//! `RUST_LOG` sets the filter.
//!
//! Lines are written by a thread of their own, in batches: a request hands its line over
//! and goes on, and however many lines piled up meanwhile leave in one `write`. A
//! request thread never waits on the log's reader (a full pipe to a stalled log driver
//! must not stop the service), and one `write` per request was, with the JSON
//! formatting, about a tenth of a logged-in request's CPU. When the thread falls more
//! than [`BACKLOG`] lines behind, lines are dropped and counted ([`dropped_lines`], which
//! both binaries export as a metric) rather than blocking requests.

use std::io::{BufWriter, IsTerminal};
use std::sync::OnceLock;

use tracing_appender::non_blocking::{ErrorCounter, NonBlockingBuilder, WorkerGuard};
use tracing_subscriber::EnvFilter;

/// Lines that may wait for the writer thread before new ones are dropped.
pub const BACKLOG: usize = 64 * 1024;

/// Bytes gathered before a `write`; the thread also writes whenever it has caught up.
const BATCH_BYTES: usize = 64 * 1024;

static DROPPED: OnceLock<ErrorCounter> = OnceLock::new();

/// Keeps the writer thread; dropping it (at the end of `main`) writes what is left.
#[must_use = "dropping the guard stops the log writer: keep it until main returns"]
pub struct LogGuard {
    _writer: Option<WorkerGuard>,
}

/// Installs the global subscriber and starts the writer thread, for the servers. Safe
/// to call more than once (tests start several apps in one process); later calls install
/// nothing.
pub fn init(default_filter: &str) -> LogGuard {
    let (writer, guard) = NonBlockingBuilder::default()
        .buffered_lines_limit(BACKLOG)
        .lossy(true)
        .thread_name("log-writer")
        .finish(BufWriter::with_capacity(BATCH_BYTES, std::io::stdout()));
    let counter = writer.error_counter();
    if !install(default_filter, writer) {
        // The test harness's subscriber (or an earlier call's) stays; this writer thread
        // ends with its guard.
        return LogGuard { _writer: None };
    }
    drop(DROPPED.set(counter));
    LogGuard {
        _writer: Some(guard),
    }
}

/// Installs the global subscriber writing each line at once, for one-shot commands whose
/// log lines interleave with what they print.
pub fn init_direct(default_filter: &str) {
    install(default_filter, std::io::stdout);
}

fn install<W>(default_filter: &str, writer: W) -> bool
where
    W: for<'w> tracing_subscriber::fmt::MakeWriter<'w> + Send + Sync + 'static,
{
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_filter));
    let json = match std::env::var("LOG_FORMAT").as_deref() {
        Ok("json") => true,
        Ok("text") => false,
        _ => !std::io::stdout().is_terminal(),
    };
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer);
    let result = if json {
        builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .try_init()
    } else {
        builder.compact().try_init()
    };
    result.is_ok()
}

/// Log lines dropped because the writer thread was more than [`BACKLOG`] lines behind.
pub fn dropped_lines() -> usize {
    DROPPED.get().map_or(0, ErrorCounter::dropped_lines)
}
