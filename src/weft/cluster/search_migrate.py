"""The search side of ``weft cluster migrate``: an embedded data dir's synonym maps, index definitions (vectorizer
keys re-sealed with the cluster's key), documents and aliases, moved into the cluster through the cluster's own
write path (so every node applies them as any write).

The same rules as the other stores (:mod:`weft.cluster.stores_migrate`): a first pass compares every object with
what the cluster holds under its name and refuses, writing nothing, when one differs; equal objects are kept, so
a second run changes nothing but re-uploads the same documents (an upload of an identical document is a no-op
for searches). weft's internal indexes (conversation search) are not moved: they are rebuilt from the threads.
A vector field with ``stored: false`` has no source copy to move; such an index is refused by name.
"""
from __future__ import annotations

import tempfile
import uuid
from pathlib import Path
from typing import Callable


class SearchMigrationRefused(Exception):
    pass


def migrate_search(data_dir: Path, url: str, step: Callable[[str, int], Callable[[int], None]] | None = None) -> dict:
    from weft.cluster.search_node import build_search
    from weft.search.service import SearchService

    search_dir = Path(data_dir) / "search"
    if not (search_dir / "catalog.sqlite3").exists():
        return {"indexes": "none (no search catalog in the data dir)"}
    embedded = SearchService(search_dir)
    try:
        internal = embedded.catalog.internal_names()
        names = sorted(n for n, _, _ in embedded.catalog.list() if n not in internal)
        synonym_maps = {m["name"]: m for m in embedded.synonym_maps.list()}
        aliases = {a["name"]: a for a in embedded.aliases.list()}
        with tempfile.TemporaryDirectory(prefix="weft-migrate-") as scratch:
            cluster, engine = build_search(Path(scratch), url, f"migrate-{uuid.uuid4().hex[:8]}")
            try:
                _compare(embedded, cluster, names, synonym_maps, aliases)
                counts = {"synonym maps": 0, "indexes": 0, "documents": 0, "aliases": 0}
                for name, body in synonym_maps.items():
                    if not _exists(cluster.synonym_maps.get, name):
                        cluster.synonym_maps.create_or_update(name, _bare(body))
                        counts["synonym maps"] += 1
                for name in names:
                    if name not in cluster._definitions:
                        cluster.create_index(embedded.definition(name).to_json())
                        counts["indexes"] += 1
                    advance = step(f"index {name}", embedded.engine.count(embedded.definition(name))) if step else None
                    for sources in embedded.engine.iter_sources(name):
                        batch = {"value": [{"@search.action": "upload", **source} for source in sources]}
                        failed = [r for r in cluster.apply_batch(name, batch) if not r.status]
                        if failed:
                            raise SearchMigrationRefused(f"index '{name}': the cluster refused document '{failed[0].key}'")
                        counts["documents"] += len(sources)
                        if advance is not None:
                            advance(len(sources))
                for name, body in aliases.items():
                    if not _exists(cluster.aliases.get, name):
                        cluster.aliases.create_or_update(name, _bare(body))
                        counts["aliases"] += 1
                return counts
            finally:
                cluster.close()
    finally:
        embedded.close()


def _compare(embedded, cluster, names, synonym_maps, aliases) -> None:
    differing = []
    for name in names:
        definition = embedded.definition(name)
        if any(f.extra.get("stored", True) is False for f in definition.vector_fields()):
            differing.append(f"index '{name}' (a vector field with stored: false has no copy to move)")
        theirs = cluster._definitions.get(name)
        if theirs is not None and _bare(theirs.to_json()) != _bare(definition.to_json()):
            differing.append(f"index '{name}'")
    for name, body in synonym_maps.items():
        theirs = _exists(cluster.synonym_maps.get, name)
        if theirs is not None and _bare(theirs) != _bare(body):
            differing.append(f"synonym map '{name}'")
    for name, body in aliases.items():
        theirs = _exists(cluster.aliases.get, name)
        if theirs is not None and _bare(theirs) != _bare(body):
            differing.append(f"alias '{name}'")
    if differing:
        raise SearchMigrationRefused("the cluster holds different objects under these names: " + ", ".join(differing))


def _exists(get, name):
    from weft.errors import NotFound

    try:
        return get(name)
    except NotFound:
        return None


def _bare(body: dict) -> dict:
    return {k: v for k, v in body.items() if not k.startswith("@odata")}
