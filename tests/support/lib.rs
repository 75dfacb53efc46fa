//! Support for the cross-crate tests: seeding the stack and a bounded mixed load
//! through it (public reads, logged-in reads, rent/return cycles with idempotency keys)
//! that records every request.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use stack::Stack;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    PublicRead,
    UserRead,
    Rent,
    Return,
}

impl Kind {
    pub fn is_get(self) -> bool {
        matches!(self, Kind::PublicRead | Kind::UserRead)
    }
}

#[derive(Debug, Clone)]
pub struct Sample {
    /// When the request started, from the start of the load.
    pub at: Duration,
    pub kind: Kind,
    /// 0 when no response arrived at all.
    pub status: u16,
    pub latency: Duration,
    pub instance: Option<String>,
}

impl Sample {
    pub fn ok(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

/// What the seeded data is: one region with one store, an umbrella per user.
pub struct World {
    pub region: i64,
    pub store: i64,
    /// The store's signed code (its QR sticker): returns need it.
    pub return_code: String,
    pub users: Vec<User>,
}

#[derive(Clone)]
pub struct User {
    pub client: reqwest::Client,
    pub id: i64,
    pub umbrella: i64,
    /// The umbrella's signed code (its QR sticker): rents need it.
    pub rent_code: String,
}

/// The code printed on a sticker of `stack` (its bank key's derived QR key), as a renter
/// scanning it would send.
pub fn code_for(stack: &Stack, subject: was::domain::codes::Subject) -> String {
    let mut key = [0u8; 32];
    for (i, byte) in key.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&stack.options.bank_key[2 * i..2 * i + 2], 16)
            .expect("the stack's bank key is hex");
    }
    was::domain::codes::CodeSigner::new(was::domain::codes::derive_key(&key)).sign(subject)
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap()
}

