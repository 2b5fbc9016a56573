// Shared WebRTC helpers: peer connections as the server configures them, and
// telling the listener when the audio relay (TURN) cannot be reached.
import { t } from './i18n.js';

/** Resolve when ICE gathering is complete, or after `timeoutMs`. */
export function waitGathering(pc, timeoutMs = 2000) {
  if (pc.iceGatheringState === 'complete') return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      pc.removeEventListener('icegatheringstatechange', check);
      resolve();
    };
    const check = () => { if (pc.iceGatheringState === 'complete') done(); };
    const timer = setTimeout(done, timeoutMs);
    pc.addEventListener('icegatheringstatechange', check);
  });
}

/** A peer connection with the server's ICE servers and transport policy ('all' or 'relay'). */
export function newPeerConnection(iceServers, policy = 'all') {
  return new RTCPeerConnection({
    iceServers: Array.isArray(iceServers) ? iceServers : [],
    iceTransportPolicy: policy === 'relay' ? 'relay' : 'all',
  });
}

const urlsOf = (server) => [].concat((server && server.urls) || []);
const isTurn = (url) => typeof url === 'string' && /^turns?:/i.test(url);

/** Does this list name a TURN server? */
export function hasTurn(iceServers) {
  return Array.isArray(iceServers) && iceServers.some((s) => urlsOf(s).some(isTurn));
}

/** Will a minted TURN credential ("<unix expiry>:<id>") stop working within `marginS` seconds? */
export function turnExpiresSoon(iceServers, marginS = 60) {
  if (!Array.isArray(iceServers)) return false;
  return iceServers.some((s) => {
    const m = urlsOf(s).some(isTurn) && /^(\d+):/.exec(String(s.username || ''));
    return !!m && Number(m[1]) * 1000 - Date.now() < marginS * 1000;
  });
}

// Why the relay gave no candidate, by the ICE candidate error's code (room.relay.why.<code>).
const RELAY_ERRORS = new Set([401, 403, 701]);

/**
 * Watch `pc` for a TURN server that gives no relay candidate, and call
 * `onProblem(text)` once when that leaves no way for audio to arrive: at once
 * with policy 'relay' (relay candidates are the only ones), else when ICE fails.
 */
export function watchRelay(pc, { iceServers, policy, onProblem }) {
  if (!hasTurn(iceServers)) return;
  let relays = 0;
  let reason = '';
  let told = false;
  const tell = () => {
    if (told || relays > 0) return;
    told = true;
    const which = policy === 'relay' ? 'room.relay.only' : 'room.relay.direct_failed';
    onProblem(reason ? t(`${which}_why`, { why: reason }) : t(which));
  };
  pc.addEventListener('icecandidate', (ev) => {
    if (ev.candidate && ev.candidate.type === 'relay') relays += 1;
  });
  pc.addEventListener('icecandidateerror', (ev) => {
    if (!isTurn(ev.url)) return;
    reason = RELAY_ERRORS.has(ev.errorCode) ? t(`room.relay.why.${ev.errorCode}`)
      : t('room.relay.why.other', { code: String(ev.errorCode) });
  });
  pc.addEventListener('icegatheringstatechange', () => {
    if (pc.iceGatheringState === 'complete' && policy === 'relay') tell();
  });
  pc.addEventListener('iceconnectionstatechange', () => {
    if (pc.iceConnectionState === 'failed') tell();
  });
}
