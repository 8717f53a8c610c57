-- equity311 schema, version 19: a ticket's places are one row, a place set.
--
-- A ticket had one row of ticket_places per layer, so every analysis
-- joined its N requests with 2N places (11M requests with 22.6M places at
-- the 10M bench city: about a second of each analysis query). Tickets share
-- few combinations of places (182 at that city, one per tract), so a
-- ticket now names its combination, its place set: ticket_place_sets
-- (ticket_no, set_no), one row per placed ticket, and place_sets (set_no,
-- area_no, basis), one row per area of each set. An analysis joins its
-- requests with N rows once and reads the areas from the few sets.
-- ticket_places stays as a view with its columns of version 17, and
-- ticket_areas as the view of version 17 over it.
--
-- The sets are numbered here in the order of their places; assign numbers
-- new sets after the largest stored (store.PlaceSets).
CREATE TABLE place_sets (
    set_no  INTEGER NOT NULL,
    area_no INTEGER NOT NULL,
    basis   place_basis NOT NULL
);
CREATE TABLE ticket_place_sets (
    ticket_no BIGINT NOT NULL,
    set_no    INTEGER NOT NULL
);

-- Each ticket's places as one list, a 64th of the tickets at a time: in one
-- query the lists of 11M tickets did not fit DuckDB's 1GB cap.
CREATE TABLE migrate_place_keys (ticket_no BIGINT, places STRUCT(area_no INTEGER, basis place_basis)[]);
INSERT INTO migrate_place_keys SELECT ticket_no, list({'area_no': area_no, 'basis': basis} ORDER BY area_no) FROM ticket_places WHERE ticket_no % 64 = 0 GROUP BY ticket_no;
INSERT INTO migrate_place_keys SELECT ticket_no, list({'area_no': area_no, 'basis': basis} ORDER BY area_no) FROM ticket_places WHERE ticket_no % 64 = 1 GROUP BY ticket_no;
INSERT INTO migrate_place_keys SELECT ticket_no, list({'area_no': area_no, 'basis': basis} ORDER BY area_no) FROM ticket_places WHERE ticket_no % 64 = 2 GROUP BY ticket_no;
INSERT INTO migrate_place_keys SELECT ticket_no, list({'area_no': area_no, 'basis': basis} ORDER BY area_no) FROM ticket_places WHERE ticket_no % 64 = 3 GROUP BY ticket_no;
INSERT INTO migrate_place_keys SELECT ticket_no, list({'area_no': area_no, 'basis': basis} ORDER BY area_no) FROM ticket_places WHERE ticket_no % 64 = 4 GROUP BY ticket_no;
INSERT INTO migrate_place_keys SELECT ticket_no, list({'area_no': area_no, 'basis': basis} ORDER BY area_no) FROM ticket_places WHERE ticket_no % 64 = 5 GROUP BY ticket_no;
INSERT INTO migrate_place_keys SELECT ticket_no, list({'area_no': area_no, 'basis': basis} ORDER BY area_no) FROM ticket_places WHERE ticket_no % 64 = 6 GROUP BY ticket_no;
INSERT INTO migrate_place_keys SELECT ticket_no, list({'area_no': area_no, 'basis': basis} ORDER BY area_no) FROM ticket_places WHERE ticket_no % 64 = 7 GROUP BY ticket_no;
INSERT INTO migrate_place_keys SELECT ticket_no, list({'area_no': area_no, 'basis': basis} ORDER BY area_no) FROM ticket_places WHERE ticket_no % 64 = 8 GROUP BY ticket_no;
INSERT INTO migrate_place_keys SELECT ticket_no, list({'area_no': area_no, 'basis': basis} ORDER BY area_no) FROM ticket_places WHERE ticket_no % 64 = 9 GROUP BY ticket_no;
INSERT INTO migrate_place_keys SELECT ticket_no, list({'area_no': area_no, 'basis': basis} ORDER BY area_no) FROM ticket_places WHERE ticket_no % 64 = 10 GROUP BY ticket_no;
INSERT INTO migrate_place_keys SELECT ticket_no, list({'area_no': area_no, 'basis': basis} ORDER BY area_no) FROM ticket_places WHERE ticket_no % 64 = 11 GROUP BY ticket_no;
INSERT INTO migrate_place_keys SELECT ticket_no, list({'area_no': area_no, 'basis': basis} ORDER BY area_no) FROM ticket_places WHERE ticket_no % 64 = 12 GROUP BY ticket_no;
INSERT INTO migrate_place_keys SELECT ticket_no, list({'area_no': area_no, 'basis': basis} ORDER BY area_no) FROM ticket_places WHERE ticket_no % 64 = 13 GROUP BY ticket_no;
INSERT INTO migrate_place_keys SELECT ticket_no, list({'area_no': area_no, 'basis': basis} ORDER BY area_no) FROM ticket_places WHERE ticket_no % 64 = 14 GROUP BY ticket_no;
INSERT INTO migrate_place_keys SELECT ticket_no, list({'area_no': area_no, 'basis': basis} ORDER BY area_no) FROM ticket_places WHERE ticket_no % 64 = 15 GROUP BY ticket_no;
INSERT INTO migrate_place_keys SELECT ticket_no, list({'area_no': area_no, 'basis': basis} ORDER BY area_no) FROM ticket_places WHERE ticket_no % 64 = 16 GROUP BY ticket_no;
INSERT INTO migrate_place_keys SELECT ticket_no, list({'area_no': area_no, 'basis': basis} ORDER BY area_no) FROM ticket_places WHERE ticket_no % 64 = 17 GROUP BY ticket_no;
INSERT INTO migrate_place_keys SELECT ticket_no, list({'area_no': area_no, 'basis': basis} ORDER BY area_no) FROM ticket_places WHERE ticket_no % 64 = 18 GROUP BY ticket_no;
INSERT INTO migrate_place_keys SELECT ticket_no, list({'area_no': area_no, 'basis': basis} ORDER BY area_no) FROM ticket_places WHERE ticket_no % 64 = 19 GROUP BY ticket_no;
INSERT INTO migrate_place_keys SELECT ticket_no, list({'area_no': area_no, 'basis': basis} ORDER BY area_no) FROM ticket_places WHERE ticket_no % 64 = 20 GROUP BY ticket_no;
INSERT INTO migrate_place_keys SELECT ticket_no, list({'area_no': area_no, 'basis': basis} ORDER BY area_no) FROM ticket_places WHERE ticket_no % 64 = 21 GROUP BY ticket_no;
INSERT INTO migrate_place_keys SELECT ticket_no, list({'area_no': area_no, 'basis': basis} ORDER BY area_no) FROM ticket_places WHERE ticket_no % 64 = 22 GROUP BY ticket_no;
INSERT INTO migrate_place_keys SELECT ticket_no, list({'area_no': area_no, 'basis': basis} ORDER BY area_no) FROM ticket_places WHERE ticket_no % 64 = 23 GROUP BY ticket_no;
INSERT INTO migrate_place_keys SELECT ticket_no, list({'area_no': area_no, 'basis': basis} ORDER BY area_no) FROM ticket_places WHERE ticket_no % 64 = 24 GROUP BY ticket_no;
INSERT INTO migrate_place_keys SELECT ticket_no, list({'area_no': area_no, 'basis': basis} ORDER BY area_no) FROM ticket_places WHERE ticket_no % 64 = 25 GROUP BY ticket_no;
INSERT INTO migrate_place_keys SELECT ticket_no, list({'area_no': area_no, 'basis': basis} ORDER BY area_no) FROM ticket_places WHERE ticket_no % 64 = 26 GROUP BY ticket_no;
INSERT INTO migrate_place_keys SELECT ticket_no, list({'area_no': area_no, 'basis': basis} ORDER BY area_no) FROM ticket_places WHERE ticket_no % 64 = 27 GROUP BY ticket_no;
INSERT INTO migrate_place_keys SELECT ticket_no, list({'area_no': area_no, 'basis': basis} ORDER BY area_no) FROM ticket_places WHERE ticket_no % 64 = 28 GROUP BY ticket_no;
INSERT INTO migrate_place_keys SELECT ticket_no, list({'area_no': area_no, 'basis': basis} ORDER BY area_no) FROM ticket_places WHERE ticket_no % 64 = 29 GROUP BY ticket_no;
INSERT INTO migrate_place_keys SELECT ticket_no, list({'area_no': area_no, 'basis': basis} ORDER BY area_no) FROM ticket_places WHERE ticket_no % 64 = 30 GROUP BY ticket_no;
INSERT INTO migrate_place_keys SELECT ticket_no, list({'area_no': area_no, 'basis': basis} ORDER BY area_no) FROM ticket_places WHERE ticket_no % 64 = 31 GROUP BY ticket_no;
INSERT INTO migrate_place_keys SELECT ticket_no, list({'area_no': area_no, 'basis': basis} ORDER BY area_no) FROM ticket_places WHERE ticket_no % 64 = 32 GROUP BY ticket_no;
INSERT INTO migrate_place_keys SELECT ticket_no, list({'area_no': area_no, 'basis': basis} ORDER BY area_no) FROM ticket_places WHERE ticket_no % 64 = 33 GROUP BY ticket_no;
INSERT INTO migrate_place_keys SELECT ticket_no, list({'area_no': area_no, 'basis': basis} ORDER BY area_no) FROM ticket_places WHERE ticket_no % 64 = 34 GROUP BY ticket_no;
INSERT INTO migrate_place_keys SELECT ticket_no, list({'area_no': area_no, 'basis': basis} ORDER BY area_no) FROM ticket_places WHERE ticket_no % 64 = 35 GROUP BY ticket_no;
INSERT INTO migrate_place_keys SELECT ticket_no, list({'area_no': area_no, 'basis': basis} ORDER BY area_no) FROM ticket_places WHERE ticket_no % 64 = 36 GROUP BY ticket_no;
INSERT INTO migrate_place_keys SELECT ticket_no, list({'area_no': area_no, 'basis': basis} ORDER BY area_no) FROM ticket_places WHERE ticket_no % 64 = 37 GROUP BY ticket_no;
INSERT INTO migrate_place_keys SELECT ticket_no, list({'area_no': area_no, 'basis': basis} ORDER BY area_no) FROM ticket_places WHERE ticket_no % 64 = 38 GROUP BY ticket_no;
INSERT INTO migrate_place_keys SELECT ticket_no, list({'area_no': area_no, 'basis': basis} ORDER BY area_no) FROM ticket_places WHERE ticket_no % 64 = 39 GROUP BY ticket_no;
INSERT INTO migrate_place_keys SELECT ticket_no, list({'area_no': area_no, 'basis': basis} ORDER BY area_no) FROM ticket_places WHERE ticket_no % 64 = 40 GROUP BY ticket_no;
INSERT INTO migrate_place_keys SELECT ticket_no, list({'area_no': area_no, 'basis': basis} ORDER BY area_no) FROM ticket_places WHERE ticket_no % 64 = 41 GROUP BY ticket_no;
INSERT INTO migrate_place_keys SELECT ticket_no, list({'area_no': area_no, 'basis': basis} ORDER BY area_no) FROM ticket_places WHERE ticket_no % 64 = 42 GROUP BY ticket_no;
INSERT INTO migrate_place_keys SELECT ticket_no, list({'area_no': area_no, 'basis': basis} ORDER BY area_no) FROM ticket_places WHERE ticket_no % 64 = 43 GROUP BY ticket_no;
INSERT INTO migrate_place_keys SELECT ticket_no, list({'area_no': area_no, 'basis': basis} ORDER BY area_no) FROM ticket_places WHERE ticket_no % 64 = 44 GROUP BY ticket_no;
INSERT INTO migrate_place_keys SELECT ticket_no, list({'area_no': area_no, 'basis': basis} ORDER BY area_no) FROM ticket_places WHERE ticket_no % 64 = 45 GROUP BY ticket_no;
INSERT INTO migrate_place_keys SELECT ticket_no, list({'area_no': area_no, 'basis': basis} ORDER BY area_no) FROM ticket_places WHERE ticket_no % 64 = 46 GROUP BY ticket_no;
INSERT INTO migrate_place_keys SELECT ticket_no, list({'area_no': area_no, 'basis': basis} ORDER BY area_no) FROM ticket_places WHERE ticket_no % 64 = 47 GROUP BY ticket_no;
INSERT INTO migrate_place_keys SELECT ticket_no, list({'area_no': area_no, 'basis': basis} ORDER BY area_no) FROM ticket_places WHERE ticket_no % 64 = 48 GROUP BY ticket_no;
INSERT INTO migrate_place_keys SELECT ticket_no, list({'area_no': area_no, 'basis': basis} ORDER BY area_no) FROM ticket_places WHERE ticket_no % 64 = 49 GROUP BY ticket_no;
INSERT INTO migrate_place_keys SELECT ticket_no, list({'area_no': area_no, 'basis': basis} ORDER BY area_no) FROM ticket_places WHERE ticket_no % 64 = 50 GROUP BY ticket_no;
INSERT INTO migrate_place_keys SELECT ticket_no, list({'area_no': area_no, 'basis': basis} ORDER BY area_no) FROM ticket_places WHERE ticket_no % 64 = 51 GROUP BY ticket_no;
INSERT INTO migrate_place_keys SELECT ticket_no, list({'area_no': area_no, 'basis': basis} ORDER BY area_no) FROM ticket_places WHERE ticket_no % 64 = 52 GROUP BY ticket_no;
INSERT INTO migrate_place_keys SELECT ticket_no, list({'area_no': area_no, 'basis': basis} ORDER BY area_no) FROM ticket_places WHERE ticket_no % 64 = 53 GROUP BY ticket_no;
INSERT INTO migrate_place_keys SELECT ticket_no, list({'area_no': area_no, 'basis': basis} ORDER BY area_no) FROM ticket_places WHERE ticket_no % 64 = 54 GROUP BY ticket_no;
INSERT INTO migrate_place_keys SELECT ticket_no, list({'area_no': area_no, 'basis': basis} ORDER BY area_no) FROM ticket_places WHERE ticket_no % 64 = 55 GROUP BY ticket_no;
INSERT INTO migrate_place_keys SELECT ticket_no, list({'area_no': area_no, 'basis': basis} ORDER BY area_no) FROM ticket_places WHERE ticket_no % 64 = 56 GROUP BY ticket_no;
INSERT INTO migrate_place_keys SELECT ticket_no, list({'area_no': area_no, 'basis': basis} ORDER BY area_no) FROM ticket_places WHERE ticket_no % 64 = 57 GROUP BY ticket_no;
INSERT INTO migrate_place_keys SELECT ticket_no, list({'area_no': area_no, 'basis': basis} ORDER BY area_no) FROM ticket_places WHERE ticket_no % 64 = 58 GROUP BY ticket_no;
INSERT INTO migrate_place_keys SELECT ticket_no, list({'area_no': area_no, 'basis': basis} ORDER BY area_no) FROM ticket_places WHERE ticket_no % 64 = 59 GROUP BY ticket_no;
INSERT INTO migrate_place_keys SELECT ticket_no, list({'area_no': area_no, 'basis': basis} ORDER BY area_no) FROM ticket_places WHERE ticket_no % 64 = 60 GROUP BY ticket_no;
INSERT INTO migrate_place_keys SELECT ticket_no, list({'area_no': area_no, 'basis': basis} ORDER BY area_no) FROM ticket_places WHERE ticket_no % 64 = 61 GROUP BY ticket_no;
INSERT INTO migrate_place_keys SELECT ticket_no, list({'area_no': area_no, 'basis': basis} ORDER BY area_no) FROM ticket_places WHERE ticket_no % 64 = 62 GROUP BY ticket_no;
INSERT INTO migrate_place_keys SELECT ticket_no, list({'area_no': area_no, 'basis': basis} ORDER BY area_no) FROM ticket_places WHERE ticket_no % 64 = 63 GROUP BY ticket_no;
CREATE TABLE migrate_place_sets AS
    SELECT (row_number() OVER (ORDER BY places))::INTEGER AS set_no, places
    FROM (SELECT DISTINCT places FROM migrate_place_keys);
INSERT INTO place_sets
    SELECT set_no, p.area_no, p.basis FROM (SELECT set_no, unnest(places) AS p FROM migrate_place_sets);
INSERT INTO ticket_place_sets
    SELECT k.ticket_no, s.set_no FROM migrate_place_keys k JOIN migrate_place_sets s USING (places);
DROP TABLE migrate_place_keys;
DROP TABLE migrate_place_sets;

DROP VIEW ticket_areas;
DROP TABLE ticket_places;
CREATE VIEW ticket_places AS
    SELECT t.ticket_no, s.area_no, s.basis
    FROM ticket_place_sets t JOIN place_sets s USING (set_no);
CREATE VIEW ticket_areas AS
    SELECT t.city, t.ticket_id, a.layer, a.area_id, p.basis::VARCHAR AS basis
    FROM ticket_places p
    JOIN tickets t ON t.ticket_no = p.ticket_no
    JOIN areas a ON a.area_no = p.area_no;
