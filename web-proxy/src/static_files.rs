//! The front-end: files from one directory, with validators (ETag, Last-Modified), byte
//! ranges, precompressed `.br`/`.gz` siblings, and caching that cannot serve a stale
//! script: scripts, styles, images and manifests also have content-hashed names the pages
//! are rewritten to ([`hashed`]), immutable for a year (as a bundler's `index-BQk3x9Zp.js`);
//! pages, the service worker and plain names are revalidated every time.
//! A path without a file extension that names no file is a client-side route and gets
//! `index.html`; a missing asset (`/assets/x.js`) is a 404, so a broken deploy shows up
//! as errors instead of HTML parsed as JavaScript.
//!
//! Paths are percent-decoded once and must then be plain UTF-8 segments: no `..`, no
//! backslash, no NUL, no hidden files; the resolved file must lie inside the root even
//! through symlinks.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{SystemTime, UNIX_EPOCH};

use axum::body::Body;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use http::header::{self, HeaderMap, HeaderValue};
use http::{Method, Request, StatusCode};
use tokio::io::{AsyncReadExt, AsyncSeekExt};

use crate::error::problem;

mod hashed;

/// Files up to this size are kept in memory after their first request.
const CACHE_FILE_MAX: u64 = 256 * 1024;
/// Bodies cached in all, at most; beyond it files are read from disk each time.
const CACHE_BYTES_MAX: usize = 32 * 1024 * 1024;
const CACHE_ENTRIES_MAX: usize = 4096;

type CacheKey = (PathBuf, (bool, bool));

#[derive(Debug)]
pub struct StaticFiles {
    root: PathBuf,
    /// Resolved files with their headers (and small bodies), keyed by file and accepted
    /// encodings. Each request still stats the file, and an entry whose size or mtime
    /// changed is loaded again, so edits show up at once.
    cache: RwLock<HashMap<CacheKey, Arc<Entry>>>,
    cached_bytes: AtomicUsize,
    /// The hashed names and rewritten pages, read at start and again after a change.
    assets: RwLock<Arc<hashed::Snapshot>>,
    rebuilding: std::sync::Mutex<()>,
}

#[derive(Debug)]
struct Entry {
    found: Found,
    base_len: u64,
    base_modified: SystemTime,
    etag: String,
    modified_http: String,
    headers: HeaderMap,
    body: Option<Bytes>,
}

#[derive(Debug)]
struct Found {
    path: PathBuf,
    /// The name the content type comes from (without `.br`/`.gz`).
    name: PathBuf,
    encoding: Option<&'static str>,
    len: u64,
    modified: SystemTime,
    spa_fallback: bool,
}

impl StaticFiles {
    pub fn new(root: &Path) -> std::io::Result<Self> {
        let root = root.canonicalize()?;
        let assets = hashed::Snapshot::build(&root);
        tracing::info!(
            hashed = assets.hashed.len(),
            pages = assets.documents.len(),
            version = %assets.version,
            "front-end files read"
        );
        Ok(Self {
            root,
            cache: RwLock::new(HashMap::new()),
            cached_bytes: AtomicUsize::new(0),
            assets: RwLock::new(Arc::new(assets)),
            rebuilding: std::sync::Mutex::new(()),
        })
    }

    /// The hashed names and pages as last read.
    fn assets(&self) -> Arc<hashed::Snapshot> {
        Arc::clone(
            &self
                .assets
                .read()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        )
    }

    /// As [`Self::assets`], read again first if a file changed on disk (a deploy in place).
    fn fresh_assets(&self) -> Arc<hashed::Snapshot> {
        let current = self.assets();
        if current.unchanged() {
            return current;
        }
        let _one = self
            .rebuilding
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let current = self.assets();
        if current.unchanged() {
            return current;
        }
        let next = Arc::new(hashed::Snapshot::build(&self.root));
        tracing::info!(version = %next.version, "front-end files changed; read again");
        *self
            .assets
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Arc::clone(&next);
        next
    }

