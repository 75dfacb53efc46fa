-- The upbrella schema. Every invariant of the domain that can be stated in the schema is
-- stated here, with a named constraint, so that the application maps each violation to a
-- precise HTTP answer and no code path can break it by accident.

CREATE TABLE classifications (
    id          BIGSERIAL PRIMARY KEY,
    kind        TEXT NOT NULL CONSTRAINT classifications_kind_check CHECK (kind IN ('region', 'tag')),
    name        TEXT NOT NULL CONSTRAINT classifications_name_check CHECK (length(name) BETWEEN 1 AND 100),
    latitude    DOUBLE PRECISION NOT NULL CONSTRAINT classifications_latitude_check CHECK (latitude BETWEEN -90 AND 90),
    longitude   DOUBLE PRECISION NOT NULL CONSTRAINT classifications_longitude_check CHECK (longitude BETWEEN -180 AND 180),
    CONSTRAINT classifications_kind_name_key UNIQUE (kind, name),
    -- Target of the composite foreign keys below, which pin a store's region to a
    -- classification of kind 'region' and its tag to one of kind 'tag'.
    CONSTRAINT classifications_id_kind_key UNIQUE (id, kind)
);

CREATE TABLE stores (
    id                BIGSERIAL PRIMARY KEY,
    region_id         BIGINT NOT NULL,
    region_kind       TEXT NOT NULL DEFAULT 'region' CHECK (region_kind = 'region'),
    tag_id            BIGINT,
    tag_kind          TEXT NOT NULL DEFAULT 'tag' CHECK (tag_kind = 'tag'),
    name              TEXT NOT NULL CONSTRAINT stores_name_check CHECK (length(name) BETWEEN 1 AND 100),
    category          TEXT NOT NULL,
    latitude          DOUBLE PRECISION NOT NULL CONSTRAINT stores_latitude_check CHECK (latitude BETWEEN -90 AND 90),
    longitude         DOUBLE PRECISION NOT NULL CONSTRAINT stores_longitude_check CHECK (longitude BETWEEN -180 AND 180),
    activated         BOOLEAN NOT NULL DEFAULT false,
    deleted           BOOLEAN NOT NULL DEFAULT false,
    address           TEXT NOT NULL DEFAULT '',
    address_detail    TEXT NOT NULL DEFAULT '',
    umbrella_location TEXT NOT NULL DEFAULT '',
    working_hours     TEXT NOT NULL DEFAULT '',
    contact           TEXT NOT NULL DEFAULT '',
    instagram_url     TEXT,
    description       TEXT NOT NULL DEFAULT '',
    created_at        TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT stores_region_fkey FOREIGN KEY (region_id, region_kind) REFERENCES classifications (id, kind),
    CONSTRAINT stores_tag_fkey FOREIGN KEY (tag_id, tag_kind) REFERENCES classifications (id, kind),
    CONSTRAINT stores_deleted_not_activated CHECK (NOT (deleted AND activated))
);
CREATE INDEX stores_region_idx ON stores (region_id) WHERE NOT deleted;

