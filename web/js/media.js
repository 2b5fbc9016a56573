// The page's media: the `sub` connection (music and voices), the `pub`
// connection with the microphone while on stage, clock sync and `stats`.
import { Mic } from './mic.js';
import { Publisher } from './publisher.js';
import { describeQuality, outputLatencyMs, sampleSub, statsMessage } from './stats.js';
import { Subscriber } from './subscriber.js';
import { $, show } from './util.js';

export class Media {
  /**
   * hooks: {config(): {ice_servers}, clock, send(msg), onSubState(s), onPubState(s),
   *         onBroken(reason), notice(text), onStage(): bool}
   */
  constructor(hooks) {
    this.hooks = hooks;
    this.audioCtx = null;
    this.sub = null;
    this.pub = null;
    this.mic = null;
    this.micOn = true;
    this.volume = 1;
    this.loopTimer = 0;
    this.loopTicks = 0;
    this.lastQuality = null;
    this.sampling = false;
  }

  ensureAudioContext() {
    if (!this.audioCtx) {
      try { this.audioCtx = new AudioContext(); } catch { this.audioCtx = null; }
    }
    if (this.audioCtx && this.audioCtx.state === 'suspended') this.audioCtx.resume().catch(() => {});
    return this.audioCtx;
  }

  // ---- sub ------------------------------------------------------------------

  handleOffer(msg) {
    if (msg.pc !== 'sub') return;
    if (!this.sub) {
      this.sub = new Subscriber({
        iceServers: this.hooks.config().ice_servers, sink: $('#audio-sink'), onState: this.hooks.onSubState,
        onAutoplayBlocked: () => {
          const tap = $('#tap-to-listen');
          if (tap.hidden) { show(tap, true); tap.focus(); }
        },
        onAutoplayResolved: () => show($('#tap-to-listen'), false),
      });
      this.sub.setVolume(this.volume);
    }
    const s = this.sub;
    s.handleOffer(msg)
      .then((sdp) => { if (s === this.sub) this.hooks.send({ type: 'answer', pc: 'sub', sdp }); })
      .catch((err) => {
        if (s !== this.sub) return;
        console.error('sub offer failed', err);
        this.hooks.onBroken('Audio setup failed; reconnecting…');
      });
  }

  resume() {
    this.ensureAudioContext();
    if (this.sub) this.sub.resume();
  }

  setVolume(v) {
    this.volume = v;
    if (this.sub) this.sub.setVolume(v);
  }

  // ---- pub: only while on stage --------------------------------------------

  /** Open or close `pub` to match the stage. */
  setOnStage(onStage) {
    if (onStage && !this.pub) this.startPub();
    else if (!onStage && this.pub) this.stopPub();
  }

  async startPub() {
    const p = new Publisher({
      iceServers: this.hooks.config().ice_servers,
      send: (m) => this.hooks.send(m),
      onState: (s) => {
        if (this.pub !== p) return;
        this.hooks.onPubState(s);
        if (s === 'failed') this.hooks.onBroken('The microphone link failed; reconnecting…');
      },
    });
    this.pub = p;
    try {
      if (!this.mic) this.mic = new Mic(this.ensureAudioContext(), $('#mic-meter'));
      const track = await this.mic.open();
      if (this.pub !== p) return;
      this.mic.setEnabled(this.micOn);
      await p.start(track);
    } catch (err) {
      if (this.pub !== p) return;
      this.hooks.onPubState('no microphone');
      this.hooks.notice(`Microphone unavailable: ${err.message}`);
    }
  }

  stopPub() {
    if (this.pub) this.pub.close();
    this.pub = null;
    if (this.mic) this.mic.close();
    this.mic = null;
    this.hooks.onPubState('');
  }

  handleAnswer(msg) {
    if (msg.pc !== 'pub' || !this.pub) return;
    this.pub.handleAnswer(msg.sdp).catch((err) => this.hooks.notice(`Microphone link failed: ${err.message}`));
  }

  /** Was this `error` the server refusing our pub offer? */
  isPubOffer(ref) {
    return !!(this.pub && ref && ref === this.pub.offerId);
  }

  setMicEnabled(on) {
    this.micOn = on;
    if (this.mic) this.mic.setEnabled(on);
  }

  teardown() {
    this.stopLoops();
    if (this.sub) this.sub.close();
    this.sub = null;
    this.stopPub();
    this.lastQuality = null;
    show($('#tap-to-listen'), false);
  }

  // ---- periodic work: clock sync, quality, stats ----------------------------

  startLoops() {
    this.stopLoops();
    this.loopTicks = 0;
    const tick = () => {
      // ping at 0, 0.5, 1, 1.5 s then every 3 s; quality and stats every 2 s
      if (this.loopTicks < 4 || this.loopTicks % 6 === 0) this.hooks.send(this.hooks.clock.pingMessage());
      if (this.loopTicks % 4 === 3) this.sampleQuality();
      this.loopTicks += 1;
    };
    tick();
    this.loopTimer = setInterval(tick, 500);
  }

  stopLoops() {
    clearInterval(this.loopTimer);
    this.loopTimer = 0;
  }

  async sampleQuality() {
    if (this.sampling) return;
    this.sampling = true;
    try {
      const { sub } = this;
      const musicMid = sub ? sub.musicMid : null;
      const musicEl = sub && musicMid !== null ? sub.audio.get(musicMid) : null;
      const musicTrack = musicEl && musicEl.srcObject ? musicEl.srcObject.getAudioTracks()[0] : null;
      const q = await sampleSub(sub && sub.pc, musicMid, musicTrack && musicTrack.id, this.lastQuality);
      this.lastQuality = q;
      const onStage = this.hooks.onStage();
      const pubState = this.pub ? this.hooks.pubState() : '';
      $('#quality').textContent = describeQuality(q, onStage ? pubState : '');
      if (onStage) {
        this.hooks.send(statsMessage({
          rttMs: q.rttMs !== undefined ? q.rttMs : this.hooks.clock.rtt,
          jitterBufferMs: q.jitterBufferMs,
          outputMs: outputLatencyMs(this.audioCtx),
          inputMs: this.mic ? this.mic.latencyMs() : undefined,
        }));
      }
    } catch (err) {
      console.warn('stats failed', err);
    } finally {
      this.sampling = false;
    }
  }
}
