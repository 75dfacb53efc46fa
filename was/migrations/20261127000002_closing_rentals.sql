-- A rental that cannot end with a return (the umbrella is lost, or staff took it back)
-- is closed by an admin with a reason, so the renter can rent again. Expand only: the
-- columns are new, and rows written by older binaries satisfy the new checks.
ALTER TABLE rentals
    ADD COLUMN closed_reason TEXT
        CONSTRAINT rentals_closed_reason_check CHECK (closed_reason IN ('lost', 'returned_by_staff')),
    ADD COLUMN closed_note TEXT
        CONSTRAINT rentals_closed_note_check CHECK (length(closed_note) <= 400),
    ADD COLUMN closed_by BIGINT REFERENCES users (id),
    ADD CONSTRAINT rentals_closed_by_check CHECK ((closed_reason IS NULL) = (closed_by IS NULL));

-- Returned means a return store, except for a lost umbrella; an open rental has neither a
-- return nor a closing.
ALTER TABLE rentals DROP CONSTRAINT rentals_return_pair_check;
ALTER TABLE rentals ADD CONSTRAINT rentals_return_pair_check CHECK (
    (returned_at IS NULL AND return_store_id IS NULL AND closed_reason IS NULL)
    OR (returned_at IS NOT NULL AND (return_store_id IS NOT NULL OR closed_reason = 'lost'))
);

-- The view gains the closing (new columns go last, as CREATE OR REPLACE VIEW requires).
CREATE OR REPLACE VIEW rental_details AS
SELECT r.id, r.user_id, us.name AS user_name, us.phone AS user_phone,
       r.umbrella_id, u.number AS umbrella_number,
       r.rent_store_id, rs.name AS rent_store_name, r.rented_at,
       r.returned_at, r.return_store_id, ts.name AS return_store_name,
       r.condition_report, r.improvement_report, r.bank_name, r.bank_account,
       r.paid_at, r.refunded_at, r.closed_reason, r.closed_note
FROM rentals r
JOIN users us ON us.id = r.user_id
JOIN umbrellas u ON u.id = r.umbrella_id
JOIN stores rs ON rs.id = r.rent_store_id
LEFT JOIN stores ts ON ts.id = r.return_store_id;
