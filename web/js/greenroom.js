// The green room, as the host and moderators see it: callers screened off air
// (`screen`), each with a level meter from `levels`, a push-to-talk "Talk to
// caller" button (`talkback` on while held, off on release), "Put on air"
// (`promote`) and "Send back" (`demote`). Rows are kept across renders, so a
// button held down is never replaced under the pointer.
import { t } from './i18n.js';
import { $, h } from './util.js';

const SILENT = 127; // RFC 6464: 0 loudest, 127 silence
const METER_HOLD_MS = 1200; // levels stop coming when everyone is quiet

export class GreenRoomView {
  /** actions: {talkback(id, on): Promise, promote(id), demote(id), more(id)} */
  constructor(actions) {
    this.actions = actions;
    this.rows = new Map(); // participant_id -> <li>
    this.talkingTo = null; // the caller our voice goes to while the button is held
    this.meterTimer = 0;
    const release = () => this.stopTalking();
    window.addEventListener('pointerup', release);
    window.addEventListener('pointercancel', release);
    window.addEventListener('blur', release);
  }

  /** callers: screened participants (in the order to show). */
  render(callers, visible) {
    const list = $('#greenroom-list');
    const ids = new Set(callers.map((p) => p.participant_id));
    for (const [pid, row] of this.rows) {
      if (!ids.has(pid)) { row.remove(); this.rows.delete(pid); }
    }
    if (this.talkingTo && !ids.has(this.talkingTo)) this.talkingTo = null; // they left: talkback ended
    for (const p of callers) {
      let row = this.rows.get(p.participant_id);
      if (!row) {
        row = this.row(p);
        this.rows.set(p.participant_id, row);
      }
      row.querySelector('.name').textContent = p.name;
      list.append(row); // in order; an existing row moves without being re-made
    }
    $('#greenroom-empty').hidden = callers.length > 0;
    $('#greenroom-heading').hidden = !visible;
    list.hidden = !visible;
    if (!visible) $('#greenroom-empty').hidden = true;
  }

  row(p) {
    const pid = p.participant_id;
    const talk = button(t('desk.greenroom.talk'), t('desk.greenroom.talk_label', { name: p.name }), `${pid}:talk`, null);
    talk.setAttribute('aria-pressed', 'false');
    talk.addEventListener('pointerdown', (ev) => { ev.preventDefault(); this.startTalking(pid, talk); });
    talk.addEventListener('keydown', (ev) => {
      if ((ev.key === ' ' || ev.key === 'Enter') && !ev.repeat) { ev.preventDefault(); this.startTalking(pid, talk); }
    });
    talk.addEventListener('keyup', (ev) => { if (ev.key === ' ' || ev.key === 'Enter') this.stopTalking(); });
    talk.addEventListener('contextmenu', (ev) => ev.preventDefault()); // a long press on a phone
    return h('li', { className: 'person caller', dataset: { participantId: pid } },
      h('span', { className: 'name', text: p.name, attrs: { translate: 'no' } }),
      h('span', { className: 'badge screening', text: t('desk.greenroom.badge') }),
      h('div', { className: 'meter', attrs: { role: 'img', 'aria-label': t('desk.greenroom.level', { name: p.name }) } },
        h('div', { className: 'meter-bar', dataset: { levelFor: pid } })),
      h('span', { className: 'actions' },
        talk,
        button(t('desk.greenroom.air'), t('desk.greenroom.air_label', { name: p.name }), `${pid}:air`,
          () => this.actions.promote(pid), 'primary'),
        button(t('desk.greenroom.back'), t('desk.greenroom.back_label', { name: p.name }), `${pid}:back`,
          () => this.actions.demote(pid))));
  }

  startTalking(pid, el) {
    if (this.talkingTo === pid) return;
    this.stopTalking();
    this.talkingTo = pid;
    el.setAttribute('aria-pressed', 'true');
    el.classList.add('talking');
    this.actions.talkback(pid, true);
  }

  stopTalking() {
    const pid = this.talkingTo;
    if (!pid) return;
    this.talkingTo = null;
    const row = this.rows.get(pid);
    const el = row && row.querySelector('[data-key$=":talk"]');
    if (el) { el.setAttribute('aria-pressed', 'false'); el.classList.remove('talking'); }
    this.actions.talkback(pid, false);
  }

  /** `levels`: a caller's meter follows their voice. */
  setLevels(levels) {
    for (const [pid, row] of this.rows) {
      const level = Number((levels || {})[pid]);
      const pct = Number.isFinite(level) ? Math.max(0, Math.min(100, ((SILENT - level) / SILENT) * 100)) : 0;
      row.querySelector('.meter-bar').style.width = `${pct.toFixed(0)}%`;
    }
    clearTimeout(this.meterTimer);
    this.meterTimer = setTimeout(() => this.setLevels({}), METER_HOLD_MS);
  }
}

function button(text, label, key, onClick, extra = '') {
  return h('button', {
    className: `small ${extra}`.trim(), text,
    attrs: { type: 'button', 'aria-label': label }, dataset: { key },
    on: onClick ? { click: onClick } : {},
  });
}
