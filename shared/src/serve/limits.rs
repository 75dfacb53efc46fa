//! The caps on open connections, and the answer to one over them.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::ServeOptions;

/// Open connections per peer address.
type OpenPerIp = Arc<Mutex<HashMap<IpAddr, usize>>>;

/// The caps on open connections.
pub(super) struct ConnectionLimits {
    total: Arc<Semaphore>,
    per_ip: Option<(usize, OpenPerIp)>,
}

/// A connection's place under the caps, given back when dropped.
pub(super) struct Slot {
    _total: OwnedSemaphorePermit,
    per_ip: Option<(IpAddr, OpenPerIp)>,
}

impl ConnectionLimits {
    pub(super) fn new(options: &ServeOptions) -> Self {
        Self {
            total: Arc::new(Semaphore::new(options.max_connections.max(1))),
            per_ip: options
                .max_connections_per_ip
                .map(|cap| (cap.max(1), Arc::new(Mutex::new(HashMap::new())))),
        }
    }

    pub(super) fn admit(&self, ip: IpAddr) -> Option<Slot> {
        let Ok(total) = Arc::clone(&self.total).try_acquire_owned() else {
            tracing::warn!(%ip, "connection limit reached; refusing a connection");
            return None;
        };
        let per_ip = match &self.per_ip {
            None => None,
            Some((cap, counts)) => {
                let mut map = counts
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                let open = map.entry(ip).or_insert(0);
                if *open >= *cap {
                    tracing::warn!(%ip, cap, "per-address connection limit reached; refusing");
                    return None;
                }
                *open += 1;
                Some((ip, Arc::clone(counts)))
            }
        };
        Some(Slot {
            _total: total,
            per_ip,
        })
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        if let Some((ip, counts)) = &self.per_ip {
            let mut map = counts
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if let Some(open) = map.get_mut(ip) {
                *open -= 1;
                if *open == 0 {
                    map.remove(ip);
                }
            }
        }
    }
}

/// Answers a connection over a cap with a fixed 503 and closes it. The close lingers a
/// moment (our side shut, what the client still sends read and dropped), or the kernel
/// would answer its unread request with a reset that destroys the 503 in flight.
pub(super) async fn refuse(mut stream: TcpStream) {
    static ANSWER: std::sync::LazyLock<Vec<u8>> = std::sync::LazyLock::new(|| {
        let body = r#"{"type":"about:blank","title":"Service Unavailable","status":503,"code":"too_many_connections","detail":"접속이 몰려 지금은 처리할 수 없습니다. 잠시 후 다시 시도해 주세요."}"#;
        format!(
            "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/problem+json\r\n\
             Retry-After: 1\r\nConnection: close\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )
        .into_bytes()
    });
    let answered = async {
        stream.write_all(&ANSWER).await?;
        stream.shutdown().await?;
        let mut scratch = [0u8; 4096];
        while stream.read(&mut scratch).await? > 0 {}
        Ok::<_, std::io::Error>(())
    };
    let _ = tokio::time::timeout(Duration::from_secs(1), answered).await;
}
