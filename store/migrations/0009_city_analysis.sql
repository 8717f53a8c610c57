-- equity311 schema, version 9: target dates, and the analysis tables of
-- DESIGN.md §5 keyed by city (a database may hold several cities; no
-- analysis row mixes two). The analysis tables are derived: this version
-- drops the old ones, and `analyze` fills the new ones again.

-- The service-level target date a dump or feed gives (Boston target_dt,
-- NYC Due Date, Open311 expected_datetime): the on-time limit.
ALTER TABLE tickets ADD COLUMN target_at TIMESTAMPTZ;

DROP TABLE IF EXISTS analysis_area_channels;
DROP TABLE IF EXISTS analysis_area_metrics;
DROP TABLE IF EXISTS analysis_quality;
DROP TABLE IF EXISTS analysis_source_channels;
DROP TABLE IF EXISTS analysis_runs;

-- One row per analysed period: how it was chosen and what it covers.
CREATE TABLE analysis_runs (
    period          VARCHAR PRIMARY KEY,  -- "2026-W47", or "2026-01-05..2026-03-02"
    period_from     TIMESTAMPTZ NOT NULL, -- inclusive
    period_to       TIMESTAMPTZ NOT NULL, -- exclusive
    period_basis    VARCHAR NOT NULL,     -- "requested", or how the default period was chosen
    years           DOUBLE NOT NULL,      -- the period's length: rates are per 1,000 residents per year
    min_count       INTEGER NOT NULL,     -- cells under it are flagged low_count and suppressed in reports
    computed_at     TIMESTAMPTZ NOT NULL,
    tickets         BIGINT NOT NULL,
    resident        BIGINT NOT NULL,
    seed            BIGINT NOT NULL       -- the seed of the permutation tests
);

-- Channel use per city, period, layer and area; layer 'city' holds the
-- citywide row (area_id = the city). Resident-initiated requests only.
CREATE TABLE analysis_area_metrics (
    city                 VARCHAR NOT NULL,
    period               VARCHAR NOT NULL,
    layer                VARCHAR NOT NULL,
    area_id              VARCHAR NOT NULL,
    name                 VARCHAR,
    population           DOUBLE,
    population_basis     VARCHAR,
    tickets              BIGINT NOT NULL,  -- all requests
    resident             BIGINT NOT NULL,  -- resident-initiated
    share_base           BIGINT NOT NULL,  -- resident requests from sources that can record the app
    app                  BIGINT NOT NULL,
    digital              BIGINT NOT NULL,  -- app + web + online
    app_share DOUBLE, app_share_lo DOUBLE, app_share_hi DOUBLE,               -- Wilson 95%
    digital_share DOUBLE, digital_share_lo DOUBLE, digital_share_hi DOUBLE,
    resident_per_1000 DOUBLE, resident_per_1000_lo DOUBLE, resident_per_1000_hi DOUBLE, -- per year, exact Poisson
    app_per_1000 DOUBLE, app_per_1000_lo DOUBLE, app_per_1000_hi DOUBLE,
    offered_base         BIGINT NOT NULL,  -- share_base requests of app-offered types
    offered_app          BIGINT NOT NULL,
    offered_app_share DOUBLE, offered_app_share_lo DOUBLE, offered_app_share_hi DOUBLE,
    expected_app         DOUBLE,           -- from the citywide app share of each type
    std_app_ratio DOUBLE, std_app_ratio_lo DOUBLE, std_app_ratio_hi DOUBLE,   -- observed / expected, exact Poisson on the observed
    representation_ratio DOUBLE, representation_ratio_lo DOUBLE, representation_ratio_hi DOUBLE, -- share of app requests / share of population
    eb_app_share DOUBLE, eb_app_share_lo DOUBLE, eb_app_share_hi DOUBLE,      -- empirical-Bayes (beta-binomial) shrunken app share
    low_count            BOOLEAN NOT NULL, -- share_base < min_count
    PRIMARY KEY (city, period, layer, area_id)
);

CREATE TABLE analysis_area_channels (
    city    VARCHAR NOT NULL,
    period  VARCHAR NOT NULL,
    layer   VARCHAR NOT NULL,
    area_id VARCHAR NOT NULL,
    channel VARCHAR NOT NULL,
    n       BIGINT NOT NULL,
    PRIMARY KEY (city, period, layer, area_id, channel)
);

-- The canonical census variables of each area, with margins of error
-- (90%, as the ACS publishes), and where each comes from.
CREATE TABLE analysis_area_demographics (
    city     VARCHAR NOT NULL,
    period   VARCHAR NOT NULL,
    layer    VARCHAR NOT NULL,
    area_id  VARCHAR NOT NULL,
    variable VARCHAR NOT NULL,
    estimate DOUBLE,
    moe      DOUBLE,
    basis    VARCHAR NOT NULL,  -- census (file, measure), or how it was combined through the crosswalk
    PRIMARY KEY (city, period, layer, area_id, variable)
);

