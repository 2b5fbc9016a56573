// The host's moderation log: GET /api/rooms/{id}/audit with the host token, on demand.
import { api } from './api.js';
import { $, h } from './util.js';

const ACTION_TEXT = {
  promote: 'brought on air', demote: 'sent back', make_moderator: 'made moderator',
  mute_chat: 'changed chat for', kick: 'removed', kick_ban: 'removed and banned',
  delete_message: 'deleted a message', operator_ban: 'banned', operator_unban: 'lifted a ban on',
  report_resolved: 'resolved a report about', report_dismissed: 'dismissed a report about',
  operator_end_room: 'ended the show', operator_delete_track: 'deleted a track',
};

function line(entry, nameOf) {
  const d = entry.at ? new Date(entry.at) : null;
  const when = d && !Number.isNaN(d.getTime()) ? d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' }) : '';
  const who = entry.actor_name || 'someone';
  const what = ACTION_TEXT[entry.action] || String(entry.action || '').replace(/_/g, ' ');
  const target = entry.target_id ? nameOf(entry.target_id) || 'someone' : '';
  let extra = '';
  if (entry.action === 'mute_chat' && entry.detail) extra = entry.detail.muted ? ' (muted)' : ' (unmuted)';
  return h('li', { text: `${when} · ${who} ${what}${target ? ` ${target}` : ''}${extra}` });
}

/** Wire the <details id="audit"> (host only): loads each time it is opened. */
export function wireAuditLog({ roomId, token, nameOf }) {
  const box = $('#audit');
  box.addEventListener('toggle', async () => {
    if (!box.open) return;
    const list = $('#audit-list');
    list.replaceChildren(h('li', { className: 'muted', text: 'Loading…' }));
    try {
      const entries = await api(`/api/rooms/${encodeURIComponent(roomId)}/audit`, { token: token() });
      list.replaceChildren(...(entries && entries.length
        ? entries.slice(0, 50).map((e) => line(e, nameOf))
        : [h('li', { className: 'muted', text: 'Nothing yet.' })]));
    } catch (err) {
      list.replaceChildren(h('li', { className: 'error', text: `Could not load the log: ${err.message}` }));
    }
  });
}
