// The chat log. Message text goes in with textContent only. Each line carries its
// author's role badge (host, moderator, guest), so nobody passes for the host.
import { formatDate, t } from './i18n.js';
import { h } from './util.js';

const MAX_SHOWN = 200;
const BADGE = { host: 'room.chat.badge.host', moderator: 'room.chat.badge.moderator', speaker: 'room.chat.badge.speaker' };

const timeOf = (msg) => (msg.at ? formatDate(msg.at, { hour: '2-digit', minute: '2-digit' }) : '');

export class ChatView {
  /** onActions(message): open the actions for one message (delete, report). */
  constructor(logEl, onActions) {
    this.log = logEl; // the <ol> of lines, inside its scrolling role="log" box
    this.scroller = logEl.parentElement;
    this.onActions = onActions;
    this.messages = new Map(); // message_id -> message, in log order
    this.me = null;
  }

  setMe(participantId) {
    this.me = participantId;
  }

  get(messageId) {
    return this.messages.get(messageId) || null;
  }

  setHistory(messages) {
    this.log.replaceChildren();
    this.messages.clear();
    for (const m of messages || []) this.add(m, false);
    this.scroller.scrollTop = this.scroller.scrollHeight;
  }

  add(msg, scroll = true) {
    if (!msg || !msg.message_id || this.messages.has(msg.message_id)) return;
    this.messages.set(msg.message_id, msg);
    const box = this.scroller;
    const nearBottom = box.scrollHeight - box.scrollTop - box.clientHeight < 60;
    const mine = msg.participant_id === this.me;
    const more = h('button', {
      className: 'small subtle msg-actions', text: '⋯',
      attrs: { type: 'button', 'aria-haspopup': 'dialog',
        'aria-label': mine ? t('room.chat.actions_mine') : t('room.chat.actions', { name: msg.name ?? '' }) },
      on: { click: () => this.onActions(msg) },
    });
    const badge = BADGE[msg.role];
    const item = h('li', {
      className: `chat-msg${mine ? ' mine' : ''}${badge ? ` staff ${msg.role}` : ''}`,
      dataset: { messageId: msg.message_id, role: msg.role || '' },
    },
    h('span', { className: 'who', text: msg.name ?? '', attrs: { translate: 'no' } }),
    badge ? h('span', { className: `badge ${msg.role}`, text: t(badge) }) : null,
    h('span', { className: 'text', text: msg.text ?? '', attrs: { translate: 'no' } }),
    h('time', { className: 'when', text: timeOf(msg), attrs: msg.at ? { datetime: msg.at } : {} }),
    more);
    this.log.append(item);
    while (this.log.children.length > MAX_SHOWN) {
      this.messages.delete(this.log.firstElementChild.dataset.messageId);
      this.log.firstElementChild.remove();
    }
    if (scroll && nearBottom) box.scrollTop = box.scrollHeight;
  }

  remove(messageId) {
    this.messages.delete(messageId);
    for (const item of this.log.children) {
      if (item.dataset.messageId === messageId) {
        const hadFocus = item.contains(document.activeElement);
        const next = item.nextElementSibling || item.previousElementSibling;
        item.remove();
        if (hadFocus) (next ? next.querySelector('button') : document.getElementById('chat-input'))?.focus();
        break;
      }
    }
  }
}
