"""pytest plugin loaded into the SDK live-test run. weft's writes are searchable when acknowledged, so the
fixed waits the SDK's tests make for Azure's eventual consistency (``TIME_TO_SLEEP``, 3 s, in the preparer and
in several test modules) are set to 0. The tests' code is otherwise run as shipped."""
from __future__ import annotations


def pytest_configure(config):
    import search_service_preparer

    search_service_preparer.TIME_TO_SLEEP = 0


def pytest_collection_modifyitems(session, config, items):
    for item in items:
        module = getattr(item, "module", None)
        if module is not None and hasattr(module, "TIME_TO_SLEEP"):
            module.TIME_TO_SLEEP = 0
