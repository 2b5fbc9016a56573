// The server clock, seen from performance.now(), kept in sync with ping/pong.

const KEEP = 10;

export class ServerClock {
  constructor() {
    this.samples = [];
    this.offset = null; // server_ms - performance.now()
    this.rtt = null; // last round trip (ms)
  }

  /** A rough first offset from the welcome frame, until the first pong. */
  seed(serverMs) {
    if (this.offset === null && Number.isFinite(serverMs)) this.offset = serverMs - performance.now();
  }

  pingMessage() {
    return { type: 'ping', t: performance.now() };
  }

  onPong({ t, server_ms: serverMs }) {
    const now = performance.now();
    const rtt = now - Number(t);
    if (!Number.isFinite(rtt) || rtt < 0 || !Number.isFinite(serverMs)) return;
    this.rtt = rtt;
    this.samples.push({ rtt, offset: serverMs - (Number(t) + rtt / 2) });
    if (this.samples.length > KEEP) this.samples.shift();
    // The sample with the shortest round trip has the least uncertainty.
    const best = this.samples.reduce((a, b) => (b.rtt < a.rtt ? b : a));
    this.offset = best.offset;
  }

  /** Server time now (ms). */
  now() {
    return performance.now() + (this.offset ?? 0);
  }

  reset() {
    this.samples = [];
    this.offset = null;
    this.rtt = null;
  }
}
