//! The rainy-morning rush: the whole stack (web-proxy in front of two WAS replicas, Redis,
//! PostgreSQL) under the mix of requests the service exists for, at a rising offered rate
//! until the 99th percentile passes 200 ms; then held at half and four fifths of that
//! knee for the latencies per endpoint.
//!
//! The load is open-loop: requests start on a clock at the offered rate whether or not
//! earlier ones have finished (a closed loop would slow down with the servers and hide
//! the queueing a real crowd causes). The mix, written from the domain: most people open
//! the map (the page, the regions, a region's stores) and a store's page; renters look at
//! their own page; some rent and, at once, return; operators refresh the dashboard.
//! Logins are not in the mix: every request here comes from loopback, and the per-address
//! login limits rightly refuse one address logging in as dozens of people; what logins
//! cost is measured by the login flood (the hash queue). The load generator shares the machine's cores with every server: its
//! CPU is measured and printed beside theirs.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::json;
use stack::Stack;
use stack::process::Process;
use stack::seed::StoreSeed;
use tokio::sync::mpsc;

use crate::measure::children;

/// The p99 that ends the ramp.
pub const P99_LIMIT: Duration = Duration::from_millis(200);
/// Failures (of requests that should succeed) that end the ramp.
const FAILURE_LIMIT: f64 = 0.01;
const RENTERS: usize = 48;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    Page,
    Regions,
    Markers,
    Store,
    Me,
    Rent,
    Return,
    Dashboard,
}

impl Kind {
    pub fn label(self) -> &'static str {
        match self {
            Kind::Page => "GET / (the page, from web-proxy)",
            Kind::Regions => "GET /api/regions",
            Kind::Markers => "GET /api/regions/{id}/stores",
            Kind::Store => "GET /api/stores/{id}",
            Kind::Me => "GET /api/me (signed in)",
            Kind::Rent => "POST /api/rentals",
            Kind::Return => "POST /api/rentals/current/return",
            Kind::Dashboard => "GET /api/admin/dashboard (operator)",
        }
    }
}

/// What starts on each tick of the clock, in parts per hundred. A rental is a rent and,
/// at once, its return: two requests.
pub const MIX: [(Kind, u32); 7] = [
    (Kind::Page, 8),
    (Kind::Regions, 12),
    (Kind::Markers, 32),
    (Kind::Store, 22),
    (Kind::Me, 13),
    (Kind::Rent, 6),
    (Kind::Dashboard, 7),
];

/// The people and places of the rush.
struct World {
    base: String,
    region: i64,
    stores: Vec<i64>,
    /// No cookies: the map's visitors.
    public: reqwest::Client,
    renters: Vec<(reqwest::Client, i64, i64)>,
    free: Mutex<Vec<usize>>,
    operator: reqwest::Client,
}

fn client(local: Option<IpAddr>, cookies: bool) -> Result<reqwest::Client, String> {
    reqwest::Client::builder()
        .cookie_store(cookies)
        .local_address(local)
        .timeout(Duration::from_secs(5))
        .pool_max_idle_per_host(256)
        .build()
        .map_err(|e| e.to_string())
}

async fn world(s: &Stack) -> Result<World, String> {
    let err = |e: std::io::Error| e.to_string();
    let region = s.seed_region("rush").map_err(err)?;
    let home = s
        .seed_store(
            region,
            &StoreSeed {
                name: "rush home",
                umbrellas: 5000..5000 + RENTERS as i64,
                ..StoreSeed::default()
            },
        )
        .map_err(err)?;
    let mut stores = vec![home.id];
    for i in 0..11 {
        let name = format!("rush {i}");
        let seed = StoreSeed {
            name: &name,
            umbrellas: 6000 + i * 20..6000 + i * 20 + 12,
            ..StoreSeed::default()
        };
        stores.push(s.seed_store(region, &seed).map_err(err)?.id);
    }
    let base = s.proxies[0].url("");
    // Sign-ups from an address of their own (sign-ups are limited per address).
    let seeding = Some(IpAddr::V4(Ipv4Addr::new(127, 0, 2, 1)));
    let mut renters = Vec::new();
    for (i, umbrella) in home.umbrellas.iter().enumerate() {
        let c = client(seeding, true)?;
        let email = format!("rush{i}@example.com");
        signup(&c, &base, &email).await?;
        c.put(format!("{base}/api/me/bank-account"))
            .json(&json!({"bank_name": "신한", "account_number": "110123456789"}))
            .send()
            .await
            .map_err(|e| e.to_string())?;
        renters.push((c, *umbrella, home.id));
    }
    let operator = client(seeding, true)?;
    signup(&operator, &base, "rush-operator@example.com").await?;
    s.psql("UPDATE users SET role = 'admin', email_verified_at = now() WHERE email = 'rush-operator@example.com'")
        .map_err(err)?;
    Ok(World {
        base,
        region,
        stores,
        public: client(None, false)?,
        free: Mutex::new((0..renters.len()).collect()),
        renters,
        operator,
    })
}

