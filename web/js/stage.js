// Who is on air, the call-in queue (raised hands, oldest first) with the green
// room (greenroom.js), the audience (drawn only while its list is open: a big
// room's audience is a count), and speaking highlights from `levels`.
import { GreenRoomView } from './greenroom.js';
import { formatNumber, has, language, t } from './i18n.js';
import { $, h, keepFocus } from './util.js';

export const STAGE_ROLES = new Set(['host', 'moderator', 'speaker']);
const ROLE_ORDER = { host: 0, moderator: 1, speaker: 2 };
/** A role as the page names it ("Guest" for a speaker). */
export const roleLabel = (role) => (has(`desk.role.${role}`) ? t(`desk.role.${role}`) : String(role));
const SPEAKING_BELOW = 110; // RFC 6464: 0 loudest, 127 silence
const AUDIENCE_SHOWN = 100;

const raisedAt = (p) => (Number.isFinite(Number(p.hand_raised_at)) && p.hand_raised_at !== null
  ? Number(p.hand_raised_at) : Infinity);

/** Listeners with a hand up, oldest hand first. */
export function raisedHands(participants) {
  return [...participants].filter((p) => p.role === 'listener' && p.hand_raised)
    .sort((a, b) => raisedAt(a) - raisedAt(b) || a.name.localeCompare(b.name));
}

/** "…1st in line…", "…2nd…" (English), "…1.º…" (Spanish): one message per ordinal form of the language. */
const placeText = (n) => t(`desk.hand.place.${new Intl.PluralRules(language(), { type: 'ordinal' }).select(n)}`, { n });
const nameOf = (p) => h('span', { className: 'name', text: p.name, attrs: { translate: 'no' } });

export class StageView {
  /** actions: {promote(id), demote(id), mute(id, muted), makeModerator(id), more(id), screen(id),
   *           talkback(id, on), refresh()} */
  constructor(actions) {
    this.actions = actions;
    this.greenRoom = new GreenRoomView(actions);
    $('#audience').addEventListener('toggle', () => this.actions.refresh());
    this.speaking = new Set();
    this.speakingTimer = 0;
    this.dismissed = new Set(); // `${id}:${hand_raised_at}`: hidden here until raised again
  }

  /** state: {participants: Map, me, role, hiddenListeners} */
  render(state) {
    const me = state.participants.get(state.me);
    const mod = state.role === 'host' || state.role === 'moderator';
    const ctx = { me: state.me, mod, host: state.role === 'host' };
    const people = [...state.participants.values()];

    const stage = people.filter((p) => STAGE_ROLES.has(p.role))
      .sort((a, b) => ROLE_ORDER[a.role] - ROLE_ORDER[b.role] || a.name.localeCompare(b.name));
    keepFocus($('#stage-list'), () => $('#stage-list').replaceChildren(...(stage.length
      ? stage.map((p) => this.stageItem(p, ctx))
      : [h('li', { className: 'muted small', text: t('desk.stage.nobody') })])));

    const screened = people.filter((p) => p.role === 'listener' && p.screening)
      .sort((a, b) => a.name.localeCompare(b.name));
    this.greenRoom.render(mod ? screened : [], mod);

    const hands = raisedHands(people).filter((p) => !p.screening);
    const queue = hands.filter((p) => !this.dismissed.has(`${p.participant_id}:${p.hand_raised_at}`));
    $('#callin-card').hidden = !mod;
    $('#callin-count').textContent = queue.length ? `(${formatNumber(queue.length)})` : '';
    keepFocus($('#hands-list'), () => $('#hands-list').replaceChildren(...queue.map((p) => this.handItem(p))));
    $('#hands-empty').hidden = queue.length > 0;

    const listeners = people.filter((p) => p.role === 'listener')
      .sort((a, b) => a.name.localeCompare(b.name));
    const total = listeners.length + state.hiddenListeners;
    $('#listener-count').textContent = t('desk.stage.listening', { count: total });
    $('#audience-count').textContent = formatNumber(total);
    const shown = $('#audience').open
      ? listeners.slice(0, AUDIENCE_SHOWN).map((p) => this.audienceItem(p, ctx)) : [];
    if ($('#audience').open && total > shown.length) {
      shown.push(h('li', { className: 'muted small more', text: t('desk.more', { count: total - shown.length }) }));
    }
    keepFocus($('#audience-list'), () => $('#audience-list').replaceChildren(...shown));

    // The listener's own place in the queue.
    const place = me && me.hand_raised ? hands.findIndex((p) => p.participant_id === state.me) + 1 : 0;
    $('#hand-status').textContent = place
      ? placeText(place)
      : t('desk.hand.idle');
  }

