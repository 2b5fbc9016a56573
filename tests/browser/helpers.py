"""Steps shared by the browser tests: joining, creating rooms, reading what a page hears."""

from __future__ import annotations

import json
import re
import urllib.request

from playwright.sync_api import Page, expect

from benchmarks.server import LocalServer

LIVE = re.compile(r"^Live")


def join(page: Page, name: str, *, wait_audio: bool = True) -> None:
    page.get_by_label("Your name").fill(name)
    page.get_by_role("button", name=re.compile(r"^Join")).click()
    expect(page.locator("#room-view")).to_be_visible()
    if wait_audio:
        expect(page.locator("#conn-state")).to_have_text(LIVE, timeout=15_000)


def tap_to_listen_if_needed(page: Page) -> None:
    tap = page.get_by_role("button", name="Tap to listen")
    if tap.is_visible():
        tap.click()


def create_room(server: LocalServer, title: str, host_name: str = "Somebody") -> dict:
    req = urllib.request.Request(
        f"{server.url}/api/rooms", method="POST",
        data=json.dumps({"title": title, "host_name": host_name}).encode(),
        headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=5) as resp:
        assert resp.status == 201
        return json.loads(resp.read())


def join_as_host(page: Page, room: dict, name: str, *, wait_audio: bool = True) -> None:
    """Open a room made over HTTP with its host token in localStorage, as the home page keeps it."""
    page.goto(room["room_url"])
    key = f"onair:host:{room['room_id']}"
    page.evaluate("([k, v]) => localStorage.setItem(k, v)", [key, room["host_token"]])
    join(page, name, wait_audio=wait_audio)
    expect(page.locator("#end-button")).to_be_visible()


def dismiss_rules(page: Page) -> None:
    """The rules card shows on entering; "Got it" puts it away."""
    got_it = page.get_by_role("button", name="Got it")
    expect(got_it).to_be_visible()
    got_it.click()
    expect(page.locator("#rules-card")).to_be_hidden()


def operator_get(server: LocalServer, path: str) -> object:
    auth = {"Authorization": f"Bearer {server.admin_token}"}
    req = urllib.request.Request(f"{server.url}{path}", headers=auth)
    with urllib.request.urlopen(req, timeout=5) as resp:
        return json.loads(resp.read())


def diagnostics(*pages: Page) -> str:
    return "\n".join(f"--- {p.url}\n" + "\n".join(p.console_lines[-20:]) for p in pages)  # type: ignore[attr-defined]


# Runs in a listener's page: one WebAudio analyser per voice <audio> element
# (remote audio reaches WebAudio only while it also plays in an element), each
# checked for a clear spectral peak at the tone its speaker sends.
ANALYSE_VOICES = """
async ({ voices, seconds }) => {
  const ctx = new AudioContext();
  await ctx.resume();
  const sink = ctx.createGain();
  sink.gain.value = 0;
  sink.connect(ctx.destination);
  const binHz = ctx.sampleRate / 8192;
  const out = {};
  const taps = voices.map(({ pid, hz }) => {
    const el = [...document.querySelectorAll('#audio-sink audio[data-kind="voice"]')]
      .find((a) => a.dataset.participantId === pid);
    const res = { found: !!(el && el.srcObject), hz, peakHz: null, peakDb: null, floorDb: null, ok: false };
    out[pid] = res;
    if (!res.found) return null;
    const an = ctx.createAnalyser();
    an.fftSize = 8192;
    an.smoothingTimeConstant = 0;
    ctx.createMediaStreamSource(el.srcObject).connect(an);
    an.connect(sink);
    return { an, res };
  }).filter(Boolean);
  const spec = new Float32Array(4096);
  const deadline = performance.now() + seconds * 1000;
  while (performance.now() < deadline && !taps.every((t) => t.res.ok)) {
    await new Promise((r) => setTimeout(r, 100));
    for (const { an, res } of taps) {
      if (res.ok) continue;
      an.getFloatFrequencyData(spec);
      let best = 2;
      for (let i = 3; i < spec.length; i++) if (spec[i] > spec[best]) best = i;
      const sorted = Array.from(spec).filter(Number.isFinite).sort((a, b) => a - b);
      const floor = sorted.length ? sorted[sorted.length >> 1] : null;
      if (!Number.isFinite(spec[best])) continue;
      res.peakHz = best * binHz; res.peakDb = spec[best]; res.floorDb = floor;
      res.ok = Math.abs(res.peakHz - res.hz) <= Math.max(50, binHz)
        && spec[best] > -80 && spec[best] > floor + 30;
    }
  }
  await ctx.close();
  return { binHz, voices: out };
}
"""
