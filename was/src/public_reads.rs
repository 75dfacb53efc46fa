//! The public reads (regions, tags, a region's store markers, a store, introductions,
//! service info) answered from memory in each replica.
//!
//! They change a few times a day and are read on every map view, all at once on a rainy
//! morning. Every write to a table they are made from fires a trigger that notifies
//! [`CHANNEL`] with the table's name when its transaction commits (migration
//! `20261208000001`); each replica listens on a connection of its own
//! ([`follow_changes`]) and moves to a new generation: an answer kept under an older one
//! is fetched again on its next read. Two generations, because rentals are frequent on
//! exactly the mornings the cache is for: a rental or an umbrella's change ([`Change::Stock`])
//! moves only the counts' generation, which the store markers and a store's page depend
//! on; anything else moves both. So a change made through any replica, `was admin` or psql is seen by every
//! replica within milliseconds; the API tests hold it to a second.
//!
//! A write through this replica moves the generation at once, so the
//! writer reads its own change without waiting for the notification (`http::public::after_writes`). While the listening
//! connection is down (before the first `LISTEN`, after a lost connection, a silent one
//! found by its ping), nothing is answered from memory, and every new connection starts a
//! new generation: a notification missed while disconnected cannot leave an answer stale.
//! Answers also lapse at the next minute, since `open_now` follows the clock.
//!
//! An answer is serialized and its `ETag` computed once per generation, and concurrent
//! misses of one key wait for a single fetch.

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use serde::Serialize;
use sqlx::PgPool;
use sqlx::postgres::{PgListener, PgPoolOptions};
use tokio::sync::OnceCell;

use crate::error::{Error, Result};
use crate::http::caching;

/// The channel the triggers notify.
pub const CHANNEL: &str = "upbrella_public_reads";

/// More keys than this (stores × a few answers) means something is asking for ids that
/// come and go; the map is emptied rather than grown.
const MAX_KEYS: usize = 4096;

/// How often the listening connection is pinged when no notification arrives, and how
/// long the ping may take before the connection counts as lost.
const PING_EVERY: Duration = Duration::from_secs(5);
const PING_TIMEOUT: Duration = Duration::from_secs(2);

/// One public answer.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum Key {
    Regions,
    Tags,
    RegionStores(i64),
    Store(i64),
    Introductions,
    ServiceInfo,
}

impl Key {
    /// Whether the answer shows how many umbrellas a store has to rent.
    fn shows_stock(self) -> bool {
        matches!(self, Key::RegionStores(_) | Key::Store(_))
    }
}

/// What changed.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Change {
    /// Umbrellas or rentals: the counts of rentable umbrellas.
    Stock,
    /// Anything, or not known.
    Any,
}

impl Change {
    /// What a notification's payload (the table written) says changed.
    pub fn of_table(table: &str) -> Self {
        match table {
            "umbrellas" | "rentals" => Change::Stock,
            _ => Change::Any,
        }
    }
}

/// A serialized answer and its tag.
struct Answer {
    body: Bytes,
    etag: HeaderValue,
}

impl Answer {
    fn of<T: Serialize>(value: &T) -> Result<Self> {
        let body = serde_json::to_vec(value)
            .map_err(|e| Error::internal(format!("serializing a public answer: {e}")))?;
        let etag = caching::etag_of(&body);
        Ok(Self {
            body: Bytes::from(body),
            etag,
        })
    }

    /// `304` when the client holds this answer, the answer otherwise.
    fn respond(&self, request: &HeaderMap) -> Response {
        let fresh = request
            .get(header::IF_NONE_MATCH)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| caching::names(v, self.etag.to_str().unwrap_or_default()));
        let mut response = if fresh {
            let mut r = Response::new(Body::empty());
            *r.status_mut() = StatusCode::NOT_MODIFIED;
            r
        } else {
            let mut r = Response::new(Body::from(self.body.clone()));
            r.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
            r
        };
        let headers = response.headers_mut();
        headers.insert(header::ETAG, self.etag.clone());
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
        response
    }
}

