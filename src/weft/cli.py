"""The ``weft`` command: a thin adapter over the services."""
from __future__ import annotations

import signal
from pathlib import Path

import typer

from weft.config import Settings
from weft.errors import Unavailable

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
    from weft.cluster.status import app as cluster_app

    app.add_typer(cluster_app, name="cluster")  # weft cluster status / migrate


_register_subcommands()


@app.command()
def serve(
    config: Path = typer.Option(None, "--config", help="weft.toml to read (WEFT_CONFIG). Precedence: defaults < file < WEFT_* environment < flags."),
    host: str = typer.Option(None, help="Address to listen on (server.host, WEFT_HOST; default 127.0.0.1)."),
    port: int = typer.Option(None, help="Port (server.port, WEFT_PORT; default 8080)."),
    data_dir: Path = typer.Option(None, "--data-dir", help="Where weft keeps its data (server.data_dir, WEFT_DATA_DIR; default ./weft-data)."),
    admin_key: list[str] = typer.Option(None, "--admin-key", help="Admin api-key (WEFT_ADMIN_KEY). Generated and stored in the data dir if none is given. "
                                        "Visible in the process list: prefer --admin-key-file or the environment."),
    admin_key_file: list[Path] = typer.Option(None, "--admin-key-file", help="File with the admin api-key(s), one a line (recommended; server.admin_key_file, WEFT_ADMIN_KEY_FILE, or WEFT_ADMIN_KEY)."),
    query_key: list[str] = typer.Option(None, "--query-key", help="Query api-key (WEFT_QUERY_KEY): search, suggest, lookup and count only. "
                                        "Visible in the process list: prefer --query-key-file or the environment."),
    query_key_file: list[Path] = typer.Option(None, "--query-key-file", help="File with query api-key(s) (recommended; server.query_key_file, WEFT_QUERY_KEY_FILE, or WEFT_QUERY_KEY)."),
    allowed_model_endpoint: list[str] = typer.Option(None, "--allowed-model-endpoint", help="URL prefix or host that vectorizers may call (repeatable; server.allowed_model_endpoints, WEFT_ALLOWED_MODEL_ENDPOINTS). None: only the operator's own and local models."),
    api_docs: str = typer.Option(None, "--api-docs", help="/_docs and /_openapi.json: off (default), admin (admin key required) or on (server.api_docs, WEFT_API_DOCS)."),
    demo: bool = typer.Option(None, "--demo", help="Create the demo 'products-index' with generated products if it does not exist."),
    log_level: str = typer.Option(None, help="Log level (server.log_level, WEFT_LOG_LEVEL; default info)."),
    log_format: str = typer.Option(None, "--log-format", help="text or json: one JSON object per line, with the request id (server.log_format, WEFT_LOG_FORMAT)."),
    tls: str = typer.Option(None, "--tls", help="'auto': make a local CA and a server certificate for the listen address in <data-dir>/tls on first start (reused later) and serve HTTPS (server.tls, WEFT_TLS)."),
    tls_cert: Path = typer.Option(None, "--tls-cert", help="Serve HTTPS with this PEM certificate chain (server.tls_cert, WEFT_TLS_CERT); needs --tls-key. Reloaded when the file changes."),
    tls_key: Path = typer.Option(None, "--tls-key", help="The PEM private key of --tls-cert (server.tls_key, WEFT_TLS_KEY)."),
    auth: str = typer.Option(None, "--auth", help="keys | tokens | both (auth.mode, WEFT_AUTH; default: both when an --oidc-issuer is given, else keys)."),
    oidc_issuer: list[str] = typer.Option(None, "--oidc-issuer", help="Accept bearer tokens whose `iss` is this URL; keys from its discovery document's JWKS (auth.issuers, WEFT_OIDC_ISSUERS)."),
    oidc_jwks_file: Path = typer.Option(None, "--oidc-jwks-file", help="The issuer's JWKS from a file instead of its URL, for air-gapped networks (auth.jwks_file, WEFT_OIDC_JWKS_FILE)."),
    oidc_ca_file: str = typer.Option(None, "--oidc-ca-file", help="CA file to trust for the issuer's https endpoints (auth.issuer_ca_file, WEFT_OIDC_CA_FILE)."),
    token_audience: list[str] = typer.Option(None, "--token-audience", help="Token audience for the search APIs (auth.search_audiences; default https://search.azure.com)."),
    agent_token_audience: list[str] = typer.Option(None, "--agent-token-audience", help="Token audience for the agent and conversation APIs (auth.agent_audiences; default https://ai.azure.com, https://cognitiveservices.azure.com)."),
    role_assignments: Path = typer.Option(None, "--role-assignments", help="JSON file: object or group id -> list of role names, for tokens without a roles claim (auth.role_assignments)."),
    tenant_claim: str = typer.Option(None, "--tenant-claim", help="Token claim naming the conversation tenant (auth.tenant_claim; default tid)."),
    max_body_bytes: int = typer.Option(None, help="Largest request body (server.max_body_bytes, WEFT_MAX_BODY_BYTES; default 17 MiB)."),
    body_timeout: float = typer.Option(None, help="Seconds to wait for the next chunk of a request body (server.body_timeout, WEFT_BODY_TIMEOUT; default 15)."),
    max_connections: int = typer.Option(None, help="Connections accepted before answering 503 (server.max_connections, WEFT_MAX_CONNECTIONS; default 1000)."),
    keep_alive_timeout: float = typer.Option(None, help="Seconds an idle keep-alive connection stays open (server.keep_alive_timeout, WEFT_KEEP_ALIVE_TIMEOUT; default 5)."),
) -> None:
    """Run the weft server (embedded storage in the data dir). Every setting can also come from weft.toml or WEFT_*
    variables: `weft config show` prints the effective configuration."""
    import logging.config

    from weft import configuration
    from weft.app import create_app
    from weft.http import serving
    from weft.logs import log_config

    flags = {"server.host": host, "server.port": port, "server.data_dir": data_dir, "server.admin_keys": admin_key,
             "server.admin_key_file": [str(p) for p in admin_key_file or []], "server.query_keys": query_key, "server.query_key_file": [str(p) for p in query_key_file or []],
             "server.demo": demo, "server.log_level": log_level, "server.log_format": log_format, "server.tls": tls,
             "server.tls_cert": tls_cert, "server.tls_key": tls_key, "auth.mode": auth, "auth.issuers": oidc_issuer,
             "auth.jwks_file": oidc_jwks_file, "auth.issuer_ca_file": oidc_ca_file, "auth.search_audiences": token_audience,
             "auth.agent_audiences": agent_token_audience, "auth.role_assignments": role_assignments, "auth.tenant_claim": tenant_claim,
             "server.allowed_model_endpoints": allowed_model_endpoint, "server.api_docs": api_docs,
             "server.max_body_bytes": max_body_bytes, "server.body_timeout": body_timeout, "server.max_connections": max_connections,
             "server.keep_alive_timeout": keep_alive_timeout}
    import os

    os.umask(0o077)  # data files 0600, directories 0700 (also set where each file is created)
    try:
        effective = configuration.load(config, flags=flags)
        settings = Settings.from_config(effective)
        server = effective.section("server")
        logging_config = log_config(server.log_level, server.log_format)
        tls_context = _tls_context(settings, server)
    except (configuration.ConfigError, ValueError) as exc:
        raise typer.BadParameter(str(exc))
    logging.config.dictConfig(logging_config)
    generated = settings.ensure_admin_key()
    if generated:
        typer.echo(f"weft admin api-key: {generated}  (stored in {settings.data_dir / 'admin-key'})")
    try:
        application = create_app(settings)
    except configuration.ConfigError as exc:
        raise typer.BadParameter(str(exc))
    except Unavailable as exc:  # cluster mode: no primary within cluster.start_wait_seconds
        typer.echo(f"weft: {exc.message}", err=True)
        raise typer.Exit(3)
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
    try:  # uvicorn[standard] brings httptools; without it, uvicorn's own protocol (no head deadline)
        from weft.http.server_protocol import protocol_class
    except ImportError:  # pragma: no cover
        protocol_class = lambda timeout: "auto"  # noqa: E731
    limits = application.state.limits
    serving.run(application, host=settings.host, port=settings.port, log_level=server.log_level, log_config=logging_config,
                timeout_graceful_shutdown=30, limit_concurrency=limits.max_connections or None,
                timeout_keep_alive=limits.keep_alive_timeout, http=protocol_class(limits.head_timeout),  # head: in time, at most 64 KiB
                **tls_kwargs)


