-- Every WAS replica keeps the public reads (regions, tags, a region's store markers, a
-- store, introductions) in memory (was/src/public_reads.rs). A write to any table those
-- answers are made from notifies channel `upbrella_public_reads`; each replica listens
-- and drops what it holds. PostgreSQL sends a notification when the writing transaction
-- commits (never for one rolled back) and folds identical ones of a transaction into one,
-- so a statement that changes a thousand rows sends one. Being triggers, they see every
-- writer: the API, `was admin`, a migration, an operator's psql.
--
-- Expand only: a function and triggers; nothing existing changes.

CREATE FUNCTION notify_public_read_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('upbrella_public_reads', TG_TABLE_NAME);
    RETURN NULL;
END
$$;

CREATE TRIGGER classifications_public_reads
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON classifications
    FOR EACH STATEMENT EXECUTE FUNCTION notify_public_read_change();
CREATE TRIGGER stores_public_reads
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON stores
    FOR EACH STATEMENT EXECUTE FUNCTION notify_public_read_change();
CREATE TRIGGER store_images_public_reads
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON store_images
    FOR EACH STATEMENT EXECUTE FUNCTION notify_public_read_change();
CREATE TRIGGER business_hours_public_reads
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON business_hours
    FOR EACH STATEMENT EXECUTE FUNCTION notify_public_read_change();
CREATE TRIGGER store_closures_public_reads
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON store_closures
    FOR EACH STATEMENT EXECUTE FUNCTION notify_public_read_change();
-- A locker's counter moves on every opening; only where it stands shows.
CREATE TRIGGER lockers_public_reads
    AFTER INSERT OR DELETE OR TRUNCATE OR UPDATE OF store_id ON lockers
    FOR EACH STATEMENT EXECUTE FUNCTION notify_public_read_change();
CREATE TRIGGER umbrellas_public_reads
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON umbrellas
    FOR EACH STATEMENT EXECUTE FUNCTION notify_public_read_change();
-- Rentals matter only where an umbrella becomes rentable or stops being: a rental opened,
-- closed or removed. Payments and refunds do not notify.
CREATE TRIGGER rentals_public_reads
    AFTER INSERT OR DELETE OR TRUNCATE OR UPDATE OF umbrella_id, returned_at ON rentals
    FOR EACH STATEMENT EXECUTE FUNCTION notify_public_read_change();