/// A key's answer for one generation until a minute boundary; filled once.
struct Slot {
    generation: (u64, u64),
    expires: u64,
    answer: OnceCell<Arc<Answer>>,
}

impl Slot {
    fn current(&self, generation: (u64, u64), now: u64) -> bool {
        self.generation == generation && now < self.expires
    }
}

/// How public reads were answered, for `/metrics`.
#[derive(Default)]
pub struct Counts {
    /// From memory.
    pub hits: AtomicU64,
    /// Fetched and kept.
    pub misses: AtomicU64,
    /// Fetched and not kept: the listening connection was down.
    pub bypassed: AtomicU64,
    /// Generations started (notifications, own writes, reconnections).
    pub invalidations: AtomicU64,
}

#[derive(Default)]
pub struct PublicReads {
    /// Moved by any change.
    generation: AtomicU64,
    /// Moved by a change of stock too.
    stock: AtomicU64,
    /// Whether the listening connection is up: answers are kept only then.
    listening: AtomicBool,
    slots: RwLock<HashMap<Key, Arc<Slot>>>,
    pub counts: Counts,
}

fn unix_seconds() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

impl PublicReads {
    /// Starts a new generation: everything kept so far is fetched again on its next read.
    pub fn invalidate(&self) {
        self.changed(Change::Any);
    }

    /// Starts a new generation for what `change` touches.
    pub fn changed(&self, change: Change) {
        if change == Change::Any {
            self.generation.fetch_add(1, Ordering::AcqRel);
        }
        self.stock.fetch_add(1, Ordering::AcqRel);
        self.counts.invalidations.fetch_add(1, Ordering::Relaxed);
    }

    /// The generation an answer under `key` is kept for.
    fn generation_of(&self, key: Key) -> (u64, u64) {
        let stock = if key.shows_stock() {
            self.stock.load(Ordering::Acquire)
        } else {
            0
        };
        (self.generation.load(Ordering::Acquire), stock)
    }

    /// Whether answers are being kept (the listening connection is up).
    pub fn is_listening(&self) -> bool {
        self.listening.load(Ordering::Acquire)
    }

    fn set_listening(&self, on: bool) {
        self.listening.store(on, Ordering::Release);
    }

    /// `key`'s answer: from memory when it is current, otherwise from `fetch` (once,
    /// however many requests miss together).
    pub async fn answer<T, F, Fut>(
        &self,
        key: Key,
        request: &HeaderMap,
        fetch: F,
    ) -> Result<Response>
    where
        T: Serialize,
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T>>,
    {
        if !self.is_listening() {
            self.counts.bypassed.fetch_add(1, Ordering::Relaxed);
            return Ok(Answer::of(&fetch().await?)?.respond(request));
        }
        let slot = self.slot(key);
        let mut fetched = false;
        let answer = slot
            .answer
            .get_or_try_init(|| {
                fetched = true;
                async { Ok::<_, Error>(Arc::new(Answer::of(&fetch().await?)?)) }
            })
            .await;
        match answer {
            Ok(answer) => {
                let count = if fetched {
                    &self.counts.misses
                } else {
                    &self.counts.hits
                };
                count.fetch_add(1, Ordering::Relaxed);
                Ok(answer.respond(request))
            }
            Err(e) => {
                self.forget(key, &slot);
                Err(e)
            }
        }
    }

    /// The current slot of `key`, made if there is none.
    fn slot(&self, key: Key) -> Arc<Slot> {
        let generation = self.generation_of(key);
        let now = unix_seconds();
        let read = self.slots.read().unwrap_or_else(|p| p.into_inner());
        if let Some(slot) = read.get(&key).filter(|s| s.current(generation, now)) {
            return slot.clone();
        }
        drop(read);
        let mut slots = self.slots.write().unwrap_or_else(|p| p.into_inner());
        if let Some(slot) = slots.get(&key).filter(|s| s.current(generation, now)) {
            return slot.clone();
        }
        if slots.len() >= MAX_KEYS {
            slots.clear();
        }
        let slot = Arc::new(Slot {
            generation,
            expires: (now / 60 + 1) * 60,
            answer: OnceCell::new(),
        });
        slots.insert(key, slot.clone());
        slot
    }

