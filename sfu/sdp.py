"""Small SDP edits and checks the SFU needs (text in, text out)."""

from __future__ import annotations

import re

from aiortc.exceptions import InvalidAccessError, InvalidStateError, OperationError

_MEDIA = re.compile(r"^m=(\w+) ", re.M)


def sections(sdp: str) -> list[str]:
    """The media sections of ``sdp`` (each starting at its ``m=`` line)."""
    starts = [m.start() for m in _MEDIA.finditer(sdp)]
    return [sdp[a:b] for a, b in zip(starts, starts[1:] + [len(sdp)], strict=True)]


def _mid(section: str) -> str | None:
    found = re.search(r"^a=mid:(\S+)", section, re.M)
    return found.group(1) if found else None


def add_opus_fmtp(sdp: str, stereo_mids: set[str]) -> str:
    """Give every Opus m-line an fmtp (in-band FEC), stereo on ``stereo_mids``."""
    first = _MEDIA.search(sdp)
    out = [sdp[: first.start()] if first else sdp]
    for section in sections(sdp):
        found = re.search(r"^a=rtpmap:(\d+) opus/48000/2\r?$", section, re.M | re.I)
        if found and f"a=fmtp:{found.group(1)} " not in section:
            params = "minptime=10;useinbandfec=1"
            if _mid(section) in stereo_mids:
                params += ";stereo=1;sprop-stereo=1"
            line = found.group(0)
            eol = "\r\n" if line.endswith("\r") else "\n"
            section = section.replace(
                line, f"{line.rstrip()}{eol}a=fmtp:{found.group(1)} {params}", 1
            )
        out.append(section)
    return "".join(out)


# What aiortc raises for a description it cannot use (bad syntax, wrong state). Its
# parser also fails with AttributeError/AssertionError/TypeError on some malformed
# lines (no a=setup, a bare a=candidate, a bad c= line): those are bad input too.
NEGOTIATION_ERRORS: tuple[type[Exception], ...] = (
    ValueError, InvalidAccessError, InvalidStateError, OperationError, KeyError, IndexError,
    AttributeError, AssertionError, TypeError,
)


class SdpError(ValueError):
    """An SDP that cannot be accepted, with a reason for the client."""


def check_publish_offer(sdp: str) -> None:
    """A ``pub`` offer: exactly one audio m-line, sendonly, offering Opus."""
    if not isinstance(sdp, str) or not sdp.startswith("v=0"):
        raise SdpError("sdp must be a session description starting with v=0")
    media = sections(sdp)
    if len(media) != 1 or not media[0].startswith("m=audio "):
        raise SdpError("the pub offer must have exactly one audio m-line")
    if not re.search(r"^a=sendonly\r?$", media[0], re.M):
        raise SdpError("the pub offer's audio m-line must be sendonly")
    if not re.search(r"^a=rtpmap:\d+ opus/48000", media[0], re.M | re.I):
        raise SdpError("the pub offer must offer Opus 48 kHz")


def check_answer(sdp: str) -> None:
    """A ``sub`` answer: audio m-lines that only receive (the server sends, never listens)."""
    if not isinstance(sdp, str) or not sdp.startswith("v=0") or "m=audio" not in sdp:
        raise SdpError("sdp must be an answer with audio m-lines")
    for section in sections(sdp):
        if re.search(r"^a=(sendrecv|sendonly)\r?$", section, re.M):
            raise SdpError("the sub answer may only receive (recvonly or inactive)")
