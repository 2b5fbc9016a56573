// The room page: join, then follow the show over the WebSocket (PROTOCOL.md).
import { api, loadConfig } from './api.js';
import { ChatView } from './chat.js';
import { ServerClock } from './clock.js';
import { Mic } from './mic.js';
import { NowPlayingView } from './nowplaying.js';
import { PeopleView, STAGE_ROLES } from './people.js';
import { Publisher } from './publisher.js';
import { Signal } from './signal.js';
import { describeQuality, outputLatencyMs, sampleSub, statsMessage } from './stats.js';
import { Subscriber } from './subscriber.js';
import { $, show, store, uuid } from './util.js';
import {
  chatError, confirmTwice, loadSummary, notice, renderControls as renderControlsView, renderRoom,
  setPhase, showFinal, showJoinError, showView,
} from './view.js';

const roomId = decodeURIComponent(location.pathname.split('/').filter(Boolean)[1] || '');
const KEYS = { host: `onair:host:${roomId}`, resume: `onair:resume:${roomId}`, name: 'onair:name' };

const state = {
  phase: 'idle', name: '', me: null, role: null, room: {}, participants: new Map(),
  hiddenListeners: 0, nowPlaying: null, inRoom: false, socketWelcomed: false, final: null,
  tokenKind: null, lastError: null, retries: 0, micOn: true, selfMuted: false,
  subState: 'new', pubState: '', volume: 1,
};

let config = { ice_servers: [], max_chat_length: 500 };
const configReady = loadConfig().then((c) => { config = c; $('#chat-input').maxLength = c.max_chat_length; });
let audioCtx = null;
let sub = null;
let pub = null;
let mic = null;
let loopTimer = 0;
let loopTicks = 0;
let reconnectTimer = 0;
let lastQuality = null;
let sampling = false;
const pendingChat = new Map(); // id -> text

const clock = new ServerClock();
const chat = new ChatView($('#chat-log'));
const nowPlaying = new NowPlayingView(clock);
const people = new PeopleView({
  promote: (id) => request({ type: 'promote', participant_id: id }),
  demote: (id) => request({ type: 'demote', participant_id: id }),
  mute: (id, muted) => request({ type: 'mute', participant_id: id, muted }),
});
const signal = new Signal(roomId, { onMessage, onClose });

const onStage = () => STAGE_ROLES.has(state.role);
const canModerate = () => state.role === 'host' || state.role === 'moderator';
const self = () => state.participants.get(state.me);

// ---- UI state -------------------------------------------------------------

function phase(p) {
  state.phase = p;
  setPhase(p, onStage());
}

function joinFailed(message) {
  state.inRoom = false;
  phase('idle');
  showJoinError(message);
}

function renderControls() {
  renderControlsView({
    role: state.role, onStage: onStage(), canModerate: canModerate(),
    isHost: state.role === 'host' && !!store.get(KEYS.host), micOn: state.micOn,
    handRaised: !!(self() && self().hand_raised),
    paused: !!(state.nowPlaying && state.nowPlaying.paused), pubState: state.pubState,
  });
}

function renderPeople() {
  people.render(state);
}

// ---- Connection -----------------------------------------------------------

function ensureAudioContext() {
  if (!audioCtx) {
    try { audioCtx = new AudioContext(); } catch { audioCtx = null; }
  }
  if (audioCtx && audioCtx.state === 'suspended') audioCtx.resume().catch(() => {});
  return audioCtx;
}

function connect() {
  clearTimeout(reconnectTimer);
  const hostToken = store.get(KEYS.host);
  const resumeToken = store.get(KEYS.resume);
  state.tokenKind = hostToken ? 'host' : resumeToken ? 'resume' : null;
  state.lastError = null;
  state.socketWelcomed = false;
  phase(state.inRoom ? 'reconnecting' : 'joining');
  signal.open(state.name, hostToken || resumeToken || undefined);
}

function scheduleReconnect() {
  phase('reconnecting');
  const delay = Math.min(10000, 500 * 2 ** state.retries) * (0.8 + Math.random() * 0.4);
  state.retries += 1;
  clearTimeout(reconnectTimer);
  reconnectTimer = setTimeout(connect, delay);
}

/** Media broke (ICE failed, bad SDP): rejoin with the resume token. */
function forceReconnect() {
  signal.close(4000);
  stopLoops();
  teardownMedia();
  scheduleReconnect();
}

