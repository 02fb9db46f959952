"""tests/compat/test_sdk_documents.py unchanged, against a cluster node (its `server` fixture is a cluster node here)."""
import pytest

from tests.compat.test_sdk_documents import *  # noqa: F401,F403 - the compat tests, collected again in this module
from tests.support.cluster import ClusterDatabase, cluster_node


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    db = ClusterDatabase("docs")
    node = cluster_node(tmp_path_factory.mktemp("cluster-docs") / "data", db.url, "compat-docs").start()
    yield node
    node.stop()
    db.drop()
