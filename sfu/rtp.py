"""RTP and RTCP bytes for the fan-out path, built with struct (RFC 3550)."""

from __future__ import annotations

import struct
import time

RTP_HEADER = struct.Struct("!BBHII")
_NTP_EPOCH_OFFSET = 2_208_988_800  # seconds from 1900 to 1970


def ntp_now() -> int:
    """The current wall time as a 64-bit NTP timestamp."""
    now = time.time() + _NTP_EPOCH_OFFSET
    seconds = int(now)
    return (seconds << 32) | int((now - seconds) * (1 << 32))


def sender_report(
    ssrc: int, ntp: int, rtp_timestamp: int, packets: int, octets: int, cname: bytes
) -> bytes:
    """An RTCP compound packet: SR with no report blocks, then SDES CNAME."""
    sr = struct.pack(
        "!BBHIIIIII",
        0x80,
        200,
        6,
        ssrc,
        ntp >> 32,
        ntp & 0xFFFFFFFF,
        rtp_timestamp & 0xFFFFFFFF,
        packets & 0xFFFFFFFF,
        octets & 0xFFFFFFFF,
    )
    item = bytes((1, len(cname))) + cname
    chunk = struct.pack("!I", ssrc) + item + b"\x00"
    chunk += b"\x00" * (-len(chunk) % 4)
    sdes = struct.pack("!BBH", 0x81, 202, len(chunk) // 4) + chunk
    return sr + sdes
