"""Owner-only files and directories for weft's data (0600 / 0700), whatever the process umask.

``weft serve`` also sets umask 077 at start, which covers files that libraries create (tantivy segments,
SQLite's -wal/-shm files take the database file's mode); these helpers make the modes explicit where weft
creates its files, for library use too, and tighten files an earlier version created 0644.
"""
from __future__ import annotations

import os
from pathlib import Path


def private_dir(path: str | Path) -> Path:
    path = Path(path)
    if not path.is_dir():
        missing = [p for p in (path, *path.parents) if not p.exists()]
        for p in reversed(missing):  # directories weft creates, parents included, are 0700
            try:
                p.mkdir(mode=0o700)
            except FileExistsError:
                pass
            _tighten(p, 0o700)
    _tighten(path, 0o700)
    return path


def private_file(path: str | Path) -> Path:
    """Creates an empty file 0600 if it is missing (SQLite opens an empty file as a new database)."""
    path = Path(path)
    private_dir(path.parent)
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        _tighten(path, 0o600)
    return path


def _tighten(path: Path, mode: int) -> None:
    try:
        if os.stat(path).st_mode & 0o077:
            os.chmod(path, mode)
    except OSError:  # not ours (a shared directory given as data dir): leave it
        pass