CREATE TABLE store_images (
    id         BIGSERIAL PRIMARY KEY,
    store_id   BIGINT NOT NULL REFERENCES stores (id) ON DELETE CASCADE,
    url        TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX store_images_store_idx ON store_images (store_id);

-- ISO weekday: 1 = Monday … 7 = Sunday. Times are local to Asia/Seoul.
CREATE TABLE business_hours (
    store_id BIGINT NOT NULL REFERENCES stores (id) ON DELETE CASCADE,
    weekday  SMALLINT NOT NULL CONSTRAINT business_hours_weekday_check CHECK (weekday BETWEEN 1 AND 7),
    open_at  TIME NOT NULL,
    close_at TIME NOT NULL,
    PRIMARY KEY (store_id, weekday),
    CONSTRAINT business_hours_order_check CHECK (open_at < close_at)
);

CREATE TABLE umbrellas (
    id         BIGSERIAL PRIMARY KEY,
    store_id   BIGINT NOT NULL REFERENCES stores (id),
    number     BIGINT NOT NULL CONSTRAINT umbrellas_number_check CHECK (number > 0),
    rentable   BOOLEAN NOT NULL DEFAULT true,
    missed     BOOLEAN NOT NULL DEFAULT false,
    deleted    BOOLEAN NOT NULL DEFAULT false,
    note       TEXT NOT NULL DEFAULT '',
    created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
-- A management number names one umbrella among those still in service.
CREATE UNIQUE INDEX umbrellas_number_key ON umbrellas (number) WHERE NOT deleted;
CREATE INDEX umbrellas_store_idx ON umbrellas (store_id) WHERE NOT deleted;

CREATE TABLE users (
    id            BIGSERIAL PRIMARY KEY,
    email         TEXT,
    password_hash TEXT,
    kakao_id      BIGINT,
    name          TEXT NOT NULL,
    phone         TEXT,
    is_admin      BOOLEAN NOT NULL DEFAULT false,
    bank_name     TEXT,
    -- AES-256-GCM: a version byte, the 96-bit nonce, then ciphertext and tag.
    bank_account  BYTEA,
    status        TEXT NOT NULL DEFAULT 'active' CONSTRAINT users_status_check CHECK (status IN ('active', 'left', 'banned')),
    created_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT users_bank_pair_check CHECK ((bank_name IS NULL) = (bank_account IS NULL)),
    CONSTRAINT users_identity_check CHECK (status <> 'active' OR email IS NOT NULL OR kakao_id IS NOT NULL)
);
CREATE UNIQUE INDEX users_email_key ON users (lower(email)) WHERE email IS NOT NULL;
CREATE UNIQUE INDEX users_kakao_id_key ON users (kakao_id) WHERE kakao_id IS NOT NULL;

-- Banned identities. Compared by identity (the e-mail address or the Kakao id), never by
-- user id: a banned person signing up again gets a new user id.
CREATE TABLE blacklist (
    id         BIGSERIAL PRIMARY KEY,
    provider   TEXT NOT NULL CHECK (provider IN ('local', 'kakao')),
    subject    TEXT NOT NULL,
    user_id    BIGINT REFERENCES users (id),
    blocked_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT blacklist_identity_key UNIQUE (provider, subject)
);

CREATE TABLE rentals (
    id                 BIGSERIAL PRIMARY KEY,
    umbrella_id        BIGINT NOT NULL REFERENCES umbrellas (id),
    user_id            BIGINT NOT NULL REFERENCES users (id),
    rent_store_id      BIGINT NOT NULL REFERENCES stores (id),
    rented_at          TIMESTAMPTZ NOT NULL DEFAULT now(),
    return_store_id    BIGINT REFERENCES stores (id),
    returned_at        TIMESTAMPTZ,
    condition_report   TEXT CONSTRAINT rentals_condition_report_check CHECK (length(condition_report) <= 400),
    improvement_report TEXT CONSTRAINT rentals_improvement_report_check CHECK (length(improvement_report) <= 400),
    bank_name          TEXT,
    bank_account       BYTEA,
    paid_at            TIMESTAMPTZ,
    paid_by            BIGINT REFERENCES users (id),
    refunded_at        TIMESTAMPTZ,
    refunded_by        BIGINT REFERENCES users (id),
    CONSTRAINT rentals_return_pair_check CHECK ((returned_at IS NULL) = (return_store_id IS NULL)),
    CONSTRAINT rentals_bank_pair_check CHECK ((bank_name IS NULL) = (bank_account IS NULL)),
    CONSTRAINT rentals_paid_pair_check CHECK ((paid_at IS NULL) = (paid_by IS NULL)),
    CONSTRAINT rentals_refunded_pair_check CHECK ((refunded_at IS NULL) = (refunded_by IS NULL))
);
-- The two invariants of renting: an umbrella is in at most one open rental, and a user
-- has at most one open rental. Concurrent requests cannot break them.
CREATE UNIQUE INDEX rentals_open_umbrella_key ON rentals (umbrella_id) WHERE returned_at IS NULL;
CREATE UNIQUE INDEX rentals_open_user_key ON rentals (user_id) WHERE returned_at IS NULL;
CREATE INDEX rentals_user_idx ON rentals (user_id, rented_at DESC);

CREATE TABLE lockers (
    id          BIGSERIAL PRIMARY KEY,
    store_id    BIGINT NOT NULL REFERENCES stores (id) ON DELETE CASCADE,
    secret      TEXT NOT NULL CONSTRAINT lockers_secret_check CHECK (secret ~ '^[0-9A-Fa-f]{32,}$'),
    counter     BIGINT NOT NULL DEFAULT 0 CONSTRAINT lockers_counter_check CHECK (counter >= 0),
    last_access TIMESTAMPTZ,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT lockers_store_key UNIQUE (store_id)
);

-- Responses of state-changing requests that carried an Idempotency-Key, so a retry
-- (a flaky phone connection, a proxy retry) gets the first answer instead of acting twice.
CREATE TABLE idempotency_keys (
    user_id      BIGINT NOT NULL REFERENCES users (id),
    key          TEXT NOT NULL,
    operation    TEXT NOT NULL,
    request_hash BYTEA NOT NULL,
    status       SMALLINT,
    body         JSONB,
    created_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, key)
);
