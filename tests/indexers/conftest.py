import pytest

from tests.support.server import WeftServer


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    srv = WeftServer(tmp_path_factory.mktemp("weft-ix") / "data").start()
    yield srv
    srv.stop()
