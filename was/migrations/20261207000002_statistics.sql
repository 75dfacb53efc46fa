-- Statistics over time, store stock alerts and the monthly per-store report.
--
-- Expand only: two columns with defaults, a check they satisfy, and indexes.

-- How many rentable umbrellas a store should have: at or below `stock_low` it is running
-- out (none at all: empty), above `stock_high` umbrellas are piling up there and should be
-- moved. The defaults suit a café counter.
ALTER TABLE stores
    ADD COLUMN stock_low INT NOT NULL DEFAULT 1,
    ADD COLUMN stock_high INT NOT NULL DEFAULT 30,
    ADD CONSTRAINT stores_stock_thresholds_check CHECK (0 <= stock_low AND stock_low < stock_high);

-- The statistics and the monthly report count rentals by when they were rented and when
-- they ended, per store; without these every chart reads the whole table.
CREATE INDEX rentals_rent_store_rented_at_idx ON rentals (rent_store_id, rented_at);
CREATE INDEX rentals_rented_at_idx ON rentals (rented_at);
CREATE INDEX rentals_returned_at_idx ON rentals (returned_at) WHERE returned_at IS NOT NULL;
CREATE INDEX rentals_return_store_returned_at_idx ON rentals (return_store_id, returned_at)
    WHERE return_store_id IS NOT NULL;
