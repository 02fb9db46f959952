"""The weft console: the web page served at `/console` (docs/console.md).

This package holds only the page's files (`static/`): an HTML shell, the application's ES modules and the
vendored Preact + htm module, all served as they are, with no build step. `ASSETS` lists them; the HTTP side
(`weft.http.console_routes`) serves exactly these files, nothing else from the disk.
"""
from __future__ import annotations

from pathlib import Path

STATIC = Path(__file__).with_name("static")

TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".txt": "text/plain; charset=utf-8",
}


def assets() -> dict[str, Path]:
    """Every servable file, by its path under /console/ (e.g. 'app.js', 'vendor/htm-preact-standalone.js')."""
    found: dict[str, Path] = {}
    for path in sorted(STATIC.rglob("*")):
        if path.is_file() and path.suffix in TYPES:
            found[path.relative_to(STATIC).as_posix()] = path
    return found
