#!/usr/bin/env python3
"""Reference values for equity311's reporting-rate model (Poisson GLM of
duplicate reports per incident with offset log(time open), errors
clustered by area; NB2 as the overdispersion check), computed
independently with Debian's python3-statsmodels and numpy.

Run from the repository root:

    /usr/bin/python3 analysis/stats/testdata/poisson_reference.py   # apt-get install python3-statsmodels

It writes analysis/stats/testdata/poisson_data.csv — incidents of 60 areas
and 4 problem types over a 365-day window, each open for an exponential
time cut at the window's end, with duplicates drawn at an area rate that
follows two covariates and an area random effect (so errors cluster) —
and analysis/stats/testdata/poisson_reference.json. The Go tests compare
to 1e-6 and never run Python.
"""
import json
import os

import numpy as np
import statsmodels
import statsmodels.api as sm

here = os.path.dirname(os.path.abspath(__file__))
rng = np.random.default_rng(20261203)

areas, types, window = 60, 4, 365.0
income = rng.normal(0, 1, areas)
black = rng.uniform(0, 0.8, areas)
area_re = rng.normal(0, 0.3, areas)
type_eff = np.array([0.0, -0.5, 0.4, -1.0])
mean_open = np.array([6.0, 20.0, 3.0, 45.0])
rows = []
for a in range(areas):
    for _ in range(int(rng.poisson(25)) + 3):
        t = int(rng.integers(types))
        start = rng.uniform(0, window)
        open_days = min(rng.exponential(mean_open[t]), window - start)
        open_days = max(open_days, 1 / 1440)  # at least a minute
        rate = np.exp(-2.3 + 0.35 * income[a] - 0.6 * black[a] + type_eff[t] + area_re[a])
        dups = int(rng.poisson(rate * open_days))
        rows.append((a, t, income[a], black[a], open_days, dups))

with open(os.path.join(here, "poisson_data.csv"), "w") as f:
    f.write("area,type,income,black,open_days,duplicates\n")
    for r in rows:
        f.write("%d,%d,%.10f,%.10f,%.10f,%d\n" % r)

d = np.array(rows, dtype=float)
area, typ, inc, blk, od, y = d.T
X = np.column_stack([np.ones_like(inc), inc, blk] + [(typ == j).astype(float) for j in (1, 2, 3)])
terms = ["intercept", "income", "black", "type1", "type2", "type3"]
off = np.log(od)
model = sm.GLM(y, X, family=sm.families.Poisson(), offset=off)
plain = model.fit()
clustered = model.fit(cov_type="cluster", cov_kwds={"groups": area.astype(int)})
nb = sm.NegativeBinomial(y, X, offset=off, loglike_method="nb2").fit(method="newton", maxiter=200, tol=1e-12, disp=0)

out = {
    "statsmodels": statsmodels.__version__,
    "terms": terms,
    "n": int(len(y)),
    "poisson": {
        "params": plain.params.tolist(),
        "se_model": plain.bse.tolist(),
        "se_cluster": clustered.bse.tolist(),
        "deviance": float(plain.deviance),
        "pearson_chi2": float(plain.pearson_chi2),
        "loglik": float(plain.llf),
    },
    "nb2": {"params": nb.params[:-1].tolist(), "alpha": float(nb.params[-1]), "loglik": float(nb.llf)},
}
with open(os.path.join(here, "poisson_reference.json"), "w") as f:
    json.dump(out, f, indent=1)
    f.write("\n")
