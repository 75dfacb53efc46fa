//! Forwarding a request to the upstream group.
//!
//! Bodies stream both ways (hyper's backpressure: a slow reader slows the writer, memory
//! stays flat). A small body with a known length is buffered so the request can be
//! retried. At most one retry, on another address, and only when it cannot do harm: the
//! request is idempotent (GET, HEAD, OPTIONS, PUT, DELETE, or a POST the WAS deduplicates
//! by its `Idempotency-Key`: see [`crate::methods`]) or the connection was never made,
//! and no response byte has arrived.
//! A retry-able request waiting on an address that gets ejected meanwhile (a hung
//! replica) gives up on it at once and goes to another.
//!
//! The client's body passes through [`ClientBody`] (size limit, progress deadline). A
//! failure counts against the upstream (passive ejection) only when it is the
//! upstream's: a refused connection, or a reset or timeout after the request was sent
//! whole. A client that stalls or vanishes mid-upload gets 408 or nothing, and the
//! replica keeps its good name.

use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use http::header::{self, HeaderMap, HeaderValue};
use http::{Method, Request, StatusCode, Uri, Version};
use hyper::body::{Body as _, Frame, Incoming, SizeHint};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioIo;

use crate::body::{BodyError, ClientBody};
use crate::error::ProxyError;
use crate::headers::{self, Forwarded, X_FORWARDED_FOR, X_FORWARDED_HOST, X_FORWARDED_PROTO};
use crate::upstream::{Backend, Failure, InFlight};
use crate::{AppState, Config, lean};

pub type UpstreamClient = Client<HttpConnector, Body>;

/// What happened upstream, for the access log.
#[derive(Debug, Clone)]
pub struct UpstreamInfo {
    pub addr: Option<SocketAddr>,
    pub duration: Option<Duration>,
    pub retried: bool,
    pub fail_open: bool,
    pub client_ip: std::net::IpAddr,
}

enum Outbound {
    Empty,
    Buffered(Bytes),
    /// Streams through; usable by one attempt only.
    Streaming(Option<Body>),
}

impl Outbound {
    fn replayable(&self) -> bool {
        !matches!(self, Outbound::Streaming(_))
    }

    /// The whole body when it is known in advance: what the lean path can carry.
    fn known(&self) -> Option<Option<&Bytes>> {
        match self {
            Outbound::Empty => Some(None),
            Outbound::Buffered(b) => Some(Some(b)),
            Outbound::Streaming(_) => None,
        }
    }

    fn take(&mut self) -> Body {
        match self {
            Outbound::Empty => Body::empty(),
            Outbound::Buffered(b) => Body::from(b.clone()),
            Outbound::Streaming(body) => body.take().unwrap_or_else(Body::empty),
        }
    }
}

/// What a failed read of the client's body becomes.
fn body_failure(e: &BodyError) -> ProxyError {
    match e {
        BodyError::TooLarge => ProxyError::BodyTooLarge,
        BodyError::Stalled => ProxyError::BodyTimeout,
        BodyError::Client(_) => ProxyError::BadRequest("unreadable_body"),
    }
}

/// Forwards one request, in five steps: read the body, build the upstream request's head,
/// send it (with at most one retry, within the request deadline), tunnel an upgrade, and
/// build the client's response. `forwarded` is what the edge worked out about the client.
pub async fn proxy(state: &AppState, forwarded: Forwarded, mut req: Request<Body>) -> Response {
    let config = &state.config;
    let mut info = UpstreamInfo {
        addr: None,
        duration: None,
        retried: false,
        fail_open: false,
        client_ip: forwarded.client_ip,
    };
    if headers::has_dot_segment(req.uri().path()) {
        return with_info(ProxyError::BadRequest("dot_segments").into_response(), info);
    }
    let upgrade =
        headers::upgrade_protocol(req.headers()).filter(|_| req.version() == Version::HTTP_11);
    let client_upgrade = upgrade.as_ref().map(|_| hyper::upgrade::on(&mut req));
    let (mut parts, body) = req.into_parts();

    let (outbound, sent_whole) = match read_body(config, &parts.headers, body).await {
        Ok(read) => read,
        Err(e) => return with_info(e.into_response(), info),
    };
    let head = upstream_head(config, &mut parts, forwarded, upgrade);
    let sent = tokio::time::timeout(
        config.request_timeout,
        send_with_retry(state, head, outbound, &sent_whole, &mut info),
    )
    .await
    .unwrap_or(Err(ProxyError::Timeout));
    let (response, in_flight) = match sent {
        Ok(pair) => pair,
        Err(e) => return with_info(e.into_response(), info),
    };
    let response = match (response, client_upgrade) {
        (Reply::Hyper(response), Some(client_side))
            if response.status() == StatusCode::SWITCHING_PROTOCOLS =>
        {
            tunnel(client_side, response, in_flight)
        }
        (Reply::Hyper(response), _) => client_response(response, in_flight),
        (Reply::Lean(response), _) => client_response(response, in_flight),
    };
    with_info(response, info)
}

