use std::collections::HashMap;

use super::*;

fn env(pairs: &[(&'static str, &'static str)]) -> HashMap<&'static str, &'static str> {
    pairs.iter().copied().collect()
}

#[test]
fn the_configuration_reads_only_variables_its_table_lists() {
    let branches = [
        env(&[("WEB_PROXY_UPSTREAMS", "http://127.0.0.1:1")]),
        env(&[
            ("WEB_PROXY_UPSTREAMS", "http://127.0.0.1:1"),
            ("WEB_PROXY_EXTRA_METHODS", "PROPFIND"),
            ("WEB_PROXY_UPLOAD_ORIGINS", "https://photos.example"),
            ("WEB_PROXY_REDIRECT_HTTPS", "true"),
            ("WEB_PROXY_CANONICAL_HOST", "upbrella.example"),
            ("WEB_PROXY_TLS_CERT", "/cert.pem"),
            ("WEB_PROXY_TLS_KEY", "/key.pem"),
        ]),
    ];
    let mut asked = std::collections::BTreeSet::new();
    for branch in &branches {
        let recording = shared::config::Recording::new(branch);
        Config::from_source(&recording).expect("valid configuration");
        asked.extend(recording.asked());
    }
    let (unlisted, unread) = shared::config::against_table(&asked, VARS);
    assert!(unlisted.is_empty(), "read but not in VARS: {unlisted:?}");
    // The file's name is read before the configuration; logging reads its own.
    assert_eq!(unread, ["WEB_PROXY_CONFIG", "LOG_FORMAT", "RUST_LOG"]);
}

#[test]
fn readme_documents_exactly_the_variables_of_the_table() {
    let readme = include_str!("../../../docs/configuration.md");
    assert_eq!(
        shared::config::readme_documents(readme, "### web-proxy configuration", VARS),
        Ok(())
    );
}

#[test]
fn upstreams_parse_and_defaults_suit_an_alb() {
    let c = Config::from_source(&env(&[(
        "WEB_PROXY_UPSTREAMS",
        "http://was-a:8080, http://127.0.0.1:8081,http://[::1]:9",
    )]))
    .unwrap();
    assert_eq!(c.upstreams.len(), 3);
    assert_eq!(
        c.upstreams[0],
        Upstream {
            host: "was-a".into(),
            port: 8080
        }
    );
    assert_eq!(c.upstreams[2].host, "::1");
    assert!(c.upstream_idle_timeout < Duration::from_secs(60));
    assert!(c.idle_timeout > Duration::from_secs(60));
    assert_eq!(c.api_prefix, "/api");
}

#[test]
fn bad_values_name_their_variable() {
    let err = Config::from_source(&env(&[("WEB_PROXY_UPSTREAMS", "https://x")])).unwrap_err();
    assert_eq!(err.var, "WEB_PROXY_UPSTREAMS");
    let err = Config::from_source(&env(&[])).unwrap_err();
    assert_eq!(err.var, "WEB_PROXY_UPSTREAMS");
    let err = Config::from_source(&env(&[
        ("WEB_PROXY_UPSTREAMS", "http://x"),
        ("WEB_PROXY_REDIRECT_HTTPS", "true"),
    ]))
    .unwrap_err();
    assert_eq!(err.var, "WEB_PROXY_CANONICAL_HOST");
    let err = Config::from_source(&env(&[
        ("WEB_PROXY_UPSTREAMS", "http://x"),
        ("WEB_PROXY_CONNECT_TIMEOUT", "soon"),
    ]))
    .unwrap_err();
    assert_eq!(err.var, "WEB_PROXY_CONNECT_TIMEOUT");
    for methods in ["GET", "TRACE", "BAD METHOD", "PROPFIND,(x)"] {
        let mut e = env(&[("WEB_PROXY_UPSTREAMS", "http://x")]);
        e.insert("WEB_PROXY_EXTRA_METHODS", methods);
        let err = Config::from_source(&e).unwrap_err();
        assert_eq!(err.var, "WEB_PROXY_EXTRA_METHODS", "{methods}");
    }
    let c = Config::from_source(&env(&[
        ("WEB_PROXY_UPSTREAMS", "http://x"),
        ("WEB_PROXY_EXTRA_METHODS", "PROPFIND, PURGE"),
    ]))
    .unwrap();
    assert_eq!(c.extra_methods.len(), 2);
}

