"""The operator's and the host's endpoints: reports, bans, the audit log; allowed and refused."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from signaling.keys import REGISTRY, STORE
from tests.clients import RoomClient
from tests.helpers import (
    ADMIN_TOKEN,
    OPERATOR,
    call,
    close_all,
    create_room,
    host_and,
    join_frames,
    make_settings,
    refused_join,
    roster,
    settled,
    start_server,
    url_of,
    wait_for,
)

# Addresses of their own (all loopback), so bans here never touch the other tests' clients.
GLOBAL_BAN_ADDRESS = "127.0.0.3"
ROOM_BAN_ADDRESS = "127.0.0.4"


def is_error(body: object, code: str) -> bool:
    return isinstance(body, dict) and body.get("error", {}).get("code") == code


# --- who may call ---------------------------------------------------------------------------

OPERATOR_CALLS = [
    ("get", "/api/reports", None),
    ("post", "/api/reports/rep_nope", {"status": "resolved"}),
    ("get", "/api/bans", None),
    ("post", "/api/bans", {"ip": "192.0.2.1", "reason": "x"}),
    ("delete", "/api/bans/b_nope", None),
    ("delete", "/api/tracks/nope", None),
    ("get", "/api/audit", None),
    ("get", "/api/admin/rooms", None),
    ("get", "/api/admin/stats", None),
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
    srv = await start_server(make_settings(shared_data_dir, admin_token=None))
    yield url_of(srv)
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
    assert set(first) == {
        "report_id", "room_id", "reporter_id", "participant_id", "reason", "at", "status",
        "reporter_name", "participant_name",  # for the console
    }
    assert {r["status"] for r in ours} == {"open"} and not any("note" in r for r in ours)
    assert first["reporter_name"] == "Reporter" and first["participant_name"] == "Hosty"
    assert first["participant_id"] == host.participant_id and "message_id" not in first
    assert second["message_id"] == message_id and "participant_id" not in second
    assert second["message_text"] == "questionable" and second["message_author"] == "Hosty"
    assert second["message_deleted"] is False
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
        await RoomClient(
            base_url, r["room_id"], "H", token=r["host_token"], local_ip=GLOBAL_BAN_ADDRESS
        ).connect()
        for r in rooms
    ]
    banned = [
        await RoomClient(base_url, r["room_id"], "B", local_ip=GLOBAL_BAN_ADDRESS).connect()
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
    here = await RoomClient(base_url, room["room_id"], "Here", local_ip=ROOM_BAN_ADDRESS).connect()
    there = await RoomClient(
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


# --- the refused side of the console's endpoints, with real things to act on ----------------------


async def first_track_id(http: aiohttp.ClientSession, base_url: str) -> str:
    status, tracks = await call(http, "get", f"{base_url}/api/tracks", params={"limit": "1"})
    assert status == 200 and tracks
    return tracks[0]["track_id"]  # type: ignore[index]


async def test_refused_operator_calls_change_nothing(
    base_url: str, room: dict, http: aiohttp.ClientSession, server: TestServer
) -> None:
    rid = room["room_id"]
    host, (listener, pest) = await host_and(base_url, room, "Listener", "Pest")
    assert (await listener.request({"type": "report", "participant_id": pest.participant_id,
                                    "reason": "rude"}))["type"] == "ack"
    report_id = server.app[STORE].reports()[0]["report_id"]
    body = {"ip": ROOM_BAN_ADDRESS, "reason": "x", "room_id": rid}
    _, ban = await call(http, "post", f"{base_url}/api/bans", json=body, headers=OPERATOR)
    track_id = await first_track_id(http, base_url)
    other = await create_room(http, base_url, "Someone else's")
    attempts = [
        ("delete", f"/api/rooms/{rid}", None),
        ("delete", f"/api/bans/{ban['ban_id']}", None),  # type: ignore[index]
        ("post", f"/api/reports/{report_id}", {"status": "dismissed", "note": "no"}),
        ("delete", f"/api/tracks/{track_id}", None),
    ]
    credentials = [
        *WRONG_CREDENTIALS,
        {"Authorization": f"Bearer {other['host_token']}"},  # a host, of another room
        {"Authorization": f"Bearer {listener.welcome['resume_token']}"},
        {"Authorization": f"Bearer {room['host_token']}"},  # this room's host: not the operator
    ]
    for method, path, payload in attempts:
        for headers in credentials:
            if path.startswith("/api/rooms/") and headers == credentials[-1]:
                continue  # the host may end their own room: tried last, below
            status, answer = await call(http, method, base_url + path, json=payload, headers=headers)
            assert status == 401 and is_error(answer, "unauthorized"), (path, headers, answer)
    assert server.app[STORE].reports()[0]["status"] == "open"
    assert ban["ban_id"] in [b["ban_id"] for b in server.app[STORE].bans()]  # type: ignore[index]
    assert track_id in [t["track_id"] for t in (await call(http, "get", f"{base_url}/api/tracks",
                                                             params={"limit": "200"}))[1]]  # type: ignore[union-attr]
    assert listener.close_code is None and (await call(http, "get", f"{base_url}/api/rooms/{rid}"))[0] == 200
    server.app[STORE].lift_ban(ban["ban_id"])  # type: ignore[index]
    await close_all(host, listener, pest)


async def test_without_an_admin_token_only_the_host_ends_a_room(
    server_without_admin_token: str, http: aiohttp.ClientSession
) -> None:
    base = server_without_admin_token
    room = await create_room(http, base, "No operator here")
    url = f"{base}/api/rooms/{room['room_id']}"
    for headers in ({}, OPERATOR, {"Authorization": "Bearer None"}, {"Authorization": "Bearer "}):
        status, answer = await call(http, "delete", url, headers=headers)
        assert status == 401 and is_error(answer, "unauthorized"), (headers, answer)
    assert (await call(http, "get", url))[0] == 200
    status, _ = await call(http, "delete", url, headers={"Authorization": f"Bearer {room['host_token']}"})
    assert status == 204 and (await call(http, "get", url))[0] == 404


# --- ending any room ----------------------------------------------------------------------------


async def test_the_operator_ends_any_room_and_the_host_token_still_works(
    base_url: str, room: dict, http: aiohttp.ClientSession
) -> None:
    rid = room["room_id"]
    host, (listener,) = await host_and(base_url, room, "Ears")
    status, _ = await call(http, "delete", f"{base_url}/api/rooms/{rid}", headers=OPERATOR)
    assert status == 204
    for client in (listener, host):
        await client.next("room_ended")
        await wait_for(lambda c=client: c.close_code is not None)
        assert client.close_code == 4004
    assert (await call(http, "get", f"{base_url}/api/rooms/{rid}"))[0] == 404
    status, answer = await call(http, "delete", f"{base_url}/api/rooms/{rid}", headers=OPERATOR)
    assert status == 404 and is_error(answer, "not_found")
    _, log = await call(http, "get", f"{base_url}/api/audit", params={"room_id": rid}, headers=OPERATOR)
    assert log[0]["action"] == "operator_end_room" and log[0]["actor_name"] == "operator"  # type: ignore[index]
    assert log[0]["detail"] == {"title": "Test show"}  # type: ignore[index]
    other = await create_room(http, base_url, "Host ends it")
    headers = {"Authorization": f"Bearer {other['host_token']}"}
    status, _ = await call(http, "delete", f"{base_url}/api/rooms/{other['room_id']}", headers=headers)
    assert status == 204
    await close_all(host, listener)


# --- bans: listed and lifted ----------------------------------------------------------------------

LIFT_ADDRESS = "127.0.0.5"


async def lift(http: aiohttp.ClientSession, base_url: str, ban_id: str) -> int:
    status, _ = await call(http, "delete", f"{base_url}/api/bans/{ban_id}", headers=OPERATOR)
    return status


async def test_bans_are_listed_newest_first_and_a_lifted_ban_judges_nobody(
    base_url: str, room: dict, http: aiohttp.ClientSession
) -> None:
    rid = room["room_id"]
    host, (victim,) = await host_and(base_url, room, "Victim")
    token = victim.welcome["resume_token"]
    made = []
    for body in ({"participant_id": victim.participant_id, "reason": "abuse", "room_id": rid},
                 {"ip": LIFT_ADDRESS, "reason": "flood", "room_id": rid}):
        status, ban = await call(http, "post", f"{base_url}/api/bans", json=body, headers=OPERATOR)
        assert status == 201, ban
        made.append(ban)
    by_id, by_ip = made
    status, listed = await call(http, "get", f"{base_url}/api/bans", headers=OPERATOR)
    assert status == 200
    ours = [b for b in listed if b["room_id"] == rid]  # type: ignore[union-attr]
    assert [b["ban_id"] for b in ours] == [by_ip["ban_id"], by_id["ban_id"]]  # newest first
    assert ours[1]["name"] == "Victim" and ours[1]["participant_id"] == victim.participant_id
    assert set(ours[0]) == {"ban_id", "room_id", "participant_id", "ip", "reason", "at", "by", "name"}
    await wait_for(lambda: victim.close_code is not None)
    assert await refused_join(base_url, rid, "Victim", token=token) == ("banned", 4403)
    assert await refused_join(base_url, rid, "New", local_ip=LIFT_ADDRESS) == ("banned", 4403)

    assert await lift(http, base_url, by_id["ban_id"]) == 204
    first, _ = await join_frames(base_url, rid, "Victim", token=token)
    assert first["type"] == "welcome" and first["participant_id"] == victim.participant_id
    assert await refused_join(base_url, rid, "New", local_ip=LIFT_ADDRESS) == ("banned", 4403)
    assert await lift(http, base_url, by_ip["ban_id"]) == 204
    first, _ = await join_frames(base_url, rid, "New", local_ip=LIFT_ADDRESS)
    assert first["type"] == "welcome"
    _, listed = await call(http, "get", f"{base_url}/api/bans", headers=OPERATOR)
    assert not [b for b in listed if b["room_id"] == rid]  # type: ignore[union-attr]
    for ban_id in (by_id["ban_id"], "b_never", "x" * 300):
        status, answer = await call(http, "delete", f"{base_url}/api/bans/{ban_id}", headers=OPERATOR)
        assert status == 404 and is_error(answer, "not_found"), ban_id
    _, log = await call(http, "get", f"{base_url}/api/audit", params={"room_id": rid}, headers=OPERATOR)
    unbans = [e for e in log if e["action"] == "operator_unban"]  # type: ignore[union-attr]
    assert [e["detail"]["ban_id"] for e in unbans] == [by_ip["ban_id"], by_id["ban_id"]]
    await close_all(host, victim)


async def test_the_operator_lifts_a_hosts_kick_ban_that_caught_a_whole_address(
    base_url: str, room: dict, http: aiohttp.ClientSession
) -> None:
    """Behind a proxy everyone has one address: a host's kick with ban shuts the room to all."""
    rid = room["room_id"]
    host, (pest,) = await host_and(base_url, room, "Pest")
    token = pest.welcome["resume_token"]
    message = {"type": "kick", "participant_id": pest.participant_id, "ban": True}
    assert (await host.request(message))["type"] == "ack"
    assert await refused_join(base_url, rid, "Newcomer") == ("banned", 4403)  # same 127.0.0.1
    _, listed = await call(http, "get", f"{base_url}/api/bans", headers=OPERATOR)
    (ban,) = [b for b in listed if b["room_id"] == rid]  # type: ignore[union-attr]
    assert ban["by"] == host.participant_id and ban["ip"] == "127.0.0.1" and ban["name"] == "Pest"
    assert await lift(http, base_url, ban["ban_id"]) == 204
    first, _ = await join_frames(base_url, rid, "Newcomer")
    assert first["type"] == "welcome"
    first, _ = await join_frames(base_url, rid, "Pest", token=token)
    assert first["type"] == "welcome" and first["participant_id"] == pest.participant_id
    await close_all(host, pest)


