"""Steps shared by the browser tests: Chromium's flags, pages, joining, the operator's API, and
what a page hears. (Rooms are made with tests.helpers.create_room_sync.)"""

from __future__ import annotations

import json
import os
import re
import urllib.request
from pathlib import Path

from playwright.sync_api import Browser, BrowserContext, Page, expect

from benchmarks.server import LocalServer

CHROMIUM = os.environ.get("ONAIR_CHROMIUM", "/usr/lib/chromium/chromium")
TONE_HZ = 1000.0
CALLER_TONE_HZ = 2000.0
LIVE = re.compile(r"^Live")


def chromium_args(wav: Path) -> list[str]:
    """TESTING.md's flags: a fake microphone playing ``wav``, loopback candidates, autoplay."""
    return [
        "--use-fake-device-for-media-stream",
        "--use-fake-ui-for-media-stream",
        f"--use-file-for-fake-audio-capture={wav}",
        "--autoplay-policy=no-user-gesture-required",
        "--allow-loopback-in-peer-connection",
        "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1",
        "--disable-features=WebRtcHideLocalIpsWithMdns",
    ]


def mic_context(browser: Browser, base_url: str, **options: object) -> BrowserContext:
    """A fresh context (its own localStorage) with the microphone granted: without it Chromium
    gathers no 127.0.0.1 candidate, even to listen."""
    context = browser.new_context(permissions=["microphone"], base_url=base_url, **options)  # type: ignore[arg-type]
    context.set_default_timeout(15_000)
    return context


def open_page(context: BrowserContext) -> Page:
    """A page of ``context`` that keeps its console lines and errors (``diagnostics`` shows them)."""
    page = context.new_page()
    page.console_lines = []  # type: ignore[attr-defined]
    page.on("console", lambda m, p=page: p.console_lines.append(f"{m.type}: {m.text}"))
    page.on("pageerror", lambda e, p=page: p.console_lines.append(f"pageerror: {e}"))
    return page


def go_live(page: Page, title: str, host_name: str, fields: dict[str, str] | None = None) -> str:
    """Start a show from the home page, as a host does (``fields``: other inputs by label); its room id."""
    page.goto("/")
    page.get_by_label("Show title").fill(title)
    page.get_by_label("Your name").fill(host_name)
    for label, value in (fields or {}).items():
        page.get_by_label(label).fill(value)
    page.get_by_role("button", name="Go live").click()
    page.wait_for_url(re.compile(r"/r/[^/]+$"))
    return page.url.rsplit("/", 1)[1]


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


def operator(server: LocalServer, method: str, path: str, body: object = None) -> tuple[int, object]:
    """The operator's API with the server's admin token: the status and the JSON body (None if empty)."""
    data = json.dumps(body).encode() if body is not None else None
    headers = {"Authorization": f"Bearer {server.admin_token}", "Content-Type": "application/json"}
    req = urllib.request.Request(f"{server.url}{path}", method=method, data=data, headers=headers)
    with urllib.request.urlopen(req, timeout=5) as resp:
        raw = resp.read()
        return resp.status, (json.loads(raw) if raw else None)


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


# Runs in the listener's page: WebAudio analysers over the received streams,
# taken from the page's own <audio> elements (remote audio reaches WebAudio
# only while it is also attached to an <audio> element).
ANALYSE_AUDIO = """
async ({ toneHz, seconds }) => {
  const ctx = new AudioContext();
  await ctx.resume();
  const sink = ctx.createGain();
  sink.gain.value = 0;
  sink.connect(ctx.destination);
  const tap = (kind) => {
    const el = document.querySelector(`#audio-sink audio[data-kind="${kind}"]`);
    if (!el || !el.srcObject) return null;
    const an = ctx.createAnalyser();
    an.fftSize = 8192;
    an.smoothingTimeConstant = 0;
    ctx.createMediaStreamSource(el.srcObject).connect(an);
    an.connect(sink);
    return an;
  };
  const voice = tap('voice');
  const music = tap('music');
  const binHz = ctx.sampleRate / 8192;
  const spec = new Float32Array(4096);
  const wave = new Float32Array(8192);
  const out = { sampleRate: ctx.sampleRate, binHz, voice: !!voice, music: !!music,
                peakHz: null, peakDb: null, floorDb: null, voiceOk: false, musicRms: 0 };
  const deadline = performance.now() + seconds * 1000;
  while (performance.now() < deadline) {
    await new Promise((r) => setTimeout(r, 100));
    if (voice) {
      voice.getFloatFrequencyData(spec);
      let best = 2;
      for (let i = 3; i < spec.length; i++) if (spec[i] > spec[best]) best = i;
      const sorted = Array.from(spec).filter(Number.isFinite).sort((a, b) => a - b);
      const floor = sorted.length ? sorted[sorted.length >> 1] : null;
      if (Number.isFinite(spec[best])) {
        out.peakHz = best * binHz; out.peakDb = spec[best]; out.floorDb = floor;
        if (Math.abs(out.peakHz - toneHz) <= Math.max(50, binHz)
            && spec[best] > -80 && spec[best] > floor + 30) out.voiceOk = true;
      }
    }
    if (music) {
      music.getFloatTimeDomainData(wave);
      let sum = 0;
      for (const v of wave) sum += v * v;
      out.musicRms = Math.max(out.musicRms, Math.sqrt(sum / wave.length));
    }
    if (out.voiceOk && out.musicRms > 0.01) break;
  }
  await ctx.close();
  return out;
}
"""


