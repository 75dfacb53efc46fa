//! Content-hashed names for the front-end's files, worked out by web-proxy itself when it
//! starts (no build step): every script, style sheet, image and manifest is also served
//! as `name.<hash>.ext`, immutable for a year, and the pages (and the service worker) are
//! rewritten to name those. A deploy that changes a file changes its name, so a browser
//! never runs yesterday's script against today's API.
//!
//! A file's hash covers what it references, transitively (`app.js` imports `ui.js`, which
//! imports `i18n.js`): the hash is taken over the raw contents of the whole closure, so
//! cycles need no special case and a changed import gives its importers new names too.
//! References are found where a quote or `(` is followed by a path that starts with `/`,
//! `./` or `../` and names a hashed file (`src="/app.js"`, `from "./ui.js"`,
//! `url(/img/a.png)`); only the file name part is replaced.
//!
//! Pages (`*.html`) and service workers (`sw.js`) keep their names (no-cache, revalidated
//! by ETag); `__UPBRELLA_ASSETS_VERSION__` in them becomes the version of the whole set, so
//! a deploy changes the worker's bytes and the browser installs the new one. Plain names
//! keep working for pages still open from before. The files are read once; a page or a
//! worker request first checks (one stat per file read) that none changed on disk, and
//! reads them again if one did, so files replaced in place are picked up as well.

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::body::Body;
use bytes::Bytes;
use http::header::{self, HeaderValue};
use sha2::{Digest, Sha256};

use super::{Entry, Found};

/// Hex digits of the hash in a name: `app.3f2a9c1e0b.js`.
pub const HASH_LEN: usize = 10;
/// Replaced in pages and service workers by the version of the whole set of files.
pub const VERSION_PLACEHOLDER: &str = "__UPBRELLA_ASSETS_VERSION__";
pub const IMMUTABLE: &str = "public, max-age=31536000, immutable";

/// Larger files are served under their own name only.
const FILE_MAX: u64 = 2 * 1024 * 1024;
/// All files read, at most; beyond it the rest are served under their own names only.
const TOTAL_MAX: u64 = 64 * 1024 * 1024;
const FILES_MAX: usize = 10_000;
const DEPTH_MAX: usize = 16;

/// Extensions of the files that also get a hashed name.
const HASHED: &[&str] = &[
    "js",
    "mjs",
    "css",
    "webmanifest",
    "png",
    "jpg",
    "jpeg",
    "gif",
    "webp",
    "avif",
    "svg",
    "ico",
    "woff",
    "woff2",
];
/// Text files whose references are rewritten.
const TEXT: &[&str] = &["js", "mjs", "css", "webmanifest", "html", "htm"];
const PAGES: &[&str] = &["html", "htm"];
/// Service workers: their URL is their identity, so they keep their name.
const WORKERS: &[&str] = &["sw.js", "service-worker.js"];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Hashed,
    Document,
}

fn last_segment(rel: &str) -> &str {
    rel.rsplit('/').next().unwrap_or(rel)
}

fn extension(rel: &str) -> Option<String> {
    let name = last_segment(rel);
    let (stem, ext) = name.rsplit_once('.')?;
    (!stem.is_empty()).then(|| ext.to_ascii_lowercase())
}

fn kind_of(rel: &str) -> Option<Kind> {
    if WORKERS.contains(&last_segment(rel)) {
        return Some(Kind::Document);
    }
    let ext = extension(rel)?;
    if PAGES.contains(&ext.as_str()) {
        Some(Kind::Document)
    } else if HASHED.contains(&ext.as_str()) {
        Some(Kind::Hashed)
    } else {
        None
    }
}

/// Whether a file of this name gets a hashed name (so its plain name is revalidated).
pub fn is_hashable(name: &Path) -> bool {
    name.to_str()
        .is_some_and(|n| kind_of(n) == Some(Kind::Hashed))
}

/// Whether a file of this name is a page or a service worker, served rewritten.
pub fn is_document(rel: &str) -> bool {
    kind_of(rel) == Some(Kind::Document)
}

/// `img/icon.png` → `img/icon.<hash>.png`.
fn hashed_name(rel: &str, hash: &str) -> String {
    match rel.rsplit_once('.') {
        Some((stem, ext)) => format!("{stem}.{hash}.{ext}"),
        None => rel.to_owned(),
    }
}

/// The plain name of a hashed-looking name: `app.0123456789.js` → `app.js`.
pub fn unhashed(rel: &str) -> Option<String> {
    let (stem, ext) = rel.rsplit_once('.')?;
    let (base, hash) = stem.rsplit_once('.')?;
    let is_hash = hash.len() == HASH_LEN
        && hash
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    (is_hash && !last_segment(base).is_empty()).then(|| format!("{base}.{ext}"))
}

