-- Every time an admin reads a refund account in full, a row here says who, which rental
-- and when. Expand only: a new table.
CREATE TABLE account_views (
    id BIGSERIAL PRIMARY KEY,
    admin_id BIGINT NOT NULL REFERENCES users (id),
    rental_id BIGINT NOT NULL REFERENCES rentals (id),
    viewed_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX account_views_viewed_at_idx ON account_views (viewed_at DESC);
