"""`weft threads ...` and `weft keys ...` commands (a thin adapter). They work on the data dir / database
directly (the server may be running: SQLite waits for its write lock, PostgreSQL/MariaDB are shared)."""
from __future__ import annotations

import base64
import json
import os
import sys
from pathlib import Path
from typing import Optional

import typer

from weft.errors import WeftError

app = typer.Typer(help="threads commands", no_args_is_help=True)

keys_app = typer.Typer(help="API keys: create, list, revoke, rotate the master key", no_args_is_help=True)

DataDir = typer.Option(None, "--data-dir", help="weft data dir (WEFT_DATA_DIR; default ./weft-data).")
DatabaseUrl = typer.Option(None, "--database-url", help="Thread store URL (WEFT_THREADS_DATABASE_URL; default SQLite in the data dir).")


def _settings(data_dir: Optional[Path], database_url: Optional[str]):
    from weft.threads.settings import ThreadsSettings

    from weft import configuration

    effective = configuration.load()  # weft.toml (WEFT_CONFIG) and the environment, as the server reads them
    folder = data_dir or effective.get("server.data_dir")
    settings = ThreadsSettings.from_env(folder, effective.environ())
    if database_url:
        settings.database_url = database_url
    return settings


def _service(data_dir: Optional[Path], database_url: Optional[str]):
    from weft.threads.factory import build_service

    return build_service(_settings(data_dir, database_url))


def _admin():
    from weft.threads.policy import SCOPES, Principal

    return Principal("default", frozenset(SCOPES), key_id="cli", server_admin=True)


def _fail(exc: WeftError) -> None:
    typer.echo(f"error: {exc.message}", err=True)
    raise typer.Exit(1)


# ---- keys ------------------------------------------------------------------------------------------------
@keys_app.command("create")
def keys_create(tenant: str = typer.Option(..., "--tenant", help="Tenant the key acts for."),
                scope: list[str] = typer.Option(["read", "write"], "--scope", help="read, write, admin (repeat or comma-separate)."),
                name: Optional[str] = typer.Option(None, "--name"),
                data_dir: Optional[Path] = DataDir, database_url: Optional[str] = DatabaseUrl,
                json_output: bool = typer.Option(False, "--json")) -> None:
    """Create a tenant-scoped API key; the key is printed once (only its hash is stored)."""
    service = _service(data_dir, database_url)
    try:
        created = service.create_api_key(_admin(), tenant, ",".join(scope), name)
    except WeftError as exc:
        _fail(exc)
    finally:
        service.close()
    if json_output:
        typer.echo(json.dumps({"id": created.record.id, "tenant": tenant, "scopes": list(created.record.scopes), "key": created.secret}))
    else:
        typer.echo(f"{created.record.id}  tenant={tenant}  scopes={','.join(created.record.scopes)}")
        typer.echo(created.secret)


@keys_app.command("list")
def keys_list(tenant: Optional[str] = typer.Option(None, "--tenant"), data_dir: Optional[Path] = DataDir,
              database_url: Optional[str] = DatabaseUrl) -> None:
    """List API keys (ids, tenants, scopes; never secrets)."""
    service = _service(data_dir, database_url)
    try:
        for record in service.list_api_keys(_admin(), tenant):
            state = "revoked" if record.revoked_at_ms else "active"
            typer.echo(f"{record.id}\t{record.tenant_id}\t{','.join(record.scopes)}\t{state}\t{record.name or ''}")
    finally:
        service.close()


@keys_app.command("revoke")
def keys_revoke(key_id: str, data_dir: Optional[Path] = DataDir, database_url: Optional[str] = DatabaseUrl) -> None:
    """Revoke an API key by id."""
    service = _service(data_dir, database_url)
    try:
        service.revoke_api_key(_admin(), key_id)
    except WeftError as exc:
        _fail(exc)
    finally:
        service.close()
    typer.echo(f"revoked {key_id}")


@keys_app.command("new-master-key")
def keys_new_master(output: Path = typer.Option(..., "--output", help="File to write the new key to (mode 600).")) -> None:
    """Generate a master key file (32 random bytes, base64)."""
    from weft.threads.crypto import new_master_key

    output.write_text(base64.b64encode(new_master_key()).decode() + "\n")
    os.chmod(output, 0o600)
    typer.echo(f"wrote {output}")


