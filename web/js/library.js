// The desk's library search: GET /api/tracks as you type (debounced), the
// newest answer wins, "More results" pages on. Each result can be queued.
import { api } from './api.js';
import { errorText, t } from './i18n.js';
import { editTrack } from './trackedit.js';
import { $, fmtTime, h } from './util.js';

const DEBOUNCE_MS = 250;
const PAGE = 20;

export class LibraryView {
  /** add(track): Promise, queues the track; token(), limits(), roomId: for editing a track;
   *  edited(track). */
  constructor({ add, token, limits, roomId, edited }) {
    this.add = add;
    this.hooks = { token, limits, roomId, edited };
    this.query = '';
    this.results = [];
    this.seq = 0;
    this.timer = 0;
    this.loaded = false;
    this.input = $('#library-search');
    this.input.addEventListener('input', () => {
      clearTimeout(this.timer);
      this.timer = setTimeout(() => this.search(this.input.value), DEBOUNCE_MS);
    });
    $('#library-form').addEventListener('submit', (ev) => {
      ev.preventDefault();
      clearTimeout(this.timer);
      this.search(this.input.value);
    });
    $('#library-more').addEventListener('click', () => this.fetch(this.results.length));
  }

  /** The first time the desk shows: list the library. */
  activate() {
    if (this.loaded) return;
    this.loaded = true;
    this.search(this.input.value);
  }

  /** Run the current search again (after an upload). */
  refresh() {
    if (this.loaded) this.search(this.input.value);
  }

  search(q) {
    this.query = q.trim();
    this.results = [];
    return this.fetch(0);
  }

  async fetch(offset) {
    const seq = ++this.seq;
    const q = this.query;
    const status = $('#library-status');
    status.textContent = q ? t('desk.library.searching', { q }) : t('desk.library.loading');
    $('#library-more').disabled = true;
    const params = new URLSearchParams({ limit: String(PAGE), offset: String(offset) });
    if (q) params.set('q', q);
    let page;
    try {
      page = await api(`/api/tracks?${params}`);
    } catch (err) {
      if (seq !== this.seq) return;
      status.textContent = t('desk.library.failed', { why: errorText(err) });
      $('#library-more').disabled = false;
      return;
    }
    if (seq !== this.seq) return; // a newer search is on its way
    page = Array.isArray(page) ? page : [];
    this.results = offset ? [...this.results, ...page] : page;
    const list = $('#library-results');
    const items = page.map((t) => this.item(t));
    if (offset) list.append(...items);
    else list.replaceChildren(...items);
    const more = page.length === PAGE;
    $('#library-more').hidden = !more;
    $('#library-more').disabled = false;
    const n = this.results.length;
    const key = `desk.library.${more ? 'more_' : ''}${q ? 'found' : 'listed'}`;
    status.textContent = n ? t(key, { count: n, q })
      : q ? t('desk.library.none', { q }) : t('desk.library.empty');
  }

  // The buttons show the first words of their names ("Add" of "Add Low Tide to the queue"):
  // what is seen is what voice control users say.
  item(track) {
    const title = track.title || t('desk.untitled');
    const meta = [track.artist, track.album, fmtTime(track.duration_ms)].filter(Boolean).join(' · ');
    const label = t('desk.library.add_label', { title });
    const add = t('desk.library.add');
    const button = h('button', {
      className: 'small', text: add,
      attrs: { type: 'button', 'aria-label': label },
      dataset: { key: `lib:${track.track_id}` },
    });
    button.addEventListener('click', async () => {
      button.disabled = true;
      try {
        await this.add(track);
        button.textContent = t('desk.library.queued');
        button.setAttribute('aria-label', t('desk.library.queued_label', { title }));
        setTimeout(() => { button.textContent = add; button.setAttribute('aria-label', label); }, 2500);
      } catch { /* the desk shows why */ } finally {
        button.disabled = false;
      }
    });
    const edit = h('button', {
      className: 'small subtle-ink', text: t('desk.library.edit'),
      attrs: { type: 'button', 'aria-label': t('desk.library.edit_label', { title }) }, dataset: { key: `edit:${track.track_id}` },
    });
    const row = h('li', { className: 'track', dataset: { trackId: track.track_id } },
      h('span', { className: 'track-text' },
        h('span', { className: 'track-title', text: title, attrs: track.title ? { translate: 'no' } : {} }),
        h('span', { className: 'muted small', text: meta, attrs: { translate: 'no' } })),
      button, edit);
    edit.addEventListener('click', () => this.edit(row, track));
    return row;
  }

  edit(row, track) {
    editTrack(row, track, {
      token: this.hooks.token, limits: this.hooks.limits, roomId: this.hooks.roomId,
      saved: (edited) => {
        const fresh = this.item({ ...track, ...edited });
        row.replaceWith(fresh);
        this.results = this.results.map((t) => (t.track_id === track.track_id ? { ...t, ...edited } : t));
        fresh.querySelector('[data-key^="edit:"]').focus();
        if (this.hooks.edited) this.hooks.edited(edited);
      },
      done: () => {
        const again = this.item(track);
        row.replaceWith(again);
        again.querySelector('[data-key^="edit:"]').focus();
      },
    });
  }
}