fn hex(digest: &[u8]) -> String {
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// A reference to a hashed file inside a text: the byte range of its file name part.
#[derive(Debug, PartialEq, Eq)]
struct Reference {
    start: usize,
    end: usize,
    target: String,
}

/// Resolves a path as written in the file `from` (both relative to the root).
fn resolve(from: &str, token: &str) -> Option<String> {
    let (mut segments, rest): (Vec<&str>, &str) = if token.starts_with("//") {
        return None;
    } else if let Some(rest) = token.strip_prefix('/') {
        (Vec::new(), rest)
    } else if token.starts_with("./") || token.starts_with("../") {
        let mut dir: Vec<&str> = from.split('/').collect();
        dir.pop();
        (dir, token)
    } else {
        return None;
    };
    for segment in rest.split('/') {
        match segment {
            "" | "." => {}
            ".." => {
                segments.pop()?;
            }
            s => segments.push(s),
        }
    }
    Some(segments.join("/"))
}

fn path_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~' | b'/')
}

/// The references in `text` (the file `from`) to files `known` says are hashed.
fn references(from: &str, text: &[u8], known: &dyn Fn(&str) -> bool) -> Vec<Reference> {
    let mut found = Vec::new();
    for (i, &open) in text.iter().enumerate() {
        if !matches!(open, b'"' | b'\'' | b'`' | b'(') {
            continue;
        }
        let start = i + 1;
        let len = text[start..].iter().take_while(|&&b| path_byte(b)).count();
        let end = start + len;
        let closed = text
            .get(end)
            .is_some_and(|b| matches!(b, b'"' | b'\'' | b'`' | b')' | b'?' | b'#'));
        if len == 0 || !closed {
            continue;
        }
        let Ok(token) = std::str::from_utf8(&text[start..end]) else {
            continue;
        };
        let Some(target) = resolve(from, token).filter(|t| known(t)) else {
            continue;
        };
        let name_at = token.rfind('/').map_or(0, |p| p + 1);
        found.push(Reference {
            start: start + name_at,
            end,
            target,
        });
    }
    found
}

fn rewrite(text: &[u8], refs: &[Reference], names: &HashMap<String, String>) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len() + refs.len() * (HASH_LEN + 1));
    let mut at = 0;
    for r in refs {
        out.extend_from_slice(&text[at..r.start]);
        match names.get(&r.target) {
            Some(name) => out.extend_from_slice(last_segment(name).as_bytes()),
            None => out.extend_from_slice(&text[r.start..r.end]),
        }
        at = r.end;
    }
    out.extend_from_slice(&text[at..]);
    out
}

fn replace_all(text: &[u8], from: &str, to: &str) -> Vec<u8> {
    let from = from.as_bytes();
    let mut out = Vec::with_capacity(text.len());
    let mut i = 0;
    while i < text.len() {
        if text[i..].starts_with(from) {
            out.extend_from_slice(to.as_bytes());
            i += from.len();
        } else {
            out.push(text[i]);
            i += 1;
        }
    }
    out
}

/// One file read from the root.
#[derive(Debug)]
struct Source {
    rel: String,
    path: PathBuf,
    kind: Kind,
    body: Vec<u8>,
    modified: SystemTime,
    /// Its precompressed siblings as they are on disk (`.gz`, `.br`), if any.
    gzip: Option<Vec<u8>>,
    br: Option<Vec<u8>>,
}

/// What was looked at, to notice a change: a path and its size and mtime (`None`: absent).
type Seen = (PathBuf, Option<(u64, SystemTime)>);

fn stat(path: &Path) -> Option<(u64, SystemTime)> {
    let meta = std::fs::metadata(path).ok()?;
    Some((meta.len(), meta.modified().unwrap_or(UNIX_EPOCH)))
}

fn read_sibling(path: &Path, suffix: &str, seen: &mut Vec<Seen>) -> Option<Vec<u8>> {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    let sibling = PathBuf::from(name);
    let state = stat(&sibling);
    seen.push((sibling.clone(), state));
    let (len, _) = state?;
    if len > FILE_MAX {
        return None;
    }
    std::fs::read(&sibling).ok()
}

