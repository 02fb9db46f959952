"""The model-endpoint allow-list matcher (weft.search.endpoints), a pure function of its entries and a URL."""
from __future__ import annotations

import pytest
from hypothesis import given, strategies as st

from weft.errors import InvalidInput
from weft.search.endpoints import EndpointPolicy, check_definition_endpoints

label = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789", min_size=1, max_size=10)
segment = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-_", min_size=1, max_size=10)


@given(host=st.lists(label, min_size=1, max_size=3).map(".".join), base=st.lists(segment, max_size=3), rest=st.lists(segment, max_size=3),
       port=st.one_of(st.none(), st.integers(1, 65535)))
def test_a_url_under_an_allowed_prefix_is_allowed_and_lookalikes_are_not(host, base, rest, port):
    netloc = host if port is None else f"{host}:{port}"
    prefix = f"https://{netloc}/" + "/".join(base)
    policy = EndpointPolicy([prefix])
    url = prefix.rstrip("/") + ("/" + "/".join(rest) if rest else "")
    assert policy.allows(url)
    assert policy.allows(url.replace("https://", "HTTPS://", 1).replace(host, host.upper(), 1))
    assert not policy.allows(url.replace("https://", "http://", 1))  # another scheme
    assert not policy.allows(url.replace(host, host + ".evil.test", 1))  # a longer host
    assert not policy.allows(url.replace(netloc, f"{netloc}@127.0.0.1", 1))  # credentials before the real host
    assert not policy.allows(prefix.rstrip("/") + "/../x")  # climbing out
    if base:
        assert not policy.allows(f"https://{netloc}/" + "/".join(base) + "x")  # a prefix only at a '/' boundary
    other_port = 1 if port != 1 else 2
    assert not policy.allows(f"https://{host}:{other_port}/" + "/".join(base))  # another port (the default is 443)


@given(host=st.lists(label, min_size=1, max_size=3).map(".".join), port=st.integers(1, 65535), path=st.lists(segment, max_size=3))
def test_a_bare_host_allows_any_port_and_path_a_host_with_port_only_that_port(host, port, path):
    rest = "/".join(path)
    assert EndpointPolicy([host]).allows(f"http://{host}:{port}/{rest}")
    assert EndpointPolicy([f"{host}:{port}"]).allows(f"https://{host}:{port}/{rest}")
    assert not EndpointPolicy([f"{host}:{port}"]).allows(f"https://{host}:{port % 65535 + 1}/{rest}")
    assert not EndpointPolicy([host]).allows(f"http://x{host}/{rest}")


def test_nothing_is_allowed_by_default_and_bad_entries_are_refused():
    policy = EndpointPolicy()
    assert not policy.allows("https://api.openai.com/v1") and not policy.allows(None) and not policy.allows("ftp://x")
    for bad in ("ftp://host/x", "host/path", "host:port"):
        with pytest.raises(InvalidInput):
            EndpointPolicy([bad])
    with pytest.raises(InvalidInput) as caught:
        check_definition_endpoints({"vectorSearch": {"vectorizers": [{"name": "v", "kind": "azureOpenAI",
                                                                       "azureOpenAIParameters": {"resourceUri": "http://10.0.0.1"}}]}}, policy)
    assert "vectorSearch.vectorizers[0].azureOpenAIParameters.resourceUri" in caught.value.message
