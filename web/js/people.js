// Who is on air, who raised a hand, how many listen; speaking highlights from `levels`.
import { $, h } from './util.js';

export const STAGE_ROLES = new Set(['host', 'moderator', 'speaker']);
const ROLE_ORDER = { host: 0, moderator: 1, speaker: 2 };
const ROLE_LABEL = { host: 'Host', moderator: 'Moderator', speaker: 'Guest' };
const SPEAKING_BELOW = 110; // RFC 6464: 0 loudest, 127 silence

export class PeopleView {
  /** actions: {promote(id), demote(id), mute(id, muted)} */
  constructor(actions) {
    this.actions = actions;
    this.speaking = new Set();
    this.speakingTimer = 0;
  }

  render(state) {
    const me = state.participants.get(state.me);
    const canModerate = me && (me.role === 'host' || me.role === 'moderator');
    const people = [...state.participants.values()];
    const stage = people.filter((p) => STAGE_ROLES.has(p.role))
      .sort((a, b) => ROLE_ORDER[a.role] - ROLE_ORDER[b.role] || a.name.localeCompare(b.name));
    $('#stage-list').replaceChildren(...(stage.length
      ? stage.map((p) => this.stageItem(p, state.me, canModerate))
      : [h('li', { className: 'muted small', text: 'Nobody is on air right now: music only.' })]));
    const hands = people.filter((p) => p.role === 'listener' && p.hand_raised);
    $('#hands').hidden = !(canModerate && hands.length);
    $('#hands-list').replaceChildren(...hands.map((p) => this.handItem(p)));
    const listeners = people.filter((p) => p.role === 'listener').length + state.hiddenListeners;
    $('#listener-count').textContent = `${listeners} listening`;
  }

  stageItem(p, myId, canModerate) {
    const isMe = p.participant_id === myId;
    const actions = h('span', { className: 'actions' });
    if (canModerate && !isMe && p.role !== 'host') {
      actions.append(
        button(p.muted ? 'Unmute' : 'Mute', `${p.muted ? 'Unmute' : 'Mute'} ${p.name}`,
          () => this.actions.mute(p.participant_id, !p.muted)),
        button('Send back', `Send ${p.name} back to the audience`,
          () => this.actions.demote(p.participant_id)),
      );
    }
    return h('li', {
      className: `person${this.speaking.has(p.participant_id) ? ' speaking' : ''}`,
      dataset: { participantId: p.participant_id },
    },
    h('span', { className: 'name', text: p.name }),
    isMe ? h('span', { className: 'muted small', text: '(you)' }) : null,
    h('span', { className: `badge ${p.role}`, text: ROLE_LABEL[p.role] || p.role }),
    p.muted ? h('span', { className: 'badge muted', text: 'muted' }) : null,
    actions);
  }

  handItem(p) {
    return h('li', { className: 'person', dataset: { participantId: p.participant_id } },
      h('span', { className: 'name', text: p.name }),
      h('span', { className: 'actions' },
        button('Bring on air', `Bring ${p.name} on air`, () => this.actions.promote(p.participant_id))));
  }

  setLevels(levels) {
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

function button(text, label, onClick) {
  return h('button', { className: 'small', text, attrs: { type: 'button', 'aria-label': label }, on: { click: onClick } });
}
