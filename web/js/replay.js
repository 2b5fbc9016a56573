// The replay page: a recording's audio, and its chat shown as the playhead passes each line's time.
// Words from the catalogs (replay.json); the show's title, names and chat are user content.
import { initI18n, t, timeElement } from './i18n.js';
import { fmtTime } from './util.js';

const $ = (id) => document.getElementById(id);

function chatLine(message) {
  const li = document.createElement("li");
  li.dataset.offsetMs = String(message.offset_ms);
  const time = document.createElement("span");
  time.className = "muted";
  time.textContent = `${fmtTime(message.offset_ms)} `;
  const name = document.createElement("strong");
  name.translate = false;
  name.textContent = `${message.name}: `;
  const text = document.createElement("span");
  text.translate = false;
  text.textContent = message.text;
  li.append(time, name, text);
  return li;
}

// Show the lines written up to the playhead (seeking back hides the later ones again).
function follow(audio, lines) {
  const list = $("replay-chat");
  let shown = 0;
  const update = () => {
    const now = audio.currentTime * 1000;
    let wanted = 0;
    while (wanted < lines.length && lines[wanted].offset_ms <= now) wanted += 1;
    if (wanted === shown) return;
    list.replaceChildren(...lines.slice(0, wanted).map(chatLine));
    shown = wanted;
    $("replay-chat-empty").hidden = shown > 0;
    list.lastElementChild?.scrollIntoView({ block: "nearest" });
  };
  audio.addEventListener("timeupdate", update);
  audio.addEventListener("seeked", update);
  update();
}

function showMeta(recording) {
  const host = document.createElement("span");
  host.textContent = t("replay.with", { host: recording.host_name });
  const started = timeElement(recording.started_at, { dateStyle: "medium", timeStyle: "short" });
  $("replay-meta").replaceChildren(host, " · ", started, ` · ${fmtTime(recording.duration_ms)}`);
}

async function main() {
  await initI18n("replay");
  const id = decodeURIComponent(location.pathname.split("/").pop() || "");
  const response = await fetch(`/api/recordings/${encodeURIComponent(id)}`).catch(() => null);
  if (!response || !response.ok) {
    $("replay-error").textContent = t(response ? "replay.gone" : "replay.unreachable");
    $("replay-error").hidden = false;
    return;
  }
  const recording = await response.json();
  document.title = t("replay.doc_title", { title: recording.title });
  $("replay-title").textContent = recording.title;
  $("replay-title").translate = false;
  showMeta(recording);
  const audio = $("replay-audio");
  audio.src = recording.url;
  $("replay-download").href = recording.url;
  follow(audio, recording.chat);
}

main();
