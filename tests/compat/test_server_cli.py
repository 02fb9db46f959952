"""`weft serve` as a user starts it: generated admin key, demo index, restart keeps data."""
from __future__ import annotations

import httpx
from azure.core.credentials import AzureKeyCredential
from azure.search.documents import SearchClient

from tests.support.server import WeftServer


def test_generated_admin_key_and_demo_index(tmp_path):
    data = tmp_path / "data"
    server = WeftServer(data, admin_key=None, query_key=None, extra_args=["--demo"]).start()
    try:
        key_file = data / "admin-key"
        assert key_file.exists()
        key = key_file.read_text().strip()
        assert len(key) >= 32
        assert key in server.log_path.read_text()  # printed on first start
        client = SearchClient(server.endpoint, "products-index", AzureKeyCredential(key))
        assert client.get_document_count() == 300
        res = client.search(search_text="*", facets=["category"], include_total_count=True, top=5)
        docs = list(res)
        assert len(docs) == 5 and res.get_count() == 300
        assert sum(b["count"] for b in res.get_facets()["category"]) == 300
        first = next(iter(client.search(search_text="mug", top=1)))
        assert "mug" in first["productName"].lower() or "mug" in first["description"].lower()
        client.upload_documents([{"id": "extra-1", "productName": "Restart Survivor", "price": 1.0}])
        assert server.stop() == 0
        server.start()  # same data dir: same key, demo not duplicated, the write survived
        assert (data / "admin-key").read_text().strip() == key
        client = SearchClient(server.endpoint, "products-index", AzureKeyCredential(key))
        assert client.get_document_count() == 301
        assert client.get_document("extra-1")["productName"] == "Restart Survivor"
        r = httpx.get(server.url("/indexes"), headers={"api-key": "not-the-key"})
        assert r.status_code == 403
    finally:
        server.kill()


def test_searches_in_a_read_pool(tmp_path):
    """WEFT_READ_THREADS runs searches in a thread pool; results are the same as on the event loop."""
    import threading

    server = WeftServer(tmp_path / "data", extra_args=["--demo"], env={"WEFT_READ_THREADS": "2"}).start()
    try:
        url = server.url("/indexes/products-index/docs/search")
        headers = {"api-key": server.query_key}
        expected = httpx.post(url, headers=headers, json={"search": "mug", "count": True}).json()
        results = []

        def client():
            with httpx.Client(headers=headers) as c:
                results.extend(c.post(url, json={"search": "mug", "count": True}).json()["@odata.count"] for _ in range(20))

        threads = [threading.Thread(target=client) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert results == [expected["@odata.count"]] * 80 and expected["@odata.count"] > 0
    finally:
        server.kill()


def test_keys_from_files_and_environment_stay_out_of_the_process_list(tmp_path):
    """--admin-key-file / --query-key-file and WEFT_*_KEY_FILE: the keys work and are not in the command line."""
    import subprocess
    import sys

    admin_file, query_file = tmp_path / "admin.key", tmp_path / "query.key"
    admin_file.write_text("# rotated keys, one a line\nfile-admin-key-1\nfile-admin-key-2\n")
    query_file.write_text("file-query-key\n")
    server = WeftServer(tmp_path / "data", admin_key=None, query_key=None,
                        extra_args=["--admin-key-file", str(admin_file), "--query-key-file", str(query_file)])
    server.start()
    try:
        cmdline = open(f"/proc/{server.proc.pid}/cmdline", "rb").read().decode()
        assert "file-admin-key" not in cmdline and "file-query-key" not in cmdline
        for key, status in (("file-admin-key-1", 200), ("file-admin-key-2", 200), ("file-query-key", 403), ("wrong", 403)):
            assert httpx.get(server.url("/indexes"), headers={"api-key": key}).status_code == status
        assert not (tmp_path / "data" / "admin-key").exists()  # a configured key: none generated
    finally:
        server.kill()
    env_server = WeftServer(tmp_path / "data2", admin_key=None, query_key=None, env={"WEFT_ADMIN_KEY_FILE": str(admin_file)})
    env_server.start()
    try:
        assert httpx.get(env_server.url("/indexes"), headers={"api-key": "file-admin-key-1"}).status_code == 200
    finally:
        env_server.kill()
    helped = subprocess.run([sys.executable, "-m", "weft.cli", "serve", "--help"], capture_output=True, text=True, env={"COLUMNS": "200", **__import__("os").environ}).stdout
    assert "--admin-key-file" in helped and "process list" in helped
    bad = subprocess.run([sys.executable, "-m", "weft.cli", "serve", "--admin-key-file", str(tmp_path / "missing")], capture_output=True, text=True)
    assert bad.returncode != 0 and "cannot be read" in bad.stderr
