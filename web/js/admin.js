// The operator's console (/admin): asks for the admin token once per tab, then shows the live
// figures and rooms (refreshed every few seconds), reports, bans, tracks, the play log and the
// audit log. Every word from the catalogs (admin.json), in the visitor's language.
import { SIGN_OUT_CODES, adminToken, opApi, opFetch, refusal } from './admin-api.js';
import { renderAudit, renderBans, renderPlays, renderReports, renderRooms, renderTracks } from './admin-lists.js';
import { formatDate, formatNumber, initI18n, t } from './i18n.js';
import { $ } from './util.js';

await initI18n('admin');

const LIVE_EVERY_MS = 3000; // figures and rooms
const LISTS_EVERY_MS = 10000; // reports, bans, the audit log
const PLAYS_SHOWN = 100; // the newest plays of the period on the page (the export has them all)
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
 * Run an operator call for `section`; a refusal is shown there in words, through the message
 * `key` ("Could not end “{title}”: {why}.") with `params`. A refused token ends the session.
 */
async function attempt(section, [key, params], call, origin = 'act') {
  try {
    const result = await call();
    say(section, '', origin);
    return { ok: true, result };
  } catch (err) {
    if (SIGN_OUT_CODES.has(err.code)) {
      signOut(t('admin.error.token_refused', { why: refusal(err) }));
    } else {
      say(section, t(key, { ...params, why: refusal(err) }), origin);
    }
    return { ok: false };
  }
}

const load = (section, key, call) => attempt(section, [key, {}], call, 'load');

function empty(section, items) {
  $(`#${section}-empty`).hidden = items.length > 0;
}

// --- loaders ----------------------------------------------------------------------------------

const decimal = (value, digits) => formatNumber(Number(value) || 0,
  { minimumFractionDigits: digits, maximumFractionDigits: digits });

function showFigures(f) {
  const set = (name, text) => { $(`[data-figure="${name}"]`).textContent = text; };
  set('listeners', formatNumber(Number(f.listeners) || 0));
  set('rooms', formatNumber(Number(f.rooms) || 0));
  set('cpu', t('admin.figures.percent', { value: decimal(f.cpu_percent, 1) }));
  set('rss', t('admin.figures.megabytes', { value: decimal(Number(f.rss_bytes) / (1024 * 1024), 0) }));
  set('tick', t('admin.figures.ms', { value: decimal(f.tick_late_ms_p99, 1) }));
  set('lag', t('admin.figures.ms', { value: decimal(f.loop_lag_ms, 1) }));
  $('#figures-updated').textContent = t('admin.figures.updated', { time: formatDate(new Date(), { timeStyle: 'medium' }) });
}

async function loadFigures() {
  const { ok, result } = await load('figures', 'admin.error.figures', () => opApi('/api/admin/stats'));
  if (ok) showFigures(result);
  return ok;
}

async function loadRooms() {
  const { ok, result } = await load('rooms', 'admin.error.rooms', () => opApi('/api/admin/rooms'));
  if (!ok) return;
  renderRooms($('#rooms'), result, { onEnd: endRoom });
  empty('rooms', result);
}

async function loadReports() {
  const status = $('#reports-filter').value;
  const path = status ? `/api/reports?status=${encodeURIComponent(status)}` : '/api/reports';
  const { ok, result } = await load('reports', 'admin.error.reports', () => opApi(path));
  if (!ok) return;
  renderReports($('#reports'), result, { onResolve: resolveReport });
  empty('reports', result);
}

async function loadBans() {
  const { ok, result } = await load('bans', 'admin.error.bans', () => opApi('/api/bans'));
  if (!ok) return;
  renderBans($('#bans'), result, { onLift: liftBan });
  empty('bans', result);
}

async function loadTracks() {
  const q = $('#tracks-q').value.trim();
  const path = `/api/tracks?limit=50&q=${encodeURIComponent(q)}`;
  const { ok, result } = await load('tracks', 'admin.error.tracks', () => opApi(path));
  if (!ok) return;
  renderTracks($('#tracks'), result, { onDelete: deleteTrack });
  empty('tracks', result);
}

async function loadAudit() {
  const { ok, result } = await load('audit', 'admin.error.audit', () => opApi('/api/audit'));
  if (!ok) return;
  renderAudit($('#audit'), result.slice(0, 100));
  empty('audit', result);
}

// --- the play log: a period of whole local days, shown and exported -----------------------------

