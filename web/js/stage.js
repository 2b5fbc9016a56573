// Who is on air, the call-in queue (raised hands, oldest first) with the green
// room (greenroom.js), the audience (drawn only while its list is open: a big
// room's audience is a count), and speaking highlights from `levels`.
import { GreenRoomView } from './greenroom.js';
import { $, h, keepFocus } from './util.js';

export const STAGE_ROLES = new Set(['host', 'moderator', 'speaker']);
const ROLE_ORDER = { host: 0, moderator: 1, speaker: 2 };
export const ROLE_LABEL = { host: 'Host', moderator: 'Moderator', speaker: 'Guest', listener: 'Listener' };
const SPEAKING_BELOW = 110; // RFC 6464: 0 loudest, 127 silence
const AUDIENCE_SHOWN = 100;

const raisedAt = (p) => (Number.isFinite(Number(p.hand_raised_at)) && p.hand_raised_at !== null
  ? Number(p.hand_raised_at) : Infinity);

/** Listeners with a hand up, oldest hand first. */
export function raisedHands(participants) {
  return [...participants].filter((p) => p.role === 'listener' && p.hand_raised)
    .sort((a, b) => raisedAt(a) - raisedAt(b) || a.name.localeCompare(b.name));
}

const ordinal = (n) => {
  const s = ['th', 'st', 'nd', 'rd'];
  const v = n % 100;
  return n + (s[(v - 20) % 10] || s[v] || s[0]);
};

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
      : [h('li', { className: 'muted small', text: 'Nobody is on air right now: music only.' })])));

    const screened = people.filter((p) => p.role === 'listener' && p.screening)
      .sort((a, b) => a.name.localeCompare(b.name));
    this.greenRoom.render(mod ? screened : [], mod);

    const hands = raisedHands(people).filter((p) => !p.screening);
    const queue = hands.filter((p) => !this.dismissed.has(`${p.participant_id}:${p.hand_raised_at}`));
    $('#callin-card').hidden = !mod;
    $('#callin-count').textContent = queue.length ? `(${queue.length})` : '';
    keepFocus($('#hands-list'), () => $('#hands-list').replaceChildren(...queue.map((p) => this.handItem(p))));
    $('#hands-empty').hidden = queue.length > 0;

    const listeners = people.filter((p) => p.role === 'listener')
      .sort((a, b) => a.name.localeCompare(b.name));
    const total = listeners.length + state.hiddenListeners;
    $('#listener-count').textContent = `${total.toLocaleString()} listening`;
    $('#audience-count').textContent = total.toLocaleString();
    const shown = $('#audience').open
      ? listeners.slice(0, AUDIENCE_SHOWN).map((p) => this.audienceItem(p, ctx)) : [];
    if ($('#audience').open && total > shown.length) {
      shown.push(h('li', { className: 'muted small more', text: `and ${(total - shown.length).toLocaleString()} more` }));
    }
    keepFocus($('#audience-list'), () => $('#audience-list').replaceChildren(...shown));

    // The listener's own place in the queue.
    const place = me && me.hand_raised ? hands.findIndex((p) => p.participant_id === state.me) + 1 : 0;
    $('#hand-status').textContent = place
      ? `Your hand is up: ${ordinal(place)} in line. The host will bring you on air when it is your turn.`
      : 'Raise your hand to ask the host to bring you on air.';
  }

  stageItem(p, ctx) {
    const isMe = p.participant_id === ctx.me;
    const actions = h('span', { className: 'actions' });
    if (ctx.mod && !isMe && p.role !== 'host') {
      const selfMuted = p.muted && p.muted_by === 'self'; // only its owner opens a mic they closed
      actions.append(
        selfMuted ? null : btn(p.muted ? 'Unmute' : 'Mute', `${p.muted ? 'Unmute' : 'Mute'} ${p.name}`,
          `${p.participant_id}:mute`, () => this.actions.mute(p.participant_id, !p.muted)),
        btn('Back to the audience', `Send ${p.name} back to the audience`, `${p.participant_id}:demote`,
          () => this.actions.demote(p.participant_id)),
      );
      if (ctx.host && p.role === 'speaker') {
        const label = `Make ${p.name} a moderator`;
        actions.append(btn(label, label, `${p.participant_id}:mod`,
          () => this.actions.makeModerator(p.participant_id)));
      }
    }
    if (!isMe) actions.append(this.moreButton(p));
    return h('li', {
      className: `person${this.speaking.has(p.participant_id) ? ' speaking' : ''}`,
      dataset: { participantId: p.participant_id },
    },
    h('span', { className: 'name', text: p.name }),
    isMe ? h('span', { className: 'muted small', text: '(you)' }) : null,
    h('span', { className: `badge ${p.role}`, text: ROLE_LABEL[p.role] || p.role }),
    p.muted ? h('span', { className: 'badge muted', text: p.muted_by === 'self' ? 'self-muted' : 'muted' }) : null,
    actions);
  }

  handItem(p) {
    // The button says whom it brings on air: what it shows is what voice control hears.
    const bring = `Bring ${p.name} on air`;
    return h('li', { className: 'person', dataset: { participantId: p.participant_id } },
      h('span', { className: 'actions hand-actions' },
        btn(bring, bring, `${p.participant_id}:promote`, () => this.actions.promote(p.participant_id), 'primary wrap-text'),
        btn('Screen', `Screen ${p.name}`, `${p.participant_id}:screen`, () => this.actions.screen(p.participant_id)),
        btn('Dismiss', `Dismiss ${p.name}'s raised hand`, `${p.participant_id}:dismiss`, () => {
          this.dismissed.add(`${p.participant_id}:${p.hand_raised_at}`);
          this.actions.refresh();
        }),
        this.moreButton(p)));
  }

  audienceItem(p, ctx) {
    const isMe = p.participant_id === ctx.me;
    return h('li', { className: 'person', dataset: { participantId: p.participant_id } },
      h('span', { className: 'name', text: p.name }),
      isMe ? h('span', { className: 'muted small', text: '(you)' }) : null,
      p.hand_raised ? h('span', { className: 'badge hand', text: 'hand up' }) : null,
      p.screening ? h('span', { className: 'badge screening', text: 'green room' }) : null,
      ctx.mod && p.chat_muted ? h('span', { className: 'badge muted', text: 'chat muted' }) : null,
      isMe ? null : h('span', { className: 'actions' }, this.moreButton(p)));
  }

  moreButton(p) {
    const b = btn('⋯', `More for ${p.name}`, `${p.participant_id}:more`, () => this.actions.more(p.participant_id));
    b.setAttribute('aria-haspopup', 'dialog');
    b.title = `More for ${p.name}`;
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
