// Shared WebRTC helpers.

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

export function newPeerConnection(iceServers) {
  return new RTCPeerConnection({ iceServers: Array.isArray(iceServers) ? iceServers : [] });
}
