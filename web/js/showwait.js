// A link to an announced show that is not open yet (/r/{show_id} before its
// host opens it): the show, when it starts in the visitor's zone, a countdown,
// "add to calendar", and for its host (the token came with the host link) an
// "Open the show" button from 15 minutes before: POST /api/shows/{id}/open,
// then the host joins with the same token. Everyone else waits here and gets
// the join form as soon as the room is open.
import { api } from './api.js';
import { $, show } from './util.js';
import { countdown, showTime } from './when.js';

const POLL_MS = 10000;

/**
 * show: the show (GET /api/shows/{id}); hooks: {hostToken(): string|null, opened(asHost: bool)}.
 * Returns a function that stops the countdown and the polling.
 */
export function showUpcoming(roomId, upcoming, hooks) {
  show($('#join-form'), false);
  show($('#join-rules'), false);
  show($('#gone'), false);
  show($('#show-wait'), true);
  $('#join-heading').textContent = upcoming.title;
  $('#join-summary').textContent = `Hosted by ${upcoming.host_name} · not on air yet`;
  show($('#join-summary'), true);
  document.title = `${upcoming.title} · OnAir`;
  $('#show-wait-when').textContent = `On ${showTime(upcoming.starts_at)}`;
  $('#show-wait-desc').textContent = upcoming.description || '';
  $('#show-wait-ics').href = upcoming.ics_url || `/shows/${encodeURIComponent(roomId)}.ics`;
  const starts = Date.parse(upcoming.starts_at);
  const opens = Date.parse(upcoming.opens_at);
  const isHost = !!hooks.hostToken();
  show($('#show-open'), isHost);
  const button = $('#open-show-button');
  const status = $('#open-show-status');

  let stopped = false;
  const tick = () => {
    const now = Date.now();
    $('#show-wait-countdown').textContent = now < starts
      ? `Starts in ${countdown(starts - now)}` : 'Starting any moment: the host has not opened the show yet.';
    if (!isHost || button.dataset.busy) return;
    const early = now < opens;
    button.disabled = early;
    status.textContent = early ? `You can open it ${countdown(opens - now)} from now (15 minutes before it starts).` : '';
  };
  tick();
  const timer = setInterval(tick, 1000);
  const done = (asHost) => {
    stopped = true;
    clearInterval(timer);
    show($('#show-wait'), false);
    show($('#join-form'), true);
    hooks.opened(asHost);
  };

  button.onclick = async () => {
    button.dataset.busy = '1';
    button.disabled = true;
    status.textContent = 'Opening the show…';
    try {
      await api(`/api/shows/${encodeURIComponent(roomId)}/open`, { method: 'POST', token: hooks.hostToken() });
      done(true);
    } catch (err) {
      status.textContent = `Could not open the show: ${err.message}`;
      button.disabled = false;
    } finally {
      delete button.dataset.busy;
    }
  };

  // Listeners: as soon as the host opens it, the join form.
  const poll = async () => {
    if (stopped) return;
    try {
      await api(`/api/rooms/${encodeURIComponent(roomId)}`);
      if (!stopped) done(false);
      return;
    } catch { /* not open yet */ }
    if (!stopped) setTimeout(poll, POLL_MS);
  };
  if (!isHost) setTimeout(poll, POLL_MS);
  return () => { stopped = true; clearInterval(timer); };
}
