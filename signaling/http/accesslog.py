"""The HTTP access log, without query strings (they carry host and resume tokens)."""

from __future__ import annotations

from aiohttp.abc import AbstractAccessLogger
from aiohttp.web import BaseRequest, StreamResponse

from .proxy import CLIENT_ADDRESS


class AccessLogger(AbstractAccessLogger):
    """One line per request: address, method, path (no query), status, duration."""

    def log(self, request: BaseRequest, response: StreamResponse, time: float) -> None:
        self.logger.info(
            '%s "%s %s" %s %.1fms', request.get(CLIENT_ADDRESS, request.remote), request.method, request.path,
            response.status, time * 1000.0,
        )
