// The `pub` connection: we offer one sendonly audio m-line, the server answers.
import { newPeerConnection, waitGathering, watchRelay } from './rtc.js';
import { uuid } from './util.js';

export class Publisher {
  /** rtcConfig(): Promise<{ice_servers, ice_transport_policy}>; onRelayProblem(text): TURN unreachable. */
  constructor({ rtcConfig, send, onState, onRelayProblem }) {
    this.rtcConfig = rtcConfig;
    this.send = send;
    this.onState = onState;
    this.onRelayProblem = onRelayProblem;
    this.pc = null;
    this.closed = false;
    this.offerId = null; // the server's `error` for our offer carries it as `ref`
  }

  async start(track) {
    const { ice_servers: iceServers, ice_transport_policy: policy } = await this.rtcConfig();
    if (this.closed) return;
    const pc = newPeerConnection(iceServers, policy);
    this.pc = pc;
    watchRelay(pc, { iceServers, policy, onProblem: (text) => { if (pc === this.pc) this.onRelayProblem(text); } });
    pc.onconnectionstatechange = () => {
      if (pc === this.pc) this.onState(pc.connectionState);
    };
    pc.addTransceiver(track, { direction: 'sendonly' });
    const offer = await pc.createOffer();
    await pc.setLocalDescription(offer);
    await waitGathering(pc, 2000);
    if (this.closed || pc !== this.pc) return;
    this.offerId = uuid();
    this.send({ type: 'offer', pc: 'pub', sdp: pc.localDescription.sdp, id: this.offerId });
    this.onState('connecting');
  }

  async handleAnswer(sdp) {
    if (!this.pc || this.pc.signalingState !== 'have-local-offer') return;
    await this.pc.setRemoteDescription({ type: 'answer', sdp });
  }

  close() {
    this.closed = true;
    if (this.pc) {
      this.pc.onconnectionstatechange = null;
      this.pc.close();
    }
    this.pc = null;
  }
}
