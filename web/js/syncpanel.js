// Sync health, for the host and moderators: the `sync` message (every 2 s) as
// a small panel. D is the audience delay; each voice on air has its loop
// latency L_i (D must never sit below it, or that voice reaches listeners late)
// and RTT; the listeners' RTT and loss come from their RTCP receiver reports.
import { $, h } from './util.js';

// Thresholds (amber from the first, red from the second):
// - listeners' loss p95: over 2 % is audible now and then, over 5 % breaks the show up;
// - RTT p95 (listeners and voices): over 300 ms is a long way, over 600 ms a struggling link;
// - a voice whose loop is longer than D is red: it reaches the audience late by the difference.
export const THRESHOLDS = { lossPct: [2, 5], rttMs: [300, 600] };
const RANK = { good: 0, fair: 1, poor: 2 };
const GRADE_TEXT = { good: 'Good', fair: 'Fair', poor: 'Poor' };

const num = (v) => (v === null || v === undefined || !Number.isFinite(Number(v)) ? null : Number(v));
const worst = (...grades) => grades.reduce((a, b) => (RANK[b] > RANK[a] ? b : a), 'good');

/** good / fair / poor for one figure against [amber, red] (unknown counts as good). */
export function gradeOf(value, [amber, red]) {
  const v = num(value);
  if (v === null) return 'good';
  return v > red ? 'poor' : v > amber ? 'fair' : 'good';
}

/** Each part of a `sync` message graded, and the panel's overall grade. */
export function grade(sync) {
  const l = (sync && sync.listeners) || {};
  const delay = num(sync && sync.audience_delay_ms);
  const members = Object.entries((sync && sync.members) || {}).map(([pid, m]) => {
    const loop = num(m && m.loop_ms);
    const late = loop !== null && delay !== null && loop > delay;
    return { pid, loop, rtt: num(m && m.rtt_ms), grade: late ? 'poor' : gradeOf(m && m.rtt_ms, THRESHOLDS.rttMs), late };
  });
  const loss = gradeOf(l.loss_pct_p95, THRESHOLDS.lossPct);
  const rtt = gradeOf(l.rtt_ms_p95, THRESHOLDS.rttMs);
  return { members, loss, rtt, overall: worst(loss, rtt, ...members.map((m) => m.grade)) };
}

const ms = (v) => (num(v) === null ? '–' : `${Math.round(num(v))} ms`);
const pct = (v) => (num(v) === null ? '–' : `${num(v).toFixed(1)} %`);

export class SyncPanel {
  /** nameOf(participant_id): a name to show; act(msg, done): send, say `done` or the refusal. */
  constructor(nameOf, act) {
    this.nameOf = nameOf;
    this.last = null;
    $('#delay-select').addEventListener('change', (e) => {
      const seconds = Number(e.target.value);
      act({ type: 'broadcast_delay', seconds },
        seconds ? `Broadcast delay: listeners now hear the show ${seconds} s late.` : 'Broadcast delay off.');
    });
    $('#dump-btn').addEventListener('click', () => {
      act({ type: 'dump' }, 'Dumped: what was said inside the delay never reaches the listeners.');
    });
  }

  /** Show the panel to the host and moderators only; only the host sets the delay. */
  setVisible(on, isHost = false) {
    $('#sync-card').hidden = !on;
    $('#delay-select').disabled = !isHost;
  }

  /** The delay in force (from `sync`): the select shows it, Dump works only while there is one. */
  showDelay(seconds) {
    const select = $('#delay-select');
    const value = String(seconds);
    if (![...select.options].some((o) => o.value === value)) select.append(h('option', { value, text: `${value} s` }));
    if (document.activeElement !== select) select.value = value;
    $('#dump-btn').disabled = !(seconds > 0);
  }

  reset() {
    this.last = null;
    $('#sync-figures').replaceChildren();
    $('#sync-members').replaceChildren();
    $('#sync-waiting').hidden = false;
    const badge = $('#sync-grade');
    badge.textContent = '';
    delete badge.dataset.grade;
  }

  update(sync) {
    this.last = sync;
    const g = grade(sync);
    const l = sync.listeners || {};
    const badge = $('#sync-grade');
    badge.textContent = GRADE_TEXT[g.overall];
    badge.dataset.grade = g.overall;
    $('#sync-card').dataset.grade = g.overall;
    const delayText = `${ms(sync.audience_delay_ms)}${num(sync.broadcast_delay_s) ? ` + ${sync.broadcast_delay_s} s broadcast delay` : ''}`;
    const rows = [
      ['Audience delay (D)', delayText, 'good'],
      ['Listeners', String(num(l.count) ?? 0), 'good'],
      ['Listener RTT p50 / p95', `${ms(l.rtt_ms_p50)} / ${ms(l.rtt_ms_p95)}`, g.rtt],
      ['Listener loss p50 / p95', `${pct(l.loss_pct_p50)} / ${pct(l.loss_pct_p95)}`, g.loss],
    ];
    $('#sync-figures').replaceChildren(...rows.flatMap(([term, value, level]) => [
      h('dt', { text: term }),
      h('dd', { text: value, dataset: { grade: level } }),
    ]));
    $('#sync-members').replaceChildren(...g.members.map((m) => h('li', {
      className: 'person sync-member', dataset: { participantId: m.pid, grade: m.grade },
    },
    h('span', { className: 'name', text: this.nameOf(m.pid) || 'Someone' }),
    h('span', { text: `loop ${ms(m.loop)} · RTT ${ms(m.rtt)}` }),
    m.late ? h('span', { className: 'badge late', text: 'late: loop longer than D' }) : null)));
    $('#sync-waiting').hidden = true;
    this.showDelay(num(sync.broadcast_delay_s) || 0);
  }
}