  stageItem(p, ctx) {
    const isMe = p.participant_id === ctx.me;
    const actions = h('span', { className: 'actions' });
    if (ctx.mod && !isMe && p.role !== 'host') {
      const selfMuted = p.muted && p.muted_by === 'self'; // only its owner opens a mic they closed
      actions.append(
        selfMuted ? null : btn(t(p.muted ? 'desk.stage.unmute' : 'desk.stage.mute'),
          t(p.muted ? 'desk.stage.unmute_label' : 'desk.stage.mute_label', { name: p.name }),
          `${p.participant_id}:mute`, () => this.actions.mute(p.participant_id, !p.muted)),
        btn(t('desk.stage.demote'), t('desk.stage.demote_label', { name: p.name }), `${p.participant_id}:demote`,
          () => this.actions.demote(p.participant_id)),
      );
      if (ctx.host && p.role === 'speaker') {
        const label = t('desk.stage.make_moderator', { name: p.name });
        actions.append(btn(label, label, `${p.participant_id}:mod`,
          () => this.actions.makeModerator(p.participant_id)));
      }
    }
    if (!isMe) actions.append(this.moreButton(p));
    return h('li', {
      className: `person${this.speaking.has(p.participant_id) ? ' speaking' : ''}`,
      dataset: { participantId: p.participant_id },
    },
    nameOf(p),
    isMe ? h('span', { className: 'muted small', text: t('desk.stage.you') }) : null,
    h('span', { className: `badge ${p.role}`, text: roleLabel(p.role) }),
    p.muted ? h('span', {
      className: 'badge muted', text: t(p.muted_by === 'self' ? 'desk.stage.self_muted' : 'desk.stage.muted'),
    }) : null,
    actions);
  }

  handItem(p) {
    // The button says whom it brings on air: what it shows is what voice control hears.
    const bring = t('desk.hand.bring', { name: p.name });
    return h('li', { className: 'person', dataset: { participantId: p.participant_id } },
      h('span', { className: 'actions hand-actions' },
        btn(bring, bring, `${p.participant_id}:promote`, () => this.actions.promote(p.participant_id), 'primary wrap-text'),
        btn(t('desk.hand.screen'), t('desk.hand.screen_label', { name: p.name }), `${p.participant_id}:screen`,
          () => this.actions.screen(p.participant_id)),
        btn(t('desk.hand.dismiss'), t('desk.hand.dismiss_label', { name: p.name }), `${p.participant_id}:dismiss`, () => {
          this.dismissed.add(`${p.participant_id}:${p.hand_raised_at}`);
          this.actions.refresh();
        }),
        this.moreButton(p)));
  }

  audienceItem(p, ctx) {
    const isMe = p.participant_id === ctx.me;
    return h('li', { className: 'person', dataset: { participantId: p.participant_id } },
      nameOf(p),
      isMe ? h('span', { className: 'muted small', text: t('desk.stage.you') }) : null,
      p.hand_raised ? h('span', { className: 'badge hand', text: t('desk.stage.hand_up') }) : null,
      p.screening ? h('span', { className: 'badge screening', text: t('desk.greenroom.badge') }) : null,
      ctx.mod && p.chat_muted ? h('span', { className: 'badge muted', text: t('desk.stage.chat_muted') }) : null,
      isMe ? null : h('span', { className: 'actions' }, this.moreButton(p)));
  }

  moreButton(p) {
    const label = t('desk.more_for', { name: p.name });
    const b = btn('⋯', label, `${p.participant_id}:more`, () => this.actions.more(p.participant_id));
    b.setAttribute('aria-haspopup', 'dialog');
    b.title = label;
    return b;
  }

  setLevels(levels) {
    this.greenRoom.setLevels(levels);
    this.speaking = new Set(Object.entries(levels || {})
      .filter(([, level]) => Number(level) < SPEAKING_BELOW).map(([id]) => id));
    this.applySpeaking();
    clearTimeout(this.speakingTimer);
    this.speakingTimer = setTimeout(() => { this.speaking.clear(); this.applySpeaking(); }, 1200);
  }

  applySpeaking() {
    for (const li of $('#stage-list').children) {
      li.classList.toggle('speaking', this.speaking.has(li.dataset.participantId));
    }
  }
}

function btn(text, label, key, onClick, extra = '') {
  return h('button', {
    className: `small ${extra}`.trim(), text,
    attrs: { type: 'button', 'aria-label': label }, dataset: { key }, on: { click: onClick },
  });
}