# --- reports: resolved or dismissed ------------------------------------------------------------


async def file_reports(
    http: aiohttp.ClientSession, base_url: str, room: dict, count: int
) -> tuple[list[RoomClient], list[str]]:
    """A host, a reporter and a target; ``count`` reports about the target (their ids, oldest first)."""
    host, (reporter, target) = await host_and(base_url, room, "Reporter", "Target")
    for n in range(count):
        message = {"type": "report", "participant_id": target.participant_id, "reason": f"reason {n}"}
        assert (await reporter.request(message))["type"] == "ack"
    _, reports = await call(http, "get", f"{base_url}/api/reports", headers=OPERATOR)
    ours = [r["report_id"] for r in reports if r["room_id"] == room["room_id"]]  # type: ignore[union-attr]
    return [host, reporter, target], list(reversed(ours))


async def test_a_report_is_resolved_or_dismissed_with_a_note(
    base_url: str, room: dict, http: aiohttp.ClientSession
) -> None:
    clients, (first, second) = await file_reports(http, base_url, room, 2)
    url = f"{base_url}/api/reports"
    status, done = await call(http, "post", f"{url}/{first}",
                              json={"status": "resolved", "note": "  spoke to them  "}, headers=OPERATOR)
    assert status == 200, done
    assert done["report_id"] == first and done["status"] == "resolved"  # type: ignore[index]
    assert done["note"] == "spoke to them" and done["resolved_at"] and done["reason"] == "reason 0"  # type: ignore[index]
    status, dropped = await call(http, "post", f"{url}/{second}", json={"status": "dismissed"},
                                 headers=OPERATOR)
    assert status == 200 and dropped["status"] == "dismissed" and "note" not in dropped  # type: ignore[index, operator]

    async def ids(status: str) -> list[str]:
        code, reports = await call(http, "get", url, params={"status": status}, headers=OPERATOR)
        assert code == 200
        return [r["report_id"] for r in reports if r["room_id"] == room["room_id"]]  # type: ignore[union-attr]

    assert await ids("open") == [] and await ids("resolved") == [first] and await ids("dismissed") == [second]
    status, answer = await call(http, "get", url, params={"status": "bogus"}, headers=OPERATOR)
    assert status == 400 and is_error(answer, "bad_request")
    status, changed = await call(http, "post", f"{url}/{first}", json={"status": "dismissed", "note": ""},
                                 headers=OPERATOR)
    assert status == 200 and changed["status"] == "dismissed" and "note" not in changed  # type: ignore[index, operator]
    _, log = await call(http, "get", f"{base_url}/api/audit", params={"room_id": room["room_id"]},
                        headers=OPERATOR)
    assert [(e["action"], e["detail"]["report_id"]) for e in log[:3]] == [  # type: ignore[index]
        ("report_dismissed", first), ("report_dismissed", second), ("report_resolved", first)]
    await close_all(*clients)


