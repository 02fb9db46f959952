"""`weft mail ...` commands (a thin adapter)."""
from __future__ import annotations

import typer

app = typer.Typer(help="mail commands: import mailboxes into conversation threads", no_args_is_help=True)
