-- equity311 schema, version 2: cities and the analysis result tables.

-- The time zone of each city's naive local times, for day and week boundaries.
CREATE TABLE cities (
    city     VARCHAR PRIMARY KEY,
    timezone VARCHAR NOT NULL
);

-- One row per analysed period.
CREATE TABLE analysis_runs (
    period      VARCHAR PRIMARY KEY,   -- "2026-W47", or "2026-01-01..2026-04-01"
    period_from TIMESTAMPTZ NOT NULL,  -- inclusive
    period_to   TIMESTAMPTZ NOT NULL,  -- exclusive
    min_count   INTEGER NOT NULL,      -- areas with fewer resident requests are flagged low_count
    computed_at TIMESTAMPTZ NOT NULL,
    tickets     BIGINT NOT NULL,
    resident    BIGINT NOT NULL
);

-- Requests by channel per area; layer 'city' holds citywide totals.
CREATE TABLE analysis_area_channels (
    period  VARCHAR NOT NULL,
    layer   VARCHAR NOT NULL,
    area_id VARCHAR NOT NULL,
    channel VARCHAR NOT NULL,
    n       BIGINT NOT NULL,
    PRIMARY KEY (period, layer, area_id, channel)
);

-- Channel-use metrics per area, resident-initiated requests only, with
-- Wilson 95% intervals for shares and exact Poisson 95% intervals for rates.
CREATE TABLE analysis_area_metrics (
    period               VARCHAR NOT NULL,
    layer                VARCHAR NOT NULL,
    area_id              VARCHAR NOT NULL,
    name                 VARCHAR,
    population           DOUBLE,     -- NULL when the layer has no population
    population_basis     VARCHAR,    -- census: the layer's own table; crosswalk: from another layer
    tickets              BIGINT NOT NULL,   -- all requests
    resident             BIGINT NOT NULL,   -- resident-initiated requests
    app                  BIGINT NOT NULL,
    digital              BIGINT NOT NULL,   -- app + web + online
    app_share            DOUBLE, app_share_lo DOUBLE, app_share_hi DOUBLE,
    digital_share        DOUBLE, digital_share_lo DOUBLE, digital_share_hi DOUBLE,
    resident_per_1000    DOUBLE, resident_per_1000_lo DOUBLE, resident_per_1000_hi DOUBLE,
    app_per_1000         DOUBLE, app_per_1000_lo DOUBLE, app_per_1000_hi DOUBLE,
    low_count            BOOLEAN NOT NULL,  -- resident < min_count: suppressed in reports
    PRIMARY KEY (period, layer, area_id)
);

-- Data-quality counts for a period (tickets by geo quality, unknown channels, ...).
CREATE TABLE analysis_quality (
    period VARCHAR NOT NULL,
    item   VARCHAR NOT NULL,
    n      BIGINT NOT NULL,
    PRIMARY KEY (period, item)
);
