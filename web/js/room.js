// The room page: join, then follow the show over the WebSocket (PROTOCOL.md).
// Media lives in media.js, the stage and call-in queue in stage.js, actions on
// people and messages in moderation.js, the reconnect policy in reconnect.js,
// what the buttons do in controls.js, the DJ's desk in desk.js (with the queue
// in queue.js and now playing in nowplaying.js). What the server added for big
// rooms, the green room, sync health, the programme and sharing lives in
// greenroom.js, syncpanel.js, requests.js, reactions.js, playlog.js, share.js
// and showwait.js; this file routes the messages to them.
import { applyLimits, loadConfig } from './api.js';
import { wireAuditLog } from './auditlog.js';
import { hostAwayText, steppedAway } from './away.js';
import { ChatView } from './chat.js';
import { adoptHostLink, renderHostLink } from './hostlink.js';
import { ServerClock } from './clock.js';
import { wireControls } from './controls.js';
import { Desk } from './desk.js';
import { errorText, initI18n, t } from './i18n.js';
import { Media } from './media.js';
import { Moderation } from './moderation.js';
import { NowPlayingView } from './nowplaying.js';
import { RecentlyPlayed } from './playlog.js';
import { QueueView } from './queue.js';
import { Reactions } from './reactions.js';
import { closeOutcome, Reconnector } from './reconnect.js';
import { RequestDesk, RequestView } from './requests.js';
import { showCachedRules, showRules } from './rules.js';
import { ShareView } from './share.js';
import { showUpcoming } from './showwait.js';
import { describeError, Signal } from './signal.js';
import { STAGE_ROLES, StageView } from './stage.js';
import { SyncPanel } from './syncpanel.js';
import { $, store, tabStore } from './util.js';
import {
  loadSummary, notice, renderControls as renderControlsView, renderRoom, setBanner, setPhase, showFinal,
  showGone, showJoinError, showView,
} from './view.js';

const roomId = decodeURIComponent(location.pathname.split('/').filter(Boolean)[1] || '');
const KEYS = {
  host: `onair:host:${roomId}`, resume: `onair:resume:${roomId}`, name: 'onair:name',
  // this tab only: joined (so a reload rejoins by itself), and the mic turned off by its owner
  joined: `onair:joined:${roomId}`, selfMuted: `onair:self-muted:${roomId}`,
};
adoptHostLink(store, KEYS.host); // at once: the token leaves the address bar before anything else

// Every word shown comes from the catalogs: nothing renders before they are loaded. A join asked
// for meanwhile (a quick click on the English markup) is not lost: it goes ahead once they are.
let joinAsked = false;
const holdJoin = (ev) => { ev.preventDefault(); joinAsked = true; };
$('#join-form').addEventListener('submit', holdJoin);
await initI18n('room', 'desk', 'when');
$('#join-form').removeEventListener('submit', holdJoin);

const state = {
  phase: 'idle', name: '', me: null, role: null, room: {}, participants: new Map(),
  hiddenListeners: 0, nowPlaying: null, inRoom: false, socketWelcomed: false, final: null,
  tokenKind: null, lastError: null, micOn: true, selfMuted: false, leavingStage: false,
  permanent: false, subState: 'new', pubState: '', hostAway: null, hostStepping: null, kickReason: '', names: new Map(),
};

let config = { ice_servers: [], max_chat_length: 500, host_grace_s: 300 };
const configReady = loadConfig().then((c) => {
  config = c;
  applyLimits(c.limits, { '#chat-input': 'chat', '#join-name': 'name' });
});

const onStage = () => STAGE_ROLES.has(state.role);
const screening = () => !!(self() && self().screening && !onStage()); // in the green room: pub open, off air
const canModerate = () => state.role === 'host' || state.role === 'moderator';
const self = () => state.participants.get(state.me);
const musicPlaying = () => !!(state.nowPlaying && !state.nowPlaying.paused);
const staffHere = () => [...state.participants.values()].some((p) => p.role === 'host' || p.role === 'moderator');

