// The host link: /r/{room_id}#host=<host_token>. A URL fragment never reaches a
// server or its logs; opening the link on another device makes that browser the
// host (the older session is replaced, close 4009). Its words are in the catalog domain "when"
// (a page showing a host link loads it: initI18n(..., 'when')).
import { t } from './i18n.js';

/** Take a host token from the URL fragment into storage, and clear the fragment from the address bar. */
export function adoptHostLink(store, key) {
  const match = /^#host=([A-Za-z0-9_-]{16,200})$/.exec(location.hash);
  if (!match) return false;
  store.set(key, match[1]);
  history.replaceState(null, '', location.pathname + location.search);
  return true;
}

/** The host link of this room for `token`. */
export function hostLink(roomId, token) {
  return `${location.origin}/r/${encodeURIComponent(roomId)}#host=${token}`;
}

/** Show the host link box (or hide it) and make its copy button work. */
export function renderHostLink(box, roomId, token) {
  box.hidden = !token;
  if (!token) return;
  const field = box.querySelector('input');
  field.value = hostLink(roomId, token);
  const button = box.querySelector('button');
  const status = box.querySelector('[role=status]');
  button.onclick = () => copyLink(field, status);
}

/** Copy the link in `field` to the clipboard (or select it for Ctrl+C) and say so in `status`. */
export async function copyLink(field, status) {
  try {
    await navigator.clipboard.writeText(field.value);
    status.textContent = t('when.link_copied');
  } catch {
    field.select();
    status.textContent = t('when.link_copy_by_hand');
  }
}
