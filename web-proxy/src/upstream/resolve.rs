//! Turning targets into addresses, again and again. A hostname target (an ALB's DNS name)
//! is re-resolved every `interval`, because the addresses behind it change; nginx
//! resolves once at start, a known cause of outages. A failed lookup keeps the last
//! known addresses.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use super::Pool;
use crate::config::Upstream;

pub fn spawn(pool: Arc<Pool>, index: usize, target: Upstream, interval: Duration) {
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
                tokio::net::lookup_host((target.host.as_str(), target.port)),
            )
            .await
            {
                Ok(Ok(found)) => {
                    let mut addrs: Vec<SocketAddr> = found.collect();
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