/// Every page, worker and hashable file under `root` (canonical), and what was looked at.
fn walk(root: &Path) -> (Vec<Source>, Vec<Seen>) {
    let mut files = Vec::new();
    let mut seen = Vec::new();
    let mut total = 0u64;
    let mut dirs = vec![(root.to_path_buf(), String::new(), 0usize)];
    while let Some((dir, prefix, depth)) = dirs.pop() {
        seen.push((dir.clone(), stat(&dir)));
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        let mut names: Vec<String> = entries
            .filter_map(Result::ok)
            .filter_map(|e| e.file_name().into_string().ok())
            .filter(|n| !n.starts_with('.'))
            .collect();
        names.sort();
        for name in names {
            let path = dir.join(&name);
            let rel = format!("{prefix}{name}");
            // Symlinks may point anywhere; only what lies inside the root is served.
            let inside = path.canonicalize().is_ok_and(|real| real.starts_with(root));
            let Some(meta) = std::fs::metadata(&path).ok().filter(|_| inside) else {
                continue;
            };
            if meta.is_dir() {
                if depth < DEPTH_MAX {
                    dirs.push((path, format!("{rel}/"), depth + 1));
                }
                continue;
            }
            let Some(kind) = kind_of(&rel) else { continue };
            if !meta.is_file()
                || files.len() >= FILES_MAX
                || meta.len() > FILE_MAX
                || total + meta.len() > TOTAL_MAX
            {
                continue;
            }
            let Ok(body) = std::fs::read(&path) else {
                continue;
            };
            total += body.len() as u64;
            let modified = meta.modified().unwrap_or(UNIX_EPOCH);
            seen.push((path.clone(), Some((meta.len(), modified))));
            let gzip = read_sibling(&path, ".gz", &mut seen);
            let br = read_sibling(&path, ".br", &mut seen);
            files.push(Source {
                rel,
                path,
                kind,
                body,
                modified,
                gzip,
                br,
            });
        }
    }
    (files, seen)
}

/// One file as served from memory, in each encoding it has.
#[derive(Debug)]
pub struct Served {
    pub identity: Arc<Entry>,
    pub gzip: Option<Arc<Entry>>,
    pub br: Option<Arc<Entry>>,
}

impl Served {
    /// The variant for a client that takes (br, gzip).
    pub fn pick(&self, (br, gzip): (bool, bool)) -> &Entry {
        match (&self.br, &self.gzip) {
            (Some(b), _) if br => b,
            (_, Some(g)) if gzip => g,
            _ => &self.identity,
        }
    }
}

/// The files read at one moment: hashed names, the rewritten pages and workers.
#[derive(Debug)]
pub struct Snapshot {
    /// Hashed name (`app.3f2a9c1e0b.js`, relative to the root) → the file.
    pub hashed: HashMap<String, Served>,
    /// Plain name → hashed name.
    pub names: HashMap<String, String>,
    /// Pages and workers by plain name, rewritten.
    pub documents: HashMap<String, Served>,
    /// The version of the whole set (what `__UPBRELLA_ASSETS_VERSION__` becomes).
    pub version: String,
    seen: Vec<Seen>,
}

impl Snapshot {
    /// Whether every file and directory read is as it was.
    pub fn unchanged(&self) -> bool {
        self.seen.iter().all(|(path, state)| stat(path) == *state)
    }

    pub fn build(root: &Path) -> Self {
        let (files, seen) = walk(root);
        let by_rel: HashMap<&str, usize> = files
            .iter()
            .enumerate()
            .map(|(i, f)| (f.rel.as_str(), i))
            .collect();
        let hashable = |rel: &str| {
            by_rel
                .get(rel)
                .is_some_and(|&i| files[i].kind == Kind::Hashed)
        };
        let refs: Vec<Vec<Reference>> = files
            .iter()
            .map(|f| {
                let text = extension(&f.rel).is_some_and(|e| TEXT.contains(&e.as_str()))
                    || f.kind == Kind::Document;
                if text {
                    references(&f.rel, &f.body, &hashable)
                } else {
                    Vec::new()
                }
            })
            .collect();
        let raw: Vec<String> = files
            .iter()
            .map(|f| hex(&Sha256::digest(&f.body)))
            .collect();
        // The closure of each file: itself and everything it references, transitively.
        let closure = |start: usize| {
            let mut set = BTreeSet::from([start]);
            let mut todo = vec![start];
            while let Some(i) = todo.pop() {
                for r in &refs[i] {
                    if let Some(&j) = by_rel.get(r.target.as_str())
                        && set.insert(j)
                    {
                        todo.push(j);
                    }
                }
            }
            set
        };
        let mut names = HashMap::new();
        let mut modified = vec![UNIX_EPOCH; files.len()];
        for (i, file) in files.iter().enumerate() {
            let members = closure(i);
            modified[i] = members
                .iter()
                .map(|&j| files[j].modified)
                .max()
                .unwrap_or(UNIX_EPOCH);
            if file.kind != Kind::Hashed {
                continue;
            }
            let mut hasher = Sha256::new();
            let mut ordered: Vec<usize> = members.into_iter().collect();
            ordered.sort_by(|&a, &b| files[a].rel.cmp(&files[b].rel));
            for j in ordered {
                hasher.update(files[j].rel.as_bytes());
                hasher.update([0]);
                hasher.update(raw[j].as_bytes());
                hasher.update([0]);
            }
            let hash = &hex(&hasher.finalize())[..HASH_LEN];
            names.insert(file.rel.clone(), hashed_name(&file.rel, hash));
        }
        let version = version(&files, &raw);
        let mut hashed = HashMap::new();
        let mut documents = HashMap::new();
        for (i, file) in files.iter().enumerate() {
            let mut body = rewrite(&file.body, &refs[i], &names);
            if file.kind == Kind::Document {
                body = replace_all(&body, VERSION_PLACEHOLDER, &version);
            }
            let changed = body != file.body;
            let body = Bytes::from(body);
            match file.kind {
                Kind::Hashed => {
                    let name = &names[&file.rel];
                    let tag = last_segment(name).to_owned();
                    let served = served(file, body, changed, &tag, modified[i], IMMUTABLE);
                    hashed.insert(name.clone(), served);
                }
                Kind::Document => {
                    let tag = hex(&Sha256::digest(&body))[..16].to_owned();
                    let served = served(file, body, changed, &tag, modified[i], "no-cache");
                    documents.insert(file.rel.clone(), served);
                }
            }
        }
        Self {
            hashed,
            names,
            documents,
            version,
            seen,
        }
    }
}

