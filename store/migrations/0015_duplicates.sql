-- equity311 schema, version 15: duplicate reports as data. A request a
-- city marked as a duplicate of another, with the parent it names:
-- basis 'reported' when the source has its own columns for it (Chicago's
-- duplicate and parent_sr_number), 'text' when it was read from a closure
-- reason (Boston's "Duplicate of Existing Case", "Case #101004289150 is
-- open"), with the phrase that matched in pattern. parent_id is NULL when
-- the text names no case. A parent that is not loaded is kept: the
-- duplicate_links view says whether it is.
CREATE TABLE duplicates (
    city      VARCHAR NOT NULL,
    ticket_id VARCHAR NOT NULL,
    parent_id VARCHAR,
    basis     VARCHAR NOT NULL,  -- reported, text (matched: later)
    pattern   VARCHAR,           -- for text: the phrase that matched
    source_id INTEGER NOT NULL,
    PRIMARY KEY (city, ticket_id)
);

CREATE VIEW duplicate_links AS
SELECT d.*, EXISTS (SELECT 1 FROM tickets p WHERE p.city = d.city AND p.ticket_id = d.parent_id) AS parent_loaded
FROM duplicates d;
