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
    log_format: str = typer.Option("text", "--log-format", help="text or json (one JSON object per line, with the request id)."),
    tls: str = typer.Option(None, "--tls", help="'auto': make a local CA and a server certificate for the listen address in <data-dir>/tls on first start (reused later) and serve HTTPS (WEFT_TLS)."),
    tls_cert: Path = typer.Option(None, "--tls-cert", help="Serve HTTPS with this PEM certificate chain (WEFT_TLS_CERT); needs --tls-key. Reloaded when the file changes."),
    tls_key: Path = typer.Option(None, "--tls-key", help="The PEM private key of --tls-cert (WEFT_TLS_KEY)."),
    auth: str = typer.Option(None, "--auth", help="keys | tokens | both (WEFT_AUTH; default: both when an --oidc-issuer is given, else keys)."),
    oidc_issuer: list[str] = typer.Option(None, "--oidc-issuer", help="Accept bearer tokens whose `iss` is this URL; keys from its discovery document's JWKS (WEFT_OIDC_ISSUERS, comma-separated)."),
    oidc_jwks_file: Path = typer.Option(None, "--oidc-jwks-file", help="The issuer's JWKS from a file instead of its URL, for air-gapped networks (WEFT_OIDC_JWKS_FILE)."),
    oidc_ca_file: str = typer.Option(None, "--oidc-ca-file", help="CA file to trust for the issuer's https endpoints (WEFT_OIDC_CA_FILE)."),
    token_audience: list[str] = typer.Option(None, "--token-audience", help="Token audience for the search APIs (WEFT_SEARCH_TOKEN_AUDIENCES; default https://search.azure.com)."),
    agent_token_audience: list[str] = typer.Option(None, "--agent-token-audience", help="Token audience for the agent and conversation APIs (WEFT_AGENT_TOKEN_AUDIENCES; default https://ai.azure.com, https://cognitiveservices.azure.com)."),
    role_assignments: Path = typer.Option(None, "--role-assignments", help="JSON file: object or group id -> list of role names, for tokens without a roles claim (WEFT_ROLE_ASSIGNMENTS)."),
    tenant_claim: str = typer.Option(None, "--tenant-claim", help="Token claim naming the conversation tenant (WEFT_TENANT_CLAIM; default tid)."),
) -> None:
    """Run the weft server (embedded storage in the data dir)."""
    from weft.http import serving

    from weft.app import create_app

    import logging.config

    from weft.logs import log_config

    try:
        logging_config = log_config(log_level, log_format)
    except ValueError as exc:
        raise typer.BadParameter(str(exc))
    logging.config.dictConfig(logging_config)
    settings = Settings.from_env(host=host, port=port, data_dir=data_dir, admin_keys=admin_key or None, query_keys=query_key or None, demo=demo)
    generated = settings.ensure_admin_key()
    if generated:
        typer.echo(f"weft admin api-key: {generated}  (stored in {settings.data_dir / 'admin-key'})")
    tls_context = _tls_context(settings, tls, tls_cert, tls_key)
    from weft.identity import IdentitySettings

    try:
        settings.identity = IdentitySettings.from_env(
            mode=auth, issuers=oidc_issuer, jwks_file=oidc_jwks_file, issuer_ca_file=oidc_ca_file, search_audiences=token_audience,
            agent_audiences=agent_token_audience, role_assignments_file=role_assignments, tenant_claim=tenant_claim).build()
    except ValueError as exc:
        raise typer.BadParameter(str(exc))
    application = create_app(settings)
    scheme = "https" if tls_context else "http"
    typer.echo(f"weft listening on {scheme}://{settings.host}:{settings.port}  (data: {settings.data_dir.resolve()})")
    # uvicorn shuts down gracefully on SIGTERM/SIGINT (finishing in-flight requests, then our lifespan
    # drains the index writers) and re-raises the signal afterwards; exit 0 then, as a clean stop.
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, _exit_cleanly)
    tls_kwargs = {}
    if tls_context is not None:
        tls_context.start()
        tls_kwargs = {"ssl_context_factory": lambda config, default: tls_context.context}
    serving.run(application, host=settings.host, port=settings.port, log_level=log_level.lower(), log_config=logging_config, timeout_graceful_shutdown=30, **tls_kwargs)


def _tls_context(settings: Settings, mode: str | None, cert: Path | None, key: Path | None):
    import os
    import ssl

    from weft.tls import ReloadingContext, TlsFiles, ensure_auto_certificates

    mode = mode or os.environ.get("WEFT_TLS") or None
    cert = cert or (Path(os.environ["WEFT_TLS_CERT"]) if os.environ.get("WEFT_TLS_CERT") else None)
    key = key or (Path(os.environ["WEFT_TLS_KEY"]) if os.environ.get("WEFT_TLS_KEY") else None)
    interval = float(os.environ.get("WEFT_TLS_RELOAD_SECONDS", "10"))
    if mode not in (None, "auto", "off"):
        raise typer.BadParameter(f"--tls takes 'auto' (or 'off'), not {mode!r}; give certificate files with --tls-cert and --tls-key")
    if mode == "auto":
        if cert or key:
            raise typer.BadParameter("--tls auto makes its own certificate: do not also give --tls-cert/--tls-key")
        files = ensure_auto_certificates(settings.data_dir / "tls", settings.host)
        typer.echo(f"weft TLS: local CA {files.ca.resolve()} (trust it: REQUESTS_CA_BUNDLE={files.ca.resolve()} for the Azure SDK, "
                   f"SSL_CERT_FILE={files.ca.resolve()} for httpx/openai)")
        return ReloadingContext(files, interval)
    if cert or key:
        if not (cert and key):
            raise typer.BadParameter("--tls-cert and --tls-key go together")
        try:
            return ReloadingContext(TlsFiles(cert, key), interval)
        except (OSError, ssl.SSLError) as exc:
            raise typer.BadParameter(f"cannot load the TLS certificate {cert} with key {key}: {exc}")
    return None


def _exit_cleanly(signum, frame) -> None:
    raise SystemExit(0)


if __name__ == "__main__":  # pragma: no cover
    app()
