// What the page's buttons and forms do. `app` is the room (room.js): its state,
// media, socket and the few actions the controls need.
import { api } from './api.js';
import { leaveDialog } from './away.js';
import { errorText, t } from './i18n.js';
import { describeError } from './signal.js';
import { $, show, store, tabStore } from './util.js';
import { chatError, confirmTwice, notice, showView } from './view.js';

async function sendChat(app, ev) {
  ev.preventDefault();
  const input = $('#chat-input');
  const text = input.value.trim();
  if (!text) return;
  const max = app.config().max_chat_length;
  if (text.length > max) {
    chatError(t('room.chat.too_long', { max }));
    return;
  }
  input.value = '';
  $('#chat-error').hidden = true;
  try {
    await app.signal.request({ type: 'chat', text });
  } catch (err) {
    chatError(err.code === 'disconnected' ? t('room.chat.not_sent') : describeError(err));
    if (!input.value) input.value = text;
  }
}

async function endShow(app) {
  try {
    await api(`/api/rooms/${encodeURIComponent(app.roomId)}`, { method: 'DELETE', token: store.get(app.KEYS.host) });
    app.finish('ended');
  } catch (err) {
    notice(t('room.end.failed', { error: errorText(err) }));
  }
}

export function wireControls(app) {
  const { state, media, signal, reconnector, act } = app;
  $('#join-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const name = $('#join-name').value.trim();
    $('#join-error').hidden = true;
    if (!name) { app.joinFailed(t('room.join.need_name')); $('#join-name').focus(); return; }
    store.set(app.KEYS.name, name);
    state.name = name;
    state.final = null;
    state.inRoom = false;
    state.kickReason = '';
    media.ensureAudioContext(); // inside the click: lets audio start without a second tap
    $('#join-button').disabled = true;
    await app.configReady;
    app.connect();
  });
  $('#chat-form').addEventListener('submit', (ev) => sendChat(app, ev));

  // On stage: the mic (muting yourself tells everyone), leaving the stage. The music is desk.js.
  $('#mic-button').addEventListener('click', () => {
    state.micOn = !state.micOn;
    state.selfMuted = !state.micOn;
    tabStore.set(app.KEYS.selfMuted, state.selfMuted ? '1' : '0'); // kept over a reload
    media.setMicEnabled(state.micOn);
    act({ type: 'mute', participant_id: state.me, muted: !state.micOn });
    app.renderControls();
  });
  $('#leave-stage-button').addEventListener('click', () => {
    state.leavingStage = true;
    act({ type: 'demote', participant_id: state.me });
  });
  confirmTwice($('#end-button'), t('room.end.confirm'), () => endShow(app));

  // In the audience: call in.
  $('#hand-button').addEventListener('click', () => {
    const up = !!(app.self() && app.self().hand_raised);
    const raised = t(app.staffHere() ? 'room.hand.raised' : 'room.hand.raised_host_away');
    act({ type: up ? 'lower_hand' : 'raise_hand' }, up ? '' : raised);
  });

  const askHost = leaveDialog({
    roomId: app.roomId, hostToken: () => store.get(app.KEYS.host), graceS: () => app.config().host_grace_s,
    leave: app.leave, endShow: () => endShow(app),
  });
  $('#leave-button').addEventListener('click', () => {
    if (state.role === 'host' && store.get(app.KEYS.host)) askHost();
    else app.leave();
  });
  $('#rejoin-button').addEventListener('click', () => { state.final = null; showView('join'); $('#join-form').requestSubmit(); });
  $('#tap-to-listen').addEventListener('click', () => {
    media.resume();
    show($('#tap-to-listen'), false);
  });
  $('#volume').addEventListener('input', (ev) => media.setVolume(Number(ev.target.value) / 100));
  window.addEventListener('online', () => { if (reconnector.waiting) reconnector.now(); });
  window.addEventListener('pagehide', () => signal.close());
  window.addEventListener('pageshow', (ev) => { if (ev.persisted) location.reload(); }); // stale after bfcache
}