function onClose(code) {
  stopLoops();
  teardownMedia();
  const final = state.final
    || { 4003: 'kicked', 4004: 'ended', 4009: 'replaced' }[code];
  if (final) { finish(final); return; }
  if (!state.socketWelcomed && code >= 4400 && code < 4600) {
    if (code === 4401 && state.tokenKind === 'resume') { store.remove(KEYS.resume); connect(); return; }
    if (code === 4401 && state.tokenKind === 'host') store.remove(KEYS.host);
    if (code === 4404 && state.inRoom) { finish('ended'); return; }
    if (state.inRoom && (code === 4429 || code === 4503)) { scheduleReconnect(); return; }
    joinFailed(state.lastError ? state.lastError.message : `Could not join (code ${code}).`);
    return;
  }
  if (!state.inRoom) { joinFailed('Could not connect to the show. Check your connection and try again.'); return; }
  scheduleReconnect();
}

function finish(kind) {
  state.final = kind;
  state.inRoom = false;
  clearTimeout(reconnectTimer);
  signal.close();
  stopLoops();
  teardownMedia();
  const texts = {
    ended: ['The show has ended', 'Thanks for listening.'],
    kicked: ['You were removed from the show', state.kickReason ? `Reason: ${state.kickReason}` : ''],
    replaced: ['You joined from somewhere else', 'This page was disconnected because you joined the show again in another tab or device.'],
  }[kind] || ['Disconnected', ''];
  if (kind === 'ended') { store.remove(KEYS.resume); store.remove(KEYS.host); }
  if (kind === 'kicked') store.remove(KEYS.resume);
  phase(kind === 'ended' ? 'ended' : kind === 'kicked' ? 'kicked' : 'idle');
  showFinal(texts[0], texts[1], kind === 'replaced');
}

function leave() {
  state.final = 'left';
  state.inRoom = false;
  clearTimeout(reconnectTimer);
  signal.close();
  stopLoops();
  teardownMedia();
  showView('join');
  phase('idle');
  $('#join-button').disabled = false;
}

function request(msg) {
  if (!signal.send({ ...msg, id: uuid() })) notice('Not connected right now.');
}

// ---- Media ----------------------------------------------------------------

function onSubState(s) {
  state.subState = s;
  if (s === 'connected' && state.phase === 'connecting') phase('live');
  if (s === 'failed') forceReconnect();
}

function handleOffer(msg) {
  if (msg.pc !== 'sub') return;
  if (!sub) {
    sub = new Subscriber({
      iceServers: config.ice_servers, sink: $('#audio-sink'), onState: onSubState,
      onAutoplayBlocked: () => {
        const tap = $('#tap-to-listen');
        if (tap.hidden) { show(tap, true); tap.focus(); }
      },
      onAutoplayResolved: () => show($('#tap-to-listen'), false),
    });
    sub.setVolume(state.volume);
  }
  const s = sub;
  s.handleOffer(msg)
    .then((sdp) => { if (s === sub) signal.send({ type: 'answer', pc: 'sub', sdp }); })
    .catch((err) => {
      if (s !== sub) return;
      console.error('sub offer failed', err);
      notice('Audio setup failed; reconnecting…');
      forceReconnect();
    });
}

async function startPub() {
  const p = new Publisher({
    iceServers: config.ice_servers,
    send: (m) => signal.send(m),
    onState: (s) => {
      if (pub !== p) return;
      state.pubState = s;
      renderControls();
      if (s === 'failed') forceReconnect(); // no ICE restart: rejoin with the resume token
    },
  });
  pub = p;
  try {
    if (!mic) mic = new Mic(ensureAudioContext(), $('#mic-meter'));
    const track = await mic.open();
    if (pub !== p) return;
    mic.setEnabled(state.micOn);
    await p.start(track);
  } catch (err) {
    if (pub !== p) return;
    state.pubState = 'no microphone';
    renderControls();
    notice(`Microphone unavailable: ${err.message}`);
  }
}

function stopPub() {
  if (pub) pub.close();
  pub = null;
  if (mic) mic.close();
  mic = null;
  state.pubState = '';
}

function syncStage() {
  if (onStage()) { if (!pub) startPub(); } else stopPub();
  renderControls();
}

function teardownMedia() {
  if (sub) sub.close();
  sub = null;
  stopPub();
  state.subState = 'new';
  lastQuality = null;
  show($('#tap-to-listen'), false);
}

// ---- Periodic work: clock sync, quality, stats -----------------------------

