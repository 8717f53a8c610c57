-- equity311 schema, version 12: claims the data support. Every analysed
-- period says which sources it used, what they are (their design) and how
-- many of its weeks they cover; app share by year; the type-and-year-
-- adjusted gap of each dimension with errors clustered by area; times to
-- close as Kaplan–Meier estimates with open cases censored; correlations
-- controlled for multiplicity; flags controlled across areas. The analysis
-- tables are derived: `analyze` fills them again.

-- Each city of an analysed period: which of its sources were used, what
-- they are, and how much of the period they cover.
CREATE TABLE analysis_cities (
    city          VARCHAR NOT NULL,
    period        VARCHAR NOT NULL,
    weeks         INTEGER NOT NULL,  -- weeks (or parts of weeks) in the period
    covered_weeks INTEGER NOT NULL,  -- weeks with requests from the app-recording sources used
    first_week    VARCHAR,           -- the first and last covered weeks
    last_week     VARCHAR,
    years         VARCHAR,           -- the calendar years with requests, e.g. "2015–2024"
    design        VARCHAR NOT NULL,  -- complete (declared by every source), assumed_complete, samples
    design_note   VARCHAR NOT NULL,  -- the same in words, naming the sources that are samples or extracts
    rates         BOOLEAN NOT NULL,  -- whether per-resident rates and volume figures were computed
    source_filter VARCHAR NOT NULL,  -- the --source / --exclude-source asked for, '' for all
    PRIMARY KEY (city, period)
);

-- Every source with requests in the period: what it is and what it covers.
CREATE TABLE analysis_sources (
    city          VARCHAR NOT NULL,
    period        VARCHAR NOT NULL,
    source_id     INTEGER NOT NULL,
    source        VARCHAR NOT NULL,
    kind          VARCHAR NOT NULL,
    profile       VARCHAR,
    records_app   BOOLEAN NOT NULL,
    used          BOOLEAN NOT NULL,  -- false when --source / --exclude-source left it out
    design        VARCHAR,           -- complete, sample, extract; NULL when neither declared nor detected
    design_basis  VARCHAR NOT NULL,  -- declared, detected, not declared
    frame         VARCHAR,
    filters       VARCHAR,           -- "status=open (detected: …); …"
    requests      BIGINT NOT NULL,
    resident      BIGINT NOT NULL,
    share_base    BIGINT NOT NULL,
    app           BIGINT NOT NULL,
    first_opened  TIMESTAMPTZ,
    last_opened   TIMESTAMPTZ,
    snapshot_at   TIMESTAMPTZ,       -- its newest time (open, update or close): when open cases were last seen open
    weeks_with_data INTEGER NOT NULL,
    PRIMARY KEY (city, period, source_id)
);

-- App share by calendar year, citywide and by group of areas.
CREATE TABLE analysis_years (
    city        VARCHAR NOT NULL,
    period      VARCHAR NOT NULL,
    layer       VARCHAR NOT NULL,   -- 'city' for the citywide rows
    grouping    VARCHAR NOT NULL,   -- city, income_quintile, majority_race, …
    group_label VARCHAR NOT NULL,
    year        INTEGER NOT NULL,
    share_base  BIGINT NOT NULL,
    app         BIGINT NOT NULL,
    app_share DOUBLE, app_share_lo DOUBLE, app_share_hi DOUBLE,
    low_count   BOOLEAN NOT NULL,
    PRIMARY KEY (city, period, layer, grouping, group_label, year)
);

