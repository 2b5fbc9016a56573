// The console's side of the operator API: the admin token (this tab only), refusals in words.
import { api } from './api.js';

const TOKEN_KEY = 'onair:admin-token';

/** The admin token, kept in sessionStorage: asked once per tab, gone when the tab closes. */
export const adminToken = {
  get() {
    try { return sessionStorage.getItem(TOKEN_KEY); } catch { return null; }
  },
  set(value) {
    try { sessionStorage.setItem(TOKEN_KEY, value); } catch { /* storage off: this page only */ }
  },
  clear() {
    try { sessionStorage.removeItem(TOKEN_KEY); } catch { /* ignore */ }
  },
};

// Every error code of the protocol (and the page's own "network"), said in words.
const WORDS = {
  unauthorized: 'wrong admin token',
  forbidden: 'this server has no admin token set, so the console is off',
  not_found: 'not found: it may be gone already',
  bad_request: 'the server found the request malformed',
  conflict: 'it clashes with what the server is doing now',
  too_large: 'too large',
  unsupported: 'not supported',
  rate_limited: 'too many requests: wait a moment',
  room_full: 'the room is full',
  banned: 'banned',
  draining: 'the server is shutting down',
  internal: 'the server failed',
  network: 'cannot reach the server',
};

/** "wrong admin token (unauthorized)": a refusal in words, with its code. */
export function refusal(err) {
  const code = (err && err.code) || 'internal';
  return `${WORDS[code] || (err && err.message) || 'refused'} (${code})`;
}

/** The session ends on these: the token is wrong, or the server takes none. */
export const SIGN_OUT_CODES = new Set(['unauthorized', 'forbidden']);

/** An operator API call with the kept token; throws ApiError like api(). */
export function opApi(path, options = {}) {
  return api(path, { ...options, token: adminToken.get() });
}