async fn signup(c: &reqwest::Client, base: &str, email: &str) -> Result<(), String> {
    let r = c
        .post(format!("{base}/api/auth/signup"))
        .json(&json!({"email": email, "password": "password123", "name": "러시", "phone": "01012345678", "agree_terms": true, "agree_privacy": true}))
        .send()
        .await
        .map_err(|e| e.to_string())?;
    if r.status().is_success() {
        Ok(())
    } else {
        Err(format!("sign-up of {email}: {}", r.status()))
    }
}

/// A small xorshift: which request comes next, and which store.
struct Dice(u64);

impl Dice {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn kind(&mut self) -> Kind {
        let total: u32 = MIX.iter().map(|(_, w)| w).sum();
        let mut roll = (self.next() % u64::from(total)) as u32;
        for (kind, weight) in MIX {
            if roll < weight {
                return kind;
            }
            roll -= weight;
        }
        Kind::Markers
    }
}

/// One measured request: its kind, its time, and `None` when it did what it should, else
/// the status it got (0: no answer: refused, reset or timed out).
type Outcome = (Kind, Duration, Option<u16>);

impl World {
    /// Starts what `kind` stands for and reports each request it made.
    async fn visit(&self, kind: Kind, roll: u64, out: &mpsc::UnboundedSender<Outcome>) {
        let pick = |n: usize| (roll as usize) % n.max(1);
        let base = &self.base;
        let timed = |kind: Kind, request: reqwest::RequestBuilder| async move {
            let started = Instant::now();
            let failed = match request.send().await {
                Ok(r) => {
                    let status = r.status();
                    // The body is part of the answer's time.
                    match r.bytes().await {
                        Ok(_) if status.is_success() => None,
                        Ok(_) => Some(status.as_u16()),
                        Err(_) => Some(0),
                    }
                }
                Err(_) => Some(0),
            };
            (kind, started.elapsed(), failed)
        };
        let outcome = match kind {
            Kind::Page => timed(kind, self.public.get(format!("{base}/"))).await,
            Kind::Regions => timed(kind, self.public.get(format!("{base}/api/regions"))).await,
            Kind::Markers => {
                let url = format!("{base}/api/regions/{}/stores", self.region);
                timed(kind, self.public.get(url)).await
            }
            Kind::Store => {
                let url = format!("{base}/api/stores/{}", self.stores[pick(self.stores.len())]);
                timed(kind, self.public.get(url)).await
            }
            Kind::Me => {
                let c = &self.renters[pick(self.renters.len())].0;
                timed(kind, c.get(format!("{base}/api/me"))).await
            }
            Kind::Dashboard => {
                let url = format!("{base}/api/admin/dashboard");
                timed(kind, self.operator.get(url)).await
            }
            Kind::Rent | Kind::Return => return self.rental(out).await,
        };
        let _ = out.send(outcome);
    }

    /// A renter who has nothing out rents an umbrella and returns it.
    async fn rental(&self, out: &mpsc::UnboundedSender<Outcome>) {
        let Some(i) = self.free.lock().ok().and_then(|mut f| f.pop()) else {
            return;
        };
        let (c, umbrella, store) = &self.renters[i];
        let base = &self.base;
        for (kind, url, body) in [
            (
                Kind::Rent,
                format!("{base}/api/rentals"),
                json!({"umbrella_id": umbrella, "store_id": store}),
            ),
            (
                Kind::Return,
                format!("{base}/api/rentals/current/return"),
                json!({"store_id": store}),
            ),
        ] {
            let started = Instant::now();
            let sent = c
                .post(url)
                .header("idempotency-key", uuid::Uuid::new_v4().to_string())
                .json(&body)
                .send()
                .await;
            let failed = match &sent {
                Ok(r) if r.status().is_success() => None,
                Ok(r) => Some(r.status().as_u16()),
                Err(_) => Some(0),
            };
            let _ = out.send((kind, started.elapsed(), failed));
        }
        if let Ok(mut f) = self.free.lock() {
            f.push(i);
        }
    }
}