@keys_app.command("rotate-master")
def keys_rotate_master(new_key_file: Path = typer.Option(..., "--new-key-file", help="The new master key (see new-master-key)."),
                       data_dir: Optional[Path] = DataDir, database_url: Optional[str] = DatabaseUrl) -> None:
    """Re-wrap every tenant data key under a new master key (content is not rewritten).

    The current key comes from WEFT_MASTER_KEY_FILE / WEFT_MASTER_KEY. Afterwards point
    WEFT_MASTER_KEY_FILE at the new file and restart the server.
    """
    from weft.threads.crypto import rewrap_all
    from weft.threads.settings import parse_master_key
    from weft.threads.store import SqlThreadStore

    settings = _settings(data_dir, database_url)
    if settings.master_key is None:
        typer.echo("error: no current master key (set WEFT_MASTER_KEY_FILE or WEFT_MASTER_KEY)", err=True)
        raise typer.Exit(1)
    store = SqlThreadStore(settings.database_url, table_prefix=settings.table_prefix)
    try:
        count = rewrap_all(store, settings.master_key, parse_master_key(new_key_file.read_text()))
    except WeftError as exc:
        _fail(exc)
    finally:
        store.close()
    typer.echo(f"re-wrapped {count} tenant data key(s); now set WEFT_MASTER_KEY_FILE={new_key_file} and restart weft")


@keys_app.command("shred-tenant")
def keys_shred(tenant: str, yes: bool = typer.Option(False, "--yes", help="Confirm: this cannot be undone."),
               data_dir: Optional[Path] = DataDir, database_url: Optional[str] = DatabaseUrl) -> None:
    """Destroy a tenant's data key: its encrypted content becomes unreadable forever (crypto-shredding)."""
    if not yes:
        typer.echo("error: add --yes to destroy the key", err=True)
        raise typer.Exit(2)
    service = _service(data_dir, database_url)
    try:
        service.destroy_tenant_data_key(_admin(), tenant)
    except WeftError as exc:
        _fail(exc)
    finally:
        service.close()
    typer.echo(f"destroyed the data key of tenant {tenant}; running servers stop using it within about 2 s and "
               "delete its conversation index at their next reconcile pass")


# ---- threads -------------------------------------------------------------------------------------------
@app.command("retention")
def threads_retention(tenant: str = typer.Option(..., "--tenant"),
                      seconds: Optional[int] = typer.Option(None, "--seconds", help="Idle seconds before deletion; omit to keep forever."),
                      data_dir: Optional[Path] = DataDir, database_url: Optional[str] = DatabaseUrl) -> None:
    """Set a tenant's default retention."""
    service = _service(data_dir, database_url)
    try:
        service.set_tenant_retention(_admin(), tenant, seconds)
    except WeftError as exc:
        _fail(exc)
    finally:
        service.close()
    typer.echo(f"tenant {tenant}: retention {seconds if seconds else 'forever'}")


@app.command("purge")
def threads_purge(data_dir: Optional[Path] = DataDir, database_url: Optional[str] = DatabaseUrl) -> None:
    """Run one retention pass now."""
    service = _service(data_dir, database_url)
    try:
        purged = service.purge_expired()
    finally:
        service.close()
    typer.echo(f"purged {len(purged)} conversation(s)")


@app.command("export")
def threads_export(tenant: str = typer.Option(..., "--tenant"), conversation: Optional[str] = typer.Option(None, "--conversation"),
                   output: Optional[Path] = typer.Option(None, "--output", help="File (default: stdout)."),
                   data_dir: Optional[Path] = DataDir, database_url: Optional[str] = DatabaseUrl) -> None:
    """Export a tenant (or one conversation) as JSON lines, decrypted."""
    from weft.threads.transfer import export_lines

    service = _service(data_dir, database_url)
    stream = open(output, "w", encoding="utf-8") if output else sys.stdout
    try:
        count = 0
        for line in export_lines(service, _admin().for_tenant(tenant), conversation):
            stream.write(line + "\n")
            count += 1
    except WeftError as exc:
        _fail(exc)
    finally:
        service.close()
        if output:
            stream.close()
    if output:
        typer.echo(f"exported {count} line(s) to {output}")


@app.command("import")
def threads_import(tenant: str = typer.Option(..., "--tenant"), input_file: Path = typer.Option(..., "--input"),
                   data_dir: Optional[Path] = DataDir, database_url: Optional[str] = DatabaseUrl) -> None:
    """Import JSON lines written by `weft threads export` (new ids are kept as exported)."""
    from weft.threads.transfer import import_lines

    service = _service(data_dir, database_url)
    try:
        with open(input_file, encoding="utf-8") as lines:
            conversations, items = import_lines(service, _admin().for_tenant(tenant), lines)
    except WeftError as exc:
        _fail(exc)
    finally:
        service.close()
    typer.echo(f"imported {conversations} conversation(s), {items} item(s)")
