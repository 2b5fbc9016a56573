// The room page: join, then follow the show over the WebSocket (PROTOCOL.md).
// Media lives in media.js, the stage and call-in queue in stage.js, actions on
// people and messages in moderation.js, the reconnect policy in reconnect.js,
// what the buttons do in controls.js, the DJ's desk in desk.js (with the queue
// in queue.js and now playing in nowplaying.js).
import { loadConfig } from './api.js';
import { wireAuditLog } from './auditlog.js';
import { ChatView } from './chat.js';
import { adoptHostLink, renderHostLink } from './hostlink.js';
import { ServerClock } from './clock.js';
import { wireControls } from './controls.js';
import { Desk } from './desk.js';
import { Media } from './media.js';
import { Moderation } from './moderation.js';
import { NowPlayingView } from './nowplaying.js';
import { QueueView } from './queue.js';
import { closeOutcome, Reconnector } from './reconnect.js';
import { showCachedRules, showRules } from './rules.js';
import { describeError, Signal } from './signal.js';
import { STAGE_ROLES, StageView } from './stage.js';
import { $, store } from './util.js';
import {
  loadSummary, notice, renderControls as renderControlsView, renderRoom, setBanner, setPhase, showFinal,
  showJoinError, showView,
} from './view.js';

const roomId = decodeURIComponent(location.pathname.split('/').filter(Boolean)[1] || '');
const KEYS = { host: `onair:host:${roomId}`, resume: `onair:resume:${roomId}`, name: 'onair:name' };
adoptHostLink(store, KEYS.host);

const state = {
  phase: 'idle', name: '', me: null, role: null, room: {}, participants: new Map(),
  hiddenListeners: 0, nowPlaying: null, inRoom: false, socketWelcomed: false, final: null,
  tokenKind: null, lastError: null, micOn: true, selfMuted: false, leavingStage: false,
  subState: 'new', pubState: '', hostAway: false, kickReason: '', names: new Map(),
};

let config = { ice_servers: [], max_chat_length: 500 };
const configReady = loadConfig().then((c) => { config = c; $('#chat-input').maxLength = c.max_chat_length; });

const onStage = () => STAGE_ROLES.has(state.role);
const canModerate = () => state.role === 'host' || state.role === 'moderator';
const self = () => state.participants.get(state.me);
const musicPlaying = () => !!(state.nowPlaying && !state.nowPlaying.paused);

const clock = new ServerClock();
const signal = new Signal(roomId, { onMessage, onClose });
const reconnector = new Reconnector(connect);
const nowPlaying = new NowPlayingView(clock, { onSeek: (ms) => desk.seek(ms) });
const desk = new Desk({
  request: (msg) => signal.request(msg), nowPlaying, playing: () => musicPlaying(),
  token: () => store.get(KEYS.host) || store.get(KEYS.resume),
});
const queueView = new QueueView({
  move: (entry, index) => desk.queueMove(entry, index),
  remove: (entry) => desk.queueRemove(entry),
});
const media = new Media({
  config: () => config, clock, send: (m) => signal.send(m), notice, onStage,
  pubState: () => state.pubState,
  onRelayProblem(text) { setBanner($('#relay-problem'), text); },
  onSubState(s) {
    state.subState = s;
    if (s === 'connected') setBanner($('#relay-problem'), '');
    if (s === 'connected' && state.phase === 'connecting') phase('live');
    if (s === 'failed') forceReconnect();
  },
  onPubState(s) { state.pubState = s; renderControls(); },
  onBroken(reason) { notice(reason); forceReconnect(); },
});

/** A request whose refusal is shown in the notice area. */
function act(msg, done) {
  return signal.request(msg).then(() => { if (done) notice(done); }, (err) => notice(describeError(err)));
}

const moderation = new Moderation({
  request: (msg) => signal.request(msg), me: () => state.me, role: () => state.role,
  person: (id) => state.participants.get(id), notice,
});
const chat = new ChatView($('#chat-log'), (m) => moderation.openMessage(m));
const stage = new StageView({
  promote: (id) => act({ type: 'promote', participant_id: id }),
  demote: (id) => act({ type: 'demote', participant_id: id }),
  mute: (id, muted) => act({ type: 'mute', participant_id: id, muted }),
  makeModerator: (id) => act({ type: 'make_moderator', participant_id: id }),
  more: (id) => moderation.openPerson(id),
  refresh: () => renderPeople(),
});

// ---- UI state -------------------------------------------------------------

function phase(p) {
  state.phase = p;
  setPhase(p, onStage());
}

function joinFailed(message) {
  state.inRoom = false;
  reconnector.done();
  phase('idle');
  showJoinError(message);
}

