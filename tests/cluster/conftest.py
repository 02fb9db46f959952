import pytest

from tests.support.cluster import ClusterDatabase, cluster_node


@pytest.fixture(scope="module")
def cluster_db():
    db = ClusterDatabase("cluster")
    yield db
    db.drop()


@pytest.fixture(scope="module")
def nodes(cluster_db, tmp_path_factory):
    """Two weft nodes over one cluster database."""
    started = []
    try:
        for name in ("a", "b"):
            started.append(cluster_node(tmp_path_factory.mktemp(f"node-{name}") / "data", cluster_db.url, name).start())
        yield started
    finally:
        for node in started:
            node.stop()