-- App use by groups of areas: income quintiles (population-weighted),
-- majority race and ethnicity, terciles of limited English, broadband
-- and age.
CREATE TABLE analysis_groups (
    city        VARCHAR NOT NULL,
    period      VARCHAR NOT NULL,
    layer       VARCHAR NOT NULL,
    grouping    VARCHAR NOT NULL,  -- income_quintile, majority_race, limited_english_tercile, broadband_tercile, age_tercile
    group_label VARCHAR NOT NULL,
    group_rank  INTEGER NOT NULL,  -- 1 = lowest
    areas       INTEGER NOT NULL,
    population  DOUBLE,
    bound_lo    DOUBLE,            -- the covariate's range in the group
    bound_hi    DOUBLE,
    share_base  BIGINT NOT NULL,
    app         BIGINT NOT NULL,
    app_share DOUBLE, app_share_lo DOUBLE, app_share_hi DOUBLE,
    std_app_ratio DOUBLE, std_app_ratio_lo DOUBLE, std_app_ratio_hi DOUBLE,
    app_per_1000 DOUBLE, app_per_1000_lo DOUBLE, app_per_1000_hi DOUBLE,
    low_count   BOOLEAN NOT NULL,
    PRIMARY KEY (city, period, layer, grouping, group_label)
);

-- The gap in app share between the top and bottom group, with Newcombe's
-- interval for a difference of proportions.
CREATE TABLE analysis_group_gaps (
    city         VARCHAR NOT NULL,
    period       VARCHAR NOT NULL,
    layer        VARCHAR NOT NULL,
    grouping     VARCHAR NOT NULL,
    top_label    VARCHAR NOT NULL,
    bottom_label VARCHAR NOT NULL,
    difference DOUBLE, difference_lo DOUBLE, difference_hi DOUBLE,
    PRIMARY KEY (city, period, layer, grouping)
);

-- Request types: whether the app offers them, and their app share.
CREATE TABLE analysis_app_types (
    city         VARCHAR NOT NULL,
    period       VARCHAR NOT NULL,
    service_code VARCHAR NOT NULL,
    offered      BOOLEAN NOT NULL,
    basis        VARCHAR NOT NULL,  -- open311 service list, or the threshold rule
    share_base   BIGINT NOT NULL,
    app          BIGINT NOT NULL,
    app_share DOUBLE, app_share_lo DOUBLE, app_share_hi DOUBLE,
    PRIMARY KEY (city, period, service_code)
);

-- Correlations of area app share with each covariate.
CREATE TABLE analysis_correlations (
    city     VARCHAR NOT NULL,
    period   VARCHAR NOT NULL,
    layer    VARCHAR NOT NULL,
    variable VARCHAR NOT NULL,
    method   VARCHAR NOT NULL,  -- pearson, spearman
    n        INTEGER NOT NULL,
    r DOUBLE, r_lo DOUBLE, r_hi DOUBLE, p DOUBLE,
    PRIMARY KEY (city, period, layer, variable, method)
);

-- The concentration index of app use (app requests per resident) over
-- income rank, and its curve.
CREATE TABLE analysis_concentration (
    city   VARCHAR NOT NULL,
    period VARCHAR NOT NULL,
    layer  VARCHAR NOT NULL,
    areas  INTEGER NOT NULL,
    ci DOUBLE, se DOUBLE, ci_lo DOUBLE, ci_hi DOUBLE,
    PRIMARY KEY (city, period, layer)
);
CREATE TABLE analysis_concentration_curve (
    city           VARCHAR NOT NULL,
    period         VARCHAR NOT NULL,
    layer          VARCHAR NOT NULL,
    point          INTEGER NOT NULL,  -- areas in income order, poorest first
    area_id        VARCHAR NOT NULL,
    cum_population DOUBLE NOT NULL,   -- cumulative share of population
    cum_app        DOUBLE NOT NULL,   -- cumulative share of app requests
    PRIMARY KEY (city, period, layer, point)
);

-- Models of app use on the areas of a layer with census figures: a
-- grouped binomial logit (quasi-binomial) of app vs other resident requests
-- of app-offered types, and a negative binomial (NB2) of app requests with
-- a log(population) offset; standardized covariates, HC1 robust errors.
CREATE TABLE analysis_models (
    city     VARCHAR NOT NULL,
    period   VARCHAR NOT NULL,
    layer    VARCHAR NOT NULL,
    model    VARCHAR NOT NULL,  -- logit, nb2
    term     VARCHAR NOT NULL,  -- intercept, log_median_income, share_65plus, ...
    estimate DOUBLE, se DOUBLE, lo DOUBLE, hi DOUBLE, z DOUBLE, p DOUBLE,  -- per standard deviation of the covariate
    ratio DOUBLE, ratio_lo DOUBLE, ratio_hi DOUBLE,   -- odds ratio (logit) or rate ratio (nb2) per standard deviation
    covariate_mean DOUBLE, covariate_sd DOUBLE,       -- to convert to the covariate's own units: estimate / covariate_sd
    PRIMARY KEY (city, period, layer, model, term)
);
CREATE TABLE analysis_model_fit (
    city          VARCHAR NOT NULL,
    period        VARCHAR NOT NULL,
    layer         VARCHAR NOT NULL,
    model         VARCHAR NOT NULL,
    n             INTEGER NOT NULL,
    deviance      DOUBLE,
    null_deviance DOUBLE,
    aic           DOUBLE,
    dispersion    DOUBLE,  -- Pearson chi-square / (n - k); quasi-binomial scale
    alpha         DOUBLE,  -- NB2 overdispersion
    iterations    INTEGER,
    converged     BOOLEAN,
    PRIMARY KEY (city, period, layer, model)
);

