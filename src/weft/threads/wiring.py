"""Attaches the threads service and its HTTP routes to the app (called by weft.app.create_app)."""
from __future__ import annotations

from typing import Any

from weft.threads.factory import build_service
from weft.threads.retention import RetentionJob
from weft.threads.settings import ThreadsSettings


def attach(app: Any, settings: Any, search: Any, keys: Any) -> None:
    """Create the service from settings, include its routers, register closers in app.state.closers."""
    from weft.http.conversations_routes import build_conversations_router
    from weft.http.responses_routes import build_responses_router
    from weft.http.tenant_auth import TenantAuth
    from weft.http.threads_admin_routes import build_threads_admin_router
    from weft.http.threads_routes import build_threads_router
    from weft.threads.conversation import ConversationLoop

    threads_settings = ThreadsSettings.from_env(settings.data_dir)
    service = build_service(threads_settings)
    from weft.http.limits import LimitSettings
    from weft.ratelimit import Limiter
    from weft.threads.auth_failures import FailedAuthLog

    limits = getattr(app.state, "limits", None) or LimitSettings.from_env()
    failures = FailedAuthLog(service.audit)
    auth = TenantAuth(service, settings.admin_keys, threads_settings.default_tenant, failures=failures,
                      tenant_limiter=Limiter(limits.tenant_rate, limits.tenant_burst, 0))
    loop = ConversationLoop(service, threads_settings)
    app.state.auth_failures = failures
    app.state.threads = service
    # Search over past conversations: before the conversations router, so /v1/conversations/search is not
    # taken for a conversation id.
    from weft.http.conversation_search_routes import build_conversation_search_router
    from weft.threads.search_index import ConversationIndex, ConversationSearchSettings

    index = ConversationIndex(search, service, settings.data_dir / "threads" / "conversation-search.sqlite3",
                              ConversationSearchSettings.from_env())
    service.index_hooks = index
    app.state.conversation_index = index
    app.include_router(build_conversation_search_router(index, auth))
    app.include_router(build_conversations_router(service, auth))
    app.include_router(build_threads_router(service, auth))
    app.include_router(build_threads_admin_router(service, auth))
    responses = build_responses_router(loop, auth, model_threads=limits.model_threads, model_concurrency=limits.model_concurrency)
    app.include_router(responses)
    job = RetentionJob(service, threads_settings.retention_interval_seconds).start()
    app.state.threads_retention = job
    app.state.closers.append(job.stop)
    app.state.closers.append(loop.close)
    app.state.closers.append(lambda: responses.model_pool.shutdown(wait=False, cancel_futures=True))
    index.start()
    app.state.closers.append(service.close)
    app.state.closers.append(failures.close)  # closers run in reverse: the counts are written before the store closes
    app.state.closers.append(index.stop)  # closers run in reverse: the index stops before the store closes
