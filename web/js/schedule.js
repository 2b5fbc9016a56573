// The front page's programme: "Coming up" (GET /api/shows: times in the
// visitor's own zone, a countdown, "add to calendar" per show) and the
// "Announce a show" form (POST /api/shows, the start from a datetime-local
// field plus the browser's offset). The host link of an announced show is
// /r/{show_id}#host=<host_token>: its host opens the show from there.
import { api, roomPath } from './api.js';
import { hostLink } from './hostlink.js';
import { $, h, store } from './util.js';
import { countdown, offsetOf, showTime, withOffset } from './when.js';

const REFRESH_MS = 30000;
let lastRendered = '';
let timers = []; // [{el, at}] countdown spans

function showItem(show) {
  const starts = Date.parse(show.starts_at);
  const left = h('span', { className: 'countdown', dataset: { at: String(starts) } });
  timers.push({ el: left, at: starts, live: !!show.live });
  return h('li', { className: 'show-item', dataset: { showId: show.show_id } },
    h('a', { className: 'room-link', attrs: { href: show.show_url || roomPath(show.show_id) } },
      h('span', { className: 'room-title', text: show.title }),
      h('span', { className: 'room-host', text: `with ${show.host_name}` }),
      h('time', { className: 'room-meta when', text: showTime(show.starts_at), attrs: { datetime: show.starts_at } }),
      left),
    h('a', {
      className: 'small ics', text: 'Add to calendar',
      attrs: { href: show.ics_url || `/shows/${encodeURIComponent(show.show_id)}.ics`, 'aria-label': `Add to calendar: ${show.title}` },
    }));
}

function tick() {
  const now = Date.now();
  for (const t of timers) {
    const text = t.live ? 'Live now' : t.at > now ? `in ${countdown(t.at - now)}` : 'Starting now';
    if (t.el.textContent !== text) t.el.textContent = text;
    t.el.classList.toggle('live', t.live);
  }
}

export async function refreshShows() {
  const status = $('#shows-status');
  try {
    const shows = await api('/api/shows');
    const key = JSON.stringify(shows);
    if (key === lastRendered) return; // keep keyboard focus when nothing changed
    lastRendered = key;
    timers = [];
    $('#shows').replaceChildren(...shows.map(showItem));
    tick();
    status.textContent = shows.length ? '' : 'Nothing announced yet. Announce your show below.';
    status.hidden = shows.length > 0;
  } catch (err) {
    status.hidden = false;
    status.textContent = `Could not load the schedule: ${err.message}`;
  }
}

function announceError(message, focus) {
  const el = $('#announce-error');
  el.textContent = message;
  el.hidden = false;
  if (focus) focus.focus();
}

function announced(created, body) {
  store.set(`onair:host:${created.show_id}`, created.host_token); // this browser is the host's
  store.set('onair:name', body.host_name);
  const link = hostLink(created.show_id, created.host_token);
  $('#announced-host-link').value = link;
  $('#announced-show-link').href = created.show_url || roomPath(created.show_id);
  $('#announced-text').textContent = `Announced: “${body.title}”, ${showTime(body.starts_at)}.`;
  $('#announced').hidden = false;
  $('#announced-text').focus();
  $('#announced-copy').onclick = async () => {
    try {
      await navigator.clipboard.writeText(link);
      $('#announced-status').textContent = 'Copied. Keep it secret: whoever has it runs the show.';
    } catch {
      $('#announced-host-link').select();
      $('#announced-status').textContent = 'Select the link and copy it (Ctrl+C).';
    }
  };
}

async function announce(ev) {
  ev.preventDefault();
  $('#announce-error').hidden = true;
  const title = $('#announce-title').value.trim();
  const hostName = $('#announce-host').value.trim();
  const description = $('#announce-description').value.trim();
  const startsAt = withOffset($('#announce-starts').value);
  const duration = Number($('#announce-duration').value || 60);
  if (!title) return announceError('Give your show a title.', $('#announce-title'));
  if (!hostName) return announceError('Tell listeners who hosts it.', $('#announce-host'));
  if (!startsAt) return announceError('Pick the day and time it starts.', $('#announce-starts'));
  if (Date.parse(startsAt) <= Date.now()) return announceError('Pick a time in the future.', $('#announce-starts'));
  if (!Number.isInteger(duration) || duration < 5 || duration > 1440) {
    return announceError('The length is whole minutes, from 5 to 1440.', $('#announce-duration'));
  }
  const body = { title, host_name: hostName, starts_at: startsAt, duration_min: duration };
  if (description) body.description = description;
  const button = $('#announce-form button[type=submit]');
  button.disabled = true;
  try {
    const created = await api('/api/shows', { method: 'POST', body });
    announced(created, body);
    $('#announce-form').reset();
    lastRendered = '';
    refreshShows();
  } catch (err) {
    announceError(err.message);
  } finally {
    button.disabled = false;
  }
  return undefined;
}

export function wireSchedule() {
  $('#announce-zone').textContent = `(your time, UTC${offsetOf(new Date())})`;
  $('#announce-host').value = store.get('onair:name') || '';
  $('#announce-form').addEventListener('submit', announce);
  refreshShows();
  setInterval(refreshShows, REFRESH_MS);
  setInterval(tick, 1000);
}
