from __future__ import annotations

import pytest

from tests.threads.backends import BACKENDS, drop_store_tables, unique_prefix, url_for
from weft.threads.clock import ManualClock
from weft.threads.service import ThreadService
from weft.threads.store import SqlThreadStore


@pytest.fixture(params=BACKENDS)
def backend_url(request, tmp_path):
    return url_for(request.param, tmp_path)


@pytest.fixture
def any_store(backend_url):
    store = SqlThreadStore(backend_url, table_prefix=unique_prefix())
    yield store
    drop_store_tables(store)


@pytest.fixture
def sqlite_store(tmp_path):
    store = SqlThreadStore(f"sqlite:///{tmp_path / 'threads.sqlite3'}", table_prefix="weft_")
    yield store
    store.close()


@pytest.fixture
def clock():
    return ManualClock()


@pytest.fixture
def service(sqlite_store, clock):
    return ThreadService(sqlite_store, clock=clock)


@pytest.fixture(scope="session")
def fake_llm():
    from tests.threads.fake_llm import FakeChatServer

    server = FakeChatServer().start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def live(tmp_path_factory, fake_llm):
    """One live weft server (SQLite, no encryption) with the fake chat endpoint configured."""
    from tests.threads.live import ThreadsServer

    env = {"WEFT_LLM_BASE_URL": fake_llm.base_url, "WEFT_LLM_API_KEY": "upstream-key", "WEFT_LLM_MODEL": "fake-model",
           "WEFT_HISTORY_TOKEN_BUDGET": "400"}
    server = ThreadsServer(tmp_path_factory.mktemp("weft-threads") / "data", env=env).start()
    yield server
    server.stop()


@pytest.fixture
def sdk(live):
    from openai import OpenAI

    client = OpenAI(base_url=f"{live.endpoint}/v1", api_key=live.admin_key, max_retries=0)
    yield client
    client.close()
