"""Steps the console, replay and i18n browser tests share: a report filed from the page's own
sockets, an upload with a host's token, a short recorded show."""

from __future__ import annotations

import asyncio
import json
import secrets
import urllib.request
from pathlib import Path

from benchmarks.server import LocalServer
from tests.clients import RoomClient

CHAT_AT_S = 2.0

# Two bare participants: Pest chats, Reporter reports Pest and the message.
FILE_A_REPORT = """
async ({ roomId, text, reason }) => {
  const open = (name) => new Promise((resolve, reject) => {
    const url = `${location.origin.replace(/^http/, 'ws')}/api/rooms/${roomId}/ws?name=${name}`;
    const ws = new WebSocket(url);
    const inbox = [];
    ws.onmessage = (e) => {
      const m = JSON.parse(e.data);
      inbox.push(m);
      if (m.type === 'welcome') resolve({ ws, inbox, id: m.participant_id });
      if (m.type === 'error' && !m.ref) reject(new Error(m.code));
    };
  });
  const request = (who, msg) => new Promise((resolve) => {
    const id = `r${Math.random()}`;
    const seen = (e) => {
      const m = JSON.parse(e.data);
      if (m.ref === id) { who.ws.removeEventListener('message', seen); resolve(m); }
    };
    who.ws.addEventListener('message', seen);
    who.ws.send(JSON.stringify({ ...msg, id }));
  });
  const pest = await open('Pest');
  const reporter = await open('Reporter');
  const said = await request(pest, { type: 'chat', text });
  const message = pest.inbox.find((m) => m.type === 'chat').message;
  const filed = await request(reporter, {
    type: 'report', participant_id: pest.id, message_id: message.message_id, reason });
  pest.ws.close();
  reporter.ws.close();
  return { said: said.type, filed: filed.type };
}
"""


def upload(server: LocalServer, audio: Path, host_token: str) -> dict:
    boundary = secrets.token_hex(12)
    body = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{audio.name}"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n"
    ).encode() + audio.read_bytes() + f"\r\n--{boundary}--\r\n".encode()
    headers = {
        "Authorization": f"Bearer {host_token}",
        "Content-Type": f"multipart/form-data; boundary={boundary}",
    }
    req = urllib.request.Request(f"{server.url}/api/tracks", method="POST", data=body, headers=headers)
    with urllib.request.urlopen(req, timeout=30) as resp:
        assert resp.status == 201
        return json.loads(resp.read())


async def record_a_show(base_url: str, room: dict) -> str:
    """The host records 5 s of the show, saying something in chat 2 s in: the recording's id."""
    host = RoomClient(base_url, room["room_id"], "Rita", token=room["host_token"], media=False)
    await host.connect()
    try:
        assert (await host.request({"type": "record", "on": True}))["type"] == "ack"
        recording_id = str((await host.next("recording", on=True))["recording_id"])
        await asyncio.sleep(CHAT_AT_S)
        assert (await host.request({"type": "chat", "text": "two seconds in"}))["type"] == "ack"
        await asyncio.sleep(5.0 - CHAT_AT_S)
        assert (await host.request({"type": "record", "on": False}))["type"] == "ack"
        return recording_id
    finally:
        await host.close()
