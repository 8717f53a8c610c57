-- equity311 schema, version 20: a duplicate link names its ticket's number.
--
-- The analyses matched the links to their tickets on (city, ticket_id),
-- two strings: at 40M requests, leaving the duplicates out of the
-- reporting rates' incidents was an anti join of 39.5M tickets with 6.1M
-- links on them, 20 s of CPU. ticket_no is the linked ticket's
-- tickets.ticket_no; both writers set it (a load from the version it
-- writes, match-duplicates from the stored ticket). The key stays (city,
-- ticket_id), kept by the writers (migration 18).
CREATE TABLE duplicates_v20 (
    city      VARCHAR NOT NULL,
    ticket_id VARCHAR NOT NULL,
    parent_id VARCHAR,
    basis     VARCHAR NOT NULL,  -- reported, text or matched
    pattern   VARCHAR,           -- for text: the phrase that matched
    source_id INTEGER NOT NULL,
    ticket_no BIGINT             -- the linked ticket's tickets.ticket_no
);
INSERT INTO duplicates_v20
    SELECT d.*, t.ticket_no FROM duplicates d LEFT JOIN tickets t ON t.city = d.city AND t.ticket_id = d.ticket_id;
DROP VIEW duplicate_links;
DROP TABLE duplicates;
ALTER TABLE duplicates_v20 RENAME TO duplicates;
CREATE VIEW duplicate_links AS
SELECT d.*, EXISTS (SELECT 1 FROM tickets p WHERE p.city = d.city AND p.ticket_id = d.parent_id) AS parent_loaded
FROM duplicates d;
