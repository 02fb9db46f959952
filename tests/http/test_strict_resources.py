"""Strict definitions beyond indexes: /datasources, /indexers, /knowledgesources and /knowledgebases refuse unknown
properties in Azure's words (at any depth) and refuse the members weft does not implement by name; their "off"
values and a GET-then-PUT round trip still pass. The table is weft.search.members_resources."""
from __future__ import annotations

import copy

import pytest

from tests.http.strict_app import V, app_client

INDEX = {"name": "target", "fields": [{"name": "id", "type": "Edm.String", "key": True},
                                      {"name": "title", "type": "Edm.String", "searchable": True}]}
SOURCE = {"name": "src", "type": "postgresql", "credentials": {"connectionString": "postgresql://postgres@127.0.0.1:5432/test"},
          "container": {"name": "items"}}
INDEXER = {"name": "ixr", "dataSourceName": "src", "targetIndexName": "target", "disabled": True}
KSOURCE = {"name": "ks", "kind": "searchIndex", "searchIndexParameters": {"searchIndexName": "target"}}
KBASE = {"name": "kb", "knowledgeSources": [{"name": "ks"}]}
ROUTES = {"datasource": ("/datasources", SOURCE), "indexer": ("/indexers", INDEXER),
          "knowledgesource": ("/knowledgesources", KSOURCE), "knowledgebase": ("/knowledgebases", KBASE)}


@pytest.fixture(scope="module")
def client():
    with app_client() as c:
        for path, body in (("/indexes", INDEX), ("/datasources", SOURCE), ("/knowledgesources", KSOURCE)):
            r = c.post(f"{path}?{V}", json=body)
            assert r.status_code == 201, r.text
        yield c


def error_400(r) -> str:
    assert r.status_code == 400, (r.status_code, r.text)
    body = r.json()
    assert set(body) == {"error"} and isinstance(body["error"]["message"], str)
    return body["error"]["message"]


def changed(kind: str, path: list, value) -> dict:
    body = copy.deepcopy(ROUTES[kind][1])
    body["name"] = f"{body['name']}-new"
    target = body
    for key in path[:-1]:
        target = target.setdefault(key, {}) if isinstance(key, str) else target[key]
    target[path[-1]] = value
    return body


@pytest.mark.parametrize("kind, path, where, model", [
    ("datasource", ["colour"], "definition", "SearchIndexerDataSourceConnection"),
    ("datasource", ["container", "table"], "definition.container", "SearchIndexerDataContainer"),
    ("datasource", ["credentials", "password"], "definition.credentials", "DataSourceCredentials"),
    ("datasource", ["dataChangeDetectionPolicy"], None, None),  # filled below
    ("indexer", ["colour"], "definition", "SearchIndexer"),
    ("indexer", ["schedule", "every"], "definition.schedule", "IndexingSchedule"),
    ("indexer", ["parameters", "batchsize"], "definition.parameters", "IndexingParameters"),
    ("indexer", ["parameters", "configuration", "weftTargetEndPoint"], "definition.parameters.configuration",
     "IndexingParametersConfiguration"),
    ("knowledgesource", ["colour"], "definition", "SearchIndexKnowledgeSource"),
    ("knowledgesource", ["searchIndexParameters", "indexName"], "definition.searchIndexParameters",
     "SearchIndexKnowledgeSourceParameters"),
    ("knowledgebase", ["colour"], "definition", "KnowledgeBase"),
    ("knowledgebase", ["knowledgeSources", 0, "weight"], "definition.knowledgeSources[0]", "KnowledgeSourceReference"),
])
@pytest.mark.parametrize("method", ["POST", "PUT"])
def test_unknown_properties_are_refused_as_azure_refuses_them(client, kind, path, where, model, method):
    if path == ["dataChangeDetectionPolicy"]:
        body = changed(kind, path, {"@odata.type": "#Microsoft.Azure.Search.HighWaterMarkChangeDetectionPolicy",
                                    "highWaterMarkColumnName": "v", "column": "v"})
        where, model, name = "definition.dataChangeDetectionPolicy", "HighWaterMarkChangeDetectionPolicy", "column"
    else:
        body = changed(kind, path, 1)
        name = path[-1]
    collection = ROUTES[kind][0]
    r = client.post(f"{collection}?{V}", json=body) if method == "POST" else client.put(f"{collection}('{body['name']}')?{V}", json=body)
    message = error_400(r)
    assert message.startswith(f"The request is invalid. Details: {where} : The property '{name}' does not exist on type '{model}'."), message
    assert client.get(f"{collection}('{body['name']}')?{V}").status_code == 404  # nothing was stored