/// The version of the whole set: every file but the workers, by name and content.
fn version(files: &[Source], raw: &[String]) -> String {
    let mut hasher = Sha256::new();
    for (file, raw) in files.iter().zip(raw) {
        if !WORKERS.contains(&last_segment(&file.rel)) {
            hasher.update(file.rel.as_bytes());
            hasher.update([0]);
            hasher.update(raw.as_bytes());
            hasher.update([0]);
        }
    }
    hex(&hasher.finalize())[..HASH_LEN].to_owned()
}

/// The entries of one file: as read (with its siblings from disk), or rewritten (then
/// compressed here in the encodings the deploy precompressed it in, as the siblings on
/// disk have the old references).
fn served(
    file: &Source,
    body: Bytes,
    changed: bool,
    tag: &str,
    modified: SystemTime,
    cache: &str,
) -> Served {
    let variant = |encoding: Option<&'static str>, bytes: Bytes| {
        let found = Found {
            path: file.path.clone(),
            name: file.path.clone(),
            encoding,
            len: bytes.len() as u64,
            modified,
            spa_fallback: false,
        };
        let suffix = encoding.map(|e| format!("-{e}")).unwrap_or_default();
        let etag = format!("\"{tag}{suffix}\"");
        let (headers, etag, modified_http) = super::headers_for(&found, etag, cache);
        Arc::new(Entry {
            found,
            base_len: 0,
            base_modified: UNIX_EPOCH,
            etag,
            modified_http,
            headers,
            body: Some(bytes),
        })
    };
    let encoded = |sibling: &Option<Vec<u8>>, encoding: &'static str| {
        let bytes = match sibling {
            None => return None,
            Some(_) if changed => compress(&body, encoding)?,
            Some(raw) => Bytes::from(raw.clone()),
        };
        Some(variant(Some(encoding), bytes))
    };
    Served {
        gzip: encoded(&file.gzip, "gzip"),
        br: encoded(&file.br, "br"),
        identity: variant(None, body.clone()),
    }
}

/// Compresses `body` with tower-http's encoder (the one the API responses go through).
fn compress(body: &Bytes, encoding: &'static str) -> Option<Bytes> {
    use http_body_util::BodyExt;
    use tower::{Layer, ServiceExt};
    use tower_http::compression::{CompressionLayer, CompressionLevel};

    let plain = body.clone();
    let service = tower::service_fn(move |_: http::Request<Body>| {
        let plain = plain.clone();
        async move {
            let mut response = http::Response::new(Body::from(plain));
            response
                .headers_mut()
                .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain"));
            Ok::<_, std::convert::Infallible>(response)
        }
    });
    let request = http::Request::builder()
        .header(header::ACCEPT_ENCODING, encoding)
        .body(Body::empty())
        .ok()?;
    let layer = CompressionLayer::new().quality(CompressionLevel::Best);
    futures::executor::block_on(async move {
        let response = layer.layer(service).oneshot(request).await.ok()?;
        let coded = response
            .headers()
            .get(header::CONTENT_ENCODING)
            .is_some_and(|v| v.as_bytes() == encoding.as_bytes());
        if !coded {
            return None;
        }
        Some(response.into_body().collect().await.ok()?.to_bytes())
    })
}

#[cfg(test)]
mod tests;
