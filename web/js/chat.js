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
  constructor(logEl) {
    this.log = logEl;
    this.seen = new Set();
  }

  setHistory(messages) {
    this.log.replaceChildren();
    this.seen.clear();
    for (const m of messages || []) this.add(m, false);
    this.log.scrollTop = this.log.scrollHeight;
  }

  add(msg, scroll = true) {
    if (!msg || this.seen.has(msg.message_id)) return;
    this.seen.add(msg.message_id);
    const nearBottom = this.log.scrollHeight - this.log.scrollTop - this.log.clientHeight < 60;
    const item = h('li', { className: 'chat-msg', dataset: { messageId: msg.message_id ?? '' } },
      h('span', { className: 'who', text: msg.name ?? '' }),
      h('span', { className: 'text', text: msg.text ?? '' }),
      h('time', { className: 'when', text: timeOf(msg), attrs: msg.at ? { datetime: msg.at } : {} }));
    this.log.append(item);
    while (this.log.children.length > MAX_SHOWN) {
      this.seen.delete(this.log.firstElementChild.dataset.messageId);
      this.log.firstElementChild.remove();
    }
    if (scroll && nearBottom) this.log.scrollTop = this.log.scrollHeight;
  }

  remove(messageId) {
    for (const item of this.log.children) {
      if (item.dataset.messageId === messageId) {
        item.remove();
        break;
      }
    }
  }
}