function renderControls() {
  const me = self();
  renderControlsView({
    role: state.role, onStage: onStage(), canModerate: canModerate(),
    isHost: state.role === 'host' && !!store.get(KEYS.host), micOn: state.micOn,
    mutedByMod: !!(me && me.muted && !state.selfMuted),
    handRaised: !!(me && me.hand_raised), chatMuted: !!(me && me.chat_muted),
    paused: !!(state.nowPlaying && state.nowPlaying.paused), pubState: state.pubState,
  });
  renderHostLink($('#host-link'), roomId, state.role === 'host' ? store.get(KEYS.host) : null);
  desk.setEnabled(canModerate());
  queueView.setEditable(canModerate());
  nowPlaying.setCanSeek(canModerate());
}

function renderPeople() {
  stage.render(state);
  const hostHere = [...state.participants.values()].some((p) => p.role === 'host');
  if (hostHere) state.hostAway = false;
  setBanner($('#host-away'), state.hostAway && state.role !== 'host'
    ? `The host is reconnecting…${musicPlaying() ? ' The music keeps playing.' : ''}` : '');
}

// ---- Connection -----------------------------------------------------------

function connect() {
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
  reconnector.schedule();
}

/** Media broke (ICE failed, bad SDP): rejoin with the resume token. */
function forceReconnect() {
  signal.close(4000);
  media.teardown();
  scheduleReconnect();
}

function onClose(code) {
  media.teardown();
  const out = closeOutcome(code, {
    final: state.final, welcomed: state.socketWelcomed, inRoom: state.inRoom, tokenKind: state.tokenKind,
  });
  if (out.action === 'final') finish(out.kind);
  else if (out.action === 'drop-resume') { store.remove(KEYS.resume); connect(); }
  else if (out.action === 'retry') scheduleReconnect();
  else {
    if (out.action === 'drop-host') store.remove(KEYS.host);
    joinFailed(state.lastError ? state.lastError.message
      : state.inRoom || state.socketWelcomed ? `Could not join (code ${code}).`
        : 'Could not connect to the show. Check your connection and try again.');
  }
}

function finish(kind) {
  state.final = kind;
  state.inRoom = false;
  reconnector.done();
  signal.close();
  media.teardown();
  moderation.close();
  const reason = state.kickReason.replace(/\.+$/, '');
  const texts = {
    ended: ['The show has ended', 'Thanks for listening.'],
    kicked: ['You were removed from the show', reason ? `Reason: ${reason}.` : 'A moderator removed you.'],
    banned: ['You are banned from this show', 'You cannot join this show again.'],
    replaced: ['You joined from somewhere else', 'This page was disconnected because you joined the show again in another tab or device.'],
  }[kind] || ['Disconnected', ''];
  if (kind === 'ended') { store.remove(KEYS.resume); store.remove(KEYS.host); }
  if (kind === 'kicked' || kind === 'banned') store.remove(KEYS.resume);
  phase(kind === 'ended' ? 'ended' : kind === 'kicked' || kind === 'banned' ? 'kicked' : 'idle');
  showFinal(texts[0], texts[1], kind === 'replaced');
}

function leave() {
  state.final = 'left';
  state.inRoom = false;
  reconnector.done();
  signal.close();
  media.teardown();
  showView('join');
  phase('idle');
  $('#join-button').disabled = false;
}

// ---- Server messages ------------------------------------------------------

function setParticipant(p) {
  if (!p || !p.participant_id) return;
  const old = state.participants.get(p.participant_id);
  state.participants.set(p.participant_id, p);
  state.names.set(p.participant_id, p.name);
  if (p.participant_id === state.me) {
    if (p.role && p.role !== state.role) { state.role = p.role; syncStage(); }
    if (p.muted && state.micOn) state.micOn = false;
    else if (!p.muted && !state.micOn && !state.selfMuted) state.micOn = true;
    media.setMicEnabled(state.micOn);
    if (old && !!old.chat_muted !== !!p.chat_muted) {
      notice(p.chat_muted ? 'A moderator muted you in chat.' : 'You may chat again.');
    }
    return;
  }
  if (canModerate() && p.role === 'listener' && p.hand_raised && !(old && old.hand_raised)) {
    notice(`${p.name} raised a hand.`);
  }
  if (p.role === 'host' && state.hostAway && state.role !== 'host') notice('The host is back.');
}

function syncStage() {
  media.setOnStage(onStage());
  renderControls();
}

