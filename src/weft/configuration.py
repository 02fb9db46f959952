"""weft's one configuration: an optional `weft.toml`, then `WEFT_*` environment variables, then command-line flags.

Every setting is declared once, in `OPTIONS`: its section and name in the file, its environment variable, its
type, default and whether it is a secret. `load()` reads them in that order of precedence (defaults < file <
environment < flags); an unknown section or key in the file, or a value of the wrong type, is a `ConfigError`
that names it, at start. Only the composition root (`weft serve`, `weft.app`) calls `load()`; the services
receive the typed values (`Config.section(...)`), and the parts that take their settings as a mapping of
`WEFT_*` names get `Config.environ()`, the effective values under those names, so the environment of the
process is read here and nowhere else. `weft config show` prints the effective values, secrets redacted.
"""
from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Iterable, Mapping


class ConfigError(ValueError):
    """A configuration file, variable or flag that cannot be used; the message names it."""


@dataclass(frozen=True)
class Option:
    section: str
    name: str
    env: str
    kind: str  # str, int, float, bool, list, path
    default: Any = None
    secret: bool = False
    choices: tuple[str, ...] = ()
    help: str = ""

    @property
    def key(self) -> str:
        return f"{self.section}.{self.name}"


def _o(section, name, env, kind="str", default=None, *, secret=False, choices=(), help=""):
    return Option(section, name, env, kind, default, secret, tuple(choices), help)


