"""The chat word filter: a default list plus the operator's file; matches are masked."""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

# Kept short and mild on purpose: operators add their own list with --word-filter.
DEFAULT_WORDS = ("fuck", "shit", "cunt", "nigger", "faggot", "retard")


def _fold(text: str) -> str:
    return "".join(
        c for c in unicodedata.normalize("NFKD", text.casefold()) if not unicodedata.combining(c)
    )


class WordFilter:
    """Masks listed words (case- and accent-insensitive, whole words and their suffixes)."""

    def __init__(self, words: list[str]) -> None:
        folded = sorted({_fold(w.strip()) for w in words if w.strip()}, key=len, reverse=True)
        self._pattern = (
            re.compile(r"\b(" + "|".join(re.escape(w) for w in folded) + r")\w*") if folded else None
        )

    @classmethod
    def load(cls, path: Path | None) -> WordFilter:
        words = list(DEFAULT_WORDS)
        if path is not None:
            for line in path.read_text(encoding="utf-8").splitlines():
                if line.strip() and not line.lstrip().startswith("#"):
                    words.append(line)
        return cls(words)

    def clean(self, text: str) -> str:
        if self._pattern is None:
            return text
        folded_parts: list[str] = []
        origin: list[int] = []  # index in ``text`` of each folded character
        for i, char in enumerate(text):
            folded_char = _fold(char)
            folded_parts.append(folded_char)
            origin.extend([i] * len(folded_char))
        chars = list(text)
        for match in self._pattern.finditer("".join(folded_parts)):
            for j in range(match.start(), match.end()):
                chars[origin[j]] = "*"
        return "".join(chars)
