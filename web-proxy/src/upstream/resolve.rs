//! Turning targets into addresses, again and again. A hostname target (an ALB's DNS name)
//! is re-resolved every `interval`, because the addresses behind it change; nginx
//! resolves once at start, a known cause of outages. A failed lookup keeps the last
//! known addresses. The resolver is a trait so tests can change what a name resolves to.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;

use super::Pool;
use crate::config::Upstream;

/// Name to addresses. [`SystemResolver`] in the binary.
pub trait Resolve: Send + Sync + 'static {
    fn lookup(&self, host: &str, port: u16)
    -> BoxFuture<'static, std::io::Result<Vec<SocketAddr>>>;
}

/// The system's resolver (getaddrinfo: /etc/hosts, then DNS), on tokio's blocking pool.
pub struct SystemResolver;

impl Resolve for SystemResolver {
    fn lookup(
        &self,
        host: &str,
        port: u16,
    ) -> BoxFuture<'static, std::io::Result<Vec<SocketAddr>>> {
        let host = host.to_owned();
        Box::pin(async move {
            Ok(tokio::net::lookup_host((host.as_str(), port))
                .await?
                .collect())
        })
    }
}

pub fn spawn(
    pool: Arc<Pool>,
    index: usize,
    target: Upstream,
    interval: Duration,
    resolver: Arc<dyn Resolve>,
) {
    if let Ok(ip) = target.host.parse::<IpAddr>() {
        pool.set_target_addresses(index, &[SocketAddr::new(ip, target.port)]);
        return;
    }
    let weak = Arc::downgrade(&pool);
    drop(pool);
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut last: Vec<SocketAddr> = Vec::new();
        loop {
            tick.tick().await;
            let Some(pool) = weak.upgrade() else { return };
            match tokio::time::timeout(
                Duration::from_secs(5),
                resolver.lookup(&target.host, target.port),
            )
            .await
            {
                Ok(Ok(mut addrs)) => {
                    addrs.sort();
                    addrs.dedup();
                    if addrs.is_empty() {
                        tracing::warn!(host = %target.host, "name resolved to no address; keeping the last known");
                    } else if addrs != last {
                        tracing::info!(host = %target.host, addresses = ?addrs, "upstream addresses changed");
                        pool.set_target_addresses(index, &addrs);
                        last = addrs;
                    }
                }
                Ok(Err(e)) => {
                    tracing::warn!(host = %target.host, error = %e, "cannot resolve upstream; keeping the last known addresses")
                }
                Err(_) => {
                    tracing::warn!(host = %target.host, "upstream resolution timed out; keeping the last known addresses")
                }
            }
        }
    });
}
