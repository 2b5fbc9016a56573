// The console's lists: rooms, reports, bans, tracks, the play log, the audit log. Everything from
// the server goes in as text (h() sets textContent); rows are kept by key, so a note being typed
// survives a refresh. Words come from the catalogs; what users wrote carries translate="no".
import { formatDate, t, timeElement } from './i18n.js';
import { h, fmtTime } from './util.js';

const ARM_MS = 4000;
const SHORT = { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' };

/** Local date and time of an ISO timestamp, in the page's language ('' if unreadable). */
export function when(iso) {
  return iso ? formatDate(iso, SHORT) : '';
}

/** Make `list`'s children the rows of `items`: reused by key, built when new, updated always. */
export function renderKeyed(list, items, keyOf, build, update) {
  const old = new Map([...list.children].map((el) => [el.dataset.key, el]));
  const rows = items.map((item) => {
    const key = String(keyOf(item));
    let row = old.get(key);
    old.delete(key);
    if (!row) {
      row = build(item);
      row.dataset.key = key;
    }
    update(row, item);
    return row;
  });
  for (const gone of old.values()) gone.remove();
  rows.forEach((row, i) => {
    if (list.children[i] !== row) list.insertBefore(row, list.children[i] || null);
  });
}

/**
 * A button that asks before it acts: the first click arms it ("Really …?"), a second within 4 s
 * runs `act` (async). Returns the button; `act` errors are the caller's to show.
 */
export function armedButton(label, armedLabel, act) {
  const button = h('button', { className: 'small danger', text: label, attrs: { type: 'button' } });
  let timer = null;
  const disarm = () => {
    clearTimeout(timer);
    timer = null;
    button.textContent = label;
    button.classList.remove('armed');
  };
  button.addEventListener('click', async () => {
    if (timer === null) {
      button.textContent = armedLabel;
      button.classList.add('armed');
      timer = setTimeout(disarm, ARM_MS);
      return;
    }
    disarm();
    button.disabled = true;
    try { await act(); } finally { button.disabled = false; }
  });
  return button;
}

function field(row, name) {
  return row.querySelector(`[data-field="${name}"]`);
}

/** Set a field's text; `user` marks it as what someone wrote (not to be translated). */
function setText(row, name, text, user = false) {
  const el = field(row, name);
  el.textContent = text || '';
  el.hidden = !text;
  el.translate = !user;
}

const userText = (text, className = '') => h('span', { className, text, attrs: { translate: 'no' } });
const dot = ' · ';

// --- rooms ------------------------------------------------------------------------------------

function hostLine(room) {
  const name = room.host_name || t('admin.rooms.nobody');
  if (room.permanent) return t('admin.rooms.host_permanent', { name });
  return t(room.host_connected ? 'admin.rooms.host_here' : 'admin.rooms.host_away', { name });
}

function musicLine(row, room) {
  const track = room.now_playing && room.now_playing.track;
  if (!track) return setText(row, 'music', '');
  const title = track.title || t('admin.untitled');
  if (!track.artist) return setText(row, 'music', `♪ ${title}`, true);
  return setText(row, 'music', t('admin.rooms.playing_by', { title, artist: track.artist }));
}

export function renderRooms(list, rooms, { onEnd }) {
  renderKeyed(list, rooms, (r) => r.room_id, (room) => h('li', { className: 'admin-item' },
    h('div', { className: 'item-text' },
      h('span', { className: 'item-title', dataset: { field: 'title' } }),
      h('span', { className: 'muted', dataset: { field: 'host' } }),
      h('span', { className: 'small', dataset: { field: 'people' } }),
      h('span', { className: 'small muted', dataset: { field: 'music' } })),
    armedButton(t('admin.rooms.end'), t('admin.rooms.end_armed'), () => onEnd(room))),
  (row, room) => {
    setText(row, 'title', room.title, true);
    setText(row, 'host', hostLine(room));
    setText(row, 'people', t('admin.rooms.people', {
      listeners: room.listeners, speakers: room.speakers, since: when(room.started_at) }));
    musicLine(row, room);
  });
}

// --- reports ----------------------------------------------------------------------------------

function reportSubject(report) {
  const parts = [];
  if (report.participant_id) {
    parts.push(h('span', { text: t('admin.reports.about', {
      name: report.participant_name || t('admin.someone'), id: report.participant_id }) }));
  }
  if (report.message_id) {
    let text;
    if (report.message_text === undefined) text = t('admin.reports.message_unknown');
    else if (report.message_author) text = t('admin.reports.message_by', { text: report.message_text, author: report.message_author });
    else text = t('admin.reports.message', { text: report.message_text });
    if (parts.length) parts.push(dot);
    parts.push(h('span', { text }));
    if (report.message_deleted) parts.push(' ', h('span', { text: t('admin.reports.deleted') }));
  }
  return parts;
}

export function renderReports(list, reports, { onResolve }) {
  renderKeyed(list, reports, (r) => r.report_id, (report) => {
    const note = h('input', { attrs: { type: 'text', maxlength: '500', 'aria-label': t('admin.reports.note_label') } });
    note.placeholder = t('admin.reports.note_placeholder');
    const act = (status) => h('button', {
      className: 'small', text: t(`admin.reports.${status === 'resolved' ? 'resolve' : 'dismiss'}`),
      attrs: { type: 'button' },
      on: { click: (ev) => onResolve(report, status, note.value, ev.currentTarget) },
    });
    return h('li', { className: 'admin-item report' },
      h('div', { className: 'item-text' },
        h('span', { dataset: { field: 'head' } }),
        h('span', { className: 'item-title', dataset: { field: 'subject' } }),
        h('span', { dataset: { field: 'reason' } }),
        h('span', { className: 'muted small', dataset: { field: 'note' } })),
      h('div', { className: 'report-actions', dataset: { field: 'actions' } },
        note, act('resolved'), act('dismissed')));
  }, (row, report) => {
    row.dataset.status = report.status;
    const by = report.reporter_name || report.reporter_id;
    const status = t(`admin.reports.status.${report.status}`);
    setText(row, 'head', t('admin.reports.head', { status, when: when(report.at), room: report.room_id, by }));
    const subject = field(row, 'subject');
    subject.replaceChildren(...reportSubject(report));
    subject.hidden = !subject.childNodes.length;
    setText(row, 'reason', t('admin.reports.reason', { reason: report.reason }));
    setText(row, 'note', report.note ? t('admin.reports.note', { note: report.note }) : '');
    field(row, 'actions').hidden = report.status !== 'open';
  });
}

// --- bans -------------------------------------------------------------------------------------

function banWho(ban) {
  const who = [];
  if (ban.participant_id) {
    who.push(ban.name ? userText(`${ban.name} (${ban.participant_id})`)
      : h('span', { text: t('admin.bans.participant', { id: ban.participant_id }) }));
  }
  if (ban.ip) {
    if (who.length) who.push(dot);
    who.push(h('span', { text: t('admin.bans.address', { ip: ban.ip }) }));
  }
  return who;
}

export function renderBans(list, bans, { onLift }) {
  renderKeyed(list, bans, (b) => b.ban_id, (ban) => h('li', { className: 'admin-item' },
    h('div', { className: 'item-text' },
      h('span', { className: 'item-title', dataset: { field: 'who' } }),
      h('span', { dataset: { field: 'reason' } }),
      h('span', { className: 'muted small', dataset: { field: 'scope' } })),
    h('button', {
      className: 'small', text: t('admin.bans.lift'), attrs: { type: 'button' },
      on: { click: (ev) => onLift(ban, ev.currentTarget) },
    })),
  (row, ban) => {
    field(row, 'who').replaceChildren(...banWho(ban));
    setText(row, 'reason', ban.reason ? t('admin.bans.reason', { reason: ban.reason }) : t('admin.bans.no_reason'));
    const scope = ban.room_id ? t('admin.bans.room', { room: ban.room_id }) : t('admin.bans.every_room');
    const by = t(ban.by === 'operator' ? 'admin.bans.by_operator' : 'admin.bans.by_moderator');
    setText(row, 'scope', t('admin.bans.scope', { scope, by, when: when(ban.at) }));
  });
}

// --- tracks -----------------------------------------------------------------------------------

export function renderTracks(list, tracks, { onDelete }) {
  renderKeyed(list, tracks, (tr) => tr.track_id, (track) => h('li', { className: 'admin-item' },
    h('div', { className: 'item-text' },
      h('span', { className: 'item-title', dataset: { field: 'title' } }),
      h('span', { className: 'muted small', dataset: { field: 'meta' } })),
    armedButton(t('admin.tracks.delete'), t('admin.tracks.delete_armed'), () => onDelete(track))),
  (row, track) => {
    if (track.title) setText(row, 'title', track.title, true);
    else setText(row, 'title', t('admin.untitled'));
    const meta = [track.artist, track.album, fmtTime(track.duration_ms)].filter(Boolean).join(dot);
    setText(row, 'meta', meta, true);
  });
}

// --- the play log -----------------------------------------------------------------------------

function playFacts(play) {
  const facts = [timeElement(play.started_at, { dateStyle: 'medium', timeStyle: 'short' }), dot];
  facts.push(h('span', { text: play.ended_at
    ? t('admin.playlog.played', { played: fmtTime(play.played_ms) })
    : t('admin.playlog.playing_now') }));
  facts.push(dot, h('span', { text: t('admin.playlog.listeners', {
    count: Number(play.listeners_start) || 0, peak: Number(play.listeners_peak) || 0 }) }));
  return facts;
}

/** The plays of a period, newest first: when, what, where, how long, to how many. */
export function renderPlays(list, plays) {
  list.replaceChildren(...plays.map((play) => {
    const meta = [play.artist, play.album].filter(Boolean).join(dot);
    return h('li', { className: 'admin-item play', dataset: { key: String(play.play_id) } },
      h('div', { className: 'item-text' },
        play.title ? userText(play.title, 'item-title') : h('span', { className: 'item-title', text: t('admin.untitled') }),
        meta ? userText(meta, 'muted small') : null,
        h('span', { className: 'small', text: t('admin.playlog.room', { room: play.room_title || play.room_id }) }),
        h('span', { className: 'muted small' }, ...playFacts(play))));
  }));
}

// --- the audit log ----------------------------------------------------------------------------

// Actions whose sentence names a target ("{who} removed {target}"); the others name none.
const TARGETED = new Set(['promote', 'demote', 'make_moderator', 'kick', 'kick_ban', 'screen',
  'operator_ban', 'operator_unban', 'report_resolved', 'report_dismissed', 'operator_delete_track',
  'request_accepted', 'request_declined']);

function auditSentence(entry) {
  const d = entry.detail || {};
  const who = entry.actor_id || entry.actor_name !== 'operator'
    ? entry.actor_name || t('admin.someone') : t('admin.audit.operator');
  const target = entry.target_id || d.ip || t('admin.someone');
  const action = String(entry.action || '');
  const key = `admin.audit.action.${action}`;
  if (action === 'operator_end_room') return t(key, { who, title: d.title || '' });
  if (action === 'operator_delete_track') return t(key, { who, target, title: d.title || '' });
  if (action === 'record') return t(`${key}.${d.on ? 'on' : 'off'}`, { who });
  if (action === 'broadcast_delay') return t(key, { who, count: Number(d.seconds) || 0 });
  if (action === 'mute_chat') return t(`${key}.${d.muted ? 'on' : 'off'}`, { who, target });
  if (TARGETED.has(action)) return t(key, { who, target });
  if (action === 'delete_message' || action === 'dump') return t(key, { who });
  return t('admin.audit.action.other', { who, action });
}

function auditDetails(entry) {
  const d = entry.detail || {};
  const out = [];
  if (entry.action === 'operator_delete_track' && d.upload) out.push(' ', h('span', { text: t('admin.audit.upload_removed') }));
  if (d.reason) out.push(dot, h('span', { text: t('admin.audit.reason', { reason: d.reason }) }));
  if (d.ip && entry.target_id) out.push(dot, h('span', { text: t('admin.audit.address', { ip: d.ip }) }));
  return out;
}

export function renderAudit(list, entries) {
  list.replaceChildren(...entries.map((entry) => h('li', { dataset: { action: String(entry.action || '') } },
    h('span', { className: 'muted' }, timeElement(entry.at, SHORT)), ' ',
    h('span', { text: auditSentence(entry) }),
    ...auditDetails(entry),
    entry.room_id ? h('span', { className: 'muted' }, dot, h('span', { text: t('admin.audit.room', { room: entry.room_id }) })) : null)));
}
