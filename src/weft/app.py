"""The composition root: builds every service from the Settings and includes every router.

Nothing else in weft knows how the parts are put together: the domain packages (`search`, `indexers`,
`threads`, `mail`, `agent_tools`) expose services and never import `weft.http`; the routers in `weft.http`
adapt one service each; configuration is read once (`weft.configuration`) and handed down here.
"""
from __future__ import annotations

import contextlib
import logging
import os
from datetime import timedelta
from pathlib import Path

from fastapi import FastAPI

from weft import __version__
from weft.config import Settings
from weft.errors import InvalidInput
from weft.http.auth import KeyChecker
from weft.http.errors import install_error_handlers
from weft.search.service import SearchService

log = logging.getLogger("weft")


def create_app(settings: Settings, service: SearchService | None = None) -> FastAPI:
    runtime = None
    if settings.effective.get("cluster.url"):  # cluster mode: leases, heartbeat, PostgreSQL stores, shared keys
        from weft.cluster.nodes_runtime import from_settings as cluster_runtime

        runtime = cluster_runtime(settings)
    settings.ensure_admin_key()
    config = settings.effective
    environ = config.environ()  # the effective WEFT_* values, for the parts configured by such a mapping
    from weft.search import vectorizers

    vectorizers.configure(embedding_threads=config.get("models.embedding_threads"))
    from weft.search.ranking.rerankers import build_reranker

    rr = config.section("rerankers")
    try:
        reranker = build_reranker(rr.kind, url=rr.url, model=rr.model, api_key=rr.api_key, api=rr.api, timeout=rr.timeout_seconds)
    except InvalidInput as exc:
        from weft.configuration import ConfigError

        raise ConfigError(exc.message)
    from weft.search.endpoints import POLICY
    from weft.search.public import PublicSearch

    POLICY.configure(settings.allowed_model_endpoints)
    from weft.http import log_privacy

    log_privacy.install()  # no query strings of tenant routes in the access log
    cluster_search = None  # cluster mode (docs/cluster.md): the catalog and the documents of record in PostgreSQL
    if service is None and config.get("cluster.url"):
        from weft.cluster.search_node import build_search

        service, cluster_search = build_search(settings.data_dir / "search", config.get("cluster.url"), config.get("cluster.node_id"),
                                        reranker=reranker)
    search = service or SearchService(settings.data_dir / "search", reranker=reranker)
    if settings.demo:
        from weft.demo import ensure_demo_index

        ensure_demo_index(search)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI):
        yield
        # uvicorn has finished the in-flight requests: stop the other services, then drain the
        # index writers and close storage.
        for close in reversed(app.state.closers):
            try:
                close()
            except Exception:  # pragma: no cover - keep shutting the rest down
                log.exception("error while stopping")
        search.close()
        log.info("weft stopped cleanly")

    # /_docs and /_openapi.json are routes of weft.http.api_docs, gated by settings.api_docs; app.openapi() works either way
    app = FastAPI(title="weft", version=__version__, lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None)
    app.state.search = search
    app.state.cluster_search = cluster_search  # weft.cluster.engine.ClusterEngine (status()) or None
    app.state.settings = settings
    app.state.closers = []
    app.state.cluster = runtime  # weft.cluster.nodes_runtime.ClusterRuntime, None in embedded mode
    if runtime is not None:
        app.state.closers.append(runtime.close)  # closers run in reverse: the cluster parts close last
        if cluster_search is not None:  # the heartbeat reports this node's applied position per index
            runtime.set_positions(lambda: {name: info["position"] for name, info in cluster_search.applied()["indexes"].items()})
    install_error_handlers(app)
    from weft.http.limits import LimitSettings, RequestGuard

    try:
        limits = settings.limits or LimitSettings.from_env(environ)
    except ValueError as exc:
        from weft.configuration import ConfigError

        raise ConfigError(str(exc))
    app.state.limits = limits
    app.add_middleware(RequestGuard, settings=limits)
    keys = KeyChecker(settings.admin_keys, settings.query_keys, settings.identity)
    public = PublicSearch(search)  # what the search API, indexers and knowledge bases reach: no internal index
    app.state.public_search = public
    app.state.search_keys = keys  # the agents' Azure AI Search tool checks a run's creator with it
    from weft.http.search_routes import build_router

    search_router = build_router(public, keys, limits, read_threads=config.get("search.read_threads"))
    # routes are tried in order: the two query routes (docs/search, GET docs; four paths) first, then the
    # conversation and thread routes (the busiest, hit per message), the others, and the full search router
    app.router.routes.extend(search_router.hot_routes)
    auth = _attach_threads(app, settings, search, environ)
    _attach_chat(app, config, auth)
    _attach_indexers(app, settings, public, keys)
    _attach_retrieval(app, settings, public, keys)
    app.include_router(search_router)
    app.state.closers.append(lambda: search_router.read_pool.shutdown(wait=False, cancel_futures=True))
    from weft.http.api_docs import build_api_docs_router

    app.include_router(build_api_docs_router(app, settings.api_docs, keys))
    from weft.http.observe import ObserveMiddleware
    from weft.http.ops_routes import build_ops_router

    app.include_router(build_ops_router(keys, health=config.get("server.health"), metrics=config.get("server.metrics")))
    app.add_middleware(ObserveMiddleware, metrics=config.get("server.metrics") != "off")
    if config.get("server.console") == "on":
        from weft.http.console_routes import build_console_router

        app.include_router(build_console_router())  # /console: public files; data only through the APIs above
    if cluster_search is not None:
        from weft.http.cluster_tokens import PositionTokens

        app.add_middleware(PositionTokens, follower=cluster_search.follower)  # x-weft-position: write tokens
    from weft.http.cors import CorsMiddleware

    app.add_middleware(CorsMiddleware, cors_options=public.cors_options)  # outermost: errors carry the headers too
    from weft.http import openapi_docs

    openapi_docs.install(app)  # app.openapi() describes every route's parameters and bodies
    return app


