"""Real Chromium forced through a real coturn: the listener hears the music only by the relay.

The server runs with ``--turn-url``, ``--turn-secret`` and
``--ice-transport-policy relay``: the page then gathers relay candidates only,
so every audio packet crosses coturn (tests/daemons.py, on loopback). With a
secret coturn does not share, there is no path at all, and the page must say
why instead of spinning on "Connecting audio…".
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from benchmarks.server import LocalServer
from tests.daemons import Coturn
from tests.helpers import create_room_sync

from .helpers import ANALYSE_AUDIO, diagnostics, join, mic_context, open_page, tap_to_listen_if_needed

pytestmark = pytest.mark.browser
# ANALYSE_AUDIO listens for a voice too; these rooms have none, so it listens for
# the whole window and reports the music's loudest 186 ms within it.
LISTEN_S = 4

SECRET = "browser-test-static-auth-secret"
RELAY_MESSAGE = re.compile(r"Cannot reach the audio relay \(TURN\)")

# Runs in the page: the sub connection's configuration and the candidate pair carrying its audio.
ROUTE = """
async () => {
  const pc = window.onair.pcs.sub;
  if (!pc) return null;
  const stats = await pc.getStats();
  let pairId = null;
  stats.forEach((s) => {
    if (s.type === 'transport' && s.selectedCandidatePairId) pairId = s.selectedCandidatePairId;
  });
  const pair = pairId ? stats.get(pairId) : null;
  const local = pair ? stats.get(pair.localCandidateId) : null;
  const types = [];
  stats.forEach((s) => { if (s.type === 'local-candidate') types.push(s.candidateType); });
  return { policy: pc.getConfiguration().iceTransportPolicy, localTypes: types,
           selectedLocal: local ? local.candidateType : null,
           bytesReceived: pair ? pair.bytesReceived : 0 };
}
"""


class RelayedServer(LocalServer):
    """``onair serve`` (benchmarks.server) handing the page coturn's URL and forcing relay."""

    def __init__(self, data_dir: Path, turn_url: str, secret: str, ttl_s: int = 3600) -> None:
        super().__init__(data_dir)
        self.turn_flags = [f"--turn-url={turn_url}", f"--turn-secret={secret}", f"--turn-ttl={ttl_s}",
                           "--ice-transport-policy", "relay"]

    @property
    def command(self) -> list[str]:
        return [*super().command, *self.turn_flags]


@pytest.fixture(scope="module")
def coturn(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Coturn]:
    with Coturn(tmp_path_factory.mktemp("coturn"), SECRET) as server:
        yield server


@pytest.fixture(scope="module")
def relayed(tmp_path_factory: pytest.TempPathFactory, coturn: Coturn) -> Iterator[LocalServer]:
    with RelayedServer(tmp_path_factory.mktemp("onair-relayed"), coturn.url, SECRET) as server:
        yield server


@pytest.fixture(scope="module")
def misconfigured(tmp_path_factory: pytest.TempPathFactory, coturn: Coturn) -> Iterator[LocalServer]:
    """The operator copied the wrong secret: coturn refuses every credential this server mints."""
    with RelayedServer(tmp_path_factory.mktemp("onair-wrong"), coturn.url, "not-coturns-secret") as server:
        yield server


@pytest.fixture(scope="module")
def short_lived(tmp_path_factory: pytest.TempPathFactory, coturn: Coturn) -> Iterator[LocalServer]:
    """Credentials that last 4 s: a page open longer holds a dead one."""
    with RelayedServer(tmp_path_factory.mktemp("onair-ttl"), coturn.url, SECRET, ttl_s=4) as server:
        yield server


@pytest.fixture
def page_on(browser) -> Iterator[Callable[[LocalServer], Page]]:  # type: ignore[no-untyped-def]
    """A fresh page on ``server`` (microphone granted, as the other browser tests do)."""
    contexts = []

    def make(server: LocalServer) -> Page:
        contexts.append(mic_context(browser, server.url))
        return open_page(contexts[-1])

    yield make
    for ctx in contexts:
        ctx.close()


