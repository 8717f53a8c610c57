#!/usr/bin/env python3
"""Reference values for equity311's interval functions, computed independently
with statsmodels and scipy (Debian: apt-get install python3-statsmodels).

Run from the repository root:  python3 analysis/stats/testdata/reference.py > analysis/stats/testdata/intervals.json
The Go tests read the JSON; they never run Python.
"""
import json
import statsmodels
import scipy
from statsmodels.stats.proportion import proportion_confint
from scipy.stats import chi2

cases = [(0, 1), (0, 10), (1, 10), (5, 10), (10, 10), (56, 100), (3, 1000), (16861, 85548), (997, 1000), (2, 7)]
wilson = []
for k, n in cases:
    lo, hi = proportion_confint(k, n, alpha=0.05, method="wilson")
    wilson.append({"k": k, "n": n, "lo": lo, "hi": hi})

poisson = []
for k in [0, 1, 2, 5, 10, 37, 100, 1234]:
    lo = 0.0 if k == 0 else chi2.ppf(0.025, 2 * k) / 2
    hi = chi2.ppf(0.975, 2 * (k + 1)) / 2
    poisson.append({"k": k, "lo": lo, "hi": hi})

print(json.dumps({
    "generator": "statsmodels %s, scipy %s" % (statsmodels.__version__, scipy.__version__),
    "wilson95": wilson,
    "poisson_exact95": poisson,
}, indent=1))