def _attach_indexers(app: FastAPI, settings: Settings, search: SearchService, keys: KeyChecker) -> None:
    from weft.http.indexer_routes import build_router
    from weft.indexers.service import IndexerService

    raw = settings.effective.get("indexers.sqlite_dirs") or ""
    dirs = [Path(d) for d in raw.split(os.pathsep) if d] or [Path(settings.data_dir)]
    cluster = app.state.cluster
    service = IndexerService(settings.data_dir / "indexers", search, sqlite_dirs=dirs,
                             store=cluster.indexer_store() if cluster else None, leases=cluster.leases if cluster else None)
    app.state.indexers = service
    app.include_router(build_router(service, keys))
    app.state.closers.append(service.close)


def _attach_retrieval(app: FastAPI, settings: Settings, search: SearchService, keys: KeyChecker) -> None:
    from weft.http.retrieval_routes import build_retrieval_router
    from weft.retrieval.service import RetrievalService

    from weft.retrieval import preview

    effective = settings.effective
    preview.configure(effective.get("models.llm_base_url"), effective.get("models.llm_api_key"), effective.get("models.llm_model"))
    cluster = app.state.cluster
    service = RetrievalService(settings.data_dir / "retrieval", search, store=cluster.retrieval_store() if cluster else None)
    app.state.retrieval = service
    app.include_router(build_retrieval_router(service, keys))
    app.state.closers.append(service.close)


