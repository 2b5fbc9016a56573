// HTTP helpers for the OnAir API. Errors come back as {"error": {"code", "message", "reason"?, "params"?}}:
// a page shows one with i18n.js errorText(err), in its own language (`message` is the server's English).

export { spell } from './when.js';

export class ApiError extends Error {
  constructor(status, code, message, reason = null, params = {}) {
    super(message);
    this.status = status;
    this.code = code;
    this.reason = reason;
    this.params = params;
  }
}

export async function api(path, { method = 'GET', body, token } = {}) {
  const headers = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (token) headers.Authorization = `Bearer ${token}`;
  let res;
  try {
    res = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      cache: 'no-store',
    });
  } catch {
    throw new ApiError(0, 'network', 'Cannot reach the server. Check your connection.');
  }
  if (res.status === 204) return null;
  let data = null;
  try { data = await res.json(); } catch { /* not JSON */ }
  if (!res.ok) {
    const err = data && data.error;
    throw new ApiError(
      res.status,
      (err && err.code) || `http_${res.status}`,
      (err && err.message) || `Request failed (${res.status})`,
      (err && typeof err.reason === 'string' && err.reason) || null,
      (err && err.params && typeof err.params === 'object' && err.params) || {},
    );
  }
  return data;
}

/** The server's limits per field (characters), also in GET /api/config `limits`: one limit per field. */
export const DEFAULT_LIMITS = {
  title: 100, host_name: 40, name: 40, description: 1000, rules: 10, rule: 200, chat: 500,
  track_title: 200, track_artist: 200, report: 500, kick_reason: 200,
};
const DEFAULT_CONFIG = {
  ice_servers: [], ice_transport_policy: 'all', max_chat_length: 500, limits: DEFAULT_LIMITS, host_grace_s: 300,
};

function limitsOf(c) {
  const out = { ...DEFAULT_LIMITS };
  for (const [k, v] of Object.entries((c && c.limits) || {})) {
    if (Number.isInteger(v) && v > 0) out[k] = v;
  }
  return out;
}

/**
 * GET /api/config; never adds a public STUN server of its own. Its TURN
 * credentials are minted per request and expire (rtc.js turnExpiresSoon).
 */
export async function loadConfig() {
  try {
    const c = await api('/api/config');
    return {
      ice_servers: Array.isArray(c && c.ice_servers) ? c.ice_servers : [],
      ice_transport_policy: c && c.ice_transport_policy === 'relay' ? 'relay' : 'all',
      max_chat_length: Number(c && c.max_chat_length) || DEFAULT_CONFIG.max_chat_length,
      limits: limitsOf(c),
      host_grace_s: Number.isFinite(Number(c && c.host_grace_s)) ? Number(c.host_grace_s) : 300,
    };
  } catch {
    return { ...DEFAULT_CONFIG };
  }
}

export const roomPath = (roomId) => `/r/${encodeURIComponent(roomId)}`;

/** Give each input named in `fields` ({selector: limit key}) the server's maxlength. */
export function applyLimits(limits, fields) {
  for (const [selector, key] of Object.entries(fields)) {
    const el = document.querySelector(selector);
    if (el && limits[key]) el.maxLength = limits[key];
  }
}
