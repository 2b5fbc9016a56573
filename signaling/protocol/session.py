"""One participant's WebSocket: a bounded outgoing queue drained by one writer task."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging

from aiohttp import web

log = logging.getLogger(__name__)


class Session:
    """The socket of one participant.

    ``send`` never blocks: messages go to a bounded queue that one writer task
    drains, so a slow client never stalls a broadcast to the others. A client
    whose queue overflows is too slow to follow the room and is disconnected.
    """

    QUEUE_LIMIT = 512

    def __init__(self, ws: web.WebSocketResponse, transport: asyncio.BaseTransport | None) -> None:
        self.ws = ws
        self._transport = transport
        self._queue: asyncio.Queue[tuple[str, int | None]] = asyncio.Queue(self.QUEUE_LIMIT)
        self._writer = asyncio.get_running_loop().create_task(self._write_loop())
        self.closing = False

    def send(self, message: dict) -> None:
        self.send_text(json.dumps(message, separators=(",", ":")))

    def send_text(self, text: str) -> None:
        """Queue a message already serialized (a broadcast serializes once for everyone)."""
        if self.closing:
            return
        try:
            self._queue.put_nowait((text, None))
        except asyncio.QueueFull:
            log.warning("client too slow, closing its socket")
            self.close(1008)

    def close(self, code: int) -> None:
        """Send what is queued, then close with ``code``."""
        if self.closing:
            return
        self.closing = True
        with contextlib.suppress(asyncio.QueueFull):
            self._queue.put_nowait(("", code))
        if self._queue.full():
            self._writer.cancel()
            asyncio.get_running_loop().create_task(self.ws.close(code=code))

    async def _write_loop(self) -> None:
        try:
            while True:
                text, close_code = await self._queue.get()
                if close_code is not None:
                    await self.ws.close(code=close_code)
                    return
                if self.ws.closed or self._transport is None or self._transport.is_closing():
                    return  # the client is gone; the reader will notice and leave
                await self.ws.send_str(text)
        except (ConnectionError, RuntimeError):
            pass  # the client went away; the reader sees it too

    async def wait_closed(self) -> None:
        """Stop the writer (after the reader ended) and close the socket."""
        self.closing = True
        if not self._writer.done():
            try:
                await asyncio.wait_for(asyncio.shield(self._writer), timeout=1.0)
            except TimeoutError:
                self._writer.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._writer
        if not self.ws.closed:
            await self.ws.close()
