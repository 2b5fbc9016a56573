// The chat log. Message text goes in with textContent only.
import { h } from './util.js';

const MAX_SHOWN = 200;

function timeOf(msg) {
  const d = msg.at ? new Date(msg.at) : null;
  return d && !Number.isNaN(d.getTime())
    ? d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' })
    : '';
}

export class ChatView {
  /** onActions(message): open the actions for one message (delete, report). */
  constructor(logEl, onActions) {
    this.log = logEl;
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
    this.log.scrollTop = this.log.scrollHeight;
  }

  add(msg, scroll = true) {
    if (!msg || !msg.message_id || this.messages.has(msg.message_id)) return;
    this.messages.set(msg.message_id, msg);
    const nearBottom = this.log.scrollHeight - this.log.scrollTop - this.log.clientHeight < 60;
    const mine = msg.participant_id === this.me;
    const more = h('button', {
      className: 'small subtle msg-actions', text: '⋯',
      attrs: { type: 'button', 'aria-haspopup': 'dialog',
        'aria-label': mine ? 'Actions for message from you' : `Actions for message from ${msg.name ?? ''}` },
      on: { click: () => this.onActions(msg) },
    });
    const item = h('li', { className: `chat-msg${mine ? ' mine' : ''}`, dataset: { messageId: msg.message_id } },
      h('span', { className: 'who', text: msg.name ?? '' }),
      h('span', { className: 'text', text: msg.text ?? '' }),
      h('time', { className: 'when', text: timeOf(msg), attrs: msg.at ? { datetime: msg.at } : {} }),
      more);
    this.log.append(item);
    while (this.log.children.length > MAX_SHOWN) {
      this.messages.delete(this.log.firstElementChild.dataset.messageId);
      this.log.firstElementChild.remove();
    }
    if (scroll && nearBottom) this.log.scrollTop = this.log.scrollHeight;
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