/// Signs a user up through `base` with `client` (whose cookie jar, if any, keeps the
/// session) and asserts it worked; returns the response (its `Set-Cookie` holds the
/// session).
pub async fn sign_up(client: &reqwest::Client, base: &str, email: &str) -> reqwest::Response {
    let r = client
        .post(format!("{base}/api/auth/signup"))
        .json(&json!({"email": email, "password": "password123", "name": "김우산", "phone": "010-1234-5678", "agree_terms": true, "agree_privacy": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201, "sign-up of {email} through {base}");
    r
}

/// The session cookie (`name=value`) a response set.
pub fn session_cookie(r: &reqwest::Response) -> String {
    r.headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .expect("a session cookie")
        .to_owned()
}

/// Seeds a store with `users` umbrellas and signs `users` users up through `base`.
pub async fn seed(stack: &Stack, base: &str, users: usize) -> World {
    let region = stack.seed_region("r").expect("seed a region");
    let seeded = stack
        .seed_store(
            region,
            &stack::seed::StoreSeed {
                image_url: Some("https://img.example/a.png"),
                umbrellas: 1..i64::try_from(users).expect("a small count") + 1,
                ..Default::default()
            },
        )
        .expect("seed a store");
    let store = seeded.id;
    let mut list = Vec::new();
    for (i, &umbrella) in seeded.umbrellas.iter().enumerate() {
        let c = client();
        let email = format!("load{i}-{}@example.com", uuid::Uuid::new_v4().simple());
        let r = sign_up(&c, base, &email).await;
        let id = r.json::<Value>().await.unwrap()["id"].as_i64().unwrap();
        c.put(format!("{base}/api/me/bank-account"))
            .json(&json!({"bank_name": "신한", "account_number": "110123456789"}))
            .send()
            .await
            .unwrap();
        list.push(User {
            client: c,
            id,
            umbrella,
            rent_code: code_for(stack, was::domain::codes::Subject::Umbrella(umbrella)),
        });
    }
    World {
        region,
        store,
        return_code: code_for(stack, was::domain::codes::Subject::Store(store)),
        users: list,
    }
}

pub struct Load {
    stop: Arc<AtomicBool>,
    started: Instant,
    samples: Arc<Mutex<Vec<Sample>>>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Load {
    /// One worker per user, each cycling public read → logged-in read → rent or return,
    /// with a pause between requests so the load stays bounded.
    pub fn start(base: &str, world: &World, pause: Duration) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let samples = Arc::new(Mutex::new(Vec::new()));
        let started = Instant::now();
        let tasks = world
            .users
            .iter()
            .map(|u| {
                let (stop, samples, user) = (Arc::clone(&stop), Arc::clone(&samples), u.clone());
                let (base, region, store) = (base.to_owned(), world.region, world.store);
                let return_code = world.return_code.clone();
                tokio::spawn(async move {
                    let mut renting = false;
                    let mut step = 0u64;
                    while !stop.load(Ordering::Relaxed) {
                        let kind = match step % 3 {
                            0 => Kind::PublicRead,
                            1 => Kind::UserRead,
                            _ if renting => Kind::Return,
                            _ => Kind::Rent,
                        };
                        step += 1;
                        let t = Instant::now();
                        let at = started.elapsed();
                        let key = uuid::Uuid::new_v4().to_string();
                        let request = match kind {
                            Kind::PublicRead => user
                                .client
                                .get(format!("{base}/api/regions/{region}/stores")),
                            Kind::UserRead => user.client.get(format!("{base}/api/me")),
                            Kind::Rent => user
                                .client
                                .post(format!("{base}/api/rentals"))
                                .header("idempotency-key", &key)
                                .json(&json!({"umbrella_id": user.umbrella, "store_id": store, "code": user.rent_code})),
                            Kind::Return => user
                                .client
                                .post(format!("{base}/api/rentals/current/return"))
                                .header("idempotency-key", &key)
                                .json(&json!({"store_id": store, "code": return_code})),
                        };
                        let (status, instance) = match request.send().await {
                            Ok(r) => {
                                let status = r.status().as_u16();
                                let instance = r
                                    .headers()
                                    .get("x-upbrella-instance")
                                    .and_then(|v| v.to_str().ok())
                                    .map(str::to_owned);
                                let _ = r.bytes().await;
                                (status, instance)
                            }
                            Err(_) => (0, None),
                        };
                        if (200..300).contains(&status) {
                            match kind {
                                Kind::Rent => renting = true,
                                Kind::Return => renting = false,
                                _ => {}
                            }
                        }
                        samples.lock().unwrap().push(Sample {
                            at,
                            kind,
                            status,
                            latency: t.elapsed(),
                            instance,
                        });
                        tokio::time::sleep(pause).await;
                    }
                })
            })
            .collect();
        Self {
            stop,
            started,
            samples,
            tasks,
        }
    }

    pub fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }

    /// Waits until a request of `kind` that started after `since` has succeeded; returns
    /// how long the wait took (the time to recover).
    pub async fn first_success(&self, kind: Kind, since: Duration, limit: Duration) -> Duration {
        let started = Instant::now();
        loop {
            let done = self
                .samples
                .lock()
                .unwrap()
                .iter()
                .any(|x| x.kind == kind && x.at > since && x.ok());
            if done {
                return started.elapsed();
            }
            assert!(
                started.elapsed() < limit,
                "no successful {kind:?} within {limit:?}: no recovery"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub async fn finish(self) -> Vec<Sample> {
        self.stop.store(true, Ordering::Relaxed);
        for t in self.tasks {
            let _ = t.await;
        }
        Arc::try_unwrap(self.samples)
            .map(|m| m.into_inner().unwrap())
            .unwrap_or_default()
    }
}

pub fn p99(samples: &[Sample]) -> Duration {
    let mut l: Vec<Duration> = samples.iter().map(|s| s.latency).collect();
    if l.is_empty() {
        return Duration::ZERO;
    }
    l.sort();
    l[(l.len() * 99 / 100).min(l.len() - 1)]
}

pub fn max_latency(samples: &[Sample]) -> Duration {
    samples.iter().map(|s| s.latency).max().unwrap_or_default()
}

/// Appends a row to the summary table that the test command prints at the end.
pub fn summary_row(scenario: &str, samples: &[Sample], failed: usize, timing: &str) {
    let row = format!(
        "| {scenario} | {} | {failed} | {:.0} ms | {timing} |",
        samples.len(),
        p99(samples).as_secs_f64() * 1000.0
    );
    println!("{row}");
    let path = stack::topology::workspace_root()
        .join("target")
        .join("resilience-summary.md");
    if let Ok(mut f) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
    {
        let _ = writeln!(f, "{row}");
    }
}

/// Polls web-proxy's admin `/upstreams` until `addr` is (un)healthy; returns how long it took.
pub async fn wait_upstream(
    admin: std::net::SocketAddr,
    addr: std::net::SocketAddr,
    healthy: bool,
    limit: Duration,
) -> Duration {
    let started = Instant::now();
    loop {
        if let Ok(r) = reqwest::get(format!("http://{admin}/upstreams")).await
            && let Ok(list) = r.json::<Value>().await
        {
            let found = list
                .as_array()
                .into_iter()
                .flatten()
                .any(|u| u["address"] == addr.to_string().as_str() && u["healthy"] == healthy);
            if found {
                return started.elapsed();
            }
        }
        assert!(
            started.elapsed() < limit,
            "{addr} not {} within {limit:?}",
            if healthy { "healthy" } else { "ejected" }
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Rows for the API's own tests (fuzzing, the generated client): ids that requests can
/// meet (stores, umbrellas, a locker, rentals), and users' ids set far above them, so an
/// admin run that bans or demotes random ids does not end its own session.
pub const API_SEED: &str = "
INSERT INTO classifications (kind, name, latitude, longitude) VALUES
 ('region', '신촌', 37.55, 126.93), ('region', '강남', 37.49, 127.02), ('tag', '카페', 37.5, 127.0);
INSERT INTO stores (region_id, tag_id, name, category, latitude, longitude, activated, address, working_hours, contact, instagram_url, description) VALUES
 (1, 3, '우산가게1', '카페', 37.55, 126.93, true, '서울', '9-18', '010-0000-0000', 'https://instagram.com/x', 'desc'),
 (1, NULL, '우산가게2', '식당', 37.551, 126.931, true, '', '', '', NULL, ''),
 (2, 3, '비활성', '카페', 37.49, 127.02, false, '', '', '', NULL, '');
INSERT INTO store_images (store_id, url) VALUES (1, 'https://img.example/a.png'), (2, 'https://img.example/b.png');
INSERT INTO business_hours VALUES (1, 1, '09:00', '18:00'), (1, 2, '09:00', '18:00'), (2, 7, '10:00', '20:00');
INSERT INTO umbrellas (store_id, number) VALUES (1, 1), (1, 2), (1, 3), (2, 4), (2, 5), (3, 6);
INSERT INTO users (email, name, phone) VALUES
 ('a@example.com', '가', '010-1111-1111'), ('b@example.com', '나', '010-2222-2222'), ('c@example.com', '다', NULL);
INSERT INTO rentals (umbrella_id, user_id, rent_store_id, return_store_id, returned_at, condition_report, improvement_report) VALUES
 (1, 1, 1, 2, now(), '손잡이 부러짐', '좋아요'), (2, 2, 1, 1, now(), NULL, '개선');
INSERT INTO rentals (umbrella_id, user_id, rent_store_id) VALUES (4, 3, 2);
INSERT INTO lockers (store_id, secret) VALUES (1, '00112233445566778899aabbccddeeff');
INSERT INTO blacklist (provider, subject) VALUES ('local', 'banned@example.com');
SELECT setval('users_id_seq', 900000);
";