    /// A hashed-looking name of a known file whose hash is not current: today's file,
    /// revalidated, so a page of another deploy (rolling, or still open) gets a script.
    async fn serve_stale_hash(
        &self,
        rel: &str,
        accept: (bool, bool),
        req: &http::request::Parts,
    ) -> Option<Response> {
        let plain = hashed::unhashed(rel)?;
        let assets = self.fresh_assets();
        if let Some(served) = assets.hashed.get(rel) {
            return Some(respond(served.pick(accept), req).await);
        }
        let served = assets.hashed.get(assets.names.get(&plain)?)?;
        let mut response = respond(served.pick(accept), req).await;
        response
            .headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
        Some(response)
    }

    pub async fn serve(&self, req: Request<Body>) -> Response {
        let (req, _body) = req.into_parts();
        if !matches!(req.method, Method::GET | Method::HEAD) {
            let mut r = problem(
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                "이 주소에서는 허용되지 않는 요청 방식입니다.",
            );
            r.headers_mut()
                .insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
            return r;
        }
        let Some(relative) = safe_relative(req.uri.path()) else {
            return not_found();
        };
        let accept = accept_encodings(&req.headers);
        let rel = relative.to_str().unwrap_or_default();
        // A hashed name: from memory, immutable.
        if let Some(served) = self.assets().hashed.get(rel) {
            return respond(served.pick(accept), &req).await;
        }
        // The hot path: one stat, one map lookup.
        let Some((candidate, spa_fallback, meta)) = self.locate(&relative) else {
            return match self.serve_stale_hash(rel, accept, &req).await {
                Some(response) => response,
                None => not_found(),
            };
        };
        // A page or a service worker: rewritten to name the hashed files.
        if let Ok(page) = candidate.strip_prefix(&self.root)
            && let Some(page) = page.to_str()
            && hashed::is_document(page)
        {
            let assets = self.fresh_assets();
            if let Some(served) = assets.documents.get(page) {
                return respond(served.pick(accept), &req).await;
            }
        }
        let key = (candidate, accept);
        if let Some(entry) = self.cached(&key, &meta) {
            return respond(&entry, &req).await;
        }
        let Some(found) = self.find(&key.0, spa_fallback, accept).await else {
            return not_found();
        };
        let entry = Arc::new(self.load(found, &meta).await);
        self.remember(key, Arc::clone(&entry));
        respond(&entry, &req).await
    }

    /// The file a relative path names: itself, its directory's index.html, or (for a
    /// path without an extension) the front-end's index.html.
    fn locate(&self, relative: &Path) -> Option<(PathBuf, bool, std::fs::Metadata)> {
        let mut candidate = self.root.join(relative);
        let mut meta = std::fs::metadata(&candidate).ok();
        if meta.as_ref().is_some_and(std::fs::Metadata::is_dir) {
            candidate = candidate.join("index.html");
            meta = std::fs::metadata(&candidate).ok();
        }
        match meta {
            Some(m) if m.is_file() => Some((candidate, false, m)),
            _ if relative.extension().is_some() => None,
            _ => {
                let index = self.root.join("index.html");
                let m = std::fs::metadata(&index)
                    .ok()
                    .filter(std::fs::Metadata::is_file)?;
                Some((index, true, m))
            }
        }
    }

    fn cached(&self, key: &CacheKey, meta: &std::fs::Metadata) -> Option<Arc<Entry>> {
        let cache = self
            .cache
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let entry = cache.get(key)?;
        let fresh =
            entry.base_len == meta.len() && Some(entry.base_modified) == meta.modified().ok();
        fresh.then(|| Arc::clone(entry))
    }

    fn remember(&self, key: CacheKey, entry: Arc<Entry>) {
        let mut cache = self
            .cache
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if cache.len() >= CACHE_ENTRIES_MAX {
            cache.clear();
            self.cached_bytes.store(0, Ordering::Relaxed);
        }
        if let Some(body) = &entry.body {
            self.cached_bytes.fetch_add(body.len(), Ordering::Relaxed);
        }
        cache.insert(key, entry);
    }

