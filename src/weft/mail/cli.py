"""`weft mail ...` commands (a thin adapter)."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from weft.errors import WeftError

app = typer.Typer(help="mail commands: import mailboxes into conversation threads", no_args_is_help=True)


@app.callback()
def _mail() -> None:
    """Mail commands."""


@app.command("import")
def import_command(
    path: Path = typer.Argument(..., exists=True, help="An .eml file, an mbox file, a Maildir, or a folder of them."),
    tenant: str = typer.Option(..., "--tenant", help="Tenant whose thread store receives the mail."),
    own_address: list[str] = typer.Option([], "--own-address", help="Your address (repeatable): its mail is stored as role 'assistant'."),
    data_dir: Optional[Path] = typer.Option(None, "--data-dir", help="weft data dir (WEFT_DATA_DIR; default ./weft-data)."),
    database_url: Optional[str] = typer.Option(None, "--database-url", help="Thread store URL (WEFT_THREADS_DATABASE_URL; default SQLite in the data dir)."),
    subject_merge: bool = typer.Option(True, "--subject-merge/--no-subject-merge", help="Join header-less mail to a conversation with the same subject."),
) -> None:
    """Import mail into threads: one thread per conversation, one message per email; re-importing adds nothing."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from weft.mail.ingest import import_mail
    from weft.mail.threading import ThreadingOptions
    from weft.threads.factory import build_service
    from weft.threads.policy import SCOPES, Principal
    from weft.threads.settings import ThreadsSettings

    from weft import configuration

    try:
        effective = configuration.load()  # weft.toml (WEFT_CONFIG) and the environment, as the server reads them
        folder = data_dir or effective.get("server.data_dir")
        settings = ThreadsSettings.from_env(folder, effective.environ())
        if database_url:
            settings.database_url = database_url
        service = build_service(settings)
    except WeftError as exc:
        typer.echo(f"error: {exc.message}", err=True)
        raise typer.Exit(1)
    except configuration.ConfigError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1)
    principal = Principal(tenant, frozenset(SCOPES), key_id="cli", server_admin=True)
    try:
        with Progress(TextColumn("importing"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), transient=True) as bar:
            task = bar.add_task("import", total=None)
            report = import_mail(service, principal, path, own_addresses=own_address,
                                 options=ThreadingOptions(subject_merge=subject_merge),
                                 progress=lambda done, total: bar.update(task, completed=done, total=total))
    except WeftError as exc:
        typer.echo(f"error: {exc.message}", err=True)
        raise typer.Exit(1)
    finally:
        service.close()
    typer.echo(f"messages seen: {report.messages_seen}")
    typer.echo(f"items added: {report.items_added}")
    typer.echo(f"already present: {report.already_present}")
    if report.duplicates:
        typer.echo(f"duplicate Message-IDs skipped: {report.duplicates}")
    typer.echo(f"conversations created: {report.conversations_created}")
    typer.echo(f"conversations extended: {report.conversations_extended}")
    for joined in report.joined:
        typer.echo(f"joined: {', '.join(joined.others)} now continue in {joined.kept} (their items stay where they are)")
