// The replay page: a recording's audio, and its chat shown as the playhead passes each line's time.

const $ = (id) => document.getElementById(id);

function clock(ms) {
  const s = Math.floor(ms / 1000);
  const h = Math.floor(s / 3600);
  const mm = String(Math.floor((s % 3600) / 60)).padStart(h ? 2 : 1, "0");
  const ss = String(s % 60).padStart(2, "0");
  return h ? `${h}:${mm}:${ss}` : `${mm}:${ss}`;
}

function chatLine(message) {
  const li = document.createElement("li");
  li.dataset.offsetMs = String(message.offset_ms);
  const time = document.createElement("span");
  time.className = "muted";
  time.textContent = `${clock(message.offset_ms)} `;
  const name = document.createElement("strong");
  name.textContent = `${message.name}: `;
  const text = document.createElement("span");
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

async function main() {
  const id = decodeURIComponent(location.pathname.split("/").pop() || "");
  const response = await fetch(`/api/recordings/${encodeURIComponent(id)}`);
  if (!response.ok) {
    $("replay-error").textContent = "This recording does not exist (any more).";
    $("replay-error").hidden = false;
    return;
  }
  const recording = await response.json();
  document.title = `${recording.title} (replay) · OnAir`;
  $("replay-title").textContent = recording.title;
  const when = new Date(recording.started_at).toLocaleString();
  $("replay-meta").textContent = `with ${recording.host_name} · ${when} · ${clock(recording.duration_ms)}`;
  const audio = $("replay-audio");
  audio.src = recording.url;
  $("replay-download").href = recording.url;
  follow(audio, recording.chat);
}

main();
