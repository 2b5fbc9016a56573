// Actions on people and messages, in one non-blocking <dialog> ("the sheet"):
// moderators mute in chat, remove, remove and ban, delete messages; everyone
// reports a person or a message; authors delete their own messages.
// Destructive steps ask in the sheet itself, never with alert()/confirm().
import { errorText, t } from './i18n.js';
import { roleLabel } from './stage.js';
import { $, h } from './util.js';

const userText = (text) => h('span', { text, attrs: { translate: 'no' } }); // a name: the person's own

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

  /** `title`: text from the catalog, or a node (a person's name, kept as they wrote it). */
  show(subject, title, ...content) {
    if (!this.dialog.open) {
      this.opener = document.activeElement;
      this.openerKey = this.opener && this.opener.dataset ? this.opener.dataset.key : undefined;
    }
    this.subject = subject;
    $('#sheet-title').replaceChildren(title);
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

  /** A refusal (or a text of ours) in the sheet. */
  fail(err) {
    const el = this.body.querySelector('.sheet-error');
    if (el) el.textContent = typeof err === 'string' ? err : errorText(err);
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

  closeButton(text = t('desk.mod.close')) {
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
    if (!p) { this.ctx.notice(t('desk.mod.person_gone')); return; }
    const me = this.ctx.me();
    const send = (msg) => this.ctx.request({ ...msg, participant_id: id });
    const buttons = [];
    if (this.canModerate && id !== me && p.role !== 'host') {
      if (p.role === 'listener') {
        buttons.push(this.action(t('desk.mod.promote'), () => send({ type: 'promote' }),
          { done: t('desk.mod.promoted', { name: p.name }) }));
      } else {
        buttons.push(
          this.action(t(p.muted ? 'desk.mod.unmute' : 'desk.mod.mute'), () => send({ type: 'mute', muted: !p.muted })),
          this.action(t('desk.mod.demote'), () => send({ type: 'demote' }),
            { done: t('desk.mod.demoted', { name: p.name }) }),
        );
      }
      if (this.ctx.role() === 'host' && p.role !== 'moderator') {
        buttons.push(this.action(t('desk.mod.make_moderator'), () => send({ type: 'make_moderator' }),
          { done: t('desk.mod.made_moderator', { name: p.name }) }));
      }
      buttons.push(
        this.action(t(p.chat_muted ? 'desk.mod.chat_allow' : 'desk.mod.chat_mute'),
          () => send({ type: 'mute_chat', muted: !p.chat_muted }),
          { done: t(p.chat_muted ? 'desk.mod.chat_allowed' : 'desk.mod.chat_muted', { name: p.name }) }),
        h('button', { className: 'danger', text: t('desk.mod.kick_ask'), attrs: { type: 'button' },
          on: { click: () => this.confirmKick(p, false) } }),
        h('button', { className: 'danger', text: t('desk.mod.ban_ask'), attrs: { type: 'button' },
          on: { click: () => this.confirmKick(p, true) } }),
      );
    }
    if (id !== me) {
      buttons.push(h('button', { text: t('desk.mod.report_person', { name: p.name }), attrs: { type: 'button' },
        on: { click: () => this.openReport({ participant_id: id }, t('desk.mod.report_person_title', { name: p.name })) },
      }));
    }
    const facts = [roleLabel(p.role), p.muted ? t('desk.mod.fact_muted') : '',
      p.chat_muted ? t('desk.mod.fact_chat_muted') : '', p.hand_raised ? t('desk.mod.fact_hand') : '']
      .filter(Boolean).flatMap((fact, i) => (i ? [' · ', fact] : [fact])); // one message per text node
    this.show({ kind: 'person', id }, userText(p.name),
      h('p', { className: 'muted small' }, ...facts),
      h('div', { className: 'sheet-actions' }, ...buttons, this.closeButton()));
  }

  confirmKick(p, ban) {
    const reason = h('input', { attrs: { id: 'kick-reason', maxlength: '200', autocomplete: 'off' } });
    const say = (what) => t(`desk.mod.${ban ? 'ban' : 'kick'}_${what}`, { name: p.name });
    const go = this.action(say('go'), () => this.ctx.request({
      type: 'kick', participant_id: p.participant_id, ban, ...(reason.value.trim() ? { reason: reason.value.trim() } : {}),
    }), { className: 'danger', done: say('done') });
    this.show({ kind: 'person', id: p.participant_id }, say('title'),
      h('p', { text: say('detail') }),
      h('label', { text: t('desk.mod.kick_reason'), attrs: { for: 'kick-reason' } }),
      reason,
      h('div', { className: 'sheet-actions' }, go,
        h('button', { text: t('desk.mod.cancel'), attrs: { type: 'button' },
          on: { click: () => this.openPerson(p.participant_id) } })));
  }

  // ---- a message --------------------------------------------------------------

  openMessage(m) {
    const me = this.ctx.me();
    const mine = m.participant_id === me;
    const author = this.ctx.person(m.participant_id);
    const buttons = [];
    if (mine || this.canModerate) {
      buttons.push(this.action(t('desk.mod.delete_message'),
        () => this.ctx.request({ type: 'delete_message', message_id: m.message_id }),
        { className: 'danger', done: t('desk.mod.message_deleted') }));
    }
    if (!mine) {
      buttons.push(h('button', { text: t('desk.mod.report_message'), attrs: { type: 'button' },
        on: {
          click: () => this.openReport({ message_id: m.message_id }, t('desk.mod.report_message_title', { name: m.name })),
        },
      }));
    }
    if (author && !mine) {
      buttons.push(h('button', {
        attrs: { type: 'button', 'aria-label': t('desk.more_for', { name: m.name }) },
        on: { click: () => this.openPerson(m.participant_id) },
      }, userText(m.name), '…'));
    }
    this.show({ kind: 'message', id: m.message_id },
      mine ? t('desk.mod.your_message') : t('desk.mod.message_from', { name: m.name }),
      h('blockquote', { className: 'quote', text: m.text, attrs: { translate: 'no' } }),
      h('div', { className: 'sheet-actions' }, ...buttons, this.closeButton()));
  }

  // ---- reports ------------------------------------------------------------------

  openReport(target, title) {
    const reason = h('textarea', { attrs: { id: 'report-reason', rows: '3', maxlength: '500', required: '' } });
    const form = h('form', { className: 'stack' },
      h('p', { className: 'muted small', text: t('desk.mod.report_help') }),
      h('label', { text: t('desk.mod.report_what'), attrs: { for: 'report-reason' } }),
      reason,
      h('div', { className: 'sheet-actions' },
        h('button', { className: 'primary', text: t('desk.mod.report_send'), attrs: { type: 'submit' } }),
        this.closeButton(t('desk.mod.cancel'))));
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      const text = reason.value.trim();
      if (!text) { this.fail(t('desk.mod.report_empty')); reason.focus(); return; }
      const submit = form.querySelector('[type=submit]');
      submit.disabled = true;
      try {
        await this.ctx.request({ type: 'report', ...target, reason: text });
        this.close();
        this.ctx.notice(t('desk.mod.report_sent'));
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