    /// The Prometheus lines: reads by how they were answered, whether answers are kept,
    /// generations started.
    pub fn render(&self, out: &mut String) {
        use std::fmt::Write;
        let name = "upbrella_was_public_reads_total";
        shared::metrics::header(
            out,
            name,
            "counter",
            "Public reads by how they were answered: hit (from memory), miss (fetched and kept), bypass (fetched while the change listener was down).",
        );
        let c = &self.counts;
        for (outcome, n) in [
            ("hit", &c.hits),
            ("miss", &c.misses),
            ("bypass", &c.bypassed),
        ] {
            let _ = writeln!(
                out,
                "{name}{{outcome=\"{outcome}\"}} {}",
                n.load(Ordering::Relaxed)
            );
        }
        shared::metrics::single(
            out,
            "upbrella_was_public_reads_listening",
            "gauge",
            "1 while the change listener is connected and public reads are kept in memory.",
            u8::from(self.is_listening()),
        );
        shared::metrics::single(
            out,
            "upbrella_was_public_reads_invalidations_total",
            "counter",
            "Times everything kept was dropped: a change notified, a write through this replica, a reconnection.",
            c.invalidations.load(Ordering::Relaxed),
        );
    }

    /// Drops `key`'s slot after its fetch failed (a store that does not exist is not kept).
    fn forget(&self, key: Key, slot: &Arc<Slot>) {
        let mut slots = self.slots.write().unwrap_or_else(|p| p.into_inner());
        if slots
            .get(&key)
            .is_some_and(|s| Arc::ptr_eq(s, slot) && s.answer.get().is_none())
        {
            slots.remove(&key);
        }
    }
}

