"""One clock, two feeds: listeners hear the host's voice over the music as the host did.

The echo host (tests/echo_client.py) hears the music, plays it on a sound card that takes 150 ms
(output latency, told in ``stats`` as a browser tells its own), hears it again and sends it as its
voice, decoded and encoded again as every real client does. A listener gets the music twice: on
the music track and, through the host, on the voice track; the difference of the two arrival
times of the same sound (found by cross-correlation, the music being irregular clicks) is the
offset the listener hears between the music and the host's voice.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from tests.clients import RoomClient
from tests.echo_client import ClicksRoom, EchoHost, clicks_room, measure, play_clicks
from tests.helpers import MakeServer, close_all, wait_for

HOLD_MS = 150.0


async def echo_host(show: ClicksRoom) -> EchoHost:
    host = await EchoHost(show.base_url, show.room, output_ms=HOLD_MS).go_on_air()
    await play_clicks(host, show.track_id)
    return host


async def listener_offset(show: ClicksRoom, voice_of: str, name: str) -> float:
    client = await RoomClient(show.base_url, show.room["room_id"], name).connect()
    try:
        return await measure(client, voice_of, 4.0)
    finally:
        await client.close()


async def test_listeners_hear_voice_and_music_as_the_host_did(
    make_server: MakeServer, tmp_path: Path
) -> None:
    show = await clicks_room(make_server, tmp_path)
    host = await echo_host(show)
    await asyncio.sleep(5.0)  # the audience delay follows the stats (or the measure) within a second
    first = await listener_offset(show, host.participant_id, "First")
    second = await listener_offset(show, host.participant_id, "Later")
    # On the live feed (a stage member) the voice comes back a whole loop late.
    moderator = await RoomClient(show.base_url, show.room["room_id"], "Mara").connect()
    await host.request({"type": "make_moderator", "participant_id": moderator.participant_id})
    await wait_for(lambda: any(t["kind"] == "voice" for t in moderator.tracks) and moderator.sub)
    live = await measure(moderator, host.participant_id, 4.0)
    print(
        f"\nvoice - music offset: audience feed {first:+.1f} ms and {second:+.1f} ms "
        f"(joined later); live feed {live:.1f} ms"
    )
    assert abs(first) < 10
    assert abs(second) < 10
    assert live > HOLD_MS + 20  # the card's 150 ms, the Opus frame, aiortc's jitter buffer ...
    await close_all(host, moderator)
