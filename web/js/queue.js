// "Up next": the room's queue, head first. Everyone sees it; hosts and
// moderators move entries up and down and remove them (buttons, so the
// keyboard reaches them; focus stays on the entry that moved).
import { formatNumber, t } from './i18n.js';
import { $, fmtTime, h } from './util.js';

const LISTENER_SHOWN = 10;
const EDITOR_SHOWN = 200;

export class QueueView {
  /** actions: {move(entry, index), remove(entry)} */
  constructor(actions) {
    this.actions = actions;
    this.queue = [];
    this.editable = false;
  }

  setQueue(queue) {
    this.queue = Array.isArray(queue) ? queue.filter((e) => e && e.entry_id && e.track) : [];
    this.render();
  }

  setEditable(editable) {
    if (editable === this.editable) return;
    this.editable = editable;
    this.render();
  }

  render() {
    const list = $('#queue-list');
    const active = document.activeElement;
    const focusKey = active && list.contains(active) ? active.dataset.key : undefined;
    const focusIndex = focusKey ? this.indexOfKey(list, focusKey) : -1;

    const shown = this.queue.slice(0, this.editable ? EDITOR_SHOWN : LISTENER_SHOWN);
    const items = shown.map((e, i) => this.item(e, i, this.queue.length));
    if (this.queue.length > shown.length) {
      items.push(h('li', { className: 'muted small more', text: t('desk.more', { count: this.queue.length - shown.length }) }));
    }
    list.replaceChildren(...items);
    $('#queue-count').textContent = this.queue.length ? `(${formatNumber(this.queue.length)})` : '';
    $('#queue-empty').hidden = this.queue.length > 0;
    if (focusKey !== undefined) this.refocus(list, focusKey, focusIndex);
  }

  item(entry, index, count) {
    const { track } = entry;
    const title = track.title || t('desk.untitled');
    const meta = [track.artist, fmtTime(track.duration_ms)].filter(Boolean).join(' · ');
    const li = h('li', { className: 'queue-item', dataset: { entryId: entry.entry_id, trackId: track.track_id || '' } },
      h('span', { className: 'q-text' },
        h('span', { className: 'q-title', text: title, attrs: track.title ? { translate: 'no' } : {} }), ' ',
        h('span', { className: 'muted small', text: meta, attrs: { translate: 'no' } })));
    if (!this.editable) return li;
    const id = entry.entry_id;
    li.append(h('span', { className: 'actions' },
      btn('↑', t('desk.queue.up', { title }), `${id}:up`, index === 0, () => this.actions.move(entry, index - 1)),
      btn('↓', t('desk.queue.down', { title }), `${id}:down`, index === count - 1,
        () => this.actions.move(entry, index + 1)),
      btn(t('desk.queue.remove'), t('desk.queue.remove_label', { title }), `${id}:remove`, false,
        () => this.actions.remove(entry))));
    return li;
  }

  indexOfKey(list, key) {
    const entryId = key.slice(0, key.lastIndexOf(':'));
    return [...list.children].findIndex((li) => li.dataset.entryId === entryId);
  }

  /** Focus the same button again; if it is disabled now, another of its entry; if the entry is gone, a neighbour. */
  refocus(list, key, oldIndex) {
    const enabled = (el) => el && !el.disabled;
    const byKey = (k) => [...list.querySelectorAll('[data-key]')].find((el) => el.dataset.key === k);
    const entryId = key.slice(0, key.lastIndexOf(':'));
    const candidates = [key, `${entryId}:up`, `${entryId}:down`, `${entryId}:remove`].map(byKey);
    let target = candidates.find(enabled);
    if (!target) {
      const li = list.children[Math.min(Math.max(oldIndex, 0), list.children.length - 1)];
      target = li ? li.querySelector('[data-key$=":remove"]') : null;
    }
    (target || $('#queue-heading')).focus();
  }
}

function btn(text, label, key, disabled, onClick) {
  const b = h('button', {
    className: 'small', text, attrs: { type: 'button', 'aria-label': label, title: label },
    dataset: { key }, on: { click: onClick },
  });
  b.disabled = disabled;
  return b;
}
