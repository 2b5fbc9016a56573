// Small DOM and storage helpers. User content only ever goes in through textContent.

export const $ = (selector, root = document) => root.querySelector(selector);

/** Create an element. props: {className, text, attrs, dataset, on}; children: nodes or strings. */
export function h(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  if (props.className) node.className = props.className;
  if (props.text !== undefined) node.textContent = String(props.text);
  for (const [k, v] of Object.entries(props.attrs || {})) node.setAttribute(k, v);
  for (const [k, v] of Object.entries(props.dataset || {})) node.dataset[k] = v;
  for (const [k, v] of Object.entries(props.on || {})) node.addEventListener(k, v);
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

export function show(node, visible) {
  node.hidden = !visible;
}

/** A v4 UUID; crypto.randomUUID needs a secure context, getRandomValues does not. */
export function uuid() {
  if (typeof crypto.randomUUID === 'function') return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const x = Array.from(b, (v) => v.toString(16).padStart(2, '0')).join('');
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20)}`;
}

/** m:ss (or h:mm:ss) from milliseconds. */
export function fmtTime(ms) {
  const total = Math.max(0, Math.floor((Number(ms) || 0) / 1000));
  const s = total % 60;
  const m = Math.floor(total / 60) % 60;
  const hours = Math.floor(total / 3600);
  const ss = String(s).padStart(2, '0');
  return hours ? `${hours}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
}

/** localStorage that never throws (private modes, disabled storage). */
export const store = {
  get(key) {
    try { return localStorage.getItem(key); } catch { return null; }
  },
  set(key, value) {
    try { localStorage.setItem(key, value); } catch { /* ignore */ }
  },
  remove(key) {
    try { localStorage.removeItem(key); } catch { /* ignore */ }
  },
};

/** sessionStorage (this tab only: it survives a reload, not a new tab), never throwing. */
export const tabStore = {
  get(key) {
    try { return sessionStorage.getItem(key); } catch { return null; }
  },
  set(key, value) {
    try { sessionStorage.setItem(key, value); } catch { /* ignore */ }
  },
  remove(key) {
    try { sessionStorage.removeItem(key); } catch { /* ignore */ }
  },
};

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Re-render `container` with `fn` without losing keyboard focus: the element
 * that had focus is found again by its data-key.
 */
export function keepFocus(container, fn) {
  const active = document.activeElement;
  const key = active && container.contains(active) ? active.dataset.key : undefined;
  fn();
  if (key === undefined) return;
  const again = [...container.querySelectorAll('[data-key]')].find((el) => el.dataset.key === key);
  const fallback = again || container.querySelector('[data-key]')
    || container.closest('section')?.querySelector('h2[tabindex="-1"]');
  if (fallback) fallback.focus();
}
