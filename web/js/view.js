// Room page view helpers: phases, views, notices, controls. No protocol logic.
import { api, roomPath } from './api.js';
import { showJoinRules } from './rules.js';
import { $, h, show } from './util.js';

const PHASE_TEXT = {
  idle: 'Not joined', joining: 'Joining…', connecting: 'Connecting audio…', live: 'Live',
  reconnecting: 'Reconnecting…', ended: 'Ended', kicked: 'Removed',
};

/** The status pill: always say what is happening. */
export function setPhase(phase, onAir) {
  const pill = $('#conn-state');
  pill.dataset.state = phase;
  pill.textContent = phase === 'live' && onAir ? 'Live · on air' : PHASE_TEXT[phase] || phase;
}

export function showView(which) {
  show($('#join-view'), which === 'join');
  show($('#room-view'), which === 'room');
  show($('#final-view'), which === 'final');
}

const timers = new Map();
/** Show `text` in `el` for a few seconds. */
export function flash(el, text, ms = 6000) {
  el.textContent = text;
  el.hidden = false;
  clearTimeout(timers.get(el));
  timers.set(el, setTimeout(() => { el.hidden = true; }, ms));
}

export const notice = (text) => flash($('#notice'), text);
export const chatError = (text) => flash($('#chat-error'), text);

export function showJoinError(message) {
  showView('join');
  if (!$('#gone').hidden) return; // no show to join: that is said already
  $('#join-error').textContent = message;
  $('#join-error').hidden = false;
  $('#join-button').disabled = false;
}

export function renderRoom(room) {
  $('#show-title').textContent = room.title || 'OnAir show';
  $('#show-host').textContent = room.host_name || '';
  $('#show-description').textContent = room.description || '';
  document.title = `${room.title || 'Show'} · OnAir`;
}

/**
 * c: {role, onStage, screening (in the green room), canModerate, isHost, micOn, mutedByMod, handRaised, chatMuted,
 *     paused, pubState, canCallIn (someone can answer a hand: a host or moderator is here, or the
 *     room has a host who may come back; never in a permanent room with nobody hosting)}
 */
export function renderControls(c) {
  show($('#stage-controls'), c.onStage || c.screening);
  $('#stage-heading').textContent = c.screening && !c.onStage
    ? 'You are in the green room: only the host hears you' : 'You are on air';
  show($('#mic-button'), c.onStage);
  show($('#listener-controls'), c.role === 'listener' && !c.screening);
  const callIn = c.canCallIn || c.handRaised; // a raised hand can always be lowered
  show($('#hand-button'), callIn);
  show($('#hand-status'), callIn);
  show($('#no-callin'), !callIn);
  for (const b of document.querySelectorAll('[data-mod-only]')) show(b, c.canModerate);
  show($('#leave-stage-button'), c.role === 'speaker' || c.role === 'moderator');
  show($('#end-button'), c.isHost);
  show($('#audit'), c.isHost);
  const mic = $('#mic-button');
  // A mic the host or a moderator closed is theirs to open: the button says so and does nothing.
  mic.textContent = c.mutedByMod ? 'Mic off · The host muted you' : c.micOn ? 'Mic on' : 'Mic off';
  mic.setAttribute('aria-pressed', String(c.micOn));
  mic.disabled = c.mutedByMod;
  const muteState = $('#mute-state');
  muteState.textContent = c.mutedByMod
    ? 'A moderator muted you or the host did: nobody hears you until one of them turns your mic back on.'
    : c.micOn ? '' : 'Your mic is off: nobody hears you.';
  show(muteState, !!muteState.textContent);
  const hand = $('#hand-button');
  hand.textContent = c.handRaised ? 'Lower hand' : 'Raise hand';
  hand.setAttribute('aria-pressed', String(c.handRaised));
  $('#pause-button').textContent = c.paused ? 'Play music' : 'Pause music';
  $('#pub-state').textContent = c.pubState ? `Mic link: ${c.pubState}` : '';
  const input = $('#chat-input');
  input.disabled = c.chatMuted;
  $('#chat-send').disabled = c.chatMuted;
  input.placeholder = c.chatMuted ? 'A moderator muted you in chat' : 'Say something…';
}

/** A lasting banner (the host is away); empty text hides it. */
export function setBanner(el, text) {
  el.textContent = text || '';
  show(el, !!text);
}

export function showFinal(heading, detail, canRejoin) {
  $('#final-heading').textContent = heading;
  $('#final-detail').textContent = detail;
  show($('#rejoin-button'), canRejoin);
  showView('final');
  $('#final-heading').focus();
}

/**
 * Before joining: what show this is and its rules (the room, or null), or that it is gone.
 * A show announced for later (no room yet) goes to onUpcoming(show) instead.
 */
export async function loadSummary(roomId, onUpcoming) {
  try {
    const room = await api(`/api/rooms/${encodeURIComponent(roomId)}`);
    $('#join-heading').textContent = room.title;
    $('#join-summary').textContent = `Hosted by ${room.host_name} · ${Number(room.listeners) || 0} listening`;
    document.title = `${room.title} · OnAir`;
    if (Array.isArray(room.rules)) showJoinRules(room.rules);
    return room;
  } catch (err) {
    if (err.status !== 404) {
      $('#join-summary').textContent = `Could not load the show: ${err.message}`;
      return null;
    }
  }
  let upcoming = null;
  try { upcoming = await api(`/api/shows/${encodeURIComponent(roomId)}`); } catch { upcoming = null; }
  // Announced, not over, never opened and ended (`ended`, if the server says so): wait for it here.
  const ahead = upcoming && !upcoming.ended && !(Date.parse(upcoming.ends_at) <= Date.now());
  if (ahead && onUpcoming) onUpcoming(upcoming);
  else showGone(roomId);
  return null;
}

/** A link to a show that is over or never was: say so at once, and offer what is live. */
export async function showGone(roomId) {
  showView('join');
  show($('#join-form'), false);
  show($('#join-rules'), false);
  show($('#join-summary'), false);
  show($('#gone'), true);
  $('#join-heading').textContent = 'This show is not on air';
  document.title = 'Show not found · OnAir';
  const list = $('#gone-rooms');
  let rooms = [];
  try { rooms = (await api('/api/rooms')).filter((r) => r.room_id !== roomId); } catch { rooms = []; }
  // The busiest first, then the newest: a show that just started is worth offering too.
  const started = (r) => Date.parse(r.started_at) || 0;
  rooms.sort((a, b) => (Number(b.listeners) || 0) - (Number(a.listeners) || 0) || started(b) - started(a));
  list.replaceChildren(...rooms.slice(0, 10).map((r) => h('li', {},
    h('a', { className: 'room-link', attrs: { href: r.room_url || roomPath(r.room_id) } },
      h('span', { className: 'room-title', text: r.title }),
      h('span', { className: 'room-host', text: `with ${r.host_name} · ${Number(r.listeners) || 0} listening` })))));
  if (!rooms.length) list.replaceChildren(h('li', { className: 'muted', text: 'No other show is live right now.' }));
}

/** A destructive button that asks for a second click instead of a modal dialog. */
export function confirmTwice(button, confirmText, action) {
  const idleText = button.textContent;
  let armed = 0;
  button.addEventListener('click', async () => {
    if (!armed) {
      button.textContent = confirmText;
      armed = setTimeout(() => { armed = 0; button.textContent = idleText; }, 4000);
      return;
    }
    clearTimeout(armed);
    armed = 0;
    button.disabled = true;
    try { await action(); } finally {
      button.disabled = false;
      button.textContent = idleText;
    }
  });
}
