"""docs/compatibility.md lists every member weft refuses (by its name, its model's, or the kind it belongs to)."""
from __future__ import annotations

import re
from pathlib import Path

from weft.search.members import POLYMORPHIC, REFUSED, REFUSED_HEADERS, rows

DOC = (Path(__file__).resolve().parents[2] / "docs" / "compatibility.md").read_text()


def test_every_refused_member_is_in_the_compatibility_page():
    missing = []
    for model, name, member in rows():
        if member.status != REFUSED:
            continue
        candidates = {name, model, *re.findall(r"'([^']+)'", member.note)}
        if not any(f"`{c}" in DOC for c in candidates - {"name", "kind"}):
            missing.append(f"{model}.{name}")
    for poly in POLYMORPHIC.values():
        missing += [kind for kind in poly.refused if f"`{kind}`" not in DOC]
    missing += [h for h in REFUSED_HEADERS if f"`{h}`" not in DOC]
    assert not missing, missing
