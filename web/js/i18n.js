// Every word a page shows comes from a message catalog: web/i18n/{lang}/{domain}.json, one
// flat object of "domain.key": "text with {params}" per domain. The language is the visitor's
// choice (remembered), else the browser's first language we speak, else English.
// Visible user content (names, titles, chat) carries translate="no"; times and dates from
// Intl sit in <time> elements: the catalog test walks every other visible string.

import { store } from './util.js';

export const LANGUAGES = { en: 'English', es: 'Español' };
const STORE_KEY = 'onair.lang';
let current = 'en';
let locale = 'en'; // for Intl: the browser's own tag when it speaks the page's language (es-MX, en-GB)
let messages = {};

/** The language to speak: the remembered choice, else the browser's, else English. */
export function pickLanguage() {
  const chosen = store.get(STORE_KEY);
  if (chosen && chosen in LANGUAGES) return chosen;
  for (const tag of navigator.languages || [navigator.language]) {
    const base = String(tag || '').toLowerCase().split('-')[0];
    if (base in LANGUAGES) return base;
  }
  return 'en';
}

export const language = () => current;

/** Load the catalogs of `domains` ('common' always) and translate the static page. */
export async function initI18n(...domains) {
  current = pickLanguage();
  locale = (navigator.languages || [navigator.language])
    .find((tag) => String(tag || '').toLowerCase().split('-')[0] === current) || current;
  const names = ['common', ...domains.filter((d) => d !== 'common')];
  const catalogs = await Promise.all(names.map(async (name) => {
    try {
      const res = await fetch(`/static/i18n/${current}/${name}.json`);
      return res.ok ? await res.json() : {};
    } catch {
      return {};
    }
  }));
  messages = Object.assign({}, ...catalogs);
  document.documentElement.lang = current;
  translatePage(document);
  for (const slot of document.querySelectorAll('[data-language-switch]')) mountLanguageSwitch(slot);
}

/**
 * The message `key` in the page's language with `{name}` filled from `params`. A message may be
 * an object of plural forms ({"one": "...", "other": "..."}) chosen by `params.count`.
 * A missing key shows itself (and the catalog test fails on it).
 */
export function t(key, params = {}) {
  let text = messages[key];
  if (text && typeof text === 'object') {
    const form = new Intl.PluralRules(locale).select(Number(params.count) || 0);
    text = text[form] ?? text.other;
  }
  if (typeof text !== 'string') {
    console.warn(`i18n: no message ${key} in ${current}`);
    return key;
  }
  return text.replace(/\{(\w+)\}/g, (whole, name) => (name in params ? fmtParam(params[name]) : whole));
}

const fmtParam = (value) => (typeof value === 'number' ? formatNumber(value) : String(value));

/** True when the catalogs have `key` (for optional, more precise messages). */
export const has = (key) => key in messages;

/**
 * Fill the static page: data-i18n="key" sets the text; data-i18n-attr="placeholder:key,
 * aria-label:key" sets attributes.
 */
export function translatePage(root = document) {
  for (const el of root.querySelectorAll('[data-i18n]')) el.textContent = t(el.dataset.i18n);
  for (const el of root.querySelectorAll('[data-i18n-attr]')) {
    for (const pair of el.dataset.i18nAttr.split(',')) {
      const [attr, key] = pair.split(':').map((s) => s.trim());
      if (attr && key) el.setAttribute(attr, t(key));
    }
  }
  if (root === document && document.body?.dataset.i18nTitle) document.title = t(document.body.dataset.i18nTitle);
}

/** The language switch: a labelled <select>; the choice is remembered and the page reloads in it. */
export function mountLanguageSwitch(slot) {
  slot.replaceChildren();
  const select = document.createElement('select');
  select.className = 'language-switch';
  select.setAttribute('aria-label', t('common.language'));
  for (const [code, name] of Object.entries(LANGUAGES)) {
    const option = new Option(name, code, false, code === current);
    option.lang = code;
    option.translate = false;
    select.append(option);
  }
  select.addEventListener('change', () => {
    store.set(STORE_KEY, select.value);
    window.location.reload();
  });
  slot.append(select);
}

/** A refusal in the page's language: its reason if the catalog has it, else its code's message. */
export function errorText(error) {
  const reason = error && error.reason;
  if (reason && has(`error.reason.${reason}`)) return t(`error.reason.${reason}`, error.params || {});
  const code = (error && error.code) || 'internal';
  return has(`error.${code}`) ? t(`error.${code}`) : t('error.internal');
}

/** Numbers, in the page's language. */
export function formatNumber(value, options = {}) {
  return new Intl.NumberFormat(locale, options).format(value);
}

/** A date/time in the page's language and the visitor's zone (Intl.DateTimeFormat options). */
export function formatDate(date, options) {
  const d = date instanceof Date ? date : new Date(date);
  return Number.isFinite(d.getTime()) ? new Intl.DateTimeFormat(locale, options).format(d) : '';
}

/** A <time> element showing `date` as `options` say (the catalog test knows Intl made it). */
export function timeElement(date, options) {
  const d = date instanceof Date ? date : new Date(date);
  const el = document.createElement('time');
  if (Number.isFinite(d.getTime())) el.dateTime = d.toISOString();
  el.textContent = formatDate(d, options);
  return el;
}
