"""Stop word lists, as data files (each file names its source in its header)."""
from __future__ import annotations

import functools
from pathlib import Path

_DIR = Path(__file__).parent


@functools.lru_cache(maxsize=None)
def load(name: str) -> frozenset[str]:
    """The list ``name`` (``french``, ``english``...). Snowball files use '|' comments, Lucene's use '#'."""
    words: set[str] = set()
    for line in (_DIR / f"{name}.txt").read_text(encoding="utf-8").splitlines():
        line = line.split("|", 1)[0]
        if line.lstrip().startswith("#"):
            continue
        words.update(line.split())
    return frozenset(words)


def available() -> tuple[str, ...]:
    return tuple(sorted(p.stem for p in _DIR.glob("*.txt")))
