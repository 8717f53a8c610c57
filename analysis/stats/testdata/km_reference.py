#!/usr/bin/env python3
"""Reference values for equity311's Kaplan-Meier estimates, computed
independently with Debian's python3-statsmodels (SurvfuncRight).

Run from the repository root:

    /usr/bin/python3 analysis/stats/testdata/km_reference.py   # apt-get install python3-statsmodels

It writes analysis/stats/testdata/km_data.csv (days to close of three
groups of requests, with open ones censored and times tied to the hour,
drawn with a seeded numpy generator) and km_reference.json: for each
group the survival probabilities and Greenwood errors at the event
times, the median and 90th percentile, and the median's 95% interval
(quantile_ci, cloglog). The Go tests compare to 1e-6 and never run Python.
"""
import json
import os

import numpy as np
import statsmodels
from statsmodels.duration.survfunc import SurvfuncRight

here = os.path.dirname(os.path.abspath(__file__))
rng = np.random.default_rng(20261203)
rows = []
for g, (n, scale, cens) in enumerate([(400, 3.0, 0.15), (150, 8.0, 0.35), (40, 1.5, 0.05)]):
    t = np.round(rng.exponential(scale, n) * 24) / 24  # to the hour: ties
    c = np.round(rng.exponential(scale * 3, n) * 24) / 24
    closed = (t <= c) & (rng.random(n) > cens)
    obs = np.where(closed, t, np.minimum(t, c))
    for x, d in zip(obs, closed):
        rows.append((g, float(x), int(d)))
with open(os.path.join(here, "km_data.csv"), "w") as f:
    f.write("group,days,closed\n")
    for r in rows:
        f.write("%d,%.6f,%d\n" % r)
ref = {"generator": "statsmodels %s, numpy %s" % (statsmodels.__version__, np.__version__), "groups": []}
d = np.array(rows)
for g in range(3):
    sel = d[:, 0] == g
    sf = SurvfuncRight(d[sel, 1], d[sel, 2])
    lo, hi = sf.quantile_ci(0.5)
    ref["groups"].append({
        "times": list(sf.surv_times), "prob": list(sf.surv_prob),
        "se": [None if not np.isfinite(v) else float(v) for v in sf.surv_prob_se],
        "median": float(sf.quantile(0.5)), "p90": float(sf.quantile(0.9)),
        "median_lo": float(lo), "median_hi": None if not np.isfinite(hi) else float(hi),
    })
with open(os.path.join(here, "km_reference.json"), "w") as f:
    json.dump(ref, f, indent=1)
