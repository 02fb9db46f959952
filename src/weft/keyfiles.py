"""Keys from files: ``--admin-key-file``, ``--query-key-file``, ``--api-key-file`` and the ``WEFT_*_KEY_FILE``
variables. A key given as ``--admin-key X`` is visible to every user of the machine in the process list
(``ps``, ``/proc/<pid>/cmdline``); a file (mode 0600) or an environment variable is not.

A key file holds one key per line (blank lines and ``#`` comments ignored), so a file can list several keys
(key rotation) just as the comma-separated variables do.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Iterable, Mapping

from weft.errors import InvalidInput


def read_key_file(path: str | Path) -> list[str]:
    try:
        text = Path(path).read_text()
    except OSError as exc:
        raise InvalidInput(f"The key file '{path}' cannot be read: {exc.strerror or exc}.")
    keys = [line.strip() for line in text.splitlines() if line.strip() and not line.strip().startswith("#")]
    if not keys:
        raise InvalidInput(f"The key file '{path}' holds no key.")
    return keys


def resolve_keys(given: Iterable[str] | None, files: Iterable[str | Path] | None, env_name: str,
                 environ: Mapping[str, str] | None = None) -> list[str]:
    """Keys from the flags (values, then files), else ``<env_name>`` (comma-separated), else ``<env_name>_FILE``."""
    env = os.environ if environ is None else environ
    keys = [k for k in (given or []) if k]
    for path in files or []:
        keys.extend(read_key_file(path))
    if keys:
        return keys
    if env.get(env_name):
        return [k.strip() for k in env[env_name].split(",") if k.strip()]
    if env.get(env_name + "_FILE"):
        return read_key_file(env[env_name + "_FILE"])
    return []
