// The page's media: the `sub` connection (music and voices), the `pub`
// connection with the microphone while on stage, clock sync and `stats`.
import { loadConfig } from './api.js';
import { t } from './i18n.js';
import { Mic } from './mic.js';
import { Publisher } from './publisher.js';
import { turnExpiresSoon } from './rtc.js';
import { describeQuality, outputLatencyMs, sampleSub, statsMessage } from './stats.js';
import { Subscriber } from './subscriber.js';
import { $, show } from './util.js';

/** Why the microphone cannot be used, for people: the browser's own words only as a last resort. */
function micProblem(err) {
  const known = { NotAllowedError: 'denied', SecurityError: 'denied', NotFoundError: 'none', NotReadableError: 'busy' };
  const why = known[err && err.name];
  if (err && err.code === 'insecure') return t('room.mic.insecure');
  return why ? t(`room.mic.unavailable_${why}`) : t('room.mic.unavailable', { error: (err && err.message) || '' });
}

export class Media {
  /**
   * hooks: {config(): {ice_servers, ice_transport_policy}, clock, send(msg), onSubState(s),
   *         onPubState(s), onBroken(reason), notice(text), onStage(): bool, onRelayProblem?(text)}
   */
  constructor(hooks) {
    this.hooks = hooks;
    this.freshConfig = null; // /api/config again, when the page's TURN credential ran out
    this.relayTrouble = ''; // why no audio can arrive, while it cannot
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

  /** The server's ICE settings, fetched again when their TURN credential is about to expire. */
  async rtcConfig() {
    const c = this.freshConfig || this.hooks.config();
    if (!turnExpiresSoon(c.ice_servers)) return c;
    this.freshConfig = await loadConfig();
    return this.freshConfig;
  }

  /**
   * The relay (TURN) is needed and cannot be reached: say so in the notice, and
   * keep saying it in the quality line (and through hooks.onRelayProblem, if
   * the page gives one) until audio connects.
   */
  relayProblem(text) {
    this.relayTrouble = text;
    this.hooks.notice(text);
    $('#quality').textContent = text;
    if (this.hooks.onRelayProblem) this.hooks.onRelayProblem(text);
  }

  // ---- sub ------------------------------------------------------------------

  handleOffer(msg) {
    if (msg.pc !== 'sub') return;
    if (!this.sub) {
      this.sub = new Subscriber({
        rtcConfig: () => this.rtcConfig(),
        sink: $('#audio-sink'),
        onState: (s) => {
          if (s === 'connected') this.relayTrouble = '';
          this.hooks.onSubState(s);
        },
        onRelayProblem: (text) => this.relayProblem(text),
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
        this.hooks.onBroken(t('room.media.sub_failed'));
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
      rtcConfig: () => this.rtcConfig(),
      onRelayProblem: (text) => { if (this.pub === p) this.hooks.notice(text); },
      send: (m) => this.hooks.send(m),
      onState: (s) => {
        if (this.pub !== p) return;
        this.hooks.onPubState(s);
        if (s === 'failed') this.hooks.onBroken(t('room.media.pub_failed'));
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
      this.hooks.notice(micProblem(err));
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
    this.pub.handleAnswer(msg.sdp).catch(() => this.hooks.notice(t('room.media.answer_failed')));
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
      const connected = q.ice === 'connected' || q.ice === 'completed';
      $('#quality').textContent = this.relayTrouble && !connected
        ? this.relayTrouble : describeQuality(q, onStage ? pubState : '');
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