/// Step 1: the client's body, through [`ClientBody`] (size limit, progress deadline).
/// Bodies up to the retry buffer (declared so, or chunked and short) are read whole
/// before anything is sent: they can be retried, and a malformed one never reaches an
/// upstream. Longer ones stream. Also returns whether the upstream has had the whole
/// request, which a buffered body always has.
async fn read_body(
    config: &Config,
    headers: &HeaderMap,
    body: Body,
) -> Result<(Outbound, Arc<AtomicBool>), ProxyError> {
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > config.max_body_bytes) {
        return Err(ProxyError::BodyTooLarge);
    }
    let mut client_body = ClientBody::new(body, config.max_body_bytes, config.body_timeout);
    let sent_whole = client_body.sent_whole();
    let outbound = if client_body.is_end_stream() || declared == Some(0) {
        Outbound::Empty
    } else if declared.is_none_or(|n| n <= config.retry_buffer_bytes as u64) {
        match client_body.read_ahead(config.retry_buffer_bytes).await {
            Ok(Some(whole)) => Outbound::Buffered(whole),
            Ok(None) => Outbound::Streaming(Some(Body::new(client_body))),
            Err(e) => return Err(body_failure(&e)),
        }
    } else {
        Outbound::Streaming(Some(Body::new(client_body)))
    };
    Ok((outbound, sent_whole))
}

/// What every attempt sends, but the address.
struct UpstreamHead {
    method: Method,
    path_and_query: http::uri::PathAndQuery,
    headers: HeaderMap,
    idempotent: bool,
    /// Asks to switch protocols: hyper's path only.
    upgrade: bool,
}

/// Step 2: the upstream request's head. The client's headers become the upstream's
/// (nothing reads them after this), without hop-by-hop headers or a client's attempt at
/// the upstream secret, with the `X-Forwarded-*` headers and the secret of ours.
fn upstream_head(
    config: &Config,
    parts: &mut http::request::Parts,
    forwarded: Forwarded,
    upgrade: Option<HeaderValue>,
) -> UpstreamHead {
    let mut upstream_headers = std::mem::take(&mut parts.headers);
    headers::strip_hop_by_hop(&mut upstream_headers);
    // After the hop-by-hop headers are gone: `Connection: idempotency-key` removed it.
    let idempotent = crate::methods::retry_safe(
        &parts.method,
        &config.api_prefix,
        parts.uri.path(),
        upstream_headers.contains_key("idempotency-key"),
    );
    upstream_headers.remove(&config.upstream_secret_header);
    if let Some(secret) = &config.upstream_secret {
        upstream_headers.insert(config.upstream_secret_header.clone(), secret.clone());
    }
    if let Ok(v) = HeaderValue::try_from(forwarded.xff) {
        upstream_headers.insert(X_FORWARDED_FOR.clone(), v);
    }
    upstream_headers.insert(
        X_FORWARDED_PROTO.clone(),
        HeaderValue::from_static(forwarded.proto),
    );
    let host = forwarded.host.or_else(|| {
        parts
            .uri
            .authority()
            .and_then(|a| HeaderValue::from_str(a.as_str()).ok())
    });
    if let Some(host) = host {
        if !upstream_headers.contains_key(header::HOST) {
            upstream_headers.insert(header::HOST, host.clone());
        }
        upstream_headers.insert(X_FORWARDED_HOST.clone(), host);
    }
    let asks_upgrade = upgrade.is_some();
    if let Some(protocol) = upgrade {
        upstream_headers.insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
        upstream_headers.insert(header::UPGRADE, protocol);
    }
    UpstreamHead {
        method: std::mem::take(&mut parts.method),
        path_and_query: parts
            .uri
            .path_and_query()
            .cloned()
            .unwrap_or_else(|| http::uri::PathAndQuery::from_static("/")),
        headers: upstream_headers,
        idempotent,
        upgrade: asks_upgrade,
    }
}

/// An upstream's response, from either path.
enum Reply {
    Hyper(Response<Incoming>),
    Lean(Response<lean::UpstreamBody>),
}