OPTIONS: tuple[Option, ...] = (
    # server
    _o("server", "host", "WEFT_HOST", default="127.0.0.1", help="address to listen on"),
    _o("server", "port", "WEFT_PORT", "int", 8080, help="port"),
    _o("server", "data_dir", "WEFT_DATA_DIR", "path", Path("./weft-data"), help="where weft keeps its data"),
    _o("server", "admin_keys", "WEFT_ADMIN_KEY", "list", (), secret=True, help="admin api-keys (generated when none is given)"),
    _o("server", "admin_key_file", "WEFT_ADMIN_KEY_FILE", "list", (), help="file(s) holding the admin api-key(s), one per line"),
    _o("server", "query_keys", "WEFT_QUERY_KEY", "list", (), secret=True, help="query api-keys"),
    _o("server", "query_key_file", "WEFT_QUERY_KEY_FILE", "list", (), help="file(s) holding the query api-key(s), one per line"),
    _o("server", "allowed_model_endpoints", "WEFT_ALLOWED_MODEL_ENDPOINTS", "list", (),
       help="URL prefixes or hosts that vectorizers, rerankers and mcp tools defined through the API may call"),
    _o("server", "api_docs", "WEFT_API_DOCS", default="off", choices=("off", "admin", "on"), help="/_docs and /_openapi.json"),
    _o("server", "console", "WEFT_CONSOLE", default="on", choices=("on", "off"), help="the web console at /console (and / redirecting browsers there)"),
    _o("server", "demo", "WEFT_DEMO", "bool", False, help="create the demo products-index"),
    _o("server", "log_level", "WEFT_LOG_LEVEL", default="info", choices=("debug", "info", "warning", "error", "critical")),
    _o("server", "log_format", "WEFT_LOG_FORMAT", default="text", choices=("text", "json")),
    _o("server", "tls", "WEFT_TLS", default="off", choices=("off", "auto"), help="auto: a local CA and certificate in <data_dir>/tls"),
    _o("server", "tls_cert", "WEFT_TLS_CERT", "path", help="PEM certificate chain to serve HTTPS with"),
    _o("server", "tls_key", "WEFT_TLS_KEY", "path", help="PEM private key of tls_cert"),
    _o("server", "tls_reload_seconds", "WEFT_TLS_RELOAD_SECONDS", "float", 10.0, help="how often the certificate files are checked for a renewal"),
    _o("server", "max_body_bytes", "WEFT_MAX_BODY_BYTES", "int", 17 * 1024 * 1024, help="largest request body (0: no size check)"),
    _o("server", "body_timeout", "WEFT_BODY_TIMEOUT", "float", 15.0, help="seconds to wait for the next chunk of a request body"),
    _o("server", "head_timeout", "WEFT_HEAD_TIMEOUT", "float", 10.0, help="seconds a connection has to send a complete request head"),
    _o("server", "max_connections", "WEFT_MAX_CONNECTIONS", "int", 1000, help="connections accepted before answering 503"),
    _o("server", "keep_alive_timeout", "WEFT_KEEP_ALIVE_TIMEOUT", "float", 5.0, help="seconds an idle keep-alive connection stays open"),
    _o("server", "key_rate", "WEFT_KEY_RATE", "float", 2000.0, help="requests a second per api key (or client address); 0: off"),
    _o("server", "key_burst", "WEFT_KEY_BURST", "float", 4000.0),
    _o("server", "key_concurrency", "WEFT_KEY_CONCURRENCY", "int", 128, help="requests in flight per key (or address)"),
    _o("server", "health", "WEFT_HEALTH", default="open", choices=("open", "key"), help="/healthz and /readyz: open, or behind a key"),
    _o("server", "metrics", "WEFT_METRICS", default="key", choices=("key", "open", "off"), help="/metrics: behind a key, open, or off"),
    # auth
    _o("auth", "mode", "WEFT_AUTH", choices=("keys", "tokens", "both"), help="default: both when an issuer is configured, else keys"),
    _o("auth", "issuers", "WEFT_OIDC_ISSUERS", "list", (), help="accepted token issuers (exact iss values)"),
    _o("auth", "jwks_file", "WEFT_OIDC_JWKS_FILE", "path", help="the issuer's JWKS from a file (air-gapped networks)"),
    _o("auth", "issuer_ca_file", "WEFT_OIDC_CA_FILE", help="CA to trust for the issuer's https endpoints"),
    _o("auth", "search_audiences", "WEFT_SEARCH_TOKEN_AUDIENCES", "list", ("https://search.azure.com",)),
    _o("auth", "agent_audiences", "WEFT_AGENT_TOKEN_AUDIENCES", "list", ("https://ai.azure.com", "https://cognitiveservices.azure.com")),
    _o("auth", "role_assignments", "WEFT_ROLE_ASSIGNMENTS", "path", help="JSON: object or group id -> role names"),
    _o("auth", "tenant_claim", "WEFT_TENANT_CLAIM", default="tid", help="token claim naming the conversation tenant"),
    _o("auth", "jwks_refresh_seconds", "WEFT_JWKS_REFRESH_SECONDS", "float", 30.0, help="least time between two JWKS fetches for unknown key ids"),
    # search
    _o("search", "read_threads", "WEFT_READ_THREADS", "int", 0, help="threads that run every search (0: cheap ones on the event loop)"),
    _o("search", "search_threads", "WEFT_SEARCH_THREADS", "int", None, help="threads that run expensive searches (default: cores - 1)"),
    _o("search", "search_timeout", "WEFT_SEARCH_TIMEOUT", "float", 10.0, help="seconds a search may take before a 503"),
    # indexers
    _o("indexers", "sqlite_dirs", "WEFT_SQLITE_DIRS", help=f"directories SQLite data sources may read ('{os.pathsep}'-separated; default: the data dir)"),
    # cluster (issue 18): many stateless nodes over one PostgreSQL system of record; unset = embedded mode
    _o("cluster", "url", "WEFT_CLUSTER_URL", secret=True,
       help="PostgreSQL URL holding every durable object (cluster mode); unset: embedded data dir"),
    _o("cluster", "node_id", "WEFT_NODE_ID", help="this node's name in the cluster (default: host:port)"),
    _o("cluster", "lease_seconds", "WEFT_CLUSTER_LEASE_SECONDS", "float", 6.0,
       help="job lease ttl: a dead node's jobs move to another node within 4/3 of this (weft.cluster.leases)"),
    _o("cluster", "start_wait_seconds", "WEFT_CLUSTER_START_WAIT", "float", 120.0,
       help="seconds a starting node waits for a writable primary (a start during a failover) before it gives up"),
    # threads
    _o("threads", "database_url", "WEFT_THREADS_DATABASE_URL", secret=True, help="SQLAlchemy URL (default: SQLite in the data dir)"),
    _o("threads", "table_prefix", "WEFT_THREADS_TABLE_PREFIX", default="weft_"),
    _o("threads", "master_key_file", "WEFT_MASTER_KEY_FILE", "path", help="32-byte master key: turns encryption at rest on"),
    _o("threads", "master_key", "WEFT_MASTER_KEY", secret=True),
    _o("threads", "encryption", "WEFT_THREADS_ENCRYPTION", choices=("on", "off"), help="default: on when a master key is set"),
    _o("threads", "default_tenant", "WEFT_DEFAULT_TENANT", default="default"),
    _o("threads", "history_token_budget", "WEFT_HISTORY_TOKEN_BUDGET", "int", 8000),
    _o("threads", "retention_interval", "WEFT_RETENTION_INTERVAL", "float", 60.0, help="seconds between purge passes (0: off)"),
    _o("threads", "audit_reads", "WEFT_AUDIT_READS", "bool", True),
    _o("threads", "conversation_lock_mode", "WEFT_CONVERSATION_LOCK_MODE", default="wait", choices=("refuse", "wait"),
       help="a second response on a busy conversation waits (up to conversation_lock_wait) or is refused at once"),
    _o("threads", "conversation_lock_wait", "WEFT_CONVERSATION_LOCK_WAIT", "float", 30.0,
       help="seconds a response waits for its conversation before 400 conversation_locked"),
    _o("threads", "tenant_rate", "WEFT_TENANT_RATE", "float", 1000.0, help="requests a second per tenant on the threads routes"),
    _o("threads", "tenant_burst", "WEFT_TENANT_BURST", "float", 2000.0),
    _o("threads", "conversation_lock_seconds", "WEFT_CONVERSATION_LOCK_SECONDS", "float", 600.0,
       help="a background response of another process that has not moved for this long is marked failed"),
    _o("threads", "conversation_lease_seconds", "WEFT_CONVERSATION_LEASE_SECONDS", "float", 10.0,
       help="a turn's conversation lock, renewed by a heartbeat: a crashed holder's lock ends this long after its last beat"),
    _o("threads", "run_lease_seconds", "WEFT_RUN_LEASE_SECONDS", "float", 30.0,
       help="a classic run cut off by a crash ends 'failed' once this lease (renewed while it runs) is over"),
    _o("threads", "search_tenants", "WEFT_CONVERSATION_SEARCH_TENANTS", "list", (), help="tenants whose conversations are searchable"),
    _o("threads", "search_embeddings", "WEFT_CONVERSATION_EMBEDDINGS", help="vectorizer JSON for conversation search"),
    _o("threads", "search_embedding_dimensions", "WEFT_CONVERSATION_EMBEDDING_DIMENSIONS", "int"),
    _o("threads", "search_interval", "WEFT_CONVERSATION_SEARCH_INTERVAL", "float", 10.0),
    _o("threads", "search_store_text", "WEFT_CONVERSATION_SEARCH_STORE_TEXT", "bool",
       help="the conversation-search index stores item text (default: not with encryption on)"),
    # chat
    _o("chat", "idle_seconds", "WEFT_CHAT_IDLE_SECONDS", "float", 1800.0, help="a chat conversation stays open this long without messages"),
    # models
    _o("models", "llm_base_url", "WEFT_LLM_BASE_URL", help="OpenAI-compatible chat endpoint for /v1/responses"),
    _o("models", "llm_api_key", "WEFT_LLM_API_KEY", secret=True),
    _o("models", "llm_model", "WEFT_LLM_MODEL"),
    _o("models", "model_concurrency", "WEFT_MODEL_CONCURRENCY", "int", 16, help="model calls (/v1/responses and classic runs) in flight per tenant"),
    _o("models", "model_threads", "WEFT_MODEL_THREADS", "int", 64, help="threads that wait on upstream model calls"),
    _o("models", "embedding_threads", "WEFT_EMBEDDING_THREADS", "int", 1, help="PyTorch threads of the local embedding model (0: PyTorch's choice)"),
    # rerankers
    _o("rerankers", "kind", "WEFT_RERANKER", default="local", choices=("local", "remote", "off"),
       help="semantic ranking: local (all-MiniLM-L6-v2 in-process), remote (/rerank API) or off"),
    _o("rerankers", "url", "WEFT_RERANKER_URL", help="the remote reranker's /rerank URL"),
    _o("rerankers", "api", "WEFT_RERANKER_API", default="cohere", choices=("cohere", "tei"), help="request shape: cohere (also Jina, Infinity) or tei"),
    _o("rerankers", "model", "WEFT_RERANKER_MODEL", help="model name sent to the remote reranker"),
    _o("rerankers", "api_key", "WEFT_RERANKER_API_KEY", secret=True),
    _o("rerankers", "timeout_seconds", "WEFT_RERANKER_TIMEOUT", "float", 10.0),
)
SECTIONS = ("server", "auth", "search", "indexers", "cluster", "threads", "chat", "models", "rerankers")
BY_KEY = {o.key: o for o in OPTIONS}
BY_ENV = {o.env: o for o in OPTIONS}
REDACTED = "<redacted>"