BAD_RESOLUTIONS: list[object] = [
    {},
    {"status": "open"},
    {"status": "closed"},
    {"status": None},
    {"status": ["resolved"]},
    {"status": "resolved", "note": 5},
    {"status": "resolved", "note": "n" * 501},
    {"status": "resolved", "note": "bad \ud800 text"},
    {"status": "resolved", "note": "bell \x07"},
    ["resolved"],
    "resolved",
]


async def test_a_malformed_resolution_is_a_bad_request_and_changes_nothing(
    base_url: str, room: dict, http: aiohttp.ClientSession, server: TestServer
) -> None:
    clients, (report_id,) = await file_reports(http, base_url, room, 1)
    url = f"{base_url}/api/reports/{report_id}"
    headers = {**OPERATOR, "Content-Type": "application/json"}
    for body in [*(json.dumps(b) for b in BAD_RESOLUTIONS), "{nope", ""]:
        status, answer = await call(http, "post", url, data=body, headers=headers)
        assert status == 400 and is_error(answer, "bad_request"), (body, answer)
    assert server.app[STORE].report(report_id)["status"] == "open"  # type: ignore[index]
    for unknown in ("rep_nope", "r" * 300):
        status, answer = await call(http, "post", f"{base_url}/api/reports/{unknown}",
                                    json={"status": "resolved"}, headers=OPERATOR)
        assert status == 404 and is_error(answer, "not_found")
    await close_all(*clients)


