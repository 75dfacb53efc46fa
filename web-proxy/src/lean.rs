//! The lean way to an upstream (`WEB_PROXY_FORWARDING=lean`): HTTP/1.1 written and read
//! by the request's own task on a connection it takes from its backend's idle list, with
//! no connection task, no channel between them, and no re-framing of a body whose length
//! is known.
//!
//! It carries what the common case needs and nothing else: a request with no body or a
//! buffered one (so its length is known and a retry can resend it), no protocol upgrade.
//! Everything else takes hyper's client ([`crate::forward`] decides). The response head is
//! parsed with `httparse`; its body is relayed as it arrives, framed as the upstream framed
//! it: a length, chunks (decoded, so the client's side frames them afresh), or the end of
//! the connection. A connection goes back to the idle list only once its response was read
//! whole and neither side asked to close it; one dropped half-way is closed.

use std::io::{self, Write as _};
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};
use std::time::{Duration, Instant};

use bytes::{Buf, Bytes, BytesMut};
use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use http::{Method, Response, StatusCode, Version};
use hyper::body::{Frame, SizeHint};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

use crate::headers;

/// The longest response head read; more is the upstream misbehaving.
const MAX_HEAD: usize = 64 * 1024;
/// Headers in a response head, at most.
const MAX_HEADERS: usize = 128;
/// The longest chunk-size or trailer line.
const MAX_LINE: usize = 4096;
/// How much is read from the upstream at a time.
const READ_CHUNK: usize = 16 * 1024;

/// One connection to an upstream, with what was read from it and not yet used.
pub struct Conn {
    stream: TcpStream,
    read: BytesMut,
    write: Vec<u8>,
    idle_since: Instant,
}

impl Conn {
    async fn open(addr: SocketAddr, connect_timeout: Duration) -> Result<Self, Error> {
        let stream = tokio::time::timeout(connect_timeout, TcpStream::connect(addr))
            .await
            .map_err(|_| Error::Connect(io::ErrorKind::TimedOut.into()))?
            .map_err(Error::Connect)?;
        stream.set_nodelay(true).map_err(Error::Connect)?;
        Ok(Self {
            stream,
            read: BytesMut::with_capacity(READ_CHUNK),
            write: Vec::with_capacity(1024),
            idle_since: Instant::now(),
        })
    }

    /// Whether an idle connection can carry another request: young enough, and the
    /// upstream has neither closed it nor sent anything unasked.
    fn reusable(&self, idle_timeout: Duration) -> bool {
        if self.idle_since.elapsed() >= idle_timeout || !self.read.is_empty() {
            return false;
        }
        let mut probe = [0u8; 1];
        matches!(self.stream.try_read(&mut probe), Err(e) if e.kind() == io::ErrorKind::WouldBlock)
    }

    /// Reads more from the upstream; `Ok(0)` is its end.
    fn poll_fill(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        if self.read.capacity() - self.read.len() < READ_CHUNK / 4 {
            self.read.reserve(READ_CHUNK);
        }
        tokio_util::io::poll_read_buf(Pin::new(&mut self.stream), cx, &mut self.read)
    }

    async fn fill(&mut self) -> io::Result<usize> {
        std::future::poll_fn(|cx| self.poll_fill(cx)).await
    }
}

/// The idle connections of one backend, newest last.
#[derive(Default)]
pub struct IdleConns(std::sync::Mutex<Vec<Conn>>);

impl IdleConns {
    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Conn>> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The newest idle connection that can still be used; older unusable ones are closed.
    fn take(&self, idle_timeout: Duration) -> Option<Conn> {
        loop {
            let conn = self.lock().pop()?;
            if conn.reusable(idle_timeout) {
                return Some(conn);
            }
        }
    }

    fn put(&self, mut conn: Conn, max_idle: usize, idle_timeout: Duration) {
        conn.idle_since = Instant::now();
        let mut idle = self.lock();
        // The oldest are first: those past their time go now rather than on a later take.
        let stale = idle
            .iter()
            .take_while(|c| c.idle_since.elapsed() >= idle_timeout)
            .count();
        idle.drain(..stale);
        if idle.len() < max_idle {
            idle.push(conn);
        }
    }

