"""What a node remembers about its derived indexes, next to them in the data dir.

``<indexes>/<name>/weft-cluster.json``: the index incarnation (uid) the local copy belongs to and the highest
change-log position it reflects, written (fsync, rename) after each local commit. It lives inside the tantivy
directory, so a directory removed or replaced leaves no stale claim behind. ``<indexes>/cluster-node.json``: the
cluster's id and the position up to which this node has applied every change, written after each round of the
apply loop. Both may lag the index (a crash between the commit and the write): replaying a change is harmless,
because a change is applied as the current documents of record of its keys.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

SIDECAR = "weft-cluster.json"
NODE_FILE = "cluster-node.json"


@dataclass
class IndexState:
    uid: str | None  # None: created on this node, not yet tied to its incarnation
    position: int


def _write_json(path: Path, value: dict) -> None:
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(value, f)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def _read_json(path: Path) -> dict | None:
    try:
        value = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return value if isinstance(value, dict) else None


class LocalState:
    def __init__(self, root: Path):
        self.root = Path(root)

    def read_index(self, name: str) -> IndexState | None:
        value = _read_json(self.root / name / SIDECAR)
        if value is None or not isinstance(value.get("position"), int):
            return None
        return IndexState(value.get("uid"), value["position"])

    def write_index(self, name: str, state: IndexState) -> None:
        directory = self.root / name
        if directory.is_dir():
            _write_json(directory / SIDECAR, {"uid": state.uid, "position": state.position})

    def read_node(self, cluster_id: str) -> int | None:
        value = _read_json(self.root / NODE_FILE)
        if value is None or value.get("cluster") != cluster_id or not isinstance(value.get("position"), int):
            return None
        return value["position"]

    def write_node(self, cluster_id: str, position: int) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        _write_json(self.root / NODE_FILE, {"cluster": cluster_id, "position": position})
