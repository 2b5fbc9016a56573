// Leaving on purpose, and telling listeners about it. The host's "Leave" asks first:
// leave and let the show go on (everyone is told the host stepped away and how long
// the show waits), end it, or stay. A host whose connection dropped is "reconnecting".
import { api, spell } from './api.js';
import { $ } from './util.js';

/** The banner listeners read while no host is here; '' when there is nothing to say. */
export function hostAwayText(away, musicPlaying) {
  if (!away) return '';
  if (!away.stepped) return `The host is reconnecting…${musicPlaying ? ' The music keeps playing.' : ''}`;
  const left = Math.max(0, (away.until - Date.now()) / 1000);
  const wait = away.waitS > 0
    ? ` The show waits up to ${spell(left)} for them to come back.` : '';
  return `The host stepped away.${wait}${musicPlaying ? ' The music keeps playing.' : ''}`;
}

/** `host_away` from the server: the host left on purpose. */
export function steppedAway(msg) {
  const waitS = Math.max(0, Number(msg.wait_s) || 0);
  return { stepped: true, waitS, until: Date.now() + waitS * 1000 };
}

/**
 * The host's leave dialog. hooks: {roomId, hostToken(), graceS(), leave(), endShow()}.
 * Returns open(): shows the dialog.
 */
export function leaveDialog(hooks) {
  const dialog = $('#leave-dialog');
  const close = () => { if (dialog.open) dialog.close(); };
  $('#leave-stay').addEventListener('click', close);
  $('#leave-end').addEventListener('click', async () => { close(); await hooks.endShow(); });
  $('#leave-keep').addEventListener('click', async () => {
    const button = $('#leave-keep');
    button.disabled = true;
    try {
      await api(`/api/rooms/${encodeURIComponent(hooks.roomId)}/away`, { method: 'POST', token: hooks.hostToken() });
    } catch { /* leaving goes on: listeners then read "reconnecting" */ } finally {
      button.disabled = false;
    }
    close();
    hooks.leave();
  });
  return () => {
    const grace = hooks.graceS();
    $('#leave-detail').textContent = 'Listeners keep hearing the music and are told you stepped away. '
      + `The show waits ${spell(grace)} for you; come back with your host link or this page.`;
    dialog.showModal();
    $('#leave-stay').focus();
  };
}