const clock = new ServerClock();
const signal = new Signal(roomId, { onMessage, onClose });
const reconnector = new Reconnector(connect);
const nowPlaying = new NowPlayingView(clock, { onSeek: (ms) => desk.seek(ms) });
const desk = new Desk({
  request: (msg) => signal.request(msg), nowPlaying, playing: () => musicPlaying(),
  token: () => store.get(KEYS.host) || store.get(KEYS.resume), limits: () => config.limits, roomId,
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
  screen: (id) => act({ type: 'screen', participant_id: id }),
  talkback: (id, on) => signal.request({ type: 'talkback', participant_id: id, on }).catch((err) => {
    if (on) notice(describeError(err));
  }),
});
const syncPanel = new SyncPanel((id) => state.names.get(id), act);
const requestView = new RequestView({ request: (msg) => signal.request(msg) });
const requestDesk = new RequestDesk({ request: (msg) => signal.request(msg), status: (t, e) => desk.status(t, e) });
const reactions = new Reactions({ request: (msg) => signal.request(msg), notice });
const played = new RecentlyPlayed(roomId);
const share = new ShareView(roomId, { request: (msg) => signal.request(msg), notice });

// ---- UI state -------------------------------------------------------------

function phase(p) {
  state.phase = p;
  setPhase(p, onStage());
}

function joinFailed(message) {
  state.inRoom = false;
  tabStore.remove(KEYS.joined);
  reconnector.done();
  phase('idle');
  showJoinError(message);
}

function renderControls() {
  const me = self();
  renderControlsView({
    role: state.role, onStage: onStage(), screening: screening(), canModerate: canModerate(),
    isHost: state.role === 'host' && !!store.get(KEYS.host), micOn: state.micOn,
    mutedByMod: !!(me && me.muted && (me.muted_by ? me.muted_by === 'moderator' : !state.selfMuted)),
    handRaised: !!(me && me.hand_raised), chatMuted: !!(me && me.chat_muted),
    paused: !!(state.nowPlaying && state.nowPlaying.paused), pubState: state.pubState,
    canCallIn: !state.permanent || staffHere(),
  });
  renderHostLink($('#host-link'), roomId, state.role === 'host' ? store.get(KEYS.host) : null);
  desk.setEnabled(canModerate());
  syncPanel.setVisible(canModerate(), state.role === 'host');
  requestView.setVisible(state.role === 'listener' && !screening());
  queueView.setEditable(canModerate());
  nowPlaying.setCanSeek(canModerate());
}

function renderPeople() {
  stage.render(state);
  const hostHere = [...state.participants.values()].some((p) => p.role === 'host');
  if (hostHere) state.hostAway = null;
  setBanner($('#host-away'), state.role !== 'host' ? hostAwayText(state.hostAway, musicPlaying()) : '');
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
  else if (state.lastError && state.lastError.code === 'not_found' && !state.inRoom) {
    showGone(roomId);
    joinFailed('');
  } else {
    if (out.action === 'drop-host') store.remove(KEYS.host);
    joinFailed(state.lastError ? errorText(state.lastError)
      : state.inRoom || state.socketWelcomed ? t('room.join.failed_code', { code: String(code) })
        : t('room.join.no_connection'));
  }
}

function finish(kind) {
  state.final = kind;
  state.inRoom = false;
  tabStore.remove(KEYS.joined);
  reconnector.done();
  signal.close();
  media.teardown();
  moderation.close();
  played.stop();
  const reason = state.kickReason.replace(/\.+$/, '');
  const known = ['ended', 'kicked', 'banned', 'replaced'].includes(kind);
  const detail = kind === 'kicked' && reason ? t('room.final.kicked_reason', { reason })
    : known ? t(`room.final.${kind}_detail`) : '';
  if (kind === 'ended') { store.remove(KEYS.resume); store.remove(KEYS.host); }
  if (kind === 'kicked' || kind === 'banned') store.remove(KEYS.resume);
  phase(kind === 'ended' ? 'ended' : kind === 'kicked' || kind === 'banned' ? 'kicked' : 'idle');
  showFinal(t(known ? `room.final.${kind}` : 'room.final.disconnected'), detail, kind === 'replaced');
}

