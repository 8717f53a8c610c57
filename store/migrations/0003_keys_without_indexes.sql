-- equity311 schema, version 3: tickets and ticket_areas without ART indexes.
--
-- Their keys stay (city, ticket_id) and (city, ticket_id, layer), but the
-- loaders enforce them (one writer, dedupe, then delete-and-insert in one
-- transaction) instead of a PRIMARY KEY index: on 1M tickets DuckDB's index
-- made an insert 2.6 times and a delete 80 times slower, and at 10M it kept
-- the whole index in memory. Tests check that keys stay unique.

CREATE TABLE tickets_v3 (
    city               VARCHAR NOT NULL,
    ticket_id          VARCHAR NOT NULL,
    opened_at          TIMESTAMPTZ NOT NULL,
    closed_at          TIMESTAMPTZ,
    updated_at         TIMESTAMPTZ,
    status             VARCHAR,
    service_code       VARCHAR,
    service_name       VARCHAR,
    department         VARCHAR,
    channel_raw        VARCHAR,
    channel            VARCHAR NOT NULL,
    channel_basis      VARCHAR NOT NULL,
    resident_initiated BOOLEAN,
    lat                DOUBLE,
    lon                DOUBLE,
    geo_quality        VARCHAR,
    source_id          INTEGER NOT NULL
);
INSERT INTO tickets_v3 SELECT * FROM tickets;
DROP TABLE tickets;
ALTER TABLE tickets_v3 RENAME TO tickets;

CREATE TABLE ticket_areas_v3 (
    city      VARCHAR NOT NULL,
    ticket_id VARCHAR NOT NULL,
    layer     VARCHAR NOT NULL,
    area_id   VARCHAR NOT NULL,
    basis     VARCHAR NOT NULL
);
INSERT INTO ticket_areas_v3 SELECT * FROM ticket_areas;
DROP TABLE ticket_areas;
ALTER TABLE ticket_areas_v3 RENAME TO ticket_areas;
