// Connection quality from getStats, and the `stats` message for stage members.
import { formatNumber, has, t } from './i18n.js';

/** Sample the sub connection. `prev` is the last sample (for loss over the interval). */
export async function sampleSub(pc, musicMid, musicTrackId, prev) {
  const out = { ice: pc ? pc.iceConnectionState : 'new', rttMs: undefined, lossPct: undefined,
    jitterBufferMs: undefined, lost: 0, received: 0 };
  if (!pc) return out;
  const report = await pc.getStats();
  let pairId = null;
  report.forEach((s) => { if (s.type === 'transport' && s.selectedCandidatePairId) pairId = s.selectedCandidatePairId; });
  report.forEach((s) => {
    if (s.type === 'candidate-pair') {
      const selected = pairId ? s.id === pairId : s.nominated && s.state === 'succeeded';
      if (selected && typeof s.currentRoundTripTime === 'number') out.rttMs = s.currentRoundTripTime * 1000;
    } else if (s.type === 'inbound-rtp' && s.kind === 'audio') {
      out.lost += s.packetsLost || 0;
      out.received += s.packetsReceived || 0;
      const isMusic = (musicMid !== null && s.mid === musicMid)
        || (musicTrackId && s.trackIdentifier === musicTrackId);
      if (isMusic && s.jitterBufferEmittedCount > 0) {
        out.jitterBufferMs = (s.jitterBufferDelay / s.jitterBufferEmittedCount) * 1000;
      }
    }
  });
  const dLost = out.lost - (prev ? prev.lost : 0);
  const dRecv = out.received - (prev ? prev.received : 0);
  if (dLost + dRecv > 0) out.lossPct = (Math.max(0, dLost) / (Math.max(0, dLost) + dRecv)) * 100;
  return out;
}

export function outputLatencyMs(ctx) {
  if (!ctx) return 0;
  const total = (ctx.outputLatency || 0) + (ctx.baseLatency || 0);
  return Number.isFinite(total) ? total * 1000 : 0;
}

/** The `stats` frame: only the fields we actually know. */
export function statsMessage({ rttMs, jitterBufferMs, outputMs, inputMs }) {
  const msg = { type: 'stats' };
  const put = (k, v) => { if (typeof v === 'number' && Number.isFinite(v)) msg[k] = Math.round(v * 10) / 10; };
  put('rtt_ms', rttMs);
  put('jitter_buffer_ms', jitterBufferMs);
  put('output_latency_ms', outputMs);
  put('input_latency_ms', inputMs);
  return msg;
}

const ICE_STATES = ['new', 'checking', 'connected', 'completed', 'disconnected', 'failed', 'closed'];

/** "Audio: connected · RTT 12 ms · loss 0.0% · mic link: connected", in the page's language. */
export function describeQuality(q, pubState) {
  const ice = ICE_STATES.includes(q.ice) ? t(`room.quality.ice.${q.ice}`) : q.ice;
  const parts = [t('room.quality.audio', { state: ice })];
  if (q.rttMs !== undefined) parts.push(t('room.quality.rtt', { ms: Math.round(q.rttMs) }));
  if (q.lossPct !== undefined) {
    parts.push(t('room.quality.loss', { pct: formatNumber(q.lossPct, { minimumFractionDigits: 1, maximumFractionDigits: 1 }) }));
  }
  if (pubState) parts.push(t('room.quality.mic', { state: pubLinkState(pubState) }));
  return parts.join(' · ');
}

/** The mic link's state ('connected', 'no microphone'…) in the page's language. */
export function pubLinkState(state) {
  const key = `room.link.${String(state).replace(/\s+/g, '_')}`;
  return has(key) ? t(key) : state;
}