    async fn load(&self, found: Found, base: &std::fs::Metadata) -> Entry {
        let (headers, etag, modified_http) = representation_headers(&found);
        let room = self.cached_bytes.load(Ordering::Relaxed) < CACHE_BYTES_MAX;
        let body = if room && found.len <= CACHE_FILE_MAX {
            tokio::fs::read(&found.path)
                .await
                .ok()
                .filter(|b| b.len() as u64 == found.len)
                .map(Bytes::from)
        } else {
            None
        };
        Entry {
            found,
            base_len: base.len(),
            base_modified: base.modified().unwrap_or(UNIX_EPOCH),
            etag,
            modified_http,
            headers,
            body,
        }
    }

    /// The slow path, once per file: symlinks resolved and checked against the root,
    /// and the precompressed variant chosen.
    async fn find(
        &self,
        candidate: &Path,
        spa_fallback: bool,
        accept: (bool, bool),
    ) -> Option<Found> {
        let real = tokio::fs::canonicalize(candidate).await.ok()?;
        if !real.starts_with(&self.root) {
            tracing::warn!(path = %candidate.display(), "static path escapes the root; refused");
            return None;
        }
        let (br, gzip) = accept;
        let variants = [(br, ".br", "br"), (gzip, ".gz", "gzip")];
        for (wanted, suffix, encoding) in variants {
            if !wanted {
                continue;
            }
            let mut name = real.clone().into_os_string();
            name.push(suffix);
            let path = PathBuf::from(name);
            if let Ok(meta) = tokio::fs::metadata(&path).await
                && meta.is_file()
            {
                return Some(Found {
                    len: meta.len(),
                    modified: meta.modified().unwrap_or(UNIX_EPOCH),
                    path,
                    name: real,
                    encoding: Some(encoding),
                    spa_fallback,
                });
            }
        }
        let meta = tokio::fs::metadata(&real).await.ok()?;
        Some(Found {
            len: meta.len(),
            modified: meta.modified().unwrap_or(UNIX_EPOCH),
            path: real.clone(),
            name: real,
            encoding: None,
            spa_fallback,
        })
    }
}

/// Decodes and checks a request path; `None` when it is not a safe relative path.
pub fn safe_relative(path: &str) -> Option<PathBuf> {
    let decoded = percent_encoding::percent_decode_str(path)
        .decode_utf8()
        .ok()?;
    if decoded.contains('\0') || decoded.contains('\\') {
        return None;
    }
    let mut out = PathBuf::new();
    for segment in decoded.split('/') {
        match segment {
            "" | "." => {}
            ".." => return None,
            s if s.starts_with('.') => return None,
            s => out.push(s),
        }
    }
    Some(out)
}

/// Whether the client takes (br, gzip).
fn accept_encodings(headers: &HeaderMap) -> (bool, bool) {
    let mut br = false;
    let mut gzip = false;
    for item in headers
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
    {
        let mut parts = item.split(';');
        let coding = parts.next().unwrap_or("").trim().to_ascii_lowercase();
        let refused = parts.any(|p| {
            let p = p.trim();
            p.strip_prefix("q=")
                .is_some_and(|q| q.trim().parse::<f32>().is_ok_and(|q| q <= 0.0))
        });
        match coding.as_str() {
            "br" => br = !refused,
            "gzip" => gzip = !refused,
            _ => {}
        }
    }
    (br, gzip)
}

fn is_hashed_asset(name: &Path) -> bool {
    let Some(stem) = name.file_stem().and_then(|s| s.to_str()) else {
        return false;
    };
    // Bundlers name outputs like `index-BQk3x9Zp.js` or `app.3f2a9c1e.css`.
    stem.rsplit(['-', '.']).next().is_some_and(|hash| {
        hash.len() >= 8
            && hash.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            && hash.chars().any(|c| c.is_ascii_digit())
    }) && stem.contains(['-', '.'])
}

fn etag(found: &Found) -> String {
    let mtime = found
        .modified
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let suffix = found.encoding.map(|e| format!("-{e}")).unwrap_or_default();
    format!("\"{:x}-{:x}{suffix}\"", found.len, mtime)
}

