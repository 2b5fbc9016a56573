"""OnAir load test: many lightweight listener peers against a running server.

``python -m loadtest --url http://127.0.0.1:8080 --listeners 200 --seconds 20``

Modules: ``peer`` (one listener), ``stats`` (per-peer arithmetic), ``workers``
(one event loop per process), ``runner`` (the parent: room, pacing, window),
``metrics_client`` (the server's /metrics), ``report`` (summary and table).
"""
