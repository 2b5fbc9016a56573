"""The operator's and the host's endpoints: reports, bans, the audit log; allowed and refused."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from signaling.app import create_app
from signaling.keys import STORE
from tests.clients import RoomClient
from tests.conftest import ADMIN_TOKEN, make_settings
from tests.test_live_show import wait_for
from tests.test_permissions import (
    AddressedClient,
    close_all,
    host_and,
    join_frames,
    refused_join,
    roster,
    settled,
)

OPERATOR = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
# Addresses of their own (all loopback), so bans here never touch the other tests' clients.
GLOBAL_BAN_ADDRESS = "127.0.0.3"
ROOM_BAN_ADDRESS = "127.0.0.4"


async def call(http: aiohttp.ClientSession, method: str, url: str, **kwargs: object) -> tuple[int, object]:
    async with http.request(method, url, **kwargs) as resp:  # type: ignore[arg-type]
        return resp.status, await resp.json()


async def create_room(http: aiohttp.ClientSession, base_url: str, title: str) -> dict:
    status, body = await call(http, "post", f"{base_url}/api/rooms", json={"title": title, "host_name": "H"})
    assert status == 201, body
    return body  # type: ignore[return-value]


def is_error(body: object, code: str) -> bool:
    return isinstance(body, dict) and body.get("error", {}).get("code") == code


# --- who may call ---------------------------------------------------------------------------

OPERATOR_CALLS = [
    ("get", "/api/reports", None),
    ("post", "/api/bans", {"ip": "192.0.2.1", "reason": "x"}),
    ("get", "/api/audit", None),
]


WRONG_CREDENTIALS = [
    {},
    {"Authorization": "Bearer wrong"},
    {"Authorization": ADMIN_TOKEN},  # no "Bearer "
    {"Authorization": f"Basic {ADMIN_TOKEN}"},
    {"Authorization": "Bearer "},
    {"Authorization": f"Bearer {ADMIN_TOKEN}x"},
]


async def test_operator_endpoints_refuse_without_the_admin_token(
    base_url: str, http: aiohttp.ClientSession, server: TestServer
) -> None:
    bans = len(server.app[STORE].bans())
    for method, path, body in OPERATOR_CALLS:
        for headers in WRONG_CREDENTIALS:
            status, answer = await call(http, method, base_url + path, json=body, headers=headers)
            assert status == 401 and is_error(answer, "unauthorized"), (path, headers, answer)
    assert len(server.app[STORE].bans()) == bans


@pytest.fixture
async def server_without_admin_token(shared_data_dir: Path) -> AsyncIterator[str]:
    srv = TestServer(create_app(make_settings(shared_data_dir, admin_token=None)), host="127.0.0.1")
    await srv.start_server()
    yield str(srv.make_url("")).rstrip("/")
    await srv.close()


async def test_operator_endpoints_are_forbidden_when_no_admin_token_is_configured(
    server_without_admin_token: str, http: aiohttp.ClientSession
) -> None:
    for method, path, body in OPERATOR_CALLS:
        for headers in ({}, {"Authorization": "Bearer "}, OPERATOR, {"Authorization": "Bearer None"}):
            status, answer = await call(
                http, method, server_without_admin_token + path, json=body, headers=headers
            )
            assert status == 403 and is_error(answer, "forbidden"), (path, headers, answer)


# --- reports ------------------------------------------------------------------------------------


async def test_reports_are_listed_newest_first(
    base_url: str, room: dict, http: aiohttp.ClientSession
) -> None:
    host, (reporter,) = await host_and(base_url, room, "Reporter")
    assert (await host.request({"type": "chat", "text": "questionable"}))["type"] == "ack"
    message_id = (await host.next("chat"))["message"]["message_id"]
    filed = [
        {"type": "report", "participant_id": host.participant_id, "reason": "first"},
        {"type": "report", "message_id": message_id, "reason": "second"},
        {
            "type": "report",
            "participant_id": host.participant_id,
            "message_id": message_id,
            "reason": "third",
        },
    ]
    for message in filed:
        assert (await reporter.request(message))["type"] == "ack"
    status, reports = await call(http, "get", f"{base_url}/api/reports", headers=OPERATOR)
    assert status == 200
    ours = [r for r in reports if r["room_id"] == room["room_id"]]  # type: ignore[union-attr]
    assert [r["reason"] for r in ours] == ["third", "second", "first"]
    third, second, first = ours
    assert set(first) == {"report_id", "room_id", "reporter_id", "participant_id", "reason", "at"}
    assert first["participant_id"] == host.participant_id and "message_id" not in first
    assert second["message_id"] == message_id and "participant_id" not in second
    assert third["participant_id"] == host.participant_id and third["message_id"] == message_id
    assert {r["reporter_id"] for r in ours} == {reporter.participant_id}
    assert len({r["report_id"] for r in ours}) == 3
    await close_all(host, reporter)


# --- bans ---------------------------------------------------------------------------------------


MALFORMED_BANS: list[object] = [
    {"reason": "no target"},
    {"participant_id": None, "ip": None, "reason": "null targets"},
    {"participant_id": "p_x"},
    {"participant_id": "p_x", "reason": 42},
    {"participant_id": "p_x", "reason": None},
    {"participant_id": "p_x", "reason": "r" * 501},
    {"participant_id": "p_x", "reason": "bad \ud800 text"},
    {"ip": "not-an-ip", "reason": "r"},
    {"ip": "300.1.1.1", "reason": "r"},
    {"ip": "", "reason": "r"},
    {"ip": 2130706433, "reason": "r"},
    {"ip": ["127.0.0.1"], "reason": "r"},
    {"participant_id": 7, "reason": "r"},
    {"participant_id": "", "reason": "r"},
    {"participant_id": "p" * 101, "reason": "r"},
    {"participant_id": "p_x", "reason": "r", "room_id": 5},
    "a string",
    ["a", "list"],
    None,
]


async def test_a_malformed_ban_is_a_bad_request_and_bans_nobody(
    base_url: str, http: aiohttp.ClientSession, server: TestServer
) -> None:
    bans = len(server.app[STORE].bans())
    headers = {**OPERATOR, "Content-Type": "application/json"}
    for body in [*(json.dumps(b) for b in MALFORMED_BANS), "{nope", ""]:
        status, answer = await call(http, "post", f"{base_url}/api/bans", data=body, headers=headers)
        assert status == 400 and is_error(answer, "bad_request"), (body, answer)
    assert len(server.app[STORE].bans()) == bans


async def test_a_ban_in_an_unknown_room_is_not_found(base_url: str, http: aiohttp.ClientSession) -> None:
    body = {"participant_id": "p_x", "reason": "r", "room_id": "no-such-room"}
    status, answer = await call(http, "post", f"{base_url}/api/bans", json=body, headers=OPERATOR)
    assert status == 404 and is_error(answer, "not_found")


async def test_a_ban_by_participant_removes_them_at_once_and_keeps_them_out(
    base_url: str, room: dict, http: aiohttp.ClientSession
) -> None:
    rid = room["room_id"]
    host, (victim, bystander) = await host_and(base_url, room, "Victim", "Bystander")
    await settled(victim)
    token = victim.welcome["resume_token"]
    body = {"participant_id": victim.participant_id, "reason": "  abuse  "}  # no room_id: every room
    status, ban = await call(http, "post", f"{base_url}/api/bans", json=body, headers=OPERATOR)
    assert status == 201, ban
    assert ban["participant_id"] == victim.participant_id and ban["reason"] == "abuse"  # type: ignore[index]
    assert ban["room_id"] is None and ban["ip"] is None and ban["removed"] == [victim.participant_id]  # type: ignore[index]
    assert ban["ban_id"] and ban["at"]  # type: ignore[index]
    assert (await victim.next("kicked"))["reason"] == "abuse"
    await wait_for(lambda: victim.close_code is not None)
    assert victim.close_code == 4003
    assert await refused_join(base_url, rid, "Victim", token=token) == ("banned", 4403)
    assert bystander.close_code is None and host.close_code is None
    assert set(await roster(base_url, rid)) == {host.participant_id, bystander.participant_id}
    await close_all(host, victim, bystander)


async def test_a_global_ban_by_address_empties_every_room_of_it_but_spares_hosts(
    base_url: str, http: aiohttp.ClientSession, server: TestServer
) -> None:
    rooms = [await create_room(http, base_url, f"Show {i}") for i in range(2)]
    hosts = [
        await AddressedClient(
            base_url, r["room_id"], "H", token=r["host_token"], local_ip=GLOBAL_BAN_ADDRESS
        ).connect()
        for r in rooms
    ]
    banned = [
        await AddressedClient(base_url, r["room_id"], "B", local_ip=GLOBAL_BAN_ADDRESS).connect()
        for r in rooms
    ]
    others = [await RoomClient(base_url, r["room_id"], "Other").connect() for r in rooms]
    await settled(*banned)
    ban_id = None
    try:
        body = {"ip": f"::ffff:{GLOBAL_BAN_ADDRESS}", "reason": "botnet"}
        status, ban = await call(http, "post", f"{base_url}/api/bans", json=body, headers=OPERATOR)
        assert status == 201, ban
        ban_id = ban["ban_id"]  # type: ignore[index]
        assert ban["ip"] == GLOBAL_BAN_ADDRESS and ban["room_id"] is None  # type: ignore[index]
        assert sorted(ban["removed"]) == sorted(c.participant_id for c in banned)  # type: ignore[index]
        for client in banned:
            await wait_for(lambda c=client: c.close_code is not None)
            assert client.close_code == 4003
        for r in rooms:
            code = await refused_join(base_url, r["room_id"], "New", local_ip=GLOBAL_BAN_ADDRESS)
            assert code == ("banned", 4403)
        for r, host, other in zip(rooms, hosts, others, strict=True):
            assert host.close_code is None and other.close_code is None
            assert set(await roster(base_url, r["room_id"])) == {host.participant_id, other.participant_id}
            status, log = await call(
                http,
                "get",
                f"{base_url}/api/rooms/{r['room_id']}/audit",
                headers={"Authorization": f"Bearer {r['host_token']}"},
            )
            assert status == 200 and log[0]["action"] == "operator_ban"  # type: ignore[index]
            assert log[0]["detail"]["ban_id"] == ban_id  # type: ignore[index]
    finally:
        if ban_id is not None:
            server.app[STORE].lift_ban(ban_id)
        await close_all(*hosts, *banned, *others)


async def test_a_room_ban_by_address_leaves_other_rooms_alone(
    base_url: str, room: dict, http: aiohttp.ClientSession
) -> None:
    elsewhere = await create_room(http, base_url, "Elsewhere")
    here = await AddressedClient(base_url, room["room_id"], "Here", local_ip=ROOM_BAN_ADDRESS).connect()
    there = await AddressedClient(
        base_url, elsewhere["room_id"], "There", local_ip=ROOM_BAN_ADDRESS
    ).connect()
    await settled(here, there)
    body = {"ip": ROOM_BAN_ADDRESS, "reason": "spam", "room_id": room["room_id"]}
    status, ban = await call(http, "post", f"{base_url}/api/bans", json=body, headers=OPERATOR)
    assert status == 201 and ban["removed"] == [here.participant_id], ban  # type: ignore[index]
    await wait_for(lambda: here.close_code is not None)
    assert here.close_code == 4003
    await asyncio.sleep(0.2)
    assert there.close_code is None
    first, _ = await join_frames(base_url, elsewhere["room_id"], "Again", local_ip=ROOM_BAN_ADDRESS)
    assert first["type"] == "welcome"
    await close_all(here, there)


# --- the audit log --------------------------------------------------------------------------


async def moderate(base_url: str, room: dict) -> tuple[RoomClient, list[RoomClient]]:
    """The host promotes, demotes and kicks: three audit entries, oldest first."""
    host, (guest, pest) = await host_and(base_url, room, "Guest", "Pest")
    for message in (
        {"type": "promote", "participant_id": guest.participant_id},
        {"type": "demote", "participant_id": guest.participant_id},
        {"type": "kick", "participant_id": pest.participant_id, "ban": False, "reason": "rude"},
    ):
        assert (await host.request(message))["type"] == "ack", message
    return host, [guest, pest]


async def test_the_host_reads_the_room_audit_log_newest_first(
    base_url: str, room: dict, http: aiohttp.ClientSession
) -> None:
    host, (guest, pest) = await moderate(base_url, room)
    status, log = await call(
        http,
        "get",
        f"{base_url}/api/rooms/{room['room_id']}/audit",
        headers={"Authorization": f"Bearer {room['host_token']}"},
    )
    assert status == 200
    assert [e["action"] for e in log] == ["kick", "demote", "promote"]  # type: ignore[union-attr]
    assert [e["target_id"] for e in log] == [pest.participant_id, guest.participant_id, guest.participant_id]  # type: ignore[union-attr]
    assert {e["actor_id"] for e in log} == {host.participant_id}  # type: ignore[union-attr]
    assert {e["room_id"] for e in log} == {room["room_id"]}  # type: ignore[union-attr]
    assert log[0]["detail"] == {"reason": "rude"}  # type: ignore[index]
    await close_all(host, guest, pest)


async def test_the_room_audit_log_is_for_its_host_only(
    base_url: str, room: dict, http: aiohttp.ClientSession
) -> None:
    host, (guest, pest) = await moderate(base_url, room)
    other_room = await create_room(http, base_url, "Another")
    url = f"{base_url}/api/rooms/{room['room_id']}/audit"
    for token in (None, "wrong", guest.welcome["resume_token"], other_room["host_token"], ADMIN_TOKEN):
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        status, answer = await call(http, "get", url, headers=headers)
        assert status == 401 and is_error(answer, "unauthorized"), (token, answer)
    headers = {"Authorization": f"Bearer {room['host_token']}"}
    status, answer = await call(http, "get", f"{base_url}/api/rooms/no-such-room/audit", headers=headers)
    assert status == 404 and is_error(answer, "not_found")
    await close_all(host, guest, pest)


async def test_the_operator_reads_every_audit_log(
    base_url: str, room: dict, http: aiohttp.ClientSession
) -> None:
    host, (guest, pest) = await moderate(base_url, room)
    body = {"participant_id": guest.participant_id, "reason": "enough", "room_id": room["room_id"]}
    status, ban = await call(http, "post", f"{base_url}/api/bans", json=body, headers=OPERATOR)
    assert status == 201, ban
    status, log = await call(
        http, "get", f"{base_url}/api/audit", params={"room_id": room["room_id"]}, headers=OPERATOR
    )
    assert status == 200
    assert [e["action"] for e in log] == ["operator_ban", "kick", "demote", "promote"]  # type: ignore[union-attr]
    entry = log[0]  # type: ignore[index]
    assert entry["actor_name"] == "operator" and entry["target_id"] == guest.participant_id
    assert entry["detail"]["ban_id"] == ban["ban_id"] and entry["detail"]["removed"] == [guest.participant_id]  # type: ignore[index]
    status, everything = await call(http, "get", f"{base_url}/api/audit", headers=OPERATOR)
    assert status == 200
    ours = [e for e in everything if e["room_id"] == room["room_id"]]  # type: ignore[union-attr]
    assert ours == log
    await close_all(host, guest, pest)
