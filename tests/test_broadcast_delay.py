"""The broadcast delay: the audience hears music and voices that much later, still aligned; ``dump``
drops every voice packet still inside the delay while the music goes on without a gap."""

from __future__ import annotations

import asyncio
import statistics
import time
from collections import Counter

import aiohttp
import numpy as np
from aiohttp.test_utils import TestServer

from signaling.keys import REGISTRY
from tests.clients import RATE, EncodedToneTrack, RoomClient
from tests.helpers import close_all, wait_for

Key = tuple[bytes, bytes, bytes]


def keyed(payloads: list[bytes], times: list[float]) -> dict[Key, float]:
    """Each payload's time, keyed by it and the two before it (a tone or a loop repeats single
    payloads; runs of three tell them apart), for the keys seen exactly once."""
    keys = [(payloads[i - 2], payloads[i - 1], payloads[i]) for i in range(2, len(payloads))]
    counts = Counter(keys)
    return {k: t for k, t in zip(keys, times[2:], strict=True) if counts[k] == 1}


def arrivals(client: RoomClient, mid: str) -> dict[Key, float]:
    return keyed(client.payloads[mid], client.arrivals[mid])


def sent_at(track: EncodedToneTrack) -> dict[Key, float]:
    """When each payload the track sent was due to leave (monotonic)."""
    assert track._start is not None
    return keyed(track.sent, [track._start + i * 0.02 for i in range(len(track.sent))])


def lag_ms(earlier: dict[Key, float], later: dict[Key, float], since: float) -> float:
    """Median delay of the payloads seen at both ends (``later`` arrivals after ``since``)."""
    lags = [(t - earlier[p]) * 1000 for p, t in later.items() if p in earlier and t > since]
    assert len(lags) > 20, f"only {len(lags)} payloads matched"
    return statistics.median(lags)


async def stage_and_audience(base_url: str, room: dict) -> tuple[RoomClient, EncodedToneTrack,
                                                                   RoomClient, RoomClient]:
    """The host on air with a voice whose every frame differs (noise) and a track playing, a speaker
    (hears the stage live) and a listener (hears the audience feed)."""
    host = await RoomClient(base_url, room["room_id"], "Hosty", token=room["host_token"]).connect()
    noise = (np.random.default_rng(7).standard_normal((RATE * 60, 1)) * 0.1).astype(np.float32)
    track = EncodedToneTrack(0.0, signal=np.repeat(noise, 2, axis=1))
    await host.publish(track)
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{base_url}/api/tracks") as resp:
            first = (await resp.json())[0]
    assert (await host.request({"type": "queue_add", "track_id": first["track_id"]}))["type"] == "ack"
    speaker = await RoomClient(base_url, room["room_id"], "Sam").connect()
    listener = await RoomClient(base_url, room["room_id"], "Lis").connect()
    assert (await speaker.request({"type": "raise_hand"}))["type"] == "ack"
    promote = {"type": "promote", "participant_id": speaker.participant_id}
    assert (await host.request(promote))["type"] == "ack"
    await wait_for(lambda: any(t.get("participant_id") == host.participant_id for t in listener.tracks), 10)
    return host, track, speaker, listener


async def test_a_ten_second_delay_keeps_music_and_voice_aligned(
    server: TestServer, base_url: str, room: dict
) -> None:
    host, track, speaker, listener = await stage_and_audience(base_url, room)
    try:
        for bad in (3, 31, -1, "10"):
            refused = await host.request({"type": "broadcast_delay", "seconds": bad})
            assert refused["code"] == "bad_request", (bad, refused)
        refused = await listener.request({"type": "broadcast_delay", "seconds": 10})
        assert refused["code"] == "forbidden", refused
        assert (await host.request({"type": "broadcast_delay", "seconds": 10}))["type"] == "ack"
        changed = time.monotonic()
        await asyncio.sleep(13.0)  # the audience's gap (the delay grew by 10 s), then 3 s of show

        router = server.app[REGISTRY].get(room["room_id"]).router  # type: ignore[union-attr]
        stage_music = arrivals(speaker, speaker.mid_of("music"))
        music = lag_ms(stage_music, arrivals(listener, listener.mid_of("music")), changed + 10.5)
        voice_mid = listener.mid_of("voice", host.participant_id)
        voice = lag_ms(sent_at(track), arrivals(listener, voice_mid), changed + 10.5)
        expected_voice = router.voice_delays()[host.participant_id]
        print(f"\nbroadcast delay 10 s: music {music:.0f} ms after the stage (D + 10 s = "
              f"{router.lag_ms:.0f}), voice {voice:.0f} ms after it was spoken "
              f"(expected {expected_voice:.0f})")
        assert abs(music - router.lag_ms) < 100, (music, router.lag_ms)
        assert router.lag_ms >= 10_000
        assert abs(voice - expected_voice) < 100, (voice, expected_voice)
    finally:
        await close_all(host, speaker, listener)


async def test_dump_drops_the_voices_inside_the_delay_and_not_the_music(
    server: TestServer, base_url: str, room: dict
) -> None:
    host, track, speaker, listener = await stage_and_audience(base_url, room)
    try:
        assert (await host.request({"type": "broadcast_delay", "seconds": 10}))["type"] == "ack"
        await asyncio.sleep(12.0)
        voice_mid, music_mid = listener.mid_of("voice", host.participant_id), listener.mid_of("music")
        assert listener.arrivals[voice_mid][-1] > time.monotonic() - 0.5, "the listener hears the host again"
        refused = await listener.request({"type": "dump"})
        assert refused["code"] == "forbidden", refused

        dumped_at = time.monotonic()
        assert (await host.request({"type": "dump"}))["type"] == "ack"
        router = server.app[REGISTRY].get(room["room_id"]).router  # type: ignore[union-attr]
        voice_delay = router.voice_delays()[host.participant_id] / 1000
        await asyncio.sleep(voice_delay + 1.5)

        inside = {k for k, t in sent_at(track).items() if dumped_at - voice_delay + 0.1 < t < dumped_at - 0.1}
        heard = set(arrivals(listener, voice_mid))
        assert len(inside) > 100 and not inside & heard, f"{len(inside & heard)} dumped packets were heard"
        stretch = (dumped_at + 0.1, dumped_at + voice_delay - 0.1)
        quiet = [t for t in listener.arrivals[voice_mid] if stretch[0] < t < stretch[1]]
        assert not quiet, f"{len(quiet)} voice packets reached the audience inside the dumped stretch"
        assert listener.arrivals[voice_mid][-1] > dumped_at + voice_delay, "no voice after the delay"
        # the music goes on: no packet missing (by sequence number) and no pause a 200 ms jitter
        # buffer would not cover (arrival gaps on a loaded machine reach ~100 ms with or without dump)
        received = zip(listener.seqs[music_mid], listener.arrivals[music_mid], strict=True)
        during = [(seq, t) for seq, t in received if dumped_at - 0.5 < t < dumped_at + voice_delay]
        skips = [(b[0] - a[0]) % 65536 for a, b in zip(during, during[1:], strict=False)
                 if (b[0] - a[0]) % 65536 != 1]
        assert not skips, f"music packets missing across the dump: {skips[:5]}"
        gaps = [b[1] - a[1] for a, b in zip(during, during[1:], strict=False)]
        assert max(gaps) < 0.2, f"the music stopped for {max(gaps) * 1000:.0f} ms"
    finally:
        await close_all(host, speaker, listener)
