// The console's side of the operator API: the admin token (this tab only), refusals in words.
import { ApiError, api } from './api.js';
import { has, t } from './i18n.js';

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

/**
 * "wrong admin token (unauthorized)": a refusal in words (the page's language), with its code.
 * A refusal with a reason the catalog knows (error.reason.<reason>, said as a clause) says that.
 */
export function refusal(err) {
  const code = (err && err.code) || 'internal';
  const reason = err && err.reason;
  let words;
  if (reason && has(`error.reason.${reason}`)) words = t(`error.reason.${reason}`, err.params || {});
  else words = has(`admin.why.${code}`) ? t(`admin.why.${code}`) : t('admin.why.unknown');
  return `${words} (${code})`;
}

/** The session ends on these: the token is wrong, or the server takes none. */
export const SIGN_OUT_CODES = new Set(['unauthorized', 'forbidden']);

/** An operator API call with the kept token; throws ApiError like api(). */
export function opApi(path, options = {}) {
  return api(path, { ...options, token: adminToken.get() });
}

/**
 * A GET with the kept token for what is not always JSON (the play log's CSV): the Response.
 * A refusal throws an ApiError carrying the server's code, reason and params.
 */
export async function opFetch(path) {
  let res;
  try {
    res = await fetch(path, { headers: { Authorization: `Bearer ${adminToken.get()}` }, cache: 'no-store' });
  } catch {
    throw new ApiError(0, 'network', 'Cannot reach the server.');
  }
  if (res.ok) return res;
  let body = null;
  try { body = await res.json(); } catch { /* not JSON */ }
  const e = (body && body.error) || {};
  const err = new ApiError(res.status, e.code || `http_${res.status}`, e.message || `HTTP ${res.status}`);
  if (e.reason) err.reason = e.reason;
  if (e.params) err.params = e.params;
  throw err;
}