/// The processes whose CPU is measured, by name.
pub struct Watched {
    groups: Vec<(&'static str, Vec<i32>)>,
    was_admins: Vec<SocketAddr>,
}

impl Watched {
    pub fn of(s: &Stack) -> Self {
        let pid = |p: Option<&Process>| p.map(Process::pid).unwrap_or_default();
        let pg = pid(s.postgres.process());
        let mut postgres = vec![pg];
        postgres.extend(children(pg));
        Self {
            groups: vec![
                (
                    "web-proxy",
                    s.proxies.iter().map(|p| pid(p.process())).collect(),
                ),
                (
                    "WAS (2 replicas)",
                    s.was.iter().map(|w| pid(w.process())).collect(),
                ),
                ("PostgreSQL", postgres),
                ("Redis", vec![pid(s.redis.process())]),
                ("load generator", vec![std::process::id() as i32]),
            ],
            was_admins: s.was.iter().filter_map(|w| w.admin).collect(),
        }
    }

    fn ticks(&self) -> Vec<u64> {
        self.groups
            .iter()
            .map(|(_, pids)| pids.iter().map(|p| crate::measure::cpu_ticks(*p)).sum())
            .collect()
    }
}

/// What one step of the rush measured.
#[derive(Clone, Debug, Default)]
pub struct Step {
    pub offered: f64,
    pub seconds: f64,
    /// Latencies (µs, sorted) and failures by kind.
    pub kinds: BTreeMap<Kind, (Vec<u64>, u64)>,
    /// Failures by kind and status (0: no answer).
    pub why: BTreeMap<Kind, BTreeMap<u16, u64>>,
    /// Cores used by each watched group over the step.
    pub cores: Vec<(&'static str, f64)>,
    /// The most database connections any replica had lent at once, of its pool.
    pub pool_in_use: f64,
    pub pool_max: f64,
    /// The longest password-hash queue seen.
    pub hash_queue: f64,
    /// The session store's mean operation time over the step (ms), from the replicas.
    pub session_ms: f64,
}

impl Step {
    pub fn all(&self) -> Vec<u64> {
        let mut all: Vec<u64> = self
            .kinds
            .values()
            .flat_map(|(l, _)| l.iter().copied())
            .collect();
        all.sort_unstable();
        all
    }

    pub fn requests(&self) -> u64 {
        self.kinds.values().map(|(l, f)| l.len() as u64 + f).sum()
    }

    pub fn failures(&self) -> u64 {
        self.kinds.values().map(|(_, f)| f).sum()
    }

    pub fn achieved(&self) -> f64 {
        self.requests() as f64 / self.seconds.max(0.001)
    }

    /// CPU seconds of a group per request.
    pub fn cpu_per_request(&self, group: &str) -> f64 {
        let cores = self
            .cores
            .iter()
            .find(|(g, _)| *g == group)
            .map_or(0.0, |c| c.1);
        cores * self.seconds / (self.requests().max(1) as f64)
    }

