// Reactions: six buttons that send `react`; the server adds them up and sends
// `reactions` {counts} at most twice a second, which float up over the card for
// a moment. Fast taps past the server's rate (5 a second) are refused with
// `rate_limited`: that is not news to whoever is tapping, so it is not shown.
import { t } from './i18n.js';
import { describeError } from './signal.js';
import { $, h } from './util.js';

/** The six reactions and the catalog name of each (room.react.<name>; <name>_label is its button). */
export const EMOJI = [
  ['👏', 'applause'], ['❤️', 'love'], ['🔥', 'fire'], ['😂', 'laughing'], ['🎉', 'party'], ['🙌', 'raised_hands'],
];
const FLOAT_MS = 2200;

export class Reactions {
  /** request(msg): Promise; notice(text): other refusals (muted in chat). */
  constructor({ request, notice }) {
    this.request = request;
    this.notice = notice;
    this.total = new Map(); // emoji -> count seen since joining (for tests and curiosity)
    $('#reaction-buttons').replaceChildren(...EMOJI.map(([emoji, name]) => h('button', {
      className: 'react', text: emoji,
      attrs: { type: 'button', 'aria-label': t(`room.react.${name}_label`), title: t(`room.react.${name}`) },
      dataset: { emoji },
      on: { click: () => this.send(emoji) },
    })));
  }

  async send(emoji) {
    try {
      await this.request({ type: 'react', emoji });
    } catch (err) {
      if (err.code !== 'rate_limited' && err.code !== 'disconnected') this.notice(describeError(err));
    }
  }

  /** `reactions`: float each count up for a moment. */
  show(counts) {
    const box = $('#reaction-floats');
    let i = 0;
    for (const [emoji, n] of Object.entries(counts || {})) {
      const count = Number(n) || 0;
      if (count <= 0) continue;
      this.total.set(emoji, (this.total.get(emoji) || 0) + count);
      const bubble = h('span', {
        className: 'reaction-float', text: count > 1 ? `${emoji} ×${count}` : emoji, dataset: { emoji, count },
      });
      bubble.style.left = `${8 + ((i * 17) % 70)}%`;
      i += 1;
      box.append(bubble);
      setTimeout(() => bubble.remove(), FLOAT_MS);
    }
  }
}
