"""Error codes of the protocol and how they look on HTTP and on the socket."""

from __future__ import annotations

from aiohttp import web
from aiohttp.typedefs import Handler

HTTP_STATUS = {
    "bad_request": 400,
    "unauthorized": 401,
    "forbidden": 403,
    "not_found": 404,
    "conflict": 409,
    "too_large": 413,
    "unsupported": 415,
    "rate_limited": 429,
    "room_full": 503,
    "banned": 403,
    "draining": 503,
    "internal": 500,
}

# WebSocket close codes for a refused join (PROTOCOL.md)
JOIN_CLOSE = {
    "bad_request": 4400,
    "unauthorized": 4401,
    "banned": 4403,
    "not_found": 4404,
    "rate_limited": 4429,
    "room_full": 4503,
    "draining": 4503,
}
CLOSE_KICKED = 4003
CLOSE_ROOM_ENDED = 4004
CLOSE_REPLACED = 4009
CLOSE_GOING_AWAY = 1001
CLOSE_TOO_BIG = 1009


class ApiError(Exception):
    """A refusal with a protocol error code, for HTTP and WebSocket alike."""

    def __init__(
        self, code: str, message: str, reason: str | None = None, **params: str | int
    ) -> None:
        super().__init__(message)
        assert code in HTTP_STATUS, code
        self.code = code
        self.message = message
        # Where the code alone would not tell a person what to do, `reason` (with `params`) names
        # the refusal for the page's message catalog: the page speaks the visitor's language.
        self.reason = reason
        self.params = params

    def body(self) -> dict:
        error: dict = {"code": self.code, "message": self.message}
        if self.reason:
            error["reason"] = self.reason
            if self.params:
                error["params"] = self.params
        return {"error": error}

    def frame(self, ref: str | None = None) -> dict:
        """The socket's ``error`` message for this refusal (answering ``ref`` if given)."""
        return {"type": "error", **self.body()["error"], **({"ref": ref} if ref else {})}

    def response(self) -> web.Response:
        return web.json_response(self.body(), status=HTTP_STATUS[self.code])


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every HTTP error leaves as ``{"error": {"code", "message"}}``."""
    try:
        return await handler(request)
    except ApiError as exc:
        return exc.response()
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        code = {404: "not_found", 405: "bad_request", 413: "too_large"}.get(
            exc.status, "bad_request"
        )
        if exc.status >= 500:
            code = "internal"
        return web.json_response(
            {"error": {"code": code, "message": exc.reason}}, status=exc.status
        )
