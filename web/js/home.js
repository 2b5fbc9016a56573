// The home page: live shows and the "Start a show" form; the programme (coming up, announce) is schedule.js.
import { api, applyLimits, DEFAULT_LIMITS, loadConfig, roomPath } from './api.js';
import { $, h, store } from './util.js';
import { wireSchedule } from './schedule.js';

const REFRESH_MS = 5000;
const list = $('#rooms');
const status = $('#rooms-status');
const form = $('#start-form');
const errorEl = $('#start-error');
const titleInput = $('#title');
const nameInput = $('#host-name');
let lastRendered = '';
let limits = DEFAULT_LIMITS;
loadConfig().then((c) => {
  limits = c.limits;
  applyLimits(limits, { '#title': 'title', '#host-name': 'host_name', '#description': 'description' });
  $('#rules').maxLength = limits.rules * (limits.rule + 1);
});

function roomItem(room) {
  const track = room.now_playing && room.now_playing.track;
  const listeners = Number(room.listeners) || 0;
  const href = room.room_url || roomPath(room.room_id);
  return h('li', {},
    h('a', { className: 'room-link', attrs: { href } },
      h('span', { className: 'room-title', text: room.title }),
      h('span', { className: 'room-host', text: `with ${room.host_name}` }),
      h('span', { className: 'room-meta', text: `${listeners} listening` }),
      track ? h('span', {
        className: 'room-np',
        text: `♪ ${track.title || 'Untitled'}${track.artist ? ` by ${track.artist}` : ''}`,
      }) : null));
}

async function refresh() {
  try {
    const rooms = await api('/api/rooms');
    const key = JSON.stringify(rooms);
    if (key === lastRendered) return; // keep keyboard focus when nothing changed
    lastRendered = key;
    list.replaceChildren(...rooms.map(roomItem));
    status.textContent = rooms.length
      ? `${rooms.length} show${rooms.length === 1 ? '' : 's'} live`
      : 'No shows live right now. Start one!';
  } catch (err) {
    status.textContent = `Could not load the shows: ${err.message}`;
  }
}

function showError(message) {
  errorEl.textContent = message;
  errorEl.hidden = false;
}

form.addEventListener('submit', async (ev) => {
  ev.preventDefault();
  errorEl.hidden = true;
  const title = titleInput.value.trim();
  const hostName = nameInput.value.trim();
  const description = $('#description').value.trim();
  if (!title) { showError('Give your show a title.'); titleInput.focus(); return; }
  if (!hostName) { showError('Tell listeners your name.'); nameInput.focus(); return; }
  const button = form.querySelector('button[type=submit]');
  button.disabled = true;
  button.textContent = 'Starting…';
  try {
    const body = { title, host_name: hostName };
    if (description) body.description = description;
    const rules = $('#rules').value.split('\n').map((r) => r.trim()).filter(Boolean);
    if (rules.length > limits.rules) { showError(`At most ${limits.rules} rules.`); resetButton(); return; }
    const long = rules.findIndex((r) => r.length > limits.rule);
    if (long >= 0) {
      showError(`Rule ${long + 1} is ${rules[long].length} characters long: at most ${limits.rule}.`);
      resetButton();
      return;
    }
    if (rules.length) body.rules = rules;
    const created = await api('/api/rooms', { method: 'POST', body });
    // The host token lives in localStorage only; never in a URL.
    store.set(`onair:host:${created.room_id}`, created.host_token);
    store.set('onair:name', hostName);
    location.assign(created.room_url || roomPath(created.room_id));
  } catch (err) {
    showError(err.message);
    resetButton();
  }
});

function resetButton() {
  const button = form.querySelector('button[type=submit]');
  button.disabled = false;
  button.textContent = 'Go live';
}

nameInput.value = store.get('onair:name') || '';
refresh();
setInterval(refresh, REFRESH_MS);
wireSchedule();