function leave() {
  state.final = 'left';
  state.inRoom = false;
  tabStore.remove(KEYS.joined);
  reconnector.done();
  signal.close();
  media.teardown();
  showView('join');
  phase('idle');
  $('#join-button').disabled = false;
  if (store.get(KEYS.host)) $('#join-button').textContent = t('room.join.as_host');
  $('#join-heading').focus();
}

// ---- Server messages ------------------------------------------------------

function setParticipant(p) {
  if (!p || !p.participant_id) return;
  const old = state.participants.get(p.participant_id);
  state.participants.set(p.participant_id, p);
  state.names.set(p.participant_id, p.name);
  if (p.participant_id === state.me) {
    if (p.role && p.role !== state.role) { state.role = p.role; syncStage(); }
    if (p.muted) {
      state.micOn = false;
      if (p.muted_by) state.selfMuted = p.muted_by === 'self'; // whose hand closed it decides who opens it
    } else if (!state.micOn && !state.selfMuted) state.micOn = true;
    media.setMicEnabled(state.micOn);
    if (!!p.screening !== !!(old && old.screening)) {
      syncStage();
      if (p.screening) notice(t('room.notice.green_room_in'));
      else if (p.role === 'listener') notice(t('room.notice.green_room_out'));
    }
    if (old && !!old.chat_muted !== !!p.chat_muted) {
      notice(t(p.chat_muted ? 'room.notice.chat_muted' : 'room.notice.chat_unmuted'));
    }
    return;
  }
  if (canModerate() && p.role === 'listener' && p.hand_raised && !(old && old.hand_raised)) {
    notice(t('room.notice.hand_raised', { name: p.name }));
  }
  if (p.role === 'host' && state.hostAway && state.role !== 'host') notice(t('room.notice.host_back'));
}