/// Step 3: sends to a healthy address and, when it is safe (see the module's notes),
/// once more to another.
async fn send_with_retry(
    state: &AppState,
    mut head: UpstreamHead,
    mut outbound: Outbound,
    sent_whole: &Arc<AtomicBool>,
    info: &mut UpstreamInfo,
) -> Result<(Reply, InFlight), ProxyError> {
    let mut exclude = None;
    loop {
        let Some((backend, fail_open)) = state.pool.pick(exclude) else {
            return Err(ProxyError::NoUpstream);
        };
        info.addr = Some(backend.addr);
        info.fail_open |= fail_open;
        let can_retry = !info.retried && outbound.replayable();
        let abort_on_ejection = can_retry && head.idempotent && !fail_open;
        let in_flight = InFlight::start(&backend);
        let started = Instant::now();
        let outcome = attempt(
            state,
            &backend,
            &mut head,
            &mut outbound,
            can_retry,
            abort_on_ejection,
        )
        .await;
        info.duration = Some(started.elapsed());
        let failure = match outcome {
            Ok(response) => {
                state.metrics.record_upstream(started.elapsed());
                return Ok((response, in_flight));
            }
            Err(Attempt::Failed(failure, e)) => {
                if let Some(client_fault) = e.as_deref().and_then(|e| BodyError::find(e)) {
                    tracing::info!(upstream = %backend.addr, error = %client_fault, "request body failed; upstream not blamed");
                    return Err(body_failure(client_fault));
                }
                match &e {
                    Some(e) => {
                        tracing::warn!(upstream = %backend.addr, error = %e, kind = failure.as_str(), "upstream request failed")
                    }
                    None => {
                        tracing::warn!(upstream = %backend.addr, kind = failure.as_str(), "upstream request failed")
                    }
                }
                if is_upstream_fault(failure, outbound.replayable(), sent_whole) {
                    backend.report_failure(failure, state.pool.policy());
                }
                failure
            }
            Err(Attempt::Refused(e)) => return Err(e),
            Err(Attempt::Ejected) => {
                tracing::info!(upstream = %backend.addr, "upstream ejected while waiting; retrying elsewhere");
                Failure::Timeout
            }
        };
        // Connect failures never reached the upstream, so even a POST is safe to resend.
        let safe = head.idempotent || failure == Failure::Connect;
        if can_retry && safe {
            info.retried = true;
            exclude = Some(backend.addr);
            state.metrics.retries_total.fetch_add(1, Ordering::Relaxed);
            continue;
        }
        return Err(if failure == Failure::Timeout {
            ProxyError::Timeout
        } else {
            ProxyError::BadGateway
        });
    }
}

/// One attempt at `backend`: on the lean path when it is on and can carry the request
/// (a body known in advance, no upgrade), on hyper's client otherwise.
async fn attempt(
    state: &AppState,
    backend: &Backend,
    head: &mut UpstreamHead,
    outbound: &mut Outbound,
    can_retry: bool,
    abort_on_ejection: bool,
) -> Result<Reply, Attempt> {
    let config = &state.config;
    let lean_body = outbound
        .known()
        .filter(|_| config.forwarding.is_lean() && !head.upgrade);
    match lean_body {
        Some(body) => {
            let outgoing = lean::Outgoing {
                method: &head.method,
                path_and_query: head.path_and_query.as_str(),
                authority: backend.authority.as_str(),
                headers: &head.headers,
                body,
                idempotent: head.idempotent,
            };
            let settings = lean::Settings {
                connect_timeout: config.connect_timeout,
                idle_timeout: config.upstream_idle_timeout,
                max_idle: config.upstream_max_idle,
            };
            let sent = lean::send(backend.addr, &backend.idle, settings, &outgoing);
            let sent = race(sent, backend, config.upstream_timeout, abort_on_ejection).await?;
            sent.map(Reply::Lean).map_err(|e| {
                let kind = match e {
                    lean::Error::Connect(_) => Failure::Connect,
                    _ => Failure::Reset,
                };
                Attempt::Failed(kind, Some(Box::new(e)))
            })
        }
        None => {
            let request =
                hyper_request(backend, head, outbound, can_retry).map_err(Attempt::Refused)?;
            let sent = state.client.request(request);
            let sent = race(sent, backend, config.upstream_timeout, abort_on_ejection).await?;
            sent.map(Reply::Hyper).map_err(|e| {
                let kind = if e.is_connect() {
                    Failure::Connect
                } else {
                    Failure::Reset
                };
                Attempt::Failed(kind, Some(Box::new(e)))
            })
        }
    }
}

