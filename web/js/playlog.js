// "Recently played": GET /api/rooms/{id}/playlog (the last plays, newest
// first), fetched on joining and again shortly after each `now_playing`.
import { api } from './api.js';
import { t } from './i18n.js';
import { $, h } from './util.js';
import { clockTime } from './when.js';

const SHOWN = 10;
const AFTER_NOW_PLAYING_MS = 800; // the play is written when it starts: give it a moment
const MIN_GAP_MS = 3000;

export class RecentlyPlayed {
  constructor(roomId) {
    this.roomId = roomId;
    this.timer = 0;
    this.lastFetch = 0;
    this.seq = 0;
  }

  /** Fetch soon (several `now_playing` in a row make one fetch). */
  refreshSoon() {
    clearTimeout(this.timer);
    const wait = Math.max(AFTER_NOW_PLAYING_MS, this.lastFetch + MIN_GAP_MS - Date.now());
    this.timer = setTimeout(() => this.refresh(), wait);
  }

  stop() {
    clearTimeout(this.timer);
  }

  async refresh() {
    const seq = ++this.seq;
    this.lastFetch = Date.now();
    let plays;
    try {
      plays = await api(`/api/rooms/${encodeURIComponent(this.roomId)}/playlog`);
    } catch {
      return; // keep what is shown; the next track tries again
    }
    if (seq !== this.seq || !Array.isArray(plays)) return;
    this.render(plays.slice(0, SHOWN));
  }

  render(plays) {
    $('#played-list').replaceChildren(...plays.map((p) => h('li', {
      className: `played${p.ended_at ? '' : ' now'}`, dataset: { playId: p.play_id || '' },
    },
    h('time', { className: 'when muted', text: clockTime(p.started_at), attrs: { datetime: p.started_at || '' } }),
    ' ',
    h('span', { className: 'track-title', text: p.title || t('room.track.untitled'), attrs: p.title ? { translate: 'no' } : {} }),
    p.artist ? ' ' : null,
    p.artist ? h('span', { className: 'muted', text: t('room.track.by_artist', { artist: p.artist }) }) : null,
    p.ended_at ? null : ' ',
    p.ended_at ? null : h('span', { className: 'badge live', text: t('room.played.now') }))));
    $('#played-empty').hidden = plays.length > 0;
  }
}
