"""Sync for real clients: an echo host that decodes the music and encodes its voice again, as every
real client does, lines up with the music at a listener within 10 ms, whatever D the show started
with: with the server's estimate of its loop alone (its stats plus the codec's part) and with the
loop measured (its voice correlated with the music, ``sfu.feeds.LoopMeter``).
(tests/echo_client.py: the client, its measured stages, the listener's measure.)"""

from __future__ import annotations

import asyncio
from concurrent.futures import Future
from pathlib import Path

import numpy as np
import pytest

from mixer.encoder import OpusFrameEncoder
from sfu.feeds import (
    CODEC_MS,
    MEASURE_EVERY_MS,
    RETRY_MS,
    STALE_MS,
    LoopMeter,
    MemberLatency,
    measure_loop,
    timeline,
)
from sfu.producer import Counters, Producer
from tests.clients import RATE, RoomClient
from tests.echo_client import (
    ClicksRoom,
    EchoHost,
    click_signal,
    clicks_room,
    measure,
    opus_lookahead_ms,
    play_clicks,
)
from tests.helpers import MakeServer, close_all, wait_for

OUTPUT_MS, INPUT_MS = 12.0, 8.0  # the echo host's simulated sound card, told in stats
LISTEN_S = 5.0

# What the host tells first, before the echo host's true figures: the D the show starts with.
STARTS = {
    "no stats yet": None,
    "D starts 400 ms too high": {"jitter_buffer_ms": 400.0, "output_latency_ms": 0, "input_latency_ms": 0},
    "D starts too low": {"jitter_buffer_ms": 0.0, "output_latency_ms": 0, "input_latency_ms": 0},
}


async def start_show(show: ClicksRoom, first_stats: dict | None, *, measured: bool,
                     **card: float) -> EchoHost:
    """The host plays the click track and tells ``first_stats``; then the echo host (``card``: its
    sound card) takes over. ``measured``: the server may measure its loop."""
    show.router.meter.enabled = measured
    host = RoomClient(show.base_url, show.room["room_id"], "Echo", token=show.room["host_token"])
    await host.connect()
    await play_clicks(host, show.track_id)
    if first_stats is not None:
        assert (await host.request({"type": "stats", **first_stats}))["type"] == "ack"
        await asyncio.sleep(1.2)  # D is set from them
    await host.close()
    card = {"output_ms": OUTPUT_MS, "input_ms": INPUT_MS, **card}
    return await EchoHost(show.base_url, show.room, **card).go_on_air()


def member(show: ClicksRoom, host: EchoHost) -> MemberLatency:
    return show.router.members[host.participant_id]


async def settle(show: ClicksRoom, host: EchoHost, measured: bool) -> None:
    """Two rounds of stats (or the loop measured); then D and the voice's delay follow within a
    second."""
    await asyncio.sleep(4.0)
    if measured:
        await wait_for(lambda: member(show, host).measured_ms is not None, 10, what="the loop measured")
    await asyncio.sleep(1.5)


@pytest.mark.parametrize("measured", [False, True], ids=["estimated", "measured"])
@pytest.mark.parametrize("start", list(STARTS))
async def test_an_echo_host_that_reencodes_lines_up_within_10_ms(
    make_server: MakeServer, tmp_path: Path, start: str, measured: bool
) -> None:
    show = await clicks_room(make_server, tmp_path)
    host = await start_show(show, STARTS[start], measured=measured)
    listener = await RoomClient(show.base_url, show.room["room_id"], "Lis").connect()
    mod = await RoomClient(show.base_url, show.room["room_id"], "Mara").connect()
    try:
        made = await host.request({"type": "make_moderator", "participant_id": mod.participant_id})
        assert made["type"] == "ack"
        await settle(show, host, measured)
        audience, live = await asyncio.gather(measure(listener, host.participant_id, LISTEN_S),
                                              measure(mod, host.participant_id, LISTEN_S))
        loop = member(show, host)
        stages = "; ".join(f"{k} {v:.1f}" for k, v in host.stages().items())
        print(f"\n[{start}, {'measured' if measured else 'estimated'}] audience feed: voice - music "
              f"{audience:+.1f} ms. Loop on the live feed {live:.1f} ms; the server's estimate "
              f"{loop.estimate_ms():.1f} ms (codec's part {CODEC_MS} ms), its measure {loop.measured_ms} ms, "
              f"D {show.router.audience.delay_ms} ms. Stages (ms): {stages}; card: {host.card.late} "
              f"chunks late, {host.card.underruns} silent")
        assert abs(audience) < 10, f"{start}: the voice is {audience:+.1f} ms off the music"
        assert (loop.measured_ms is not None) == measured
        if loop.measured_ms is not None:
            assert abs(live - loop.measured_ms) < 5, "the measure is off"
        else:
            assert abs(live - loop.estimate_ms()) < 10, "the server's estimate of the loop is off"
    finally:
        await close_all(host, listener, mod)


