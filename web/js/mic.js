// The microphone: capture with processing off (music and instruments pass
// through untouched) and a live level meter drawn from an AnalyserNode.

export const MIC_CONSTRAINTS = {
  audio: { echoCancellation: false, noiseSuppression: false, autoGainControl: false },
  video: false,
};

export class Mic {
  constructor(audioCtx, meterEl) {
    this.ctx = audioCtx;
    this.meterEl = meterEl;
    this.stream = null;
    this.source = null;
    this.analyser = null;
    this.raf = 0;
  }

  get track() {
    return this.stream ? this.stream.getAudioTracks()[0] : null;
  }

  async open() {
    if (this.stream) return this.track;
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      throw Object.assign(new Error('This browser cannot use a microphone here (it needs HTTPS).'), { code: 'insecure' });
    }
    this.stream = await navigator.mediaDevices.getUserMedia(MIC_CONSTRAINTS);
    if (this.ctx) {
      this.source = this.ctx.createMediaStreamSource(this.stream);
      this.analyser = this.ctx.createAnalyser();
      this.analyser.fftSize = 1024;
      this.source.connect(this.analyser);
      this.drawMeter();
    }
    return this.track;
  }

  setEnabled(on) {
    if (this.track) this.track.enabled = on;
  }

  drawMeter() {
    const buf = new Float32Array(this.analyser.fftSize);
    const frame = () => {
      if (!this.analyser) return;
      this.analyser.getFloatTimeDomainData(buf);
      let sum = 0;
      for (let i = 0; i < buf.length; i += 1) sum += buf[i] * buf[i];
      const rms = Math.sqrt(sum / buf.length);
      const db = rms > 0 ? 20 * Math.log10(rms) : -100;
      const pct = Math.max(0, Math.min(100, ((db + 60) / 60) * 100)); // -60 dBFS .. 0
      this.meterEl.style.width = `${pct.toFixed(1)}%`;
      this.raf = requestAnimationFrame(frame);
    };
    this.raf = requestAnimationFrame(frame);
  }

  /** Input latency in ms, where the browser knows it. */
  latencyMs() {
    const t = this.track;
    const s = t && t.getSettings ? t.getSettings() : {};
    return typeof s.latency === 'number' ? s.latency * 1000 : undefined;
  }

  close() {
    cancelAnimationFrame(this.raf);
    if (this.source) this.source.disconnect();
    this.source = null;
    this.analyser = null;
    if (this.stream) this.stream.getTracks().forEach((t) => t.stop());
    this.stream = null;
    this.meterEl.style.width = '0';
  }
}
