"""``sfu.aiortc_seams.fast_protect``: pylibsrtp's cffi call without its wrapper, byte for byte the same."""

from __future__ import annotations

import os
import struct

import pylibsrtp
import pytest
from pylibsrtp import Policy, Session

from sfu.aiortc_seams import fast_protect

PROFILES = [
    (Policy.SRTP_PROFILE_AEAD_AES_256_GCM, 32 + 12),
    (Policy.SRTP_PROFILE_AEAD_AES_128_GCM, 16 + 12),
    (Policy.SRTP_PROFILE_AES128_CM_SHA1_80, 16 + 14),
]


def _pair(profile: int, key_length: int) -> tuple[Session, Session]:
    key = os.urandom(key_length)
    policy = {"ssrc_type": Policy.SSRC_ANY_OUTBOUND, "srtp_profile": profile}
    return Session(policy=Policy(key=key, **policy)), Session(policy=Policy(key=key, **policy))


def _packet(seq: int, payload: bytes) -> bytes:
    return struct.pack("!BBHII", 0x80, 111, seq, seq * 960, 0xABCD) + payload


@pytest.mark.parametrize(("profile", "key_length"), PROFILES)
def test_same_bytes_as_session_protect(profile: int, key_length: int) -> None:
    plain, fast_session = _pair(profile, key_length)
    fast = fast_protect(fast_session)
    for seq in range(1, 200):
        packet = _packet(seq, os.urandom(seq % 97 + 1))
        assert fast(packet) == plain.protect(packet)


def test_a_receiver_with_the_key_reads_it() -> None:
    profile, key_length = PROFILES[0]
    key = os.urandom(key_length)
    sender = Session(policy=Policy(key=key, ssrc_type=Policy.SSRC_ANY_OUTBOUND, srtp_profile=profile))
    receiver = Session(policy=Policy(key=key, ssrc_type=Policy.SSRC_ANY_INBOUND, srtp_profile=profile))
    packet = _packet(7, b"opus frame")
    assert receiver.unprotect(fast_protect(sender)(packet)) == packet


def test_refuses_what_protect_refuses() -> None:
    plain, fast_session = _pair(*PROFILES[0])
    fast = fast_protect(fast_session)
    with pytest.raises(ValueError, match="too long"):
        fast(_packet(1, b"x" * 1400))
    with pytest.raises(ValueError, match="too long"):
        plain.protect(_packet(1, b"x" * 1400))
    fast(_packet(5, b"once"))
    with pytest.raises(pylibsrtp.Error):
        fast(_packet(5, b"once"))  # the same index again: libsrtp's replay check