def _tls_context(settings: Settings, server):
    import ssl

    from weft.tls import ReloadingContext, TlsFiles, ensure_auto_certificates

    cert, key = server.tls_cert, server.tls_key
    if server.tls == "auto":
        if cert or key:
            raise ValueError("--tls auto makes its own certificate: do not also give --tls-cert/--tls-key")
        files = ensure_auto_certificates(settings.data_dir / "tls", settings.host)
        typer.echo(f"weft TLS: local CA {files.ca.resolve()} (trust it: REQUESTS_CA_BUNDLE={files.ca.resolve()} for the Azure SDK, "
                   f"SSL_CERT_FILE={files.ca.resolve()} for httpx/openai)")
        return ReloadingContext(files, server.tls_reload_seconds)
    if cert or key:
        if not (cert and key):
            raise ValueError("--tls-cert and --tls-key go together")
        try:
            return ReloadingContext(TlsFiles(cert, key), server.tls_reload_seconds)
        except (OSError, ssl.SSLError) as exc:
            raise ValueError(f"cannot load the TLS certificate {cert} with key {key}: {exc}")
    return None


config_app = typer.Typer(help="weft's configuration: weft.toml < WEFT_* environment < flags.", no_args_is_help=True)
app.add_typer(config_app, name="config")


@config_app.command("show")
def config_show(config: Path = typer.Option(None, "--config", help="weft.toml to read (WEFT_CONFIG).")) -> None:
    """Print the effective configuration (file, environment) as TOML, secrets redacted."""
    from weft import configuration

    try:
        effective = configuration.load(config)
    except configuration.ConfigError as exc:
        raise typer.BadParameter(str(exc))
    typer.echo(effective.show(), nl=False)


def _exit_cleanly(signum, frame) -> None:
    raise SystemExit(0)


if __name__ == "__main__":  # pragma: no cover
    app()