    fn too_slow(&self) -> bool {
        let all = self.all();
        percentile(&all, 0.99) > P99_LIMIT.as_micros() as u64
            || self.failures() as f64 > FAILURE_LIMIT * self.requests() as f64
    }
}

pub fn percentile(sorted: &[u64], q: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let i = ((sorted.len() as f64 - 1.0) * q).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// Reads the replicas' gauges while a step runs.
async fn sample_inside(admins: &[SocketAddr]) -> (f64, f64, f64, f64, f64) {
    let (mut in_use, mut max, mut queue, mut session_sum, mut session_count) =
        (0f64, 0f64, 0f64, 0f64, 0f64);
    for admin in admins {
        let Ok(r) = reqwest::get(format!("http://{admin}/metrics")).await else {
            continue;
        };
        let page = r.text().await.unwrap_or_default();
        let get = |name: &str| {
            page.lines()
                .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse::<f64>().ok())
                .unwrap_or(0.0)
        };
        in_use = in_use.max(get("upbrella_was_db_pool_in_use"));
        max = max.max(get("upbrella_was_db_pool_max"));
        queue = queue.max(get("upbrella_was_password_hash_queue"));
        session_sum += get("upbrella_was_session_store_seconds_sum");
        session_count += get("upbrella_was_session_store_seconds_count");
    }
    (in_use, max, queue, session_sum, session_count)
}

async fn step(world: &Arc<World>, watched: &Watched, offered: f64, length: Duration) -> Step {
    let (tx, mut rx) = mpsc::unbounded_channel::<Outcome>();
    let before = watched.ticks();
    let (_, _, _, s0, c0) = sample_inside(&watched.was_admins).await;
    let started = Instant::now();
    let sampler = {
        let admins = watched.was_admins.clone();
        tokio::spawn(async move {
            let (mut in_use, mut max, mut queue) = (0f64, 0f64, 0f64);
            loop {
                let (u, m, q, _, _) = sample_inside(&admins).await;
                (in_use, max, queue) = (in_use.max(u), max.max(m), queue.max(q));
                tokio::time::sleep(Duration::from_millis(250)).await;
                if started.elapsed() > length {
                    return (in_use, max, queue);
                }
            }
        })
    };
    let mut clock = tokio::time::interval(Duration::from_secs_f64(1.0 / offered));
    clock.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let mut dice = Dice(0x9E37_79B9_7F4A_7C15 ^ offered.to_bits());
    while started.elapsed() < length {
        clock.tick().await;
        let (kind, roll) = (dice.kind(), dice.next());
        let (world, tx) = (Arc::clone(world), tx.clone());
        tokio::spawn(async move { world.visit(kind, roll, &tx).await });
    }
    drop(tx);
    let mut kinds: BTreeMap<Kind, (Vec<u64>, u64)> = BTreeMap::new();
    let mut why: BTreeMap<Kind, BTreeMap<u16, u64>> = BTreeMap::new();
    while let Some((kind, took, failed)) = rx.recv().await {
        let entry = kinds.entry(kind).or_default();
        match failed {
            None => entry
                .0
                .push(u64::try_from(took.as_micros()).unwrap_or(u64::MAX)),
            Some(status) => {
                entry.1 += 1;
                *why.entry(kind).or_default().entry(status).or_default() += 1;
            }
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    let after = watched.ticks();
    let tps = crate::measure::ticks_per_second();
    let cores = watched
        .groups
        .iter()
        .zip(before.iter().zip(&after))
        .map(|((name, _), (b, a))| (*name, a.saturating_sub(*b) as f64 / tps / seconds))
        .collect();
    let (pool_in_use, pool_max, hash_queue) = sampler.await.unwrap_or_default();
    let (_, _, _, s1, c1) = sample_inside(&watched.was_admins).await;
    for (l, _) in kinds.values_mut() {
        l.sort_unstable();
    }
    Step {
        offered,
        seconds,
        kinds,
        why,
        cores,
        pool_in_use,
        pool_max,
        hash_queue,
        session_ms: if c1 > c0 {
            (s1 - s0) / (c1 - c0) * 1000.0
        } else {
            0.0
        },
    }
}

/// The whole rush: the ramp, the knee, and the two held rates.
#[derive(Debug, Default)]
pub struct Rush {
    pub ramp: Vec<Step>,
    /// The highest offered rate whose p99 stayed within [`P99_LIMIT`] (and failures within
    /// 1 %); `None` when even the first step did not.
    pub knee: Option<f64>,
    /// At half and at four fifths of the knee.
    pub held: Vec<(f64, Step)>,
    pub smoke: bool,
}

pub async fn run(s: &Stack, smoke: bool) -> Result<Rush, String> {
    println!("==> rainy-morning rush: seeding {RENTERS} renters and an operator");
    let world = Arc::new(world(s).await?);
    let watched = Watched::of(s);
    let (length, hold, mut offered, most_steps) = if smoke {
        (Duration::from_secs(1), Duration::from_secs(1), 50.0, 2)
    } else {
        (Duration::from_secs(6), Duration::from_secs(12), 100.0, 14)
    };
    let mut rush = Rush {
        smoke,
        ..Rush::default()
    };
    for _ in 0..most_steps {
        println!("==> rush: {offered:.0} requests/s offered");
        let step = step(&world, &watched, offered, length).await;
        let over = step.too_slow();
        rush.ramp.push(step);
        if over {
            break;
        }
        rush.knee = Some(offered);
        offered *= 1.4;
    }
    if let Some(knee) = rush.knee {
        for fraction in [0.5, 0.8] {
            println!("==> rush: held at {:.0} % of the knee", fraction * 100.0);
            let step = step(&world, &watched, knee * fraction, hold).await;
            rush.held.push((fraction, step));
        }
    }
    Ok(rush)
}
