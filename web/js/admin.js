// The operator's console (/admin): asks for the admin token once per tab, then shows the live
// figures and rooms (refreshed every few seconds), reports, bans, tracks and the audit log.
import { SIGN_OUT_CODES, adminToken, opApi, refusal } from './admin-api.js';
import { renderAudit, renderBans, renderReports, renderRooms, renderTracks } from './admin-lists.js';
import { $ } from './util.js';

const LIVE_EVERY_MS = 3000; // figures and rooms
const LISTS_EVERY_MS = 10000; // reports, bans, the audit log
const timers = [];
const $console = $('#console');
const $login = $('#login');

// --- errors -----------------------------------------------------------------------------------

// A section's error line, and what put it there ('load' or 'act'): a refresh that works clears
// what a refresh said, never the refusal of the action just taken.
function say(section, message, origin = 'act') {
  const el = $(`#${section}-error`);
  if (!message && origin === 'load' && el.dataset.origin === 'act') return;
  el.textContent = message || '';
  el.dataset.origin = origin;
  el.hidden = !message;
}

function signOut(message) {
  timers.splice(0).forEach(clearInterval);
  adminToken.clear();
  $console.hidden = true;
  $('#sign-out').hidden = true;
  $login.hidden = false;
  say('login', message);
  $('#admin-token').focus();
}

/**
 * Run an operator call for `section`; a refusal is shown there in words ("Could not end the room:
 * not found: it may be gone already (not_found)"). A refused token ends the session.
 */
async function attempt(section, what, call, origin = 'act') {
  try {
    const result = await call();
    say(section, '', origin);
    return { ok: true, result };
  } catch (err) {
    if (SIGN_OUT_CODES.has(err.code)) {
      signOut(`The console refused the token: ${refusal(err)}.`);
    } else {
      say(section, `${what}: ${refusal(err)}.`, origin);
    }
    return { ok: false };
  }
}

const load = (section, what, call) => attempt(section, what, call, 'load');

function empty(section, items) {
  $(`#${section}-empty`).hidden = items.length > 0;
}

// --- loaders ----------------------------------------------------------------------------------

function showFigures(f) {
  const set = (name, text) => { $(`[data-figure="${name}"]`).textContent = text; };
  set('listeners', String(f.listeners));
  set('rooms', String(f.rooms));
  set('cpu', `${Number(f.cpu_percent).toFixed(1)} %`);
  set('rss', `${(Number(f.rss_bytes) / (1024 * 1024)).toFixed(0)} MB`);
  set('tick', `${Number(f.tick_late_ms_p99).toFixed(1)} ms`);
  set('lag', `${Number(f.loop_lag_ms).toFixed(1)} ms`);
  $('#figures-updated').textContent = `Updated ${new Date().toLocaleTimeString()}`;
}

async function loadFigures() {
  const { ok, result } = await load('figures', 'Could not read the figures', () => opApi('/api/admin/stats'));
  if (ok) showFigures(result);
  return ok;
}

async function loadRooms() {
  const { ok, result } = await load('rooms', 'Could not list the rooms', () => opApi('/api/admin/rooms'));
  if (!ok) return;
  renderRooms($('#rooms'), result, { onEnd: endRoom });
  empty('rooms', result);
}

async function loadReports() {
  const status = $('#reports-filter').value;
  const path = status ? `/api/reports?status=${encodeURIComponent(status)}` : '/api/reports';
  const { ok, result } = await load('reports', 'Could not list the reports', () => opApi(path));
  if (!ok) return;
  renderReports($('#reports'), result, { onResolve: resolveReport });
  empty('reports', result);
}

async function loadBans() {
  const { ok, result } = await load('bans', 'Could not list the bans', () => opApi('/api/bans'));
  if (!ok) return;
  renderBans($('#bans'), result, { onLift: liftBan });
  empty('bans', result);
}

async function loadTracks() {
  const q = $('#tracks-q').value.trim();
  const path = `/api/tracks?limit=50&q=${encodeURIComponent(q)}`;
  const { ok, result } = await load('tracks', 'Could not search the tracks', () => opApi(path));
  if (!ok) return;
  renderTracks($('#tracks'), result, { onDelete: deleteTrack });
  empty('tracks', result);
}

async function loadAudit() {
  const { ok, result } = await load('audit', 'Could not read the audit log', () => opApi('/api/audit'));
  if (!ok) return;
  renderAudit($('#audit'), result.slice(0, 100));
  empty('audit', result);
}

// --- actions ----------------------------------------------------------------------------------

async function endRoom(room) {
  const path = `/api/rooms/${encodeURIComponent(room.room_id)}`;
  await attempt('rooms', `Could not end “${room.title}”`, () => opApi(path, { method: 'DELETE' }));
  await Promise.all([loadRooms(), loadFigures(), loadAudit()]);
}

async function resolveReport(report, status, note, button) {
  const body = { status };
  if (note.trim()) body.note = note.trim();
  const path = `/api/reports/${encodeURIComponent(report.report_id)}`;
  const verb = status === 'resolved' ? 'resolve' : 'dismiss';
  button.disabled = true;
  await attempt('reports', `Could not ${verb} the report`, () => opApi(path, { method: 'POST', body }));
  button.disabled = false;
  await Promise.all([loadReports(), loadAudit()]);
}

async function liftBan(ban, button) {
  const path = `/api/bans/${encodeURIComponent(ban.ban_id)}`;
  button.disabled = true;
  await attempt('bans', 'Could not lift the ban', () => opApi(path, { method: 'DELETE' }));
  button.disabled = false;
  await Promise.all([loadBans(), loadAudit()]);
}

async function deleteTrack(track) {
  const path = `/api/tracks/${encodeURIComponent(track.track_id)}`;
  const what = `Could not delete “${track.title || 'Untitled'}”`;
  await attempt('tracks', what, () => opApi(path, { method: 'DELETE' }));
  await Promise.all([loadTracks(), loadAudit()]);
}

// --- the session ------------------------------------------------------------------------------

async function open() {
  const first = await attempt('login', 'Could not open the console', () => opApi('/api/admin/stats'));
  if (!first.ok) return; // a refused token has signed out already, saying why
  showFigures(first.result);
  $login.hidden = true;
  say('login', '');
  $console.hidden = false;
  $('#sign-out').hidden = false;
  await Promise.all([loadRooms(), loadReports(), loadBans(), loadTracks(), loadAudit()]);
  timers.push(setInterval(() => { loadFigures(); loadRooms(); }, LIVE_EVERY_MS));
  timers.push(setInterval(() => { loadReports(); loadBans(); loadAudit(); }, LISTS_EVERY_MS));
}

$('#login-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const input = $('#admin-token');
  const token = input.value.trim();
  if (!token) {
    say('login', 'Enter the admin token.');
    return;
  }
  adminToken.set(token);
  input.value = '';
  const button = ev.currentTarget.querySelector('button[type=submit]');
  button.disabled = true;
  try { await open(); } finally { button.disabled = false; }
});

$('#sign-out').addEventListener('click', () => signOut(''));
$('#reports-filter').addEventListener('change', loadReports);
$('#audit-refresh').addEventListener('click', loadAudit);
$('#tracks-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  say('tracks', ''); // a new search: the last refusal is old news
  loadTracks();
});

if (adminToken.get()) open();
else $('#admin-token').focus();