def _attach_threads(app: FastAPI, settings: Settings, search: SearchService, environ: dict[str, str]):
    from weft.http.conversation_search_routes import build_conversation_search_router
    from weft.http.conversations_routes import build_conversations_router
    from weft.http.responses_routes import build_responses_router
    from weft.http.tenant_auth import TenantAuth
    from weft.http.threads_admin_routes import build_threads_admin_router
    from weft.http.threads_routes import build_threads_router
    from weft.agents.responses import ResponsesService
    from weft.threads.factory import build_service
    from weft.threads.retention import RetentionJob
    from weft.threads.search_index import ConversationIndex, ConversationSearchSettings
    from weft.threads.settings import ThreadsSettings

    cluster = app.state.cluster
    if cluster is not None and not environ.get("WEFT_THREADS_DATABASE_URL"):
        environ = {**environ, "WEFT_THREADS_DATABASE_URL": cluster.url}  # cluster mode: threads in the cluster database
    threads_settings = ThreadsSettings.from_env(settings.data_dir, environ)
    service = build_service(threads_settings)
    from weft.ratelimit import Limiter
    from weft.threads.auth_failures import FailedAuthLog

    limits = app.state.limits
    failures = FailedAuthLog(service.audit)
    auth = TenantAuth(service, settings.admin_keys, threads_settings.default_tenant, settings.identity, failures=failures,
                      tenant_limiter=Limiter(limits.tenant_rate, limits.tenant_burst, 0))
    loop = ResponsesService(service, threads_settings)
    app.state.responses = loop  # the /v1/responses loop (Foundry's agent_reference reuses it)
    app.state.auth_failures = failures
    app.state.threads = service
    # Search over past conversations: before the conversations router, so /v1/conversations/search is not
    # taken for a conversation id.
    search_settings = ConversationSearchSettings.from_env(environ)
    cluster_search = app.state.cluster_search
    if cluster_search is not None:
        # the conversation indexes' index-only text is sealed in the documents of record with the tenant's data key
        # (weft.cluster.sealing): this node opens it with the same keyring the thread store's content opens with
        cluster_search.sealing.attach(service.keyring)
    index = ConversationIndex(search, service, settings.data_dir / "threads" / "conversation-search.sqlite3",
                              search_settings,
                              journal=cluster.conversation_journal(getattr(search, "secrets", None)) if cluster else None,
                              leases=cluster.leases if cluster else None)
    service.index_hooks = index
    app.state.conversation_index = index
    app.include_router(build_conversation_search_router(index, auth))
    app.include_router(build_conversations_router(service, auth))
    from weft.agents.model_slots import ModelSlots

    model_slots = ModelSlots(limits.model_concurrency)  # one count per tenant for responses and runs
    definitions = _attach_agents(app, service, auth, loop, threads_settings, model_slots)  # before the threads router: /threads/runs
    app.include_router(build_threads_router(service, auth))
    app.include_router(build_threads_admin_router(service, auth))
    from weft.http.runs_routes import search_grant_of

    loop.public = app.state.public_search  # the Azure AI Search tool of a response (weft.agents.project_tools)
    keys = app.state.search_keys
    responses = build_responses_router(loop, auth, model_threads=limits.model_threads, model_concurrency=limits.model_concurrency,
                                       prepare=definitions.apply_reference, model_slots=model_slots,
                                       search_grant=lambda request: search_grant_of(keys, request))
    app.include_router(responses)
    job = RetentionJob(service, threads_settings.retention_interval_seconds, leases=cluster.leases if cluster else None).start()
    app.state.threads_retention = job
    app.state.closers.append(job.stop)
    app.state.closers.append(loop.close)
    app.state.closers.append(lambda: responses.model_pool.shutdown(wait=False, cancel_futures=True))
    index.start()
    app.state.closers.append(service.close)
    app.state.closers.append(failures.close)  # closers run in reverse: the counts are written before the store closes
    app.state.closers.append(index.stop)  # closers run in reverse: the index stops before the store closes
    return auth


def _attach_agents(app: FastAPI, service, auth, loop, threads_settings, model_slots=None):
    """Foundry agents over the threads store: classic assistants and runs, agent definitions, project paths."""
    from weft.agents.assistants import Assistants
    from weft.agents.definitions import AgentDefinitions
    from weft.agents.runs import Runs
    from weft.http.assistants_routes import build_assistants_router
    from weft.http.project_routes import ProjectPaths, build_agent_definitions_router
    from weft.http.runs_routes import build_runs_router

    assistants = Assistants(service, threads_settings.llm_model)
    runs = Runs(service, assistants, loop.endpoint, history_token_budget=threads_settings.history_token_budget,
                lease_seconds=threads_settings.run_lease_seconds, lock_wait_seconds=threads_settings.lock_wait_seconds,
                locks=loop.locks, model_slots=model_slots)
    definitions = AgentDefinitions(service)
    app.state.runs = runs
    app.state.agent_definitions = definitions
    app.include_router(build_assistants_router(assistants, auth))
    runs.public = app.state.public_search  # the azure_ai_search tool (weft.agents.search_tool)
    app.include_router(build_runs_router(runs, auth, app.state.search_keys))
    app.include_router(build_agent_definitions_router(definitions, auth))
    app.add_middleware(ProjectPaths)
    app.state.closers.append(runs.close)
    return definitions


def _attach_chat(app: FastAPI, config, auth) -> None:
    from weft.http.chat_routes import build_chat_router
    from weft.mail.chat import ContinuityPolicy
    from weft.mail.chat_store import ChatMessages

    idle = config.get("chat.idle_seconds")
    if idle < 0:
        from weft.configuration import ConfigError

        raise ConfigError("chat.idle_seconds (WEFT_CHAT_IDLE_SECONDS) must be a non-negative number of seconds")
    chat = ChatMessages(app.state.threads, ContinuityPolicy(idle_window=timedelta(seconds=idle)))
    app.state.chat = chat
    app.include_router(build_chat_router(chat, auth))
