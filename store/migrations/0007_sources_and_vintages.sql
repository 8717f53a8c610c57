-- equity311 schema, version 7: census values kept per source file, what
-- each source can record, and the options a file was loaded with.

-- The options that change what a load writes (profile and city of a dump;
-- layer, key column and vintage of a census table; id, name and CRS of a
-- boundary file), as text: loading the same file again with other
-- options is refused unless forced.
ALTER TABLE sources ADD COLUMN options VARCHAR DEFAULT '';
-- The canonical channels a source's vocabulary can record, space-separated
-- (dumps and feeds); app and digital shares use only requests from sources
-- that can record the app.
ALTER TABLE sources ADD COLUMN channels VARCHAR;
ALTER TABLE sources ADD COLUMN records_app BOOLEAN;
-- Tickets of this load that were already in the store from another source
-- (the most recent version of each was kept).
ALTER TABLE sources ADD COLUMN rows_merged BIGINT DEFAULT 0;

-- Census estimates per area and per source file: a file never overwrites
-- another's values; analysis picks, per variable, the source its rule says
-- (see the README's "Geography and census").
CREATE TABLE demographics_v7 (
    layer     VARCHAR NOT NULL,
    area_id   VARCHAR NOT NULL,
    variable  VARCHAR NOT NULL,
    estimate  DOUBLE,
    moe       DOUBLE,
    vintage   VARCHAR NOT NULL DEFAULT '',
    source_id INTEGER NOT NULL,   -- the census file (sources.source_id)
    measure   VARCHAR NOT NULL,   -- the file's own variable the value is (for a derived variable, what it was derived from)
    PRIMARY KEY (layer, area_id, variable, source_id)
);
INSERT INTO demographics_v7
SELECT d.layer, d.area_id, d.variable, d.estimate, d.moe, d.vintage,
    coalesce((SELECT max(s.source_id) FROM sources s WHERE s.kind = 'census' AND s.profile = d.layer), 0),
    d.variable
FROM demographics d;
DROP TABLE demographics;
ALTER TABLE demographics_v7 RENAME TO demographics;
