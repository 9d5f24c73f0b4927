"""Load for the harness: AG-UI SSE users in Locust, measured by event arrival, bounded for weekend soaks.

The modules split by where they run. Locust and gevent are imported only by the Locust process
(``locustfile``, ``users``, ``shapes``, ``plugin``); the chaos process uses ``runner``, ``actions`` and
``probes``, which start Locust as a subprocess and read its figures from the run directory.

Pure modules shared by both: ``safety`` (allowed targets, bounds), ``config`` (scenario mix and settings),
``scenarios`` (prompts), ``wire`` and ``sse`` (an HTTP/1.1 client that hands over each SSE event the moment
its bytes arrive), ``turns`` (per-turn clock, failure kinds), ``figures`` (fixed-size histograms and
counters, merged across workers, summarised).
"""
