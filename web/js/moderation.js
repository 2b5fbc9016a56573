// Actions on people and messages, in one non-blocking <dialog> ("the sheet"):
// moderators mute in chat, remove, remove and ban, delete messages; everyone
// reports a person or a message; authors delete their own messages.
// Destructive steps ask in the sheet itself, never with alert()/confirm().
import { describeError } from './signal.js';
import { ROLE_LABEL } from './stage.js';
import { $, h } from './util.js';

export class Moderation {
  /**
   * ctx: {request(msg): Promise, me(): id, role(): role, person(id), message(id), notice(text)}
   */
  constructor(ctx) {
    this.ctx = ctx;
    this.dialog = $('#sheet');
    this.body = $('#sheet-body');
    this.subject = null; // {kind: 'person'|'message', id}
    this.opener = null;
    this.dialog.addEventListener('close', () => this.restoreFocus());
  }

  get canModerate() {
    const role = this.ctx.role();
    return role === 'host' || role === 'moderator';
  }

  // ---- the sheet --------------------------------------------------------------

  show(subject, title, ...content) {
    if (!this.dialog.open) {
      this.opener = document.activeElement;
      this.openerKey = this.opener && this.opener.dataset ? this.opener.dataset.key : undefined;
    }
    this.subject = subject;
    $('#sheet-title').textContent = title;
    this.body.replaceChildren(...content,
      h('p', { className: 'error small sheet-error', attrs: { role: 'alert' } }));
    if (!this.dialog.open) this.dialog.showModal();
    const first = this.body.querySelector('textarea, input, button');
    if (first) first.focus();
  }

  close() {
    if (this.dialog.open) this.dialog.close();
    this.subject = null;
  }

  restoreFocus() {
    const { opener, openerKey } = this;
    this.opener = null;
    if (opener && opener.isConnected) { opener.focus(); return; }
    const again = openerKey && [...document.querySelectorAll('[data-key]')].find((el) => el.dataset.key === openerKey);
    if (again) again.focus();
  }

  fail(err) {
    const el = this.body.querySelector('.sheet-error');
    if (el) el.textContent = describeError(err);
  }

  /** A button that runs `run()`; errors stay in the sheet, success closes it with `done`. */
  action(text, run, { done, className = '', keepOpen = false } = {}) {
    const b = h('button', { className, text, attrs: { type: 'button' } });
    b.addEventListener('click', async () => {
      b.disabled = true;
      try {
        await run();
        if (!keepOpen) this.close();
        if (done) this.ctx.notice(done);
      } catch (err) {
        this.fail(err);
      } finally {
        b.disabled = false;
      }
    });
    return b;
  }

  closeButton(text = 'Close') {
    return h('button', { className: 'subtle', text, attrs: { type: 'button' }, on: { click: () => this.close() } });
  }

  /** Close the sheet when what it is about has gone. */
  gone(kind, id, why) {
    if (this.dialog.open && this.subject && this.subject.kind === kind && this.subject.id === id) {
      this.close();
      if (why) this.ctx.notice(why);
    }
  }

  // ---- a person ---------------------------------------------------------------

  openPerson(id) {
    const p = this.ctx.person(id);
    if (!p) { this.ctx.notice('That person has left.'); return; }
    const me = this.ctx.me();
    const send = (msg) => this.ctx.request({ ...msg, participant_id: id });
    const buttons = [];
    if (this.canModerate && id !== me && p.role !== 'host') {
      if (p.role === 'listener') {
        buttons.push(this.action('Bring on air', () => send({ type: 'promote' }), { done: `${p.name} is on air.` }));
      } else {
        buttons.push(
          this.action(p.muted ? 'Unmute voice' : 'Mute voice', () => send({ type: 'mute', muted: !p.muted })),
          this.action('Send back to the audience', () => send({ type: 'demote' }),
            { done: `${p.name} is back in the audience.` }),
        );
      }
      if (this.ctx.role() === 'host' && p.role !== 'moderator') {
        buttons.push(this.action('Make moderator', () => send({ type: 'make_moderator' }),
          { done: `${p.name} is a moderator now.` }));
      }
      buttons.push(
        this.action(p.chat_muted ? 'Allow in chat again' : 'Mute in chat',
          () => send({ type: 'mute_chat', muted: !p.chat_muted }),
          { done: p.chat_muted ? `${p.name} may chat again.` : `${p.name} is muted in chat.` }),
        h('button', { className: 'danger', text: 'Remove from the show…', attrs: { type: 'button' },
          on: { click: () => this.confirmKick(p, false) } }),
        h('button', { className: 'danger', text: 'Remove and ban…', attrs: { type: 'button' },
          on: { click: () => this.confirmKick(p, true) } }),
      );
    }
    if (id !== me) {
      buttons.push(h('button', { text: `Report ${p.name}…`, attrs: { type: 'button' },
        on: { click: () => this.openReport({ participant_id: id }, `Report ${p.name}`) } }));
    }
    const facts = [ROLE_LABEL[p.role] || p.role, p.muted ? 'voice muted' : '', p.chat_muted ? 'muted in chat' : '',
      p.hand_raised ? 'hand raised' : ''].filter(Boolean).join(' · ');
    this.show({ kind: 'person', id }, p.name,
      h('p', { className: 'muted small', text: facts }),
      h('div', { className: 'sheet-actions' }, ...buttons, this.closeButton()));
  }

