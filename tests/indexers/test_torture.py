"""The torture test: writers + SIGKILLs; the index must equal the table (0 missing, 0 stale, 0 ghost).
The same harness against the naive watermark poller must lose rows (the test has teeth)."""
from __future__ import annotations

import pytest

from tests.indexers import torture
from tests.indexers.databases import MARIADB_URL, PG_URL, require, table_name

URLS = {"postgresql": PG_URL, "mysql": MARIADB_URL}
SLACK = {"postgresql": 0.5, "mysql": 2.5}


@pytest.fixture(params=["postgresql", "mysql"])
def database(request):
    kind = request.param
    require(URLS[kind], "PostgreSQL" if kind == "postgresql" else "MariaDB").dispose()
    table = table_name("torture")
    torture.create_table(kind, URLS[kind], table)
    yield kind, URLS[kind], table
    torture.drop_table(kind, URLS[kind], table)


def test_indexer_survives_torture_with_zero_loss(database, tmp_path):
    kind, url, table = database
    report = torture.run_weft(kind, url, table, tmp_path / "data", seconds=torture.torture_seconds(30), writers=4, seed=7,
                              fence_slack=SLACK[kind])
    print(report.summary())
    assert report.kills >= 5 and report.writer_counts[2] > 0, report.summary()  # killed often; late committers happened
    assert (report.missing, report.stale, report.ghost) == ([], [], []), report.summary()


def test_naive_watermark_loses_rows_under_the_same_load(database, tmp_path):
    kind, url, table = database
    report = torture.run_naive(kind, url, table, tmp_path / "data", seconds=torture.torture_seconds(30) / 3, writers=4, seed=11)
    print(report.summary())
    assert report.writer_counts[2] > 0
    assert report.losses > 0, "the harness is too gentle: the naive poller lost nothing; " + report.summary()
