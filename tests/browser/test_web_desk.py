"""The DJ's desk and one clock, in real headless Chromium against the real server.

The host goes live from `/`, uploads a real FLAC (made here with PyAV, tagged)
from the page with a progress bar, finds it by a partial, accent-free,
differently cased search, queues it, reorders and removes queue entries from
the keyboard, seeks, pauses and plays. Two listeners in their own contexts see
"Up next" read-only and the track in now playing; the progress they display
agrees within 100 ms, and the host's agrees with the server's own statement.
"""

from __future__ import annotations

import json
import re
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest
from playwright.sync_api import Page, expect

from benchmarks.server import LocalServer
from tests.audio_helpers import write_audio

from .helpers import diagnostics, go_live, join

pytestmark = pytest.mark.browser

TITLE = "Café Crème Chord"
ARTIST = "Zoë Ensemble"
ALBUM = "Accents, Vol. 1"
SYNC_TOLERANCE_MS = 100


def chord(seconds: float = 20.0, rate: int = 48_000) -> np.ndarray:
    """A C major chord, stereo ``(n, 2)``, faded in over 50 ms and out over 200 ms."""
    t = np.arange(int(rate * seconds)) / rate
    mono = sum(np.sin(2 * np.pi * f * t) for f in (261.63, 329.63, 392.0)) / 3 * 0.4
    envelope = np.minimum(1.0, np.minimum(t / 0.05, (seconds - t) / 0.2))
    return np.stack([mono * envelope] * 2, axis=1)


# What the page displays now: its last computed position (`data-position-ms`,
# at `data-perf-ms`) carried forward to this instant on the page's own clock.
READ_PROGRESS = """() => {
  const d = document.querySelector('#np-progress').dataset;
  const since = performance.now() - Number(d.perfMs);
  return { track: d.trackId, state: d.state,
           pos: Number(d.positionMs) + (d.state === 'playing' ? since : 0),
           serverNow: Number(d.serverMs) + since };
}"""


def read_progress(page: Page) -> dict:
    """The displayed position, stamped with the midpoint of the call on this process's
    monotonic clock, which is the server's clock (`server_ms` is CLOCK_MONOTONIC in ms)."""
    t0 = time.monotonic()
    r = page.evaluate(READ_PROGRESS)
    t1 = time.monotonic()
    r["at"] = (t0 + t1) / 2 * 1000
    r["rtt"] = (t1 - t0) * 1000
    return r


def server_now_playing(server: LocalServer, room_id: str) -> dict:
    with urllib.request.urlopen(f"{server.url}/api/rooms/{room_id}", timeout=5) as resp:
        return json.loads(resp.read())["now_playing"]


def stage_position(np_: dict, at_ms: float) -> float:
    """Where the server says the stage's music is at server time `at_ms`."""
    if np_["paused"]:
        return float(np_["position_ms"])
    return np_["position_ms"] + (at_ms - np_["server_ms"])


def queue_titles(page: Page) -> list[str]:
    return page.locator("#queue-list .q-title").all_text_contents()


