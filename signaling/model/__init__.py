"""The room model: rooms, participants, who may do what, the library's bookkeeping.

Knows the store below it; knows nothing of HTTP or the socket protocol above it.
"""
