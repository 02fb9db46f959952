"""The Azure SDK's own live tests (azure-search-documents 12.0.0, ``tests/test_*_live*.py``), unchanged, against
a live ``weft serve``.

The SDK's test code is not in this repository: it is downloaded at test time from PyPI
(``pip download --no-deps --no-binary :all: azure-search-documents==12.0.0``) into a cache directory
(``WEFT_SDK_TESTS_CACHE``, default ``~/.cache/weft/sdk-tests``) and run in a subprocess with the hotels fixtures
(``tests/compat/fixtures/azure-search-sdk``) and weft's stand-in for the SDK repository's ``devtools_testutils``
(``tests/compat/sdk_live``). Every test must pass except those listed below, each with its reason.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tarfile
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from tests.support.server import WeftServer

SDK = "azure-search-documents==12.0.0"
HERE = Path(__file__).parent
FIXTURES = HERE / "fixtures" / "azure-search-sdk"
STAND_IN = HERE / "sdk_live"

# Tests that need what weft cannot have.
NEEDS_AZURE = {
    "test_search_index_client_data_source_live.py": "creates an Azure Blob Storage data source (a storage account)",
    "test_search_index_client_data_source_live_async.py": "creates an Azure Blob Storage data source (a storage account)",
    "test_search_indexer_client_live.py": "runs indexers over an Azure Blob Storage data source",
    "test_search_indexer_client_live_async.py": "runs indexers over an Azure Blob Storage data source",
    "test_search_index_client_skillset_live.py": "skillsets of Azure AI services (Cognitive Services) skills",
    "test_search_index_client_skillset_live_async.py": "skillsets of Azure AI services (Cognitive Services) skills",
    "test_knowledge_source_web_live.py": "web knowledge sources ground answers on Bing, a hosted web service",
    "test_knowledge_source_web_live_async.py": "web knowledge sources ground answers on Bing, a hosted web service",
}
# Tests that fail today for features of other issues (kept listed so a regression elsewhere still shows).
REMAINING = {
    "test_knowledge_base_live.py": "knowledge bases and knowledge sources are issue 13",
    "test_knowledge_base_live_async.py": "knowledge bases and knowledge sources are issue 13",
    "test_knowledge_base_configuration_live.py": "knowledge bases and knowledge sources are issue 13",
    "test_knowledge_base_configuration_live_async.py": "knowledge bases and knowledge sources are issue 13",
}


def _sdk_tests(cache: Path) -> Path:
    src = cache / "azure_search_documents-12.0.0" / "tests"
    if src.is_dir():
        return src
    cache.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:", SDK, "-d", str(cache), "-q"],
        check=True, capture_output=True, timeout=300,
    )
    archive = next(cache.glob("azure_search_documents-12.0.0.tar.gz"))
    with tarfile.open(archive) as tar:
        members = [m for m in tar.getmembers() if m.name.startswith("azure_search_documents-12.0.0/tests/")]
        tar.extractall(cache, members=members, filter="data")
    return src


def _listed(nodeid: str) -> str | None:
    file = nodeid.split("::", 1)[0].rsplit("/", 1)[-1]
    return NEEDS_AZURE.get(file) or NEEDS_AZURE.get(nodeid) or REMAINING.get(nodeid) or REMAINING.get(file)


@pytest.fixture(scope="module")
def sdk_results(tmp_path_factory):
    cache = Path(os.environ.get("WEFT_SDK_TESTS_CACHE", Path.home() / ".cache" / "weft" / "sdk-tests"))
    try:
        src = _sdk_tests(cache)
    except (subprocess.SubprocessError, StopIteration) as exc:  # pragma: no cover - PyPI unreachable
        if os.environ.get("CI"):
            raise
        pytest.skip(f"could not download the SDK's tests: {exc}")
    work = tmp_path_factory.mktemp("sdk-live")
    tests = work / "tests"
    shutil.copytree(src, tests)
    for f in FIXTURES.glob("*.json"):
        shutil.copy(f, tests / f.name)
    (work / "pytest.ini").write_text("[pytest]\nasyncio_mode = auto\n")
    server = WeftServer(work / "data").start()
    try:
        run_files = sorted(p.name for p in tests.glob("test_*_live*.py") if p.name not in NEEDS_AZURE)
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join([str(STAND_IN), str(tests), env.get("PYTHONPATH", "")])
        env.update(SEARCH_SERVICE_ENDPOINT=server.endpoint, SEARCH_SERVICE_NAME="weft", WEFT_SDK_ADMIN_KEY=server.admin_key)
        report = work / "report.xml"
        proc = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "weft_sdk_plugin", "-c", str(work / "pytest.ini"),
             "--rootdir", str(work), f"--junitxml={report}", *[f"tests/{f}" for f in run_files]],
            cwd=work, env=env, capture_output=True, text=True, timeout=900,
        )
    finally:
        server.stop()
    results, durations = {}, {}
    for case in ET.parse(report).iter("testcase"):
        *module, cls = case.get("classname").split(".")
        nodeid = f"{'/'.join(module)}.py::{cls}::{case.get('name')}"
        failed = case.find("failure") is not None or case.find("error") is not None
        skipped = case.find("skipped") is not None
        detail = ""
        for tag in ("failure", "error"):
            el = case.find(tag)
            if el is not None:
                detail = (el.get("message") or "")[:300]
        results[nodeid] = ("failed" if failed else "skipped" if skipped else "passed", detail)
        durations[nodeid] = float(case.get("time") or 0)
    states = [state for state, _ in results.values()]
    print(f"SDK live tests: {states.count('passed')} passed, {states.count('failed')} failed, {states.count('skipped')} skipped")
    for nodeid, (state, detail) in sorted(results.items()):
        if state != "passed":
            print(f"  {state:8} {nodeid}  [{_listed(nodeid) or detail[:120]}]")
    for nodeid, seconds in sorted(durations.items(), key=lambda kv: -kv[1])[:8]:
        print(f"{seconds:7.1f}s {results[nodeid][0]:8} {nodeid}")
    return results, proc.stdout[-5000:]


def test_sdk_live_suite(sdk_results):
    results, output = sdk_results
    assert results, output
    # "skipped" is the SDK's own decision (its alias tests skip themselves for api-version 2026-04-01).
    unexpected = {n: d for n, (state, d) in results.items() if state == "failed" and not _listed(n)}
    assert not unexpected, "SDK live tests failing on weft:\n" + "\n".join(f"{n}: {d}" for n, d in sorted(unexpected.items()))
