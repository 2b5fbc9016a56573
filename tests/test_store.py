"""The persistence layer: real SQLite files, reopened, crashed, and searched with hostile input."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from signaling.store import DB_FILENAME, SCHEMA_VERSION, SchemaTooNewError, Store, fts_query

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "data" / DB_FILENAME


@pytest.fixture
def store(db_path: Path) -> Iterator[Store]:
    s = Store(db_path)
    yield s
    s.close()


def room(store: Store, room_id: str = "r1", token: str | None = "host-secret", **kw: object) -> None:
    store.save_room(room_id, title=f"Show {room_id}", host_name="Ann", host_token=token, **kw)


def message(n: int, pid: str = "p1") -> dict:
    return {
        "message_id": f"m{n}",
        "participant_id": pid,
        "name": "Ann",
        "text": f"hello {n}",
        "server_ms": 1000 + n,
        "at": f"2024-05-01T12:00:{n % 60:02d}.000Z",
    }


def track(n: int, title: str, artist: str = "", album: str = "", **kw: object) -> dict:
    return {"track_id": f"t{n}", "path": f"/music/{n}.mp3", "title": title, "artist": artist, "album": album,
            "duration_ms": 1000 * n, **kw}  # fmt: skip


# --- opening ---------------------------------------------------------------------
def test_pragmas_wal_normal_foreign_keys(store: Store) -> None:
    assert store.pragma("journal_mode") == "wal"
    assert store.pragma("synchronous") == 1  # NORMAL
    assert store.pragma("foreign_keys") == 1


def test_schema_version_recorded_and_reopen_does_not_remigrate(db_path: Path) -> None:
    Store(db_path).close()
    with Store(db_path) as s:
        versions = [r[0] for r in s._all("SELECT version FROM schema_version ORDER BY version")]
        assert versions == list(range(1, SCHEMA_VERSION + 1))


def test_newer_schema_is_refused(db_path: Path) -> None:
    Store(db_path).close()
    raw = sqlite3.connect(db_path)
    raw.execute("INSERT INTO schema_version VALUES (?)", (SCHEMA_VERSION + 1,))
    raw.commit()
    raw.close()
    with pytest.raises(SchemaTooNewError):
        Store(db_path)


def test_in_data_dir_and_close_idempotent(tmp_path: Path) -> None:
    s = Store.in_data_dir(tmp_path / "d")
    assert s.path == tmp_path / "d" / DB_FILENAME and s.path.exists()
    s.close()
    s.close()
    assert s.closed


# --- rooms -----------------------------------------------------------------------
def test_room_round_trip_and_end(store: Store) -> None:
    room(store, "r1", permanent=True, rules_extra=["No spoilers"], settings={"max": 5})
    room(store, "r2")
    got = store.room("r1")
    assert got is not None
    assert got["title"] == "Show r1" and got["permanent"] is True
    assert got["rules_extra"] == ["No spoilers"] and got["settings"] == {"max": 5}
    assert got["ended_at"] is None
    assert [r["room_id"] for r in store.live_rooms()] == ["r1", "r2"]
    assert store.end_room("r2") is True
    assert store.end_room("r2") is False
    assert [r["room_id"] for r in store.live_rooms()] == ["r1"]
    assert store.room("r2")["ended_at"] is not None
    assert store.room("nope") is None


def test_host_token_is_hashed_and_checked(store: Store, db_path: Path) -> None:
    room(store, "r1", token="host-secret")
    room(store, "demo", token=None)
    assert store.check_host_token("r1", "host-secret")
    assert not store.check_host_token("r1", "host-secreT")
    assert not store.check_host_token("r1", "")
    assert not store.check_host_token("r1", None)
    assert not store.check_host_token("other", "host-secret")
    assert not store.check_host_token("demo", "")
    assert b"host-secret" not in db_path.read_bytes() + db_path.with_name(DB_FILENAME + "-wal").read_bytes()
    room(store, "r1", token=None)  # an update without a token keeps the stored hash
    assert store.check_host_token("r1", "host-secret")


# --- participants ----------------------------------------------------------------
def test_participant_upsert_resume_and_forget(store: Store) -> None:
    room(store)
    store.save_participant(
        "r1", "p1", name="Bo", role="listener", resume_token="resume-1", address="10.0.0.1"
    )
    store.save_participant("r1", "p1", name="Bo", role="speaker", resume_token="resume-1", muted=True)
    got = store.participant_by_token("r1", "resume-1")
    assert got is not None
    assert got["participant_id"] == "p1" and got["role"] == "speaker" and got["muted"] is True
    assert got["hand_raised"] is False and "resume_token_hash" not in got
    assert store.participant_by_token("r2", "resume-1") is None
    assert store.participant_by_token("r1", "resume-2") is None
    assert store.participant_by_token("r1", "") is None
    assert [p["participant_id"] for p in store.room_participants("r1")] == ["p1"]
    assert store.forget_participant("p1") is True
    assert store.participant_by_token("r1", "resume-1") is None


def test_participant_needs_a_room_and_a_valid_role(store: Store) -> None:
    with pytest.raises(sqlite3.IntegrityError):
        store.save_participant("ghost", "p1", name="Bo", role="listener", resume_token="x")
    room(store)
    with pytest.raises(sqlite3.IntegrityError):
        store.save_participant("r1", "p1", name="Bo", role="king", resume_token="x")


def test_ending_a_room_forgets_its_participants(store: Store) -> None:
    room(store)
    store.save_participant("r1", "p1", name="Bo", role="host", resume_token="tok")
    store.end_room("r1")
    assert store.participant_by_token("r1", "tok") is None


# --- chat ------------------------------------------------------------------------
def test_chat_round_trip_in_protocol_shape(store: Store) -> None:
    room(store)
    for n in range(60):
        store.add_chat("r1", message(n))
    recent = store.recent_chat("r1")
    assert len(recent) == 50
    assert recent[0] == message(10) and recent[-1] == message(59)  # oldest first, exact shape
    assert store.recent_chat("r1", limit=3) == [message(57), message(58), message(59)]
    assert store.recent_chat("other") == []
    assert store.chat_message("r1", "m5") == message(5)


def test_chat_delete(store: Store) -> None:
    room(store)
    store.add_chat("r1", message(1))
    store.add_chat("r1", message(2))
    assert store.delete_chat("other", "m1") is False
    assert store.delete_chat("r1", "m1") is True
    assert store.delete_chat("r1", "m1") is False
    assert store.recent_chat("r1") == [message(2)]
    assert store.chat_message("r1", "m1") is None
    assert store.chat_message("r1", "m1", include_deleted=True) == {**message(1), "deleted": True}


def test_chat_duplicate_id_is_refused(store: Store) -> None:
    room(store)
    store.add_chat("r1", message(1))
    with pytest.raises(sqlite3.IntegrityError):
        store.add_chat("r1", message(1))


# --- bans ------------------------------------------------------------------------
def test_bans_by_participant_and_by_address(store: Store) -> None:
    by_id = store.add_ban(reason="spam", room_id="r1", participant_id="p1", by="mod")
    by_ip = store.add_ban(reason="abuse", room_id="r1", ip="10.0.0.9")
    assert store.is_banned("r1", "p1", "192.168.1.1")["ban_id"] == by_id["ban_id"]
    assert store.is_banned("r1", "p2", "10.0.0.9")["ban_id"] == by_ip["ban_id"]
    assert store.is_banned("r1", "p2", "::ffff:10.0.0.9")["ban_id"] == by_ip["ban_id"]
    assert store.is_banned("r1", "p2", "10.0.0.8") is None
    assert store.is_banned("r1", None, None) is None
    assert store.is_banned("r2", "p1", "10.0.0.9") is None  # a room ban stays in its room


def test_global_ban_applies_everywhere_and_can_be_lifted(store: Store) -> None:
    ban = store.add_ban(reason="troll", ip="2001:db8::1")
    assert store.is_banned("r1", None, "2001:DB8:0::1") is not None
    assert store.is_banned("any", "px", "2001:db8::1")["room_id"] is None
    assert [b["ban_id"] for b in store.bans()] == [ban["ban_id"]]
    assert store.lift_ban(ban["ban_id"]) is True
    assert store.is_banned("r1", None, "2001:db8::1") is None


def test_ban_needs_a_target(store: Store) -> None:
    with pytest.raises(ValueError):
        store.add_ban(reason="nobody", ip="  ")


# --- reports and audit -----------------------------------------------------------
def test_reports_newest_first_in_protocol_shape(store: Store) -> None:
    first = store.add_report(room_id="r1", reporter_id="p1", reason="rude", participant_id="p2")
    second = store.add_report(room_id="r1", reporter_id="p3", reason="spam", message_id="m9")
    assert set(first) == {"report_id", "room_id", "reporter_id", "participant_id", "reason", "at", "status"}
    assert "participant_id" not in second and second["message_id"] == "m9"
    assert store.reports() == [second, first]


def test_audit_log(store: Store) -> None:
    store.audit("kick", room_id="r1", actor_id="p1", actor_name="Ann", target_id="p2", detail={"ban": True})
    store.audit("promote", room_id="r2", actor_id="p9", target_id="p8")
    store.audit("ban", actor_name="operator", detail={"ip": "10.0.0.1"})
    everything = store.audit_log()
    assert [e["action"] for e in everything] == ["ban", "promote", "kick"]
    only_r1 = store.audit_log("r1")
    assert len(only_r1) == 1
    assert only_r1[0]["detail"] == {"ban": True} and only_r1[0]["actor_name"] == "Ann"
    assert len(store.audit_log(limit=1)) == 1


# --- queue and playback ----------------------------------------------------------
def test_queue_round_trip_and_replace(store: Store) -> None:
    room(store)
    store.save_queue("r1", [("e1", "t1"), ("e2", "t2"), ("e3", "t1")])
    assert store.load_queue("r1") == [("e1", "t1"), ("e2", "t2"), ("e3", "t1")]
    store.save_queue("r1", [("e3", "t1"), ("e1", "t1")])
    assert store.load_queue("r1") == [("e3", "t1"), ("e1", "t1")]
    store.save_queue("r1", [])
    assert store.load_queue("r1") == []


def test_queue_replace_is_atomic(store: Store) -> None:
    room(store)
    store.save_queue("r1", [("e1", "t1"), ("e2", "t2")])
    with pytest.raises(sqlite3.IntegrityError):
        store.save_queue("r1", [("e7", "t7"), ("e8", "t8"), ("e7", "t9")])  # duplicate entry id
    assert store.load_queue("r1") == [("e1", "t1"), ("e2", "t2")]

    def failing() -> Iterator[tuple[str, str]]:
        yield ("e5", "t5")
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        store.save_queue("r1", failing())
    assert store.load_queue("r1") == [("e1", "t1"), ("e2", "t2")]
    with pytest.raises(sqlite3.IntegrityError):
        store.save_queue("no-such-room", [("e9", "t1")])


def test_playback_round_trip(store: Store) -> None:
    room(store)
    assert store.load_playback("r1") is None
    store.save_playback("r1", track_id="t1", position_ms=1234, paused=False, gain=0.8, crossfade_s=4.0)
    store.save_playback("r1", track_id="t2", position_ms=99, paused=True, gain=0.5, crossfade_s=2.0)
    got = store.load_playback("r1")
    assert got is not None
    assert (got["track_id"], got["position_ms"], got["paused"], got["gain"], got["crossfade_s"]) == (
        "t2", 99, True, 0.5, 2.0,
    )  # fmt: skip


# --- reopening and crashing ------------------------------------------------------
def test_reopened_store_sees_everything(db_path: Path) -> None:
    with Store(db_path) as s:
        room(s)
        s.save_participant("r1", "p1", name="Bo", role="moderator", resume_token="tok")
        s.add_chat("r1", message(1))
        s.add_ban(reason="x", ip="10.1.1.1")
        s.add_report(room_id="r1", reporter_id="p1", reason="y")
        s.audit("kick", room_id="r1")
        s.save_queue("r1", [("e1", "t1")])
        s.save_playback("r1", track_id="t1", position_ms=5, paused=False)
        s.upsert_track(**track(1, "Yesterday", "The Beatles"))
    with Store(db_path) as s:
        assert [r["room_id"] for r in s.live_rooms()] == ["r1"]
        assert s.check_host_token("r1", "host-secret")
        assert s.participant_by_token("r1", "tok")["role"] == "moderator"
        assert s.recent_chat("r1") == [message(1)]
        assert s.is_banned("r9", None, "10.1.1.1") is not None
        assert len(s.reports()) == 1 and len(s.audit_log()) == 1
        assert s.load_queue("r1") == [("e1", "t1")]
        assert s.load_playback("r1")["position_ms"] == 5
        assert [t["title"] for t in s.search_tracks("yester")] == ["Yesterday"]


def test_acknowledged_chat_survives_sigkill(db_path: Path) -> None:
    room_store = Store(db_path)
    room(room_store)
    room_store.close()
    script = textwrap.dedent(f"""
        import os, signal, sys
        from signaling.store import Store
        s = Store({str(db_path)!r})
        s.add_chat("r1", {message(7)!r})
        print("ok", flush=True)
        os.kill(os.getpid(), signal.SIGKILL)
    """)
    proc = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=30
    )
    assert proc.returncode == -9, proc.stderr
    assert proc.stdout.strip() == "ok"
    with Store(db_path) as s:
        assert s.recent_chat("r1") == [message(7)]


# --- tracks and search -----------------------------------------------------------
LIBRARY = [
    track(1, "Yesterday", "The Beatles", "Help!"),
    track(2, "Let It Be", "The Beatles", "Let It Be"),
    track(3, "Café del Mar", "Energy 52", "Café del Mar"),
    track(4, "Naïve Song", "Mirah", "C'mon Miracle"),
    track(5, "Beat It", "Michael Jackson", "Thriller"),
    track(6, "Blackbird", "The Beatles", "The White Album"),
    track(7, "東京タワー", "Tokyo Band", ""),
    track(8, "Don't Stop Me Now", "Queen", "Jazz"),
    track(9, "Near Dark", "Ámbar", "NEAR"),
    track(10, "Let It Be Beatles", "A Tribute", "Covers"),
    track(11, "Thriller Night", "Somebody", "Hits"),
]


@pytest.fixture
def library(store: Store) -> Store:
    store.upsert_tracks(LIBRARY)
    return store


def titles(results: list[dict]) -> list[str]:
    return [t["title"] for t in results]


def test_track_round_trip_and_shape(library: Store) -> None:
    assert library.track("t1")["path"] == "/music/1.mp3"
    assert library.track_by_path("/music/3.mp3")["title"] == "Café del Mar"
    assert library.track("nope") is None and library.track_by_path("/nope") is None
    assert library.search_tracks("yesterday") == [
        {
            "track_id": "t1",
            "title": "Yesterday",
            "artist": "The Beatles",
            "album": "Help!",
            "duration_ms": 1000,
        }
    ]
    assert library.track_count() == len(LIBRARY)


def test_empty_query_lists_by_artist_then_title(library: Store) -> None:
    listed = library.search_tracks("", limit=100)
    keys = [(t["artist"].lower(), t["title"].lower()) for t in listed]
    assert keys == sorted(keys) and len(listed) == len(LIBRARY)
    assert library.search_tracks("   ", limit=3) == listed[:3]
    assert library.search_tracks(None, limit=3, offset=3) == listed[3:6]


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("cafe", "Café del Mar"),
        ("CAFÉ", "Café del Mar"),
        ("naive", "Naïve Song"),
        ("beatl", "Yesterday"),
        ("yEsTeR", "Yesterday"),
        ("ambar", "Near Dark"),
        ("東京", "東京タワー"),
        ("don't", "Don't Stop Me Now"),
        ("white alb", "Blackbird"),
    ],
)
def test_search_accents_case_prefix(library: Store, q: str, expected: str) -> None:
    assert expected in titles(library.search_tracks(q))


def test_search_ands_the_words_and_only_the_last_is_a_prefix(library: Store) -> None:
    assert titles(library.search_tracks("let be")) and all(
        "Let" in t for t in titles(library.search_tracks("let be"))
    )
    assert library.search_tracks("beat it") == library.search_tracks("beat it")
    assert "Beat It" in titles(library.search_tracks("beat it"))
    assert "Yesterday" not in titles(library.search_tracks("beat it"))  # "beat" is not a prefix here
    assert library.search_tracks("zzzz") == []


def test_search_ranks_by_relevance(library: Store) -> None:
    # "thriller": a title hit (weighted most) outranks an album-only hit.
    assert titles(library.search_tracks("thriller")) == ["Thriller Night", "Beat It"]
    # "let it be": both match; the title+album hit outranks the title-only one.
    assert titles(library.search_tracks("let it be"))[0] == "Let It Be"


def test_search_limit_offset(library: Store) -> None:
    everything = library.search_tracks("the", limit=100)
    assert library.search_tracks("the", limit=2) == everything[:2]
    assert library.search_tracks("the", limit=2, offset=1) == everything[1:3]
    assert library.search_tracks("the", limit=-5) == []


HOSTILE = [
    '"', '""', '"beatles', 'beatles"', "'", "*", "beat*", "**", "NEAR", "NEAR(beatles queen)", "NEAR/2",
    "(", ")", "(beatles", "beatles)", "-", "-beatles", "beatles -queen", "AND", "OR", "NOT", "beatles AND",
    "OR queen", "NOT NOT", "title:queen", "{title artist}:queen", "^queen", "+", ":", "a:b:c", "\\", "%",
    "_", "; DROP TABLE tracks; --", "' OR 1=1 --", "\x00", "beat\x00les", "\ud800", "caf\u0301e", "🎵",
    "🎵 beatles", "Ω≈ç√∫", "\u202e", "   \t\n  ",
    "x" * 10_000, "beatles " * 5_000, '"' * 3_000, "(" * 1_000, "NEAR " * 500,
]  # fmt: skip


@pytest.mark.parametrize("q", HOSTILE)
def test_hostile_queries_never_raise(library: Store, q: str) -> None:
    results = library.search_tracks(q, limit=20)
    assert isinstance(results, list) and len(results) <= 20
    assert all(set(t) == {"track_id", "title", "artist", "album", "duration_ms"} for t in results)


def test_hostile_queries_are_plain_words(library: Store) -> None:
    assert "Near Dark" in titles(library.search_tracks("NEAR"))
    assert "Near Dark" in titles(library.search_tracks("NEAR(dark"))
    assert "Yesterday" in titles(library.search_tracks('"beatles'))
    assert "Yesterday" in titles(library.search_tracks("-beatles"))  # not a NOT
    assert "Don't Stop Me Now" in titles(library.search_tracks("queen:"))
    assert library.search_tracks("title:yesterday") == []  # a phrase "title yesterday", not a column filter
    assert library.search_tracks("; DROP TABLE tracks; --") == []
    assert "Yesterday" in titles(library.search_tracks("🎵 beatles"))
    assert "Yesterday" in titles(library.search_tracks("beatles " * 5_000))
    assert "Café del Mar" in titles(library.search_tracks("caf\u0301e"))
    assert library.track_count() == len(LIBRARY)
    assert fts_query('a"b NEAR *') == '"a""b" "NEAR"*'
    assert fts_query("* - ()") is None


def test_search_follows_updates_and_removals(library: Store) -> None:
    library.upsert_track(**track(1, "Tomorrow", "The Beatles", "Help!"))
    assert "Yesterday" not in titles(library.search_tracks("yesterday"))
    assert titles(library.search_tracks("tomorrow")) == ["Tomorrow"]
    removed = library.remove_tracks_not_in([f"/music/{n}.mp3" for n in (1, 2)])
    assert removed == len(LIBRARY) - 2
    assert titles(library.search_tracks("", limit=100)) == ["Let It Be", "Tomorrow"]
    assert library.search_tracks("cafe") == []
    assert library.remove_tracks_not_in([]) == 2
    assert library.search_tracks("") == [] and library.search_tracks("let") == []


def test_track_moved_to_a_new_id_replaces_the_old_row(library: Store) -> None:
    library.upsert_track(**{**track(1, "Yesterday", "The Beatles"), "track_id": "new-id"})
    assert library.track("t1") is None
    assert library.track_by_path("/music/1.mp3")["track_id"] == "new-id"
    assert [t["track_id"] for t in library.search_tracks("yesterday")] == ["new-id"]


def test_loudness_is_kept_while_the_file_is_unchanged(store: Store) -> None:
    store.upsert_track(**track(1, "A", mtime=10.0, size=100, loudness_lufs=-14.0))
    store.upsert_track(**track(1, "A", mtime=10.0, size=100))
    assert store.track("t1")["loudness_lufs"] == -14.0
    store.upsert_track(**track(1, "A", mtime=11.0, size=100))
    assert store.track("t1")["loudness_lufs"] is None
    assert store.set_loudness("t1", -9.5) and store.track("t1")["loudness_lufs"] == -9.5


def test_fts_index_stays_consistent(library: Store) -> None:
    library.upsert_track(**track(3, "Cafe Racer", "Someone"))
    library.remove_tracks_not_in([t["path"] for t in LIBRARY[:5]])
    library._write("INSERT INTO tracks_fts (tracks_fts, rank) VALUES ('integrity-check', 1)")


# --- speed -----------------------------------------------------------------------
def per_call_us(fn, n: int) -> float:
    start = time.perf_counter()
    for i in range(n):
        fn(i)
    return (time.perf_counter() - start) / n * 1e6


def test_calls_are_fast(store: Store, capsys: pytest.CaptureFixture[str]) -> None:
    room(store)
    chat_us = per_call_us(lambda i: store.add_chat("r1", message(100 + i)), 500)
    recent_us = per_call_us(lambda i: store.recent_chat("r1"), 200)
    words = ["love", "night", "blue", "river", "song", "dance", "heart", "fire", "rain", "city"]
    store.upsert_tracks(
        track(1000 + n, f"{words[n % 10]} {words[n // 10 % 10]} {n}", f"Artist {n % 37}", f"Album {n % 91}")
        for n in range(1000)
    )
    search_us = per_call_us(lambda i: store.search_tracks(words[i % 10][:3], limit=50), 200)
    list_us = per_call_us(lambda i: store.search_tracks("", limit=50, offset=i), 200)
    with capsys.disabled():
        print(
            f"\nstore per call: chat insert {chat_us:.0f} us, recent_chat(50) {recent_us:.0f} us,"
            f" search 1,000 tracks {search_us:.0f} us, list page {list_us:.0f} us"
        )
    assert chat_us < 1000 and search_us < 5000 and recent_us < 1000