  confirmKick(p, ban) {
    const reason = h('input', { attrs: { id: 'kick-reason', maxlength: '200', autocomplete: 'off' } });
    const go = this.action(ban ? 'Remove and ban' : 'Remove', () => this.ctx.request({
      type: 'kick', participant_id: p.participant_id, ban, ...(reason.value.trim() ? { reason: reason.value.trim() } : {}),
    }), { className: 'danger', done: ban ? `${p.name} was removed and banned.` : `${p.name} was removed.` });
    this.show({ kind: 'person', id: p.participant_id }, ban ? `Remove and ban ${p.name}?` : `Remove ${p.name}?`,
      h('p', { text: ban
        ? `${p.name} leaves the show now and cannot join it again.`
        : `${p.name} leaves the show now. They can join again.` }),
      h('label', { text: 'Reason (optional, shown to them)', attrs: { for: 'kick-reason' } }),
      reason,
      h('div', { className: 'sheet-actions' }, go,
        h('button', { text: 'Cancel', attrs: { type: 'button' }, on: { click: () => this.openPerson(p.participant_id) } })));
  }

  // ---- a message --------------------------------------------------------------

  openMessage(m) {
    const me = this.ctx.me();
    const mine = m.participant_id === me;
    const author = this.ctx.person(m.participant_id);
    const buttons = [];
    if (mine || this.canModerate) {
      buttons.push(this.action('Delete message', () => this.ctx.request({ type: 'delete_message', message_id: m.message_id }),
        { className: 'danger', done: 'Message deleted.' }));
    }
    if (!mine) {
      buttons.push(h('button', { text: 'Report message…', attrs: { type: 'button' },
        on: { click: () => this.openReport({ message_id: m.message_id }, `Report a message from ${m.name}`) } }));
    }
    if (author && !mine) {
      buttons.push(h('button', { text: `${m.name}…`, attrs: { type: 'button', 'aria-label': `More for ${m.name}` },
        on: { click: () => this.openPerson(m.participant_id) } }));
    }
    this.show({ kind: 'message', id: m.message_id }, mine ? 'Your message' : `Message from ${m.name}`,
      h('blockquote', { className: 'quote', text: m.text }),
      h('div', { className: 'sheet-actions' }, ...buttons, this.closeButton()));
  }

  // ---- reports ------------------------------------------------------------------

  openReport(target, title) {
    const reason = h('textarea', { attrs: { id: 'report-reason', rows: '3', maxlength: '500', required: '' } });
    const form = h('form', { className: 'stack' },
      h('p', { className: 'muted small', text: 'Reports go to the people who run this server. Say what happened.' }),
      h('label', { text: 'What is wrong?', attrs: { for: 'report-reason' } }),
      reason,
      h('div', { className: 'sheet-actions' },
        h('button', { className: 'primary', text: 'Send report', attrs: { type: 'submit' } }),
        this.closeButton('Cancel')));
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      const text = reason.value.trim();
      if (!text) { this.fail({ message: 'Say briefly what is wrong.' }); reason.focus(); return; }
      const submit = form.querySelector('[type=submit]');
      submit.disabled = true;
      try {
        await this.ctx.request({ type: 'report', ...target, reason: text });
        this.close();
        this.ctx.notice('Thank you. Your report was sent.');
      } catch (err) {
        this.fail(err);
      } finally {
        submit.disabled = false;
      }
    });
    this.show({ kind: target.message_id ? 'message' : 'person', id: target.message_id || target.participant_id },
      title, form);
  }
}