def test_nested_model_parameters_are_walked(client):
    body = changed("knowledgebase", ["models"], [{"kind": "azureOpenAI", "azureOpenAIParameters": {
        "resourceUri": "https://x.openai.azure.com", "deploymentId": "gpt", "temperature": 0}}])
    assert "The property 'temperature' does not exist on type 'AzureOpenAIVectorizerParameters'" in error_400(
        client.post(f"/knowledgebases?{V}", json=body))
    body = changed("knowledgesource", ["searchIndexParameters", "sourceDataFields"], [{"name": "title", "alias": "t"}])
    assert "The property 'alias' does not exist on type 'SearchIndexFieldReference'" in error_400(
        client.post(f"/knowledgesources?{V}", json=body))


@pytest.mark.parametrize("kind, path, value, named", [
    ("datasource", ["identity"], {"@odata.type": "#Microsoft.Azure.Search.DataUserAssignedIdentity", "userAssignedIdentity": "x"},
     "DataUserAssignedIdentity"),
    ("datasource", ["subtype"], "MongoDb", "'subtype'"),
    ("datasource", ["dataDeletionDetectionPolicy"], {"@odata.type": "#Microsoft.Azure.Search.NativeBlobSoftDeleteDeletionDetectionPolicy"},
     "NativeBlobSoftDeleteDeletionDetectionPolicy"),
    ("indexer", ["cache"], {"storageConnectionString": "x"}, "'cache'"),
    ("indexer", ["outputFieldMappings"], [{"sourceFieldName": "/document/x", "targetFieldName": "x"}], "'outputFieldMappings'"),
    ("indexer", ["parameters", "configuration", "queryTimeout"], "00:05:00", "'queryTimeout'"),
    ("indexer", ["parameters", "configuration", "parsingMode"], "json", "'parsingMode'"),
    ("indexer", ["parameters", "configuration", "executionEnvironment"], "private", "'executionEnvironment'"),
    ("knowledgesource", ["kind"], "web", "'web'"),
])
def test_refused_members_name_themselves(client, kind, path, value, named):
    collection, _ = ROUTES[kind]
    assert named in error_400(client.post(f"{collection}?{V}", json=changed(kind, path, value)))


def test_off_values_and_round_trips_pass(client):
    body = changed("indexer", ["parameters"], {"batchSize": 10, "configuration": {"parsingMode": "default", "dataToExtract": "contentAndMetadata"}})
    body.update(outputFieldMappings=[], skillsetName=None, cache=None)
    r = client.post(f"/indexers?{V}", json=body)
    assert r.status_code == 201, r.text
    body = changed("datasource", ["identity"], {"@odata.type": "#Microsoft.Azure.Search.DataNoneIdentity"})
    assert client.post(f"/datasources?{V}", json=body).status_code == 201
    assert client.post(f"/knowledgebases?{V}", json=KBASE).status_code == 201
    for kind, (collection, original) in ROUTES.items():  # what a GET returns goes back unchanged
        got = client.get(f"{collection}('{original['name']}')?{V}")
        if kind == "indexer":
            got = client.get(f"{collection}('{original['name']}-new')?{V}")
        assert got.status_code == 200, (kind, got.text)
        back = got.json()
        r = client.put(f"{collection}('{back['name']}')?{V}", json=back)
        assert r.status_code in (200, 201), (kind, r.text)
