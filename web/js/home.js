// The home page: live shows and the "Start a show" form; the programme (coming up, announce) is schedule.js.
// Every word from the catalogs "home" and "when" (i18n.js), loaded before anything is shown; the forms
// listen from the start (a click while the catalogs load must not submit the form natively).
import { api, applyLimits, DEFAULT_LIMITS, loadConfig, roomPath } from './api.js';
import { errorText, initI18n, t } from './i18n.js';
import { $, h, store } from './util.js';
import { startSchedule, wireSchedule } from './schedule.js';

const REFRESH_MS = 5000;
const list = $('#rooms');
const status = $('#rooms-status');
const form = $('#start-form');
const errorEl = $('#start-error');
const titleInput = $('#title');
const nameInput = $('#host-name');
let lastRendered = '';
let limits = DEFAULT_LIMITS;
const ready = initI18n('home', 'when');

/** "♪ Title by Artist": with no artist the line is the track's title alone (user content). */
function nowPlaying(track) {
  const title = track.title || t('home.room.untitled');
  if (track.artist) return h('span', { className: 'room-np', text: t('home.room.np_by', { title, artist: track.artist }) });
  return h('span', { className: 'room-np', text: t('home.room.np', { title }), attrs: { translate: 'no' } });
}

function roomItem(room) {
  const track = room.now_playing && room.now_playing.track;
  const listeners = Number(room.listeners) || 0;
  const href = room.room_url || roomPath(room.room_id);
  return h('li', {},
    h('a', { className: 'room-link', attrs: { href } },
      h('span', { className: 'room-title', text: room.title, attrs: { translate: 'no' } }),
      h('span', { className: 'room-host', text: t('home.room.host', { name: room.host_name }) }),
      h('span', { className: 'room-meta', text: t('home.room.listening', { count: listeners }) }),
      track ? nowPlaying(track) : null));
}

async function refresh() {
  try {
    const rooms = await api('/api/rooms');
    const key = JSON.stringify(rooms);
    if (key === lastRendered) return; // keep keyboard focus when nothing changed
    lastRendered = key;
    list.replaceChildren(...rooms.map(roomItem));
    status.textContent = rooms.length ? t('home.live.count', { count: rooms.length }) : t('home.live.none');
  } catch (err) {
    lastRendered = '';
    status.textContent = t('home.live.failed', { error: errorText(err) });
  }
}

function showError(message) {
  errorEl.textContent = message;
  errorEl.hidden = false;
}

/** The rules typed (one per line), or null after saying what is wrong with them. */
function rulesOf() {
  const rules = $('#rules').value.split('\n').map((r) => r.trim()).filter(Boolean);
  if (rules.length > limits.rules) {
    showError(t('home.start.too_many_rules', { most: limits.rules }));
    return null;
  }
  const long = rules.findIndex((r) => r.length > limits.rule);
  if (long >= 0) {
    showError(t('home.start.rule_too_long', { n: long + 1, length: rules[long].length, most: limits.rule }));
    return null;
  }
  return rules;
}

form.addEventListener('submit', async (ev) => {
  ev.preventDefault();
  await ready;
  errorEl.hidden = true;
  const title = titleInput.value.trim();
  const hostName = nameInput.value.trim();
  const description = $('#description').value.trim();
  if (!title) { showError(t('home.start.need_title')); titleInput.focus(); return; }
  if (!hostName) { showError(t('home.start.need_name')); nameInput.focus(); return; }
  const rules = rulesOf();
  if (!rules) return;
  const button = form.querySelector('button[type=submit]');
  button.disabled = true;
  button.textContent = t('home.start.starting');
  try {
    const body = { title, host_name: hostName };
    if (description) body.description = description;
    if (rules.length) body.rules = rules;
    const created = await api('/api/rooms', { method: 'POST', body });
    // The host token lives in localStorage only; never in a URL.
    store.set(`onair:host:${created.room_id}`, created.host_token);
    store.set('onair:name', hostName);
    location.assign(created.room_url || roomPath(created.room_id));
  } catch (err) {
    showError(errorText(err));
    resetButton();
  }
});

function resetButton() {
  const button = form.querySelector('button[type=submit]');
  button.disabled = false;
  button.textContent = t('home.start.go_live');
}

nameInput.value = store.get('onair:name') || '';
wireSchedule(ready);
loadConfig().then((c) => {
  limits = c.limits;
  applyLimits(limits, { '#title': 'title', '#host-name': 'host_name', '#description': 'description' });
  $('#rules').maxLength = limits.rules * (limits.rule + 1);
});
await ready;
refresh();
setInterval(refresh, REFRESH_MS);
startSchedule();
