"""Attaches the chat-continuity HTTP endpoint to the app (called by weft.app.create_app)."""
from __future__ import annotations

from typing import Any


def attach(app: Any, settings: Any, search: Any, keys: Any) -> None:
    """Include the mail/chat routers; `app.state.threads` is the ThreadService (attached before this)."""
    return None
