"""pytest plugin loaded into the SDK live-test run: weft's writes are searchable when acknowledged, so the
harness's fixed 3-second wait after loading the hotels index (for Azure's eventual consistency) is skipped."""
from __future__ import annotations


def pytest_configure(config):
    import search_service_preparer

    search_service_preparer.TIME_TO_SLEEP = 0
