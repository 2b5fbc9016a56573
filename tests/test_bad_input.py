"""Wrong and hostile input: a clear error code, and the server, room and others carry on."""

from __future__ import annotations

import asyncio
import json

import aiohttp
import pytest
from aiortc import RTCConfiguration, RTCPeerConnection

from tests.clients import EncodedToneTrack, RoomClient
from tests.helpers import on_air, wait_for


async def test_malformed_json_gets_bad_request_and_the_socket_stays(
    base_url: str, room: dict
) -> None:
    client = await RoomClient(base_url, room["room_id"], "Lis").connect()
    for raw in ("{not json", "[1, 2]", '"text"', "null", "{}"):
        await client.send_raw(raw)
        error = await client.next("error")
        assert error["code"] == "bad_request"
    pong = await client.request({"type": "ping", "t": 1})
    assert pong["type"] == "ack"
    await client.close()


async def test_unknown_type_and_wrong_fields_get_typed_errors(base_url: str, room: dict) -> None:
    client = await RoomClient(base_url, room["room_id"], "Lis").connect()
    cases = [
        ({"type": "teleport"}, "bad_request"),
        ({"type": 42}, "bad_request"),
        ({"type": "chat", "text": ""}, "bad_request"),
        ({"type": "chat", "text": "x" * 501}, "bad_request"),
        ({"type": "chat", "text": ["nested", {"deep": 1}]}, "bad_request"),
        ({"type": "ping", "t": "soon"}, "bad_request"),
        ({"type": "answer", "pc": "pub", "sdp": "v=0"}, "bad_request"),
        ({"type": "mute", "participant_id": "p_nobody", "muted": True}, "not_found"),
    ]
    for message, code in cases:
        reply = await client.request(message)
        assert reply["type"] == "error" and reply["code"] == code, (message, reply)
    await client.close()


async def test_a_frame_over_64_kib_closes_only_that_socket(base_url: str, room: dict) -> None:
    bystander = await RoomClient(base_url, room["room_id"], "Other").connect()
    big = await RoomClient(base_url, room["room_id"], "Big").connect()
    await big.send_raw(json.dumps({"type": "chat", "text": "x" * 70_000}))
    await wait_for(lambda: big.close_code is not None)
    assert big.close_code == 1009
    reply = await bystander.request({"type": "chat", "text": "still here"})
    assert reply["type"] == "ack"
    await asyncio.gather(big.close(), bystander.close())


async def test_invalid_sdp_is_refused_and_media_carries_on(base_url: str, room: dict) -> None:
    listener = await RoomClient(base_url, room["room_id"], "Lis").connect()
    host = await RoomClient(base_url, room["room_id"], "Hosty", token=room["host_token"]).connect()
    for sdp in ("hello", "v=0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\n", 12, None):
        reply = await host.request({"type": "offer", "pc": "pub", "sdp": sdp})
        assert reply["type"] == "error" and reply["code"] == "bad_request"
    reply = await listener.request({"type": "answer", "pc": "sub", "sdp": "v=0 garbage"})
    assert reply["type"] == "error" and reply["code"] in ("bad_request", "conflict")
    before = len(listener.payloads.get("0", []))
    await asyncio.sleep(1.0)
    assert len(listener.payloads["0"]) - before > 30, "music stopped"
    await asyncio.gather(listener.close(), host.close())


async def test_a_listener_may_not_publish_and_is_never_forwarded(base_url: str, room: dict) -> None:

    host, _ = await on_air(base_url, room, freq=1000.0)
    other = await RoomClient(base_url, room["room_id"], "Other").connect()
    sneaky = await RoomClient(base_url, room["room_id"], "Sneaky").connect()
    track = EncodedToneTrack(3000.0)

    sneaky.pub = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    sneaky.pub.addTransceiver(track, direction="sendonly")
    await sneaky.pub.setLocalDescription(await sneaky.pub.createOffer())
    reply = await sneaky.request(
        {"type": "offer", "pc": "pub", "sdp": sneaky.pub.localDescription.sdp}
    )
    assert reply["type"] == "error" and reply["code"] == "forbidden"
    await asyncio.sleep(2.0)
    voices = [t for t in other.tracks if t["kind"] == "voice"]
    assert [t["participant_id"] for t in voices] == [host.participant_id]
    assert not sneaky.messages["answer"]
    await asyncio.gather(host.close(), other.close(), sneaky.close())


async def test_wrong_host_token_and_missing_room_are_refused_at_join(
    base_url: str, room: dict
) -> None:
    cases = [
        (room["room_id"], {"name": "X", "token": "not-the-token"}, "unauthorized", 4401),
        ("no-such-room", {"name": "X"}, "not_found", 4404),
        (room["room_id"], {"name": "   "}, "bad_request", 4400),
        (room["room_id"], {"name": "n" * 41}, "bad_request", 4400),
    ]
    async with aiohttp.ClientSession() as http:
        for room_id, params, code, close_code in cases:
            ws = await http.ws_connect(f"{base_url}/api/rooms/{room_id}/ws", params=params)
            frame = await ws.receive_json(timeout=5)
            assert frame["type"] == "error" and frame["code"] == code and frame["message"]
            if code == "bad_request":  # a name the page can explain in its own language
                assert frame["reason"] == "name_invalid" and frame["params"] == {"max": 40}, frame
            else:
                assert "reason" not in frame, frame
            closing = await ws.receive(timeout=5)
            assert closing.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)
            assert ws.close_code == close_code
            await ws.close()
    client = await RoomClient(base_url, room["room_id"], "Fine").connect()
    assert client.welcome["role"] == "listener"
    await client.close()


@pytest.mark.parametrize(
    ("method", "path", "body", "headers", "status", "code"),
    [
        ("post", "/api/rooms", "not json", {}, 400, "bad_request"),
        ("post", "/api/rooms", {"title": "", "host_name": "h"}, {}, 400, "bad_request"),
        ("post", "/api/rooms", {"title": "t" * 101, "host_name": "h"}, {}, 400, "bad_request"),
        ("get", "/api/rooms/nope", None, {}, 404, "not_found"),
        (
            "delete",
            "/api/rooms/{room}",
            None,
            {"Authorization": "Bearer wrong"},
            401,
            "unauthorized",
        ),
        ("delete", "/api/rooms/{room}", None, {}, 401, "unauthorized"),
        ("get", "/metrics", None, {"Authorization": "Bearer wrong"}, 401, "unauthorized"),
        ("get", "/api/tracks?limit=lots", None, {}, 400, "bad_request"),
    ],
)
async def test_http_errors_carry_their_code(
    base_url: str,
    room: dict,
    http: aiohttp.ClientSession,
    method: str,
    path: str,
    body: object,
    headers: dict,
    status: int,
    code: str,
) -> None:
    kwargs: dict = {"headers": headers}
    if isinstance(body, dict):
        kwargs["json"] = body
    elif body is not None:
        kwargs["data"] = body
    async with http.request(method, base_url + path.format(room=room["room_id"]), **kwargs) as resp:
        assert resp.status == status
        assert (await resp.json())["error"]["code"] == code
    async with http.get(f"{base_url}/api/rooms/{room['room_id']}") as resp:
        assert resp.status == 200


async def test_a_foreign_origin_cannot_open_a_room_socket(base_url: str, room: dict) -> None:
    async with aiohttp.ClientSession() as http:
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await http.ws_connect(
                f"{base_url}/api/rooms/{room['room_id']}/ws",
                params={"name": "X"},
                headers={"Origin": "https://evil.example"},
            )
        assert refused.value.status == 403
