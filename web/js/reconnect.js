// When the socket closes: end for good, rejoin, or retry with backoff; and the
// "Reconnecting…" banner with its countdown and a "Retry now" button.
import { t } from './i18n.js';
import { $, show } from './util.js';

const FINAL_CODES = { 4003: 'kicked', 4004: 'ended', 4009: 'replaced' };

/**
 * What to do after the socket closed with `code`.
 * ctx: {final (already known: kicked/ended), welcomed (this socket got `welcome`),
 *       inRoom (we were in the show before), tokenKind ('host'|'resume'|null)}
 * Returns {action: 'final'|'drop-resume'|'drop-host'|'retry'|'join-failed', kind?}.
 */
export function closeOutcome(code, ctx) {
  const final = ctx.final || FINAL_CODES[code];
  if (final) return { action: 'final', kind: final };
  if (!ctx.welcomed && code >= 4400 && code < 4600) {
    if (code === 4401 && ctx.tokenKind === 'resume') return { action: 'drop-resume' };
    if (code === 4404 && ctx.inRoom) return { action: 'final', kind: 'ended' };
    if (code === 4403 && ctx.inRoom) return { action: 'final', kind: 'banned' };
    if (ctx.inRoom && (code === 4429 || code === 4503)) return { action: 'retry' };
    return { action: code === 4401 && ctx.tokenKind === 'host' ? 'drop-host' : 'join-failed' };
  }
  return { action: ctx.inRoom ? 'retry' : 'join-failed' };
}

/** Exponential backoff with jitter: 0.5 s, 1 s, 2 s … up to 10 s. */
export class Backoff {
  constructor(baseMs = 500, maxMs = 10000) {
    this.baseMs = baseMs;
    this.maxMs = maxMs;
    this.attempt = 0;
  }

  next() {
    const delay = Math.min(this.maxMs, this.baseMs * 2 ** this.attempt) * (0.8 + Math.random() * 0.4);
    this.attempt += 1;
    return delay;
  }

  reset() {
    this.attempt = 0;
  }
}

/** Retries `connect` with backoff and shows the countdown. */
export class Reconnector {
  constructor(connect) {
    this.connect = connect;
    this.backoff = new Backoff();
    this.timer = 0;
    this.countdown = 0;
    $('#reconnect-now').addEventListener('click', () => this.now());
  }

  schedule() {
    this.cancel();
    const delay = this.backoff.next();
    const due = Date.now() + delay;
    const banner = $('#reconnect-banner');
    const render = () => {
      const s = Math.max(0, Math.ceil((due - Date.now()) / 1000));
      $('#reconnect-text').textContent = s > 0
        ? t('room.reconnect.in', { count: s })
        : t('room.reconnect.lost');
    };
    render();
    show(banner, true);
    this.countdown = setInterval(render, 500);
    this.timer = setTimeout(() => { this.stopCountdown(); this.connect(); }, delay);
  }

  /** "Retry now", or the browser came back online. */
  now() {
    this.cancel();
    $('#reconnect-text').textContent = t('room.reconnect.now');
    this.connect();
  }

  stopCountdown() {
    clearInterval(this.countdown);
    this.countdown = 0;
    $('#reconnect-text').textContent = t('room.reconnect.now');
  }

  cancel() {
    clearTimeout(this.timer);
    this.timer = 0;
    this.stopCountdown();
  }

  /** Joined again (or gave up): hide the banner. */
  done() {
    this.cancel();
    this.backoff.reset();
    show($('#reconnect-banner'), false);
  }

  get waiting() {
    return !!this.timer;
  }
}
