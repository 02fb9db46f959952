"""Attaches the chat-continuity HTTP endpoint to the app (called by weft.app.create_app)."""
from __future__ import annotations

import os
from datetime import timedelta
from typing import Any

from weft.errors import InvalidInput

DEFAULT_IDLE_SECONDS = 30 * 60


def idle_window_from_env(environ: dict[str, str] | None = None) -> timedelta:
    """``WEFT_CHAT_IDLE_SECONDS``: how long a chat conversation stays open without messages (default 1800)."""
    raw = (os.environ if environ is None else environ).get("WEFT_CHAT_IDLE_SECONDS", "").strip()
    if not raw:
        return timedelta(seconds=DEFAULT_IDLE_SECONDS)
    try:
        seconds = float(raw)
    except ValueError:
        seconds = -1.0
    if seconds < 0:
        raise InvalidInput("WEFT_CHAT_IDLE_SECONDS must be a non-negative number of seconds.")
    return timedelta(seconds=seconds)


def attach(app: Any, settings: Any, search: Any, keys: Any) -> None:
    """Include the mail/chat routers; `app.state.threads` is the ThreadService (attached before this)."""
    from weft.http.chat_routes import build_chat_router
    from weft.http.tenant_auth import TenantAuth
    from weft.mail.chat import ContinuityPolicy
    from weft.mail.chat_store import ChatMessages

    threads = app.state.threads
    auth = TenantAuth(threads, settings.admin_keys, threads.default_tenant, getattr(settings, "identity", None))
    chat = ChatMessages(threads, ContinuityPolicy(idle_window=idle_window_from_env()))
    app.state.chat = chat
    app.include_router(build_chat_router(chat, auth))