def _convert(option: Option, value: Any, where: str) -> Any:
    """A value from the file (TOML types), the environment or a flag (strings), as the option's type."""
    def bad(what: str) -> ConfigError:
        return ConfigError(f"{where}: {option.key} must be {what}, not {value!r}")

    if value is None:
        return None
    kind = option.kind
    if kind == "list":
        if isinstance(value, str):
            items = [v.strip() for v in value.split(",") if v.strip()]
        elif isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value):
            items = list(value)
        else:
            raise bad("a list of strings")
        return tuple(items)
    if kind == "bool":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in ("1", "true", "yes", "on"):
            return True
        if isinstance(value, str) and value.strip().lower() in ("0", "false", "no", "off"):
            return False
        raise bad("true or false")
    if kind == "int":
        if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
            raise bad("a whole number")
        try:
            return int(value)
        except (TypeError, ValueError):
            raise bad("a whole number")
    if kind == "float":
        if isinstance(value, bool):
            raise bad("a number")
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise bad("a number")
        if number != number or number in (float("inf"), float("-inf")):
            raise bad("a finite number")
        return number
    if kind == "path":
        if not isinstance(value, (str, os.PathLike)) or not str(value):
            raise bad("a path")
        return Path(value)
    if not isinstance(value, str):
        raise bad("a string")
    if option.choices and value not in option.choices:
        raise ConfigError(f"{where}: {option.key} is one of {', '.join(option.choices)}, not {value!r}")
    return value


