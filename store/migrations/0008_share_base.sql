-- equity311 schema, version 8: shares over the sources that can record the
-- app, annual rates, and how each period was chosen.

-- Resident requests from sources whose channel vocabulary can record the
-- app: the denominator of app_share and digital_share (app and digital
-- count only those sources' requests too). Rates per 1,000 use every
-- resident request.
ALTER TABLE analysis_area_metrics ADD COLUMN share_base BIGINT;

-- How the period was chosen ("requested", or the default "last 52
-- complete weeks of the data"), and its length in years: rates are per
-- 1,000 residents per year.
ALTER TABLE analysis_runs ADD COLUMN period_basis VARCHAR;
ALTER TABLE analysis_runs ADD COLUMN years DOUBLE;

-- Resident and other requests of a period by source and channel: what each
-- source contributes, and whether it can record the app.
CREATE TABLE analysis_source_channels (
    period      VARCHAR NOT NULL,
    city        VARCHAR NOT NULL,
    source_id   INTEGER NOT NULL,
    source      VARCHAR NOT NULL,   -- file or feed name
    profile     VARCHAR,
    records_app BOOLEAN,
    channel     VARCHAR NOT NULL,
    resident    BOOLEAN,            -- resident_initiated of the channel
    n           BIGINT NOT NULL,
    PRIMARY KEY (period, source_id, channel)
);
