"""Cluster mode with encryption at rest refuses conversation search (its index's documents of record would keep
the conversation text unsealed in PostgreSQL): at start when tenants are configured, and on an opt-in over HTTP."""
from __future__ import annotations

import httpx
import pytest

from tests.support.cluster import cluster_node

MASTER_KEY = "11" * 32


def test_opt_in_is_refused_with_encryption_in_cluster_mode(cluster_db, tmp_path):
    node = cluster_node(tmp_path / "data", cluster_db.url, "enc", env={"WEFT_MASTER_KEY": MASTER_KEY}).start()
    try:
        r = httpx.post(f"{node.endpoint}/v1/tenants/acme/conversation-search", json={"enabled": True}, headers={"api-key": node.admin_key})
        assert r.status_code == 400, r.text
        assert "cluster mode with encryption" in r.json()["error"]["message"]
        assert httpx.get(f"{node.endpoint}/v1/tenants/acme/conversation-search", headers={"api-key": node.admin_key}).json().get("enabled") is not True
    finally:
        node.stop()


def test_start_is_refused_when_tenants_are_configured(cluster_db, tmp_path):
    node = cluster_node(tmp_path / "data", cluster_db.url, "enc2",
                        env={"WEFT_MASTER_KEY": MASTER_KEY, "WEFT_CONVERSATION_SEARCH_TENANTS": "acme"})
    with pytest.raises(RuntimeError) as failed:
        node.start(timeout=60)
    assert "WEFT_CONVERSATION_SEARCH_TENANTS" in str(failed.value)
