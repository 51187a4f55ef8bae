"""Between the case file and the estimators: a case and a panel become method inputs.

Each module here reads the case (which series, which dates, which options),
calls an estimator from :mod:`butfor.methods` with plain inputs, and returns
the analysis records the pipeline collects. Estimators never read the case.
"""
