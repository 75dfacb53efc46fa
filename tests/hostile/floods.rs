//! Floods: logins, sign-ups, connections, password guessing, pipelined and invented
//! requests; memory stays bounded and the service recovers.

use super::*;

/// A distributed password-guessing flood: 64 clients, every request a different e-mail,
/// the per-address limit off (as if each came from its own address). The hash queue
/// bounds the work; memory stays flat; reads keep being served.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_login_flood_keeps_memory_bounded_and_reads_served() {
    let _one = ONE_AT_A_TIME.lock().await;
    let (s, _dir) = stack(
        "login-flood",
        &[
            ("RATE_LIMIT_LOGIN_PER_ADDRESS", "off"),
            ("RATE_LIMIT_LOGIN_BURST_PER_ADDRESS", "off"),
        ],
        &[],
    );
    let base = s.proxies[0].url("");
    let pids: Vec<i32> = s.was.iter().map(|w| w.process().unwrap().pid()).collect();
    let idle: Vec<u64> = pids.iter().map(|p| rss_kib(*p)).collect();
    let reader = reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .unwrap();
    sign_up(&reader, &base, "reader@example.com").await;
    let flood_for = Duration::from_secs(10);
    let started = Instant::now();
    let flooders: Vec<_> = (0..64)
        .map(|i| {
            let base = base.clone();
            tokio::spawn(async move {
                let client = reqwest::Client::new();
                let mut statuses = Vec::new();
                let mut n = 0;
                while started.elapsed() < flood_for {
                    n += 1;
                    let r = client
                        .post(format!("{base}/api/auth/login"))
                        .json(&json!({"email": format!("flood{i}-{n}@example.com"), "password": "guess-guess"}))
                        .timeout(Duration::from_secs(5))
                        .send()
                        .await;
                    statuses.push(r.map_or(0, |r| r.status().as_u16()));
                }
                statuses
            })
        })
        .collect();
    let mut reads = Vec::new();
    let mut peak = vec![0u64; pids.len()];
    while started.elapsed() < flood_for {
        for path in ["/api/tags", "/api/me"] {
            let t = Instant::now();
            let status = reader
                .get(format!("{base}{path}"))
                .timeout(Duration::from_secs(5))
                .send()
                .await
                .map_or(0, |r| r.status().as_u16());
            reads.push((status, t.elapsed()));
        }
        for (i, p) in pids.iter().enumerate() {
            peak[i] = peak[i].max(rss_kib(*p));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mut statuses = Vec::new();
    for f in flooders {
        statuses.extend(f.await.unwrap());
    }
    let unexpected: Vec<_> = statuses
        .iter()
        .filter(|s| !matches!(**s, 401 | 503))
        .collect();
    assert!(unexpected.is_empty(), "only 401 and 503: {unexpected:?}");
    let refused = statuses.iter().filter(|s| **s == 503).count();
    let failed_reads = reads.iter().filter(|(s, _)| *s != 200).count();
    assert_eq!(failed_reads, 0, "reads kept being served: {reads:?}");
    for (i, p) in pids.iter().enumerate() {
        // The kernel's high-water mark catches peaks between our samples.
        peak[i] = peak[i].max(peak_rss_kib(*p));
        assert!(
            peak[i] < 256 * 1024,
            "WAS {i} peaked at {:.0} MiB",
            mib(peak[i])
        );
    }
    // Memory goes back down once the flood is over.
    let settle = Instant::now();
    let after = loop {
        let now: Vec<u64> = pids.iter().map(|p| rss_kib(*p)).collect();
        let back = now.iter().zip(&idle).all(|(n, i)| *n < i + 48 * 1024);
        if back || settle.elapsed() > Duration::from_secs(10) {
            break now;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    for (n, i) in after.iter().zip(&idle) {
        assert!(
            *n < i + 48 * 1024,
            "RSS {:.0} MiB after the flood, {:.0} MiB idle",
            mib(*n),
            mib(*i)
        );
    }
    let slowest = reads.iter().map(|(_, d)| *d).max().unwrap_or_default();
    summary_row(
        "login flood: 64 clients × 10 s, a new e-mail each",
        statuses.len(),
        &format!(
            "{} checked (401), {refused} refused fast (503); {} reads all 200, slowest {} ms",
            statuses.len() - refused,
            reads.len(),
            slowest.as_millis()
        ),
        &format!(
            "WAS idle {} → peak {} → after {} MiB",
            idle.iter()
                .map(|k| format!("{:.0}", mib(*k)))
                .collect::<Vec<_>>()
                .join("/"),
            peak.iter()
                .map(|k| format!("{:.0}", mib(*k)))
                .collect::<Vec<_>>()
                .join("/"),
            after
                .iter()
                .map(|k| format!("{:.0}", mib(*k)))
                .collect::<Vec<_>>()
                .join("/"),
        ),
    );
}

/// Scripted sign-ups from one address: the shared limit stops them at its count, on
/// every replica together.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signup_flood_from_one_address_stops_at_the_limit() {
    let _one = ONE_AT_A_TIME.lock().await;
    let (s, _dir) = stack(
        "signup-flood",
        &[("RATE_LIMIT_SIGNUP_PER_ADDRESS", "20/1h")],
        &[],
    );
    let base = s.proxies[0].url("");
    let pids: Vec<i32> = s.was.iter().map(|w| w.process().unwrap().pid()).collect();
    let started = Instant::now();
    let tasks: Vec<_> = (0..32)
        .map(|i| {
            let base = base.clone();
            tokio::spawn(async move {
                let client = reqwest::Client::new();
                let mut statuses = Vec::new();
                for n in 0..10 {
                    let r = client
                        .post(format!("{base}/api/auth/signup"))
                        .json(&json!({"email": format!("bot{i}-{n}@example.com"), "password": "password123", "name": "봇", "phone": "01012345678", "agree_terms": true, "agree_privacy": true}))
                        .send()
                        .await
                        .unwrap();
                    statuses.push(r.status().as_u16());
                }
                statuses
            })
        })
        .collect();
    let mut statuses = Vec::new();
    for t in tasks {
        statuses.extend(t.await.unwrap());
    }
    let created = statuses.iter().filter(|s| **s == 201).count();
    let limited = statuses.iter().filter(|s| **s == 429).count();
    assert_eq!(created, 20, "{statuses:?}");
    assert_eq!(created + limited, statuses.len(), "{statuses:?}");
    assert_eq!(count(&s, "SELECT count(*) FROM users"), 20);
    let peak: Vec<u64> = pids.iter().map(|p| peak_rss_kib(*p)).collect();
    summary_row(
        "sign-up flood: 32 clients × 10 from one address, limit 20/h",
        statuses.len(),
        &format!(
            "{created} created, {limited} refused (429) in {:.1} s",
            started.elapsed().as_secs_f64()
        ),
        &format!(
            "WAS peak {} MiB",
            peak.iter()
                .map(|k| format!("{:.0}", mib(*k)))
                .collect::<Vec<_>>()
                .join("/")
        ),
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_flood_is_capped_and_the_service_recovers() {
    let _one = ONE_AT_A_TIME.lock().await;
    let (s, _dir) = stack(
        "connections",
        &[],
        &[
            ("WEB_PROXY_MAX_CONNECTIONS", "500"),
            ("WEB_PROXY_HEADER_READ_TIMEOUT", "4s"),
        ],
    );
    let addr = s.proxies[0].addr;
    let base = s.proxies[0].url("");
    let proxy_pid = s.proxies[0].process().unwrap().pid();
    let mut held = Vec::new();
    for _ in 0..500 {
        held.push(TcpStream::connect(addr).await.unwrap());
    }
    // Over the cap: an immediate 503, not a hang.
    let started = Instant::now();
    let over = raw(addr, b"", Duration::from_secs(2)).await;
    assert_eq!(status_of(&over), Some(503), "{over}");
    assert!(started.elapsed() < Duration::from_secs(1));
    let peak = peak_rss_kib(proxy_pid);
    // Silent connections are closed at the head deadline (4 s); service comes back.
    let deadline = Instant::now() + Duration::from_secs(6);
    let client = reqwest::Client::new();
    loop {
        let ok = client
            .get(format!("{base}/api/tags"))
            .timeout(Duration::from_secs(1))
            .send()
            .await
            .is_ok_and(|r| r.status() == 200);
        if ok {
            break;
        }
        assert!(Instant::now() < deadline, "the service did not recover");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    drop(held);
    summary_row(
        "connection flood: 500 silent connections, cap 500",
        501,
        "over the cap: 503 at once; served again after the head deadline",
        &format!("web-proxy peak {:.1} MiB", mib(peak)),
    );
}

/// Someone who knows an admin's e-mail guesses its password from one address, then from
/// many: through web-proxy, with the shipped limits. The admin, from their own address,
/// logs in throughout; the guessing stays bounded.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn password_guessing_never_locks_the_owner_out_and_stays_bounded() {
    let _one = ONE_AT_A_TIME.lock().await;
    let (s, _dir) = stack("lockout", &[], &[]);
    let base = s.proxies[0].url("");
    let email = "operator@example.com";
    sign_up(&reqwest::Client::new(), &base, email).await;
    s.psql(&format!(
        "UPDATE users SET role = 'admin', email_verified_at = now() WHERE email = '{email}'"
    ))
    .unwrap();
    let from = |ip: &str| {
        reqwest::Client::builder()
            .local_address(ip.parse::<std::net::IpAddr>().unwrap())
            .build()
            .unwrap()
    };
    let login = |client: reqwest::Client, password: String| {
        let url = format!("{base}/api/auth/login");
        async move {
            client
                .post(url)
                .json(&json!({"email": email, "password": password}))
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    // Thirty wrong passwords from one address.
    let attacker = from("127.0.0.66");
    let mut one_address = (0, 0);
    for i in 0..30 {
        match login(attacker.clone(), format!("guess-{i}")).await {
            401 => one_address.0 += 1,
            429 => one_address.1 += 1,
            other => panic!("unexpected {other}"),
        }
    }
    assert_eq!(
        one_address,
        (10, 20),
        "ten guesses per address and 15 minutes"
    );
    assert_eq!(login(attacker.clone(), "password123".into()).await, 429);
    let owner = from("127.0.0.7");
    assert_eq!(
        login(owner.clone(), "password123".into()).await,
        200,
        "the owner gets in"
    );

    // Then five guesses from each of 60 more addresses.
    let started = Instant::now();
    let mut checked = 0;
    let mut refused = 0;
    for a in 0..60u8 {
        let client = from(&format!("127.0.3.{}", a + 1));
        for i in 0..5 {
            match login(client.clone(), format!("spread-{a}-{i}")).await {
                401 => checked += 1,
                429 => refused += 1,
                other => panic!("unexpected {other}"),
            }
        }
    }
    // The account's ceiling (100 per hour, 10 of them spent above) with each address's
    // 10 per 15 minutes: at most 90 more plus one per address after the ceiling.
    assert!(checked <= 90 + 60, "{checked} passwords checked");
    assert!(refused > 0, "the ceiling took effect");
    assert_eq!(
        login(owner, "password123".into()).await,
        200,
        "the owner still gets in"
    );
    summary_row(
        "password guessing at an admin's e-mail: 30 from one address, then 5 from each of 60",
        30 + 1 + 300 + 2,
        &format!(
            "one address: {} checked, {} refused (429), right password refused too; spread: {checked} checked, {refused} refused in {:.1} s; the owner logged in both times",
            one_address.0,
            one_address.1,
            started.elapsed().as_secs_f64()
        ),
        "-",
    );
}

/// Sends `requests` on `connections` keep-alive connections, pipelined in batches, and
/// counts the statuses of the answers (each must carry `Content-Length`).
async fn pipelined(
    addr: SocketAddr,
    requests: Vec<String>,
    connections: usize,
) -> std::collections::BTreeMap<u16, usize> {
    let per = requests.len().div_ceil(connections);
    let tasks: Vec<_> = requests
        .chunks(per)
        .map(|chunk| {
            let chunk = chunk.to_vec();
            tokio::spawn(async move {
                let mut statuses = std::collections::BTreeMap::new();
                let mut stream = TcpStream::connect(addr).await.unwrap();
                let mut buf: Vec<u8> = Vec::with_capacity(1 << 16);
                for batch in chunk.chunks(64) {
                    stream.write_all(batch.concat().as_bytes()).await.unwrap();
                    let mut answered = 0;
                    while answered < batch.len() {
                        let head_end = loop {
                            if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                                break i + 4;
                            }
                            let mut more = [0u8; 16384];
                            let n = stream.read(&mut more).await.unwrap();
                            assert!(n > 0, "the server closed the connection mid-batch");
                            buf.extend_from_slice(&more[..n]);
                        };
                        let head = String::from_utf8_lossy(&buf[..head_end]).to_ascii_lowercase();
                        let status: u16 = head[9..12].parse().unwrap();
                        let length: usize = head
                            .lines()
                            .find_map(|l| l.strip_prefix("content-length:"))
                            .map_or(0, |v| v.trim().parse().unwrap());
                        assert!(!head.contains("transfer-encoding"), "{head}");
                        while buf.len() < head_end + length {
                            let mut more = [0u8; 16384];
                            let n = stream.read(&mut more).await.unwrap();
                            assert!(n > 0, "the server closed the connection mid-body");
                            buf.extend_from_slice(&more[..n]);
                        }
                        buf.drain(..head_end + length);
                        *statuses.entry(status).or_insert(0) += 1;
                        answered += 1;
                    }
                }
                statuses
            })
        })
        .collect();
    let mut all = std::collections::BTreeMap::new();
    for t in tasks {
        for (status, n) in t.await.unwrap() {
            *all.entry(status).or_insert(0) += n;
        }
    }
    all
}

async fn series(admin: SocketAddr) -> usize {
    reqwest::get(format!("http://{admin}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with('#'))
        .count()
}

/// 100,000 requests, each with a method nobody has used before, to web-proxy and to a WAS
/// replica directly (with the proxy's secret, as if it came through): no series and no
/// memory is kept per method, on either tier. Then 10,000 invented paths, hosts and user
/// agents: the same.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invented_methods_and_headers_leave_memory_and_metrics_flat() {
    let _one = ONE_AT_A_TIME.lock().await;
    let (s, _dir) = stack("methods", &[], &[]);
    let proxy = s.proxies[0].addr;
    let proxy_admin = s.proxies[0].admin.unwrap();
    let was = s.was[0].addr;
    let was_admin = s.was[0].admin.unwrap();
    let proxy_pid = s.proxies[0].process().unwrap().pid();
    let was_pid = s.was[0].process().unwrap().pid();
    let n = 100_000;
    let to_proxy: Vec<String> = (0..n)
        .map(|i| format!("XQWERTY{i:06} /api/tags HTTP/1.1\r\nHost: upbrella.test\r\n\r\n"))
        .collect();
    let to_was: Vec<String> = (0..n)
        .map(|i| {
            format!("XQWERTY{i:06} /api/tags HTTP/1.1\r\nHost: upbrella.test\r\nx-upbrella-proxy-secret: {SECRET}\r\n\r\n")
        })
        .collect();
    // Warm both tiers with the kinds of request that follow, so the figures compare
    // like with like.
    pipelined(proxy, to_proxy[..2000].to_vec(), 4).await;
    pipelined(was, to_was[..2000].to_vec(), 4).await;
    pipelined(
        proxy,
        vec!["GET /api/warm/up HTTP/1.1\r\nHost: upbrella.test\r\n\r\n".to_owned(); 10],
        1,
    )
    .await;
    let hits_before = upstream_hits(&s).await;
    let (proxy_series, was_series) = (series(proxy_admin).await, series(was_admin).await);
    let (proxy_rss, was_rss) = (rss_kib(proxy_pid), rss_kib(was_pid));
    let started = Instant::now();
    let proxy_statuses = pipelined(proxy, to_proxy, 8).await;
    let was_statuses = pipelined(was, to_was, 8).await;
    let took = started.elapsed();
    assert_eq!(proxy_statuses.get(&405), Some(&n), "{proxy_statuses:?}");
    assert_eq!(was_statuses.get(&405), Some(&n), "{was_statuses:?}");
    assert_eq!(
        upstream_hits(&s).await,
        hits_before,
        "no invented method was forwarded"
    );

    // Invented paths, hosts and agents.
    let m = 10_000;
    let odd: Vec<String> = (0..m)
        .map(|i| format!("GET /api/x{i}/y?z={i} HTTP/1.1\r\nHost: h{i}.example\r\nUser-Agent: agent/{i}\r\n\r\n"))
        .collect();
    let odd_statuses = pipelined(proxy, odd, 4).await;
    let (proxy_series_after, was_series_after) =
        (series(proxy_admin).await, series(was_admin).await);
    let (proxy_rss_after, was_rss_after) = (rss_kib(proxy_pid), rss_kib(was_pid));
    assert!(
        proxy_series_after == proxy_series && was_series_after == was_series,
        "series grew: web-proxy {proxy_series} → {proxy_series_after}, WAS {was_series} → {was_series_after}; {odd_statuses:?}"
    );
    // Flat: a few MiB of allocator noise at most, where keeping a series per method grew
    // each WAS by about 13 MiB per 120,000.
    for (tier, before, after) in [
        ("web-proxy", proxy_rss, proxy_rss_after),
        ("WAS", was_rss, was_rss_after),
    ] {
        assert!(
            after <= before + 6 * 1024,
            "{tier} grew from {:.1} to {:.1} MiB",
            mib(before),
            mib(after)
        );
    }
    summary_row(
        &format!(
            "{n} invented methods to web-proxy and {n} to a WAS directly, then {m} invented paths, hosts and agents"
        ),
        2 * n + m,
        &format!(
            "web-proxy 405 for all, none forwarded; WAS 405 for all; series web-proxy {proxy_series} → {proxy_series_after}, WAS {was_series} → {was_series_after}; {:.1} s",
            took.as_secs_f64()
        ),
        &format!(
            "web-proxy {:.1} → {:.1} MiB, WAS {:.1} → {:.1} MiB",
            mib(proxy_rss),
            mib(proxy_rss_after),
            mib(was_rss),
            mib(was_rss_after)
        ),
    );
}