@dataclass
class Config:
    values: dict[str, Any]
    sources: dict[str, str]  # key -> default | file | env | flag
    file: Path | None = None

    def get(self, key: str) -> Any:
        return self.values[key]

    def section(self, name: str) -> SimpleNamespace:
        return SimpleNamespace(**{o.name: self.values[o.key] for o in OPTIONS if o.section == name})

    def environ(self) -> dict[str, str]:
        """The effective values under their WEFT_* names, for the parts configured by such a mapping."""
        out: dict[str, str] = {}
        for option in OPTIONS:
            value = self.values[option.key]
            if value is None or (option.kind == "list" and not value):
                continue
            if option.kind == "list":
                out[option.env] = ",".join(value)
            elif option.kind == "bool":
                out[option.env] = "on" if value else "off"
            else:
                out[option.env] = str(value)
        return out

    def show(self) -> str:
        """The effective configuration as TOML, secrets redacted, each value's source in a comment."""
        lines: list[str] = []
        if self.file:
            lines.append(f"# from {self.file}, the environment and flags (precedence: default < file < environment < flag)")
        for section in SECTIONS:
            options = [o for o in OPTIONS if o.section == section]
            lines.append(f"\n[{section}]")
            if not options:
                lines.append("# (no settings yet)")
            for option in options:
                value = self.values[option.key]
                source = self.sources[option.key]
                if value is None:
                    lines.append(f"# {option.name} =   (not set)")
                    continue
                if option.secret and source != "default":
                    shown = '"' + REDACTED + '"' if option.kind != "list" else "[" + ", ".join('"' + REDACTED + '"' for _ in value) + "]"
                elif option.kind == "list":
                    shown = "[" + ", ".join(_toml_string(v) for v in value) + "]"
                elif option.kind == "bool":
                    shown = "true" if value else "false"
                elif option.kind in ("int", "float"):
                    shown = repr(value)
                else:
                    shown = _toml_string(str(value))
                lines.append(f"{option.name} = {shown}  # {source}")
        return "\n".join(lines).lstrip("\n") + "\n"


def _toml_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def load(config_file: Path | str | None = None, environ: Mapping[str, str] | None = None,
         flags: Mapping[str, Any] | None = None) -> Config:
    env = os.environ if environ is None else environ
    values = {o.key: (tuple(o.default) if isinstance(o.default, (list, tuple)) else o.default) for o in OPTIONS}
    sources = {o.key: "default" for o in OPTIONS}
    path = Path(config_file) if config_file else (Path(env["WEFT_CONFIG"]) if env.get("WEFT_CONFIG") else None)
    if path is not None:
        try:
            document = tomllib.loads(path.read_text())
        except OSError as exc:
            raise ConfigError(f"cannot read the configuration file {path}: {exc.strerror or exc}")
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path} is not valid TOML: {exc}")
        for section, table in document.items():
            if section not in SECTIONS:
                raise ConfigError(f"{path}: unknown section [{section}]; the sections are {', '.join(SECTIONS)}")
            if not isinstance(table, dict):
                raise ConfigError(f"{path}: {section} must be a table ([{section}])")
            for name, value in table.items():
                option = BY_KEY.get(f"{section}.{name}")
                if option is None:
                    known = ", ".join(o.name for o in OPTIONS if o.section == section) or "none yet"
                    raise ConfigError(f"{path}: unknown setting {section}.{name} (known in [{section}]: {known})")
                values[option.key] = _convert(option, value, str(path))
                sources[option.key] = "file"
    for option in OPTIONS:
        raw = env.get(option.env)
        if raw is not None and raw.strip() != "":
            values[option.key] = _convert(option, raw, f"environment variable {option.env}")
            sources[option.key] = "env"
    for key, value in (flags or {}).items():
        if value is None or (isinstance(value, (list, tuple)) and not value):
            continue
        option = BY_KEY.get(key)
        if option is None:
            raise ConfigError(f"unknown setting {key}")
        values[key] = _convert(option, value, f"flag for {key}")
        sources[key] = "flag"
    return Config(values, sources, path)


def env_names() -> Iterable[str]:
    return BY_ENV.keys()
