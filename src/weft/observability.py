"""Metrics and request ids, for every part of weft (no HTTP here).

The metrics are prometheus-client objects in one registry of weft's own; the services record into them
through the small functions below, and `weft.http.ops_routes` serves them at `/metrics` with the values that
are read at scrape time (documents per index, indexer lag). The request id of the request being served lives in
a context variable, so log lines and audit records can carry it.
"""
from __future__ import annotations

import contextvars
import time

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

REGISTRY = CollectorRegistry(auto_describe=True)

_LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)

HTTP_REQUESTS = Counter("weft_http_requests", "HTTP requests answered, by route template, method and status.",
                        ["route", "method", "status"], registry=REGISTRY)
HTTP_LATENCY = Histogram("weft_http_request_duration_seconds", "Time to answer an HTTP request (to the end of the response body).",
                         ["route", "method"], buckets=_LATENCY_BUCKETS, registry=REGISTRY)
COMMIT_GROUP_BATCHES = Histogram("weft_index_commit_group_batches", "Document batches committed together by one index writer commit.",
                                 ["index"], buckets=(1, 2, 4, 8, 16, 32, 64, 128), registry=REGISTRY)
COMMIT_SECONDS = Histogram("weft_index_commit_duration_seconds", "Time of one group commit of an index writer (apply + commit + reload).",
                           ["index"], buckets=_LATENCY_BUCKETS, registry=REGISTRY)
INDEXER_RUNS = Counter("weft_indexer_runs", "Indexer runs finished, by outcome (success, transientFailure, ...).",
                       ["indexer", "status"], registry=REGISTRY)
INDEXER_ITEMS = Counter("weft_indexer_items", "Items an indexer processed, by outcome (processed, failed).",
                        ["indexer", "outcome"], registry=REGISTRY)
INDEXER_LAST_SUCCESS = Gauge("weft_indexer_last_success_timestamp_seconds", "When the indexer's last successful run ended.",
                             ["indexer"], registry=REGISTRY)
THREAD_APPENDS = Counter("weft_thread_items_appended", "Conversation items appended (all tenants).", registry=REGISTRY)
MODEL_CALLS = Histogram("weft_model_call_duration_seconds", "Calls to model endpoints, by kind (chat, embedding, rerank) and outcome.",
                        ["kind", "outcome"], buckets=_LATENCY_BUCKETS, registry=REGISTRY)

request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("weft_request_id", default=None)


def current_request_id() -> str | None:
    return request_id.get()


def commit_observed(index: str, batches: int, seconds: float) -> None:
    COMMIT_GROUP_BATCHES.labels(index).observe(batches)
    COMMIT_SECONDS.labels(index).observe(seconds)


def indexer_run_observed(indexer: str, status: str, processed: int, failed: int, ended_at: float | None = None) -> None:
    INDEXER_RUNS.labels(indexer, status).inc()
    if processed:
        INDEXER_ITEMS.labels(indexer, "processed").inc(processed)
    if failed:
        INDEXER_ITEMS.labels(indexer, "failed").inc(failed)
    if status == "success":
        INDEXER_LAST_SUCCESS.labels(indexer).set(ended_at or time.time())


def items_appended(count: int) -> None:
    if count:
        THREAD_APPENDS.inc(count)


class model_call:
    """`with model_call("chat"): ...` times one call to a model endpoint; the outcome is `error` when it raises."""

    def __init__(self, kind: str):
        self.kind = kind

    def __enter__(self) -> "model_call":
        self.started = time.perf_counter()
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        MODEL_CALLS.labels(self.kind, "error" if exc_type else "ok").observe(time.perf_counter() - self.started)
