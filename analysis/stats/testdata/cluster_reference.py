#!/usr/bin/env python3
"""Reference values for equity311's clustered logit and standardized gap,
computed independently with Debian's python3-statsmodels and numpy.

Run from the repository root:

    /usr/bin/python3 analysis/stats/testdata/cluster_reference.py   # apt-get install python3-statsmodels

It writes analysis/stats/testdata/cluster_data.csv (grouped binomial cells
of 60 areas in 3 groups, 4 request types and 3 years, drawn with a seeded
numpy generator, with an area random effect so that errors cluster) and
analysis/stats/testdata/cluster_reference.json: the GLM coefficients with
model-based and cluster-robust errors (cov_type="cluster", groups = area,
statsmodels' default small-sample correction), and the standardized gap
between group 2 and group 0 averaged over a fixed type-by-year mix, with
its delta-method errors. The Go tests compare to 1e-6 and never run Python.
"""
import json
import os

import numpy as np
import statsmodels
import statsmodels.api as sm

here = os.path.dirname(os.path.abspath(__file__))
rng = np.random.default_rng(20261202)

areas, groups, types, years = 60, 3, 4, 3
group_of = np.repeat(np.arange(groups), areas // groups)
area_re = rng.normal(0, 0.35, areas)
g_eff = np.array([0.0, 0.3, 0.7])
t_eff = np.array([0.0, -0.8, 0.5, -1.6])
y_eff = np.array([0.0, 0.25, 0.55])
rows = []
for a in range(areas):
    for t in range(types):
        for yr in range(years):
            n = int(rng.poisson(25))
            if n == 0:
                continue
            eta = -0.9 + g_eff[group_of[a]] + t_eff[t] + y_eff[yr] + area_re[a]
            k = int(rng.binomial(n, 1 / (1 + np.exp(-eta))))
            rows.append((a, group_of[a], t, yr, k, n))

data_path = os.path.join(here, "cluster_data.csv")
with open(data_path, "w") as f:
    f.write("area,group,type,year,app,base\n")
    for r in rows:
        f.write("%d,%d,%d,%d,%d,%d\n" % r)

d = np.array(rows, dtype=float)
area, grp, typ, yr, k, n = d.T
# Design: intercept, group 1, group 2, type 1..3, year 1..2 (the first level of each factor is the reference).
def design(g, t, y):
    cols = [np.ones_like(g)]
    cols += [(g == j).astype(float) for j in (1, 2)]
    cols += [(t == j).astype(float) for j in (1, 2, 3)]
    cols += [(y == j).astype(float) for j in (1, 2)]
    return np.column_stack(cols)

X = design(grp, typ, yr)
endog = np.column_stack([k, n - k])
model = sm.GLM(endog, X, family=sm.families.Binomial())
plain = model.fit()
clustered = model.fit(cov_type="cluster", cov_kwds={"groups": area.astype(int)})

# The mix: weights of each type x year cell (fixed numbers).
mix = []
for t in range(types):
    for y in range(years):
        mix.append((t, y, 1.0 + t + 2.0 * y))
mt = np.array([m[0] for m in mix], dtype=float)
my = np.array([m[1] for m in mix], dtype=float)
mw = np.array([m[2] for m in mix])

def standardized(params, g):
    Xg = design(np.full_like(mt, g), mt, my)
    p = 1 / (1 + np.exp(-Xg @ params))
    return float((mw * p).sum() / mw.sum())

def gradient(params, g):
    Xg = design(np.full_like(mt, g), mt, my)
    p = 1 / (1 + np.exp(-Xg @ params))
    return ((mw * p * (1 - p))[:, None] * Xg).sum(axis=0) / mw.sum()

b = clustered.params
gap = standardized(b, 2) - standardized(b, 0)
gg = gradient(b, 2) - gradient(b, 0)
ref = {
    "generator": "statsmodels %s, numpy %s" % (statsmodels.__version__, np.__version__),
    "params": list(b),
    "se_model": list(plain.bse),
    "se_cluster": list(clustered.bse),
    "mix": [list(m) for m in mix],
    "share_top": standardized(b, 2),
    "share_bottom": standardized(b, 0),
    "gap": gap,
    "gap_se_cluster": float(np.sqrt(gg @ clustered.cov_params() @ gg)),
    "gap_se_model": float(np.sqrt(gg @ plain.cov_params() @ gg)),
}
with open(os.path.join(here, "cluster_reference.json"), "w") as f:
    json.dump(ref, f, indent=1)