function startLoops() {
  stopLoops();
  loopTicks = 0;
  const tick = () => {
    // ping at 0, 0.5, 1, 1.5 s then every 3 s; quality and stats every 2 s
    if (loopTicks < 4 || loopTicks % 6 === 0) signal.send(clock.pingMessage());
    if (loopTicks % 4 === 3) sampleQuality();
    loopTicks += 1;
  };
  tick();
  loopTimer = setInterval(tick, 500);
}

function stopLoops() {
  clearInterval(loopTimer);
  loopTimer = 0;
}

async function sampleQuality() {
  if (sampling) return;
  sampling = true;
  try {
    const pc = sub && sub.pc;
    const musicMid = sub ? sub.musicMid : null;
    const musicEl = sub && musicMid !== null ? sub.audio.get(musicMid) : null;
    const musicTrack = musicEl && musicEl.srcObject ? musicEl.srcObject.getAudioTracks()[0] : null;
    const q = await sampleSub(pc, musicMid, musicTrack && musicTrack.id, lastQuality);
    lastQuality = q;
    $('#quality').textContent = describeQuality(q, onStage() ? state.pubState : '');
    if (onStage()) {
      signal.send(statsMessage({
        rttMs: q.rttMs !== undefined ? q.rttMs : clock.rtt,
        jitterBufferMs: q.jitterBufferMs,
        outputMs: outputLatencyMs(audioCtx),
        inputMs: mic ? mic.latencyMs() : undefined,
      }));
    }
  } catch (err) {
    console.warn('stats failed', err);
  } finally {
    sampling = false;
  }
}

// ---- Server messages ------------------------------------------------------

function setParticipant(p) {
  if (!p || !p.participant_id) return;
  state.participants.set(p.participant_id, p);
  if (p.participant_id === state.me) {
    if (p.role && p.role !== state.role) { state.role = p.role; syncStage(); }
    if (p.muted && state.micOn) state.micOn = false;
    else if (!p.muted && !state.micOn && !state.selfMuted) state.micOn = true;
    if (mic) mic.setEnabled(state.micOn);
  }
}

const handlers = {
  welcome(m) {
    state.inRoom = true;
    state.socketWelcomed = true;
    state.retries = 0;
    state.me = m.participant_id;
    state.role = m.role;
    if (m.resume_token) store.set(KEYS.resume, m.resume_token);
    state.room = m.room || {};
    state.participants = new Map((m.participants || []).map((p) => [p.participant_id, p]));
    const listed = [...state.participants.values()].filter((p) => p.role === 'listener').length;
    state.hiddenListeners = Math.max(0, (Number(state.room.listeners) || 0) - listed);
    const me = self();
    state.micOn = !(me && me.muted);
    clock.seed(m.server_ms);
    chat.setHistory(m.chat);
    state.nowPlaying = m.now_playing !== undefined ? m.now_playing : state.room.now_playing;
    nowPlaying.set(state.nowPlaying);
    nowPlaying.setQueue(m.queue);
    renderRoom(state.room);
    showView('room');
    phase('connecting');
    startLoops();
    syncStage();
    renderPeople();
  },
  ack(m) { pendingChat.delete(m.ref); },
  error(m) {
    const text = m.message || m.code || 'Something went wrong';
    if (m.ref && pendingChat.has(m.ref)) {
      const original = pendingChat.get(m.ref);
      pendingChat.delete(m.ref);
      chatError(m.code === 'rate_limited' ? `Slow down: ${text}` : text);
      if (!$('#chat-input').value) $('#chat-input').value = original;
      return;
    }
    if (!state.socketWelcomed) { state.lastError = m; return; }
    if (pub && m.ref && m.ref === pub.offerId) {
      state.pubState = 'failed';
      renderControls();
      notice(`Your microphone could not go on air: ${text}`);
      return;
    }
    notice(text);
  },
  offer: handleOffer,
  answer(m) {
    if (m.pc !== 'pub' || !pub) return;
    pub.handleAnswer(m.sdp).catch((err) => notice(`Microphone link failed: ${err.message}`));
  },
  participant_joined(m) { setParticipant(m.participant); renderPeople(); renderControls(); },
  participant_updated(m) { setParticipant(m.participant); renderPeople(); renderControls(); },
  participant_left(m) { state.participants.delete(m.participant_id); renderPeople(); },
  role_changed(m) {
    const was = state.role;
    state.role = m.role;
    const me = self();
    if (me) state.participants.set(state.me, { ...me, role: m.role, hand_raised: false });
    if (STAGE_ROLES.has(m.role) && !STAGE_ROLES.has(was)) notice('You are on air now.');
    if (!STAGE_ROLES.has(m.role) && STAGE_ROLES.has(was)) notice('You are back in the audience.');
    syncStage();
    renderPeople();
    if (state.phase === 'live') phase('live');
  },
  chat(m) { chat.add(m.message); },
  chat_deleted(m) { chat.remove(m.message_id); },
  now_playing(m) {
    state.nowPlaying = m.track
      ? { track: m.track, position_ms: m.position_ms, server_ms: m.server_ms, paused: !!m.paused }
      : null;
    nowPlaying.set(state.nowPlaying);
    renderControls();
  },
  queue(m) { nowPlaying.setQueue(m.queue); },
  levels(m) { people.setLevels(m.levels); },
  pong(m) { clock.onPong(m); },
  kicked(m) { state.kickReason = m.reason || ''; state.final = 'kicked'; },
  room_ended() { state.final = 'ended'; },
};

