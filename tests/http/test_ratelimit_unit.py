"""The pure token bucket and in-flight accounting of weft.ratelimit, on a manual clock."""
from __future__ import annotations

from hypothesis import given, strategies as st

from weft.ratelimit import Limiter
from weft.threads.auth_failures import FailedAuthLog


class Clock:
    def __init__(self):
        self.t = 0.0

    def __call__(self):
        return self.t


def test_bucket_grants_the_burst_then_refills_at_the_rate():
    clock = Clock()
    lim = Limiter(rate=2, burst=3, concurrency=0, clock=clock)
    assert [lim.take("a") for _ in range(3)] == [0.0, 0.0, 0.0]
    wait = lim.take("a")
    assert 0.49 < wait <= 0.5
    assert lim.take("b") == 0.0  # another caller has its own bucket
    clock.t += 0.5
    assert lim.take("a") == 0.0 and lim.take("a") > 0


def test_concurrency_is_released():
    lim = Limiter(rate=0, burst=1, concurrency=2, clock=Clock())
    assert lim.acquire("k")[0] and lim.acquire("k")[0]
    granted, retry, which = lim.acquire("k")
    assert not granted and which == "concurrency" and retry >= 1
    lim.release("k")
    assert lim.acquire("k")[0]


def test_tracked_callers_are_bounded():
    lim = Limiter(rate=1, burst=1, concurrency=0, max_callers=10, clock=Clock())
    for n in range(1000):
        lim.take(f"c{n}")
    assert len(lim._callers) <= 10


@given(st.lists(st.tuples(st.floats(min_value=0, max_value=2), st.booleans()), max_size=200))
def test_never_more_than_burst_plus_rate_times_elapsed(steps):
    clock = Clock()
    lim = Limiter(rate=5, burst=4, concurrency=0, clock=clock)
    granted = 0
    for dt, _ in steps:
        clock.t += dt
        granted += lim.take("x") == 0.0
    assert granted <= 4 + 5 * clock.t + 1e-9


class _Audit:
    def __init__(self):
        self.rows = []
        self.clock = type("C", (), {"now_ms": staticmethod(lambda: 1000)})()

    def record(self, principal, operation, outcome, note=None):
        self.rows.append((operation, outcome, note.detail))


def test_failed_auth_log_aggregates_per_source_and_bounds_sources():
    audit = _Audit()
    log = FailedAuthLog(audit, window=3600, max_sources=3)
    for n in range(50):
        log.record(f"10.0.0.{n % 5}")
    assert audit.rows == [] and log.pending() == 50
    assert log.flush() == 4  # three sources and "other"
    details = sorted(d for _, _, d in audit.rows)
    assert any(d.startswith("source=other count=20") for d in details)
    assert sum(int(d.split("count=")[1].split()[0]) for d in details) == 50
    log.close()