/// hyper's request for one attempt at `backend`.
fn hyper_request(
    backend: &Backend,
    head: &mut UpstreamHead,
    outbound: &mut Outbound,
    can_retry: bool,
) -> Result<Request<Body>, ProxyError> {
    let mut uri_parts = http::uri::Parts::default();
    uri_parts.scheme = Some(http::uri::Scheme::HTTP);
    uri_parts.authority = Some(backend.authority.clone());
    uri_parts.path_and_query = Some(head.path_and_query.clone());
    let Ok(uri) = Uri::from_parts(uri_parts) else {
        return Err(ProxyError::BadRequest(
            "the request target cannot be forwarded",
        ));
    };
    let mut request = Request::new(outbound.take());
    *request.method_mut() = head.method.clone();
    *request.uri_mut() = uri;
    *request.version_mut() = Version::HTTP_11;
    // Keep a copy only while a retry could still need one.
    *request.headers_mut() = if can_retry {
        head.headers.clone()
    } else {
        std::mem::take(&mut head.headers)
    };
    Ok(request)
}

/// Step 4: the upstream agreed to switch protocols; the bytes of both sides are copied
/// through until either closes, in a task of their own, while the client gets the 101.
fn tunnel(
    client_side: hyper::upgrade::OnUpgrade,
    mut response: Response<Incoming>,
    in_flight: InFlight,
) -> Response {
    let upstream_side = hyper::upgrade::on(&mut response);
    tokio::spawn(async move {
        let _in_flight = in_flight;
        match tokio::try_join!(client_side, upstream_side) {
            Ok((client, upstream)) => {
                let mut client = TokioIo::new(client);
                let mut upstream = TokioIo::new(upstream);
                if let Err(e) = tokio::io::copy_bidirectional(&mut client, &mut upstream).await {
                    tracing::debug!(error = %e, "upgraded connection ended");
                }
            }
            Err(e) => tracing::warn!(error = %e, "upgrade failed"),
        }
    });
    let (parts, _) = response.into_parts();
    Response::from_parts(parts, Body::empty())
}

/// Step 5: the upstream's answer for the client, without hop-by-hop headers, its body
/// streaming through and the request counted on its backend until the body is done.
fn client_response<B>(response: Response<B>, in_flight: InFlight) -> Response
where
    B: hyper::body::Body<Data = Bytes> + Send + Unpin + 'static,
    B::Error: Into<axum::BoxError>,
{
    let (mut head, body) = response.into_parts();
    headers::strip_hop_by_hop(&mut head.headers);
    let body = Body::new(Guarded {
        inner: body,
        _in_flight: in_flight,
    });
    Response::from_parts(head, body)
}

/// Whether a failed attempt says something about the upstream. A refused connection
/// always does. A reset or a missing answer does only once the upstream had the whole
/// request: before that the client may be the slow one. (A buffered body is handed over
/// whole at once.)
fn is_upstream_fault(failure: Failure, buffered: bool, sent_whole: &Arc<AtomicBool>) -> bool {
    failure == Failure::Connect || buffered || sent_whole.load(Ordering::Relaxed)
}

fn with_info(mut response: Response, info: UpstreamInfo) -> Response {
    response.extensions_mut().insert(info);
    response
}

enum Attempt {
    Failed(Failure, Option<Box<dyn std::error::Error + Send + Sync>>),
    Ejected,
    /// The request cannot be sent at all (its target does not make an upstream URI).
    Refused(ProxyError),
}

/// One attempt against the upstream timeout and, when asked, the backend's ejection.
async fn race<T>(
    attempt: impl std::future::Future<Output = T>,
    backend: &Backend,
    timeout: Duration,
    abort_on_ejection: bool,
) -> Result<T, Attempt> {
    let ejected = async {
        if abort_on_ejection {
            backend.ejected().await;
        } else {
            std::future::pending::<()>().await;
        }
    };
    tokio::select! {
        result = attempt => Ok(result),
        () = tokio::time::sleep(timeout) => Err(Attempt::Failed(Failure::Timeout, None)),
        () = ejected => Err(Attempt::Ejected),
    }
}

/// The upstream's response body, keeping the request counted as outstanding on its
/// backend until the body is done.
struct Guarded<B> {
    inner: B,
    _in_flight: InFlight,
}

impl<B: hyper::body::Body + Unpin> hyper::body::Body for Guarded<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<B::Data>, B::Error>>> {
        Pin::new(&mut self.inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
