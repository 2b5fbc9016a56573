// The embeddable player: the show's HTTP stream (listen.mp3), what plays now, and a live badge.
// No chat, no account, no WebRTC: any site may frame it. Words from the catalogs (embed.json).
import { initI18n, t } from './i18n.js';

await initI18n("embed");

const $ = (id) => document.getElementById(id);
const roomId = decodeURIComponent(location.pathname.split("/").filter(Boolean).pop() || "");
const audio = $("embed-audio");
const button = $("embed-play");
let live = false;
let analyser = null;

function nowPlayingText(np) {
  if (!np || !np.track) return "";
  const { artist, title } = np.track;
  return artist ? `${artist} - ${title}` : title;
}

async function refresh() {
  const response = await fetch(`/api/rooms/${encodeURIComponent(roomId)}`).catch(() => null);
  if (!response || !response.ok) {
    live = false;
    $("embed-now").textContent = t(response ? "embed.over" : "embed.unreachable");
    $("embed-now").translate = true;
    if (!audio.paused) stop();
    button.disabled = Boolean(response);
  } else {
    const room = await response.json();
    live = true;
    $("embed-title").textContent = room.title;
    $("embed-title").translate = false;
    $("embed-title").href = `/r/${encodeURIComponent(roomId)}`;
    $("embed-host").textContent = t("embed.with", { host: room.host_name });
    $("embed-now").textContent = nowPlayingText(room.now_playing);
    $("embed-now").translate = false; // a track's artist and title
  }
  $("embed-live").hidden = !(live && !audio.paused);
}

// A level meter from WebAudio; its value is also kept in data-level (0..1) for checks.
function meter() {
  if (!analyser) {
    const context = new AudioContext();
    analyser = context.createAnalyser();
    analyser.fftSize = 2048;
    context.createMediaElementSource(audio).connect(analyser);
    analyser.connect(context.destination);
  }
  const data = new Float32Array(analyser.fftSize);
  const draw = () => {
    analyser.getFloatTimeDomainData(data);
    let sum = 0;
    for (const v of data) sum += v * v;
    const rms = Math.sqrt(sum / data.length);
    $("embed-meter").style.width = `${Math.min(100, rms * 300)}%`;
    $("embed-meter").dataset.level = rms.toFixed(4);
    if (!audio.paused) requestAnimationFrame(draw);
  };
  draw();
}

function play() {
  // A live stream starts where the show is now: a fresh connection each time.
  audio.src = `/r/${encodeURIComponent(roomId)}/listen.mp3?t=${Date.now()}`;
  audio.play().then(() => {
    button.textContent = t("embed.pause");
    button.setAttribute("aria-pressed", "true");
    meter();
    refresh();
  }).catch(() => {
    $("embed-now").textContent = t("embed.press_play");
    $("embed-now").translate = true;
  });
}

function stop() {
  audio.pause();
  audio.removeAttribute("src");
  audio.load(); // drops the connection: nothing piles up while paused
  button.textContent = t("embed.play");
  button.setAttribute("aria-pressed", "false");
  $("embed-live").hidden = true;
}

button.addEventListener("click", () => (audio.paused ? play() : stop()));
refresh();
setInterval(refresh, 5000);
if (new URLSearchParams(location.search).get("autoplay") === "1") play();
