// Room page view helpers: phases, views, notices, controls. No protocol logic.
import { api } from './api.js';
import { $, show } from './util.js';

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
 * c: {role, onStage, canModerate, isHost, micOn, mutedByMod, handRaised, chatMuted,
 *     paused, pubState}
 */
export function renderControls(c) {
  show($('#stage-controls'), c.onStage);
  show($('#listener-controls'), c.role === 'listener');
  for (const b of document.querySelectorAll('[data-mod-only]')) show(b, c.canModerate);
  show($('#leave-stage-button'), c.role === 'speaker' || c.role === 'moderator');
  show($('#end-button'), c.isHost);
  show($('#audit'), c.isHost);
  const mic = $('#mic-button');
  mic.textContent = c.micOn ? 'Mic on' : 'Mic off';
  mic.setAttribute('aria-pressed', String(c.micOn));
  const muteState = $('#mute-state');
  muteState.textContent = c.mutedByMod
    ? 'A moderator muted you: nobody hears you. Turn your mic on to speak again.'
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

/** Before joining: what show this is, or that it is gone. */
export async function loadSummary(roomId) {
  try {
    const room = await api(`/api/rooms/${encodeURIComponent(roomId)}`);
    $('#join-heading').textContent = room.title;
    $('#join-summary').textContent = `Hosted by ${room.host_name} · ${Number(room.listeners) || 0} listening`;
    document.title = `${room.title} · OnAir`;
  } catch (err) {
    $('#join-summary').textContent = err.status === 404
      ? 'This show is not live (it may have ended).'
      : `Could not load the show: ${err.message}`;
  }
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