# --- a report may name who was in the room, whatever became of them -------------------------------


async def gone_from(server: TestServer, rid: str, client: RoomClient) -> None:
    """Until the room has let go of ``client`` (their socket closed and their leaving done)."""
    await wait_for(lambda: client.close_code is not None)
    await wait_for(lambda: client.participant_id not in server.app[REGISTRY].get(rid).participants)  # type: ignore[union-attr]


async def test_a_report_may_name_the_kicked_the_banned_the_gone_and_a_deleted_message(
    base_url: str, room: dict, http: aiohttp.ClientSession, server: TestServer
) -> None:
    rid = room["room_id"]
    host, (reporter, kicked, banned, leaver) = await host_and(
        base_url, room, "Reporter", "Kicked", "Banned", "Leaver"
    )
    assert (await kicked.request({"type": "chat", "text": "nasty words"}))["type"] == "ack"
    message_id = (await kicked.next("chat"))["message"]["message_id"]
    assert (await host.request({"type": "delete_message", "message_id": message_id}))["type"] == "ack"
    for target, ban in ((kicked, False), (banned, True)):
        message = {"type": "kick", "participant_id": target.participant_id, "ban": ban}
        assert (await host.request(message))["type"] == "ack"
    await leaver.close()
    for client in (kicked, banned, leaver):
        await gone_from(server, rid, client)
    filed = [
        {"participant_id": kicked.participant_id, "reason": "was kicked"},
        {"participant_id": banned.participant_id, "reason": "was banned"},
        {"participant_id": leaver.participant_id, "reason": "left"},
        {"message_id": message_id, "reason": "deleted message"},
        {"participant_id": kicked.participant_id, "message_id": message_id, "reason": "both"},
    ]
    for body in filed:
        reply = await reporter.request({"type": "report", **body})
        assert reply["type"] == "ack", (body, reply)
    _, reports = await call(http, "get", f"{base_url}/api/reports", headers=OPERATOR)
    ours = {r["reason"]: r for r in reports if r["room_id"] == rid}  # type: ignore[union-attr]
    assert ours["was kicked"]["participant_name"] == "Kicked"
    assert ours["was banned"]["participant_name"] == "Banned" and ours["left"]["participant_name"] == "Leaver"
    deleted = ours["deleted message"]
    assert deleted["message_text"] == "nasty words" and deleted["message_deleted"] is True
    assert deleted["message_author"] == "Kicked"
    await close_all(host, reporter, kicked, banned, leaver)


