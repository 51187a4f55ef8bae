"""``butfor serve``: upload exports, build a case, run it in a worker, read the verdicts.

Modules: :mod:`~butfor.web.app` (settings, the app, security headers,
downloads), :mod:`~butfor.web.pages` (the flow's pages),
:mod:`~butfor.web.casebuild` (form -> case file), :mod:`~butfor.web.uploads`
(size, type, names), :mod:`~butfor.web.auth` (users, tokens),
:mod:`~butfor.web.db` (the DuckDB tables), :mod:`~butfor.web.jobs` and
:mod:`~butfor.web.worker` (jobs run outside the request).
"""
