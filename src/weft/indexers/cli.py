"""`weft indexers ...` commands (a thin adapter)."""
from __future__ import annotations

import typer

app = typer.Typer(help="indexers commands", no_args_is_help=True)
