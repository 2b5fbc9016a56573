// Song requests. A listener searches the library (GET /api/tracks?q=) and
// sends `request_track` with an optional note; `request_updated` tells them
// the answer. Hosts and moderators see `requests` on the desk and accept (to
// the end of the queue) or decline (`answer_request`).
import { api } from './api.js';
import { errorText, has, t } from './i18n.js';
import { describeError } from './signal.js';
import { $, fmtTime, h, keepFocus } from './util.js';

const DEBOUNCE_MS = 250;
const RESULTS = 8;
export const NOTE_MAX = 140;

/** "Title by Artist", in the page's language. */
const describe = (track) => {
  const title = (track && track.title) || t('room.track.untitled');
  return track && track.artist ? t('room.track.by', { title, artist: track.artist }) : title;
};

/** A track's name as a node: people's words (translate="no") unless the catalog's "by" joins them. */
const trackName = (track, className) => h('span', {
  className, text: describe(track), attrs: track && track.artist ? {} : { translate: 'no' },
});

/** The listener's side: search, request, and what became of it. */
export class RequestView {
  /** request(msg): Promise (the socket's request). */
  constructor({ request }) {
    this.request = request;
    this.timer = 0;
    this.seq = 0;
    this.mine = null; // {request_id, status, track}
    this.loaded = false;
    const input = $('#request-search');
    input.addEventListener('input', () => {
      clearTimeout(this.timer);
      this.timer = setTimeout(() => this.search(input.value), DEBOUNCE_MS);
    });
    $('#request-form').addEventListener('submit', (ev) => {
      ev.preventDefault();
      clearTimeout(this.timer);
      this.search(input.value);
    });
    $('#request-note').maxLength = NOTE_MAX;
  }

  /** Shown to listeners only; the first time, list some of the library. */
  setVisible(on) {
    $('#request-card').hidden = !on;
    if (on && !this.loaded) { this.loaded = true; this.search(''); }
  }

  async search(q) {
    const seq = ++this.seq;
    const params = new URLSearchParams({ limit: String(RESULTS) });
    if (q.trim()) params.set('q', q.trim());
    let tracks;
    try {
      tracks = await api(`/api/tracks?${params}`);
    } catch (err) {
      if (seq === this.seq) this.say(t('room.request.search_failed', { error: errorText(err) }));
      return;
    }
    if (seq !== this.seq) return;
    tracks = Array.isArray(tracks) ? tracks : [];
    const list = $('#request-results');
    keepFocus(list, () => list.replaceChildren(...tracks.map((t) => this.item(t))));
    if (!tracks.length) this.say(q.trim() ? t('room.request.no_match', { query: q.trim() }) : t('room.request.library_empty'));
    else if (!this.mine || this.mine.status !== 'pending') this.say('');
  }

  item(track) {
    const title = track.title || t('room.track.untitled');
    const meta = [track.artist, fmtTime(track.duration_ms)].filter(Boolean).join(' · ');
    const button = h('button', {
      className: 'small', text: t('room.request.request'),
      attrs: { type: 'button', 'aria-label': t('room.request.request_label', { title }) },
      dataset: { key: `req:${track.track_id}` },
    });
    button.addEventListener('click', () => this.send(track, button));
    return h('li', { className: 'track', dataset: { trackId: track.track_id } },
      h('span', { className: 'track-text' },
        h('span', { className: 'track-title', text: title, attrs: track.title ? { translate: 'no' } : {} }),
        h('span', { className: 'muted small', text: meta, attrs: { translate: 'no' } })),
      button);
  }

  async send(track, button) {
    const note = $('#request-note').value.trim();
    if (note.length > NOTE_MAX) { this.say(t('room.request.note_too_long', { max: NOTE_MAX })); return; }
    button.disabled = true;
    try {
      await this.request({ type: 'request_track', track_id: track.track_id, ...(note ? { note } : {}) });
      $('#request-note').value = '';
      if (!this.mine || this.mine.track?.track_id !== track.track_id) {
        this.mine = { request_id: null, status: 'pending', track };
        this.show();
      }
    } catch (err) {
      this.say(describeError(err), true);
    } finally {
      button.disabled = false;
    }
  }

  /** `request_updated`: pending (how we learn its id), then accepted or declined. */
  updated(m) {
    this.mine = { request_id: m.request_id, status: m.status, track: m.track || (this.mine && this.mine.track) };
    this.show();
  }

  show() {
    const { status, track } = this.mine;
    const key = `room.request.status.${status}`;
    this.say(has(key) ? t(key, { track: describe(track) }) : status);
    $('#request-status').dataset.status = status;
  }

  say(text, error = false) {
    const el = $('#request-status');
    el.textContent = text;
    el.classList.toggle('error', error);
    if (!text) delete el.dataset.status;
  }
}

/** The desk's side: the pending requests, each with Accept and Decline. */
export class RequestDesk {
  /** request(msg): Promise; status(text, error): the desk's status line. */
  constructor({ request, status }) {
    this.request = request;
    this.status = status;
    this.requests = [];
  }

  set(requests) {
    this.requests = Array.isArray(requests) ? requests : [];
    const list = $('#requests-list');
    keepFocus(list, () => list.replaceChildren(...this.requests.map((r) => this.item(r))));
    $('#requests-empty').hidden = this.requests.length > 0;
    $('#requests-count').textContent = this.requests.length ? `(${this.requests.length})` : '';
  }

  item(r) {
    const what = describe(r.track);
    const who = r.name || t('room.requests.a_listener');
    const answer = (accept) => async () => {
      try {
        await this.request({ type: 'answer_request', request_id: r.request_id, accept });
        this.status(t(accept ? 'room.requests.queued' : 'room.requests.declined', { track: what }));
      } catch (err) {
        this.status(describeError(err), true);
      }
    };
    return h('li', { className: 'track request', dataset: { requestId: r.request_id } },
      h('span', { className: 'track-text' },
        trackName(r.track, 'track-title'),
        h('span', { className: 'muted small', text: r.name ? t('room.requests.asked_by', { name: r.name }) : t('room.requests.asked_by_listener') }),
        r.note ? h('q', { className: 'small note', text: r.note, attrs: { translate: 'no' } }) : null),
      h('button', {
        className: 'small primary', text: t('room.requests.accept'), dataset: { key: `acc:${r.request_id}` },
        attrs: { type: 'button', 'aria-label': t('room.requests.accept_label', { track: what, name: who }) },
        on: { click: answer(true) },
      }),
      h('button', {
        className: 'small', text: t('room.requests.decline'), dataset: { key: `dec:${r.request_id}` },
        attrs: { type: 'button', 'aria-label': t('room.requests.decline_label', { track: what, name: who }) },
        on: { click: answer(false) },
      }));
  }
}
