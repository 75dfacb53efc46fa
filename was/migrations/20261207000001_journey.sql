-- Renters come back and operators keep up: roles, reminders, renters' reports, and stores
-- as they are (several intervals a day, past midnight, closures).

-- Roles replace the single admin flag. `staff` work for partner stores (staff_stores says
-- which); `clerk` handle deposits and refunds but not rights or bans; `admin` everything.
ALTER TABLE users ADD COLUMN role TEXT NOT NULL DEFAULT 'renter'
    CONSTRAINT users_role_check CHECK (role IN ('renter', 'staff', 'clerk', 'admin'));
UPDATE users SET role = 'admin' WHERE is_admin;
ALTER TABLE users DROP COLUMN is_admin;

CREATE TABLE staff_stores (
    user_id  BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    store_id BIGINT NOT NULL REFERENCES stores (id),
    PRIMARY KEY (user_id, store_id)
);
CREATE INDEX staff_stores_store_idx ON staff_stores (store_id);

-- Reminder e-mails: on unless the renter turns them off. Each reminder of a rental is
-- claimed by inserting its row before sending, so two runs (or two replicas) send once.
ALTER TABLE users ADD COLUMN reminders BOOLEAN NOT NULL DEFAULT true;

CREATE TABLE reminders_sent (
    rental_id BIGINT NOT NULL REFERENCES rentals (id),
    kind      TEXT NOT NULL CONSTRAINT reminders_sent_kind_check CHECK (kind IN ('due_soon', 'overdue')),
    sent_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (rental_id, kind)
);

-- The weekly overdue digest to operators: one row per week (its Monday, Asia/Seoul).
CREATE TABLE digests_sent (
    week    DATE PRIMARY KEY,
    sent_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- A renter's report of a lost or broken umbrella, for the operators to follow up.
CREATE TABLE rental_reports (
    id          BIGSERIAL PRIMARY KEY,
    rental_id   BIGINT NOT NULL REFERENCES rentals (id),
    kind        TEXT NOT NULL CONSTRAINT rental_reports_kind_check CHECK (kind IN ('lost', 'broken')),
    note        TEXT NOT NULL DEFAULT '' CONSTRAINT rental_reports_note_check CHECK (length(note) <= 400),
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    resolved_at TIMESTAMPTZ,
    resolved_by BIGINT REFERENCES users (id),
    resolution  TEXT CONSTRAINT rental_reports_resolution_check CHECK (length(resolution) <= 400),
    CONSTRAINT rental_reports_resolved_pair_check CHECK ((resolved_at IS NULL) = (resolved_by IS NULL))
);
CREATE UNIQUE INDEX rental_reports_open_key ON rental_reports (rental_id, kind) WHERE resolved_at IS NULL;
CREATE INDEX rental_reports_created_idx ON rental_reports (created_at DESC);

-- Business hours: several intervals a weekday (a break time is two), an interval that
-- closes at or before it opens runs past midnight (11:00–02:00), and one that opens and
-- closes at the same time is open the whole day. Overlaps are refused by the WAS.
ALTER TABLE business_hours DROP CONSTRAINT business_hours_pkey;
ALTER TABLE business_hours DROP CONSTRAINT business_hours_order_check;
ALTER TABLE business_hours ADD CONSTRAINT business_hours_pkey PRIMARY KEY (store_id, weekday, open_at);

-- Holidays and temporary closures: the store is closed on these local dates, inclusive.
-- An interval that starts on a closed date does not open (its part after midnight
-- neither).
CREATE TABLE store_closures (
    id        BIGSERIAL PRIMARY KEY,
    store_id  BIGINT NOT NULL REFERENCES stores (id) ON DELETE CASCADE,
    starts_on DATE NOT NULL,
    ends_on   DATE NOT NULL,
    reason    TEXT NOT NULL DEFAULT '' CONSTRAINT store_closures_reason_check CHECK (length(reason) <= 100),
    CONSTRAINT store_closures_order_check CHECK (starts_on <= ends_on)
);
CREATE INDEX store_closures_store_idx ON store_closures (store_id, ends_on);