    pub fn len(&self) -> usize {
        self.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Why an attempt failed, in the terms [`crate::forward`] reports and retries by.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("connecting: {0}")]
    Connect(io::Error),
    #[error("upstream connection: {0}")]
    Io(#[from] io::Error),
    #[error("upstream closed the connection before answering")]
    Closed,
    #[error("upstream answered badly: {0}")]
    Protocol(&'static str),
}

/// How the lean client is set up (from [`crate::Config`]).
#[derive(Clone, Copy)]
pub struct Settings {
    pub connect_timeout: Duration,
    pub idle_timeout: Duration,
    pub max_idle: usize,
}

/// The request as it goes upstream: everything [`crate::forward`] worked out.
pub struct Outgoing<'a> {
    pub method: &'a Method,
    pub path_and_query: &'a str,
    /// Sent as `Host` when the client's request had none.
    pub authority: &'a str,
    pub headers: &'a HeaderMap,
    pub body: Option<&'a Bytes>,
    /// Safe to send again on a fresh connection if a reused one turns out dead.
    pub idempotent: bool,
}

/// Sends `req` to `addr` over one of `idle` or a new connection, and reads the response
/// head; the body follows as it is read.
pub async fn send(
    addr: SocketAddr,
    idle: &Arc<IdleConns>,
    settings: Settings,
    req: &Outgoing<'_>,
) -> Result<Response<UpstreamBody>, Error> {
    if let Some(conn) = idle.take(settings.idle_timeout) {
        match exchange(conn, req).await {
            Ok(head) => return respond(idle, settings, req, head),
            // The upstream closed a kept connection as it was reused: nothing was
            // answered, so a fresh connection may carry the request again when that
            // cannot do harm.
            Err(Error::Closed | Error::Io(_)) if req.idempotent => {}
            Err(e) => return Err(e),
        }
    }
    let conn = Conn::open(addr, settings.connect_timeout).await?;
    let head = exchange(conn, req).await?;
    respond(idle, settings, req, head)
}

/// A response head read, with the connection whose buffer holds what follows it.
struct Head {
    conn: Conn,
    status: StatusCode,
    version: Version,
    headers: HeaderMap,
}

/// Writes the request (head and body in one write) and reads the final response head.
async fn exchange(mut conn: Conn, req: &Outgoing<'_>) -> Result<Head, Error> {
    conn.write.clear();
    write_head(&mut conn.write, req);
    if let Some(body) = req.body {
        conn.write.extend_from_slice(body);
    }
    conn.stream.write_all(&conn.write).await?;
    loop {
        if let Some(head) = parse_head(&mut conn)? {
            if head.0 == StatusCode::SWITCHING_PROTOCOLS {
                return Err(Error::Protocol("switched protocols unasked"));
            }
            if head.0.is_informational() {
                continue; // 100 Continue and the like: the final answer follows.
            }
            let (status, version, headers) = head;
            return Ok(Head {
                conn,
                status,
                version,
                headers,
            });
        }
        if conn.read.len() >= MAX_HEAD {
            return Err(Error::Protocol("response head too large"));
        }
        if conn.fill().await? == 0 {
            return Err(if conn.read.is_empty() {
                Error::Closed
            } else {
                Error::Protocol("connection closed inside the response head")
            });
        }
    }
}

/// The request line and headers. The framing header is ours: the body's length when
/// there is one, `0` for a method whose meaning includes a body; the client's own
/// `Content-Length` described what it sent, which is what is sent.
fn write_head(out: &mut Vec<u8>, req: &Outgoing<'_>) {
    out.extend_from_slice(req.method.as_str().as_bytes());
    out.push(b' ');
    out.extend_from_slice(req.path_and_query.as_bytes());
    out.extend_from_slice(b" HTTP/1.1\r\n");
    if !req.headers.contains_key(header::HOST) {
        let _ = write!(out, "host: {}\r\n", req.authority);
    }
    for (name, value) in req.headers {
        if name == header::CONTENT_LENGTH {
            continue;
        }
        out.extend_from_slice(name.as_str().as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    let length = match req.body {
        Some(body) => Some(body.len()),
        None if matches!(*req.method, Method::POST | Method::PUT | Method::PATCH) => Some(0),
        None => None,
    };
    if let Some(n) = length {
        out.extend_from_slice(b"content-length: ");
        let _ = write!(out, "{n}\r\n");
    }
    out.extend_from_slice(b"\r\n");
}

/// Parses a response head from the front of the connection's buffer, taking it off.
fn parse_head(conn: &mut Conn) -> Result<Option<(StatusCode, Version, HeaderMap)>, Error> {
    let mut slots = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut parsed = httparse::Response::new(&mut slots);
    let used = match parsed.parse(&conn.read) {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(httparse::Error::TooManyHeaders) => return Err(Error::Protocol("too many headers")),
        Err(_) => return Err(Error::Protocol("malformed response head")),
    };
    let status = parsed
        .code
        .and_then(|c| StatusCode::from_u16(c).ok())
        .ok_or(Error::Protocol("bad status code"))?;
    let version = if parsed.version == Some(0) {
        Version::HTTP_10
    } else {
        Version::HTTP_11
    };
    let mut headers = HeaderMap::with_capacity(parsed.headers.len());
    for h in parsed.headers.iter() {
        let name = HeaderName::from_bytes(h.name.as_bytes())
            .map_err(|_| Error::Protocol("bad header name"))?;
        let value =
            HeaderValue::from_bytes(h.value).map_err(|_| Error::Protocol("bad header value"))?;
        headers.append(name, value);
    }
    conn.read.advance(used);
    Ok(Some((status, version, headers)))
}

/// The client's response: the upstream's head, its body framed as it came. A head whose
/// framing cannot be trusted is the upstream's fault (502), and its connection closes.
fn respond(
    idle: &Arc<IdleConns>,
    settings: Settings,
    req: &Outgoing<'_>,
    head: Head,
) -> Result<Response<UpstreamBody>, Error> {
    let Head {
        conn,
        status,
        version,
        mut headers,
    } = head;
    let framing = framing(req.method, status, &headers).map_err(Error::Protocol)?;
    // With a transfer coding the length says nothing (RFC 9112 §6.3); an upstream that
    // sends both is not trusted with another request.
    let both = headers.contains_key(header::TRANSFER_ENCODING)
        && headers.remove(header::CONTENT_LENGTH).is_some();
    let keep = !both && framing != Framing::Eof && keeps_alive(version, &headers);
    let body = UpstreamBody {
        conn: Some(conn),
        framing,
        keep,
        idle: Arc::clone(idle),
        settings,
    };
    let mut response = Response::new(body);
    *response.status_mut() = status;
    *response.headers_mut() = headers;
    Ok(response)
}

/// Whether the connection may carry another request after this response.
fn keeps_alive(version: Version, headers: &HeaderMap) -> bool {
    if version == Version::HTTP_10 {
        headers::connection_says(headers, "keep-alive")
    } else {
        !headers::connection_says(headers, "close")
    }
}

/// How a response body is delimited (RFC 9112 §6.3).
#[derive(Debug, PartialEq, Eq)]
enum Framing {
    Length(u64),
    Chunked(Chunk),
    /// Until the upstream closes the connection.
    Eof,
}

/// Where a chunked body's reader is.
#[derive(Debug, PartialEq, Eq)]
enum Chunk {
    Size,
    Data(u64),
    DataEnd,
    Trailers,
}

fn framing(
    method: &Method,
    status: StatusCode,
    headers: &HeaderMap,
) -> Result<Framing, &'static str> {
    if method == Method::HEAD
        || status == StatusCode::NO_CONTENT
        || status == StatusCode::NOT_MODIFIED
    {
        return Ok(Framing::Length(0));
    }
    // Chunked only when it is the final coding; any other ends with the connection.
    if let Some(te) = headers
        .get_all(header::TRANSFER_ENCODING)
        .iter()
        .next_back()
    {
        let last = te
            .to_str()
            .ok()
            .and_then(|v| v.rsplit(',').next())
            .map(str::trim);
        return Ok(match last {
            Some(c) if c.eq_ignore_ascii_case("chunked") => Framing::Chunked(Chunk::Size),
            _ => Framing::Eof,
        });
    }
    let mut lengths = headers.get_all(header::CONTENT_LENGTH).iter();
    match lengths.next() {
        None => Ok(Framing::Eof),
        Some(first) => {
            if lengths.any(|other| other != first) {
                return Err("conflicting content-length");
            }
            first
                .to_str()
                .ok()
                .filter(|v| !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()))
                .and_then(|v| v.parse().ok())
                .map(Framing::Length)
                .ok_or("bad content-length")
        }
    }
}

/// The upstream's response body, read from the connection as the client takes it. The
/// connection returns to its backend's idle list the moment the body is whole.
pub struct UpstreamBody {
    conn: Option<Conn>,
    framing: Framing,
    keep: bool,
    idle: Arc<IdleConns>,
    settings: Settings,
}

impl UpstreamBody {
    /// The body is whole: the connection goes back, or closes.
    fn finish(&mut self) {
        self.framing = Framing::Length(0);
        if let Some(conn) = self.conn.take()
            && self.keep
        {
            self.idle
                .put(conn, self.settings.max_idle, self.settings.idle_timeout);
        }
    }

