// The DJ's desk, for hosts and moderators: transport (play/pause, skip, seek
// from the now-playing bar), the music level, crossfade and ducking, the
// library (library.js) and uploads (upload.js). The queue is queue.js, the
// now-playing bar nowplaying.js; this module sends what they ask for.
import { LibraryView } from './library.js';
import { errorText, formatNumber, t } from './i18n.js';
import { UploadView } from './upload.js';
import { $, show } from './util.js';

const GAIN_EVERY_MS = 150; // while the level slider moves

export class Desk {
  /**
   * hooks: {request(msg): Promise, token(): string, nowPlaying: NowPlayingView,
   *         playing(): bool (the music is not paused), limits(): the server's field limits}
   */
  constructor(hooks) {
    this.hooks = hooks;
    this.busy = 0;
    this.gainTimer = 0;
    this.gainSentAt = 0;
    this.library = new LibraryView({
      add: (track) => this.queueAdd(track), token: hooks.token, limits: hooks.limits, roomId: hooks.roomId,
      edited: (track) => this.status(track.artist ? t('desk.saved_by', { title: track.title, artist: track.artist })
        : t('desk.saved', { title: track.title })),
    });
    this.upload = new UploadView({
      token: hooks.token, roomId: hooks.roomId,
      uploaded: () => this.library.refresh(),
      queue: (track) => this.queueAdd(track),
    });

    $('#pause-button').addEventListener('click', () => this.transport(this.hooks.playing() ? 'pause' : 'play'));
    $('#skip-button').addEventListener('click', () => this.transport('skip'));

    const gain = $('#music-gain');
    gain.addEventListener('input', () => { this.showGain(); this.sendGainSoon(); });
    gain.addEventListener('change', () => this.sendGain());
    $('#crossfade').addEventListener('change', (ev) => this.setting(ev.target, 'crossfade', 'seconds', 0, 20));
    $('#ducking').addEventListener('change', (ev) => this.setting(ev.target, 'ducking', 'db', 0, 40));
  }

  /** Show the desk to hosts and moderators only. */
  setEnabled(on) {
    show($('#desk'), on);
    if (on) this.library.activate();
  }

  status(text, error = false) {
    const el = $('#desk-status');
    el.textContent = text;
    el.classList.toggle('error', error);
  }

  /** A request; a refusal shows on the desk and rejects. */
  async send(msg, doneText) {
    try {
      await this.hooks.request(msg);
      if (doneText !== undefined) this.status(doneText);
    } catch (err) {
      this.status(errorText(err), true);
      throw err;
    }
  }

  // ---- transport ----------------------------------------------------------

  async transport(type, args = {}) {
    const text = t(`desk.transport.${type}`);
    this.setBusy(+1);
    this.status(text);
    try {
      await this.send({ type, ...args }, '');
    } catch { /* shown */ } finally {
      this.setBusy(-1);
    }
  }

  seek(positionMs) {
    return this.transport('seek', { position_ms: Math.max(0, positionMs) });
  }

  setBusy(delta) {
    this.busy = Math.max(0, this.busy + delta);
    const busy = this.busy > 0;
    this.hooks.nowPlaying.setBusy(busy);
    $('#desk').setAttribute('aria-busy', String(busy));
  }

  // ---- the queue ------------------------------------------------------------

  queueAdd(track) {
    const done = track.title ? t('desk.queued', { title: track.title }) : t('desk.queued_untitled');
    return this.send({ type: 'queue_add', track_id: track.track_id }, done);
  }

  queueMove(entry, index) {
    return this.send({ type: 'queue_move', entry_id: entry.entry_id, index }, '').catch(() => {});
  }

  queueRemove(entry) {
    const title = entry.track && entry.track.title;
    const done = title ? t('desk.removed', { title }) : t('desk.removed_untitled');
    return this.send({ type: 'queue_remove', entry_id: entry.entry_id }, done)
      .catch(() => {});
  }

  // ---- levels ---------------------------------------------------------------

  /** `music_settings` from welcome or the server; inputs being edited keep their value. */
  setSettings(s) {
    if (!s) return;
    const editing = (el) => document.activeElement === el;
    const gain = $('#music-gain');
    if (Number.isFinite(Number(s.gain)) && !editing(gain) && !this.gainTimer) {
      gain.value = String(Math.round(Number(s.gain) * 100));
      this.showGain();
    }
    const cross = $('#crossfade');
    if (Number.isFinite(Number(s.crossfade_s)) && !editing(cross)) cross.value = String(Number(s.crossfade_s));
    const duck = $('#ducking');
    if (Number.isFinite(Number(s.ducking_db)) && !editing(duck)) duck.value = String(Number(s.ducking_db));
  }

  showGain() {
    $('#music-gain-value').textContent = formatNumber(Number($('#music-gain').value) / 100, { style: 'percent' });
  }

  sendGainSoon() {
    if (this.gainTimer) return;
    const wait = Math.max(0, GAIN_EVERY_MS - (performance.now() - this.gainSentAt));
    this.gainTimer = setTimeout(() => this.sendGain(), wait);
  }

  sendGain() {
    clearTimeout(this.gainTimer);
    this.gainTimer = 0;
    this.gainSentAt = performance.now();
    const gain = Number($('#music-gain').value) / 100;
    this.send({ type: 'music_gain', gain }, '').catch(() => {});
  }

  setting(input, type, field, lo, hi) {
    const v = Number(input.value);
    if (input.value === '' || !Number.isFinite(v) || v < lo || v > hi) {
      this.status(t(`desk.${type}.range`, { lo, hi }), true);
      input.setAttribute('aria-invalid', 'true');
      return;
    }
    input.removeAttribute('aria-invalid');
    this.send({ type, [field]: v }, t(`desk.${type}.set`, { value: v })).catch(() => {});
  }
}
