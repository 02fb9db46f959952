"""`weft indexer create-for-table | run | status` against a live server."""
from __future__ import annotations

import sqlite3
import time
import uuid

import httpx
from typer.testing import CliRunner

from weft.cli import app


def test_cli_create_run_status(live, tmp_path):
    db_path = tmp_path / "shop.db"
    db = sqlite3.connect(db_path)
    table = f"stock_{uuid.uuid4().hex[:6]}"
    db.execute(f"CREATE TABLE {table} (sku TEXT PRIMARY KEY, title TEXT, price NUMERIC, qty INTEGER, updated INTEGER NOT NULL)")
    db.executemany(f"INSERT INTO {table} VALUES (?, ?, ?, ?, ?)", [(f"s{i}", f"thing {i}", "9.99", i, i) for i in range(120)])
    db.commit()
    common = ["--endpoint", live.endpoint, "--admin-key", live.admin_key]
    runner = CliRunner()
    result = runner.invoke(app, ["indexer", "create-for-table", table, "-t", "sqlite", "-c", str(db_path),
                                 "--high-water-mark", "updated", *common])
    assert result.exit_code == 0, result.output
    assert "created index" in result.output
    name = f"{table.replace('_', '-')}-indexer"
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        status = httpx.get(live.url(f"/indexers/{name}/status"), headers={"api-key": live.admin_key}).json()
        if status["lastResult"] and status["lastResult"]["status"] != "inProgress":
            break
        time.sleep(0.1)
    assert status["lastResult"]["status"] == "success", status
    index = table.replace("_", "-")
    count = httpx.get(live.url(f"/indexes/{index}/docs/$count"), headers={"api-key": live.admin_key}).text
    assert count == "120"
    db.execute(f"UPDATE {table} SET title = 'new', updated = 500 WHERE sku = 's3'")
    db.commit()
    result = runner.invoke(app, ["indexer", "run", name, *common])
    assert result.exit_code == 0, result.output
    assert "success" in result.output and ("1 processed" in result.output or "2 processed" in result.output)  # SQLite re-reads its top tier
    result = runner.invoke(app, ["indexer", "status", name, *common])
    assert result.exit_code == 0 and "success" in result.output and "tracking state" in result.output
    result = runner.invoke(app, ["indexer", "status", "does-not-exist", *common])
    assert result.exit_code == 1
