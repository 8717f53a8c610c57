-- equity311 schema, version 16: reporting rates net of need, from
-- duplicate reports (Liu, Bhandaram & Garg, Nature Computational Science
-- 2024). An incident is a resident request that is no one's duplicate; its
-- duplicates are the resident requests linked to it (reported, text or
-- matched) opened while it was open. Per layer, a Poisson model of
-- duplicates with offset log(days open within the period) on area
-- covariates (per SD) and type fixed effects, errors clustered by area;
-- NB2 on area × type cells as the overdispersion check.
CREATE TABLE analysis_reporting_fit (
    city          VARCHAR NOT NULL,
    period        VARCHAR NOT NULL,
    layer         VARCHAR NOT NULL,
    status        VARCHAR NOT NULL,   -- computed, or why not
    note          VARCHAR,
    incidents     BIGINT NOT NULL,
    duplicates    BIGINT NOT NULL,
    links         VARCHAR,
    exposure_days DOUBLE,
    areas         BIGINT NOT NULL,
    types         BIGINT NOT NULL,
    dispersion    DOUBLE,
    nb2_alpha     DOUBLE,
    PRIMARY KEY (city, period, layer)
);

CREATE TABLE analysis_reporting_model (
    city        VARCHAR NOT NULL,
    period      VARCHAR NOT NULL,
    layer       VARCHAR NOT NULL,
    model       VARCHAR NOT NULL,   -- poisson (clustered by area) or nb2
    term        VARCHAR NOT NULL,
    estimate    DOUBLE, estimate_lo DOUBLE, estimate_hi DOUBLE,
    se          DOUBLE,
    rate_ratio  DOUBLE, rate_ratio_lo DOUBLE, rate_ratio_hi DOUBLE,
    p           DOUBLE,
    PRIMARY KEY (city, period, layer, model, term)
);

CREATE TABLE analysis_reporting_areas (
    city          VARCHAR NOT NULL,
    period        VARCHAR NOT NULL,
    layer         VARCHAR NOT NULL,
    area_id       VARCHAR NOT NULL,
    incidents     BIGINT NOT NULL,
    duplicates    BIGINT NOT NULL,
    expected      DOUBLE,
    rate_ratio    DOUBLE, rate_ratio_lo DOUBLE, rate_ratio_hi DOUBLE,
    eb_rate_ratio DOUBLE, eb_rate_ratio_lo DOUBLE, eb_rate_ratio_hi DOUBLE,
    low_count     BOOLEAN NOT NULL,
    PRIMARY KEY (city, period, layer, area_id)
);

CREATE TABLE analysis_first_reports (
    city                VARCHAR NOT NULL,
    period              VARCHAR NOT NULL,
    layer               VARCHAR NOT NULL,
    group_label         VARCHAR NOT NULL,
    group_rank          BIGINT NOT NULL,
    areas               BIGINT NOT NULL,
    incidents           BIGINT NOT NULL,
    incidents_app       BIGINT NOT NULL,
    first_app_share     DOUBLE, first_app_share_lo DOUBLE, first_app_share_hi DOUBLE,
    duplicates          BIGINT NOT NULL,
    duplicates_app      BIGINT NOT NULL,
    duplicate_app_share DOUBLE, duplicate_app_share_lo DOUBLE, duplicate_app_share_hi DOUBLE,
    difference          DOUBLE, difference_lo DOUBLE, difference_hi DOUBLE,
    rate_ratio          DOUBLE, rate_ratio_lo DOUBLE, rate_ratio_hi DOUBLE,
    PRIMARY KEY (city, period, layer, group_label)
);