# --- accessibility: axe-core (the npm package, installed by `make axe`) ------------------------------

ROOT = Path(__file__).resolve().parents[2]
AXE_JS = Path(os.environ.get("ONAIR_AXE", ROOT / ".venv/axe/node_modules/axe-core/axe.min.js"))
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]

# label-content-name-mismatch is one of axe's "experimental" rules: asked for by name.
RUN_AXE = """
async (tags) => {
  const result = await axe.run(document, {
    runOnly: { type: 'tag', values: tags },
    rules: { 'label-content-name-mismatch': { enabled: true } },
    resultTypes: ['violations'],
  });
  return result.violations.map((v) => ({
    id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.map((n) => ({ target: n.target.join(' '), summary: n.failureSummary })),
  }));
}
"""


def axe_violations(page: Page) -> list[dict]:
    """axe-core's WCAG 2.1 A and AA violations on the page as it is now."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=str(AXE_JS))
    return list(page.evaluate(RUN_AXE, AXE_TAGS))


def describe_violations(violations: list[dict]) -> str:
    lines = []
    for v in violations:
        lines.append(f"{v['id']} ({v['impact']}): {v['help']}")
        lines.extend(f"    {n['target']}: {n['summary']}" for n in v["nodes"])
    return "\n".join(lines)


def screenshot(page: Page, name: str) -> Path:
    """Save a full-page screenshot under SCREENSHOTS (data/ is git-ignored); its path."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


SCREENSHOTS = Path(os.environ.get("ONAIR_SCREENSHOTS_DIR", ROOT / "data/screenshots"))


# --- the room's messages as a page gets them, and crowds of plain sockets ------------------------


def record_frames(page: Page) -> list[dict]:
    """Every JSON message the page's room sockets receive from now on, in order (a live list)."""
    return _record(page, "framereceived")


def record_sent(page: Page) -> list[dict]:
    """Every JSON message the page sends on its room sockets from now on, in order (a live list)."""
    return _record(page, "framesent")


def _record(page: Page, event: str) -> list[dict]:
    frames: list[dict] = []

    def keep(payload: str | bytes) -> None:
        try:
            msg = json.loads(payload)
        except ValueError:
            return
        if isinstance(msg, dict):
            frames.append(msg)

    page.on("websocket", lambda ws: ws.on(event, keep) if "/ws" in ws.url else None)
    return frames


# Runs in any page of the server: opens one room socket per name (signaling only: their `sub`
# offers go unanswered) and resolves with their participant ids once each is welcomed.
OPEN_CROWD = """
async ({ roomId, names }) => {
  window.crowd = window.crowd || {};
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  const one = (name) => new Promise((resolve, reject) => {
    const q = new URLSearchParams({ name });
    const ws = new WebSocket(`${scheme}//${location.host}/api/rooms/${encodeURIComponent(roomId)}/ws?${q}`);
    ws.onmessage = (ev) => {
      const m = JSON.parse(ev.data);
      if (m.type === 'welcome') { window.crowd[name] = ws; resolve(m.participant_id); }
      if (m.type === 'error') reject(new Error(`${name}: ${m.code} ${m.message}`));
    };
    ws.onclose = (ev) => reject(new Error(`${name}: closed ${ev.code}`));
  });
  const ids = [];
  for (let i = 0; i < names.length; i += 20) ids.push(...await Promise.all(names.slice(i, i + 20).map(one)));
  return ids;
}
"""


def open_crowd(page: Page, room_id: str, names: list[str]) -> list[str]:
    """``names`` join ``room_id`` as listeners from ``page`` (plain WebSockets); their ids."""
    return list(page.evaluate(OPEN_CROWD, {"roomId": room_id, "names": names}))


CLOSE_CROWD = "(names) => names.forEach((n) => { const s = window.crowd[n]; s.onclose = null; s.close(); })"


def close_crowd(page: Page, names: list[str]) -> None:
    """Those of the crowd named leave (their sockets close)."""
    page.evaluate(CLOSE_CROWD, names)


def assert_accessible(page: Page, state: str) -> None:
    """axe-core finds no WCAG 2.1 A/AA violation on ``page`` as it is now (``state`` names it)."""
    found = axe_violations(page)
    assert found == [], f"axe, {state}:\n{describe_violations(found)}"
