"""The HTTP API (PROTOCOL.md): rooms, tracks, the operator's endpoints, metrics and the bundled pages.

Each module holds the handlers of one resource; ``signaling.routes`` lists them
all in one table. ``requests`` has what every handler needs.
"""
