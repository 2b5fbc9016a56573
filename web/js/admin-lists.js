// The console's lists: rooms, reports, bans, tracks, the audit log. Everything from the server goes
// in as text (h() sets textContent); rows are kept by key, so a note being typed survives a refresh.
import { h, fmtTime } from './util.js';

const ARM_MS = 4000;

/** Local date and time of an ISO timestamp ('' if unreadable). */
export function when(iso) {
  const d = iso ? new Date(iso) : null;
  if (!d || Number.isNaN(d.getTime())) return '';
  return d.toLocaleString([], { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' });
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

function setText(row, name, text) {
  const el = field(row, name);
  el.textContent = text || '';
  el.hidden = !text;
}

// --- rooms ------------------------------------------------------------------------------------

export function renderRooms(list, rooms, { onEnd }) {
  renderKeyed(list, rooms, (r) => r.room_id, (room) => h('li', { className: 'admin-item' },
    h('div', { className: 'item-text' },
      h('span', { className: 'item-title', dataset: { field: 'title' } }),
      h('span', { className: 'muted', dataset: { field: 'host' } }),
      h('span', { className: 'small', dataset: { field: 'people' } }),
      h('span', { className: 'small muted', dataset: { field: 'music' } })),
    armedButton('End room', 'Really end it?', () => onEnd(room))),
  (row, room) => {
    setText(row, 'title', room.title);
    const here = room.host_connected ? 'here' : 'away';
    setText(row, 'host', `Host: ${room.host_name || 'nobody'} (${room.permanent ? 'permanent room' : here})`);
    setText(row, 'people', `${room.listeners} listening · ${room.speakers} on stage · since ${when(room.started_at)}`);
    const track = room.now_playing && room.now_playing.track;
    setText(row, 'music', track ? `♪ ${track.title || 'Untitled'}${track.artist ? ` by ${track.artist}` : ''}` : '');
  });
}

// --- reports ----------------------------------------------------------------------------------

function reportSubject(report) {
  const parts = [];
  if (report.participant_id) {
    parts.push(`About ${report.participant_name || 'someone'} (${report.participant_id})`);
  }
  if (report.message_id) {
    const text = report.message_text === undefined ? '(message unknown)' : `“${report.message_text}”`;
    const by = report.message_author ? ` by ${report.message_author}` : '';
    parts.push(`Message ${text}${by}${report.message_deleted ? ' (deleted)' : ''}`);
  }
  return parts.join(' · ');
}

export function renderReports(list, reports, { onResolve }) {
  renderKeyed(list, reports, (r) => r.report_id, (report) => {
    const note = h('input', { attrs: { type: 'text', maxlength: '500', 'aria-label': 'Note' } });
    note.placeholder = 'Note (optional)';
    const act = (status) => h('button', {
      className: 'small', text: status === 'resolved' ? 'Resolve' : 'Dismiss', attrs: { type: 'button' },
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
    setText(row, 'head', `${report.status} · ${when(report.at)} · room ${report.room_id} · from ${by}`);
    setText(row, 'subject', reportSubject(report));
    setText(row, 'reason', `Reason: ${report.reason}`);
    setText(row, 'note', report.note ? `Note: ${report.note}` : '');
    field(row, 'actions').hidden = report.status !== 'open';
  });
}

// --- bans -------------------------------------------------------------------------------------

export function renderBans(list, bans, { onLift }) {
  renderKeyed(list, bans, (b) => b.ban_id, (ban) => h('li', { className: 'admin-item' },
    h('div', { className: 'item-text' },
      h('span', { className: 'item-title', dataset: { field: 'who' } }),
      h('span', { dataset: { field: 'reason' } }),
      h('span', { className: 'muted small', dataset: { field: 'scope' } })),
    h('button', {
      className: 'small', text: 'Lift', attrs: { type: 'button' },
      on: { click: (ev) => onLift(ban, ev.currentTarget) },
    })),
  (row, ban) => {
    const who = [];
    if (ban.participant_id) who.push(`${ban.name || 'participant'} (${ban.participant_id})`);
    if (ban.ip) who.push(`address ${ban.ip}`);
    setText(row, 'who', who.join(' · '));
    setText(row, 'reason', ban.reason ? `Reason: ${ban.reason}` : 'No reason given');
    const scope = ban.room_id ? `room ${ban.room_id}` : 'every room';
    const by = ban.by === 'operator' ? 'the operator' : 'a host or moderator';
    setText(row, 'scope', `${scope} · by ${by} · ${when(ban.at)}`);
  });
}

// --- tracks -----------------------------------------------------------------------------------

export function renderTracks(list, tracks, { onDelete }) {
  renderKeyed(list, tracks, (t) => t.track_id, (track) => h('li', { className: 'admin-item' },
    h('div', { className: 'item-text' },
      h('span', { className: 'item-title', dataset: { field: 'title' } }),
      h('span', { className: 'muted small', dataset: { field: 'meta' } })),
    armedButton('Delete', 'Really delete?', () => onDelete(track))),
  (row, track) => {
    setText(row, 'title', track.title || 'Untitled');
    const meta = [track.artist, track.album, fmtTime(track.duration_ms)].filter(Boolean).join(' · ');
    setText(row, 'meta', meta);
  });
}

// --- the audit log ----------------------------------------------------------------------------

const ACTIONS = {
  promote: 'brought on air', demote: 'sent back', make_moderator: 'made moderator',
  mute_chat: 'changed chat for', kick: 'removed', kick_ban: 'removed and banned',
  delete_message: 'deleted a message of', operator_ban: 'banned', operator_unban: 'lifted a ban on',
  operator_end_room: 'ended the room', report_resolved: 'resolved a report on',
  report_dismissed: 'dismissed a report on', operator_delete_track: 'deleted the track',
};

function auditDetail(entry) {
  const d = entry.detail || {};
  if (entry.action === 'operator_delete_track') return `“${d.title || ''}”${d.upload ? ' (upload, file removed)' : ''}`;
  if (entry.action === 'operator_end_room') return `“${d.title || ''}”`;
  const bits = [d.reason && `reason: ${d.reason}`, d.ip && `address ${d.ip}`];
  return bits.filter(Boolean).join(', ');
}

export function renderAudit(list, entries) {
  list.replaceChildren(...entries.map((entry) => {
    const who = entry.actor_name || 'someone';
    const what = ACTIONS[entry.action] || String(entry.action || '').replace(/_/g, ' ');
    const target = entry.target_id ? ` ${entry.target_id}` : '';
    const room = entry.room_id ? ` · room ${entry.room_id}` : '';
    const detail = auditDetail(entry);
    return h('li', { dataset: { action: String(entry.action || '') } },
      h('span', { className: 'muted', text: `${when(entry.at)} ` }),
      `${who} ${what}${target}${detail ? ` ${detail}` : ''}`,
      h('span', { className: 'muted', text: room }));
  }));
}
