-- equity311 schema, version 18: duplicates without an ART index.
--
-- Its key stays (city, ticket_id), kept by its two writers as migration 3
-- keeps the tickets': a load replaces the links of the ids it loads, each
-- once, and matching adds only links of requests that have none. The
-- PRIMARY KEY index made storing the 1.5M links of a 10M-request city take
-- 4.8 s instead of 1.0 s. Tests check that the key stays unique.
CREATE TABLE duplicates_v18 (
    city      VARCHAR NOT NULL,
    ticket_id VARCHAR NOT NULL,
    parent_id VARCHAR,
    basis     VARCHAR NOT NULL,  -- reported, text or matched
    pattern   VARCHAR,           -- for text: the phrase that matched
    source_id INTEGER NOT NULL
);
INSERT INTO duplicates_v18 SELECT * FROM duplicates;
DROP VIEW duplicate_links;
DROP TABLE duplicates;
ALTER TABLE duplicates_v18 RENAME TO duplicates;
CREATE VIEW duplicate_links AS
SELECT d.*, EXISTS (SELECT 1 FROM tickets p WHERE p.city = d.city AND p.ticket_id = d.parent_id) AS parent_loaded
FROM duplicates d;