function onMessage(msg) {
  const handler = handlers[msg.type];
  if (handler) handler(msg);
}

// ---- Controls -------------------------------------------------------------

function wireControls() {
  $('#join-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const name = $('#join-name').value.trim();
    $('#join-error').hidden = true;
    if (!name) { joinFailed('Enter the name others will see.'); $('#join-name').focus(); return; }
    store.set(KEYS.name, name);
    state.name = name;
    state.final = null;
    state.inRoom = false;
    state.retries = 0;
    ensureAudioContext(); // inside the click: lets audio start without a second tap
    $('#join-button').disabled = true;
    await configReady;
    connect();
  });
  $('#chat-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const input = $('#chat-input');
    const text = input.value.trim();
    if (!text) return;
    if (text.length > config.max_chat_length) {
      chatError(`Messages can be at most ${config.max_chat_length} characters.`);
      return;
    }
    const id = uuid();
    if (!signal.send({ type: 'chat', text, id })) { chatError('Not connected: the message was not sent.'); return; }
    pendingChat.set(id, text);
    input.value = '';
    $('#chat-error').hidden = true;
  });
  $('#mic-button').addEventListener('click', () => {
    state.micOn = !state.micOn;
    state.selfMuted = !state.micOn;
    if (mic) mic.setEnabled(state.micOn);
    request({ type: 'mute', participant_id: state.me, muted: !state.micOn });
    renderControls();
  });
  $('#skip-button').addEventListener('click', () => request({ type: 'skip' }));
  $('#pause-button').addEventListener('click', () => {
    request({ type: state.nowPlaying && state.nowPlaying.paused ? 'play' : 'pause' });
  });
  $('#leave-stage-button').addEventListener('click', () => request({ type: 'demote', participant_id: state.me }));
  $('#hand-button').addEventListener('click', () => {
    request({ type: self() && self().hand_raised ? 'lower_hand' : 'raise_hand' });
  });
  confirmTwice($('#end-button'), 'Really end the show?', endShow);
  $('#leave-button').addEventListener('click', leave);
  $('#rejoin-button').addEventListener('click', () => { state.final = null; showView('join'); $('#join-form').requestSubmit(); });
  $('#tap-to-listen').addEventListener('click', () => {
    ensureAudioContext();
    if (sub) sub.resume();
    show($('#tap-to-listen'), false);
  });
  $('#volume').addEventListener('input', (ev) => {
    state.volume = Number(ev.target.value) / 100;
    if (sub) sub.setVolume(state.volume);
  });
  window.addEventListener('online', () => { if (state.phase === 'reconnecting') connect(); });
  window.addEventListener('pagehide', () => signal.close());
  window.addEventListener('pageshow', (ev) => { if (ev.persisted) location.reload(); }); // stale after bfcache
}

async function endShow() {
  try {
    await api(`/api/rooms/${encodeURIComponent(roomId)}`, { method: 'DELETE', token: store.get(KEYS.host) });
    finish('ended');
  } catch (err) {
    notice(`Could not end the show: ${err.message}`);
  }
}

// Read-only hooks for tests and debugging.
window.onair = Object.freeze({
  get state() {
    return {
      phase: state.phase, role: state.role, me: state.me, subState: state.subState,
      pubState: state.pubState, micOn: state.micOn, participants: [...state.participants.values()],
    };
  },
  get pcs() { return { sub: sub ? sub.pc : null, pub: pub ? pub.pc : null }; },
  get audioElements() { return sub ? [...sub.audio.values()] : []; },
  get serverNow() { return clock.now(); },
});

$('#join-name').value = store.get(KEYS.name) || '';
if (store.get(KEYS.host)) $('#join-button').textContent = 'Join as host';
wireControls();
loadSummary(roomId);