    /// Takes up to `n` bytes that are already read.
    fn take(conn: &mut Conn, n: u64) -> Bytes {
        let len = usize::try_from(n)
            .unwrap_or(usize::MAX)
            .min(conn.read.len());
        conn.read.split_to(len).freeze()
    }
}

fn broken(reason: &'static str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, reason)
}

impl hyper::body::Body for UpstreamBody {
    type Data = Bytes;
    type Error = io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, io::Error>>> {
        let this = &mut *self;
        loop {
            if this.framing == Framing::Length(0) && this.conn.is_none() {
                return Poll::Ready(None);
            }
            let Some(conn) = this.conn.as_mut() else {
                return Poll::Ready(Some(Err(broken("the upstream's framing is broken"))));
            };
            match step(&mut this.framing, conn) {
                Step::Data(data) => {
                    if matches!(this.framing, Framing::Length(0)) {
                        this.finish();
                    }
                    return Poll::Ready(Some(Ok(Frame::data(data))));
                }
                Step::Done => {
                    this.finish();
                    return Poll::Ready(None);
                }
                Step::Again => continue,
                Step::Fail(reason) => {
                    this.conn = None;
                    return Poll::Ready(Some(Err(broken(reason))));
                }
                Step::Read => {}
            }
            let n = match ready!(conn.poll_fill(cx)) {
                Ok(n) => n,
                Err(e) => {
                    this.conn = None;
                    return Poll::Ready(Some(Err(e)));
                }
            };
            if n == 0 {
                if this.framing == Framing::Eof {
                    this.keep = false;
                    this.finish();
                    return Poll::Ready(None);
                }
                this.conn = None;
                return Poll::Ready(Some(Err(broken("the upstream closed inside the body"))));
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.framing == Framing::Length(0) && self.conn.is_none()
    }

    fn size_hint(&self) -> SizeHint {
        match self.framing {
            Framing::Length(n) if self.conn.is_some() || n == 0 => SizeHint::with_exact(n),
            _ => SizeHint::default(),
        }
    }
}

/// What one step through the buffered bytes gave.
enum Step {
    Data(Bytes),
    Done,
    /// The state moved on; step again.
    Again,
    /// More bytes are needed.
    Read,
    Fail(&'static str),
}

/// One step of reading a body from what is buffered.
fn step(framing: &mut Framing, conn: &mut Conn) -> Step {
    match framing {
        Framing::Length(0) => Step::Done,
        Framing::Length(_) | Framing::Chunked(Chunk::Data(_)) if conn.read.is_empty() => Step::Read,
        Framing::Length(left) => {
            let data = UpstreamBody::take(conn, *left);
            *left -= data.len() as u64;
            Step::Data(data)
        }
        Framing::Eof if conn.read.is_empty() => Step::Read,
        Framing::Eof => Step::Data(conn.read.split().freeze()),
        Framing::Chunked(chunk) => step_chunked(chunk, conn),
    }
}

fn step_chunked(chunk: &mut Chunk, conn: &mut Conn) -> Step {
    match chunk {
        Chunk::Size => match httparse::parse_chunk_size(&conn.read) {
            Ok(httparse::Status::Complete((used, size))) => {
                conn.read.advance(used);
                *chunk = if size == 0 {
                    Chunk::Trailers
                } else {
                    Chunk::Data(size)
                };
                Step::Again
            }
            Ok(httparse::Status::Partial) if conn.read.len() < MAX_LINE => Step::Read,
            _ => Step::Fail("bad chunk size"),
        },
        Chunk::Data(left) => {
            let data = UpstreamBody::take(conn, *left);
            *left -= data.len() as u64;
            if *left == 0 {
                *chunk = Chunk::DataEnd;
            }
            Step::Data(data)
        }
        Chunk::DataEnd => {
            if conn.read.len() < 2 {
                return Step::Read;
            }
            if &conn.read[..2] != b"\r\n" {
                return Step::Fail("chunk not followed by CRLF");
            }
            conn.read.advance(2);
            *chunk = Chunk::Size;
            Step::Again
        }
        // Trailer fields are not passed on (the client's side has no `Trailer` header to
        // announce them); they are read past, up to the empty line that ends the body.
        Chunk::Trailers => match conn.read.windows(2).position(|w| w == b"\r\n") {
            Some(0) => {
                conn.read.advance(2);
                Step::Done
            }
            Some(end) => {
                conn.read.advance(end + 2);
                Step::Again
            }
            None if conn.read.len() < MAX_LINE => Step::Read,
            None => Step::Fail("trailer line too long"),
        },
    }
}

#[cfg(test)]
mod tests;
