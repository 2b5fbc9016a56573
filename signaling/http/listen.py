"""The program as HTTP audio: ``listen.ogg``, ``listen.mp3`` (with ICY metadata) and HLS.

Every format is encoded once per room (``model/program.py``); these handlers only
attach listeners and serve segments. A stream response lasts until the listener
leaves, is dropped as too slow, or the show ends.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket

from aiohttp import web
from aiohttp.http import HttpVersion11

from ..errors import ApiError
from ..keys import PROGRAMS
from ..model.program import Program
from ..model.room import Room
from .listen_sink import ICY_METAINT, HttpSink, IcySink
from .requests import live_room

FIRST_SEGMENT_TIMEOUT_S = 5.0
KERNEL_SEND_BUFFER = 32 * 1024
STREAM_HEADERS = {
    "Cache-Control": "no-cache, no-store",
    "Access-Control-Allow-Origin": "*",
    "X-Content-Type-Options": "nosniff",
}


def program_of(request: web.Request) -> tuple[Room, Program]:
    room = live_room(request)
    program = request.app[PROGRAMS].for_room(room.room_id, room.router, room.music, room.title)
    return room, program


async def listen_ogg(request: web.Request) -> web.StreamResponse:
    """``GET /r/{room_id}/listen.ogg``: Ogg/Opus, endless while the show lives."""
    room, program = program_of(request)
    return await _stream(request, program, "ogg", {"Content-Type": "audio/ogg"}, icy=False)


async def listen_mp3(request: web.Request) -> web.StreamResponse:
    """``GET /r/{room_id}/listen.mp3``: MP3; ``Icy-MetaData: 1`` asks for the ICY titles."""
    room, program = program_of(request)
    icy = request.headers.get("Icy-MetaData", "").strip() == "1"
    headers = {
        "Content-Type": "audio/mpeg",
        "icy-name": _header_text(room.title),
        "icy-description": _header_text(room.description or f"{room.title} with {room.host_name}"),
        "icy-br": "128",
        "icy-pub": "0",
    }
    if icy:
        headers["icy-metaint"] = str(ICY_METAINT)
    return await _stream(request, program, "mp3", headers, icy=icy)


async def _stream(request: web.Request, program: Program, kind: str, headers: dict[str, str],
                  *, icy: bool) -> web.StreamResponse:
    if request.method == "HEAD":  # what a player or a proxy asks first: the headers, no stream
        return web.Response(headers={**STREAM_HEADERS, **headers})
    response = web.StreamResponse(headers={**STREAM_HEADERS, **headers})
    chunked = request.version >= HttpVersion11
    if chunked:
        response.enable_chunked_encoding()
    await response.prepare(request)
    transport = request.transport
    if transport is None or transport.is_closing():
        return response
    bound_kernel_buffer(transport)
    sink = (IcySink(transport, lambda: program.title, chunked=chunked) if icy
            else HttpSink(transport, chunked=chunked))
    program.add_listener(kind, sink)
    try:
        why = await sink.done
    finally:
        program.remove_listener(kind, sink)
    if why != "ended" or transport.is_closing():
        raise asyncio.CancelledError  # nothing more can be written: aiohttp just drops the connection
    return response


async def hls_playlist(request: web.Request) -> web.Response:
    """``GET /r/{room_id}/hls/live.m3u8``: the live media playlist (segments of at most 2 s)."""
    _, program = program_of(request)
    hls = program.use_hls()
    if not hls.segments.segments and not await hls.wait_ready(FIRST_SEGMENT_TIMEOUT_S):
        raise ApiError("internal", "the program made no segment in time")
    return web.Response(
        text=hls.segments.playlist(), content_type="application/vnd.apple.mpegurl",
        headers={"Cache-Control": "no-cache", "Access-Control-Allow-Origin": "*"},
    )


async def hls_segment(request: web.Request) -> web.Response:
    """``GET /r/{room_id}/hls/{sequence}.aac``: one segment of the window (ADTS AAC)."""
    _, program = program_of(request)
    try:
        sequence = int(request.match_info["sequence"])
    except ValueError:
        raise ApiError("not_found", "no such segment") from None
    hls = program.hls
    segment = hls.segments.segment(sequence) if hls is not None else None
    if hls is None or segment is None:
        raise ApiError("not_found", "no such segment (it left the window, or is not made yet)")
    hls.touch()
    return web.Response(
        body=segment.data, content_type="audio/aac",
        headers={"Cache-Control": "max-age=60", "Access-Control-Allow-Origin": "*"},
    )


def bound_kernel_buffer(transport: asyncio.BaseTransport) -> None:
    """A fixed send buffer (the kernel doubles it): a listener who stops reading fills it and then
    ours within seconds, and is dropped, instead of the kernel's autotuning holding megabytes for it."""
    sock = transport.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, KERNEL_SEND_BUFFER)


def _header_text(text: str) -> str:
    """A header value: one line, at most 200 characters."""
    return " ".join(text.split())[:200]
