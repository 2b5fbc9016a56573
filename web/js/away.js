// Leaving on purpose, and telling listeners about it. The host's "Leave" asks first:
// leave and let the show go on (everyone is told the host stepped away and how long
// the show waits), end it, or stay. A host whose connection dropped is "reconnecting".
import { api } from './api.js';
import { t } from './i18n.js';
import { $ } from './util.js';
import { spell } from './when.js';

/** The banner listeners read while no host is here; '' when there is nothing to say. */
export function hostAwayText(away, musicPlaying) {
  if (!away) return '';
  const music = musicPlaying ? '_music' : '';
  if (!away.stepped) return t(`room.away.reconnecting${music}`);
  const left = Math.max(0, (away.until - Date.now()) / 1000);
  if (away.waitS > 0) return t(`room.away.stepped_wait${music}`, { wait: spell(left) });
  return t(`room.away.stepped${music}`);
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
    $('#leave-detail').textContent = t('room.leave.detail_wait', { wait: spell(grace) });
    dialog.showModal();
    $('#leave-stay').focus();
  };
}
