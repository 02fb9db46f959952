import pytest

from tests.support.server import WeftServer


@pytest.fixture(scope="session")
def server(tmp_path_factory):
    srv = WeftServer(tmp_path_factory.mktemp("weft") / "data").start()
    yield srv
    srv.stop()