fn etag_matches(list: &str, tag: &str) -> bool {
    let tag = tag.trim_start_matches("W/");
    list.split(',')
        .map(str::trim)
        .any(|t| t == "*" || t.trim_start_matches("W/") == tag)
}

/// How long a file served from disk may be cached.
fn cache_policy(found: &Found) -> &'static str {
    let is_index = found.spa_fallback || found.name.file_name().is_some_and(|n| n == "index.html");
    if is_index {
        "no-cache"
    } else if is_hashed_asset(&found.name) {
        hashed::IMMUTABLE
    } else if hashed::is_hashable(&found.name) {
        // Its hashed name is what pages use; the plain one serves pages still open from
        // before, which must not keep an old copy.
        "no-cache"
    } else {
        "public, max-age=3600"
    }
}

/// The headers that describe a file's representation, computed once per file.
fn representation_headers(found: &Found) -> (HeaderMap, String, String) {
    headers_for(found, etag(found), cache_policy(found))
}

/// The representation headers with a given entity tag and cache policy.
fn headers_for(found: &Found, tag: String, cache: &str) -> (HeaderMap, String, String) {
    let modified = httpdate::fmt_http_date(found.modified);
    let mut headers = HeaderMap::new();
    let mime = mime_guess::from_path(&found.name).first_or_octet_stream();
    let content_type = if mime.type_() == "text"
        || mime.essence_str() == "application/javascript"
        || mime.essence_str() == "application/json"
    {
        format!("{}; charset=utf-8", mime.essence_str())
    } else {
        mime.essence_str().to_owned()
    };
    for (name, value) in [
        (header::CONTENT_TYPE, content_type.as_str()),
        (header::ETAG, tag.as_str()),
        (header::LAST_MODIFIED, modified.as_str()),
        (header::CACHE_CONTROL, cache),
        (header::ACCEPT_RANGES, "bytes"),
        (header::VARY, "Accept-Encoding"),
    ] {
        if let Ok(v) = HeaderValue::from_str(value) {
            headers.insert(name, v);
        }
    }
    if let Some(encoding) = found.encoding {
        headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static(encoding));
    }
    (headers, tag, modified)
}

async fn respond(entry: &Entry, req: &http::request::Parts) -> Response {
    let found = &entry.found;
    let tag = &entry.etag;
    let modified = &entry.modified_http;
    let h = &req.headers;
    let header_str = |name: header::HeaderName| h.get(name).and_then(|v| v.to_str().ok());
    // RFC 9110 §13.2.2: If-None-Match wins over If-Modified-Since.
    let not_modified = match header_str(header::IF_NONE_MATCH) {
        Some(list) => etag_matches(list, tag),
        None => header_str(header::IF_MODIFIED_SINCE)
            .and_then(|d| httpdate::parse_http_date(d).ok())
            .is_some_and(|since| {
                let secs = |t: SystemTime| {
                    t.duration_since(UNIX_EPOCH)
                        .map(|d| d.as_secs())
                        .unwrap_or(0)
                };
                secs(found.modified) <= secs(since)
            }),
    };
    if not_modified {
        let mut r = StatusCode::NOT_MODIFIED.into_response();
        for name in [
            header::ETAG,
            header::LAST_MODIFIED,
            header::CACHE_CONTROL,
            header::VARY,
        ] {
            if let Some(v) = entry.headers.get(&name) {
                r.headers_mut().insert(name, v.clone());
            }
        }
        return r;
    }

    let range = header_str(header::RANGE).filter(|_| {
        // If-Range: only honour the range when the representation is unchanged.
        match header_str(header::IF_RANGE) {
            None => true,
            Some(v) if v.starts_with('"') || v.starts_with("W/") => v == tag,
            Some(v) => {
                httpdate::parse_http_date(v).is_ok_and(|d| httpdate::fmt_http_date(d) == *modified)
            }
        }
    });
    let mut headers = entry.headers.clone();
    let (status, start, len) = match range.map(|r| parse_range(r, found.len)) {
        None | Some(RangeSpec::Ignore) => (StatusCode::OK, 0, found.len),
        Some(RangeSpec::Unsatisfiable) => {
            let mut r = problem(
                StatusCode::RANGE_NOT_SATISFIABLE,
                "range_not_satisfiable",
                "요청한 범위가 파일 밖에 있습니다.",
            );
            if let Ok(v) = HeaderValue::from_str(&format!("bytes */{}", found.len)) {
                r.headers_mut().insert(header::CONTENT_RANGE, v);
            }
            return r;
        }
        Some(RangeSpec::Range(start, end)) => {
            if let Ok(v) = HeaderValue::from_str(&format!("bytes {start}-{end}/{}", found.len)) {
                headers.insert(header::CONTENT_RANGE, v);
            }
            (StatusCode::PARTIAL_CONTENT, start, end - start + 1)
        }
    };
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(len));
    let body = if req.method == Method::HEAD {
        Body::empty()
    } else if let Some(bytes) = &entry.body {
        let from = usize::try_from(start)
            .unwrap_or(usize::MAX)
            .min(bytes.len());
        let to = usize::try_from(start + len)
            .unwrap_or(usize::MAX)
            .min(bytes.len());
        Body::from(bytes.slice(from..to))
    } else {
        match open_range(&found.path, start, len).await {
            Ok(body) => body,
            Err(e) => {
                tracing::error!(path = %found.path.display(), error = %e, "cannot read static file");
                return problem(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal_error",
                    "파일을 읽을 수 없습니다.",
                );
            }
        }
    };
    let mut response = Response::new(body);
    *response.status_mut() = status;
    *response.headers_mut() = headers;
    response
}

