"""A bounded schemathesis run over weft's OpenAPI document against a live server: no 5xx on any
operation (valid and invalid inputs), the server is still up afterwards, and the data created
before the run is intact."""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings as hsettings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode

from tests.support.server import WeftServer
from tests.threads.fake_llm import FakeChatServer

EXAMPLES = int(os.environ.get("WEFT_SCHEMATHESIS_EXAMPLES", "6"))


def _spec() -> dict:
    from weft.app import create_app
    from weft.config import Settings

    with tempfile.TemporaryDirectory() as d:
        app = create_app(Settings(data_dir=Path(d), admin_keys=["x"]))
        spec = app.openapi()
        for close in app.state.closers:
            close()
        app.state.search.close()
    return spec


@pytest.fixture(scope="module")
def target(tmp_path_factory):
    llm = FakeChatServer().start()
    env = {"WEFT_LLM_BASE_URL": llm.base_url, "WEFT_LLM_MODEL": "fake", "WEFT_KEY_RATE": "0", "WEFT_TENANT_RATE": "0"}
    srv = WeftServer(tmp_path_factory.mktemp("st") / "data", env=env).start()
    yield srv
    srv.stop()
    llm.stop()


def _seed(srv) -> dict:
    h = {"api-key": srv.admin_key}
    index = {"name": "keep-me", "fields": [{"name": "id", "type": "Edm.String", "key": True},
                                          {"name": "t", "type": "Edm.String", "searchable": True}]}
    assert httpx.post(srv.url("/indexes"), headers=h, json=index).status_code == 201
    assert httpx.post(srv.url("/indexes/keep-me/docs/index"), headers=h,
                      json={"value": [{"id": str(i), "t": f"kept {i}"} for i in range(5)]}).status_code == 200
    conv = httpx.post(f"{srv.endpoint}/v1/conversations", headers=h,
                      json={"items": [{"type": "message", "role": "user", "content": "kept message"}]}).json()
    return {"conversation": conv["id"]}


def _check_seed(srv, seed) -> None:
    h = {"api-key": srv.admin_key}
    assert httpx.get(srv.url("/indexes/keep-me/docs/$count"), headers=h).text == "5"
    assert httpx.get(srv.url("/indexes/keep-me/docs/3"), headers=h).json()["t"] == "kept 3"
    items = httpx.get(f"{srv.endpoint}/v1/conversations/{seed['conversation']}/items", headers=h).json()["data"]
    assert [i["content"][0]["text"] for i in items] == ["kept message"]


def test_no_operation_answers_5xx(target):
    seed = _seed(target)
    schema = schemathesis.openapi.from_dict(_spec())
    failures: list[str] = []
    calls = 0
    with httpx.Client(base_url=target.endpoint, timeout=30) as client:
        for result in schema.get_all_operations():
            operation = result.ok()
            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

                @hsettings(max_examples=EXAMPLES, deadline=None, database=None, phases=[Phase.generate],
                           suppress_health_check=list(HealthCheck))
                @given(case=operation.as_strategy(generation_mode=mode))
                def run(case):
                    nonlocal calls
                    kwargs = case.as_transport_kwargs(base_url=target.endpoint, headers={"api-key": target.admin_key})
                    kwargs.pop("url", None)
                    request = client.build_request(case.method, case.formatted_path, params=kwargs.get("params"),
                                                   headers={k: str(v) for k, v in (kwargs.get("headers") or {}).items()},
                                                   content=_content(kwargs))
                    response = client.send(request)
                    calls += 1
                    if response.status_code >= 500 and len(failures) < 50:
                        failures.append(f"{case.method} {case.formatted_path} {request.url.query[:200]!r} "
                                        f"{(request.content or b'')[:300]!r} -> {response.status_code} {response.text[:200]}")

                try:
                    run()
                except Unsatisfiable:  # nothing invalid to generate for this operation (no parameters, no body)
                    assert mode is GenerationMode.NEGATIVE
    assert calls > 200
    assert not failures, "\n".join(failures)
    assert httpx.get(target.url("/indexes"), headers={"api-key": target.admin_key}).status_code == 200  # still up
    _check_seed(target, seed)


def _content(kwargs: dict) -> bytes | None:
    import json

    if "json" in kwargs and kwargs["json"] is not None:
        return json.dumps(kwargs["json"]).encode()
    data = kwargs.get("data")
    if isinstance(data, str):
        return data.encode()
    return data
