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
    admin_key: list[str] = typer.Option(None, "--admin-key", help="Admin api-key (WEFT_ADMIN_KEY). Generated and stored in the data dir if none is given."),
    query_key: list[str] = typer.Option(None, "--query-key", help="Query api-key (WEFT_QUERY_KEY): search, suggest, lookup and count only."),
    demo: bool = typer.Option(False, "--demo", help="Create the demo 'products-index' with generated products if it does not exist."),
    log_level: str = typer.Option("info", help="Log level."),
    max_body_bytes: int = typer.Option(None, help="Largest request body (WEFT_MAX_BODY_BYTES; default 17 MiB)."),
    body_timeout: float = typer.Option(None, help="Seconds to wait for the next chunk of a request body (WEFT_BODY_TIMEOUT; default 15)."),
    max_connections: int = typer.Option(None, help="Connections accepted before answering 503 (WEFT_MAX_CONNECTIONS; default 1000)."),
    keep_alive_timeout: float = typer.Option(None, help="Seconds an idle keep-alive connection stays open (WEFT_KEEP_ALIVE_TIMEOUT; default 5)."),
) -> None:
    """Run the weft server (embedded storage in the data dir)."""
    import uvicorn

    from weft.app import create_app

    logging.basicConfig(level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    from weft.http.limits import LimitSettings
    try:  # uvicorn[standard] brings httptools; without it, uvicorn's own protocol (no head deadline)
        from weft.http.server_protocol import protocol_class
    except ImportError:  # pragma: no cover
        protocol_class = lambda timeout: "auto"  # noqa: E731

    settings = Settings.from_env(host=host, port=port, data_dir=data_dir, admin_keys=admin_key or None, query_keys=query_key or None, demo=demo)
    settings.limits = limits = LimitSettings.from_env(max_body_bytes=max_body_bytes, body_timeout=body_timeout,
                                                      max_connections=max_connections, keep_alive_timeout=keep_alive_timeout)
    generated = settings.ensure_admin_key()
    if generated:
        typer.echo(f"weft admin api-key: {generated}  (stored in {settings.data_dir / 'admin-key'})")
    application = create_app(settings)
    typer.echo(f"weft listening on http://{settings.host}:{settings.port}  (data: {settings.data_dir.resolve()})")
    # uvicorn shuts down gracefully on SIGTERM/SIGINT (finishing in-flight requests, then our lifespan
    # drains the index writers) and re-raises the signal afterwards; exit 0 then, as a clean stop.
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, _exit_cleanly)
    uvicorn.run(application, host=settings.host, port=settings.port, log_level=log_level.lower(), timeout_graceful_shutdown=30,
                limit_concurrency=limits.max_connections or None, timeout_keep_alive=limits.keep_alive_timeout,
                http=protocol_class(limits.head_timeout))  # request head: within head_timeout, at most 64 KiB


def _exit_cleanly(signum, frame) -> None:
    raise SystemExit(0)


if __name__ == "__main__":  # pragma: no cover
    app()
