// The room WebSocket: JSON frames in and out. Reconnection policy lives in room.js.

export class Signal {
  constructor(roomId, { onMessage, onClose }) {
    this.roomId = roomId;
    this.onMessage = onMessage;
    this.onClose = onClose;
    this.ws = null;
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
      if (msg && typeof msg.type === 'string') this.onMessage(msg);
    };
    ws.onclose = (ev) => {
      if (ws !== this.ws) return; // closed on purpose
      this.ws = null;
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

  /** Close without reporting it to onClose. */
  close(code = 1000) {
    const ws = this.ws;
    this.ws = null;
    if (ws) {
      try { ws.close(code); } catch { /* already closing */ }
    }
  }
}
