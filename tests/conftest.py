import os

import pytest

from tests.support.server import WeftServer


@pytest.fixture(scope="session")
def server(tmp_path_factory):
    if os.environ.get("WEFT_TEST_CLUSTER") == "1":  # every test of the shared server against a cluster node (docs/cluster.md)
        from tests.support.cluster import ClusterDatabase, cluster_node

        db = ClusterDatabase("suite")
        srv = cluster_node(tmp_path_factory.mktemp("weft") / "data", db.url, "suite").start()
        yield srv
        srv.stop()
        db.drop()
        return
    srv = WeftServer(tmp_path_factory.mktemp("weft") / "data").start()
    yield srv
    srv.stop()