@pytest.mark.timeout(70)
def test_desk_upload_queue_and_progress_in_sync(  # type: ignore[no-untyped-def]
        new_page, live_server: LocalServer, tmp_path: Path) -> None:
    flac = write_audio(tmp_path / "cafe creme.flac", signal=chord(), title=TITLE, artist=ARTIST, album=ALBUM)

    host = new_page()
    room_id = go_live(host, "Chords at Night", "DJ Chord")
    join(host, "DJ Chord")
    expect(host.locator("#desk")).to_be_visible()
    expect(host.locator("#library-results li").first).to_be_visible()  # the library lists itself

    ears = [new_page(), new_page()]
    for i, page in enumerate(ears, 1):
        page.goto(f"/r/{room_id}")
        join(page, f"Ears {i}")
        expect(page.locator("#desk")).to_be_hidden()
        expect(page.locator("#np-seek")).to_be_hidden()

    # Not audio: the server's own message shows.
    host.set_input_files("#upload-file", files=[{
        "name": "notes.mp3", "mimeType": "audio/mpeg", "buffer": b"these are not sounds\n" * 64}])
    expect(host.locator("#upload-status")).to_have_text(re.compile(r"^Upload failed: Not an audio file"))
    expect(host.locator("#upload-status")).to_have_class(re.compile(r"\berror\b"))
    expect(host.locator("#upload-queue")).to_be_hidden()

    # The real file: progress to 100 %, then "Added <title>", and it is in the library. The upload
    # names the room (with workers, the room's own worker takes it).
    with host.expect_request(lambda r: r.method == "POST" and "/api/tracks" in r.url) as posted:
        host.set_input_files("#upload-file", str(flac))
    assert posted.value.url.endswith(f"/api/tracks?room_id={room_id}"), posted.value.url
    expect(host.locator("#upload-status")).to_have_text(f"Added {TITLE}", timeout=20_000)
    expect(host.locator("#upload-progress")).to_have_attribute("aria-valuenow", "100")
    expect(host.locator("#upload-percent")).to_have_text("100%")
    expect(host.locator("#library-results")).to_contain_text(TITLE)

    # Search: part of the title, other case, no accents (prefix on the last word).
    search = host.get_by_label("Search the library")
    search.fill("CAFE creme ch")
    expect(host.locator("#library-status")).to_contain_text("for “CAFE creme ch”")
    hit = host.locator("#library-results li").first
    expect(hit).to_contain_text(TITLE)
    expect(hit).to_contain_text(ARTIST)
    expect(hit).to_contain_text(ALBUM)
    expect(hit).to_contain_text("0:20")

    # Queue it from the upload's offer, and a demo track from the search.
    offer = host.locator("#upload-queue")
    expect(offer).to_have_attribute("aria-label", f"Add {TITLE} to the queue")
    offer.click()
    expect(host.locator("#desk-status")).to_have_text(f"Queued {TITLE}.")
    search.fill("low ti")
    host.get_by_role("button", name="Add Low Tide to the queue").click()
    expect(host.locator("#queue-list .queue-item")).to_have_count(2)
    assert queue_titles(host) == [TITLE, "Low Tide"]
    for page in ears:  # "Up next", read-only
        expect(page.locator("#queue-list .queue-item")).to_have_count(2)
        expect(page.locator("#queue-list button")).to_have_count(0)

    # Reorder and remove from the keyboard; focus stays with the entry that moved.
    host.get_by_role("button", name="Move Low Tide up").focus()
    host.keyboard.press("Enter")
    expect(host.locator("#queue-list .q-title").first).to_have_text("Low Tide")
    expect(ears[0].locator("#queue-list .q-title").first).to_have_text("Low Tide")
    focused = "document.activeElement && document.activeElement.getAttribute('aria-label')"
    assert host.evaluate(focused) == "Move Low Tide down"  # "up" is disabled at the top
    host.keyboard.press("Enter")
    expect(host.locator("#queue-list .q-title").first).to_have_text(TITLE)
    host.get_by_role("button", name="Remove Low Tide from the queue").focus()
    host.keyboard.press("Enter")
    expect(host.locator("#queue-list .queue-item")).to_have_count(1)
    expect(ears[1].locator("#queue-list .queue-item")).to_have_count(1)
    expect(ears[1].locator("#queue-list")).to_contain_text(TITLE)

    # Crossfade and ducking from their inputs (welcome's music_settings filled them in).
    expect(host.get_by_label("Crossfade (seconds)")).to_have_value("3")
    expect(host.get_by_label("Ducking under voices (dB)")).to_have_value("12")
    host.get_by_label("Crossfade (seconds)").fill("0")
    host.get_by_label("Crossfade (seconds)").press("Tab")
    expect(host.locator("#desk-status")).to_have_text("Crossfade: 0 s.")
    host.get_by_label("Ducking under voices (dB)").fill("18")
    host.get_by_label("Ducking under voices (dB)").press("Tab")
    expect(host.locator("#desk-status")).to_have_text("Ducking: 18 dB.")
    host.get_by_label(re.compile("^Music level")).focus()
    for _ in range(5):
        host.keyboard.press("ArrowLeft")
    expect(host.locator("#music-gain-value")).to_have_text(re.compile(r"^\d+%$"))
    expect(host.locator("#desk-status")).not_to_have_class(re.compile(r"\berror\b"))

    # Skip: the queue's head plays, for the host at once, for listeners when they hear it.
    host.get_by_role("button", name="Skip").click()
    expect(host.locator("#np-title")).to_have_text(TITLE)
    expect(host.locator("#np-state")).to_have_text("Playing")
    expect(host.locator("#queue-empty")).to_be_visible()
    track_id = host.locator("#np-progress").get_attribute("data-track-id")
    assert track_id
    for page in ears:
        expect(page.locator("#np-title")).to_have_text(TITLE)
        expect(page.locator("#np-artist")).to_have_text(f"by {ARTIST}")
        expect(page.locator("#np-state")).to_have_text("Playing")

    # Seek from the keyboard on the bar's slider: the server's position jumps ahead.
    before = server_now_playing(live_server, room_id)
    host.locator("#np-seek").focus()
    host.keyboard.press("ArrowRight")
    host.keyboard.press("ArrowRight")  # both presses add up to one seek, 2 s ahead
    time.sleep(0.9)
    after = server_now_playing(live_server, room_id)
    now = time.monotonic() * 1000
    jump = stage_position(after, now) - stage_position(before, now)
    assert after["track"]["track_id"] == track_id
    assert 1000 <= jump <= 2600, f"seek moved the music by {jump:.0f} ms"

    # One clock: the listeners' bars agree, the host's agrees with the server.
    time.sleep(1.5)  # past the audience delay, so the listeners hear the seek too
    samples = []
    for _ in range(6):
        a, b, h = read_progress(ears[0]), read_progress(ears[1]), read_progress(host)
        np_ = server_now_playing(live_server, room_id)
        samples.append({
            "listeners_ms": (b["pos"] - (b["at"] - a["at"])) - a["pos"],
            "host_vs_server_ms": h["pos"] - stage_position(np_, h["at"]),
            "audience_delay_ms": stage_position(np_, a["at"]) - a["pos"],
            "clock_err_ms": [round(x["serverNow"] - x["at"], 1) for x in (a, b, h)],
            "read_rtt_ms": [round(x["rtt"], 1) for x in (a, b, h)],
            "states": [x["state"] for x in (a, b, h)], "tracks": [x["track"] for x in (a, b, h)],
        })
        time.sleep(0.2)
    info = json.dumps(samples, indent=1) + "\n" + diagnostics(host, *ears)
    print("progress sync samples:", json.dumps([
        {k: (round(v, 1) if isinstance(v, float) else v) for k, v in s.items()} for s in samples]))
    for s in samples:
        assert s["states"] == ["playing"] * 3 and s["tracks"] == [track_id] * 3, info
        assert abs(s["listeners_ms"]) < SYNC_TOLERANCE_MS, info
        assert abs(s["host_vs_server_ms"]) < SYNC_TOLERANCE_MS, info
        assert -SYNC_TOLERANCE_MS < s["audience_delay_ms"] < 1000 + SYNC_TOLERANCE_MS, info

    # Paused shows as paused, for the listeners too; then it plays on.
    host.get_by_role("button", name="Pause music").click()
    expect(host.locator("#np-state")).to_have_text("Paused")
    for page in ears:
        expect(page.locator("#np-state")).to_have_text("Paused")
    held = [read_progress(p)["pos"] for p in ears]
    assert abs(held[0] - held[1]) < SYNC_TOLERANCE_MS, held
    host.get_by_role("button", name="Play music").click()
    for page in (host, *ears):
        expect(page.locator("#np-state")).to_have_text("Playing")
