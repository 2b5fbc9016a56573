"""An HTTP response as a program listener: the stream's bytes written straight to the socket.

No task or queue per listener: the program's flush writes each chunk to the
transport synchronously (with HTTP/1.1's chunk framing, which aiohttp announced
in the headers). A listener whose transport already holds ``MAX_BUFFERED`` bytes
it could not send is too slow: it is dropped rather than allowed to grow memory.
``IcySink`` puts ICY metadata (``StreamTitle``) every ``metaint`` bytes of audio.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

MAX_BUFFERED = 64 * 1024  # about 4 s of a 128 kbit/s stream
ICY_METAINT = 16_000


class HttpSink:
    """Writes to ``transport``; ``done`` resolves when the listener is gone or dropped."""

    def __init__(self, transport: asyncio.Transport, *, chunked: bool,
                 max_buffered: int = MAX_BUFFERED) -> None:
        self.transport = transport
        self.chunked = chunked
        self.max_buffered = max_buffered
        self.done: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self.sent = 0

    def write(self, data: bytes) -> bool:
        if self.done.done():
            return False
        transport = self.transport
        if transport.is_closing():
            self._finish("gone")
            return False
        if transport.get_write_buffer_size() + len(data) > self.max_buffered:
            self._finish("slow")
            transport.abort()  # what it holds is dropped with it
            return False
        if self.chunked:
            transport.write(b"%x\r\n%b\r\n" % (len(data), data))
        else:
            transport.write(data)
        self.sent += len(data)
        return True

    def close(self) -> None:
        self._finish("ended")

    def _finish(self, why: str) -> None:
        if not self.done.done():
            self.done.set_result(why)


class IcySink(HttpSink):
    """An ``HttpSink`` that inserts an ICY metadata block after every ``metaint`` bytes of audio:
    the title (``title()``) when it changed since the last block, else an empty block."""

    def __init__(self, transport: asyncio.Transport, title: Callable[[], str], *, chunked: bool,
                 metaint: int = ICY_METAINT, max_buffered: int = MAX_BUFFERED) -> None:
        super().__init__(transport, chunked=chunked, max_buffered=max_buffered)
        self.metaint = metaint
        self._title = title
        self._told: str | None = None
        self._left = metaint  # audio bytes until the next block

    def write(self, data: bytes) -> bool:
        out = bytearray()
        view = memoryview(data)
        while len(view) >= self._left:
            out += view[: self._left]
            view = view[self._left :]
            out += self._block()
            self._left = self.metaint
        out += view
        self._left -= len(view)
        return super().write(bytes(out))

    def _block(self) -> bytes:
        title = self._title()
        if title == self._told:
            return b"\x00"
        self._told = title
        return icy_block(title)


def icy_block(title: str) -> bytes:
    """``StreamTitle='...';`` as an ICY metadata block: a length byte (in 16-byte units), then the
    text padded with NULs (at most 255 * 16 bytes)."""
    text = f"StreamTitle='{title[:1000]}';".encode()  # 1000 characters: at most 4015 bytes
    units = -(-len(text) // 16)
    return bytes([units]) + text.ljust(units * 16, b"\x00")