function syncStage() {
  media.setOnStage(onStage() || screening()); // pub: on air, or heard by the host from the green room
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
    state.hostAway = null;
    tabStore.set(KEYS.joined, '1');
    const me = self();
    state.micOn = !(me && me.muted);
    state.selfMuted = !state.micOn && (me.muted_by ? me.muted_by === 'self' // off by their own hand
      : tabStore.get(KEYS.selfMuted) === '1');
    media.setMicEnabled(state.micOn);
    clock.seed(m.server_ms);
    chat.setMe(state.me);
    chat.setHistory(m.chat);
    state.nowPlaying = m.now_playing !== undefined ? m.now_playing : state.room.now_playing;
    nowPlaying.reset(state.nowPlaying);
    queueView.setQueue(m.queue);
    desk.setSettings(m.music_settings);
    share.setRecording(m.recording);
    syncPanel.reset();
    requestDesk.set([]);
    played.refresh();
    renderRoom(state.room);
    showView('room');
    showRules(roomId, m.rules, { card: m.role !== 'host' });
    phase('connecting');
    media.startLoops();
    syncStage();
    renderPeople();
    if (again) notice(t('room.notice.reconnected'));
    else $('#show-title').focus(); // the join form that had focus is gone
  },
  error(m) {
    if (!state.socketWelcomed) { state.lastError = m; return; }
    if (media.isPubOffer(m.ref)) {
      state.pubState = 'failed';
      renderControls();
      notice(t('room.notice.pub_refused', { error: describeError(m) }));
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
    // Someone we were never shown (welcome lists the first 100 listeners only): one of the counted.
    if (!gone && state.hiddenListeners > 0) state.hiddenListeners -= 1;
    if (gone && gone.role === 'host' && state.role !== 'host') {
      state.hostAway = state.hostStepping || { stepped: false }; // said just before, if on purpose
      state.hostStepping = null;
    }
    moderation.gone('person', m.participant_id, gone ? t('room.notice.left', { name: gone.name }) : '');
    renderPeople();
    renderControls();
  },
  host_away(m) { // the host is leaving on purpose: their participant_left follows
    if (state.role !== 'host') state.hostStepping = steppedAway(m);
  },
  role_changed(m) {
    const was = state.role;
    state.role = m.role;
    const me = self();
    if (me) state.participants.set(state.me, { ...me, role: m.role, hand_raised: false });
    const recorded = share.recording ? '_recorded' : '';
    if (m.role === 'moderator' && !STAGE_ROLES.has(was)) {
      // A new moderator's mic starts closed (the server closes it): they open it when ready.
      state.micOn = false;
      state.selfMuted = true;
      media.setMicEnabled(false);
      notice(t(`room.notice.on_air_moderator${recorded}`));
    } else if (STAGE_ROLES.has(m.role) && !STAGE_ROLES.has(was)) {
      notice(t(`room.notice.on_air${recorded}`));
    } else if (m.role === 'moderator') {
      notice(t('room.notice.moderator'));
    }
    if (!STAGE_ROLES.has(m.role) && STAGE_ROLES.has(was)) {
      notice(t(state.leavingStage ? 'room.notice.left_stage' : 'room.notice.sent_back'));
    }
    state.leavingStage = false;
    syncStage();
    renderPeople();
    phase(state.phase);
  },
  chat(m) { chat.add(m.message); if (m.message) state.names.set(m.message.participant_id, m.message.name); },
  chat_deleted(m) {
    chat.remove(m.message_id);
    moderation.gone('message', m.message_id, t('room.notice.message_deleted'));
  },
  now_playing(m) {
    state.nowPlaying = m.track
      ? { track: m.track, position_ms: m.position_ms, server_ms: m.server_ms, paused: !!m.paused }
      : null;
    nowPlaying.set(state.nowPlaying);
    renderControls();
    renderPeople();
    played.refreshSoon();
  },
  audience(m) { // a big room: who came and went in the last second, and how many listen
    for (const p of m.joined || []) {
      if (p && p.participant_id) { state.participants.set(p.participant_id, p); state.names.set(p.participant_id, p.name); }
    }
    for (const id of m.left || []) if (id !== state.me) state.participants.delete(id);
    const listed = [...state.participants.values()].filter((p) => p.role === 'listener').length;
    state.hiddenListeners = Math.max(0, (Number(m.listeners) || 0) - listed);
    renderPeople();
  },
  sync(m) { if (canModerate()) syncPanel.update(m); },
  requests(m) { requestDesk.set(m.requests); },
  request_updated(m) { requestView.updated(m); },
  reactions(m) { reactions.show(m.counts); },
  recording(m) {
    share.setRecording(m);
    notice(t(m.on ? 'room.notice.recording_on' : 'room.notice.recording_off'));
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
  renderControls, self, musicPlaying, staffHere, config: () => config, configReady,
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
  get sync() { return syncPanel.last; }, // the last `sync` shown (host and moderators)
});

if (!$('#join-name').value) $('#join-name').value = store.get(KEYS.name) || ''; // not over what was typed
if (store.get(KEYS.host)) $('#join-button').textContent = t('room.join.as_host');
const navigation = performance.getEntriesByType('navigation')[0];
const reloaded = !!(navigation && navigation.type === 'reload' && tabStore.get(KEYS.joined) && $('#join-name').value);
wireControls(app);
wireAuditLog({ roomId, token: () => store.get(KEYS.host), nameOf: (id) => state.names.get(id) });
showCachedRules(roomId);
const summaryLoaded = (room) => {
  state.permanent = !!(room && room.permanent); // a station or the demo: nobody takes calls
  if (state.inRoom) renderControls();
};
// A show announced for later: its countdown until it opens (its host opens it from here).
const waitForShow = (upcoming) => showUpcoming(roomId, upcoming, {
  hostToken: () => store.get(KEYS.host),
  opened(asHost) {
    loadSummary(roomId).then(summaryLoaded);
    if (!$('#join-name').value && asHost) $('#join-name').value = upcoming.host_name;
    if (asHost) $('#join-form').requestSubmit();
    else $('#join-name').focus();
  },
});
loadSummary(roomId, waitForShow).then(summaryLoaded);
// A reload while in the show (a host's too) rejoins by itself: back on air, the mic as it was.
if (reloaded || joinAsked) $('#join-form').requestSubmit();
