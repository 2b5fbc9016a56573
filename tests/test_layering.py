"""Who may import whom (DESIGN.md): the media plane and the mixer never reach into signaling."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FORBIDDEN = {"sfu": {"signaling", "mixer"}, "mixer": {"signaling", "sfu"}}


def imported_packages(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_package_does_not_import_upwards(package: str) -> None:
    offenders = {
        str(path.relative_to(ROOT)): sorted(imported_packages(path) & FORBIDDEN[package])
        for path in (ROOT / package).rglob("*.py")
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_aiortc_private_parts_are_touched_in_one_module() -> None:
    users = [
        str(path.relative_to(ROOT))
        for path in (ROOT / "sfu").rglob("*.py")
        if "_RTCRtpReceiver__" in path.read_text() or "._tx_srtp" in path.read_text()
    ]
    assert users == ["sfu/aiortc_seams.py"]
