// The host's moderation log: GET /api/rooms/{id}/audit with the host token, on demand.
import { api } from './api.js';
import { errorText, has, t, timeElement } from './i18n.js';
import { $, h } from './util.js';

// Actions that name the person they were done to ("{who} removed {target}").
const WITH_TARGET = new Set(['promote', 'demote', 'make_moderator', 'mute_chat', 'kick', 'kick_ban', 'operator_ban',
  'operator_unban', 'report_resolved', 'report_dismissed', 'screen', 'request_accepted', 'request_declined']);

function what(entry, nameOf) {
  const who = entry.actor_name || t('desk.audit.someone');
  const target = entry.target_id ? nameOf(entry.target_id) || t('desk.audit.someone') : t('desk.audit.someone');
  let key = `desk.audit.${entry.action}`;
  const detail = entry.detail || {};
  if (entry.action === 'mute_chat' && entry.detail) key += detail.muted ? '_on' : '_off';
  if (entry.action === 'record') key += detail.on ? '_on' : '_off';
  if (entry.action === 'broadcast_delay' && !Number(detail.seconds)) key += '_off';
  if (!has(key)) return t('desk.audit.other', { who, action: String(entry.action || '').replace(/_/g, ' ') });
  if (entry.action === 'broadcast_delay') return t(key, { who, seconds: Number(detail.seconds) || 0 });
  return t(key, WITH_TARGET.has(entry.action) ? { who, target } : { who });
}

function line(entry, nameOf) {
  const d = entry.at ? new Date(entry.at) : null;
  const when = d && !Number.isNaN(d.getTime()) ? [timeElement(d, { hour: '2-digit', minute: '2-digit' }), ' · '] : [];
  return h('li', {}, ...when, what(entry, nameOf));
}

/** Wire the <details id="audit"> (host only): loads each time it is opened. */
export function wireAuditLog({ roomId, token, nameOf }) {
  const box = $('#audit');
  box.addEventListener('toggle', async () => {
    if (!box.open) return;
    const list = $('#audit-list');
    list.replaceChildren(h('li', { className: 'muted', text: t('desk.audit.loading') }));
    try {
      const entries = await api(`/api/rooms/${encodeURIComponent(roomId)}/audit`, { token: token() });
      list.replaceChildren(...(entries && entries.length
        ? entries.slice(0, 50).map((e) => line(e, nameOf))
        : [h('li', { className: 'muted', text: t('desk.audit.empty') })]));
    } catch (err) {
      list.replaceChildren(h('li', { className: 'error', text: t('desk.audit.failed', { why: errorText(err) }) }));
    }
  });
}
