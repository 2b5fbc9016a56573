// Times for people, in the visitor's own zone and language (Intl), and countdowns.

const valid = (iso) => {
  const d = iso ? new Date(iso) : null;
  return d && Number.isFinite(d.getTime()) ? d : null;
};

/** "21:05" / "9:05 PM": a time of today, in the visitor's zone. */
export function clockTime(iso) {
  const d = valid(iso);
  return d ? new Intl.DateTimeFormat(undefined, { timeStyle: 'short' }).format(d) : '';
}

/** "Friday, 11 December, 21:00 CET": a show's start, in the visitor's zone, with the zone's name. */
export function showTime(iso) {
  const d = valid(iso);
  if (!d) return '';
  return new Intl.DateTimeFormat(undefined, {
    weekday: 'long', day: 'numeric', month: 'long', hour: 'numeric', minute: '2-digit', timeZoneName: 'short',
  }).format(d);
}

/** "2 days 3 h", "1 h 5 min", "4:59", "0:00": the time left until `ms` from now. */
export function countdown(ms) {
  const s = Math.max(0, Math.floor(ms / 1000));
  const days = Math.floor(s / 86400);
  const hours = Math.floor((s % 86400) / 3600);
  const mins = Math.floor((s % 3600) / 60);
  if (days) return `${days} day${days === 1 ? '' : 's'}${hours ? ` ${hours} h` : ''}`;
  if (hours) return `${hours} h ${mins} min`;
  return `${mins}:${String(s % 60).padStart(2, '0')}`;
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
