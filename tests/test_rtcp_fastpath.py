"""Receiver reports read straight off the socket (``sfu.rtp.report_blocks``), against aiortc's own bytes."""

from __future__ import annotations

from aiortc.rtp import (
    RtcpReceiverInfo,
    RtcpRrPacket,
    RtcpSdesPacket,
    RtcpSenderInfo,
    RtcpSourceInfo,
    RtcpSrPacket,
)

from sfu.rtp import report_blocks, sender_report


def _block(ssrc: int, lsr: int, dlsr: int) -> RtcpReceiverInfo:
    return RtcpReceiverInfo(ssrc=ssrc, fraction_lost=3, packets_lost=7, highest_sequence=70_000,
                            jitter=12, lsr=lsr, dlsr=dlsr)


def test_blocks_of_a_compound_rr_with_sdes() -> None:
    rr = RtcpRrPacket(ssrc=0xAAAA, reports=[_block(0x1111, 0x12345678, 65_536), _block(0x2222, 5, 6)])
    sdes = RtcpSdesPacket(chunks=[RtcpSourceInfo(ssrc=0xAAAA, items=[(1, b"listener")])])
    assert report_blocks(bytes(rr) + bytes(sdes)) == [(0x1111, 0x12345678, 65_536), (0x2222, 5, 6)]


def test_blocks_of_an_sr_skip_its_sender_info() -> None:
    info = RtcpSenderInfo(ntp_timestamp=1 << 40, rtp_timestamp=960, packet_count=50, octet_count=8000)
    sr = RtcpSrPacket(ssrc=0xBBBB, sender_info=info, reports=[_block(0x3333, 0xCAFE, 99)])
    assert report_blocks(bytes(sr)) == [(0x3333, 0xCAFE, 99)]


def test_packets_without_blocks_give_none() -> None:
    assert report_blocks(sender_report(0x1, 1 << 32, 960, 1, 160, b"onair")) == []  # SR with 0 blocks + SDES
    assert report_blocks(bytes(RtcpRrPacket(ssrc=0xAAAA))) == []
    assert report_blocks(b"") == []


def test_malformed_input_keeps_what_parsed_and_never_raises() -> None:
    good = bytes(RtcpRrPacket(ssrc=0xAAAA, reports=[_block(0x1111, 1, 2)]))
    assert report_blocks(good[:-4]) == []  # the length says more than is there
    assert report_blocks(good + b"\x00\xc9\x00\x07") == [(0x1111, 1, 2)]  # version 0 after a good packet
    assert report_blocks(good + good[:10]) == [(0x1111, 1, 2)]  # a truncated second packet
    lying = bytearray(good)
    lying[0] = 0x80 | 5  # claims 5 blocks, holds 1
    assert report_blocks(bytes(lying)) == [(0x1111, 1, 2)]
    for junk in (b"\x80", b"\x80\xc9", bytes(range(256)), b"\xff" * 64):
        report_blocks(junk)
