//! Fixture data written straight into a running stack's database (through psql), shared
//! by the cross-crate suites and the benchmark: a region, stores in service, their
//! umbrellas. One place, so a schema change is followed once. (The WAS's own API tests
//! seed through their connection pool, in `was/tests/api/helpers.rs`.)

use std::io;
use std::ops::Range;

use crate::topology::Stack;

/// A store to create: activated, open all week, with the given umbrellas.
#[derive(Debug, Clone)]
pub struct StoreSeed<'a> {
    pub name: &'a str,
    pub category: &'a str,
    /// Where in the store the umbrellas stand.
    pub umbrella_location: &'a str,
    /// An image (activated stores have one in the product); none when `None`.
    pub image_url: Option<&'a str>,
    /// A locker with this secret (32+ hex digits).
    pub locker_secret: Option<&'a str>,
    /// Management numbers of the umbrellas to add.
    pub umbrellas: Range<i64>,
}

impl Default for StoreSeed<'_> {
    fn default() -> Self {
        Self {
            name: "우산 가게",
            category: "카페",
            umbrella_location: "",
            image_url: None,
            locker_secret: None,
            umbrellas: 0..0,
        }
    }
}

/// What [`Stack::seed_store`] created.
#[derive(Debug, Clone)]
pub struct SeededStore {
    pub id: i64,
    /// Umbrella ids, in the order of their numbers.
    pub umbrellas: Vec<i64>,
}

/// A SQL string literal.
fn literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

fn id(text: &str) -> io::Result<i64> {
    text.trim()
        .parse()
        .map_err(|e| io::Error::other(format!("psql returned {text:?}, not an id: {e}")))
}

impl Stack {
    /// A region named `name` (at Sinchon's coordinates).
    pub fn seed_region(&self, name: &str) -> io::Result<i64> {
        id(&self.psql(&format!(
            "INSERT INTO classifications (kind, name, latitude, longitude) \
             VALUES ('region', {}, 37.5, 127) RETURNING id",
            literal(name)
        ))?)
    }

    /// An activated store in `region`, open all week, as `seed` describes.
    pub fn seed_store(&self, region: i64, seed: &StoreSeed<'_>) -> io::Result<SeededStore> {
        let store = id(&self.psql(&format!(
            "INSERT INTO stores (region_id, name, category, latitude, longitude, activated, umbrella_location) \
             VALUES ({region}, {}, {}, 37.5, 127, true, {}) RETURNING id",
            literal(seed.name),
            literal(seed.category),
            literal(seed.umbrella_location)
        ))?)?;
        self.psql(&format!(
            "INSERT INTO business_hours SELECT {store}, d, '00:00', '23:59' FROM generate_series(1, 7) d"
        ))?;
        if let Some(url) = seed.image_url {
            self.psql(&format!(
                "INSERT INTO store_images (store_id, url) VALUES ({store}, {})",
                literal(url)
            ))?;
        }
        if let Some(secret) = seed.locker_secret {
            self.psql(&format!(
                "INSERT INTO lockers (store_id, secret) VALUES ({store}, {})",
                literal(secret)
            ))?;
        }
        let umbrellas = if seed.umbrellas.is_empty() {
            Vec::new()
        } else {
            self.psql(&format!(
                "INSERT INTO umbrellas (store_id, number) \
                 SELECT {store}, n FROM generate_series({}, {}) n ORDER BY n RETURNING id",
                seed.umbrellas.start,
                seed.umbrellas.end - 1
            ))?
            .lines()
            .map(id)
            .collect::<io::Result<Vec<i64>>>()?
        };
        Ok(SeededStore {
            id: store,
            umbrellas,
        })
    }
}
