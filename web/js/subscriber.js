// The `sub` connection: the server offers, we answer. One <audio> element per
// m-line (mid) that the offer's `tracks` list says carries media.
import { addStereo } from './sdp.js';
import { newPeerConnection, waitGathering, watchRelay } from './rtc.js';

export class Subscriber {
  /**
   * @param {object} opts
   * @param {() => Promise<{ice_servers, ice_transport_policy}>} opts.rtcConfig  the server's ICE settings
   * @param {HTMLElement} opts.sink   where the <audio> elements live
   * @param {(state: string) => void} opts.onState  connection state changes
   * @param {(text: string) => void} opts.onRelayProblem  the TURN relay is needed and unreachable
   * @param {() => void} opts.onAutoplayBlocked  play() was refused: ask for a tap
   * @param {() => void} opts.onAutoplayResolved  everything plays now
   */
  constructor({ rtcConfig, sink, onState, onRelayProblem, onAutoplayBlocked, onAutoplayResolved }) {
    this.rtcConfig = rtcConfig;
    this.sink = sink;
    this.onState = onState;
    this.onRelayProblem = onRelayProblem;
    this.onAutoplayBlocked = onAutoplayBlocked;
    this.onAutoplayResolved = onAutoplayResolved;
    this.pc = null;
    this.tracks = new Map(); // mid -> {mid, kind, participant_id}
    this.audio = new Map(); // mid -> HTMLAudioElement
    this.volume = 1;
    this.closed = false;
    this.chain = Promise.resolve();
  }

  /** Apply a server offer; resolves with the answer SDP (offers are handled in order). */
  handleOffer(msg) {
    const run = () => this.applyOffer(msg);
    const result = this.chain.then(run, run);
    this.chain = result.catch(() => {});
    return result;
  }

  async applyOffer(msg) {
    if (this.closed) throw new Error('closed');
    if (!this.pc) await this.createPc();
    const tracks = Array.isArray(msg.tracks) ? msg.tracks : [];
    this.tracks = new Map(tracks.map((t) => [String(t.mid), { ...t, mid: String(t.mid) }]));
    await this.pc.setRemoteDescription({ type: 'offer', sdp: msg.sdp });
    const answer = await this.pc.createAnswer();
    let sdp = answer.sdp;
    for (const t of this.tracks.values()) {
      if (t.kind === 'music') sdp = addStereo(sdp, t.mid);
    }
    await this.pc.setLocalDescription({ type: 'answer', sdp });
    await waitGathering(this.pc, 2000);
    if (this.closed) throw new Error('closed');
    this.reconcile();
    return this.pc.localDescription.sdp;
  }

  async createPc() {
    const { ice_servers: iceServers, ice_transport_policy: policy } = await this.rtcConfig();
    if (this.closed) throw new Error('closed');
    const pc = newPeerConnection(iceServers, policy);
    this.pc = pc;
    watchRelay(pc, { iceServers, policy, onProblem: (text) => { if (pc === this.pc) this.onRelayProblem(text); } });
    pc.ontrack = (ev) => {
      const mid = ev.transceiver && ev.transceiver.mid;
      if (mid !== null && mid !== undefined && this.tracks.has(mid)) {
        this.attach(mid, ev.track);
      }
    };
    const report = () => {
      if (pc === this.pc) this.onState(pc.connectionState || pc.iceConnectionState);
    };
    pc.onconnectionstatechange = report;
    pc.oniceconnectionstatechange = report;
  }

  /** Make the <audio> elements match the current `tracks` list. */
  reconcile() {
    for (const tr of this.pc.getTransceivers()) {
      const mid = tr.mid;
      if (mid === null || mid === undefined) continue;
      if (this.tracks.has(mid)) this.attach(mid, tr.receiver.track);
      else this.detach(mid);
    }
    for (const mid of [...this.audio.keys()]) {
      if (!this.tracks.has(mid)) this.detach(mid);
    }
  }

  attach(mid, track) {
    const info = this.tracks.get(mid);
    let el = this.audio.get(mid);
    if (!el) {
      el = document.createElement('audio');
      el.autoplay = true;
      el.dataset.mid = mid;
      el.volume = this.volume;
      el.addEventListener('playing', () => {
        if ([...this.audio.values()].every((a) => !a.paused)) this.onAutoplayResolved();
      });
      this.sink.append(el);
      this.audio.set(mid, el);
    }
    const current = el.srcObject && el.srcObject.getAudioTracks()[0];
    // A stream of its own per element: the server may put several tracks in one msid stream.
    if (current !== track) el.srcObject = new MediaStream([track]);
    el.dataset.kind = info.kind || '';
    el.dataset.participantId = info.participant_id || '';
    this.play(el);
  }

  detach(mid) {
    const el = this.audio.get(mid);
    if (!el) return;
    el.pause();
    el.srcObject = null;
    el.remove();
    this.audio.delete(mid);
  }

  play(el) {
    if (!el.paused) return;
    const p = el.play();
    if (p && p.catch) {
      p.catch((err) => {
        if (err && err.name === 'NotAllowedError') this.onAutoplayBlocked();
      });
    }
  }

  /** After a user gesture: start every element again. */
  resume() {
    const all = [...this.audio.values()].map((el) => el.play());
    return Promise.allSettled(all);
  }

  setVolume(v) {
    this.volume = v;
    for (const el of this.audio.values()) el.volume = v;
  }

  get musicMid() {
    for (const t of this.tracks.values()) if (t.kind === 'music') return t.mid;
    return null;
  }

  close() {
    this.closed = true;
    for (const mid of [...this.audio.keys()]) this.detach(mid);
    if (this.pc) {
      this.pc.ontrack = null;
      this.pc.onconnectionstatechange = null;
      this.pc.oniceconnectionstatechange = null;
      this.pc.close();
    }
    this.pc = null;
  }
}
