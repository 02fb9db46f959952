"""The ``weft`` command: a thin adapter over the services."""
from __future__ import annotations

import logging
import signal
from pathlib import Path

import typer

from weft.config import Settings

app = typer.Typer(help="weft: private, self-hosted search, indexers and conversation threads for AI agents.", no_args_is_help=True)


@app.callback()
def main() -> None:
    """weft command line."""


def _register_subcommands() -> None:
    from weft.indexers.cli import app as indexer_app
    from weft.threads.cli import app as threads_app, keys_app

    app.add_typer(indexer_app, name="indexer")
    app.add_typer(threads_app, name="threads")
    app.add_typer(keys_app, name="keys")
    from weft.agent_tools.cli import mcp_command, tools_app

    app.add_typer(tools_app, name="tools")
    from weft.mail.cli import app as mail_app

    app.add_typer(mail_app, name="mail")
    app.command("mcp")(mcp_command)


_register_subcommands()


@app.command()
def serve(
    host: str = typer.Option(None, help="Address to listen on (WEFT_HOST; default 127.0.0.1)."),
    port: int = typer.Option(None, help="Port (WEFT_PORT; default 8080)."),
    data_dir: Path = typer.Option(None, "--data-dir", help="Where weft keeps its data (WEFT_DATA_DIR; default ./weft-data)."),
    admin_key_file: list[Path] = typer.Option(None, "--admin-key-file", help="File with the admin api-key(s), one a line (recommended; or WEFT_ADMIN_KEY_FILE, WEFT_ADMIN_KEY). Generated and stored in the data dir if none is given."),
    query_key_file: list[Path] = typer.Option(None, "--query-key-file", help="File with query api-key(s) (recommended; or WEFT_QUERY_KEY_FILE, WEFT_QUERY_KEY): search, suggest, lookup and count only."),
    admin_key: list[str] = typer.Option(None, "--admin-key", help="Admin api-key. Visible to every local user in the process list: prefer --admin-key-file or the environment."),
    query_key: list[str] = typer.Option(None, "--query-key", help="Query api-key. Visible in the process list: prefer --query-key-file or the environment."),
    allowed_model_endpoint: list[str] = typer.Option(None, "--allowed-model-endpoint", help="URL prefix or host that vectorizers may call (repeatable; WEFT_ALLOWED_MODEL_ENDPOINTS). None: only the operator's own and local models."),
    api_docs: str = typer.Option(None, "--api-docs", help="/_docs and /_openapi.json: off (default), admin (admin key required) or on (WEFT_API_DOCS)."),
    demo: bool = typer.Option(False, "--demo", help="Create the demo 'products-index' with generated products if it does not exist."),
    log_level: str = typer.Option("info", help="Log level."),
) -> None:
    """Run the weft server (embedded storage in the data dir)."""
    import uvicorn

    from weft.app import create_app

    logging.basicConfig(level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    import os

    from weft.errors import WeftError
    from weft.keyfiles import resolve_keys

    os.umask(0o077)  # data files 0600, directories 0700 (also set where each file is created)
    try:
        admin_keys = resolve_keys(admin_key, admin_key_file, "WEFT_ADMIN_KEY")
        query_keys = resolve_keys(query_key, query_key_file, "WEFT_QUERY_KEY")
        settings = Settings.from_env(host=host, port=port, data_dir=data_dir, admin_keys=admin_keys or None, query_keys=query_keys or None,
                                     demo=demo, allowed_model_endpoints=allowed_model_endpoint or None, api_docs=api_docs)
    except WeftError as exc:
        raise typer.BadParameter(exc.message)
    generated = settings.ensure_admin_key()
    if generated:
        typer.echo(f"weft admin api-key: {generated}  (stored in {settings.data_dir / 'admin-key'})")
    application = create_app(settings)
    typer.echo(f"weft listening on http://{settings.host}:{settings.port}  (data: {settings.data_dir.resolve()})")
    # uvicorn shuts down gracefully on SIGTERM/SIGINT (finishing in-flight requests, then our lifespan
    # drains the index writers) and re-raises the signal afterwards; exit 0 then, as a clean stop.
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, _exit_cleanly)
    uvicorn.run(application, host=settings.host, port=settings.port, log_level=log_level.lower(), timeout_graceful_shutdown=30)


def _exit_cleanly(signum, frame) -> None:
    raise SystemExit(0)


if __name__ == "__main__":  # pragma: no cover
    app()
