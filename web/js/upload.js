// Uploading a track to the library: XMLHttpRequest (fetch cannot report upload
// progress), a progress bar fed by `upload.onprogress`, then the server's
// verdict: "Added <title>" with an offer to queue it, or the server's message.
import { $, show } from './util.js';

/** POST /api/tracks. Resolves with the track; rejects with {status, code, message}. */
export function uploadTrack(file, token, { onProgress, onSent } = {}) {
  const xhr = new XMLHttpRequest();
  const done = new Promise((resolve, reject) => {
    xhr.open('POST', '/api/tracks');
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

const capital = (s) => s.charAt(0).toUpperCase() + s.slice(1);

export class UploadView {
  /** hooks: {token(), uploaded(track), queue(track): Promise} */
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
    bar.setAttribute('aria-valuetext', `${pct}% sent`);
    $('#upload-bar').style.width = `${pct}%`;
    $('#upload-percent').textContent = `${pct}%`;
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
    this.status(`Uploading ${file.name}…`);
    const job = uploadTrack(file, this.hooks.token(), {
      onProgress: (loaded, total) => this.setProgress(total ? loaded / total : 0),
      onSent: () => this.status(`Checking ${file.name}…`),
    });
    this.current = job;
    try {
      const track = await job.done;
      if (this.current !== job) return;
      this.track = track;
      this.status(`Added ${track.title || file.name}`);
      const offer = $('#upload-queue');
      const label = `Add ${track.title || 'it'} to the queue`; // shown as it is named (voice control)
      offer.setAttribute('aria-label', label);
      offer.textContent = label;
      offer.disabled = false;
      show(offer, true);
      this.hooks.uploaded(track);
    } catch (err) {
      if (this.current !== job) return;
      show($('#upload-meter'), false);
      this.status(err.code === 'aborted' ? 'Upload cancelled.' : `Upload failed: ${capital(err.message)}`,
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
      offer.textContent = 'Queued ✓';
      offer.setAttribute('aria-label', `Queued ${this.track.title || 'it'}`);
    } catch {
      offer.disabled = false;
    }
  }
}