async def test_a_report_about_someone_never_here_or_another_rooms_message_is_refused(
    base_url: str, room: dict, http: aiohttp.ClientSession, server: TestServer
) -> None:
    host, (reporter,) = await host_and(base_url, room, "Reporter")
    elsewhere = await create_room(http, base_url, "Elsewhere")
    stranger = await RoomClient(base_url, elsewhere["room_id"], "Stranger").connect()
    assert (await stranger.request({"type": "chat", "text": "over there"}))["type"] == "ack"
    foreign_message = (await stranger.next("chat"))["message"]["message_id"]
    before = len(server.app[STORE].reports())
    refused = [
        ({"participant_id": stranger.participant_id, "reason": "r"}, "not_found"),
        ({"participant_id": "p_nobody", "reason": "r"}, "not_found"),
        ({"message_id": foreign_message, "reason": "r"}, "not_found"),
        ({"message_id": "m_nothing", "reason": "r"}, "not_found"),
        ({"participant_id": host.participant_id, "message_id": foreign_message, "reason": "r"}, "not_found"),
        ({"reason": "about nothing"}, "bad_request"),
        ({"participant_id": 5, "reason": "r"}, "bad_request"),
        ({"participant_id": host.participant_id}, "bad_request"),
        ({"participant_id": host.participant_id, "reason": ""}, "bad_request"),
    ]
    for body, code in refused:
        reply = await reporter.request({"type": "report", **body})
        assert reply["type"] == "error" and reply["code"] == code, (body, reply)
    assert len(server.app[STORE].reports()) == before
    assert reporter.close_code is None
    await close_all(host, reporter, stranger)