async fn open_range(path: &Path, start: u64, len: u64) -> std::io::Result<Body> {
    let mut file = tokio::fs::File::open(path).await?;
    if start > 0 {
        file.seek(std::io::SeekFrom::Start(start)).await?;
    }
    let stream = tokio_util::io::ReaderStream::with_capacity(file.take(len), 64 * 1024);
    Ok(Body::from_stream(stream))
}

#[derive(Debug, PartialEq, Eq)]
enum RangeSpec {
    /// Not a single byte range we serve: answer with the whole file (RFC 9110 allows it).
    Ignore,
    Unsatisfiable,
    /// Inclusive start and end.
    Range(u64, u64),
}

fn parse_range(value: &str, len: u64) -> RangeSpec {
    let Some(spec) = value.trim().strip_prefix("bytes=") else {
        return RangeSpec::Ignore;
    };
    if spec.contains(',') {
        return RangeSpec::Ignore;
    }
    let Some((a, b)) = spec.split_once('-') else {
        return RangeSpec::Ignore;
    };
    let (a, b) = (a.trim(), b.trim());
    let parsed = match (a.is_empty(), b.is_empty()) {
        (true, true) => return RangeSpec::Ignore,
        // Suffix: the last `b` bytes.
        (true, false) => match b.parse::<u64>() {
            Ok(0) => return RangeSpec::Unsatisfiable,
            Ok(n) => (len.saturating_sub(n), len.saturating_sub(1)),
            Err(_) => return RangeSpec::Ignore,
        },
        (false, true) => match a.parse::<u64>() {
            Ok(s) => (s, len.saturating_sub(1)),
            Err(_) => return RangeSpec::Ignore,
        },
        (false, false) => match (a.parse::<u64>(), b.parse::<u64>()) {
            (Ok(s), Ok(e)) if s <= e => (s, e.min(len.saturating_sub(1))),
            _ => return RangeSpec::Ignore,
        },
    };
    if len == 0 || parsed.0 >= len {
        RangeSpec::Unsatisfiable
    } else {
        RangeSpec::Range(parsed.0, parsed.1)
    }
}

fn not_found() -> Response {
    problem(
        StatusCode::NOT_FOUND,
        "not_found",
        "요청한 파일을 찾을 수 없습니다.",
    )
}

#[cfg(test)]
mod tests;
