-- equity311 schema, version 10: what the reports draw that the analysis
-- computes — the fitted income curve and the models' residuals by area.

-- App share against median income: a logit of app vs other resident
-- requests on log median income over the layer's areas, evaluated on a
-- grid across the observed incomes, with its 95% band (HC1, delta method).
CREATE TABLE analysis_income_curve (
    city          VARCHAR NOT NULL,
    period        VARCHAR NOT NULL,
    layer         VARCHAR NOT NULL,
    point         INTEGER NOT NULL,
    median_income DOUBLE NOT NULL,
    fitted DOUBLE, fitted_lo DOUBLE, fitted_hi DOUBLE,
    PRIMARY KEY (city, period, layer, point)
);

-- Each area's Pearson residual and fitted value under each model.
CREATE TABLE analysis_model_residuals (
    city     VARCHAR NOT NULL,
    period   VARCHAR NOT NULL,
    layer    VARCHAR NOT NULL,
    model    VARCHAR NOT NULL,
    area_id  VARCHAR NOT NULL,
    observed DOUBLE,
    fitted   DOUBLE,
    residual DOUBLE,  -- Pearson
    PRIMARY KEY (city, period, layer, model, area_id)
);