const handlers = {
  welcome(m) {
    const again = state.inRoom;
    state.inRoom = true;
    state.socketWelcomed = true;
    reconnector.done();
    state.me = m.participant_id;
    state.role = m.role;
    if (m.resume_token) store.set(KEYS.resume, m.resume_token);
    state.room = m.room || {};
    state.participants = new Map((m.participants || []).map((p) => [p.participant_id, p]));
    for (const p of state.participants.values()) state.names.set(p.participant_id, p.name);
    const listed = [...state.participants.values()].filter((p) => p.role === 'listener').length;
    state.hiddenListeners = Math.max(0, (Number(state.room.listeners) || 0) - listed);
    state.hostAway = false;
    const me = self();
    state.micOn = !(me && me.muted);
    media.setMicEnabled(state.micOn);
    clock.seed(m.server_ms);
    chat.setMe(state.me);
    chat.setHistory(m.chat);
    state.nowPlaying = m.now_playing !== undefined ? m.now_playing : state.room.now_playing;
    nowPlaying.reset(state.nowPlaying);
    queueView.setQueue(m.queue);
    desk.setSettings(m.music_settings);
    renderRoom(state.room);
    showView('room');
    showRules(roomId, m.rules);
    phase('connecting');
    media.startLoops();
    syncStage();
    renderPeople();
    if (again) notice('Reconnected.');
  },
  error(m) {
    if (!state.socketWelcomed) { state.lastError = m; return; }
    if (media.isPubOffer(m.ref)) {
      state.pubState = 'failed';
      renderControls();
      notice(`Your microphone could not go on air: ${describeError(m)}`);
      return;
    }
    notice(describeError(m));
  },
  offer: (m) => media.handleOffer(m),
  answer: (m) => media.handleAnswer(m),
  participant_joined(m) { setParticipant(m.participant); renderPeople(); renderControls(); },
  participant_updated(m) { setParticipant(m.participant); renderPeople(); renderControls(); },
  participant_left(m) {
    const gone = state.participants.get(m.participant_id);
    state.participants.delete(m.participant_id);
    if (gone && gone.role === 'host' && state.role !== 'host') state.hostAway = true;
    moderation.gone('person', m.participant_id, gone ? `${gone.name} has left.` : '');
    renderPeople();
  },
  role_changed(m) {
    const was = state.role;
    state.role = m.role;
    const me = self();
    if (me) state.participants.set(state.me, { ...me, role: m.role, hand_raised: false });
    if (STAGE_ROLES.has(m.role) && !STAGE_ROLES.has(was)) {
      notice(m.role === 'moderator' ? 'You are on air now, as a moderator.' : 'You are on air now. Your microphone is live.');
    } else if (m.role === 'moderator') {
      notice('You are a moderator now.');
    }
    if (!STAGE_ROLES.has(m.role) && STAGE_ROLES.has(was)) {
      notice(state.leavingStage ? 'You left the stage. Your microphone is off.'
        : 'You were sent back to the audience. Your microphone is off.');
    }
    state.leavingStage = false;
    syncStage();
    renderPeople();
    phase(state.phase);
  },
  chat(m) { chat.add(m.message); if (m.message) state.names.set(m.message.participant_id, m.message.name); },
  chat_deleted(m) {
    chat.remove(m.message_id);
    moderation.gone('message', m.message_id, 'That message was deleted.');
  },
  now_playing(m) {
    state.nowPlaying = m.track
      ? { track: m.track, position_ms: m.position_ms, server_ms: m.server_ms, paused: !!m.paused }
      : null;
    nowPlaying.set(state.nowPlaying);
    renderControls();
    renderPeople();
  },
  queue(m) { queueView.setQueue(m.queue); },
  music_settings(m) { desk.setSettings(m); },
  levels(m) { stage.setLevels(m.levels); },
  pong(m) { clock.onPong(m); },
  kicked(m) { state.kickReason = m.reason || ''; state.final = 'kicked'; },
  room_ended() { state.final = 'ended'; },
};

function onMessage(msg) {
  const handler = handlers[msg.type];
  if (handler) handler(msg);
}

// ---- Controls (controls.js wires the buttons to these) ---------------------

const app = {
  state, KEYS, roomId, media, signal, reconnector, act, connect, leave, finish, joinFailed,
  renderControls, self, musicPlaying, config: () => config, configReady,
};

// Read-only hooks for tests and debugging.
window.onair = Object.freeze({
  get state() {
    return {
      phase: state.phase, role: state.role, me: state.me, subState: state.subState,
      pubState: state.pubState, micOn: state.micOn, participants: [...state.participants.values()],
    };
  },
  get pcs() { return { sub: media.sub ? media.sub.pc : null, pub: media.pub ? media.pub.pc : null }; },
  get audioElements() { return media.sub ? [...media.sub.audio.values()] : []; },
  get serverNow() { return clock.now(); },
});

$('#join-name').value = store.get(KEYS.name) || '';
if (store.get(KEYS.host)) $('#join-button').textContent = 'Join as host';
wireControls(app);
wireAuditLog({ roomId, token: () => store.get(KEYS.host), nameOf: (id) => state.names.get(id) });
loadSummary(roomId);
showCachedRules(roomId);
