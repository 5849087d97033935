"""The independent computations the analysis tests compare modtui's figures with (numpy, scipy, sklearn,
statsmodels), imported when a test first uses one (tests/lazy_import.py: ~3 s of CPU, paid only by the pytest
worker that runs such a test). Use them by the libraries' own names: `np.array(...)`, `sps.binom.pmf(...)`,
`proportion_confint(...)`.
"""

from __future__ import annotations

from lazy_import import LazyModule, lazy_function

np = LazyModule("numpy")
sps = LazyModule("scipy.stats")
binomtest = lazy_function("scipy.stats", "binomtest")
calibration_curve = lazy_function("sklearn.calibration", "calibration_curve")
cohen_kappa_score = lazy_function("sklearn.metrics", "cohen_kappa_score")
f1_score = lazy_function("sklearn.metrics", "f1_score")
precision_score = lazy_function("sklearn.metrics", "precision_score")
recall_score = lazy_function("sklearn.metrics", "recall_score")
aggregate_raters = lazy_function("statsmodels.stats.inter_rater", "aggregate_raters")
sm_fleiss = lazy_function("statsmodels.stats.inter_rater", "fleiss_kappa")
proportion_confint = lazy_function("statsmodels.stats.proportion", "proportion_confint")
