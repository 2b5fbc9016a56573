// Now playing: title, artist and a progress bar on the server clock.
import { $, fmtTime } from './util.js';

export class NowPlayingView {
  constructor(clock) {
    this.clock = clock;
    this.np = null;
    this.timer = setInterval(() => this.tick(), 250);
  }

  set(np) {
    this.np = np && np.track ? np : null;
    const track = this.np && this.np.track;
    $('#np-title').textContent = track ? track.title || 'Untitled' : 'Nothing playing';
    $('#np-artist').textContent = track && track.artist ? `by ${track.artist}` : '';
    $('#np-duration').textContent = track ? fmtTime(track.duration_ms) : '0:00';
    this.tick();
  }

  /** Position now, in ms, on the server clock. */
  position() {
    const np = this.np;
    if (!np) return 0;
    let pos = Number(np.position_ms) || 0;
    if (!np.paused) pos += this.clock.now() - Number(np.server_ms);
    const dur = Number(np.track.duration_ms) || 0;
    return Math.max(0, dur ? Math.min(pos, dur) : pos);
  }

  tick() {
    const np = this.np;
    const pos = this.position();
    const dur = np ? Number(np.track.duration_ms) || 0 : 0;
    $('#np-elapsed').textContent = fmtTime(pos);
    $('#np-bar').style.width = dur ? `${((pos / dur) * 100).toFixed(2)}%` : '0';
    $('#np-state').textContent = np && np.paused ? 'Paused' : '';
  }

  setQueue(queue) {
    const next = (queue || []).slice(0, 3).map((e) => e.track && e.track.title).filter(Boolean);
    $('#np-next').textContent = next.length ? `Up next: ${next.join(', ')}` : '';
  }
}
