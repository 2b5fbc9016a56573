// Beyond the page: "Listen in your player" (the HTTP streams any player takes),
// "Share" (the link, and embed code for /embed/{id}), the REC badge from
// `welcome.recording` / `recording`, and the host's and moderators' Record switch.
import { t } from './i18n.js';
import { describeError } from './signal.js';
import { $, h } from './util.js';

/** The stream addresses of a room, absolute (a player has no page to resolve them against). */
export function streamUrls(roomId, origin = location.origin) {
  const base = `${origin}/r/${encodeURIComponent(roomId)}`;
  return [
    { key: 'ogg', name: 'Ogg/Opus', url: `${base}/listen.ogg` },
    { key: 'mp3', name: 'MP3', url: `${base}/listen.mp3` },
    { key: 'hls', name: 'HLS', url: `${base}/hls/live.m3u8` },
  ];
}

export function embedCode(roomId, origin = location.origin) {
  const src = `${origin}/embed/${encodeURIComponent(roomId)}`;
  return `<iframe src="${src}" title="OnAir live radio" width="360" height="180" style="border:0" allow="autoplay"></iframe>`;
}

async function copy(text, field) {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    if (field) { field.focus(); field.select(); }
    return false;
  }
}

export class ShareView {
  /** request(msg): Promise; notice(text). */
  constructor(roomId, { request, notice }) {
    this.roomId = roomId;
    this.request = request;
    this.notice = notice;
    this.recording = false;
    const status = $('#share-status');
    // what: 'link', 'embed' or 'address' (with the format's name)
    const copied = (ok, what, format = '') => {
      status.textContent = t(`room.share.${ok ? 'copied' : 'select'}_${what}`, { format });
    };
    $('#listen-links').replaceChildren(...streamUrls(roomId).map((s) => {
      const id = `listen-url-${s.key}`;
      const field = h('input', { attrs: { id, type: 'text', readonly: '', spellcheck: 'false', value: s.url } });
      return h('li', { className: 'stack', dataset: { format: s.key } },
        h('label', { attrs: { for: id } }, h('strong', { text: s.name, attrs: { translate: 'no' } }), ' ',
          h('span', { className: 'muted small', text: t(`room.listen.hint.${s.key}`) })),
        h('div', { className: 'row' }, field, h('button', {
          className: 'small', text: t('room.share.copy'),
          attrs: { type: 'button', 'aria-label': t('room.share.copy_address', { format: s.name }) },
          on: { click: async () => copied(await copy(s.url, field), 'address', s.name) },
        })));
    }));
    const link = $('#share-link');
    const embed = $('#share-embed');
    link.value = `${location.origin}/r/${encodeURIComponent(roomId)}`;
    embed.value = embedCode(roomId);
    $('#share-copy-link').addEventListener('click', async () => copied(await copy(link.value, link), 'link'));
    $('#share-copy-embed').addEventListener('click', async () => copied(await copy(embed.value, embed), 'embed'));
    $('#record-button').addEventListener('click', () => this.toggle());
  }

  /** `welcome.recording` or `recording`: {on, recording_id?}. */
  setRecording(state) {
    this.recording = !!(state && state.on);
    $('#rec-badge').hidden = !this.recording;
    const button = $('#record-button');
    button.setAttribute('aria-pressed', String(this.recording));
  }

  async toggle() {
    const button = $('#record-button');
    button.disabled = true;
    try {
      await this.request({ type: 'record', on: !this.recording });
    } catch (err) {
      this.notice(t(this.recording ? 'room.record.stop_failed' : 'room.record.start_failed', { error: describeError(err) }));
    } finally {
      button.disabled = false;
    }
  }
}
