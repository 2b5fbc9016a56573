// The room's rules: on the join screen before joining (GET /api/rooms/{id} has them),
// a card on entering until "Got it" (not for the host: they are the host's own), always
// in the chat card, and remembered so the join screen shows them at once next time.
import { t } from './i18n.js';
import { $, h, show, store } from './util.js';

const key = (roomId) => `onair:rules:${roomId}`;
const ackKey = (roomId) => `onair:rules-ok:${roomId}`;

// The server's house rules (signaling/model/registry.py DEFAULT_RULES), which every show starts
// with: the product's words, so in the page's language. Any other rule is the host's own words.
const HOUSE_RULES = {
  'Be kind: no harassment, hate or threats.': 'room.rules.house.kind',
  'No spam or advertising in chat.': 'room.rules.house.spam',
  'The host and moderators have the last word.': 'room.rules.house.last_word',
};

function fill(list, rules) {
  list.replaceChildren(...rules.map((r) => (HOUSE_RULES[r] ? h('li', { text: t(HOUSE_RULES[r]) })
    : h('li', { text: r, attrs: { translate: 'no' } }))));
}

/** Before joining: the rules seen on an earlier visit, if any. */
export function showCachedRules(roomId) {
  let rules = [];
  try { rules = JSON.parse(store.get(key(roomId)) || '[]'); } catch { rules = []; }
  if (!Array.isArray(rules) || !rules.length) return;
  fill($('#join-rules-list'), rules.map(String));
  show($('#join-rules'), true);
}

/** Before joining: the room's rules as the server has them now. */
export function showJoinRules(rules) {
  const list = rules.filter((r) => typeof r === 'string' && r.trim());
  fill($('#join-rules-list'), list);
  show($('#join-rules'), list.length > 0);
}

/** On `welcome`: the card (unless these rules were acknowledged, or `card` is false) and the chat's copy. */
export function showRules(roomId, rules, { card = true } = {}) {
  const list = Array.isArray(rules) ? rules.filter((r) => typeof r === 'string' && r.trim()) : [];
  const text = JSON.stringify(list);
  store.set(key(roomId), text);
  show($('#rules-details'), list.length > 0);
  fill($('#rules-details-list'), list);
  if (!card || !list.length || store.get(ackKey(roomId)) === text) { show($('#rules-card'), false); return; }
  fill($('#rules-list'), list);
  show($('#rules-card'), true);
  $('#rules-ok').onclick = () => {
    store.set(ackKey(roomId), text);
    show($('#rules-card'), false);
    $('#show-title').focus();
  };
}