#[test]
fn kakao_maps_widen_the_default_policy_for_kakao_only() {
    let plain = Config::from_source(&env(&[("WEB_PROXY_UPSTREAMS", "http://x")])).unwrap();
    assert!(!plain.content_security_policy.contains("kakao"));
    assert!(plain.content_security_policy.contains("script-src 'self';"));
    let maps = Config::from_source(&env(&[
        ("WEB_PROXY_UPSTREAMS", "http://x"),
        ("WEB_PROXY_KAKAO_MAPS", "true"),
    ]))
    .unwrap();
    assert!(
        maps.content_security_policy
            .contains("script-src 'self' https://dapi.kakao.com https://t1.daumcdn.net;")
    );
    assert!(maps.content_security_policy.contains("default-src 'self';"));
    let own = Config::from_source(&env(&[
        ("WEB_PROXY_UPSTREAMS", "http://x"),
        ("WEB_PROXY_KAKAO_MAPS", "true"),
        ("WEB_PROXY_CSP", "default-src 'none'"),
    ]))
    .unwrap();
    assert_eq!(
        own.content_security_policy, "default-src 'none'",
        "an explicit policy is kept as written"
    );
}

#[test]
fn upload_origins_widen_connect_src_and_img_src_only() {
    let plain = Config::from_source(&env(&[("WEB_PROXY_UPSTREAMS", "http://x")])).unwrap();
    assert!(
        plain
            .content_security_policy
            .contains("connect-src 'self';")
    );
    let uploads = Config::from_source(&env(&[
        ("WEB_PROXY_UPSTREAMS", "http://x"),
        (
            "WEB_PROXY_UPLOAD_ORIGINS",
            "https://Photos.s3.ap-northeast-2.amazonaws.com/, http://127.0.0.1:5000",
        ),
    ]))
    .unwrap();
    let csp = &uploads.content_security_policy;
    assert!(
        csp.contains(
            "connect-src 'self' https://photos.s3.ap-northeast-2.amazonaws.com http://127.0.0.1:5000;"
        ),
        "{csp}"
    );
    assert!(
        csp.contains(
            "img-src 'self' https: data: https://photos.s3.ap-northeast-2.amazonaws.com http://127.0.0.1:5000;"
        ),
        "{csp}"
    );
    assert!(csp.contains("script-src 'self';"), "{csp}");
    for bad in [
        "photos.example",
        "https://photos.example/path",
        "https://a.example; script-src *",
        "ftp://photos.example",
    ] {
        let err = Config::from_source(&env(&[
            ("WEB_PROXY_UPSTREAMS", "http://x"),
            ("WEB_PROXY_UPLOAD_ORIGINS", bad),
        ]))
        .unwrap_err();
        assert_eq!(err.var, "WEB_PROXY_UPLOAD_ORIGINS", "{bad}");
    }
}

#[test]
fn the_upstream_secret_never_shows_in_debug_output() {
    let c = Config::from_source(&env(&[
        ("WEB_PROXY_UPSTREAMS", "http://x"),
        ("WEB_PROXY_UPSTREAM_SECRET", "proxy-secret-789"),
    ]))
    .unwrap();
    let text = format!("{c:?}");
    assert!(!text.contains("proxy-secret-789"), "{text}");
    assert!(c.upstream_secret.is_some());
}

#[test]
fn toml_keys_map_to_variables() {
    let map = parse_toml(
        "upstreams = [\"http://a:1\", \"http://b:2\"]\nmax_concurrent = 10\nhsts = false\n",
    )
    .unwrap();
    assert_eq!(map["WEB_PROXY_UPSTREAMS"], "http://a:1,http://b:2");
    assert_eq!(map["WEB_PROXY_MAX_CONCURRENT"], "10");
    let c = Config::from_source(&map).unwrap();
    assert_eq!(c.max_concurrent, 10);
    assert!(!c.hsts);
}