const isoDay = (d) => `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;

function defaultPeriod() {
  const today = new Date();
  const weekAgo = new Date(today.getFullYear(), today.getMonth(), today.getDate() - 6);
  $('#playlog-from').value = isoDay(weekAgo);
  $('#playlog-to').value = isoDay(today);
}

/** The export's query: from the first day's local midnight to the midnight after the last day. */
function periodQuery(format) {
  const query = new URLSearchParams({ format });
  const from = $('#playlog-from').valueAsDate;
  const to = $('#playlog-to').valueAsDate;
  // valueAsDate is that day's UTC midnight: the local day of the same date is wanted. A last day
  // before the first is sent as it is, for the server to refuse (not as an empty period).
  const reversed = from && to && to < from;
  if (from) query.set('from', new Date(from.getUTCFullYear(), from.getUTCMonth(), from.getUTCDate()).toISOString());
  if (to) query.set('to', new Date(to.getUTCFullYear(), to.getUTCMonth(), to.getUTCDate() + (reversed ? 0 : 1)).toISOString());
  return query;
}

async function loadPlays() {
  const call = async () => (await opFetch(`/api/playlog?${periodQuery('json')}`)).json();
  const { ok, result } = await attempt('playlog', ['admin.error.playlog', {}], call);
  if (!ok) {
    $('#playlog-summary').textContent = '';
    return;
  }
  const newest = result.slice().reverse().slice(0, PLAYS_SHOWN);
  renderPlays($('#playlog'), newest);
  $('#playlog-summary').textContent = result.length > newest.length
    ? t('admin.playlog.count_some', { count: result.length, shown: newest.length })
    : t('admin.playlog.count', { count: result.length });
  $('#playlog-summary').hidden = result.length === 0;
  empty('playlog', result);
}

async function download(format, button) {
  const name = `playlog-${$('#playlog-from').value || 'start'}-${$('#playlog-to').value || 'now'}.${format}`;
  button.disabled = true;
  const { ok, result } = await attempt('playlog', ['admin.error.export', {}],
    async () => (await opFetch(`/api/playlog?${periodQuery(format)}`)).blob());
  button.disabled = false;
  if (!ok) return;
  const url = URL.createObjectURL(result);
  const link = Object.assign(document.createElement('a'), { href: url, download: name });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

// --- actions ----------------------------------------------------------------------------------

async function endRoom(room) {
  const path = `/api/rooms/${encodeURIComponent(room.room_id)}`;
  await attempt('rooms', ['admin.error.end_room', { title: room.title }], () => opApi(path, { method: 'DELETE' }));
  await Promise.all([loadRooms(), loadFigures(), loadAudit()]);
}

async function resolveReport(report, status, note, button) {
  const body = { status };
  if (note.trim()) body.note = note.trim();
  const path = `/api/reports/${encodeURIComponent(report.report_id)}`;
  const key = status === 'resolved' ? 'admin.error.resolve' : 'admin.error.dismiss';
  button.disabled = true;
  await attempt('reports', [key, {}], () => opApi(path, { method: 'POST', body }));
  button.disabled = false;
  await Promise.all([loadReports(), loadAudit()]);
}

async function liftBan(ban, button) {
  const path = `/api/bans/${encodeURIComponent(ban.ban_id)}`;
  button.disabled = true;
  await attempt('bans', ['admin.error.lift', {}], () => opApi(path, { method: 'DELETE' }));
  button.disabled = false;
  await Promise.all([loadBans(), loadAudit()]);
}

async function deleteTrack(track) {
  const path = `/api/tracks/${encodeURIComponent(track.track_id)}`;
  const title = track.title || t('admin.untitled');
  await attempt('tracks', ['admin.error.delete_track', { title }], () => opApi(path, { method: 'DELETE' }));
  await Promise.all([loadTracks(), loadAudit()]);
}

// --- the session ------------------------------------------------------------------------------

async function open() {
  const first = await attempt('login', ['admin.error.open', {}], () => opApi('/api/admin/stats'));
  if (!first.ok) return; // a refused token has signed out already, saying why
  showFigures(first.result);
  $login.hidden = true;
  say('login', '');
  $console.hidden = false;
  $('#sign-out').hidden = false;
  await Promise.all([loadRooms(), loadReports(), loadBans(), loadTracks(), loadPlays(), loadAudit()]);
  timers.push(setInterval(() => { loadFigures(); loadRooms(); }, LIVE_EVERY_MS));
  timers.push(setInterval(() => { loadReports(); loadBans(); loadAudit(); }, LISTS_EVERY_MS));
}

$('#login-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const input = $('#admin-token');
  const token = input.value.trim();
  if (!token) {
    say('login', t('admin.login.enter_token'));
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
$('#playlog-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  loadPlays();
});
$('#playlog-csv').addEventListener('click', (ev) => download('csv', ev.currentTarget));
$('#playlog-json').addEventListener('click', (ev) => download('json', ev.currentTarget));

defaultPeriod();
if (adminToken.get()) open();
else $('#admin-token').focus();
