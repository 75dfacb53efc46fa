-- Deposits as one state machine, proof of presence on each rental, and an operator
-- action log that the application can append to but never rewrite.
--
-- Expand only, but for one column: every column is new (with a default or nullable) and
-- every table is new. `lockers.secret` becomes nullable once the WAS seals it, which a
-- WAS of the previous release cannot read: roll every WAS replica in one deployment.

-- Where each rental's deposit stands (`domain::deposit` names every transition):
--   awaiting_payment  the renter has not paid, or we have not confirmed the transfer
--   paid              received, the umbrella still out
--   refund_due        received, the umbrella back: we owe the renter
--   refunded          sent back
--   forfeited         kept (lost or damaged, per the terms), with the reason
--   refund_failed     the bank rejected the refund account: the renter is asked again
--   waived            never to be collected (an operator's decision)
ALTER TABLE rentals
    ADD COLUMN deposit_state TEXT NOT NULL DEFAULT 'awaiting_payment'
        CONSTRAINT rentals_deposit_state_check CHECK (deposit_state IN
            ('awaiting_payment', 'paid', 'refund_due', 'refunded', 'forfeited', 'refund_failed', 'waived')),
    -- The deposit this rental asked for, in won (DEPOSIT_AMOUNT when it was rented).
    ADD COLUMN deposit_amount INTEGER NOT NULL DEFAULT 10000
        CONSTRAINT rentals_deposit_amount_check CHECK (deposit_amount >= 0),
    -- What the renter writes as the transfer's sender so the bank statement names the
    -- rental (name + 4 digits).
    ADD COLUMN deposit_reference TEXT,
    ADD COLUMN forfeit_reason TEXT
        CONSTRAINT rentals_forfeit_reason_check CHECK (forfeit_reason IN ('lost', 'damaged')),
    -- A rental closed as lost whose umbrella came back.
    ADD COLUMN found_at TIMESTAMPTZ,
    ADD COLUMN found_store_id BIGINT REFERENCES stores (id),
    -- false: rented or returned with the original service's sticker (no signed code), in
    -- the dated migration mode; the console and the return notice flag it.
    ADD COLUMN rent_verified BOOLEAN NOT NULL DEFAULT true,
    ADD COLUMN return_verified BOOLEAN,
    -- A renter may re-sync the locker once per rental.
    ADD COLUMN locker_resynced_at TIMESTAMPTZ,
    ADD CONSTRAINT rentals_forfeit_state_check CHECK ((deposit_state = 'forfeited') = (forfeit_reason IS NOT NULL));

-- Rows from before take the state their marks imply.
UPDATE rentals SET deposit_state = CASE
        WHEN refunded_at IS NOT NULL THEN 'refunded'
        WHEN paid_at IS NOT NULL AND closed_reason = 'lost' THEN 'forfeited'
        WHEN paid_at IS NOT NULL AND returned_at IS NOT NULL THEN 'refund_due'
        WHEN paid_at IS NOT NULL THEN 'paid'
        ELSE 'awaiting_payment'
    END,
    forfeit_reason = CASE WHEN refunded_at IS NULL AND paid_at IS NOT NULL AND closed_reason = 'lost' THEN 'lost' END,
    deposit_reference = left(regexp_replace((SELECT name FROM users WHERE users.id = rentals.user_id), '\s', '', 'g'), 3)
                        || lpad((id % 10000)::text, 4, '0');

-- The work queues read the state through this index.
CREATE INDEX rentals_deposit_state_idx ON rentals (deposit_state, id);

-- The deposit ledger: one row per transition, with the amount it moved and who made it.
-- The books are rebuilt from it (received, refunded, forfeited per day) and the CSV
-- export lists it.
CREATE TABLE deposit_events (
    id          BIGSERIAL PRIMARY KEY,
    rental_id   BIGINT NOT NULL REFERENCES rentals (id),
    operation   TEXT NOT NULL,
    from_state  TEXT NOT NULL,
    to_state    TEXT NOT NULL,
    amount      INTEGER NOT NULL,
    -- Who: an operator, the renter, or the service itself (NULL id). The e-mail and name
    -- are copied, so the ledger still names a person whose account is gone.
    actor_id    BIGINT,
    actor_email TEXT,
    actor_name  TEXT NOT NULL,
    note        TEXT CONSTRAINT deposit_events_note_check CHECK (length(note) <= 400),
    at          TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX deposit_events_rental_idx ON deposit_events (rental_id, id);
CREATE INDEX deposit_events_at_idx ON deposit_events (at);

-- The marks of rows from before become ledger entries.
INSERT INTO deposit_events (rental_id, operation, from_state, to_state, amount, actor_id, actor_email, actor_name, at)
SELECT r.id, 'confirm_payment', 'awaiting_payment', 'paid', r.deposit_amount, r.paid_by, u.email, u.name, r.paid_at
FROM rentals r JOIN users u ON u.id = r.paid_by WHERE r.paid_at IS NOT NULL;
INSERT INTO deposit_events (rental_id, operation, from_state, to_state, amount, actor_id, actor_email, actor_name, at)
SELECT r.id, 'refund', 'refund_due', 'refunded', r.deposit_amount, r.refunded_by, u.email, u.name, r.refunded_at
FROM rentals r JOIN users u ON u.id = r.refunded_by WHERE r.refunded_at IS NOT NULL;
-- A paid deposit of a rental closed as lost was kept: the ledger says so, so the books
-- balance (held = received - refunded - kept) from the first day.
INSERT INTO deposit_events (rental_id, operation, from_state, to_state, amount, actor_id, actor_email, actor_name, at)
SELECT r.id, 'lose', 'paid', 'forfeited', r.deposit_amount, r.closed_by, u.email, coalesce(u.name, '시스템'), r.returned_at
FROM rentals r LEFT JOIN users u ON u.id = r.closed_by WHERE r.deposit_state = 'forfeited';

-- Every state change an operator makes: who (id, and the e-mail and name they had at
-- that moment), when, from which address, what, and what changed.
CREATE TABLE operator_actions (
    id          BIGSERIAL PRIMARY KEY,
    at          TIMESTAMPTZ NOT NULL DEFAULT now(),
    -- No foreign key: the entry outlives the account. NULL: the `was admin` command.
    actor_id    BIGINT,
    actor_email TEXT,
    actor_name  TEXT NOT NULL,
    address     TEXT,
    action      TEXT NOT NULL,
    target_kind TEXT NOT NULL,
    target_id   BIGINT,
    details     JSONB NOT NULL DEFAULT '{}'
);
CREATE INDEX operator_actions_at_idx ON operator_actions (id DESC);
CREATE INDEX operator_actions_actor_idx ON operator_actions (actor_id, id DESC);
CREATE INDEX operator_actions_target_idx ON operator_actions (target_kind, target_id, id DESC);

-- The reads of refund accounts logged so far move into the log.
INSERT INTO operator_actions (at, actor_id, actor_email, actor_name, action, target_kind, target_id)
SELECT v.viewed_at, v.admin_id, u.email, u.name, 'bank_account.read', 'rental', v.rental_id
FROM account_views v JOIN users u ON u.id = v.admin_id ORDER BY v.id;

-- Append-only, whoever asks: `was migrate` also revokes UPDATE, DELETE and TRUNCATE from
-- the application's role, and this trigger refuses them even to the owner, so an entry
-- cannot be rewritten by a bug, an injected statement or a stolen app credential.
CREATE FUNCTION refuse_rewrite() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only', TG_TABLE_NAME USING ERRCODE = 'insufficient_privilege';
END;
$$;
CREATE TRIGGER operator_actions_append_only BEFORE UPDATE OR DELETE ON operator_actions
    FOR EACH ROW EXECUTE FUNCTION refuse_rewrite();
CREATE TRIGGER operator_actions_no_truncate BEFORE TRUNCATE ON operator_actions
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_rewrite();
CREATE TRIGGER deposit_events_append_only BEFORE UPDATE OR DELETE ON deposit_events
    FOR EACH ROW EXECUTE FUNCTION refuse_rewrite();
CREATE TRIGGER deposit_events_no_truncate BEFORE TRUNCATE ON deposit_events
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_rewrite();

-- Locker secrets sealed at rest like refund accounts (AES-256-GCM, bound to the locker's
-- id). The WAS seals the plain secrets of older rows when it starts.
ALTER TABLE lockers
    ADD COLUMN sealed_secret BYTEA,
    ALTER COLUMN secret DROP NOT NULL,
    ADD CONSTRAINT lockers_secret_sealed_check CHECK (secret IS NOT NULL OR sealed_secret IS NOT NULL);

-- A ban keeps the renter's contact details while money or an umbrella is outstanding;
-- the row is anonymised once everything is settled.
ALTER TABLE users ADD COLUMN anonymise_when_settled BOOLEAN NOT NULL DEFAULT false;

-- The view gains the new columns (new columns go last).
CREATE OR REPLACE VIEW rental_details AS
SELECT r.id, r.user_id, us.name AS user_name, us.phone AS user_phone,
       r.umbrella_id, u.number AS umbrella_number,
       r.rent_store_id, rs.name AS rent_store_name, r.rented_at,
       r.returned_at, r.return_store_id, ts.name AS return_store_name,
       r.condition_report, r.improvement_report, r.bank_name, r.bank_account,
       r.paid_at, r.refunded_at, r.closed_reason, r.closed_note,
       r.deposit_state, r.deposit_amount, r.deposit_reference, r.forfeit_reason,
       r.found_at, r.rent_verified, r.return_verified, r.locker_resynced_at
FROM rentals r
JOIN users us ON us.id = r.user_id
JOIN umbrellas u ON u.id = r.umbrella_id
JOIN stores rs ON rs.id = r.rent_store_id
LEFT JOIN stores ts ON ts.id = r.return_store_id;
