"""tests/compat/test_sdk_indexes.py and test_sdk_aliases.py unchanged, against a cluster node."""
import pytest

from tests.compat.test_sdk_aliases import *  # noqa: F401,F403 - the compat tests, collected again in this module
from tests.compat.test_sdk_indexes import *  # noqa: F401,F403
from tests.support.cluster import ClusterDatabase, cluster_node


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    db = ClusterDatabase("indexes")
    node = cluster_node(tmp_path_factory.mktemp("cluster-indexes") / "data", db.url, "compat-indexes").start()
    yield node
    node.stop()
    db.drop()
