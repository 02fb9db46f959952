"""`weft threads ...` commands (a thin adapter)."""
from __future__ import annotations

import typer

app = typer.Typer(help="threads commands", no_args_is_help=True)

keys_app = typer.Typer(help="API keys: create, list, revoke, rotate the master key", no_args_is_help=True)
