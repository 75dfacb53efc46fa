//! The front-end: validators, ranges, precompressed files, caching, the client-side route
//! fallback, and path traversal.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::*;

struct Site {
    dir: stack::TempDir,
    proxy: TestProxy,
}

async fn site() -> Site {
    let dir = stack::TempDir::new("upbrella-static").unwrap();
    let root = dir.path().join("www");
    std::fs::create_dir_all(root.join("assets")).unwrap();
    std::fs::write(
        root.join("index.html"),
        "<!doctype html><title>upbrella</title>",
    )
    .unwrap();
    std::fs::write(
        root.join("assets/app-1a2b3c4d.js"),
        "console.log('hi');".repeat(100),
    )
    .unwrap();
    std::fs::write(root.join("assets/app-1a2b3c4d.js.br"), b"BROTLI-BYTES").unwrap();
    std::fs::write(root.join("assets/app-1a2b3c4d.js.gz"), b"GZIP-BYTES").unwrap();
    std::fs::write(root.join("robots.txt"), "User-agent: *\n").unwrap();
    std::fs::write(dir.path().join("secret.txt"), "TOP SECRET").unwrap();
    std::fs::write(root.join(".env"), "PASSWORD=x").unwrap();
    std::os::unix::fs::symlink(dir.path().join("secret.txt"), root.join("link.txt")).unwrap();
    let up = upstream("a").await;
    let proxy = proxy(
        &[up.addr],
        &[("WEB_PROXY_STATIC_DIR", root.to_str().unwrap())],
    )
    .await;
    Site { dir, proxy }
}

#[tokio::test]
async fn index_and_client_side_routes_get_index_html_uncached() {
    let s = site().await;
    let c = client();
    for path in ["/", "/stores/12", "/rent/3"] {
        let r = c.get(s.proxy.url(path)).send().await.unwrap();
        assert_eq!(r.status(), 200, "{path}");
        assert_eq!(r.headers()["cache-control"], "no-cache");
        assert_eq!(r.headers()["content-type"], "text/html; charset=utf-8");
        assert!(r.headers().contains_key("content-security-policy"));
        assert_eq!(r.headers()["x-frame-options"], "DENY");
        assert!(r.text().await.unwrap().contains("<title>upbrella"));
    }
    let r = c
        .get(s.proxy.url("/assets/missing-00000000.js"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404, "a missing asset is not index.html");
    let r = c.get(s.proxy.url("/favicon.ico")).send().await.unwrap();
    assert_eq!(r.status(), 404);
    let _ = &s.dir;
}

#[tokio::test]
async fn hashed_assets_are_immutable_and_precompressed_variants_are_chosen() {
    let s = site().await;
    let c = reqwest::Client::builder().build().unwrap();
    let url = s.proxy.url("/assets/app-1a2b3c4d.js");
    let r = c
        .get(&url)
        .header("accept-encoding", "gzip, br")
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.headers()["cache-control"],
        "public, max-age=31536000, immutable"
    );
    assert_eq!(r.headers()["content-encoding"], "br");
    assert_eq!(
        r.headers()["content-type"],
        "text/javascript; charset=utf-8"
    );
    assert_eq!(r.headers()["vary"], "Accept-Encoding");
    assert_eq!(r.bytes().await.unwrap().as_ref(), b"BROTLI-BYTES");
    let r = c
        .get(&url)
        .header("accept-encoding", "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["content-encoding"], "gzip");
    let r = c.get(&url).send().await.unwrap();
    assert!(r.headers().get("content-encoding").is_none());
    assert_eq!(r.bytes().await.unwrap().len(), 1800);
    let r = c.get(s.proxy.url("/robots.txt")).send().await.unwrap();
    assert_eq!(r.headers()["cache-control"], "public, max-age=3600");
}

#[tokio::test]
async fn etag_and_last_modified_give_304() {
    let s = site().await;
    let c = client();
    let url = s.proxy.url("/robots.txt");
    let r = c.get(&url).send().await.unwrap();
    let etag = r.headers()["etag"].to_str().unwrap().to_owned();
    let modified = r.headers()["last-modified"].to_str().unwrap().to_owned();
    let r = c
        .get(&url)
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 304);
    assert_eq!(r.headers()["etag"], etag.as_str());
    let r = c
        .get(&url)
        .header("if-none-match", "\"other\"")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = c
        .get(&url)
        .header("if-modified-since", &modified)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 304);
    let r = c
        .get(&url)
        .header("if-modified-since", "Mon, 01 Jan 2001 00:00:00 GMT")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}

