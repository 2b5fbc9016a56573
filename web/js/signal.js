// The room WebSocket: JSON frames in and out. Reconnection policy lives in reconnect.js.
import { errorText, t } from './i18n.js';
import { uuid } from './util.js';

const REQUEST_TIMEOUT_MS = 10000;

/**
 * A refused request: `code` is the protocol's error code (or `timeout`, `disconnected`);
 * `reason` and `params`, when the server gives them, name the refusal for the catalogs.
 */
export class RequestError extends Error {
  constructor(code, message, reason = undefined, params = undefined) {
    super(message);
    this.code = code;
    this.reason = reason;
    this.params = params;
  }
}

export class Signal {
  constructor(roomId, { onMessage, onClose }) {
    this.roomId = roomId;
    this.onMessage = onMessage;
    this.onClose = onClose;
    this.ws = null;
    this.pending = new Map(); // id -> {resolve, reject, timer}
  }

  open(name, token) {
    this.close();
    const query = new URLSearchParams({ name });
    if (token) query.set('token', token);
    const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
    const url = `${scheme}//${location.host}/api/rooms/${encodeURIComponent(this.roomId)}/ws?${query}`;
    const ws = new WebSocket(url);
    this.ws = ws;
    ws.onmessage = (ev) => {
      if (ws !== this.ws) return;
      let msg;
      try { msg = JSON.parse(ev.data); } catch { return; }
      if (!msg || typeof msg.type !== 'string') return;
      if ((msg.type === 'ack' || msg.type === 'error') && this.settle(msg)) return;
      this.onMessage(msg);
    };
    ws.onclose = (ev) => {
      if (ws !== this.ws) return; // closed on purpose
      this.ws = null;
      this.failAll();
      this.onClose(ev.code, ev.reason);
    };
  }

  get isOpen() {
    return !!this.ws && this.ws.readyState === WebSocket.OPEN;
  }

  send(msg) {
    if (!this.isOpen) return false;
    this.ws.send(JSON.stringify(msg));
    return true;
  }

  /** Send with an `id`; resolves on the `ack`, rejects with a RequestError on the `error`. */
  request(msg) {
    const id = uuid();
    if (!this.send({ ...msg, id })) {
      return Promise.reject(new RequestError('disconnected', 'Not connected right now.'));
    }
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new RequestError('timeout', 'The server did not answer in time.'));
      }, REQUEST_TIMEOUT_MS);
      this.pending.set(id, { resolve, reject, timer });
    });
  }

  /** An ack/error for one of our requests: settle it and swallow the frame. */
  settle(msg) {
    const p = msg.ref ? this.pending.get(msg.ref) : null;
    if (!p) return false;
    this.pending.delete(msg.ref);
    clearTimeout(p.timer);
    if (msg.type === 'ack') p.resolve();
    else p.reject(new RequestError(msg.code || 'internal', msg.message || msg.code || 'Refused', msg.reason, msg.params));
    return true;
  }

  failAll() {
    for (const p of this.pending.values()) {
      clearTimeout(p.timer);
      p.reject(new RequestError('disconnected', 'The connection dropped before the server answered.'));
    }
    this.pending.clear();
  }

  /** Close without reporting it to onClose. */
  close(code = 1000) {
    const ws = this.ws;
    this.ws = null;
    this.failAll();
    if (ws) {
      try { ws.close(code); } catch { /* already closing */ }
    }
  }
}

/** A refusal (a RequestError, an ApiError or an `error` frame), in the page's language. */
export function describeError(err) {
  const code = err && err.code;
  if (code === 'timeout' || code === 'disconnected') return t(`room.error.${code}`);
  return errorText(err);
}
