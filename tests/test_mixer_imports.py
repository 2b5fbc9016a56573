"""mixer imports av, numpy, pyee and the standard library only: never sfu or signaling."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import mixer

ALLOWED = {"av", "numpy", "pyee"} | set(sys.stdlib_module_names)


def imported_roots(path: Path) -> set[str]:
    roots = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            roots |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            roots.add(node.module.split(".")[0])
    return roots


def test_mixer_imports_only_av_numpy_pyee_and_stdlib() -> None:
    files = sorted(Path(mixer.__file__).parent.glob("*.py"))
    assert len(files) >= 6
    for path in files:
        extra = imported_roots(path) - ALLOWED
        assert not extra, f"{path.name} imports {sorted(extra)}"


def test_public_names() -> None:
    for name in ("Library", "Track", "Decoder", "OpusFrameEncoder", "RoomMusic"):
        assert name in mixer.__all__
    assert "ensure_demo_library" in mixer.__all__