@pytest.mark.timeout(60)
def test_a_listener_forced_to_relay_hears_the_music_through_coturn(
    page_on: Callable[[LocalServer], Page], relayed: LocalServer, coturn: Coturn
) -> None:
    room = create_room_sync(relayed.url, "Over the relay")
    page = page_on(relayed)
    page.goto(room["room_url"])
    join(page, "Far away")
    tap_to_listen_if_needed(page)

    heard = page.evaluate(ANALYSE_AUDIO, {"toneHz": 1000.0, "seconds": LISTEN_S})
    route = page.evaluate(ROUTE)
    info = f"{heard}\n{route}\n{diagnostics(page)}\n{relayed.log_tail()}"
    assert heard["music"] and heard["musicRms"] > 0.01, f"no music through the relay: {info}"
    assert route["policy"] == "relay", info
    assert route["localTypes"] and set(route["localTypes"]) == {"relay"}, info
    assert route["selectedLocal"] == "relay" and route["bytesReceived"] > 10_000, info
    # coturn saw the allocation, under a username the server minted ("<expiry>:<id>").
    allocated = re.findall(r"username=<(\d{10}):[\w-]+>, lifetime", coturn.log())
    assert allocated, f"coturn saw no allocation: {info}\n{coturn.log()[-3000:]}"
    expect(page.locator("#quality")).not_to_have_text(RELAY_MESSAGE)


@pytest.mark.timeout(60)
def test_a_page_open_longer_than_its_credential_fetches_a_fresh_one(
    page_on: Callable[[LocalServer], Page], short_lived: LocalServer, coturn: Coturn
) -> None:
    room = create_room_sync(short_lived.url, "Late joiner")
    page = page_on(short_lived)
    page.goto(room["room_url"])
    loaded = page.evaluate("fetch('/api/config').then((r) => r.json())")["ice_servers"][-1]["username"]
    page.wait_for_timeout(6_000)  # what the page loaded with has expired: coturn would refuse it
    join(page, "Late")
    heard = page.evaluate(ANALYSE_AUDIO, {"toneHz": 1000.0, "seconds": LISTEN_S})
    info = f"{heard}\n{diagnostics(page)}\n{short_lived.log_tail()}"
    assert heard["music"] and heard["musicRms"] > 0.01, f"no music after the credential expired: {info}"
    expiries = [int(e) for e in re.findall(r"username=<(\d{10}):[\w-]+>, lifetime", coturn.log())]
    assert max(expiries) >= int(loaded.split(":")[0]) + 5, (loaded, expiries)


@pytest.mark.timeout(60)
def test_with_a_wrong_secret_no_audio_arrives_and_the_page_says_why(
    page_on: Callable[[LocalServer], Page], misconfigured: LocalServer
) -> None:
    room = create_room_sync(misconfigured.url, "Relay refused")
    page = page_on(misconfigured)
    page.goto(room["room_url"])
    join(page, "Far away", wait_audio=False)

    expect(page.locator("#quality")).to_have_text(RELAY_MESSAGE, timeout=15_000)
    expect(page.locator("#quality")).to_contain_text("refused our credentials")
    expect(page.locator("#relay-problem")).to_be_visible()  # a lasting banner, not only the small print
    expect(page.locator("#relay-problem")).to_contain_text("refused our credentials")
    heard = page.evaluate(ANALYSE_AUDIO, {"toneHz": 1000.0, "seconds": 3})
    route = page.evaluate(ROUTE)
    info = f"{heard}\n{route}\n{diagnostics(page)}\n{misconfigured.log_tail()}"
    assert heard["musicRms"] == 0, f"audio arrived without a relay: {info}"
    assert route is None or (route["localTypes"] == [] and route["bytesReceived"] == 0), info
    expect(page.locator("#conn-state")).not_to_have_text(re.compile(r"^Live"))
