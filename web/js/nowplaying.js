// Now playing, for everyone: title, state and a progress bar on the synced
// server clock (clock.js). A `now_playing` is stated as this participant hears
// it and holds from its `server_ms` on: one that lies ahead (listeners hear the
// music D later than the stage; the mixer states changes a tick ahead) waits
// while the previous one plays on, so the bar follows what is heard.
// Hosts and moderators get a seek slider over the bar.
import { t } from './i18n.js';
import { $, fmtTime } from './util.js';

const TICK_MS = 250;
const SEEK_SETTLE_MS = 300; // after the slider's last change, then one `seek`
const SEEK_HOLD_MS = 1500; // at most, waiting for the `now_playing` it causes
const stateText = (state) => (state === 'idle' ? '' : t(`room.np.${state}`));

const setText = (el, text) => { if (el.textContent !== text) el.textContent = text; };
const valid = (np) => (np && np.track && Number.isFinite(Number(np.server_ms)) ? np : null);

export class NowPlayingView {
  /** onSeek(position_ms): a host or moderator let go of the seek slider. */
  constructor(clock, { onSeek } = {}) {
    this.clock = clock;
    this.onSeek = onSeek || (() => {});
    this.current = null; // the now_playing heard now
    this.pending = []; // later ones, by server_ms
    this.busy = false; // a transport request of ours is on its way
    this.shownTrack = undefined;
    this.progress = $('#np-progress');
    this.seek = $('#np-seek');
    // While the slider moves, and until the server's answer is heard, the slider
    // holds its value (so repeated arrow keys add up); only the last value is sent.
    this.seekPhase = null; // null | 'moving' | 'sent'
    this.seekTimer = 0;
    this.seek.addEventListener('input', () => this.hold());
    this.seek.addEventListener('change', () => {
      this.hold();
      this.seekTimer = setTimeout(() => {
        this.seekPhase = 'sent';
        this.onSeek(Math.round(Number(this.seek.value)));
        this.seekTimer = setTimeout(() => this.release(), SEEK_HOLD_MS);
      }, SEEK_SETTLE_MS);
    });
    this.timer = setInterval(() => this.tick(), TICK_MS);
  }

  get seeking() {
    return this.seekPhase !== null;
  }

  hold() {
    this.seekPhase = 'moving';
    clearTimeout(this.seekTimer);
    $('#np-elapsed').textContent = fmtTime(this.seek.value);
  }

  release() {
    clearTimeout(this.seekTimer);
    this.seekPhase = null;
  }

  /** On (re)joining: nothing earlier to keep playing. */
  reset(np) {
    this.pending = [];
    this.current = valid(np);
    this.tick();
  }

  /** A `now_playing` from the server. */
  set(np) {
    np = valid(np);
    if (!np) { this.reset(null); return; }
    const at = Number(np.server_ms);
    // Newer news: whatever was announced from `at` on no longer holds.
    this.pending = this.pending.filter((p) => Number(p.server_ms) < at);
    if (this.current && at > this.clock.now()) this.pending.push(np);
    else this.current = np;
    if (this.seekPhase === 'sent') { // most likely our seek's outcome: let go once it is heard
      clearTimeout(this.seekTimer);
      this.seekTimer = setTimeout(() => this.release(), Math.max(0, at - this.clock.now()));
    }
    this.tick();
  }

  /** Show "Loading…" while a play/skip/seek of ours is on its way. */
  setBusy(busy) {
    this.busy = busy;
    this.tick();
  }

  setCanSeek(can) {
    this.seek.hidden = !can;
    if (!can) this.release();
  }

  /** The track heard now, or null. */
  get track() {
    return this.current ? this.current.track : null;
  }

  /** Unclamped position now (ms) of what is heard now; negative: not started yet. */
  rawPosition() {
    const np = this.current;
    if (!np) return 0;
    const pos = Number(np.position_ms) || 0;
    return np.paused ? pos : pos + (this.clock.now() - Number(np.server_ms));
  }

  /** Position now (ms), within the track. */
  position() {
    const dur = this.current ? Number(this.current.track.duration_ms) || 0 : 0;
    const pos = Math.max(0, this.rawPosition());
    return dur ? Math.min(pos, dur) : pos;
  }

  state() {
    const np = this.current;
    if (!np) return this.busy || this.pending.length ? 'loading' : 'idle';
    if (this.busy) return 'loading';
    if (np.paused) return 'paused';
    const raw = this.rawPosition();
    const dur = Number(np.track.duration_ms) || 0;
    if (raw < 0) return 'starting';
    if (dur && raw >= dur) return 'loading'; // the next track is on its way
    return 'playing';
  }

  tick() {
    const now = this.clock.now();
    while (this.pending.length && Number(this.pending[0].server_ms) <= now) this.current = this.pending.shift();
    const np = this.current;
    const track = np ? np.track : null;
    if (track !== this.shownTrack) this.showTrack(track);
    const pos = this.position();
    const dur = track ? Number(track.duration_ms) || 0 : 0;
    const state = this.state();

    const p = this.progress;
    p.dataset.positionMs = String(Math.round(pos));
    p.dataset.perfMs = performance.now().toFixed(1);
    p.dataset.serverMs = now.toFixed(1);
    p.dataset.state = state;
    p.dataset.trackId = track ? track.track_id || '' : '';
    $('#np-bar').style.width = dur ? `${((pos / dur) * 100).toFixed(2)}%` : '0';
    setText($('#np-state'), stateText(state)); // a live region: only real changes
    $('#now-playing').dataset.state = state;
    if (!this.seeking) {
      setText($('#np-elapsed'), fmtTime(pos));
      this.seek.max = String(dur);
      this.seek.value = String(pos);
      this.seek.disabled = !track;
      this.seek.setAttribute('aria-valuetext', t('room.np.position', { pos: fmtTime(pos), dur: fmtTime(dur) }));
    }
  }

  showTrack(track) {
    this.shownTrack = track;
    const title = $('#np-title');
    title.textContent = track ? track.title || t('room.track.untitled') : t('room.np.nothing');
    if (track && track.title) title.setAttribute('translate', 'no');
    else title.removeAttribute('translate');
    $('#np-artist').textContent = track && track.artist ? t('room.track.by_artist', { artist: track.artist }) : '';
    $('#np-duration').textContent = track ? fmtTime(track.duration_ms) : '0:00';
    if (track) {
      this.seek.setAttribute('aria-label', track.title ? t('room.np.seek_in', { title: track.title }) : t('room.np.seek'));
    }
  }
}
