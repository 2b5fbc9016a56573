// Editing a track's title and artist from the desk (PATCH /api/tracks/{id}): an inline
// form in the library row, for hosts and moderators. A file without a title tag is
// titled from its file name on upload; this is how the host gives it a better one.
import { api, DEFAULT_LIMITS } from './api.js';
import { errorText, t } from './i18n.js';
import { h } from './util.js';

let formCount = 0;

/**
 * Replace `row`'s content with a form for `track`. hooks: {token(), limits(), roomId, saved(track),
 * done()} (`done` puts the row back, after saving or cancelling; `roomId`: the host's room, whose
 * worker takes the edit).
 */
export function editTrack(row, track, hooks) {
  formCount += 1;
  const id = `edit-${formCount}`;
  const limits = hooks.limits() || DEFAULT_LIMITS;
  const title = h('input', { attrs: { id: `${id}-title`, maxlength: String(limits.track_title), 'aria-required': 'true' } });
  const artist = h('input', { attrs: { id: `${id}-artist`, maxlength: String(limits.track_artist) } });
  title.value = track.title || '';
  artist.value = track.artist || '';
  const error = h('p', { className: 'error small', attrs: { role: 'alert' } });
  const save = h('button', { className: 'small primary', text: t('desk.edit.save'), attrs: { type: 'submit' } });
  const cancel = h('button', { className: 'small', text: t('desk.edit.cancel'), attrs: { type: 'button' } });
  const named = track.title ? t('desk.library.edit_label', { title: track.title }) : t('desk.edit.untitled');
  const form = h('form', { className: 'track-edit stack', attrs: { 'aria-label': named, novalidate: '' } },
    h('label', { text: t('desk.edit.title'), attrs: { for: title.id } }), title,
    h('label', { text: t('desk.edit.artist'), attrs: { for: artist.id } }), artist,
    h('div', { className: 'row' }, save, cancel), error);
  cancel.addEventListener('click', () => hooks.done());
  form.addEventListener('keydown', (ev) => { if (ev.key === 'Escape') hooks.done(); });
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    error.textContent = '';
    if (!title.value.trim()) { error.textContent = t('desk.edit.needs_title'); title.focus(); return; }
    save.disabled = true;
    try {
      const room = hooks.roomId ? `?room_id=${encodeURIComponent(hooks.roomId)}` : '';
      const edited = await api(`/api/tracks/${encodeURIComponent(track.track_id)}${room}`, {
        method: 'PATCH', token: hooks.token(), body: { title: title.value.trim(), artist: artist.value.trim() },
      });
      hooks.saved(edited);
    } catch (err) {
      error.textContent = t('desk.edit.failed', { why: errorText(err) });
      save.disabled = false;
    }
  });
  row.replaceChildren(form);
  title.focus();
}
