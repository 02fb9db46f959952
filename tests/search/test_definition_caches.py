"""What a search computes once per index definition ($select, leaves, render plans) gives what computing it each
time gave, and callers cannot change the cached copy."""
from __future__ import annotations

import pytest

from weft.errors import InvalidInput
from weft.search.documents import render_document
from weft.search.schema import parse_index_definition
from weft.search.search_request import select_param


def _definition():
    return parse_index_definition({"name": "hotels", "fields": [
        {"name": "id", "type": "Edm.String", "key": True},
        {"name": "title", "type": "Edm.String", "searchable": True},
        {"name": "secret", "type": "Edm.String", "retrievable": False},
        {"name": "address", "type": "Edm.ComplexType", "fields": [
            {"name": "city", "type": "Edm.String", "searchable": True}, {"name": "zip", "type": "Edm.String"}]},
        {"name": "rooms", "type": "Collection(Edm.ComplexType)", "fields": [
            {"name": "kind", "type": "Edm.String"}, {"name": "beds", "type": "Edm.Int32"}]},
    ]})


def test_select_is_checked_once_and_handed_out_as_a_copy():
    d = _definition()
    first = select_param(d, "id, address/city")
    assert first == ["id", "address/city"]
    first.append("changed")
    assert select_param(d, "id, address/city") == ["id", "address/city"]
    assert select_param(d, ["id", "title"]) == ["id", "title"]
    assert select_param(d, "*") is None and select_param(d, None) is None
    for _ in range(2):  # errors are never cached
        with pytest.raises(InvalidInput):
            select_param(d, "secret")
        with pytest.raises(InvalidInput):
            select_param(d, "nope")


def test_render_plans_give_the_selected_paths_in_definition_order():
    d = _definition()
    doc = {"id": "1", "title": "T", "secret": "s", "address": {"city": "Oslo", "zip": "0150"},
           "rooms": [{"kind": "single", "beds": 1}, {"kind": "double", "beds": 2}]}
    for _ in range(2):  # the second call uses the cached plan
        assert render_document(d, doc, ["rooms/beds", "id", "address/city"]) == {
            "id": "1", "address": {"city": "Oslo"}, "rooms": [{"beds": 1}, {"beds": 2}]}
        assert render_document(d, doc, ["title", "secret"]) == {"title": "T"}
        assert render_document(d, doc) == {"id": "1", "title": "T", "address": {"city": "Oslo", "zip": "0150"},
                                           "rooms": [{"kind": "single", "beds": 1}, {"kind": "double", "beds": 2}]}
    assert render_document(d, {"id": "2"}, ["id", "address"]) == {"id": "2", "address": None}


def test_leaves_are_walked_once_and_stay_in_order():
    d = _definition()
    paths = [leaf.path for leaf in d.leaves()]
    assert paths == ["id", "title", "secret", "address/city", "address/zip", "rooms/kind", "rooms/beds"]
    assert [leaf.path for leaf in d.leaves()] == paths
    assert d.leaf("rooms/beds").in_collection and d.leaf("rooms/beds").complex_collection == "rooms"
    assert d.leaf("address") is None and d.leaf("nope") is None
    searchable = d.searchable_leaves()
    expected = [leaf.path for leaf in d.leaves() if leaf.field.searchable]
    assert [leaf.path for leaf in searchable] == expected and "title" in expected and "rooms/beds" not in expected
    searchable.clear()
    assert [leaf.path for leaf in d.searchable_leaves()] == expected