#[tokio::test]
async fn byte_ranges_are_served() {
    let s = site().await;
    let c = client();
    let url = s.proxy.url("/robots.txt");
    let r = c
        .get(&url)
        .header("range", "bytes=0-9")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 206);
    assert_eq!(r.headers()["content-range"], "bytes 0-9/14");
    assert_eq!(r.text().await.unwrap(), "User-agent");
    let r = c
        .get(&url)
        .header("range", "bytes=-3")
        .send()
        .await
        .unwrap();
    assert_eq!(r.text().await.unwrap(), " *\n");
    let r = c
        .get(&url)
        .header("range", "bytes=100-")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 416);
    assert_eq!(r.headers()["content-range"], "bytes */14");
    let r = c
        .get(&url)
        .header("range", "bytes=0-3")
        .header("if-range", "\"stale\"")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "a stale If-Range gets the whole file");
    let r = c.head(&url).send().await.unwrap();
    assert_eq!(r.headers()["content-length"], "14");
}

#[tokio::test]
async fn traversal_attempts_never_leave_the_root() {
    let s = site().await;
    for path in [
        "/../secret.txt",
        "/%2e%2e/secret.txt",
        "/%2E%2E%2Fsecret.txt",
        "/assets/..%2f..%2fsecret.txt",
        "/..%5csecret.txt",
        "/%252e%252e/secret.txt",
        "/%c0%ae%c0%ae/secret.txt",
        "/link.txt",
        "/.env",
        "/assets/%00.js",
    ] {
        let response = raw(
            s.proxy.addr,
            &format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"),
            Duration::from_secs(2),
        )
        .await;
        assert!(
            !response.contains("TOP SECRET") && !response.contains("PASSWORD"),
            "{path} leaked: {response}"
        );
        let status = status_of(&response);
        assert!(status == 404 || status == 400, "{path}: {status}");
    }
}

#[tokio::test]
async fn an_edited_file_is_served_fresh_despite_the_cache() {
    let s = site().await;
    let c = client();
    let url = s.proxy.url("/robots.txt");
    assert_eq!(
        c.get(&url).send().await.unwrap().text().await.unwrap(),
        "User-agent: *\n"
    );
    std::fs::write(
        s.dir.path().join("www/robots.txt"),
        "User-agent: *\nDisallow: /admin\n",
    )
    .unwrap();
    let r = c.get(&url).send().await.unwrap();
    assert_eq!(r.text().await.unwrap(), "User-agent: *\nDisallow: /admin\n");
}

#[tokio::test]
async fn static_files_are_read_only() {
    let s = site().await;
    let r = client()
        .post(s.proxy.url("/index.html"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 405);
    assert_eq!(r.headers()["allow"], "GET, HEAD");
}

#[tokio::test]
async fn pages_may_upload_photos_to_the_configured_bucket_and_nowhere_else() {
    let dir = stack::TempDir::new("upbrella-static-csp").unwrap();
    let root = dir.path().join("www");
    std::fs::create_dir_all(&root).unwrap();
    std::fs::write(
        root.join("index.html"),
        "<!doctype html><title>upbrella</title>",
    )
    .unwrap();
    let up = upstream("a").await;
    let bucket = "https://photos.s3.ap-northeast-2.amazonaws.com";
    let with_uploads = proxy(
        &[up.addr],
        &[
            ("WEB_PROXY_STATIC_DIR", root.to_str().unwrap()),
            ("WEB_PROXY_UPLOAD_ORIGINS", bucket),
        ],
    )
    .await;
    let without = proxy(
        &[up.addr],
        &[("WEB_PROXY_STATIC_DIR", root.to_str().unwrap())],
    )
    .await;
    let csp_of = |r: &reqwest::Response| {
        r.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .to_owned()
    };
    let r = client()
        .get(with_uploads.url("/admin"))
        .send()
        .await
        .unwrap();
    let csp = csp_of(&r);
    let directive = |name: &str| {
        csp.split(';')
            .map(str::trim)
            .find(|d| d.starts_with(name))
            .unwrap_or_default()
            .to_owned()
    };
    assert_eq!(
        directive("connect-src"),
        format!("connect-src 'self' {bucket}")
    );
    assert!(directive("img-src").ends_with(bucket), "{csp}");
    assert_eq!(directive("script-src"), "script-src 'self'");
    let r = client().get(without.url("/admin")).send().await.unwrap();
    assert!(
        csp_of(&r).contains("connect-src 'self';"),
        "without upload origins the page talks to its own origin only"
    );
}