-- Spatial structure: Moran's I over queen contiguity (areas sharing an
-- edge or a vertex), with a seeded permutation p-value.
CREATE TABLE analysis_spatial (
    city         VARCHAR NOT NULL,
    period       VARCHAR NOT NULL,
    layer        VARCHAR NOT NULL,
    measure      VARCHAR NOT NULL,  -- app_share, logit_residual
    areas        INTEGER NOT NULL,
    moran_i      DOUBLE,
    expected     DOUBLE,            -- -1/(n-1)
    p_value      DOUBLE,            -- permutation, two-sided
    permutations INTEGER NOT NULL,
    islands      VARCHAR,           -- areas without neighbours, left out
    PRIMARY KEY (city, period, layer, measure)
);

-- Weekly channel shares, citywide and by income quintile.
CREATE TABLE analysis_trends (
    city        VARCHAR NOT NULL,
    period      VARCHAR NOT NULL,
    grouping    VARCHAR NOT NULL,  -- city, income_quintile
    group_label VARCHAR NOT NULL,
    week        VARCHAR NOT NULL,  -- ISO week
    week_start  TIMESTAMPTZ NOT NULL,
    channel     VARCHAR NOT NULL,
    n           BIGINT NOT NULL,
    total       BIGINT NOT NULL,   -- resident requests from sources that record the app
    share DOUBLE, share_lo DOUBLE, share_hi DOUBLE,
    PRIMARY KEY (city, period, grouping, group_label, week, channel)
);

-- Each area's app share in the latest week against its trailing weeks
-- (up to 12), a two-proportion z test, Benjamini–Hochberg over the layer.
CREATE TABLE analysis_changes (
    city       VARCHAR NOT NULL,
    period     VARCHAR NOT NULL,
    layer      VARCHAR NOT NULL,
    area_id    VARCHAR NOT NULL,
    week       VARCHAR NOT NULL,
    week_base  BIGINT NOT NULL, week_app BIGINT NOT NULL, week_share DOUBLE,
    base_weeks INTEGER NOT NULL,
    trail_base BIGINT NOT NULL, trail_app BIGINT NOT NULL, trail_share DOUBLE,
    difference DOUBLE, difference_lo DOUBLE, difference_hi DOUBLE,
    z DOUBLE, p DOUBLE, q DOUBLE,   -- q: Benjamini–Hochberg adjusted
    flagged    BOOLEAN NOT NULL,    -- q < 0.05 and both cells at least min_count
    PRIMARY KEY (city, period, layer, area_id)
);

-- Days to close and on-time rate by channel, citywide (layer 'city') and
-- per area, with the type-standardized comparison.
CREATE TABLE analysis_outcomes (
    city         VARCHAR NOT NULL,
    period       VARCHAR NOT NULL,
    layer        VARCHAR NOT NULL,
    area_id      VARCHAR NOT NULL,
    channel      VARCHAR NOT NULL,
    requests     BIGINT NOT NULL,
    closed       BIGINT NOT NULL,
    median_days  DOUBLE,
    p90_days     DOUBLE,
    days_ratio DOUBLE, days_ratio_lo DOUBLE, days_ratio_hi DOUBLE,  -- median of days / the type's citywide median: under 1 is faster than usual for the types
    with_target  BIGINT NOT NULL,
    on_time      BIGINT NOT NULL,
    on_time_rate DOUBLE, on_time_rate_lo DOUBLE, on_time_rate_hi DOUBLE,
    expected_on_time_rate DOUBLE,   -- from the citywide on-time rate of each type
    low_count    BOOLEAN NOT NULL,
    PRIMARY KEY (city, period, layer, area_id, channel)
);

CREATE TABLE analysis_quality (
    city   VARCHAR NOT NULL,
    period VARCHAR NOT NULL,
    item   VARCHAR NOT NULL,
    n      BIGINT NOT NULL,
    PRIMARY KEY (city, period, item)
);

CREATE TABLE analysis_source_channels (
    city        VARCHAR NOT NULL,
    period      VARCHAR NOT NULL,
    source_id   INTEGER NOT NULL,
    source      VARCHAR NOT NULL,
    profile     VARCHAR,
    records_app BOOLEAN,
    channel     VARCHAR NOT NULL,
    resident    BOOLEAN,
    n           BIGINT NOT NULL,
    PRIMARY KEY (city, period, source_id, channel)
);
