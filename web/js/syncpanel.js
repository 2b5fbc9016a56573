// Sync health, for the host and moderators: the `sync` message (every 2 s) as
// a small panel. D is the audience delay; each voice on air has its loop
// latency L_i (D must never sit below it, or that voice reaches listeners late),
// measured from their voice where it carries the music or estimated from stats,
// and RTT; the listeners' RTT and loss come from their RTCP receiver reports.
import { formatNumber, t } from './i18n.js';
import { $, h } from './util.js';

// Thresholds (amber from the first, red from the second):
// - listeners' loss p95: over 2 % is audible now and then, over 5 % breaks the show up;
// - RTT p95 (listeners and voices): over 300 ms is a long way, over 600 ms a struggling link;
// - a voice whose loop is longer than D is red: it reaches the audience late by the difference.
export const THRESHOLDS = { lossPct: [2, 5], rttMs: [300, 600] };
const RANK = { good: 0, fair: 1, poor: 2 };

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
    return { pid, loop, measured: Boolean(m && m.measured), rtt: num(m && m.rtt_ms),
      grade: late ? 'poor' : gradeOf(m && m.rtt_ms, THRESHOLDS.rttMs), late };
  });
  const loss = gradeOf(l.loss_pct_p95, THRESHOLDS.lossPct);
  const rtt = gradeOf(l.rtt_ms_p95, THRESHOLDS.rttMs);
  return { members, loss, rtt, overall: worst(loss, rtt, ...members.map((m) => m.grade)) };
}

const ms = (v) => (num(v) === null ? '–' : t('desk.sync.ms', { ms: Math.round(num(v)) }));
const pct = (v) => (num(v) === null ? '–'
  : `${formatNumber(num(v), { minimumFractionDigits: 1, maximumFractionDigits: 1 })} %`);
/** "a / b" as three text nodes: each figure is one message. */
const pair = (a, b) => [a, ' / ', b];

export class SyncPanel {
  /** nameOf(participant_id): a name to show; act(msg, done): send, say `done` or the refusal. */
  constructor(nameOf, act) {
    this.nameOf = nameOf;
    this.last = null;
    $('#delay-select').addEventListener('change', (e) => {
      const seconds = Number(e.target.value);
      act({ type: 'broadcast_delay', seconds },
        seconds ? t('desk.sync.delay_set', { seconds }) : t('desk.sync.delay_none'));
    });
    $('#dump-btn').addEventListener('click', () => {
      act({ type: 'dump' }, t('desk.sync.dumped'));
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
    if (![...select.options].some((o) => o.value === value)) {
      select.append(h('option', { attrs: { value }, text: t('desk.sync.seconds', { seconds: Number(seconds) }) }));
    }
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
    badge.textContent = t(`desk.sync.grade.${g.overall}`);
    badge.dataset.grade = g.overall;
    $('#sync-card').dataset.grade = g.overall;
    const broadcast = num(sync.broadcast_delay_s);
    const delay = [ms(sync.audience_delay_ms),
      ...(broadcast ? [' + ', t('desk.sync.broadcast_delay', { seconds: broadcast })] : [])];
    const rows = [
      ['desk.sync.audience_delay', delay, 'good'],
      ['desk.sync.listeners', [formatNumber(num(l.count) ?? 0)], 'good'],
      ['desk.sync.listener_rtt', pair(ms(l.rtt_ms_p50), ms(l.rtt_ms_p95)), g.rtt],
      ['desk.sync.listener_loss', pair(pct(l.loss_pct_p50), pct(l.loss_pct_p95)), g.loss],
    ];
    $('#sync-figures').replaceChildren(...rows.flatMap(([term, value, level]) => [
      h('dt', { text: t(term) }),
      h('dd', { dataset: { grade: level } }, ...value),
    ]));
    $('#sync-members').replaceChildren(...g.members.map((m) => h('li', {
      className: 'person sync-member', dataset: { participantId: m.pid, grade: m.grade },
    },
    this.nameOf(m.pid) ? h('span', { className: 'name', text: this.nameOf(m.pid), attrs: { translate: 'no' } })
      : h('span', { className: 'name', text: t('desk.sync.someone') }),
    h('span', { text: t('desk.sync.member', {
      loop: ms(m.loop), how: t(m.measured ? 'desk.sync.measured' : 'desk.sync.estimated'), rtt: ms(m.rtt),
    }) }),
    m.late ? h('span', { className: 'badge late', text: t('desk.sync.late') }) : null)));
    $('#sync-waiting').hidden = true;
    this.showDelay(num(sync.broadcast_delay_s) || 0);
  }
}
