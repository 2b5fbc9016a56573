// HTTP helpers for the OnAir API. Errors come back as {"error": {"code", "message"}}.

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
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
    );
  }
  return data;
}

const DEFAULT_CONFIG = { ice_servers: [], ice_transport_policy: 'all', max_chat_length: 500 };

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
    };
  } catch {
    return { ...DEFAULT_CONFIG };
  }
}

export const roomPath = (roomId) => `/r/${encodeURIComponent(roomId)}`;
