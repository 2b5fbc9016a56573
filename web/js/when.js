// Times for people, in the visitor's own zone and the page's language (Intl through i18n.js),
// and countdowns. Countdown and wait words come from the catalog domain "when": a page that
// uses countdown() or spell() loads it (initI18n(..., 'when')).
import { formatDate, t } from './i18n.js';

const valid = (iso) => {
  const d = iso ? new Date(iso) : null;
  return d && Number.isFinite(d.getTime()) ? d : null;
};

/** "21:05" / "9:05 PM": a time of today, in the visitor's zone. */
export function clockTime(iso) {
  const d = valid(iso);
  return d ? formatDate(d, { timeStyle: 'short' }) : '';
}

/** Intl options of a show's start: "Friday, December 11 at 9:00 PM EST" (with the zone's name). */
export const SHOW_TIME = {
  weekday: 'long', day: 'numeric', month: 'long', hour: 'numeric', minute: '2-digit', timeZoneName: 'short',
};

/** A show's start as text, in the visitor's zone and the page's language. */
export function showTime(iso) {
  const d = valid(iso);
  return d ? formatDate(d, SHOW_TIME) : '';
}

/** "2 days 3 h", "1 h 5 min", "4:59", "0:00": the time left until `ms` from now. */
export function countdown(ms) {
  const s = Math.max(0, Math.floor(ms / 1000));
  const days = Math.floor(s / 86400);
  const hours = Math.floor((s % 86400) / 3600);
  const mins = Math.floor((s % 3600) / 60);
  if (days) return hours ? t('when.days_hours', { count: days, hours }) : t('when.days', { count: days });
  if (hours) return t('when.hours_minutes', { hours, minutes: mins });
  return `${mins}:${String(s % 60).padStart(2, '0')}`;
}

/** "5 minutes", "1 minute", "45 seconds": a wait, for people. */
export function spell(seconds) {
  const s = Math.max(0, Math.round(Number(seconds) || 0));
  if (s < 90) return t('when.seconds', { count: s });
  return t('when.minutes', { count: Math.round(s / 60) });
}

/** The browser's UTC offset at local time `date` as "+05:30" / "-04:00". */
export function offsetOf(date) {
  const minutes = -date.getTimezoneOffset();
  const sign = minutes < 0 ? '-' : '+';
  const abs = Math.abs(minutes);
  return `${sign}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
}

/** A datetime-local value ("2026-12-11T21:00") as ISO-8601 with the browser's offset then; null if bad. */
export function withOffset(local) {
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?$/.test(local || '')) return null;
  const date = new Date(local); // a date-time without offset is read as local time
  if (!Number.isFinite(date.getTime())) return null;
  return `${local.length === 16 ? `${local}:00` : local}${offsetOf(date)}`;
}