-- The headline estimand of each dimension: the difference in app share
-- between its top and bottom groups of areas had both the city's own mix
-- of request types and years (a grouped logit over area × type × year
-- cells with group indicators and type and year fixed effects, its
-- predictions averaged over the city's type × year mix), in proportion
-- points, with errors clustered by area; or why it was not fitted.
CREATE TABLE analysis_adjusted_gaps (
    city          VARCHAR NOT NULL,
    period        VARCHAR NOT NULL,
    layer         VARCHAR NOT NULL,
    grouping      VARCHAR NOT NULL,
    top_label     VARCHAR NOT NULL,
    bottom_label  VARCHAR NOT NULL,
    fitted        BOOLEAN NOT NULL,
    note          VARCHAR NOT NULL,   -- how it was fitted, or why not
    top_share DOUBLE, bottom_share DOUBLE,            -- standardized shares of the two groups
    gap DOUBLE, gap_lo DOUBLE, gap_hi DOUBLE,         -- top − bottom; errors clustered by area
    se_cluster DOUBLE,
    se_model DOUBLE,                                  -- as if requests were independent (for comparison only)
    spatial_lo DOUBLE, spatial_hi DOUBLE, se_spatial DOUBLE, -- clustered by the parent area, when residuals are spatially autocorrelated
    raw_gap DOUBLE, raw_gap_lo DOUBLE, raw_gap_hi DOUBLE,     -- the raw difference, with the area-cluster bootstrap interval
    cells         INTEGER NOT NULL,
    events        BIGINT NOT NULL,    -- the rarer outcome (app or other) in the model
    parameters    INTEGER NOT NULL,
    types         INTEGER NOT NULL,   -- type levels, "other types" included
    years         INTEGER NOT NULL,
    areas         INTEGER NOT NULL,
    moran_p       DOUBLE,             -- of the model's area residuals
    PRIMARY KEY (city, period, layer, grouping, bottom_label)
);

-- Days to close by channel as Kaplan–Meier estimates: open cases censored
-- at their source's snapshot time; sources selected on status left out.
CREATE TABLE analysis_survival (
    city        VARCHAR NOT NULL,
    period      VARCHAR NOT NULL,
    channel     VARCHAR NOT NULL,
    requests    BIGINT NOT NULL,
    closed      BIGINT NOT NULL,
    censored    BIGINT NOT NULL,
    median_days DOUBLE, median_days_lo DOUBLE, median_days_hi DOUBLE,
    p90_days    DOUBLE,
    low_count   BOOLEAN NOT NULL,
    PRIMARY KEY (city, period, channel)
);

ALTER TABLE analysis_correlations ADD COLUMN q DOUBLE;  -- Benjamini–Hochberg over every variable, method and layer of the run
ALTER TABLE analysis_groups ADD COLUMN interval_basis VARCHAR;
ALTER TABLE analysis_area_metrics ADD COLUMN below_p DOUBLE;     -- one-sided p that the type-standardized ratio is under 1 (overdispersion allowed)
ALTER TABLE analysis_area_metrics ADD COLUMN below_q DOUBLE;     -- Benjamini–Hochberg over the layer's areas
ALTER TABLE analysis_area_metrics ADD COLUMN below BOOLEAN;      -- clearly below the city for the same request types
ALTER TABLE analysis_trends ADD COLUMN low_count BOOLEAN;
ALTER TABLE analysis_changes ADD COLUMN low_count BOOLEAN;
ALTER TABLE analysis_outcomes ADD COLUMN on_time_basis VARCHAR;

-- Islands as a list: area ids may hold spaces.
DROP TABLE analysis_spatial;
CREATE TABLE analysis_spatial (
    city         VARCHAR NOT NULL,
    period       VARCHAR NOT NULL,
    layer        VARCHAR NOT NULL,
    measure      VARCHAR NOT NULL,
    areas        INTEGER NOT NULL,
    moran_i      DOUBLE,
    expected     DOUBLE,
    p_value      DOUBLE,
    permutations INTEGER NOT NULL,
    islands      VARCHAR[],
    PRIMARY KEY (city, period, layer, measure)
);

-- Gaps by pair of groups: for race, majority-white areas against each
-- other majority group, so a grouping may have several.
DROP TABLE analysis_group_gaps;
CREATE TABLE analysis_group_gaps (
    city           VARCHAR NOT NULL,
    period         VARCHAR NOT NULL,
    layer          VARCHAR NOT NULL,
    grouping       VARCHAR NOT NULL,
    top_label      VARCHAR NOT NULL,
    bottom_label   VARCHAR NOT NULL,
    difference DOUBLE, difference_lo DOUBLE, difference_hi DOUBLE,
    interval_basis VARCHAR,
    PRIMARY KEY (city, period, layer, grouping, bottom_label)
);

-- Models only where the data can carry them: a model left unfitted says
-- why; each covariate's variance inflation factor.
ALTER TABLE analysis_model_fit ADD COLUMN note VARCHAR;
ALTER TABLE analysis_models ADD COLUMN vif DOUBLE;
