"""What a thread's next classic-run create would read, kept from this process's own writes (weft.agents.runs).

A create needs the thread (is it one), the agent (model, instructions, tools) and the thread's newest two runs (is
one still open). The first create on a thread reads them; after that this process knows what its own writes left:
the agent's state with its stored bytes, the newest runs with theirs. The next create builds the run from that and
its commit stores it only while the database still holds exactly that (``guard``: weft.threads.turn_sql's guard
CTE, PostgreSQL); anything another process changed makes the commit store nothing (BasisChanged) and the create
reads as it would have. A basis with an open run is never used. Plaintext states: forgotten with the thread or the
tenant (``ThreadService.forget_hooks``), on close, and beyond 4096 threads, oldest first.
"""
from __future__ import annotations

import contextlib
import json
import threading
from dataclasses import dataclass

from weft.agents import run_shapes as shapes
from weft.threads.service import ThreadService
from weft.threads.turn_store import CreateGuard

MAX_THREADS = 4096


def copy_state(state: dict) -> dict:
    """A deep copy of a stored (JSON) state: a run built from it shares nothing with what is kept."""
    return json.loads(json.dumps(state))


@dataclass
class CreateBasis:
    """The agent's state and its stored bytes, and the thread's newest two runs (id, stored bytes, status)."""

    agent_id: str
    agent_body: bytes
    agent: dict
    runs: list[tuple[str, bytes, str]]


class CreateBases:
    def __init__(self, service: ThreadService):
        self.service = service
        self._bases: dict[tuple[str, str], CreateBasis] = {}  # (tenant, thread) -> basis
        self._lock = threading.Lock()
        service.forget_hooks.append(self.forget)

    def usable(self, tenant_id: str, thread_id: str, agent_id: str) -> CreateBasis | None:
        """The thread's basis for a create with this agent, while no run in it is open."""
        with self._lock:
            basis = self._bases.get((tenant_id, thread_id))
        if basis is None or basis.agent_id != agent_id or any(status in shapes.OPEN for _, _, status in basis.runs):
            return None
        return basis

    def guard(self, tenant_id: str, thread_id: str, basis: CreateBasis, thread_kinds: tuple[str, ...], agent_kind: str,
              run_kind: str) -> CreateGuard:
        """What the create's commit checks (the runs found by their ``thread_id`` tag, as the read finds them)."""
        ((key, value),) = self.service.codec.filter_tags(tenant_id, {"thread_id": thread_id}).items()
        keys = key if isinstance(key, tuple) else (key,)
        return CreateGuard(thread_id, thread_kinds, basis.agent_id, agent_kind, basis.agent_body, run_kind, keys, value,
                           tuple((rid, body) for rid, body, _ in basis.runs))

    def created(self, tenant_id: str, thread_id: str, basis: CreateBasis, run_id: str, stored: bytes, status: str) -> None:
        """A create stored run ``run_id`` from ``basis``: it is now the thread's newest run, then the newest before."""
        kept = CreateBasis(basis.agent_id, basis.agent_body, basis.agent, [(run_id, stored, status), *basis.runs[:1]])
        with self._lock:
            self._bases.pop((tenant_id, thread_id), None)
            while len(self._bases) >= MAX_THREADS:
                self._bases.pop(next(iter(self._bases)))
            self._bases[(tenant_id, thread_id)] = kept

    def ran(self, tenant_id: str, thread_id: str, run_id: str, stored: bytes | None, status: str) -> None:
        """A turn stored the run's new state (``stored``, its bytes)."""
        with self._lock:
            basis = self._bases.get((tenant_id, thread_id))
            if basis is None:
                return
            if stored is None or not basis.runs or basis.runs[0][0] != run_id:
                self._bases.pop((tenant_id, thread_id), None)
                return
            basis.runs = [(run_id, stored, status), *basis.runs[1:]]

    def forget(self, tenant_id: str, thread_id: str | None = None) -> None:
        with self._lock:
            keys = [(tenant_id, thread_id)] if thread_id is not None else [k for k in self._bases if k[0] == tenant_id]
            for key in keys:
                self._bases.pop(key, None)

    def close(self) -> None:
        with contextlib.suppress(ValueError):
            self.service.forget_hooks.remove(self.forget)
        with self._lock:
            self._bases.clear()
