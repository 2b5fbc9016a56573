"""Display names in a room: unique, never the host's (or a look-alike of it), never a staff title.

Two names are the same when their ``name_key`` is: case, accents, look-alike letters from other
scripts (Cyrillic "а", Greek "ο"), digits and signs used as letters ("h0st", "$am"), invisible
characters, spaces and punctuation are all folded away. A listener's name may not contain the
words that would make them look like staff, in the page's languages (English and Spanish).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Container, Iterable

from ..errors import ApiError
from .participant import Participant

# Capitals of other scripts that look like Latin ones (before case folding: "Η" is an "H", "η" an "n").
_CAPITALS = str.maketrans({
    "Α": "a", "Β": "b", "Ε": "e", "Ζ": "z", "Η": "h", "Ι": "i", "Κ": "k", "Μ": "m", "Ν": "n", "Ο": "o",
    "Ρ": "p", "Τ": "t", "Υ": "y", "Χ": "x",
    "А": "a", "В": "b", "Е": "e", "К": "k", "М": "m", "Н": "h", "О": "o", "Р": "p", "С": "c", "Т": "t",
    "Х": "x", "Ѕ": "s", "І": "i", "Ј": "j",
})
# Small letters of other scripts that look like Latin ones, and signs people type for letters.
_LOOKALIKES = str.maketrans({
    # Cyrillic
    "а": "a", "в": "b", "е": "e", "ё": "e", "к": "k", "м": "m", "н": "h", "о": "o", "р": "p",
    "с": "c", "т": "t", "у": "y", "х": "x", "ѕ": "s", "і": "i", "ї": "i", "ј": "j", "һ": "h",
    "ԁ": "d", "ԛ": "q", "ԝ": "w", "ӏ": "l", "ь": "b",
    # Greek
    "α": "a", "β": "b", "ε": "e", "η": "n", "ι": "i", "κ": "k", "μ": "u", "ν": "v", "ο": "o",
    "ρ": "p", "τ": "t", "υ": "u", "χ": "x", "γ": "y", "ω": "w", "ϲ": "c",
    # signs and digits read as letters
    "0": "o", "1": "l", "3": "e", "4": "a", "5": "s", "7": "t", "8": "b", "@": "a", "$": "s",
    "|": "l", "!": "l", "€": "e",
    # one shape for the letters that look alike in many fonts
    "i": "l",
})
_DIGRAPHS = (("rn", "m"), ("vv", "w"))

# Words a listener's name may not contain (as folded by ``name_key``): English and Spanish.
STAFF_WORDS = ("host", "mod", "anfitrion", "admin")


def name_key(name: str) -> str:
    """What a name looks like, folded: equal keys mean names a reader could take for each other."""
    text = _bare(name).translate(_CAPITALS)
    text = _bare(text.casefold()).translate(_LOOKALIKES)
    folded = "".join(ch for ch in text if ch.isalnum())
    for pair, single in _DIGRAPHS:
        folded = folded.replace(pair, single)
    return folded


def _bare(text: str) -> str:
    """Compatibility forms unfolded ("ｈｏｓｔ", "ℌ"), accents and invisible characters dropped."""
    text = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in text if not unicodedata.combining(ch) and unicodedata.category(ch) != "Cf")


def _staff_key(name: str) -> str:
    """``name_key`` without the ``i`` -> ``l`` folding, so "admin" and "anfitrion" stay spellable."""
    return name_key(name).replace("l", "i")


def staff_word(name: str) -> str | None:
    """The staff word hidden in ``name`` ("host" in "Sam (H0ST)"), or None."""
    key, loose = name_key(name), _staff_key(name)
    for word in STAFF_WORDS:
        if word in key or word in loose:
            return word
    return None


def taken_by(name: str, others: Iterable[str]) -> str | None:
    """The name among ``others`` that ``name`` could be taken for, or None."""
    key = name_key(name)
    if not key:
        return None
    for other in others:
        if name_key(other) == key:
            return other
    return None


def check_new_name(
    name: str, *, host_name: str, people: Iterable[Participant], live: Container[str]
) -> None:
    """Refuse (``bad_request``, worded for the person joining) a newcomer's name that is the host's
    or a look-alike of it, a staff word, or the name of someone here: the host (here or not) and
    whoever has a live socket (``live``: participant ids; one closing has left it already)."""
    people = [p for p in people if p.role == "host" or p.participant_id in live]
    hosts = [host_name, *(p.name for p in people if p.role == "host")]
    if taken_by(name, hosts) is not None:
        raise ApiError(
            "bad_request", "That is the host's name (or looks like it): pick another name.",
            "name_host",
        )
    word = staff_word(name)
    if word is not None:
        raise ApiError(
            "bad_request",
            f"Names cannot contain “{word}”: only the show's staff carry that title. Pick another name.",
            "name_staff_word", word=word,
        )
    same = taken_by(name, (p.name for p in people))
    if same is not None:
        raise ApiError(
            "bad_request", f"Someone here is already called “{same}”: pick another name.",
            "name_taken", name=same,
        )
