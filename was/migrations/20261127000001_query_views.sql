-- Shapes that several queries share, defined once in the schema so that every query is a
-- fixed string the compiler checks (no SQL is assembled at run time). PostgreSQL
-- flattens simple views into the query that uses them: they cost nothing at run time.

-- Umbrellas with what they are doing now. `rented`: in an open rental. `available`: can
-- be rented this moment (in service, marked rentable, not missing, not rented).
CREATE VIEW umbrella_states AS
SELECT u.id, u.store_id, u.number, u.rentable, u.missed, u.deleted, u.note, u.created_at,
       o.umbrella_id IS NOT NULL AS rented,
       u.rentable AND NOT u.missed AND NOT u.deleted AND o.umbrella_id IS NULL AS available
FROM umbrellas u
LEFT JOIN rentals o ON o.umbrella_id = u.id AND o.returned_at IS NULL;

-- Rentals with the names people read beside the ids: the renter, the umbrella's number,
-- the stores rented at and returned to.
CREATE VIEW rental_details AS
SELECT r.id, r.user_id, us.name AS user_name, us.phone AS user_phone,
       r.umbrella_id, u.number AS umbrella_number,
       r.rent_store_id, rs.name AS rent_store_name, r.rented_at,
       r.returned_at, r.return_store_id, ts.name AS return_store_name,
       r.condition_report, r.improvement_report, r.bank_name, r.bank_account,
       r.paid_at, r.refunded_at
FROM rentals r
JOIN users us ON us.id = r.user_id
JOIN umbrellas u ON u.id = r.umbrella_id
JOIN stores rs ON rs.id = r.rent_store_id
LEFT JOIN stores ts ON ts.id = r.return_store_id;
