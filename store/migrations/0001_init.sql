-- equity311 schema, version 1: the tables of DESIGN.md §4.

CREATE SEQUENCE source_id_seq START 1;

-- Every file or feed loaded.
CREATE TABLE sources (
    source_id       INTEGER PRIMARY KEY,
    kind            VARCHAR NOT NULL,   -- dump, boundaries, census, open311, ckan, socrata
    name            VARCHAR NOT NULL,   -- file path or endpoint
    profile         VARCHAR,            -- dump profile or layer name
    city            VARCHAR,
    checksum        VARCHAR,            -- sha256 of the file's bytes
    rows_read       BIGINT NOT NULL DEFAULT 0,
    rows_loaded     BIGINT NOT NULL DEFAULT 0,
    rows_rejected   BIGINT NOT NULL DEFAULT 0,
    rows_excluded   BIGINT NOT NULL DEFAULT 0,   -- rows the profile says are not service requests
    rows_superseded BIGINT NOT NULL DEFAULT 0,   -- duplicate ids inside the file, older versions
    loaded_at       TIMESTAMPTZ NOT NULL
);

-- One row per request per city.
CREATE TABLE tickets (
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
    geo_quality        VARCHAR,         -- NULL until assign has placed a ticket with coordinates
    source_id          INTEGER NOT NULL,
    PRIMARY KEY (city, ticket_id)
);

-- Every input row that did not load.
CREATE TABLE rejects (
    source_id INTEGER NOT NULL,
    line      BIGINT,                   -- 1-based line of the file where the row starts
    field     VARCHAR,                  -- the field at fault, when one is
    reason    VARCHAR NOT NULL,
    raw       VARCHAR
);

-- Polygon layers (neighborhoods, tracts, ...).
CREATE TABLE layers (
    layer     VARCHAR PRIMARY KEY,
    source_id INTEGER NOT NULL,
    id_prop   VARCHAR,
    name_prop VARCHAR,
    areas     INTEGER NOT NULL,
    loaded_at TIMESTAMPTZ NOT NULL
);

-- One polygon or multipolygon per area; geometry is WKB in WGS84 lon/lat.
CREATE TABLE areas (
    layer    VARCHAR NOT NULL,
    area_id  VARCHAR NOT NULL,
    name     VARCHAR,
    area_m2  DOUBLE,
    geometry BLOB NOT NULL,
    PRIMARY KEY (layer, area_id)
);

-- The area of each layer a ticket falls in.
CREATE TABLE ticket_areas (
    city      VARCHAR NOT NULL,
    ticket_id VARCHAR NOT NULL,
    layer     VARCHAR NOT NULL,
    area_id   VARCHAR NOT NULL,
    basis     VARCHAR NOT NULL,         -- point: the point lies in the polygon
    PRIMARY KEY (city, ticket_id, layer)
);

-- Census estimates per area, with margins of error (90%, as the ACS publishes them).
CREATE TABLE demographics (
    layer    VARCHAR NOT NULL,
    area_id  VARCHAR NOT NULL,
    variable VARCHAR NOT NULL,
    estimate DOUBLE,
    moe      DOUBLE,
    vintage  VARCHAR NOT NULL DEFAULT '',
    PRIMARY KEY (layer, area_id, variable, vintage)
);

-- Overlap weights from one layer to another: the share of from_id's area in to_id.
CREATE TABLE crosswalk (
    from_layer VARCHAR NOT NULL,
    from_id    VARCHAR NOT NULL,
    to_layer   VARCHAR NOT NULL,
    to_id      VARCHAR NOT NULL,
    weight     DOUBLE NOT NULL,
    PRIMARY KEY (from_layer, from_id, to_layer, to_id)
);
