//! Slow clients: trickling heads and stalled uploads are cut off at their deadlines.

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_clients_are_cut_off_and_never_get_a_healthy_was_ejected() {
    let _one = ONE_AT_A_TIME.lock().await;
    // Bodies up to 1 MiB, so a large declared body streams instead of being refused.
    let (s, _dir) = stack("slow", &[], &[("WEB_PROXY_MAX_BODY_BYTES", "1048576")]);
    let addr = s.proxies[0].addr;
    let admin = s.proxies[0].admin.unwrap();
    // Slowloris on a fresh connection: closed after the 1 s head timeout.
    let started = Instant::now();
    let r = raw(
        addr,
        b"GET /api/tags HTTP/1.1\r\nHost: x\r\nX-A:",
        Duration::from_secs(5),
    )
    .await;
    assert!(r.is_empty(), "{r}");
    assert!(started.elapsed() < Duration::from_secs(3));
    // Slowloris on the second request of a keep-alive connection.
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(b"GET /api/tags HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut buf = [0u8; 4096];
    let n = stream.read(&mut buf).await.unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"));
    stream
        .write_all(b"GET /api/tags HTTP/1.1\r\nHo")
        .await
        .unwrap();
    let started = Instant::now();
    let rest = read_all(&mut stream, Duration::from_secs(5)).await;
    assert!(!rest.contains("HTTP/1.1 200"), "{rest}");
    assert!(started.elapsed() < Duration::from_secs(3));
    // Stalled uploads, small (buffered for retries) and large (streamed): 408 after the
    // 1 s body deadline; the WAS is not blamed for the client's silence.
    for declared in [100, 200_000] {
        let started = Instant::now();
        let r = raw(
            addr,
            format!("POST /api/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {declared}\r\n\r\n{{\"em").as_bytes(),
            Duration::from_secs(5),
        )
        .await;
        assert_eq!(status_of(&r), Some(408), "declared {declared}: {r}");
        assert!(started.elapsed() < Duration::from_secs(3));
    }
    assert_eq!(
        metric_sum(admin, "upbrella_proxy_upstream_failures_total").await,
        0.0,
        "a slow client is not an upstream failure"
    );
    assert_eq!(
        metric_sum(admin, "upbrella_proxy_upstream_ejections_total").await,
        0.0
    );
    assert_eq!(
        metric_sum(admin, "upbrella_proxy_upstream_healthy").await,
        2.0,
        "both replicas in rotation"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thousands_of_stalled_uploads_release_everything_at_their_deadline() {
    let _one = ONE_AT_A_TIME.lock().await;
    // More stalled uploads than web-proxy's 4096 load-shedding slots and connections:
    // before the body deadline, this many answered 503 to every other API request.
    const STALLED: usize = 4200;
    let files = stack::process::raise_open_files_limit().unwrap();
    assert!(
        files > 2 * STALLED as u64 + 512,
        "this test holds {STALLED} connections on each side; the open-file limit is {files}"
    );
    let (s, _dir) = stack("stalled", &[], &[("WEB_PROXY_BODY_TIMEOUT", "2s")]);
    let addr = s.proxies[0].addr;
    let base = s.proxies[0].url("");
    let proxy_pid = s.proxies[0].process().unwrap().pid();
    let idle = rss_kib(proxy_pid);
    let opened = Instant::now();
    let mut held = Vec::with_capacity(STALLED);
    for _ in 0..STALLED {
        let mut stream = TcpStream::connect(addr).await.unwrap();
        stream
            .write_all(b"POST /api/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 65536\r\n\r\n{")
            .await
            .unwrap();
        held.push(stream);
    }
    let all_open = opened.elapsed();
    let during = rss_kib(proxy_pid);
    // Every stalled upload has been cut off within a second of its deadline (2 s after
    // its last byte); a fresh request is then served.
    let deadline = opened + all_open + Duration::from_secs(2) + Duration::from_secs(1);
    let client = reqwest::Client::new();
    let served = loop {
        let r = client
            .get(format!("{base}/api/tags"))
            .timeout(Duration::from_secs(1))
            .send()
            .await;
        if r.as_ref().is_ok_and(|r| r.status() == 200) {
            break Instant::now();
        }
        assert!(
            Instant::now() < deadline + Duration::from_secs(1),
            "no fresh request served within a second of the stalled uploads' deadline: {r:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    // Past the last one's deadline, each has been answered: 408 at its deadline, or 503
    // at once over the connection cap; a connection still waiting is a failure.
    tokio::time::sleep_until((deadline - Duration::from_millis(500)).into()).await;
    let mut answered_408 = 0;
    let mut refused_503 = 0;
    for mut stream in held {
        let r = read_all(&mut stream, Duration::from_millis(20)).await;
        match status_of(&r) {
            Some(408) => answered_408 += 1,
            Some(503) => refused_503 += 1,
            _ => {}
        }
    }
    assert_eq!(
        answered_408 + refused_503,
        STALLED,
        "every stalled upload was answered ({answered_408} × 408, {refused_503} × 503)"
    );
    assert!(answered_408 >= 4000, "{answered_408} got 408");
    let peak = peak_rss_kib(proxy_pid);
    summary_row(
        &format!("{STALLED} stalled uploads (64 KiB declared, 1 byte sent)"),
        STALLED,
        &format!(
            "{answered_408} got 408 at their deadline, {refused_503} over the connection cap 503; a fresh request was served {:.1} s after the last one's deadline",
            served
                .saturating_duration_since(opened + all_open + Duration::from_secs(2))
                .as_secs_f64()
        ),
        &format!(
            "web-proxy {:.1} → {:.1} MiB (peak {:.1})",
            mib(idle),
            mib(during),
            mib(peak)
        ),
    );
}
