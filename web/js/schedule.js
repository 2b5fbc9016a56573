// The front page's programme: "Coming up" (GET /api/shows: times in the
// visitor's own zone, a countdown, "add to calendar" per show) and the
// "Announce a show" form (POST /api/shows, the start from a datetime-local
// field plus the browser's offset). The host link of an announced show is
// /r/{show_id}#host=<host_token>: its host opens the show from there.
// Words from the catalogs "home" and "when"; times through Intl (when.js).
import { api, roomPath } from './api.js';
import { copyLink, hostLink } from './hostlink.js';
import { errorText, t, timeElement } from './i18n.js';
import { $, h, store } from './util.js';
import { countdown, offsetOf, showTime, SHOW_TIME, withOffset } from './when.js';

const REFRESH_MS = 30000;
let lastRendered = '';
let timers = []; // [{el, at, live}] countdown spans

function showItem(show) {
  const starts = Date.parse(show.starts_at);
  const left = h('span', { className: 'countdown', dataset: { at: String(starts) } });
  timers.push({ el: left, at: starts, live: !!show.live });
  const when = timeElement(starts, SHOW_TIME);
  when.className = 'room-meta when';
  when.dateTime = show.starts_at; // as announced, with its offset
  return h('li', { className: 'show-item', dataset: { showId: show.show_id } },
    h('a', { className: 'room-link', attrs: { href: show.show_url || roomPath(show.show_id) } },
      h('span', { className: 'room-title', text: show.title, attrs: { translate: 'no' } }),
      h('span', { className: 'room-host', text: t('home.room.host', { name: show.host_name }) }),
      when,
      left),
    h('a', {
      className: 'small ics', text: t('home.show.ics'),
      attrs: {
        href: show.ics_url || `/shows/${encodeURIComponent(show.show_id)}.ics`,
        'aria-label': t('home.show.ics_label', { title: show.title }),
      },
    }));
}

function tick() {
  const now = Date.now();
  for (const item of timers) {
    let text = t('home.show.starting');
    if (item.live) text = t('home.show.live');
    else if (item.at > now) text = t('home.show.in', { left: countdown(item.at - now) });
    if (item.el.textContent !== text) item.el.textContent = text;
    item.el.classList.toggle('live', item.live);
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
    status.textContent = shows.length ? '' : t('home.coming.none');
    status.hidden = shows.length > 0;
  } catch (err) {
    lastRendered = '';
    status.hidden = false;
    status.textContent = t('home.coming.failed', { error: errorText(err) });
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
  $('#announced-text').textContent = t('home.announced.text', { title: body.title, when: showTime(body.starts_at) });
  $('#announced-status').textContent = '';
  $('#announced').hidden = false;
  $('#announced-text').focus();
  $('#announced-copy').onclick = () => copyLink($('#announced-host-link'), $('#announced-status'));
}

/** The form's show, or null after saying (in the page's language) what to fix. */
function formShow() {
  const title = $('#announce-title').value.trim();
  const hostName = $('#announce-host').value.trim();
  const description = $('#announce-description').value.trim();
  const startsAt = withOffset($('#announce-starts').value);
  const duration = Number($('#announce-duration').value || 60);
  if (!title) return announceError(t('home.announce.need_title'), $('#announce-title'));
  if (!hostName) return announceError(t('home.announce.need_host'), $('#announce-host'));
  if (!startsAt) return announceError(t('home.announce.need_start'), $('#announce-starts'));
  if (Date.parse(startsAt) <= Date.now()) return announceError(t('home.announce.past'), $('#announce-starts'));
  if (!Number.isInteger(duration) || duration < 5 || duration > 1440) {
    return announceError(t('home.announce.bad_length', { least: 5, most: 1440 }), $('#announce-duration'));
  }
  const body = { title, host_name: hostName, starts_at: startsAt, duration_min: duration };
  if (description) body.description = description;
  return body;
}

async function announce(ev, ready) {
  ev.preventDefault();
  await ready;
  $('#announce-error').hidden = true;
  const body = formShow();
  if (!body) return;
  const button = $('#announce-form button[type=submit]');
  button.disabled = true;
  try {
    const created = await api('/api/shows', { method: 'POST', body });
    announced(created, body);
    $('#announce-form').reset();
    lastRendered = '';
    refreshShows();
  } catch (err) {
    announceError(errorText(err));
  } finally {
    button.disabled = false;
  }
}

/** Listen to the announce form at once; it acts once `ready` (the catalogs) resolves. */
export function wireSchedule(ready) {
  $('#announce-host').value = store.get('onair:name') || '';
  $('#announce-form').addEventListener('submit', (ev) => announce(ev, ready));
}

/** Show the programme (once the catalogs are loaded) and keep it fresh. */
export function startSchedule() {
  $('#announce-zone').textContent = t('home.announce.zone', { offset: offsetOf(new Date()) });
  refreshShows();
  setInterval(refreshShows, REFRESH_MS);
  setInterval(tick, 1000);
}
