#!/usr/bin/env python3
"""Reference values for equity311's models and indices, computed
independently with Debian's python3-statsmodels and numpy.

Run from the repository root:

    /usr/bin/python3 analysis/stats/testdata/models_reference.py   # apt-get install python3-statsmodels

It writes analysis/stats/testdata/models_data.csv (a fixed data set of 64 areas on
an 8×8 grid, drawn with a seeded numpy generator) and
analysis/stats/testdata/models_reference.json (the values the Go tests compare
with, to 1e-5 relative). The tests never run Python.
"""
import json
import os

import numpy as np
import statsmodels
import statsmodels.api as sm

here = os.path.dirname(os.path.abspath(__file__))
rng = np.random.default_rng(20261127)

# 64 areas on an 8x8 grid.
n_side = 8
n = n_side * n_side
log_income = rng.normal(0, 0.45, n)
share_65 = np.clip(0.13 + 0.05 * rng.normal(size=n), 0.03, 0.35)
share_lep = np.clip(0.10 + 0.06 * rng.normal(size=n) - 0.05 * log_income, 0.0, 0.45)
share_bb = np.clip(0.82 + 0.07 * log_income + 0.03 * rng.normal(size=n), 0.45, 0.98)
pop = np.round(np.clip(3300 + 900 * rng.normal(size=n), 900, 7000))
eta = -0.6 + 0.8 * log_income - 2.5 * share_65 - 2.0 * share_lep + 1.5 * share_bb + 0.15 * rng.normal(size=n)
p = 1 / (1 + np.exp(-eta))
trials = rng.poisson(pop * 0.12).astype(float)
succ = rng.binomial(trials.astype(int), p).astype(float)
app = succ  # app requests: the count model's outcome
income = np.round(60000 * np.exp(log_income) / 10) * 10

data_path = os.path.join(here, "models_data.csv")
with open(data_path, "w") as f:
    f.write("area,row,col,population,median_income,share_65plus,share_limited_english,share_broadband,offered_app,offered_base\n")
    for i in range(n):
        f.write("a%02d,%d,%d,%d,%d,%.6f,%.6f,%.6f,%d,%d\n" % (
            i, i // n_side, i % n_side, pop[i], income[i], share_65[i], share_lep[i], share_bb[i], succ[i], trials[i]))

# Read back what was written (the Go test reads the same rounded values).
d = np.genfromtxt(data_path, delimiter=",", names=True, dtype=None, encoding="utf-8")
pop = d["population"].astype(float)
income = d["median_income"].astype(float)
y = d["offered_app"].astype(float)
m = d["offered_base"].astype(float)
cov = np.column_stack([np.log(income), d["share_65plus"], d["share_limited_english"], d["share_broadband"]])
names = ["log_median_income", "share_65plus", "share_limited_english", "share_broadband"]
mean = cov.mean(axis=0)
sd = cov.std(axis=0, ddof=1)
X = sm.add_constant((cov - mean) / sd)

# Grouped binomial logit, HC1 robust errors. statsmodels' GLM returns the
# plain sandwich (HC0) for cov_type "HC0" and "HC1" alike; HC1 is HC0 times
# sqrt(n / (n - k)), applied here explicitly.
logit = sm.GLM(np.column_stack([y, m - y]), X, family=sm.families.Binomial()).fit(cov_type="HC0")
hc1 = np.sqrt(logit.nobs / logit.df_resid)
logit_plain = sm.GLM(np.column_stack([y, m - y]), X, family=sm.families.Binomial()).fit()
pearson = logit_plain.pearson_chi2 / logit_plain.df_resid

# NB2 by maximum likelihood (alpha and beta), then the GLM at that alpha for HC1 errors.
nbml = sm.NegativeBinomial(y, X, offset=np.log(pop), loglike_method="nb2").fit(disp=0, maxiter=500, method="bfgs")
nbml = sm.NegativeBinomial(y, X, offset=np.log(pop), loglike_method="nb2").fit(start_params=nbml.params, disp=0, maxiter=100, method="newton")
alpha = nbml.params[-1]
nbglm = sm.GLM(y, X, family=sm.families.NegativeBinomial(alpha=alpha), offset=np.log(pop)).fit(cov_type="HC0")

# Moran's I of app share over the 8x8 grid's queen contiguity, row-standardized.
share = y / m
W = np.zeros((n, n))
for i in range(n):
    ri, ci = divmod(i, n_side)
    for j in range(n):
        rj, cj = divmod(j, n_side)
        if i != j and abs(ri - rj) <= 1 and abs(ci - cj) <= 1:
            W[i, j] = 1
W = W / W.sum(axis=1, keepdims=True)
z = share - share.mean()
moran = (n / W.sum()) * (z @ W @ z) / (z @ z)

# Concentration index of app requests per resident over income rank,
# population-weighted, with the Kakwani, Wagstaff & van Doorslaer (1997)
# standard error generalized to weights.
order = np.argsort(income, kind="stable")
h = (y / pop)[order]
w = pop[order] / pop[order].sum()
R = np.cumsum(w) - w / 2
mu = np.sum(w * h)
C = 2 * np.sum(w * (h - mu) * (R - 0.5)) / mu
q = np.cumsum(w * h) / mu
q_prev = np.concatenate([[0.0], q[:-1]])
a = (h / mu) * (2 * R - 1 - C) + 2 - q_prev - q
se_c = np.sqrt((np.sum(w * a * a) - (1 + C) ** 2) / n)

ref = {
    "generator": "statsmodels %s, numpy %s" % (statsmodels.__version__, np.__version__),
    "terms": ["intercept"] + names,
    "covariate_mean": mean.tolist(),
    "covariate_sd": sd.tolist(),
    "logit": {"params": logit.params.tolist(), "se_hc1": (logit.bse * hc1).tolist(), "deviance": logit_plain.deviance,
              "dispersion": pearson, "aic": logit_plain.aic},
    "nb2": {"params": nbglm.params.tolist(), "se_hc1": (nbglm.bse * np.sqrt(nbglm.nobs / nbglm.df_resid)).tolist(), "alpha": alpha,
            "loglik": nbml.llf},
    "moran_i_app_share": moran,
    "concentration_index": C,
    "concentration_se": se_c,
}
with open(os.path.join(here, "models_reference.json"), "w") as f:
    json.dump(ref, f, indent=2)
print(json.dumps(ref, indent=2))