@pytest.mark.parametrize("measured", [False, True], ids=["estimated", "measured"])
async def test_a_host_that_tells_50_ms_too_little(
    make_server: MakeServer, tmp_path: Path, measured: bool
) -> None:
    """A host whose sound card takes 50 ms more than it tells: with the estimate alone, its voice
    reaches the audience about 50 ms after the music it echoes (the listener's measure sees it);
    measured, it lines up."""
    show = await clicks_room(make_server, tmp_path)
    host = await start_show(show, None, measured=measured, output_ms=OUTPUT_MS + 50,
                            told_output_ms=OUTPUT_MS)
    listener = await RoomClient(show.base_url, show.room["room_id"], "Lis").connect()
    try:
        await settle(show, host, measured)
        audience = await measure(listener, host.participant_id, LISTEN_S)
        print(f"\nan echo host 50 ms slower than it tells, {'measured' if measured else 'estimated'}: "
              f"voice - music {audience:+.1f} ms")
        if measured:
            assert abs(audience) < 10, audience
        else:
            assert 40 < audience < 60, audience
    finally:
        await close_all(host, listener)


def test_the_encoders_lookahead_is_six_and_a_half_ms() -> None:
    """The part of the loop no client reports that is a codec's own: libopus delays its input by
    312 samples at 48 kHz (and the 20 ms frame waits for its last sample)."""
    assert abs(opus_lookahead_ms() - 6.5) < 0.1


# --- the loop meter, on packets made here -----------------------------------------------------------


