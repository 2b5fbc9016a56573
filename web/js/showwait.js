// A link to an announced show that is not open yet (/r/{show_id} before its
// host opens it): the show, when it starts in the visitor's zone, a countdown,
// "add to calendar", and for its host (the token came with the host link) an
// "Open the show" button from 15 minutes before: POST /api/shows/{id}/open,
// then the host joins with the same token. Everyone else waits here and gets
// the join form as soon as the room is open.
import { api } from './api.js';
import { errorText, t } from './i18n.js';
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
  $('#join-heading').setAttribute('translate', 'no'); // the host's words
  $('#join-summary').textContent = t('room.wait.summary', { host: upcoming.host_name });
  show($('#join-summary'), true);
  document.title = t('room.title.page', { title: upcoming.title });
  $('#show-wait-when').textContent = t('room.wait.on', { time: showTime(upcoming.starts_at) });
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
      ? t('room.wait.starts_in', { left: countdown(starts - now) }) : t('room.wait.any_moment');
    if (!isHost || button.dataset.busy) return;
    const early = now < opens;
    button.disabled = early;
    status.textContent = early ? t('room.wait.open_from', { left: countdown(opens - now) }) : '';
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
    status.textContent = t('room.wait.opening');
    try {
      await api(`/api/shows/${encodeURIComponent(roomId)}/open`, { method: 'POST', token: hooks.hostToken() });
      done(true);
    } catch (err) {
      status.textContent = t('room.wait.open_failed', { error: errorText(err) });
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
