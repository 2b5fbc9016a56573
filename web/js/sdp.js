// SDP munging: ask for stereo Opus on one m-line (the music), identified by its mid.

/**
 * Return `sdp` with `stereo=1` in the Opus fmtp line of the m-section whose
 * a=mid is `mid`. Other sections are left untouched; an Opus payload with no
 * fmtp line gets one.
 */
export function addStereo(sdp, mid) {
  const eol = sdp.includes('\r\n') ? '\r\n' : '\n';
  const lines = sdp.split(eol);
  const starts = [];
  lines.forEach((line, i) => { if (line.startsWith('m=')) starts.push(i); });
  for (let s = 0; s < starts.length; s += 1) {
    const from = starts[s];
    const to = s + 1 < starts.length ? starts[s + 1] : lines.length;
    const section = lines.slice(from, to);
    if (!section.includes(`a=mid:${mid}`)) continue;
    const rtpmapAt = section.findIndex((l) => /^a=rtpmap:\d+ opus\/48000/i.test(l));
    if (rtpmapAt < 0) return sdp;
    const pt = section[rtpmapAt].match(/^a=rtpmap:(\d+)/)[1];
    const fmtpAt = section.findIndex((l) => l.startsWith(`a=fmtp:${pt} `));
    if (fmtpAt >= 0) {
      section[fmtpAt] = withParam(section[fmtpAt], pt, 'stereo', '1');
    } else {
      section.splice(rtpmapAt + 1, 0, `a=fmtp:${pt} stereo=1`);
    }
    return [...lines.slice(0, from), ...section, ...lines.slice(to)].join(eol);
  }
  return sdp;
}

function withParam(line, pt, name, value) {
  const prefix = `a=fmtp:${pt} `;
  const params = line.slice(prefix.length).split(';').map((p) => p.trim()).filter(Boolean);
  const i = params.findIndex((p) => p.split('=')[0].trim().toLowerCase() === name);
  if (i >= 0) params[i] = `${name}=${value}`;
  else params.push(`${name}=${value}`);
  return prefix + params.join(';');
}
