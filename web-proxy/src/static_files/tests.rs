use super::*;

#[test]
fn traversal_in_any_encoding_is_refused() {
    for bad in [
        "/../etc/passwd",
        "/a/../../x",
        "/%2e%2e/etc/passwd",
        "/%2E%2E%2Fetc",
        "/..%2fetc",
        "/a%5c..%5cb",
        "/%00",
        "/.env",
        "/%c0%ae%c0%ae/x",
    ] {
        assert_eq!(safe_relative(bad), None, "{bad}");
    }
    assert_eq!(
        safe_relative("/assets/app-1a2b3c4d.js"),
        Some(PathBuf::from("assets/app-1a2b3c4d.js"))
    );
    assert_eq!(
        safe_relative("/%252e%252e/x"),
        Some(PathBuf::from("%2e%2e/x")),
        "decoded once only"
    );
}

#[test]
fn ranges_follow_rfc_9110() {
    assert_eq!(parse_range("bytes=0-9", 100), RangeSpec::Range(0, 9));
    assert_eq!(parse_range("bytes=90-", 100), RangeSpec::Range(90, 99));
    assert_eq!(parse_range("bytes=-10", 100), RangeSpec::Range(90, 99));
    assert_eq!(parse_range("bytes=95-200", 100), RangeSpec::Range(95, 99));
    assert_eq!(parse_range("bytes=100-", 100), RangeSpec::Unsatisfiable);
    assert_eq!(parse_range("bytes=0-1,5-6", 100), RangeSpec::Ignore);
    assert_eq!(parse_range("items=0-1", 100), RangeSpec::Ignore);
}

#[test]
fn hashed_assets_are_recognised() {
    assert!(is_hashed_asset(Path::new("index-BQk3x9Z2.js")));
    assert!(is_hashed_asset(Path::new("app.3f2a9c1e.css")));
    assert!(!is_hashed_asset(Path::new("favicon.ico")));
    assert!(!is_hashed_asset(Path::new("robots.txt")));
    assert!(!is_hashed_asset(Path::new("index.html")));
}

async fn get(files: &StaticFiles, path: &str, headers: &[(&str, &str)]) -> Response {
    let mut req = Request::get(path);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    files.serve(req.body(Body::empty()).unwrap()).await
}

async fn text(r: Response) -> String {
    let bytes = http_body_util::BodyExt::collect(r.into_body())
        .await
        .unwrap()
        .to_bytes();
    String::from_utf8(bytes.to_vec()).unwrap()
}

/// The page names the hashed script, which is immutable; the plain name, the page and
/// a stale hash are revalidated; a script replaced on disk gets a new name at once.
#[tokio::test]
async fn pages_name_hashed_assets_and_a_deploy_renames_them() {
    let dir = stack::TempDir::new("upbrella-static-hashed").unwrap();
    let root = dir.path().join("www");
    std::fs::create_dir_all(&root).unwrap();
    std::fs::write(
        root.join("index.html"),
        r#"<script type="module" src="/app.js"></script>"#,
    )
    .unwrap();
    std::fs::write(root.join("app.js"), "console.log(1);").unwrap();
    let files = StaticFiles::new(&root).unwrap();
    let r = get(&files, "/", &[]).await;
    assert_eq!(r.headers()[header::CACHE_CONTROL], "no-cache");
    let etag = r.headers()[header::ETAG].clone();
    let page = text(r).await;
    let script = page
        .split('"')
        .find(|p| p.starts_with("/app."))
        .unwrap()
        .to_owned();
    assert_ne!(script, "/app.js", "{page}");
    let r = get(&files, "/", &[("if-none-match", etag.to_str().unwrap())]).await;
    assert_eq!(r.status(), StatusCode::NOT_MODIFIED);
    let r = get(&files, "/stores/3", &[]).await;
    assert_eq!(
        text(r).await,
        page,
        "a client-side route gets the rewritten page"
    );

    let r = get(&files, &script, &[]).await;
    assert_eq!(r.headers()[header::CACHE_CONTROL], hashed::IMMUTABLE);
    assert_eq!(
        r.headers()[header::CONTENT_TYPE],
        "text/javascript; charset=utf-8"
    );
    assert_eq!(text(r).await, "console.log(1);");
    let r = files
        .serve(Request::head(&script).body(Body::empty()).unwrap())
        .await;
    assert_eq!(r.headers()[header::CONTENT_LENGTH], "15");
    let r = get(&files, &script, &[("range", "bytes=0-6")]).await;
    assert_eq!(text(r).await, "console");
    let r = get(&files, "/app.js", &[]).await;
    assert_eq!(r.headers()[header::CACHE_CONTROL], "no-cache");

    // A deploy replaces the script in place.
    std::fs::write(root.join("app.js"), "console.log(22);").unwrap();
    let page2 = text(get(&files, "/", &[]).await).await;
    let script2 = page2
        .split('"')
        .find(|p| p.starts_with("/app."))
        .unwrap()
        .to_owned();
    assert_ne!(script, script2);
    assert_eq!(
        text(get(&files, &script2, &[]).await).await,
        "console.log(22);"
    );
    // The old name, from a page still open: today's script, not kept.
    let r = get(&files, &script, &[]).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()[header::CACHE_CONTROL], "no-cache");
    assert_eq!(text(r).await, "console.log(22);");
    let r = get(&files, "/app.0000000000.css", &[]).await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
}

#[test]
fn accept_encoding_honours_q_zero() {
    let mut h = HeaderMap::new();
    h.insert(
        header::ACCEPT_ENCODING,
        HeaderValue::from_static("gzip, br;q=0"),
    );
    assert_eq!(accept_encodings(&h), (false, true));
}
