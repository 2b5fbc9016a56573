"""Operator and host endpoints: reports, bans, the audit log."""

from __future__ import annotations

from aiohttp import web


def add_routes(app: web.Application) -> None:
    """Routes of this module (filled in by the moderation work)."""
