-- Stored idempotent responses expire (IDEMPOTENCY_TTL): the sweep deletes by age.
CREATE INDEX idempotency_keys_created_at_idx ON idempotency_keys (created_at);
