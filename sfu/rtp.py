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


_RTCP_HEADER = struct.Struct("!BBH")
_REPORT_BLOCK = struct.Struct("!I12xII")  # ssrc, (loss, highest sequence, jitter), LSR, DLSR
_SR, _RR = 200, 201


def report_blocks(data: bytes) -> list[tuple[int, int, int]]:
    """``(ssrc, lsr, dlsr)`` of every report block in a decrypted compound RTCP packet.

    Report blocks ride in SR (after the 20-byte sender info) and RR packets;
    other packets (SDES, BYE, feedback) are skipped. Parsing stops at the first
    packet whose header does not fit, keeping what came before.
    """
    blocks: list[tuple[int, int, int]] = []
    offset, end = 0, len(data)
    while offset + 4 <= end:
        first, packet_type, words = _RTCP_HEADER.unpack_from(data, offset)
        size = (words + 1) * 4
        if first >> 6 != 2 or offset + size > end:
            break
        if packet_type in (_SR, _RR):
            start = offset + 8 + (20 if packet_type == _SR else 0)
            for n in range(first & 0x1F):
                at = start + 24 * n
                if at + 24 > offset + size:
                    break
                blocks.append(_REPORT_BLOCK.unpack_from(data, at))
        offset += size
    return blocks
