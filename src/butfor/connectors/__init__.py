"""Network connectors: the only code in butfor that goes online, and only when asked.

::

    butfor fetch wikipedia ARTICLE... --start --end    Wikimedia pageviews (no key)
    butfor fetch x HANDLE --start --end                X API v2 (X_BEARER_TOKEN)
    butfor fetch bluesky HANDLE --start --end          Bluesky public API (no key)
    butfor run CASE --fetch                            a case's [[controls.fetched]]

==============  ==========================================================
``http``        the client: cache keyed by request, retries with backoff and
                jitter, Retry-After and rate-limit headers, User-Agent
``cassette``    recorded responses replayed as a transport (BUTFOR_CASSETTE)
``wikimedia``   per-article pageviews requests
``x``           an X account's timeline with public metrics
``bluesky``     a Bluesky account's feed with its counts
``posts``       fetched posts written for the per-post reader
``controls``    a case's fetched controls added to its panel
``commands``    the ``butfor fetch`` commands; ``cli`` their options
==============  ==========================================================

What a connector gets is read by the same readers as a downloaded export
(:mod:`butfor.readers`), so every row is accounted for in the IngestReport.
Nothing here is imported by any other command: ``ingest``, ``run`` (without
``--fetch``), ``report`` and ``demo`` open no socket.
"""
