// Uploading a track to the library: XMLHttpRequest (fetch cannot report upload
// progress), a progress bar fed by `upload.onprogress`, then the server's
// verdict: "Added <title>" with an offer to queue it, or why not (its reason, in the page's language).
import { errorText, formatNumber, t } from './i18n.js';
import { $, show } from './util.js';

/** POST /api/tracks (for the room `roomId`: with workers, its own worker takes it).
 * Resolves with the track; rejects with {status, code, message, reason?, params?}. */
export function uploadTrack(file, token, { roomId, onProgress, onSent } = {}) {
  const xhr = new XMLHttpRequest();
  const done = new Promise((resolve, reject) => {
    xhr.open('POST', roomId ? `/api/tracks?room_id=${encodeURIComponent(roomId)}` : '/api/tracks');
    xhr.setRequestHeader('Accept', 'application/json');
    if (token) xhr.setRequestHeader('Authorization', `Bearer ${token}`);
    xhr.responseType = 'json';
    xhr.upload.onprogress = (ev) => { if (ev.lengthComputable && onProgress) onProgress(ev.loaded, ev.total); };
    xhr.upload.onload = () => { if (onSent) onSent(); };
    xhr.onload = () => {
      const body = xhr.response;
      if (xhr.status === 201 && body && body.track_id) { resolve(body); return; }
      const err = body && body.error;
      reject({
        status: xhr.status,
        code: (err && err.code) || `http_${xhr.status}`,
        message: (err && err.message) || `the server answered ${xhr.status}`,
        reason: err && err.reason,
        params: (err && err.params) || {},
      });
    };
    xhr.onerror = () => reject({ status: 0, code: 'network', message: 'cannot reach the server' });
    xhr.onabort = () => reject({ status: 0, code: 'aborted', message: 'cancelled' });
    const form = new FormData();
    form.append('file', file, file.name);
    xhr.send(form);
  });
  return { done, abort: () => xhr.abort() };
}

const MB = 1024 * 1024;

/** Why an upload was refused, in the page's language (the size limit in MB, as the page writes numbers). */
function uploadError(err) {
  const params = { ...(err.params || {}) };
  if (Number.isFinite(Number(params.limit_bytes))) {
    params.limit = formatNumber(Number(params.limit_bytes) / MB, { maximumSignificantDigits: 3 });
  }
  return errorText({ ...err, params });
}

export class UploadView {
  /** hooks: {token(), roomId, uploaded(track), queue(track): Promise} */
  constructor(hooks) {
    this.hooks = hooks;
    this.current = null;
    this.track = null;
    this.input = $('#upload-file');
    this.input.addEventListener('change', () => {
      const file = this.input.files && this.input.files[0];
      if (file) this.start(file);
    });
    $('#upload-cancel').addEventListener('click', () => { if (this.current) this.current.abort(); });
    $('#upload-queue').addEventListener('click', () => this.queueIt());
  }

  setProgress(fraction) {
    const pct = Math.max(0, Math.min(100, Math.round(fraction * 100)));
    const bar = $('#upload-progress');
    bar.setAttribute('aria-valuenow', String(pct));
    const shown = formatNumber(pct / 100, { style: 'percent' });
    bar.setAttribute('aria-valuetext', t('desk.upload.sent', { percent: shown }));
    $('#upload-bar').style.width = `${pct}%`;
    $('#upload-percent').textContent = shown;
  }

  status(text, error = false) {
    const el = $('#upload-status');
    el.textContent = text;
    el.classList.toggle('error', error);
    show(el, !!text);
  }

  async start(file) {
    if (this.current) this.current.abort();
    this.track = null;
    show($('#upload-queue'), false);
    show($('#upload-meter'), true);
    show($('#upload-cancel'), true);
    this.setProgress(0);
    this.status(t('desk.upload.uploading', { name: file.name }));
    const job = uploadTrack(file, this.hooks.token(), {
      roomId: this.hooks.roomId,
      onProgress: (loaded, total) => this.setProgress(total ? loaded / total : 0),
      onSent: () => this.status(t('desk.upload.checking', { name: file.name })),
    });
    this.current = job;
    try {
      const track = await job.done;
      if (this.current !== job) return;
      this.track = track;
      this.status(t('desk.upload.added', { title: track.title || file.name }));
      const offer = $('#upload-queue');
      const label = track.title ? t('desk.library.add_label', { title: track.title }) // shown as it is named
        : t('desk.upload.add_it');
      offer.setAttribute('aria-label', label);
      offer.textContent = label;
      offer.disabled = false;
      show(offer, true);
      this.hooks.uploaded(track);
    } catch (err) {
      if (this.current !== job) return;
      show($('#upload-meter'), false);
      this.status(err.code === 'aborted' ? t('desk.upload.cancelled') : t('desk.upload.failed', { why: uploadError(err) }),
        err.code !== 'aborted');
    } finally {
      if (this.current === job) {
        this.current = null;
        show($('#upload-cancel'), false);
        this.input.value = ''; // the same file can be picked again
      }
    }
  }

  async queueIt() {
    const offer = $('#upload-queue');
    if (!this.track) return;
    offer.disabled = true;
    try {
      await this.hooks.queue(this.track);
      offer.textContent = t('desk.library.queued');
      offer.setAttribute('aria-label', this.track.title ? t('desk.library.queued_label', { title: this.track.title })
        : t('desk.upload.queued_it'));
    } catch {
      offer.disabled = false;
    }
  }
}
