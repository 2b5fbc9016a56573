// Beyond the page: "Listen in your player" (the HTTP streams any player takes),
// "Share" (the link, and embed code for /embed/{id}), the REC badge from
// `welcome.recording` / `recording`, and the host's and moderators' Record switch.
import { describeError } from './signal.js';
import { $, h } from './util.js';

/** The stream addresses of a room, absolute (a player has no page to resolve them against). */
export function streamUrls(roomId, origin = location.origin) {
  const base = `${origin}/r/${encodeURIComponent(roomId)}`;
  return [
    { key: 'ogg', name: 'Ogg/Opus', hint: 'VLC, mpv, Firefox, Chrome', url: `${base}/listen.ogg` },
    { key: 'mp3', name: 'MP3', hint: 'any player, radio apps', url: `${base}/listen.mp3` },
    { key: 'hls', name: 'HLS', hint: 'Safari, iPhone, smart speakers', url: `${base}/hls/live.m3u8` },
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
    const copied = (ok, what) => {
      status.textContent = ok ? `Copied the ${what}.` : `Select the ${what} and copy it (Ctrl+C).`;
    };
    $('#listen-links').replaceChildren(...streamUrls(roomId).map((s) => {
      const id = `listen-url-${s.key}`;
      const field = h('input', { attrs: { id, type: 'text', readonly: '', spellcheck: 'false', value: s.url } });
      return h('li', { className: 'stack', dataset: { format: s.key } },
        h('label', { attrs: { for: id } }, h('strong', { text: s.name }), h('span', { className: 'muted small', text: ` (${s.hint})` })),
        h('div', { className: 'row' }, field, h('button', {
          className: 'small', text: 'Copy', attrs: { type: 'button', 'aria-label': `Copy the ${s.name} address` },
          on: { click: async () => copied(await copy(s.url, field), `${s.name} address`) },
        })));
    }));
    const link = $('#share-link');
    const embed = $('#share-embed');
    link.value = `${location.origin}/r/${encodeURIComponent(roomId)}`;
    embed.value = embedCode(roomId);
    $('#share-copy-link').addEventListener('click', async () => copied(await copy(link.value, link), 'link'));
    $('#share-copy-embed').addEventListener('click', async () => copied(await copy(embed.value, embed), 'embed code'));
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
      this.notice(`Could not ${this.recording ? 'stop' : 'start'} recording: ${describeError(err)}`);
    } finally {
      button.disabled = false;
    }
  }
}
