// Room page view helpers: phases, views, notices, controls. No protocol logic.
import { api, roomPath } from './api.js';
import { errorText, has, t } from './i18n.js';
import { showJoinRules } from './rules.js';
import { pubLinkState } from './stats.js';
import { $, h, show } from './util.js';

/** The status pill: always say what is happening. */
export function setPhase(phase, onAir) {
  const pill = $('#conn-state');
  pill.dataset.state = phase;
  const key = phase === 'live' && onAir ? 'room.phase.on_air' : `room.phase.${phase}`;
  pill.textContent = has(key) ? t(key) : phase;
}

/** Show `text` in `el`, marked as people's own words (names, titles: not translated, not checked). */
export function setUserText(el, text) {
  el.textContent = text;
  el.setAttribute('translate', 'no');
}

/** Show a message of the page's language in `el` (which may have held people's words before). */
export function setPageText(el, text) {
  el.textContent = text;
  el.removeAttribute('translate');
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
  if (room.title) setUserText($('#show-title'), room.title);
  else setPageText($('#show-title'), t('room.title.default'));
  $('#show-host').textContent = room.host_name || '';
  $('#show-description').textContent = room.description || '';
  document.title = room.title ? t('room.title.page', { title: room.title }) : t('room.title.page_untitled');
}

/**
 * c: {role, onStage, screening (in the green room), canModerate, isHost, micOn, mutedByMod, handRaised, chatMuted,
 *     paused, pubState, canCallIn (someone can answer a hand: a host or moderator is here, or the
 *     room has a host who may come back; never in a permanent room with nobody hosting)}
 */
export function renderControls(c) {
  show($('#stage-controls'), c.onStage || c.screening);
  $('#stage-heading').textContent = c.screening && !c.onStage ? t('room.stage.green_room') : t('room.stage.on_air');
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
  mic.textContent = t(c.mutedByMod ? 'room.mic.muted_by_host' : c.micOn ? 'room.mic.on' : 'room.mic.off');
  mic.setAttribute('aria-pressed', String(c.micOn));
  mic.disabled = c.mutedByMod;
  const muteState = $('#mute-state');
  muteState.textContent = c.mutedByMod ? t('room.mic.muted_by_mod_detail') : c.micOn ? '' : t('room.mic.off_detail');
  show(muteState, !!muteState.textContent);
  const hand = $('#hand-button');
  hand.textContent = t(c.handRaised ? 'room.hand.lower' : 'room.hand.raise');
  hand.setAttribute('aria-pressed', String(c.handRaised));
  $('#pause-button').textContent = t(c.paused ? 'room.music.play' : 'room.music.pause');
  $('#pub-state').textContent = c.pubState ? t('room.pub.state', { state: pubLinkState(c.pubState) }) : '';
  const input = $('#chat-input');
  input.disabled = c.chatMuted;
  $('#chat-send').disabled = c.chatMuted;
  input.placeholder = t(c.chatMuted ? 'room.chat.muted_placeholder' : 'room.chat.placeholder');
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
    setUserText($('#join-heading'), room.title);
    const count = Number(room.listeners) || 0;
    $('#join-summary').textContent = t('room.join.summary', { host: room.host_name, count });
    document.title = t('room.title.page', { title: room.title });
    if (Array.isArray(room.rules)) showJoinRules(room.rules);
    return room;
  } catch (err) {
    if (err.status !== 404) {
      $('#join-summary').textContent = t('room.join.load_failed', { error: errorText(err) });
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
  setPageText($('#join-heading'), t('room.gone.heading'));
  document.title = t('room.gone.page_title');
  const list = $('#gone-rooms');
  let rooms = [];
  try { rooms = (await api('/api/rooms')).filter((r) => r.room_id !== roomId); } catch { rooms = []; }
  // The busiest first, then the newest: a show that just started is worth offering too.
  const started = (r) => Date.parse(r.started_at) || 0;
  rooms.sort((a, b) => (Number(b.listeners) || 0) - (Number(a.listeners) || 0) || started(b) - started(a));
  list.replaceChildren(...rooms.slice(0, 10).map((r) => h('li', {},
    h('a', { className: 'room-link', attrs: { href: r.room_url || roomPath(r.room_id) } },
      h('span', { className: 'room-title', text: r.title, attrs: { translate: 'no' } }),
      h('span', { className: 'room-host', text: t('room.gone.room_host', { host: r.host_name, count: Number(r.listeners) || 0 }) })))));
  if (!rooms.length) list.replaceChildren(h('li', { className: 'muted', text: t('room.gone.none') }));
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