/// Listens for changes for as long as the replica serves: connects, `LISTEN`s, and starts
/// a new generation on every notification; on a lost or silent connection stops keeping
/// answers, and reconnects with backoff.
pub async fn follow_changes(reads: Arc<PublicReads>, db: PgPool, instance: String) {
    let mut backoff = Duration::from_millis(100);
    loop {
        let Err(e) = follow(&reads, &db, &instance).await;
        let was_listening = reads.is_listening();
        reads.set_listening(false);
        reads.invalidate();
        if was_listening {
            tracing::warn!(error = %e, "lost the public-read change listener; answering from the database until it is back");
            backoff = Duration::from_millis(100);
        } else {
            tracing::debug!(error = %e, "public-read change listener not connected; retrying");
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(Duration::from_secs(5));
    }
}

/// One connection's life: returns when it is lost.
async fn follow(
    reads: &PublicReads,
    db: &PgPool,
    instance: &str,
) -> Result<std::convert::Infallible, sqlx::Error> {
    // A pool of its own, made from the main pool's current options (an IAM token
    // included), so the listener never holds one of the requests' connections.
    let options = (*db.connect_options())
        .clone()
        .application_name(&format!("upbrella-was/{instance}/listen"));
    let pool = PgPoolOptions::new()
        .max_connections(1)
        .acquire_timeout(Duration::from_secs(5))
        .connect_lazy_with(options);
    let mut listener = PgListener::connect_with(&pool).await?;
    listener.eager_reconnect(false);
    listener.listen(CHANNEL).await?;
    // Whatever changed before this LISTEN may have gone unheard.
    reads.invalidate();
    reads.set_listening(true);
    tracing::info!(channel = CHANNEL, "following public-read changes");
    let mut ping = tokio::time::interval(PING_EVERY);
    ping.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    ping.tick().await;
    loop {
        // `try_recv` is cancel-safe: a message is taken from the buffer only once whole.
        tokio::select! {
            received = listener.try_recv() => match received? {
                Some(n) => reads.changed(Change::of_table(n.payload())),
                None => return Err(sqlx::Error::Protocol("the connection was closed".into())),
            },
            _ = ping.tick() => {
                let pinged = tokio::time::timeout(
                    PING_TIMEOUT,
                    sqlx::query("SELECT 1").execute(&mut listener),
                )
                .await;
                match pinged {
                    Ok(done) => {
                        done?;
                    }
                    Err(_) => {
                        return Err(sqlx::Error::Protocol(format!(
                            "no answer to a ping in {PING_TIMEOUT:?}"
                        )));
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Answers `key` with a fetch that counts itself.
    async fn read(reads: &PublicReads, key: Key, fetches: &AtomicU64) -> Response {
        let fetch = || async {
            fetches.fetch_add(1, Ordering::Relaxed);
            tokio::time::sleep(Duration::from_millis(10)).await;
            Ok::<_, Error>(vec!["신촌"])
        };
        reads
            .answer(key, &HeaderMap::new(), fetch)
            .await
            .expect("an answer")
    }

    fn listening() -> PublicReads {
        let reads = PublicReads::default();
        reads.set_listening(true);
        reads
    }

    #[tokio::test]
    async fn a_change_of_stock_keeps_what_shows_no_stock() {
        let (reads, fetches) = (listening(), AtomicU64::new(0));
        let keys = [
            Key::Regions,
            Key::Introductions,
            Key::RegionStores(1),
            Key::Store(2),
        ];
        for key in keys {
            read(&reads, key, &fetches).await;
        }
        for key in keys {
            read(&reads, key, &fetches).await;
        }
        assert_eq!(
            fetches.load(Ordering::Relaxed),
            4,
            "the second round from memory"
        );
        reads.changed(Change::Stock);
        for key in keys {
            read(&reads, key, &fetches).await;
        }
        assert_eq!(
            fetches.load(Ordering::Relaxed),
            6,
            "only the markers and the store page"
        );
        reads.changed(Change::of_table("business_hours"));
        for key in keys {
            read(&reads, key, &fetches).await;
        }
        assert_eq!(fetches.load(Ordering::Relaxed), 10, "everything");
    }

    #[tokio::test]
    async fn concurrent_misses_share_one_fetch() {
        let (reads, fetches) = (listening(), AtomicU64::new(0));
        let all = (0..20).map(|_| read(&reads, Key::Store(7), &fetches));
        let answers = futures::future::join_all(all).await;
        assert!(answers.iter().all(|r| r.status() == StatusCode::OK));
        assert_eq!(fetches.load(Ordering::Relaxed), 1);
    }

    #[tokio::test]
    async fn nothing_is_kept_while_the_listener_is_down() {
        let (reads, fetches) = (PublicReads::default(), AtomicU64::new(0));
        for _ in 0..3 {
            read(&reads, Key::Tags, &fetches).await;
        }
        assert_eq!(fetches.load(Ordering::Relaxed), 3);
        assert_eq!(reads.counts.bypassed.load(Ordering::Relaxed), 3);
    }

    #[tokio::test]
    async fn a_client_holding_the_answer_gets_304() {
        let (reads, fetches) = (listening(), AtomicU64::new(0));
        let first = read(&reads, Key::Regions, &fetches).await;
        let etag = first.headers()[header::ETAG].clone();
        let mut headers = HeaderMap::new();
        headers.insert(header::IF_NONE_MATCH, etag.clone());
        let fetch = || async { Ok::<_, Error>(vec!["신촌"]) };
        let again = reads
            .answer(Key::Regions, &headers, fetch)
            .await
            .expect("an answer");
        assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
        assert_eq!(again.headers()[header::ETAG], etag);
        assert_eq!(again.headers()[header::CACHE_CONTROL], "no-cache");
    }
}
