// The `pub` connection: we offer one sendonly audio m-line, the server answers.
import { newPeerConnection, waitGathering } from './rtc.js';
import { uuid } from './util.js';

export class Publisher {
  constructor({ iceServers, send, onState }) {
    this.iceServers = iceServers;
    this.send = send;
    this.onState = onState;
    this.pc = null;
    this.closed = false;
    this.offerId = null; // the server's `error` for our offer carries it as `ref`
  }

  async start(track) {
    const pc = newPeerConnection(this.iceServers);
    this.pc = pc;
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