def packets_of(signal: np.ndarray, first_ts: int, t0: float) -> list[tuple[int, float, bytes]]:
    """``signal`` (n, 2) as Opus packets that reached (or left) the server every 20 ms from ``t0``."""
    encoder = OpusFrameEncoder()
    return [(first_ts + k * 960, t0 + k * 0.02, encoder.encode(signal[k * 960 : (k + 1) * 960]))
            for k in range(len(signal) // 960)]


def meter_case(voice: np.ndarray, arrives_s: float) -> float | None:
    music = click_signal(5.0, seed=11)
    sent = packets_of(music, 123_456, 1000.0)
    heard = packets_of(voice, 999_000_000, 1000.0 + arrives_s)
    return measure_loop(timeline(sent), timeline(heard[-150:]), 1000.0)


def noise(seconds: float, level: float, seed: int) -> np.ndarray:
    mono = np.random.default_rng(seed).uniform(-level, level, int(RATE * seconds)).astype(np.float32)
    return np.stack([mono, mono], axis=1)


def test_the_meter_finds_the_music_in_a_voice_that_talks_over_it() -> None:
    """The music comes back 100 ms into the voice's sound, whose packets arrive 23.4 ms late: a
    loop of 123.4 ms, under the host's own voice 16 dB louder than the music it picks up."""
    music = click_signal(5.0, seed=11)
    echo = np.concatenate([np.zeros((4800, 2), np.float32), music[:-4800]]) * 0.5
    talk = noise(5.0, 0.2, seed=5)
    loop = meter_case(echo + talk, 0.0234)
    assert loop is not None and abs(loop - 123.4) < 1.0, loop


def echoed(music: np.ndarray, delay_ms: float) -> np.ndarray:
    shift = int(RATE * delay_ms / 1000)
    return np.concatenate([np.zeros((shift, 2), np.float32), music[: len(music) - shift]])


def test_the_meter_follows_a_loop_that_moves_within_its_window() -> None:
    """A client's jitter buffer shrinking at once: the loop is 85 ms, then 63 ms from 1.9 s before
    the round (in the first half of the 3 s it correlates). The round says 63, not nothing (which
    would keep the stale 85 ms for another round or more), nor 85."""
    music = click_signal(5.0, seed=11)
    step = len(music) - int(1.9 * RATE)
    voice = np.concatenate([echoed(music, 85.0)[:step], echoed(music, 63.0)[step:]]) * 0.5
    loop = meter_case(voice, 0.0)
    assert loop is not None and abs(loop - 63.0) < 1.0, loop


def test_the_meter_measures_nothing_without_the_music_in_the_voice() -> None:
    assert meter_case(noise(5.0, 0.3, seed=6), 0.0) is None, "headphones: only the voice"
    assert meter_case(np.zeros((RATE * 5, 2), np.float32), 0.0) is None, "silence"


async def test_the_meter_listens_only_while_a_member_publishes_and_forgets_old_measures() -> None:
    counters = Counters()
    music, voice = Producer("music", "music", counters), Producer("voice", "a", counters)
    members = {"a": MemberLatency(rtcp_rtt_ms=10.0, stats={"jitter_buffer_ms": 50.0}, codec_ms=CODEC_MS)}
    meter = LoopMeter()
    meter.update(music, {"a": voice}, members, now_ms=0.0)
    assert music.heard and voice.heard, "an ear on the music and on the member's voice"
    estimate = 10.0 + 50.0 + CODEC_MS
    members["a"].measured(estimate - 40.0)  # a WebAudio echo: 40 ms of device latency never paid
    assert members["a"].loop_ms() == estimate - 40.0
    meter.update(music, {"a": voice}, members, now_ms=STALE_MS + 1.0)
    assert members["a"].measured_ms is None, "a measure not renewed for 10 s is forgotten"
    assert members["a"].loop_ms() == estimate - 40.0, "its correction of the estimate is not"
    members["a"].stats["jitter_buffer_ms"] = 70.0
    assert members["a"].loop_ms() == estimate - 40.0 + 20.0, "the estimate moves on from there"
    unknown_rtt = MemberLatency(stats={"jitter_buffer_ms": 50.0}, codec_ms=CODEC_MS)
    unknown_rtt.measured(80.0)
    assert unknown_rtt.correction_ms == 0.0, "no correction of an estimate made with the default RTT"
    meter.update(music, {}, members, now_ms=STALE_MS + 2.0)
    assert not music.heard and not voice.heard, "nobody publishes: no ear, no music encoded for it"
    meter.update(music, {"b": Producer("voice", "b", counters)}, members, now_ms=STALE_MS + 3.0)
    assert not music.heard, "a voice of someone not on stage (the green room) is not measured"
    meter.close()


def rounds(meter: LoopMeter, members: dict[str, MemberLatency], results: list[tuple[bool, float | None]],
           start_ms: float) -> float:
    """The meter takes ``results`` as rounds of measures 2 s apart; when it would measure next."""
    for n, result in enumerate(results):
        done: Future = Future()
        done.set_result({"a": result})
        meter._apply(done, members, now_ms=start_ms + n * MEASURE_EVERY_MS)  # type: ignore[arg-type]
    return meter._due["a"] - (start_ms + (len(results) - 1) * MEASURE_EVERY_MS)


def test_a_silent_voice_is_measured_again_soon_and_one_without_the_music_later() -> None:
    """A microphone not yet open (or muted) tells nothing: tried again 2 s later however often;
    a voice with sound but without the music three times in a row (headphones): 10 s later."""
    meter, members = LoopMeter(), {"a": MemberLatency(codec_ms=CODEC_MS)}
    assert rounds(meter, members, [(False, None)] * 5, 0.0) == MEASURE_EVERY_MS
    assert rounds(meter, members, [(True, None)] * 2, 10_000.0) == MEASURE_EVERY_MS
    assert rounds(meter, members, [(True, None)], 20_000.0) == RETRY_MS
    assert rounds(meter, members, [(True, 70.0)], 30_000.0) == MEASURE_EVERY_MS
    assert members["a"].measured_ms == 70.0


def test_the_meter_decodes_no_music_for_silent_voices() -> None:
    music = packets_of(click_signal(5.0, seed=11), 123_456, 1000.0)
    silent = packets_of(np.zeros((RATE * 3, 2), np.float32), 7, 1000.0)
    assert LoopMeter()._measure_all(music, {"a": silent}) == {"a": (False, None)}
